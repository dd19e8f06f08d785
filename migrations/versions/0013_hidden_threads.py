"""An index of the hidden threads (issue #16's scale set, the home page).

The home page's activity leaves out comments of hidden threads with
NOT EXISTS, asked of each comment's thread (app/services/home.py): a
condition on the joined thread made SQLite read every thread into a Bloom
filter on every run. PostgreSQL answers NOT EXISTS with a scan of the
hidden threads, which without this partial index reads every thread.

Revision ID: 0013_hidden_threads
Revises: 0012_touch_cosigners
Create Date: 2026-12-01 10:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_hidden_threads'
down_revision = '0012_touch_cosigners'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_threads_hidden",
        "threads",
        ["id"],
        sqlite_where=sa.text("state = 'hidden'"),
        postgresql_where=sa.text("state = 'hidden'"),
    )


def downgrade():
    op.drop_index("ix_threads_hidden", table_name="threads")
