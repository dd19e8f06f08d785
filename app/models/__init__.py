"""The data model, one module per aggregate."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from . import search_index as _search_schema
from .mail import (
    Delivery,
    Follow,
    FollowTarget,
    MailKind,
    NotificationPreference,
    OutboxMail,
    OutboxState,
    Topic,
)
from .moderation import ModerationAction, Report, ReportReason, ReportStatus
from .notification import Notification
from .proposal import (
    CoauthorStatus,
    Cosignature,
    CosignEvent,
    CosignEventKind,
    Proposal,
    ProposalCoauthor,
    ProposalState,
    ProposalVersion,
    Round,
    RoundState,
    WithdrawalReason,
)
from .thread import (
    ARTICLE_ORDER,
    Article,
    Comment,
    CommentRevision,
    CommentStatus,
    Thread,
    ThreadState,
)
from .token import ApiToken, TokenScope
from .user import Role, User

_search_schema.listen(db.metadata)

# A member's unread notifications, counted in SQL. Deferred: only the loader
# of the signed-in member asks for it (app/__init__.py), so the page header's
# badge comes with the member's own row, one statement for both.
User.unread_notifications = so.column_property(
    sa.select(sa.func.count())
    .where(Notification.user_id == User.id, Notification.read_at.is_(None))
    .correlate_except(Notification)
    .scalar_subquery(),
    deferred=True,
)

__all__ = [
    "ARTICLE_ORDER",
    "ApiToken",
    "TokenScope",
    "Delivery",
    "Follow",
    "FollowTarget",
    "MailKind",
    "NotificationPreference",
    "OutboxMail",
    "OutboxState",
    "Topic",
    "Article",
    "CoauthorStatus",
    "Comment",
    "CommentRevision",
    "CommentStatus",
    "Cosignature",
    "CosignEvent",
    "CosignEventKind",
    "ModerationAction",
    "Notification",
    "Proposal",
    "ProposalCoauthor",
    "ProposalState",
    "ProposalVersion",
    "Report",
    "ReportReason",
    "ReportStatus",
    "Role",
    "Round",
    "RoundState",
    "Thread",
    "ThreadState",
    "User",
    "WithdrawalReason",
]


def _after_create(_metadata, connection, **_kw) -> None:
    # Tables made by create_all (the tests) get the triggers migration 0006 makes.
    from .triggers import install_touch_triggers

    install_touch_triggers(connection)


sa.event.listen(db.metadata, "after_create", _after_create)
