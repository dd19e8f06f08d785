"""Site revision: the number the visitors' page cache is keyed on.

Revision ID: 0005_site_revision
Revises: 0004_email_confirmation
Create Date: 2026-11-25 19:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_site_revision'
down_revision = '0004_email_confirmation'
branch_labels = None
depends_on = None


def upgrade():
    site_revision = op.create_table(
        'site_revision',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_revision')),
    )
    op.bulk_insert(site_revision, [{'id': 1, 'revision': 1}])


def downgrade():
    op.drop_table('site_revision')
