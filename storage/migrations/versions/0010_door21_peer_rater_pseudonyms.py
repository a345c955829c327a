"""audit_log: the rater of a peer rating no longer in clear (issue 21 item 11). New entries
name the rater by a per-period HMAC pseudonym (commands.peer.rater_pseudonym); existing
``review.peer`` entries get one too, made with a key drawn here and thrown away, so the
same rater stays recognisable within a period and nobody can link it back to a person.

Revision ID: 0010_door21
Revises: 0009_imp15b
Create Date: 2026-12-02 15:40:00.000000
"""
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0010_door21'
down_revision: str | None = '0009_imp15b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else None


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    rows = bind.execute(sa.text(
        "SELECT a.id, a.actor, a.before, a.after, r.period_id, r.rater_id FROM audit_log a "
        "JOIN review r ON a.entity = 'review' AND a.entity_id = CAST(r.id AS VARCHAR(32)) "
        "WHERE a.action = 'review.peer'"
    )).all()
    if not rows:
        return
    key = secrets.token_bytes(32)
    if postgres:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    audit = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("actor", sa.String),
                     sa.column("before", storage.types.json_type()),
                     sa.column("after", storage.types.json_type()))
    for audit_id, _actor, before, after, period_id, rater_id in rows:
        label = "peer:" + hmac.new(key, f"peer-rater:{period_id}:{rater_id}".encode(),
                                   hashlib.sha256).hexdigest()[:16]
        masked = {}
        for name, snap in (("before", _as_dict(before)), ("after", _as_dict(after))):
            masked[name] = None if snap is None else {**snap, "rater_id": label}
        bind.execute(audit.update().where(audit.c.id == audit_id).values(actor=label, **masked))
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def downgrade() -> None:
    """Nothing to restore: the raters' identities were not kept."""
