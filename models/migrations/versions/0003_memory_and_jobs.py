"""Memory (raw, episodes, facts citing episodes, profile, forgotten events) and job records.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:08:34.222039
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('episodic_memories',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sources', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_episodic_memories_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episodic_memories'))
    )
    with op.batch_alter_table('episodic_memories', schema=None) as batch_op:
        batch_op.create_index('ix_episodic_memories_user_time', ['user_id', 'ended_at', 'id'], unique=False)

    op.create_table('forgotten_events',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('recording_event_id', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_forgotten_events_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'recording_event_id', name=op.f('pk_forgotten_events'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('related_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_user_created', ['user_id', 'created_at', 'id'], unique=False)

    op.create_table('semantic_memories',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('normalized_text', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('importance', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_semantic_memories_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_semantic_memories'))
    )
    with op.batch_alter_table('semantic_memories', schema=None) as batch_op:
        batch_op.create_index('ix_semantic_memories_user_norm', ['user_id', 'normalized_text'], unique=False)
        batch_op.create_index('ix_semantic_memories_user_updated', ['user_id', 'updated_at', 'id'], unique=False)

    op.create_table('user_profiles',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('display_name', sa.String(length=150), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_profiles'))
    )
    op.create_table('fact_episodes',
    sa.Column('fact_id', sa.Uuid(), nullable=False),
    sa.Column('episode_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodic_memories.id'], name=op.f('fk_fact_episodes_episode_id_episodic_memories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fact_id'], ['semantic_memories.id'], name=op.f('fk_fact_episodes_fact_id_semantic_memories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('fact_id', 'episode_id', name=op.f('pk_fact_episodes'))
    )
    with op.batch_alter_table('fact_episodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fact_episodes_episode_id'), ['episode_id'], unique=False)

    op.create_table('raw_memories',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('source_detail', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('session_id', sa.String(length=200), nullable=True),
    sa.Column('recording_event_id', sa.String(length=200), nullable=True),
    sa.Column('episode_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodic_memories.id'], name=op.f('fk_raw_memories_episode_id_episodic_memories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_raw_memories_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_memories'))
    )
    with op.batch_alter_table('raw_memories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_memories_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index('ix_raw_memories_user_session', ['user_id', 'session_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_raw_memories_user_time', ['user_id', 'occurred_at', 'id'], unique=False)
        batch_op.create_index('uq_raw_memories_user_event', ['user_id', 'recording_event_id'], unique=True, postgresql_where=sa.text('recording_event_id IS NOT NULL'), sqlite_where=sa.text('recording_event_id IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('raw_memories', schema=None) as batch_op:
        batch_op.drop_index('uq_raw_memories_user_event', postgresql_where=sa.text('recording_event_id IS NOT NULL'), sqlite_where=sa.text('recording_event_id IS NOT NULL'))
        batch_op.drop_index('ix_raw_memories_user_time')
        batch_op.drop_index('ix_raw_memories_user_session')
        batch_op.drop_index(batch_op.f('ix_raw_memories_episode_id'))

    op.drop_table('raw_memories')
    with op.batch_alter_table('fact_episodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fact_episodes_episode_id'))

    op.drop_table('fact_episodes')
    op.drop_table('user_profiles')
    with op.batch_alter_table('semantic_memories', schema=None) as batch_op:
        batch_op.drop_index('ix_semantic_memories_user_updated')
        batch_op.drop_index('ix_semantic_memories_user_norm')

    op.drop_table('semantic_memories')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_user_created')

    op.drop_table('jobs')
    op.drop_table('forgotten_events')
    with op.batch_alter_table('episodic_memories', schema=None) as batch_op:
        batch_op.drop_index('ix_episodic_memories_user_time')

    op.drop_table('episodic_memories')
