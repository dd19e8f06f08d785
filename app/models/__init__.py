"""The data model, one module per aggregate."""

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
from .thread import Article, Comment, CommentRevision, CommentStatus, Thread, ThreadState
from .user import Role, User

__all__ = [
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
