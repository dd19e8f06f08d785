"""Search: PostgreSQL keeps ten times the statistics of the search columns.

The planner guesses a word missing from a column's list of most common words
at half the share of the rarest word listed; with the default statistics
target that list stopped at the words of every hundredth comment on the scale
set, so a few rare words with `or` were guessed common and the search read
every comment for one match. The target (app/models/search_index.py,
SEARCH_STATISTICS) is part of the index's definition; this sets it on a
database whose index was built before, and gathers the statistics anew.
SQLite has nothing to change.

Revision ID: 0016_search_statistics
Revises: 0015_articles_published
Create Date: 2026-12-01 16:30:00.000000

"""
from alembic import op

from app.models import search_index

# revision identifiers, used by Alembic.
revision = '0016_search_statistics'
down_revision = '0015_articles_published'
branch_labels = None
depends_on = None


def _set(target: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for item in search_index.INDEXED:
        op.execute(
            f"ALTER TABLE {item.table} ALTER COLUMN {search_index.SEARCH_COLUMN} "
            f"SET STATISTICS {target}"
        )
        op.execute(f"ANALYZE {item.table} ({search_index.SEARCH_COLUMN})")


def upgrade():
    _set(search_index.SEARCH_STATISTICS)


def downgrade():
    _set(-1)  # the server's default_statistics_target
