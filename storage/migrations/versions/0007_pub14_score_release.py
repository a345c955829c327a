"""Publication with gaps (issue 14 item 1): how each score was published (final, held, confirmed)
and who confirmed a provisional one

Revision ID: 0007_pub14
Revises: 0007_fault21
Create Date: 2026-12-02 14:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types  # noqa: F401

revision: str = '0007_pub14'
down_revision: str | None = '0007_fault21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "release IS NULL OR release IN ('final', 'held', 'confirmed')"


def upgrade() -> None:
    with op.batch_alter_table('score') as batch:
        batch.add_column(sa.Column('release', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('released_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.create_check_constraint(op.f('ck_score_release'), CHECK)
    # Scores of periods published before this revision were published as they were.
    op.execute("UPDATE score SET release = 'final' WHERE period_id IN "
               "(SELECT id FROM period WHERE status = 'published')")


def downgrade() -> None:
    with op.batch_alter_table('score') as batch:
        batch.drop_constraint(op.f('ck_score_release'), type_='check')
        batch.drop_column('released_by')
        batch.drop_column('release')
