"""processed_event.replies: what a request was answered, kept with its work, so that one
recovered from the inbox after a crash is answered (issue 21)

Revision ID: 0007_fault21
Revises: 0006o
Create Date: 2026-12-02 15:05:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0007_fault21'
down_revision: str | None = '0006o'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('processed_event') as batch:
        batch.add_column(sa.Column('replies', storage.types.json_type(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('processed_event') as batch:
        batch.drop_column('replies')
