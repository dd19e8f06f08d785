"""The data model, one module per aggregate."""

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
from .site import SiteRevision
from .thread import Article, Comment, CommentRevision, CommentStatus, Thread, ThreadState
from .user import Role, User

__all__ = [
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
    "SiteRevision",
    "RoundState",
    "Thread",
    "ThreadState",
    "User",
    "WithdrawalReason",
]
