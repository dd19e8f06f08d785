"""The data model, one module per aggregate."""

from ..extensions import db
from . import search_index as _search_schema
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

_search_schema.listen(db.metadata)

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
    "SiteRevision",
    "RoundState",
    "Thread",
    "ThreadState",
    "User",
    "WithdrawalReason",
]
