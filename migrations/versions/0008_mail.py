"""Notifications that reach members: following, mail preferences, the mail outbox.

Revision ID: 0008_mail
Revises: 0007_search
Create Date: 2026-11-30 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_mail'
down_revision = '0007_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'follows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('target', sa.Enum('proposal', 'thread', 'round', name='followtarget',
                                    native_enum=False, length=10), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('following', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_follows_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
        sa.UniqueConstraint('user_id', 'target', 'target_id', name='uq_follows_user_target'),
    )
    op.create_index('ix_follows_target', 'follows', ['target', 'target_id', 'following'])
    op.create_table(
        'notification_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.Enum(
            'successor_offer', 'coauthor_invite', 'moderation', 'reply', 'mention',
            'proposal_update', 'new_proposal', 'thread_comment', 'other',
            name='topic', native_enum=False, length=30), nullable=False),
        sa.Column('delivery', sa.Enum('immediate', 'digest', 'never', name='delivery',
                                      native_enum=False, length=10), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_notification_preferences_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'topic', name=op.f('pk_notification_preferences')),
    )
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('topic', sa.String(30), server_default='other', nullable=False))
        batch.add_column(sa.Column('event_key', sa.String(32), nullable=True))
        batch.add_column(sa.Column('round_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('proposal_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('thread_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('comment_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('mail_state', sa.String(10), nullable=True))
        batch.add_column(sa.Column('digest_id', sa.Integer(), nullable=True))
        batch.create_index('ix_notifications_event_key', ['event_key'])
        batch.create_index('ix_notifications_mail_state_user', ['mail_state', 'user_id'])
    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(80), nullable=False),
        sa.Column('kind', sa.Enum('notification', 'digest', 'signup_confirm', 'already_member',
                                  'reset', 'no_account', 'email_change', 'email_asked',
                                  'email_changed', name='mailkind', native_enum=False,
                                  length=20), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('to_address', sa.String(320), nullable=True),
        sa.Column('detail', sa.String(320), nullable=True),
        sa.Column('notification_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'skipped', 'failed',
                                   name='outboxstate', native_enum=False, length=10),
                  server_default='pending', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_mail_outbox_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
        sa.UniqueConstraint('key', name=op.f('uq_mail_outbox_key')),
    )
    op.create_index('ix_mail_outbox_state_next', 'mail_outbox', ['state', 'next_attempt_at'])
    op.create_index('ix_mail_outbox_user_id', 'mail_outbox', ['user_id'])


def downgrade():
    op.drop_table('mail_outbox')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_index('ix_notifications_mail_state_user')
        batch.drop_index('ix_notifications_event_key')
        for name in ('digest_id', 'mail_state', 'comment_id', 'thread_id', 'proposal_id',
                     'round_id', 'event_key', 'topic'):
            batch.drop_column(name)
    op.drop_table('notification_preferences')
    op.drop_index('ix_follows_target', table_name='follows')
    op.drop_table('follows')
