"""Results stored per period and kept current (issue 20): result_state (the inputs' version
and what the stored results were computed from) and result (one row per agent as shown).

Nothing to copy: a period without a result_state row has version 0 and no stored results,
so its first reader computes and stores them.

Revision ID: 0012_res20
Revises: 0011_seam19
Create Date: 2026-12-03 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types  # noqa: F401

revision: str = "0012_res20"
down_revision: str | None = "0011_seam19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "result_state",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("inputs_version", sa.Integer(), nullable=False),
        sa.Column("results_version", sa.Integer(), nullable=True),
        sa.Column("scheme_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("computed_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["period.id"],
            name=op.f("fk_result_state_period_id_period"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("period_id", name=op.f("pk_result_state")),
    )
    op.create_table(
        "result",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("flags", storage.types.json_type(), nullable=False),
        sa.Column("breakdown", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_result_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["period.id"],
            name=op.f("fk_result_period_id_period"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("period_id", "member_id", name=op.f("pk_result")),
    )
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_result_period_id_position"), ["period_id", "position"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_period_id_position"))
    op.drop_table("result")
    op.drop_table("result_state")
