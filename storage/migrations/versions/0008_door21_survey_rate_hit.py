"""survey_rate_hit: the survey page's rate limit counted in the database, so every replica
shares one limit per client address (issue 21 item 7)

Revision ID: 0008_door21
Revises: 0007_pub14
Create Date: 2026-12-02 15:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0008_door21'
down_revision: str | None = '0007_pub14'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'survey_rate_hit',
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('window_no', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('address', 'window_no'),
    )


def downgrade() -> None:
    op.drop_table('survey_rate_hit')
