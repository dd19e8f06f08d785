"""Routes of the moderation blueprint: reports, the queue, the log, every action.

Each action is one endpoint taking a reason: a GET shows a confirm page with
the reason field (for links and for browsers without JS), a POST does it.
The inline forms on threads, proposals and the queue post to the same URLs.
"""

from datetime import datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..errors import NotFound, PermissionDenied, ValidationError, wants_json
from ..extensions import db
from ..forms import attempt
from ..models import Comment, ModerationAction, Proposal, Report, Role, Thread, User
from ..models import moderation as rules
from ..models.user import username_key
from ..permissions import admin_required, moderator_required
from ..security import action_limit, safe_next_url
from ..serializers import ModerationLogEntrySchema
from ..services import moderation as service
from ..timeutil import utcnow
from ..urls import comment_url, proposal_url
from ..web import db_id
from . import bp
from .forms import (
    ApproveForm,
    LogFilterForm,
    MoveForm,
    ReasonForm,
    ReportForm,
    RoleForm,
    SuspendForm,
)
from .queries import describe_targets, moderation_queue, thread_contexts

LOG_PER_PAGE = 50


# Template helpers ------------------------------------------------------------


@bp.record_once
def _register_template_globals(state) -> None:
    env = state.app.jinja_env
    # Macros imported without context still see the signed-in member.
    env.globals.setdefault("current_user", current_user)
    env.globals.update(
        can_moderate=rules.can_moderate,
        can_see_hidden=rules.can_see_hidden,
        can_report=rules.can_report,
        can_close_report=rules.can_close_report,
        can_approve_comment=rules.can_approve_comment,
        can_hide_comment=rules.can_hide_comment,
        can_restore_comment=rules.can_restore_comment,
        can_pin_comment=rules.can_pin_comment,
        can_unpin_comment=rules.can_unpin_comment,
        can_move_subthread=rules.can_move_subthread,
        is_auto_hidden=rules.is_auto_hidden,
        can_lift_suspension=rules.can_lift_suspension,
        can_change_role=rules.can_change_role,
        # Those that query cache their answer for the request (no N+1 in a thread).
        can_hide_proposal=lambda m, p: rules.can_hide_proposal(m, p, cached=True),
        can_restore_proposal=lambda m, p: rules.can_restore_proposal(m, p, cached=True),
        can_lock_thread=lambda m, t: rules.can_lock_thread(m, t, cached=True),
        can_unlock_thread=lambda m, t: rules.can_unlock_thread(m, t, cached=True),
        can_suspend=lambda m, u, thread=None: rules.can_suspend(m, u, thread, cached=True),
        moderation_action_label=lambda action: rules.ACTION_LABELS.get(action, action),
        comment_url=comment_url,
        proposal_url=proposal_url,
        safe_next=safe_next_url,
    )


def _actor() -> User:
    return current_user._get_current_object()


def _back(form, default: str) -> str:
    return safe_next_url(form.next.data or request.args.get("next"), default)


def _confirm(form, *, title, action_url, status=200, template="moderation/confirm.html", **extra):
    return (
        render_template(
            template,
            form=form,
            title=title,
            action_url=action_url,
            **extra,
        ),
        status,
    )


def _run_action(form, refusal, perform, *, title, done, default_next, **extra):
    """The shape of every moderation action: confirm page on GET, act on POST."""
    if request.method == "GET":
        if refusal:
            raise PermissionDenied(refusal)
        form.next.data = request.args.get("next", "")
        return _confirm(form, title=title, action_url=request.path, **extra)
    if form.validate_on_submit():
        _, refused = attempt(form, perform)
        if refused:
            return _confirm(form, title=title, action_url=request.path, status=refused, **extra)
        flash(done, "success")
        return redirect(_back(form, default_next))
    if refusal:
        raise PermissionDenied(refusal)
    return _confirm(form, title=title, action_url=request.path, status=400, **extra)


def _comment_or_404(comment_id: int) -> Comment:
    comment = db.get_or_404(Comment, comment_id)
    # Members report only what they can see (app.visibility); moderators see all.
    if not comment.thread.is_visible_to(current_user) or not comment.is_visible_to(current_user):
        abort(404)
    return comment


def _comment_back(comment: Comment) -> str:
    return comment_url(comment.id)


# Reports ---------------------------------------------------------------------


def _report(target, kind: str, back: str):
    form = ReportForm()
    template = "moderation/report.html"
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        refusal = rules.why_not_report(_actor(), target)
        if refusal:
            raise PermissionDenied(refusal)
        return render_template(template, form=form, target=target, kind=kind)
    status = 400
    if form.validate_on_submit():
        _, refused = attempt(
            form,
            lambda: service.report_content(
                _actor(), target, form.reason.data, form.note.data or ""
            ),
        )
        if not refused:
            flash("Thank you: your report is with the moderators.", "success")
            return redirect(safe_next_url(form.next.data, back))
        status = refused
    elif (refusal := rules.why_not_report(_actor(), target)) is not None:
        raise PermissionDenied(refusal)
    return render_template(template, form=form, target=target, kind=kind), status


@bp.route("/moderation/report/comment/<int:comment_id>", methods=["GET", "POST"])
@login_required
@action_limit("post", "report_comment")
def report_comment(comment_id: int):
    comment = _comment_or_404(comment_id)
    return _report(comment, "comment", _comment_back(comment))


@bp.route("/moderation/report/proposal/<int:proposal_id>", methods=["GET", "POST"])
@login_required
@action_limit("post", "report_proposal")
def report_proposal(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    if not proposal.is_visible_to(current_user):
        abort(404)
    return _report(proposal, "proposal", proposal_url(proposal.id))


# The queue and the log ----------------------------------------------------------


@bp.route("/moderation/queue")
@moderator_required
def queue():
    data = moderation_queue(_actor())
    if wants_json():
        return jsonify(
            counts=data.counts,
            reported=[
                {
                    "kind": item.kind,
                    "id": item.target.id,
                    "reports": [
                        {
                            "id": r.id,
                            "reason": r.reason.value,
                            "note": r.note,
                            "reporter": r.reporter.username,
                            "created_at": r.created_at.isoformat(),
                        }
                        for r in item.reports
                    ],
                }
                for item in data.reported
            ],
            pending=[c.id for c in data.pending],
            first_posts=[c.id for c in data.first_posts],
        )
    # Its forms are the reason_form macro's (templates/_macros/moderation.html).
    return render_template("moderation/queue.html", queue=data)


def _filtered_log(form: LogFilterForm):
    stmt = sa.select(ModerationAction)
    if form.moderator.data:
        key = username_key(form.moderator.data)
        stmt = stmt.join(User, User.id == ModerationAction.moderator_id).where(
            User.username_key == key
        )
    if form.action.data:
        stmt = stmt.where(ModerationAction.action == form.action.data)
    if form.since.data:
        stmt = stmt.where(ModerationAction.created_at >= datetime.combine(form.since.data, time()))
    if form.until.data:
        end = datetime.combine(form.until.data, time()) + timedelta(days=1)
        stmt = stmt.where(ModerationAction.created_at < end)
    return stmt.order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc()).options(
        so.selectinload(ModerationAction.moderator),
        so.selectinload(ModerationAction.affected_user),
    )


@bp.route("/moderation/log")
@login_required
def log():
    form = LogFilterForm(request.args)
    status = 200
    if request.args and not form.validate():
        status = 400
        page = None
    else:
        page = db.paginate(
            _filtered_log(form),
            page=form.page.data or 1,
            per_page=LOG_PER_PAGE,
            error_out=False,
        )
    lines = describe_targets(page.items, current_user) if page else []
    if wants_json():
        if page is None:
            return jsonify(error="Bad filter", errors=form.errors), 400
        return jsonify(
            page=page.page,
            pages=page.pages,
            total=page.total,
            entries=ModerationLogEntrySchema(many=True).dump(lines),
        )
    args = {k: v for k, v in request.args.items() if k != "page"}
    return (
        render_template("moderation/log.html", form=form, page=page, lines=lines, args=args),
        status,
    )


# Comment actions --------------------------------------------------------------


def _comment_action(comment_id, why_not, perform, title, done, form_class=ReasonForm):
    comment = _comment_or_404(comment_id)
    form = form_class()
    refusal = why_not(_actor(), comment)
    contexts = thread_contexts([comment.thread_id], _actor())
    return _run_action(
        form,
        refusal,
        lambda: perform(comment, form),
        title=title,
        done=done,
        default_next=_comment_back(comment),
        comment=comment,
        context=contexts.get(comment.thread_id),
    )


@bp.route("/moderation/comments/<int:comment_id>/approve", methods=["GET", "POST"])
@moderator_required
def approve_comment(comment_id: int):
    return _comment_action(
        comment_id,
        rules.why_not_approve_comment,
        lambda c, f: service.approve_comment(c, _actor(), f.reason.data),
        "Approve this comment",
        "The comment is approved.",
        ApproveForm,
    )


@bp.route("/moderation/comments/<int:comment_id>/hide", methods=["GET", "POST"])
@moderator_required
def hide_comment(comment_id: int):
    return _comment_action(
        comment_id,
        rules.why_not_hide_comment,
        lambda c, f: service.hide_comment(c, _actor(), f.reason.data),
        "Hide this comment",
        "The comment is hidden; its replies stay in place.",
    )


@bp.route("/moderation/comments/<int:comment_id>/restore", methods=["GET", "POST"])
@moderator_required
def restore_comment(comment_id: int):
    return _comment_action(
        comment_id,
        rules.why_not_restore_comment,
        lambda c, f: service.restore_comment(c, _actor(), f.reason.data),
        "Restore this comment",
        "The comment is shown again.",
    )


@bp.route("/moderation/comments/<int:comment_id>/pin", methods=["GET", "POST"])
@moderator_required
def pin_comment(comment_id: int):
    return _comment_action(
        comment_id,
        rules.why_not_pin_comment,
        lambda c, f: service.pin_comment(c, _actor(), f.reason.data),
        "Pin this comment",
        "The comment is pinned.",
    )


@bp.route("/moderation/comments/<int:comment_id>/unpin", methods=["GET", "POST"])
@moderator_required
def unpin_comment(comment_id: int):
    return _comment_action(
        comment_id,
        rules.why_not_unpin_comment,
        lambda c, f: service.unpin_comment(c, _actor(), f.reason.data),
        "Unpin this comment",
        "The comment is no longer pinned.",
    )


@bp.route("/moderation/comments/<int:comment_id>/move", methods=["GET", "POST"])
@moderator_required
def move_subthread(comment_id: int):
    return _comment_action(
        comment_id,
        rules.why_not_move_subthread,
        lambda c, f: service.move_subthread(c, _actor(), f.reason.data, f.title.data),
        "Move this comment and its replies to a new thread",
        "The sub-thread is moved; a link stays in its place.",
        MoveForm,
    )


# Proposal actions -------------------------------------------------------------


def _proposal_action(proposal_id, why_not, perform, title, done):
    proposal = db.get_or_404(Proposal, proposal_id)
    form = ReasonForm()
    return _run_action(
        form,
        why_not(_actor(), proposal),
        lambda: perform(proposal, form),
        title=title,
        done=done,
        default_next=proposal_url(proposal.id),
        proposal=proposal,
    )


@bp.route("/moderation/proposals/<int:proposal_id>/hide", methods=["GET", "POST"])
@moderator_required
def hide_proposal(proposal_id: int):
    return _proposal_action(
        proposal_id,
        rules.why_not_hide_proposal,
        lambda p, f: service.hide_proposal(p, _actor(), f.reason.data),
        "Hide this proposal",
        "The proposal is hidden from members.",
    )


@bp.route("/moderation/proposals/<int:proposal_id>/restore", methods=["GET", "POST"])
@moderator_required
def restore_proposal(proposal_id: int):
    return _proposal_action(
        proposal_id,
        rules.why_not_restore_proposal,
        lambda p, f: service.restore_proposal(p, _actor(), f.reason.data),
        "Restore this proposal",
        "The proposal is shown again.",
    )


# Thread actions ------------------------------------------------------------------


def _thread_action(thread_id, why_not, perform, title, done):
    thread = db.get_or_404(Thread, thread_id)
    form = ReasonForm()
    context = thread_contexts([thread.id], _actor()).get(thread.id)
    return _run_action(
        form,
        why_not(_actor(), thread),
        lambda: perform(thread, form),
        title=title,
        done=done,
        default_next=(context.url if context and context.url else url_for("moderation.log")),
        thread=thread,
        context=context,
    )


@bp.route("/moderation/threads/<int:thread_id>/lock", methods=["GET", "POST"])
@moderator_required
def lock_thread(thread_id: int):
    return _thread_action(
        thread_id,
        rules.why_not_lock_thread,
        lambda t, f: service.lock_thread(t, _actor(), f.reason.data),
        "Lock this thread",
        "The thread is locked: readable, no new comments.",
    )


@bp.route("/moderation/threads/<int:thread_id>/unlock", methods=["GET", "POST"])
@moderator_required
def unlock_thread(thread_id: int):
    return _thread_action(
        thread_id,
        rules.why_not_unlock_thread,
        lambda t, f: service.unlock_thread(t, _actor(), f.reason.data),
        "Unlock this thread",
        "The thread is open to comments again.",
    )


# Report actions -------------------------------------------------------------------


def _report_action(report_id, perform, title, done):
    report = db.get_or_404(Report, report_id)
    form = ReasonForm()
    return _run_action(
        form,
        rules.why_not_close_report(_actor(), report),
        lambda: perform(report, form),
        title=title,
        done=done,
        default_next=url_for("moderation.queue"),
        report=report,
    )


@bp.route("/moderation/reports/<int:report_id>/resolve", methods=["GET", "POST"])
@moderator_required
def resolve_report(report_id: int):
    return _report_action(
        report_id,
        lambda r, f: service.resolve_report(r, _actor(), f.reason.data),
        "Resolve this report",
        "The report is resolved.",
    )


@bp.route("/moderation/reports/<int:report_id>/dismiss", methods=["GET", "POST"])
@moderator_required
def dismiss_report(report_id: int):
    return _report_action(
        report_id,
        lambda r, f: service.dismiss_report(r, _actor(), f.reason.data),
        "Dismiss this report",
        "The report is dismissed.",
    )


# Members ------------------------------------------------------------------------------


def suspension_end(form: SuspendForm) -> datetime | None:
    """The end of a suspension from the form, or None with the error set on the form."""
    if form.duration.data == "custom":
        if form.until.data is None:
            form.until.errors = ["Give the date and time the suspension ends (UTC)."]
            return None
        return form.until.data
    return utcnow() + timedelta(days=int(form.duration.data))


@bp.route("/moderation/users/<int:user_id>/suspend", methods=["GET", "POST"])
@moderator_required
def suspend_member(user_id: int):
    member = db.get_or_404(User, user_id)
    form = SuspendForm()
    raw_thread = form.thread_id.data if request.method == "POST" else request.args.get("thread")
    thread = None
    if raw_thread:
        thread_id = db_id(raw_thread)
        if thread_id is None:
            abort(404)
        thread = db.get_or_404(Thread, thread_id)
    if request.method == "GET":
        form.thread_id.data = str(thread.id) if thread else ""
    context = thread_contexts([thread.id], _actor()).get(thread.id) if thread else None

    def perform():
        until = suspension_end(form)
        if until is None:
            raise ValidationError(form.until.errors[0], field="until")
        service.suspend_member(member, _actor(), until, form.reason.data, thread)

    return _run_action(
        form,
        rules.why_not_suspend(_actor(), member, thread),
        perform,
        title=f"Suspend {member.display_name}",
        done=f"{member.display_name} is suspended.",
        default_next=url_for("users.profile", username=member.username),
        template="moderation/suspend.html",
        member=member,
        thread=thread,
        context=context,
    )


@bp.route("/moderation/users/<int:user_id>/lift", methods=["GET", "POST"])
@moderator_required
def lift_suspension(user_id: int):
    member = db.get_or_404(User, user_id)
    form = ReasonForm()
    return _run_action(
        form,
        rules.why_not_lift_suspension(_actor(), member),
        lambda: service.lift_suspension(member, _actor(), form.reason.data),
        title=f"Lift the suspension of {member.display_name}",
        done=f"{member.display_name}'s suspension is lifted.",
        default_next=url_for("users.profile", username=member.username),
        member=member,
    )


@bp.route("/moderation/roles", methods=["GET", "POST"])
@admin_required
def roles():
    form = RoleForm()
    status = 200
    if form.validate_on_submit():
        member = db.session.scalar(
            sa.select(User).where(
                User.username_key == username_key(form.username.data),
                User.email_confirmed_at.is_not(None),
            )
        )
        if member is None:
            form.username.errors = ["There is no member with that username."]
            status = 400
        else:
            # A refused role change (one's own, say) is explained on the form.
            _, refused = attempt(
                form,
                lambda: service.change_role(member, form.role.data, _actor(), form.reason.data),
                reraise=(NotFound,),
            )
            status = refused or status
            if not refused:
                flash(f"{member.display_name} is now {member.role.value}.", "success")
                return redirect(url_for("moderation.roles"))
    elif form.is_submitted():
        status = 400
    staff = db.session.scalars(
        sa.select(User)
        .where(User.role.in_([Role.moderator, Role.admin]))
        .order_by(User.role, User.username_key)
    ).all()
    return render_template("moderation/roles.html", form=form, staff=staff), status
