"""The articles in the order every list of them shows: one index.

The home page's newest articles (and its key) and /articles sort by
publication, newest first, with the undated last (`published_at IS NULL`
first: one order both databases read from one index). Without an index of that
order the database read every article and its thread and sorted them to
keep five: 0.35 of the home key's 1.0 ms on PostgreSQL with the scale set's
300 articles, and more with every article added.

Revision ID: 0015_articles_published
Revises: 0014_author_thread
Create Date: 2026-12-01 16:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_articles_published'
down_revision = '0014_author_thread'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_articles_published",
        "articles",
        [sa.text("(published_at IS NULL)"), sa.text("published_at DESC"), sa.text("id DESC")],
    )


def downgrade():
    op.drop_index("ix_articles_published", table_name="articles")
