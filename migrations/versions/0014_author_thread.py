"""A member's comments in one thread: one index, (author_id, thread_id).

A thread's page asks which of its comments are the viewer's (the lines'
predicates: edit, delete). With an index of the author alone the database
read every comment of the member (or, on PostgreSQL's generic plan, also
every comment of the thread: 10,000 on the bench's big article) to keep
the thread's; SQLite without statistics walked the thread. The new index
starts with the author, so it serves every lookup the old one did.

Revision ID: 0014_author_thread
Revises: 0013_hidden_threads
Create Date: 2026-12-01 12:50:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_author_thread'
down_revision = '0013_hidden_threads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_comments_author_thread", "comments", ["author_id", "thread_id"])
    op.drop_index("ix_comments_author_id", table_name="comments")


def downgrade():
    op.create_index("ix_comments_author_id", "comments", ["author_id"])
    op.drop_index("ix_comments_author_thread", table_name="comments")
