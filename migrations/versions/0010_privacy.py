"""Privacy (issue #17): what a notification names besides its link; deleted accounts.

- notifications.about_proposal_id: the other proposal a message names (the
  successor of a withdrawal or merger), so the message is replaced by a
  placeholder for a member once that proposal is hidden.
- users.name_skeleton: the TR39 skeleton of the display name (app.names),
  so a look-alike of another member's name is found by an index.
- users.deleted_at: when a member deleted their account (anonymised as "a
  former member"; the username is freed after ACCOUNT_USERNAME_COOLING_DAYS).

Revision ID: 0010_privacy
Revises: 0008_mail
Create Date: 2026-11-30 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_privacy'
down_revision = '0008_mail'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('about_proposal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_notifications_about_proposal_id_proposals'),
            'proposals',
            ['about_proposal_id'],
            ['id'],
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('name_skeleton', sa.String(length=400), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_name_skeleton'), ['name_skeleton'], unique=False)
    _backfill_skeletons()


def _backfill_skeletons():
    from app.names import skeleton

    bind = op.get_bind()
    users = sa.table(
        'users', sa.column('id', sa.Integer), sa.column('display_name', sa.String),
        sa.column('name_skeleton', sa.String),
    )
    rows = bind.execute(sa.select(users.c.id, users.c.display_name)).all()
    for user_id, name in rows:
        bind.execute(
            users.update().where(users.c.id == user_id).values(name_skeleton=skeleton(name))
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_name_skeleton'))
        batch_op.drop_column('name_skeleton')
        batch_op.drop_column('deleted_at')
    # SQLite's batch mode copies the users table, which drops its triggers.
    from app.models.triggers import drop_touch_triggers, install_touch_triggers

    drop_touch_triggers(op.get_bind())
    install_touch_triggers(op.get_bind())
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_notifications_about_proposal_id_proposals'), type_='foreignkey'
        )
        batch_op.drop_column('about_proposal_id')
