"""member_identity: who a member is on each messenger, one row per (member, platform), unique
per (platform, external id), instead of a column per platform on ``member`` (issue 19).

Every ``member.slack_user_id`` and ``member.telegram_user_id`` becomes a row; then the two
columns go. PostgreSQL drops them in place. SQLite cannot drop a UNIQUE column, so ``member``
is copied without them; dropping the original with foreign keys on would delete every
review, score and appeal by cascade, so the copy runs with foreign keys off (which SQLite
allows only outside a transaction: what earlier revisions of the same upgrade did is
committed first), in a transaction of its own, and ``PRAGMA foreign_key_check`` and the row
count must come out right or nothing of it is kept.

Downgrade puts the Slack and Telegram ids back into their columns (a unique index on SQLite,
which needs no copy); links on any other messenger are lost (there was no column for them).

Revision ID: 0011_seam19
Revises: 0010_door21
Create Date: 2026-12-02 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011_seam19"
down_revision: str | None = "0010_door21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORMS = ("slack", "telegram")

MEMBER_WITHOUT_IDS = """
CREATE TABLE member_new (
    id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    name_en VARCHAR,
    role VARCHAR NOT NULL,
    manager_id INTEGER,
    lang VARCHAR,
    active BOOLEAN NOT NULL,
    unreachable BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT pk_member PRIMARY KEY (id),
    CONSTRAINT uq_member_team_id_name UNIQUE (team_id, name),
    CONSTRAINT ck_member_role CHECK (role IN ('agent', 'manager', 'admin', 'qa')),
    CONSTRAINT ck_member_lang CHECK (lang IS NULL OR lang IN ('zh', 'en')),
    CONSTRAINT fk_member_team_id_team FOREIGN KEY(team_id)
        REFERENCES team (id) ON DELETE CASCADE,
    CONSTRAINT fk_member_manager_id_member FOREIGN KEY(manager_id)
        REFERENCES member (id) ON DELETE SET NULL
)
"""
KEPT = "id, team_id, name, name_en, role, manager_id, lang, active, unreachable, created_at"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _upgrade_sqlite(bind)
        return
    _identities_from_columns()
    for platform in PLATFORMS:
        op.drop_constraint(f"uq_member_{platform}_user_id", "member", type_="unique")
        op.drop_column("member", f"{platform}_user_id")


def _identities_from_columns() -> None:
    op.create_table(
        "member_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_member_identity_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_identity")),
        sa.UniqueConstraint(
            "member_id", "platform", name=op.f("uq_member_identity_member_id_platform")
        ),
        sa.UniqueConstraint(
            "platform", "external_id", name=op.f("uq_member_identity_platform_external_id")
        ),
    )  # fmt: skip
    op.create_index(
        op.f("ix_member_identity_member_id"), "member_identity", ["member_id"], unique=False
    )
    for platform in PLATFORMS:
        op.execute(
            sa.text(
                "INSERT INTO member_identity (member_id, platform, external_id) "
                f"SELECT id, :platform, {platform}_user_id FROM member "
                f"WHERE {platform}_user_id IS NOT NULL AND {platform}_user_id <> '' ORDER BY id"
            ).bindparams(platform=platform)
        )


def _upgrade_sqlite(bind: sa.engine.Connection) -> None:
    raw = bind.connection.dbapi_connection
    assert raw is not None
    if raw.in_transaction:
        raw.commit()
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        if raw.execute("PRAGMA foreign_keys").fetchone()[0] != 0:
            raise RuntimeError("SQLite kept its foreign keys on; member is left as it was")
        raw.execute("BEGIN")
        before = raw.execute("SELECT count(*) FROM member").fetchone()[0]
        _identities_from_columns()
        raw.execute(MEMBER_WITHOUT_IDS)
        raw.execute(f"INSERT INTO member_new ({KEPT}) SELECT {KEPT} FROM member")
        raw.execute("DROP TABLE member")
        raw.execute("ALTER TABLE member_new RENAME TO member")
        raw.execute("CREATE INDEX ix_member_manager_id ON member (manager_id)")
        raw.execute("CREATE INDEX ix_member_team_id ON member (team_id)")
        after = raw.execute("SELECT count(*) FROM member").fetchone()[0]
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if after != before or broken:
            raise RuntimeError(f"member copied wrongly: {before} rows, then {after}; {broken[:5]}")
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for platform in PLATFORMS:  # ADD COLUMN: no copy of member, on SQLite either
        op.add_column(
            "member",
            sa.Column(f"{platform}_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        )
        op.execute(
            sa.text(
                f"UPDATE member SET {platform}_user_id = (SELECT i.external_id "
                "FROM member_identity i WHERE i.member_id = member.id AND i.platform = :platform)"
            ).bindparams(platform=platform)
        )
        name, column = f"uq_member_{platform}_user_id", f"{platform}_user_id"
        if sqlite:  # a unique index: a constraint would copy member (and cascade)
            op.create_index(name, "member", [column], unique=True)
        else:
            op.create_unique_constraint(name, "member", [column])
    op.drop_index(op.f("ix_member_identity_member_id"), table_name="member_identity")
    op.drop_table("member_identity")
