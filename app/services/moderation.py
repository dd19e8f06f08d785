"""Moderation: reports, the actions of §4 and the append-only log.

Every action takes the acting moderator explicitly, checks the predicate in
app.models.moderation (so the refusal says why), changes the rows, writes
exactly one ModerationAction naming actor, target and reason, notifies the
member it concerns, and flushes. Nothing here commits, and nothing here
deletes a row: hiding, moving and suspending only change columns.
"""

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidState, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (
    Comment,
    CommentStatus,
    ModerationAction,
    Proposal,
    Report,
    ReportReason,
    ReportStatus,
    Role,
    Thread,
    ThreadState,
    User,
)
from ..models import moderation as rules
from ..models.moderation import DETAILS_MAX, NOTE_MAX, REASON_MAX
from ..models.thread import PATH_SEGMENT
from ..timeutil import as_utc, utcnow
from ..urls import comment_url, path_for, proposal_url
from . import notifications as notes
from .accounts import end_sessions, has_control_chars, set_role
from .comments import count_in
from .notifications import notify, notify_many

DEFAULT_REPORTS_TO_HIDE = 3
THREAD_TITLE_MAX = 300


# Helpers -------------------------------------------------------------------


def check_reason(reason: str | None, field: str = "reason") -> str:
    """A moderator's reason: required, one paragraph, at most REASON_MAX characters."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Give a reason: it is shown in the moderation log.", field=field)
    if len(reason) > REASON_MAX:
        raise ValidationError(f"A reason has at most {REASON_MAX} characters.", field=field)
    if has_control_chars(reason):
        raise ValidationError("The reason holds control characters.", field=field)
    return reason


def _refuse(refusal: str | None) -> None:
    if refusal:
        raise PermissionDenied(refusal)


def _log(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    reason: str,
    affected_user_id: int | None = None,
    details: str | None = None,
) -> ModerationAction:
    entry = ModerationAction(
        moderator_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        affected_user_id=affected_user_id,
        reason=reason[:REASON_MAX],
        details=details[:DETAILS_MAX] if details else None,
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def comment_link(comment: Comment) -> str:
    """The stored link of a notification about a comment: its permalink."""
    return comment_url(comment.id, path_for)


def proposal_link(proposal: Proposal) -> str:
    """The stored link of a notification about a proposal: its page."""
    return proposal_url(proposal.id, path_for)


def _notify(user_id: int | None, actor: User | None, kind: str, message: str, link=None) -> None:
    # Nobody is told about their own action; guests have no account to tell.
    if user_id is None or (actor is not None and user_id == actor.id):
        return
    notify(user_id, kind, message, link=link)


def _close_reports(actor: User | None, status: ReportStatus, comment=None, proposal=None) -> int:
    """Close every open report on a target (part of the action that decides it)."""
    stmt = sa.update(Report).where(Report.status == ReportStatus.open)
    if comment is not None:
        stmt = stmt.where(Report.comment_id == comment.id)
    else:
        stmt = stmt.where(Report.proposal_id == proposal.id)
    result = db.session.execute(
        stmt.values(
            status=status,
            closed_at=utcnow(),
            closed_by_id=actor.id if actor is not None else None,
        ).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def open_report_count(comment: Comment) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Report)
            .where(Report.comment_id == comment.id, Report.status == ReportStatus.open)
        )
        or 0
    )


def reports_to_hide() -> int:
    value = current_app.config.get("REPORTS_TO_HIDE", DEFAULT_REPORTS_TO_HIDE)
    return max(1, int(value))


def auto_hide_reason(count: int) -> str:
    return f"Hidden automatically after {count} reports, until a moderator decides."


def _lock_row(model, row_id: int, recheck=None) -> None:
    # PostgreSQL: serialise concurrent decisions on the same row (SQLite's
    # BEGIN IMMEDIATE already serialises every writer). The row is read again
    # once locked and `recheck` (the action's predicate) asked again: two
    # moderators hiding the same comment at once must not both succeed.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.select(model)
            .where(model.id == row_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        refusal = recheck() if recheck is not None else None
        if refusal:
            raise InvalidState(refusal)


# Reports --------------------------------------------------------------------


def report_content(reporter: User, target, reason, note: str = "") -> Report:
    """A member reports a comment or a proposal; one open report per member and target.

    Like every moderation step it writes one log entry and tells the author,
    but without naming the reporter (who stays private to moderators, so a
    report invites no retaliation). When it brings a comment to
    REPORTS_TO_HIDE open reports, that one entry is the automatic hiding.
    """
    _refuse(rules.why_not_report(reporter, target))
    try:
        reason = ReportReason(reason)
    except ValueError:
        raise ValidationError("Choose a reason from the list.", field="reason") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(f"A note has at most {NOTE_MAX} characters.", field="note")
    if has_control_chars(note):
        raise ValidationError("The note holds control characters.", field="note")

    is_comment = rules.is_comment(target)
    report = Report(
        reporter_id=reporter.id,
        comment_id=target.id if is_comment else None,
        proposal_id=None if is_comment else target.id,
        reason=reason,
        note=note,
        status=ReportStatus.open,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        what = "comment" if is_comment else "proposal"
        raise InvalidState(
            f"You have already reported this {what}; a moderator will look at your report. "
            "You can report it again once that report is closed."
        ) from None

    if is_comment:
        _lock_row(Comment, target.id)
        db.session.refresh(target, ["status"])
        count = open_report_count(target)
        if count >= reports_to_hide() and target.status == CommentStatus.published:
            _auto_hide(target, count)
            db.session.flush()
            return report
    what = "comment" if is_comment else "proposal"
    label = rules.REPORT_REASON_LABELS[reason]
    _log(None, "report_content", what, target.id, f"Reported as {label}.", target.author_id)
    _notify(
        target.author_id,
        None,
        "content_reported",
        f"A member reported your {what} as {label}. A moderator will look at it; "
        "nothing has changed yet.",
        comment_link(target) if is_comment else proposal_link(target),
    )
    db.session.flush()
    return report


def _auto_hide(comment: Comment, count: int) -> None:
    reason = auto_hide_reason(count)
    comment.status = CommentStatus.hidden
    comment.hidden_reason = reason
    comment.hidden_at = utcnow()
    comment.hidden_by_id = None
    _log(None, "auto_hide_comment", "comment", comment.id, reason, comment.author_id)
    _notify(
        comment.author_id,
        None,
        "comment_hidden",
        "Your comment was hidden after several reports, until a moderator looks at it.",
        comment_link(comment),
    )


def _close_one_report(report: Report, actor: User, reason: str, status: ReportStatus) -> None:
    _refuse(rules.why_not_close_report(actor, report))
    reason = check_reason(reason)
    _lock_row(Report, report.id)
    db.session.refresh(report, ["status"])
    if report.status != ReportStatus.open:
        raise InvalidState("This report was closed meanwhile.")
    report.status = status
    report.closed_at = utcnow()
    report.closed_by_id = actor.id
    target = report.target
    action = "resolve_report" if status == ReportStatus.resolved else "dismiss_report"
    _log(actor, action, "report", report.id, reason, target.author_id)
    db.session.flush()
    if (
        status == ReportStatus.dismissed
        and rules.is_comment(target)
        and rules.is_auto_hidden(target)
        and open_report_count(target) < reports_to_hide()
    ):
        # The reports no longer reach the threshold: the comment comes back.
        _show_comment(target)
        _notify(
            target.author_id,
            actor,
            "comment_restored",
            "Your comment, hidden after reports, is shown again.",
            comment_link(target),
        )
    verdict = "resolved: thank you" if status == ReportStatus.resolved else "dismissed"
    _notify(
        report.reporter_id,
        actor,
        "report_closed",
        f"Your report was {verdict}. Moderator's reason: {reason}",
        comment_link(target) if rules.is_comment(target) else proposal_link(target),
    )
    db.session.flush()


def resolve_report(report: Report, actor: User, reason: str) -> None:
    """Close a report as right (the moderator acted, or will act, on the target)."""
    _close_one_report(report, actor, reason, ReportStatus.resolved)


def dismiss_report(report: Report, actor: User, reason: str) -> None:
    """Close a report as unfounded; a comment hidden by reports may come back."""
    _close_one_report(report, actor, reason, ReportStatus.dismissed)


# Comments --------------------------------------------------------------------


def _show_comment(comment: Comment) -> None:
    comment.status = CommentStatus.published
    comment.hidden_reason = None
    comment.hidden_at = None
    comment.hidden_by_id = None


def approve_comment(comment: Comment, actor: User, reason: str = "Approved.") -> None:
    """Publish a pending guest comment, or clear a new member's first post from review."""
    refusal = rules.why_not_approve_comment(actor, comment)
    if refusal == rules.NOT_AWAITING_APPROVAL:
        raise InvalidState(refusal)
    _refuse(refusal)
    reason = check_reason(reason)
    _lock_row(Comment, comment.id, lambda: rules.why_not_approve_comment(actor, comment))
    was_pending = comment.status == CommentStatus.pending
    comment.status = CommentStatus.published
    comment.needs_review = False
    db.session.flush()
    if was_pending:
        # Pending comments are not in the thread's counters until they show.
        count_in(comment)
    _log(actor, "approve_comment", "comment", comment.id, reason, comment.author_id)
    if was_pending:
        _notify(
            comment.author_id,
            actor,
            "comment_approved",
            "Your comment was approved and is now shown.",
            comment_link(comment),
        )
    db.session.flush()


def hide_comment(comment: Comment, actor: User, reason: str) -> None:
    """Hide a comment behind a placeholder with the reason; its replies stay."""
    _refuse(rules.why_not_hide_comment(actor, comment))
    reason = check_reason(reason)
    _lock_row(Comment, comment.id, lambda: rules.why_not_hide_comment(actor, comment))
    was_pending = comment.status == CommentStatus.pending
    comment.status = CommentStatus.hidden
    comment.hidden_reason = reason
    comment.hidden_at = utcnow()
    comment.hidden_by_id = actor.id
    comment.needs_review = False
    comment.pinned = False
    db.session.flush()
    if was_pending:
        # A rejected guest comment shows as a placeholder, so it now counts.
        count_in(comment)
    # The decision answers every open report on it.
    _close_reports(actor, ReportStatus.resolved, comment=comment)
    _log(actor, "hide_comment", "comment", comment.id, reason, comment.author_id)
    _notify(
        comment.author_id,
        actor,
        "comment_hidden",
        f"A moderator hid your comment. Reason: {reason}",
        comment_link(comment),
    )
    db.session.flush()


def restore_comment(comment: Comment, actor: User, reason: str) -> None:
    """Show a hidden comment again; open reports on it are dismissed."""
    _refuse(rules.why_not_restore_comment(actor, comment))
    reason = check_reason(reason)
    _lock_row(Comment, comment.id, lambda: rules.why_not_restore_comment(actor, comment))
    _show_comment(comment)
    _close_reports(actor, ReportStatus.dismissed, comment=comment)
    _log(actor, "restore_comment", "comment", comment.id, reason, comment.author_id)
    _notify(
        comment.author_id,
        actor,
        "comment_restored",
        f"A moderator restored your comment. Reason: {reason}",
        comment_link(comment),
    )
    db.session.flush()


def pin_comment(comment: Comment, actor: User, reason: str) -> None:
    """Pin a top-level comment: the thread shows it first."""
    _refuse(rules.why_not_pin_comment(actor, comment))
    reason = check_reason(reason)
    comment.pinned = True
    _log(actor, "pin_comment", "comment", comment.id, reason, comment.author_id)
    _notify(
        comment.author_id,
        actor,
        "comment_pinned",
        f"A moderator pinned your comment. Reason: {reason}",
        comment_link(comment),
    )
    db.session.flush()


def unpin_comment(comment: Comment, actor: User, reason: str) -> None:
    """Unpin a comment."""
    _refuse(rules.why_not_unpin_comment(actor, comment))
    reason = check_reason(reason)
    comment.pinned = False
    _log(actor, "unpin_comment", "comment", comment.id, reason, comment.author_id)
    _notify(
        comment.author_id,
        actor,
        "comment_unpinned",
        f"A moderator unpinned your comment. Reason: {reason}",
        comment_link(comment),
    )
    db.session.flush()


def _segment(n: int) -> str:
    return str(n).zfill(PATH_SEGMENT)


def move_subthread(comment: Comment, actor: User, reason: str, title: str | None = None) -> Thread:
    """Move a comment and all its replies to a new thread, leaving a linked placeholder.

    The rows keep their ids (permalinks follow them); their thread, paths,
    depths and root are recomputed so the comment heads the new thread. A
    placeholder comment takes the old place, with moved_to_thread_id
    pointing at the new thread. Counts on both threads and on the old
    ancestors change in SQL in the same transaction.
    """
    _refuse(rules.why_not_move_subthread(actor, comment))
    reason = check_reason(reason)
    title = " ".join((title or "").split())
    if len(title) > THREAD_TITLE_MAX:
        raise ValidationError(
            f"A thread title has at most {THREAD_TITLE_MAX} characters.", field="title"
        )
    if has_control_chars(title):
        raise ValidationError("The title holds control characters.", field="title")

    old_thread_id = comment.thread_id
    _lock_row(Thread, old_thread_id)
    db.session.refresh(comment)
    old_path, old_depth = comment.path, comment.depth
    in_subtree = sa.and_(
        Comment.thread_id == old_thread_id,
        sa.or_(
            Comment.id == comment.id,
            sa.and_(Comment.path > old_path + ".", Comment.path < old_path + "/"),
        ),
    )
    moderator_in_it = db.session.scalar(
        sa.select(sa.exists().where(in_subtree, Comment.author_id == actor.id))
    )
    if moderator_in_it:
        raise PermissionDenied(
            "You have a comment in this sub-thread, so you cannot move it; "
            "another moderator has to decide."
        )
    moved_count, moved_counted = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(Comment.status != CommentStatus.pending),
        ).where(in_subtree)
    ).one()

    excerpt = " ".join(comment.body.split())[:80]
    new_thread = Thread(
        title=title or f"Moved: {excerpt}"[:THREAD_TITLE_MAX],
        state=ThreadState.open,
        comment_count=0,
        top_level_count=0,
        reply_seq=1,
        created_at=utcnow(),
    )
    db.session.add(new_thread)
    db.session.flush()

    new_root = _segment(1)
    # Rows under the moved comment: same tail, new head; depths shift up.
    db.session.execute(
        sa.update(Comment)
        .where(in_subtree)
        .values(
            thread_id=new_thread.id,
            path=sa.literal(new_root, sa.String).concat(
                sa.func.substr(Comment.path, len(old_path) + 1, type_=sa.String)
            ),
            depth=Comment.depth - old_depth,
            root_id=comment.id,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Comment)
        .where(Comment.id == comment.id)
        .values(parent_id=None)
        .execution_options(synchronize_session=False)
    )
    placeholder = Comment(
        thread_id=old_thread_id,
        parent_id=comment.parent_id,
        root_id=comment.root_id if comment.parent_id is not None else None,
        depth=old_depth,
        path=old_path,
        status=CommentStatus.published,
        author_id=None,
        author_name="Moderators",
        is_verified=True,
        body="",
        moved_to_thread_id=new_thread.id,
        created_at=comment.created_at,
    )
    db.session.add(placeholder)
    db.session.flush()
    if placeholder.root_id is None:
        placeholder.root_id = placeholder.id

    _adjust_counts(placeholder, old_thread_id, new_thread, moved_counted)
    db.session.expire(comment)

    _log(
        actor,
        "move_subthread",
        "comment",
        comment.id,
        reason,
        comment.author_id,
        details=f"{moved_count} comment(s) to thread {new_thread.id}",
    )
    _notify(
        comment.author_id,
        actor,
        "comment_moved",
        f"A moderator moved your comment and its replies to a new thread. Reason: {reason}",
        comment_link(comment),
    )
    db.session.flush()
    return new_thread


def _adjust_counts(placeholder, old_thread_id, new_thread, moved_counted):
    """Keep thread and ancestor counters exact after a move (all in SQL).

    The counters count what members see in the thread: every comment but the
    pending ones (app.services.comments.count_in). The placeholder is one
    such comment in the old thread.
    """
    db.session.execute(
        sa.update(Thread)
        .where(Thread.id == old_thread_id)
        .values(comment_count=Thread.comment_count - moved_counted + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Thread)
        .where(Thread.id == new_thread.id)
        .values(comment_count=moved_counted, top_level_count=1)
        .execution_options(synchronize_session=False)
    )
    ancestors = _ancestor_paths(placeholder.path)
    if ancestors:
        # Ancestors lose the moved rows below them and gain the placeholder.
        db.session.execute(
            sa.update(Comment)
            .where(Comment.thread_id == old_thread_id, Comment.path.in_(ancestors))
            .values(descendant_count=Comment.descendant_count - moved_counted + 1)
            .execution_options(synchronize_session=False)
        )
    # The moved comment's own descendant_count holds: its replies moved with it.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Thread) and obj.id in (old_thread_id, new_thread.id):
            db.session.expire(obj, ["comment_count", "top_level_count"])
        elif isinstance(obj, Comment) and obj.thread_id == old_thread_id:
            db.session.expire(obj, ["descendant_count"])


def _ancestor_paths(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


# Proposals -----------------------------------------------------------------------


def hide_proposal(proposal: Proposal, actor: User, reason: str) -> None:
    """Hide a proposal from members (moderators still read it), with the reason."""
    _refuse(rules.why_not_hide_proposal(actor, proposal))
    reason = check_reason(reason)
    _lock_row(Proposal, proposal.id, lambda: rules.why_not_hide_proposal(actor, proposal))
    proposal.is_hidden = True
    proposal.hidden_reason = reason
    _close_reports(actor, ReportStatus.resolved, proposal=proposal)
    _log(actor, "hide_proposal", "proposal", proposal.id, reason, proposal.author_id)
    _notify(
        proposal.author_id,
        actor,
        "proposal_hidden",
        f"A moderator hid your proposal “{proposal.title}”. Reason: {reason}",
        proposal_link(proposal),
    )
    # Its supporters and followers are told it is gone from view (not the reason:
    # that is between the author and the moderators).
    audience = notes.proposal_audience(proposal.id).subquery()
    notify_many(
        sa.select(audience.c.user_id).where(audience.c.user_id != proposal.author_id),
        "supported_proposal_hidden",
        # Its title is no longer named to members (app/visibility.py), nor linked.
        f"{proposal.label}, which you support or follow, was hidden by a moderator.",
        exclude=actor.id,
        round_id=proposal.round_id,
        proposal_id=proposal.id,
    )
    db.session.flush()


def restore_proposal(proposal: Proposal, actor: User, reason: str) -> None:
    """Show a hidden proposal again; open reports on it are dismissed."""
    _refuse(rules.why_not_restore_proposal(actor, proposal))
    reason = check_reason(reason)
    _lock_row(Proposal, proposal.id, lambda: rules.why_not_restore_proposal(actor, proposal))
    proposal.is_hidden = False
    proposal.hidden_reason = None
    _close_reports(actor, ReportStatus.dismissed, proposal=proposal)
    _log(actor, "restore_proposal", "proposal", proposal.id, reason, proposal.author_id)
    _notify(
        proposal.author_id,
        actor,
        "proposal_restored",
        f"A moderator restored your proposal “{proposal.title}”. Reason: {reason}",
        proposal_link(proposal),
    )
    db.session.flush()


# Threads ---------------------------------------------------------------------------


def _set_thread_state(thread: Thread, actor: User, reason: str, locked: bool) -> None:
    refusal = (
        rules.why_not_lock_thread(actor, thread)
        if locked
        else rules.why_not_unlock_thread(actor, thread)
    )
    _refuse(refusal)
    reason = check_reason(reason)
    _lock_row(
        Thread,
        thread.id,
        lambda: (
            rules.why_not_lock_thread(actor, thread)
            if locked
            else rules.why_not_unlock_thread(actor, thread)
        ),
    )
    thread.state = ThreadState.locked if locked else ThreadState.open
    thread.state_reason = reason if locked else None
    owner_id = rules.thread_owner_id(thread.id)
    action = "lock_thread" if locked else "unlock_thread"
    _log(actor, action, "thread", thread.id, reason, owner_id)
    if owner_id is not None:
        proposal = thread.owner_proposal
        verb = "locked" if locked else "unlocked"
        _notify(
            owner_id,
            actor,
            f"thread_{verb}",
            f"A moderator {verb} the comments on your proposal “{proposal.title}”. "
            f"Reason: {reason}",
            proposal_link(proposal),
        )
    db.session.flush()


def lock_thread(thread: Thread, actor: User, reason: str) -> None:
    """Lock a thread: readable, no new comments."""
    _set_thread_state(thread, actor, reason, locked=True)


def unlock_thread(thread: Thread, actor: User, reason: str) -> None:
    """Open a locked thread to comments again."""
    _set_thread_state(thread, actor, reason, locked=False)


# Members --------------------------------------------------------------------------


def suspend_member(
    member: User, actor: User, until: datetime, reason: str, thread: Thread | None = None
) -> None:
    """Suspend a member until `until` (they may read, not write); ends their sessions.

    Suspending again replaces the end time and reason. With `thread`, the
    suspension is over that thread, and a moderator who takes part in it is
    refused.
    """
    _refuse(rules.why_not_suspend(actor, member, thread))
    reason = check_reason(reason)
    if until is None:
        raise ValidationError("Say until when.", field="until")
    until = as_utc(until).replace(microsecond=0)
    if until <= utcnow():
        raise ValidationError("The end of a suspension must be in the future.", field="until")
    member.suspended_until = until
    member.suspension_reason = reason
    end_sessions(member)
    details = f"until {until:%Y-%m-%d %H:%M} UTC"
    if thread is not None:
        details += f", over thread {thread.id}"
    _log(actor, "suspend_member", "user", member.id, reason, member.id, details=details)
    _notify(
        member.id,
        actor,
        "suspended",
        f"Your account is suspended until {until:%d %b %Y, %H:%M} UTC. Reason: {reason}",
    )
    db.session.flush()


def lift_suspension(member: User, actor: User, reason: str) -> None:
    """End a member's suspension now."""
    _refuse(rules.why_not_lift_suspension(actor, member))
    reason = check_reason(reason)
    member.suspended_until = None
    member.suspension_reason = None
    _log(actor, "lift_suspension", "user", member.id, reason, member.id)
    _notify(member.id, actor, "suspension_lifted", f"Your suspension was lifted. Reason: {reason}")
    db.session.flush()


def change_role(member: User, role, actor: User, reason: str) -> None:
    """Grant or revoke the moderator or admin role (admins only), logged."""
    _refuse(rules.why_not_change_role(actor, member))
    reason = check_reason(reason)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError("Choose a role from the list.", field="role") from None
    before = member.role
    if before == role:
        raise InvalidState(f"{member.display_name} is already {role.value}.", field="role")
    set_role(member, role, actor)
    _log(
        actor,
        "change_role",
        "user",
        member.id,
        reason,
        member.id,
        details=f"{before.value} -> {role.value}",
    )
    _notify(
        member.id,
        actor,
        "role_changed",
        f"Your role changed from {before.value} to {role.value}. Reason: {reason}",
    )
    db.session.flush()
