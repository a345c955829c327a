"""Outbox under faults (issue 21): a send's start recorded (sending_at), the 'ambiguous' status,
and the inbox of acknowledged requests (Telegram updates, Slack commands)

Revision ID: 0006o
Revises: 0006i
Create Date: 2026-12-02 08:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types  # noqa: F401

revision: str = '0006o'
down_revision: str | None = '0006i'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status IN ('pending', 'claimed', 'sent', 'failed', 'unreachable')"
NEW = "status IN ('pending', 'claimed', 'sent', 'failed', 'unreachable', 'ambiguous')"


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('payload', storage.types.json_type(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('claimed_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('received_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('done_at', storage.types.UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'done', 'given_up')", name=op.f('ck_inbox_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
    sa.UniqueConstraint('platform', 'event_id', name=op.f('uq_inbox_platform_event_id'))
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_status_claimed_at'), ['status', 'claimed_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sending_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_outbox_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_status'), NEW)


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'ambiguous'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_status'), OLD)
        batch_op.drop_column('sending_at')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_status_claimed_at'))
    op.drop_table('inbox')
