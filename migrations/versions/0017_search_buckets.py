"""Search: PostgreSQL's GIN index also holds each row's bucket of ids.

A GIN index gives a word's matches in no order: to show the newest twenty
matches of a word found in every tenth comment, a search read all of them or
walked the newest rows for them. Keyed also by `id / Indexed.bucket` (the
btree_gin extension gives GIN an integer's keys), the index gives the matches
of one bucket at a time, and a search reads the buckets newest first until it
has what it needs (app/models/search_index.py, app/services/search.py); it
takes each row's entries as the row is written (no pending list, which every
one of those scans would read). The index is built anew with its new definition; SQLite (FTS5 gives matches in
rowid order) has nothing to change.

Revision ID: 0017_search_buckets
Revises: 0016_search_statistics
Create Date: 2026-12-01 23:45:00.000000

"""
from alembic import op

from app.models import search_index

# revision identifiers, used by Alembic.
revision = '0017_search_buckets'
down_revision = '0016_search_statistics'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(search_index.PG_EXTENSION)
    for item in search_index.INDEXED:
        op.execute(f"DROP INDEX IF EXISTS {item.gin}")
        op.execute(search_index.pg_index_sql(item))


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for item in search_index.INDEXED:
        op.execute(f"DROP INDEX IF EXISTS {item.gin}")
        op.execute(
            f"CREATE INDEX {item.gin} ON {item.table} USING gin ({search_index.SEARCH_COLUMN})"
        )
