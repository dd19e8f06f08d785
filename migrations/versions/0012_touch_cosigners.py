"""A co-signer's new display name moves the proposals they co-sign (issue #14).

A proposal's page keeps its supporters list as a fragment under the
proposal's row version (app/proposals/routes.py), and the list shows each
supporter's name: the touch trigger on users (app/models/triggers.py) now
moves those proposals too. The triggers are installed again from
app/models/triggers.py, as in 0006; the downgrade puts back the narrower
trigger written out here.

Revision ID: 0012_touch_cosigners
Revises: 0011_tokens
Create Date: 2026-11-30 21:00:00.000000

"""
from alembic import op

from app.models.triggers import drop_touch_triggers, install_touch_triggers

# revision identifiers, used by Alembic.
revision = '0012_touch_cosigners'
down_revision = '0011_tokens'
branch_labels = None
depends_on = None

_BEFORE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS users_touch_named_rows",
        """CREATE TRIGGER users_touch_named_rows AFTER UPDATE OF display_name ON users
        WHEN NEW.display_name IS NOT OLD.display_name
        BEGIN
            UPDATE threads SET row_version = row_version + 1
            WHERE id IN (SELECT thread_id FROM comments WHERE author_id = NEW.id);
            UPDATE proposals SET row_version = row_version + 1
            WHERE author_id = NEW.id
               OR id IN (SELECT proposal_id FROM proposal_coauthors WHERE user_id = NEW.id);
        END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION plenary_touch_named_rows() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE threads SET row_version = row_version + 1
            WHERE id IN (SELECT thread_id FROM comments WHERE author_id = NEW.id);
            UPDATE proposals SET row_version = row_version + 1
            WHERE author_id = NEW.id
               OR id IN (SELECT proposal_id FROM proposal_coauthors WHERE user_id = NEW.id);
            RETURN NULL;
        END $$""",
    ],
}


def upgrade():
    bind = op.get_bind()
    drop_touch_triggers(bind)
    install_touch_triggers(bind)


def downgrade():
    bind = op.get_bind()
    for statement in _BEFORE[bind.dialect.name]:
        bind.exec_driver_sql(statement)
