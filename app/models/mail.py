"""Following, mail preferences and the mail outbox.

The outbox is the truth about mail: a row is written in the same transaction
as the event that causes it, and the worker (app/tasks.py) delivers it.
"""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import str_enum


class FollowTarget(enum.StrEnum):
    proposal = "proposal"
    thread = "thread"
    round = "round"


class Delivery(enum.StrEnum):
    immediate = "immediate"
    digest = "digest"
    never = "never"


class Topic(enum.StrEnum):
    """What a member chooses a delivery for (each notification kind belongs to one)."""

    successor_offer = "successor_offer"
    coauthor_invite = "coauthor_invite"
    moderation = "moderation"
    reply = "reply"
    mention = "mention"
    proposal_update = "proposal_update"
    new_proposal = "new_proposal"
    thread_comment = "thread_comment"
    other = "other"


TOPIC_LABELS = {
    Topic.successor_offer: "A proposal I support is withdrawn or merged with an offer to "
    "co-sign its successor",
    Topic.coauthor_invite: "An invitation to co-author a proposal",
    Topic.moderation: "A moderation action on my content or my account",
    Topic.reply: "A reply to my comment",
    Topic.mention: "An @mention of me",
    Topic.proposal_update: "An edit, withdrawal, decision or hiding of a proposal I support, "
    "wrote or follow",
    Topic.new_proposal: "A new proposal in a round I follow",
    Topic.thread_comment: "A new comment in a thread I follow",
    Topic.other: "Everything else (answers to my invitations, reports, roles)",
}

DEFAULT_DELIVERY = {
    Topic.successor_offer: Delivery.immediate,
    Topic.coauthor_invite: Delivery.immediate,
    Topic.moderation: Delivery.immediate,
    Topic.reply: Delivery.immediate,
    Topic.mention: Delivery.immediate,
    Topic.proposal_update: Delivery.digest,
    Topic.new_proposal: Delivery.digest,
    Topic.thread_comment: Delivery.digest,
    Topic.other: Delivery.digest,
}


class Follow(db.Model):
    """A member follows (or, following=False, has unfollowed) a proposal, thread or round.

    Taking part follows automatically; an unfollow row is kept so that taking
    part again does not follow again behind the member's back.
    """

    __tablename__ = "follows"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "target", "target_id", name="uq_follows_user_target"),
        sa.Index("ix_follows_target", "target", "target_id", "following"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    target: so.Mapped[FollowTarget] = so.mapped_column(str_enum(FollowTarget, 10))
    target_id: so.Mapped[int] = so.mapped_column()
    following: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class NotificationPreference(db.Model):
    """A member's choice of delivery for one topic (absent: DEFAULT_DELIVERY)."""

    __tablename__ = "notification_preferences"

    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    topic: so.Mapped[Topic] = so.mapped_column(str_enum(Topic, 30), primary_key=True)
    delivery: so.Mapped[Delivery] = so.mapped_column(str_enum(Delivery, 10))


class OutboxState(enum.StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by a worker (claimed_at says when)
    sent = "sent"
    skipped = "skipped"  # nothing to send any more (address gone, member suspended)
    failed = "failed"  # gave up after MAIL_MAX_ATTEMPTS


class MailKind(enum.StrEnum):
    notification = "notification"
    digest = "digest"
    signup_confirm = "signup_confirm"
    already_member = "already_member"
    reset = "reset"
    no_account = "no_account"
    # A move to another address: the link to the new one, the notice to the
    # current one that it was asked for, and to the old one that it was made.
    email_change = "email_change"
    email_asked = "email_asked"
    email_changed = "email_changed"


class OutboxMail(db.Model):
    """One mail to send. `key` is unique: one event never makes two mails for one person."""

    __tablename__ = "mail_outbox"
    __table_args__ = (sa.Index("ix_mail_outbox_state_next", "state", "next_attempt_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    kind: so.Mapped[MailKind] = so.mapped_column(str_enum(MailKind, 20))
    # SET NULL: a pending sign-up given back (its account row deleted) leaves
    # its mail with nobody to send to, and the worker skips it.
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # For mail to an address no account holds ("no account uses this address").
    to_address: so.Mapped[str | None] = so.mapped_column(sa.String(320))
    # The other address an account mail names (a move's new or old address).
    detail: so.Mapped[str | None] = so.mapped_column(sa.String(320))
    # The notification it mails (no foreign key: the outbox is a queue that a
    # fan-out fills 10,000 rows at a time, and a check per row is what costs).
    notification_id: so.Mapped[int | None] = so.mapped_column()
    state: so.Mapped[OutboxState] = so.mapped_column(
        str_enum(OutboxState, 10),
        default=OutboxState.pending,
        server_default=OutboxState.pending.value,
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    claimed_at: so.Mapped[datetime | None] = so.mapped_column()
    sent_at: so.Mapped[datetime | None] = so.mapped_column()
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
