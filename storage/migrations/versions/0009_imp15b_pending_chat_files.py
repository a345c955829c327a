"""Import in chat (issue 15): a file an admin sent waits for its team, period and mapping

Revision ID: 0009_imp15b
Revises: 0008_door21
Create Date: 2026-12-02 15:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types  # noqa: F401

revision: str = '0009_imp15b'
down_revision: str | None = '0008_door21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pending_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('chosen', storage.types.json_type(), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_pending_file_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_file')),
    sa.UniqueConstraint('member_id', name=op.f('uq_pending_file_member_id'))
    )
    with op.batch_alter_table('pending_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_file_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_file_expires_at'))
    op.drop_table('pending_file')
