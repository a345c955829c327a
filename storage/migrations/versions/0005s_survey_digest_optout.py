"""Survey notifications (issue 7): agents who turned the daily comment digest off

Revision ID: 0005s
Revises: 0004q
Create Date: 2026-11-23 22:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401

revision: str = '0005s'
down_revision: str | None = '0004q'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('survey_digest_optout',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_survey_digest_optout_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_survey_digest_optout'))
    )


def downgrade() -> None:
    op.drop_table('survey_digest_optout')
