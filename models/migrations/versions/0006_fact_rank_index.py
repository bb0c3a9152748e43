"""The context bundle's fact order as an index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_semantic_memories_user_rank',
        'semantic_memories',
        ['user_id', sa.text('(importance * confidence) DESC'), sa.text('updated_at DESC'), 'id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_semantic_memories_user_rank', table_name='semantic_memories')
