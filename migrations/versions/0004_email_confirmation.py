"""Accounts: sign-up confirms the email address (users.email_confirmed_at).

Revision ID: 0004_email_confirmation
Revises: 0003_performance
Create Date: 2026-11-27 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_email_confirmation"
down_revision = "0003_performance"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_confirmed_at", sa.DateTime(), nullable=True))
    # Every account made before sign-ups were confirmed counts as confirmed.
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade():
    # Accounts that never confirmed their address would become full accounts
    # without the column: remove them first (they can own nothing).
    op.execute("DELETE FROM users WHERE email_confirmed_at IS NULL")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
