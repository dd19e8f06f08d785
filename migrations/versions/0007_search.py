"""Search: the full-text index (SQLite FTS5 + triggers, PostgreSQL tsvector + GIN), filled.

Revision ID: 0007_search
Revises: 0006_row_versions
Create Date: 2026-11-30 15:00:00.000000

The statements are the application's own (app/models/search_index.py), so
a database built by migrations and one built by `db.create_all()` carry the
same index. On SQLite the FTS5 tables are filled from the rows already
there ('rebuild'); on PostgreSQL the generated column computes itself as
the column is added.
"""

from alembic import op

from app.models import search_index

# revision identifiers, used by Alembic.
revision = "0007_search"
down_revision = "0006_row_versions"
branch_labels = None
depends_on = None


def upgrade():
    search_index.install(op.get_bind())


def downgrade():
    search_index.uninstall(op.get_bind())
