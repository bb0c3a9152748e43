"""Recording: sessions and their events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:20:02.650924
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('recording_sessions',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=True),
    sa.Column('source_detail', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('has_started_event', sa.Boolean(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recording_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_sessions'))
    )
    with op.batch_alter_table('recording_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_recording_sessions_user_started', ['user_id', 'started_at', 'id'], unique=False)

    op.create_table('recording_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('arrival', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('session_id', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('source_detail', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['recording_sessions.id'], name=op.f('fk_recording_events_session_id_recording_sessions'), ondelete='CASCADE', initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recording_events_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_recording_events')),
    sa.UniqueConstraint('user_id', 'id', name='uq_recording_events_user_id_id')
    )
    with op.batch_alter_table('recording_events', schema=None) as batch_op:
        batch_op.create_index('ix_recording_events_session_time', ['session_id', 'occurred_at', 'seq'], unique=False)
        batch_op.create_index('ix_recording_events_session_type_time', ['session_id', 'type', 'occurred_at', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recording_events', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_events_session_time')

    op.drop_table('recording_events')
    with op.batch_alter_table('recording_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_sessions_user_started')

    op.drop_table('recording_sessions')
