"""Predictions: candidates, context snapshot, outcome.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 22:40:16.925891
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('predictions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('agent', sa.String(length=200), nullable=False),
    sa.Column('agent_input', sa.Text(), nullable=False),
    sa.Column('session_id', sa.String(length=200), nullable=True),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('k', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('predicted_response', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('raw_confidence', sa.Float(), nullable=False),
    sa.Column('reasoning', sa.Text(), nullable=False),
    sa.Column('stop_recommended', sa.Boolean(), nullable=False),
    sa.Column('should_continue', sa.Boolean(), nullable=True),
    sa.Column('candidates', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('context_snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actual_response', sa.Text(), nullable=True),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_predictions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_predictions'))
    )
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.create_index('ix_predictions_user_agent', ['user_id', 'agent', 'created_at'], unique=False)
        batch_op.create_index('ix_predictions_user_created', ['user_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_predictions_user_session', ['user_id', 'session_id', 'created_at'], unique=False)
        batch_op.create_index('ix_predictions_user_status', ['user_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_index('ix_predictions_user_status')
        batch_op.drop_index('ix_predictions_user_session')
        batch_op.drop_index('ix_predictions_user_created')
        batch_op.drop_index('ix_predictions_user_agent')

    op.drop_table('predictions')
