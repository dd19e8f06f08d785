"""Performance: indexes for the home page, a thread's top-level order, predecessors.

Revision ID: 0003_performance
Revises: 0002_forum
Create Date: 2026-11-26 17:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_performance'
down_revision = '0002_forum'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index(
            'ix_comments_thread_top_order',
            ['thread_id', 'depth', sa.text('pinned DESC'), 'path'],
            unique=False,
        )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_updated_at', ['updated_at'], unique=False)
        batch_op.create_index('ix_proposals_successor_id', ['successor_id'], unique=False)


def downgrade():
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_successor_id')
        batch_op.drop_index('ix_proposals_updated_at')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_thread_top_order')
        batch_op.drop_index('ix_comments_status_created')
