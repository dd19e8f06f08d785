"""Reports and the append-only moderation log."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import str_enum
from .user import Role

NOTE_MAX = 2000
REASON_MAX = 500
DETAILS_MAX = 200


class ReportReason(enum.StrEnum):
    spam = "spam"
    abuse = "abuse"
    off_topic = "off_topic"
    other = "other"


REPORT_REASON_LABELS = {
    ReportReason.spam: "spam",
    ReportReason.abuse: "abuse",
    ReportReason.off_topic: "off-topic",
    ReportReason.other: "needing a moderator's look",
}


class ReportStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"
    dismissed = "dismissed"


class Report(db.Model):
    """A member's report of a comment or a proposal.

    One open report per member and target, enforced by partial unique indexes.
    """

    __tablename__ = "reports"
    __table_args__ = (
        sa.CheckConstraint("(comment_id IS NULL) <> (proposal_id IS NULL)", name="one_target"),
        sa.Index(
            "uq_reports_open_comment",
            "reporter_id",
            "comment_id",
            unique=True,
            sqlite_where=sa.text("status = 'open' AND comment_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'open' AND comment_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_reports_open_proposal",
            "reporter_id",
            "proposal_id",
            unique=True,
            sqlite_where=sa.text("status = 'open' AND proposal_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'open' AND proposal_id IS NOT NULL"),
        ),
        sa.Index("ix_reports_status_created", "status", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reporter_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    comment_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("comments.id"), index=True)
    proposal_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("proposals.id"), index=True)
    reason: so.Mapped[ReportReason] = so.mapped_column(str_enum(ReportReason))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    status: so.Mapped[ReportStatus] = so.mapped_column(
        str_enum(ReportStatus), default=ReportStatus.open, server_default=ReportStatus.open.value
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    closed_at: so.Mapped[datetime | None] = so.mapped_column()
    closed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    reporter: so.Mapped["User"] = so.relationship(foreign_keys=[reporter_id])  # noqa: F821
    closed_by: so.Mapped["User | None"] = so.relationship(foreign_keys=[closed_by_id])  # noqa: F821
    comment: so.Mapped["Comment | None"] = so.relationship(foreign_keys=[comment_id])  # noqa: F821
    proposal: so.Mapped["Proposal | None"] = so.relationship(  # noqa: F821
        foreign_keys=[proposal_id]
    )

    @property
    def target(self):
        """The reported comment or proposal."""
        return self.comment if self.comment_id is not None else self.proposal


class ModerationAction(db.Model):
    """One line of the public, append-only moderation log."""

    __tablename__ = "moderation_actions"
    __table_args__ = (sa.Index("ix_moderation_actions_created", "created_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # None for an automatic action (a comment hidden by reports).
    moderator_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    # "approve_comment", "hide_comment", "restore_proposal", "lock_thread",
    # "suspend_member", "dismiss_report", ...
    action: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    # What it acted on: "comment", "proposal", "thread", "user" or "report".
    target_type: so.Mapped[str] = so.mapped_column(sa.String(20))
    target_id: so.Mapped[int] = so.mapped_column()
    # The member whose content or account it touched, if any.
    affected_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    reason: so.Mapped[str] = so.mapped_column(sa.String(REASON_MAX))
    # What changed, when the action alone does not say it: "member -> moderator",
    # "until 2026-12-01 12:00 UTC", "to thread 12".
    details: so.Mapped[str | None] = so.mapped_column(sa.String(DETAILS_MAX))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    moderator: so.Mapped["User | None"] = so.relationship(foreign_keys=[moderator_id])  # noqa: F821
    affected_user: so.Mapped["User | None"] = so.relationship(  # noqa: F821
        foreign_keys=[affected_user_id]
    )


# Moderation actions, as written in ModerationAction.action, with the label
# the log shows.
ACTION_LABELS = {
    "report_content": "reported content",
    "approve_comment": "approved a comment",
    "hide_comment": "hid a comment",
    "auto_hide_comment": "hid a comment after reports",
    "restore_comment": "restored a comment",
    "pin_comment": "pinned a comment",
    "unpin_comment": "unpinned a comment",
    "move_subthread": "moved a sub-thread",
    "hide_proposal": "hid a proposal",
    "restore_proposal": "restored a proposal",
    "lock_thread": "locked a thread",
    "unlock_thread": "unlocked a thread",
    "suspend_member": "suspended a member",
    "lift_suspension": "lifted a suspension",
    "resolve_report": "resolved a report",
    "dismiss_report": "dismissed a report",
    "change_role": "changed a role",
    "change_round": "changed a round's settings",
}


# ---------------------------------------------------------------------------
# Predicates. Each `why_not_*` returns the reason an action is refused (the
# message a PermissionDenied carries) or None when it is allowed; `can_*` is
# its boolean form, which templates call so a control shows exactly when the
# service would accept it. They never write.
# ---------------------------------------------------------------------------

OWN_CONTENT = "Moderators cannot act on their own content; another moderator has to decide."


def _signed_in(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _why_not_moderator(user) -> str | None:
    if not _signed_in(user):
        return "Only moderators can do that."
    if user.has_role(Role.moderator) and user.is_suspended():
        return "Your account is suspended: moderators cannot act while suspended."
    if not user.is_moderator:
        return "Only moderators can do that."
    return None


def can_moderate(user) -> bool:
    """Whether `user` is an active moderator (or admin)."""
    return _why_not_moderator(user) is None


def can_see_hidden(user) -> bool:
    """Hidden comments, proposals and threads stay readable to moderators."""
    return _signed_in(user) and user.is_moderator


def is_comment(target) -> bool:
    return type(target).__name__ == "Comment"


def is_proposal(target) -> bool:
    return type(target).__name__ == "Proposal"


def _request_cache() -> dict | None:
    """A dict living as long as the current request (None outside one)."""
    from flask import has_request_context, request

    if not has_request_context():
        return None
    cache = getattr(request, "_plenary_moderation_cache", None)
    if cache is None:
        cache = {}
        request._plenary_moderation_cache = cache
    return cache


def _cached(key, compute, cached: bool):
    cache = _request_cache() if cached else None
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def thread_owner_id(thread_id: int, cached: bool = False) -> int | None:
    """The author of the proposal that owns this thread (None for an article's)."""
    from ..extensions import db
    from .proposal import Proposal

    return _cached(
        ("owner", thread_id),
        lambda: db.session.scalar(
            sa.select(Proposal.author_id).where(Proposal.thread_id == thread_id)
        ),
        cached,
    )


def owns_thread(user, thread_id: int, cached: bool = False) -> bool:
    """Whether `user` wrote or co-authors the proposal that owns the thread."""
    from ..extensions import db
    from .proposal import CoauthorStatus, Proposal, ProposalCoauthor

    if thread_owner_id(thread_id, cached) == user.id:
        return True
    return _cached(
        ("owns_thread", user.id, thread_id),
        lambda: bool(
            db.session.scalar(
                sa.select(
                    sa.exists().where(
                        Proposal.thread_id == thread_id,
                        ProposalCoauthor.proposal_id == Proposal.id,
                        ProposalCoauthor.user_id == user.id,
                        ProposalCoauthor.status == CoauthorStatus.accepted,
                    )
                )
            )
        ),
        cached,
    )


def took_part_in_thread(user, thread_id: int, cached: bool = False) -> bool:
    """Whether `user` commented in the thread or wrote or co-authors the proposal owning it."""
    from ..extensions import db
    from .thread import Comment

    def compute() -> bool:
        commented = db.session.scalar(
            sa.select(
                sa.exists().where(Comment.thread_id == thread_id, Comment.author_id == user.id)
            )
        )
        return bool(commented) or owns_thread(user, thread_id, cached)

    return _cached(("took_part", user.id, thread_id), compute, cached)


def is_own_proposal(user, proposal, cached: bool = False) -> bool:
    """Author or accepted co-author of the proposal."""
    if proposal.author_id == user.id:
        return True
    from ..extensions import db
    from .proposal import CoauthorStatus, ProposalCoauthor

    return _cached(
        ("coauthor", user.id, proposal.id),
        lambda: bool(
            db.session.scalar(
                sa.select(
                    sa.exists().where(
                        ProposalCoauthor.proposal_id == proposal.id,
                        ProposalCoauthor.user_id == user.id,
                        ProposalCoauthor.status == CoauthorStatus.accepted,
                    )
                )
            )
        ),
        cached,
    )


def content_of(user) -> tuple[sa.Select, sa.Select]:
    """SQL: ids of the comments and of the proposals `user` wrote or co-authors."""
    from .proposal import CoauthorStatus, Proposal, ProposalCoauthor
    from .thread import Comment

    comments = sa.select(Comment.id).where(Comment.author_id == user.id)
    proposals = sa.select(Proposal.id).where(
        sa.or_(
            Proposal.author_id == user.id,
            Proposal.id.in_(
                sa.select(ProposalCoauthor.proposal_id).where(
                    ProposalCoauthor.user_id == user.id,
                    ProposalCoauthor.status == CoauthorStatus.accepted,
                )
            ),
        )
    )
    return comments, proposals


def reports_on_content_of(user) -> sa.ColumnElement[bool]:
    """SQL: reports about content `user` wrote or co-authors (other moderators' business)."""
    comments, proposals = content_of(user)
    return sa.or_(Report.comment_id.in_(comments), Report.proposal_id.in_(proposals))


def reporters_of(moderator, cached: bool = True) -> frozenset[int]:
    """Ids of the members who ever reported content `moderator` wrote or co-authors.

    One query, kept for the request: a thread page asks it for every comment.
    """
    from ..extensions import db

    return _cached(
        ("reporters", moderator.id),
        lambda: frozenset(
            db.session.scalars(
                sa.select(Report.reporter_id).where(reports_on_content_of(moderator)).distinct()
            )
        ),
        cached,
    )


OWN_THREAD = (
    "This is the thread of your own proposal (you wrote or co-author it): you take part in it, "
    "so you cannot moderate in it; another moderator has to decide."
)
TOOK_PART = (
    "You take part in this thread, so you cannot suspend a member over it; "
    "another moderator has to decide."
)
REPORTED_YOU = (
    "This member reported content of yours, so you cannot act against them; "
    "another moderator has to decide."
)


def recusal(
    moderator,
    *,
    content=None,
    thread_id: int | None = None,
    member_id: int | None = None,
    participation: bool = False,
    cached: bool = False,
) -> str | None:
    """Why `moderator` must leave this to another moderator, or None.

    The one recusal rule: never on one's own content (authored or
    co-authored), never in the thread of one's own proposal (`thread_id`),
    never suspending over a thread one takes part in (`participation`), and
    never against a member who reported one's content (reports on a
    moderator's content are shown to the other moderators only).
    """
    if content is not None:
        if is_comment(content):
            if content.author_id is not None and content.author_id == moderator.id:
                return OWN_CONTENT
            if owns_thread(moderator, content.thread_id, cached=True):
                return OWN_THREAD
        elif is_proposal(content) and is_own_proposal(moderator, content, cached):
            return OWN_CONTENT
        if member_id is None:
            member_id = content.author_id
    if thread_id is not None:
        if owns_thread(moderator, thread_id, cached):
            return OWN_THREAD
        if participation and took_part_in_thread(moderator, thread_id, cached):
            return TOOK_PART
    if member_id is not None and member_id in reporters_of(moderator):
        return REPORTED_YOU
    return None


# Reports ----------------------------------------------------------------


def why_not_report(user, target) -> str | None:
    if not _signed_in(user):
        return "Sign in to report content."
    if user.is_suspended():
        return "Your account is suspended: you can read, but not report."
    if is_comment(target):
        from .thread import CommentStatus

        if target.author_id == user.id:
            return "You cannot report your own comment."
        if target.status != CommentStatus.published or target.moved_to_thread_id is not None:
            return "Only a published comment can be reported."
        return None
    if is_proposal(target):
        if target.author_id == user.id:
            return "You cannot report your own proposal."
        if target.is_hidden:
            return "This proposal is already hidden by a moderator."
        return None
    return "Only comments and proposals can be reported."


def can_report(user, target) -> bool:
    """Whether `user` may report this comment or proposal."""
    return why_not_report(user, target) is None


def why_not_close_report(moderator, report) -> str | None:
    refusal = _why_not_moderator(moderator)
    if refusal:
        return refusal
    if report.status != ReportStatus.open:
        return "This report is already closed."
    return recusal(moderator, content=report.target)


def can_close_report(moderator, report) -> bool:
    """Whether `moderator` may resolve or dismiss the report."""
    return why_not_close_report(moderator, report) is None


# Comments ----------------------------------------------------------------


def _why_not_comment(moderator, comment) -> str | None:
    refusal = _why_not_moderator(moderator)
    if refusal:
        return refusal
    recused = recusal(moderator, content=comment)
    if recused:
        return recused
    if comment.moved_to_thread_id is not None:
        return (
            "This is the placeholder of a moved sub-thread; act on the comments where they are now."
        )
    return None


NOT_AWAITING_APPROVAL = "This comment is not waiting for approval."


def why_not_approve_comment(moderator, comment) -> str | None:
    from .thread import CommentStatus

    refusal = _why_not_comment(moderator, comment)
    if refusal:
        return refusal
    if comment.status == CommentStatus.pending:
        return None
    if comment.status == CommentStatus.published and comment.needs_review:
        return None
    return NOT_AWAITING_APPROVAL


def can_approve_comment(moderator, comment) -> bool:
    """A pending guest comment, or a new member's first post under review."""
    return why_not_approve_comment(moderator, comment) is None


def why_not_hide_comment(moderator, comment) -> str | None:
    from .thread import CommentStatus

    refusal = _why_not_comment(moderator, comment)
    if refusal:
        return refusal
    if comment.status == CommentStatus.hidden and comment.hidden_by_id is None:
        # Hidden by reports: a moderator confirms it, which is a decision.
        return None
    if comment.status not in (CommentStatus.published, CommentStatus.pending):
        return "This comment is not shown, so there is nothing to hide."
    return None


def can_hide_comment(moderator, comment) -> bool:
    """Published or pending comments, and comments hidden by reports (to confirm)."""
    return why_not_hide_comment(moderator, comment) is None


def is_auto_hidden(comment) -> bool:
    """Hidden by reports and still waiting for a moderator's decision."""
    from .thread import CommentStatus

    return comment.status == CommentStatus.hidden and comment.hidden_by_id is None


def why_not_restore_comment(moderator, comment) -> str | None:
    from .thread import CommentStatus

    refusal = _why_not_comment(moderator, comment)
    if refusal:
        return refusal
    if comment.status != CommentStatus.hidden:
        return "This comment is not hidden."
    return None


def can_restore_comment(moderator, comment) -> bool:
    """Whether `moderator` may show a hidden comment again."""
    return why_not_restore_comment(moderator, comment) is None


def why_not_pin_comment(moderator, comment) -> str | None:
    from .thread import CommentStatus

    refusal = _why_not_comment(moderator, comment)
    if refusal:
        return refusal
    if comment.parent_id is not None:
        return "Only a top-level comment can be pinned."
    if comment.status != CommentStatus.published:
        return "Only a published comment can be pinned."
    if comment.pinned:
        return "This comment is already pinned."
    return None


def can_pin_comment(moderator, comment) -> bool:
    """Published top-level comments that are not pinned yet."""
    return why_not_pin_comment(moderator, comment) is None


def why_not_unpin_comment(moderator, comment) -> str | None:
    refusal = _why_not_comment(moderator, comment)
    if refusal:
        return refusal
    if not comment.pinned:
        return "This comment is not pinned."
    return None


def can_unpin_comment(moderator, comment) -> bool:
    return why_not_unpin_comment(moderator, comment) is None


def why_not_move_subthread(moderator, comment) -> str | None:
    from .thread import CommentStatus

    refusal = _why_not_comment(moderator, comment)
    if refusal:
        return refusal
    if comment.status == CommentStatus.pending:
        return "Approve or hide a pending comment before moving it."
    return None


def can_move_subthread(moderator, comment) -> bool:
    """Whether `moderator` may move this comment and its replies to a new thread."""
    return why_not_move_subthread(moderator, comment) is None


# Proposals -----------------------------------------------------------------


def why_not_hide_proposal(moderator, proposal, cached: bool = False) -> str | None:
    refusal = _why_not_moderator(moderator)
    if refusal:
        return refusal
    recused = recusal(moderator, content=proposal, cached=cached)
    if recused:
        return recused
    if proposal.is_hidden:
        return "This proposal is already hidden."
    return None


def can_hide_proposal(moderator, proposal, cached: bool = False) -> bool:
    return why_not_hide_proposal(moderator, proposal, cached) is None


def why_not_restore_proposal(moderator, proposal, cached: bool = False) -> str | None:
    refusal = _why_not_moderator(moderator)
    if refusal:
        return refusal
    recused = recusal(moderator, content=proposal, cached=cached)
    if recused:
        return recused
    if not proposal.is_hidden:
        return "This proposal is not hidden."
    return None


def can_restore_proposal(moderator, proposal, cached: bool = False) -> bool:
    return why_not_restore_proposal(moderator, proposal, cached) is None


# Threads ---------------------------------------------------------------------


def _why_not_thread(moderator, thread, cached: bool) -> str | None:
    refusal = _why_not_moderator(moderator)
    if refusal:
        return refusal
    return recusal(moderator, thread_id=thread.id, cached=cached)


def why_not_lock_thread(moderator, thread, cached: bool = False) -> str | None:
    from .thread import ThreadState

    refusal = _why_not_thread(moderator, thread, cached)
    if refusal:
        return refusal
    if thread.state != ThreadState.open:
        return "Only an open thread can be locked."
    return None


def can_lock_thread(moderator, thread, cached: bool = False) -> bool:
    return why_not_lock_thread(moderator, thread, cached) is None


def why_not_unlock_thread(moderator, thread, cached: bool = False) -> str | None:
    from .thread import ThreadState

    refusal = _why_not_thread(moderator, thread, cached)
    if refusal:
        return refusal
    if thread.state != ThreadState.locked:
        return "This thread is not locked."
    return None


def can_unlock_thread(moderator, thread, cached: bool = False) -> bool:
    return why_not_unlock_thread(moderator, thread, cached) is None


# Members ------------------------------------------------------------------------


def _outranks(actor, member) -> bool:
    from .user import ROLE_RANK

    return ROLE_RANK[actor.role] > ROLE_RANK[member.role]


def why_not_suspend(moderator, member, thread=None, cached: bool = False) -> str | None:
    refusal = _why_not_moderator(moderator)
    if refusal:
        return refusal
    if member is None:
        return "Guest comments have no account to suspend."
    if member.id == moderator.id:
        return "You cannot suspend yourself."
    if not _outranks(moderator, member):
        return "Only an admin can suspend a moderator, and nobody can suspend an admin."
    thread_id = thread if isinstance(thread, int) or thread is None else thread.id
    return recusal(
        moderator, thread_id=thread_id, member_id=member.id, participation=True, cached=cached
    )


def can_suspend(moderator, member, thread=None, cached: bool = False) -> bool:
    """Whether `moderator` may suspend `member` (over `thread`, when given)."""
    return why_not_suspend(moderator, member, thread, cached) is None


def why_not_lift_suspension(moderator, member) -> str | None:
    refusal = _why_not_moderator(moderator)
    if refusal:
        return refusal
    if member.id == moderator.id:
        return "You cannot lift your own suspension."
    if not _outranks(moderator, member):
        return "Only an admin can lift a moderator's suspension."
    if not member.is_suspended():
        return "This member is not suspended."
    return None


def can_lift_suspension(moderator, member) -> bool:
    return why_not_lift_suspension(moderator, member) is None


def why_not_change_role(actor, member) -> str | None:
    if not _signed_in(actor) or not actor.is_admin:
        return "Only an admin can change roles."
    if actor.is_suspended():
        return "Your account is suspended."
    if actor.id == member.id:
        return "Admins cannot change their own role; ask another admin."
    return None


def can_change_role(actor, member) -> bool:
    return why_not_change_role(actor, member) is None
