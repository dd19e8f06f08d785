"""Row versions for caching; the global site revision goes.

Rounds, proposals, threads, articles and comments get a `row_version` that
every UPDATE of the row moves (the models' onupdate), and triggers move a
container's version when what it shows changes (app/models/triggers.py):
fragments and visitors' pages keyed on them are never older than the rows.
The one-row `site_revision` table, which every write of any kind moved, is
dropped.

Revision ID: 0006_row_versions
Revises: 0005_site_revision
Create Date: 2026-11-30 15:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

from app.models.triggers import drop_touch_triggers, install_touch_triggers

# revision identifiers, used by Alembic.
revision = '0006_row_versions'
down_revision = '0005_site_revision'
branch_labels = None
depends_on = None

TABLES = ('rounds', 'proposals', 'threads', 'articles', 'comments')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column('row_version', sa.Integer(), nullable=False, server_default='1')
            )
    install_touch_triggers(op.get_bind())
    op.drop_table('site_revision')


def downgrade():
    site_revision = op.create_table(
        'site_revision',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_revision')),
    )
    op.bulk_insert(site_revision, [{'id': 1, 'revision': 1}])
    drop_touch_triggers(op.get_bind())
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('row_version')
