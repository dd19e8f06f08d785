"""Rounds, proposals, co-signing, history and notifications."""

import difflib
import functools
from datetime import datetime

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup

from ..articles.routes import current_thread_view
from ..charts import support_chart
from ..errors import InvalidState, ValidationError, wants_json
from ..extensions import db, limiter
from ..forms import ConfirmForm, attempt
from ..fragments import cached
from ..models import Notification, Proposal, ProposalState, Round, Thread, User
from ..models.user import username_key
from ..notifications.routes import prefetch_following
from ..pagecache import deadlines_passed, visitor_page
from ..params import parse_int, parse_moment
from ..permissions import active_member_required, admin_required
from ..security import action_limit, rate, safe_next_url
from ..serializers import (
    NotificationSchema,
    ProposalDetailSchema,
    ProposalSchema,
    RoundSchema,
    SupporterSchema,
    VersionSchema,
    iso,
    person,
)
from ..services import charts as chart_svc
from ..services import notifications as notes
from ..services import proposals as svc
from ..services import search as search_svc
from ..visibility import sees_hidden
from ..web import db_id, page_arg
from ..web import request_viewer as _user
from . import bp
from .forms import NO_SUCCESSOR, DecideForm, InviteForm, ProposalForm, RoundForm, WithdrawForm
from .fragments import supporters_list

NOTIFICATIONS_PER_PAGE = 50


def _is_member() -> bool:
    return current_user.is_authenticated


# --- JSON shapes (app.serializers: the same as the API's) --------------------------------


def _iso(value: datetime | None) -> str | None:
    return iso(value)


def _person(user: User) -> dict:
    return person(user)


def _round_json(round_, counts: dict | None = None) -> dict:
    if counts is None:
        return RoundSchema().dump(round_)
    return RoundSchema(counts={round_.id: counts}).dump(round_)


def _proposal_summary(proposal: Proposal, user) -> dict:
    return ProposalSchema(viewer=user).dump(proposal)


# --- Rounds -----------------------------------------------------------------------


@bp.route("/rounds")
def rounds():
    items = svc.list_rounds()
    counts = svc.state_counts([r.id for r in items])
    if wants_json():
        return jsonify(rounds=[_round_json(r, counts[r.id]) for r in items])
    return render_template("proposals/rounds.html", rounds=items, counts=counts)


@bp.route("/rounds/new", methods=["GET", "POST"])
@admin_required
def new_round():
    form = RoundForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        round_, refused = attempt(
            form,
            lambda: svc.open_round(
                current_user._get_current_object(),
                form.title.data,
                form.description.data or "",
                slug=form.slug.data or None,
                submission_deadline=form.submission_deadline.data,
                cosign_deadline=form.cosign_deadline.data,
                threshold=form.threshold.data,
            ),
        )
        if not refused:
            flash(f"The round “{round_.title}” is open.", "success")
            return redirect(url_for("proposals.round", slug=round_.slug))
        status = refused
    return render_template("proposals/round_form.html", form=form), status


@functools.cache
def _round_versions_select() -> sa.Select:
    return sa.select(Round.row_version, Round.submission_deadline, Round.cosign_deadline).where(
        Round.slug == sa.bindparam("slug")
    )


def _round_versions(slug: str) -> tuple | None:
    row = db.session.execute(_round_versions_select(), {"slug": slug}).first()
    return None if row is None else (row[0], *deadlines_passed(row[1], row[2]))


@bp.route("/rounds/<slug>", endpoint="round")
@visitor_page(_round_versions)
def show_round(slug):
    round_, counts = svc.round_with_counts(slug)
    user = _user()
    sort = request.args.get("sort", "supporters")
    if sort not in svc.SORTS:
        sort = "supporters"
    state = request.args.get("state", "")
    if state not in {s.value for s in ProposalState}:
        state = ""
    total, withdrawn_n = counts["total"], counts.get("withdrawn", 0)
    if state:
        main_states = [] if state == "withdrawn" else [state]
    else:
        main_states = [s.value for s in ProposalState if s != ProposalState.withdrawn]
    show_withdrawn = state in ("", "withdrawn")
    page, wpage = page_arg("page"), page_arg("wpage")
    main_total = sum(counts.get(s, 0) for s in main_states)

    def rows():
        main = svc.round_page(round_, sort, main_states, page, False) if main_states else []
        withdrawn = svc.round_page(round_, sort, [], wpage, True) if show_withdrawn else []
        return main, withdrawn

    def lists() -> Markup:
        main, withdrawn = rows()
        html = render_template(
            "proposals/_round_lists.html",
            round=round_,
            counts=counts,
            withdrawn_count=withdrawn_n,
            sort=sort,
            state=state,
            main=main,
            main_states=main_states,
            main_total=main_total,
            withdrawn=withdrawn,
            show_withdrawn=show_withdrawn,
            page=page,
            wpage=wpage,
            per_page=svc.PER_PAGE,
            states=list(ProposalState),
            leader=chart_svc.leader_count(round_),
        )
        return Markup(html)  # nosec B704 - our own template's output, escaped as rendered

    if wants_json():
        main, withdrawn = rows()
        return jsonify(
            round=_round_json(round_, counts),
            sort=sort,
            state=state or None,
            page=page,
            per_page=svc.PER_PAGE,
            proposals=[_proposal_summary(p, user) for p in main],
            withdrawn=[_proposal_summary(p, user) for p in withdrawn],
        )
    return render_template(
        "proposals/round.html",
        round=round_,
        total=total,
        withdrawn_count=withdrawn_n,
        # Kept whole under the round's row version, which every change to its
        # proposals moves (a co-sign too, and their authors' new names).
        lists=cached(
            "round-lists",
            (round_.id, round_.row_version, request.full_path, sees_hidden(user)),
            lists,
        ),
        can_submit=round_.can_submit(user),
        may_close=round_.can_close(user),
    )


@bp.route("/rounds/<slug>/close", methods=["POST"])
@admin_required
def close_round(slug):
    round_ = svc.get_round(slug)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        svc.close_round(round_, current_user._get_current_object())
    except InvalidState as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"The round “{round_.title}” is closed and now read-only.", "success")
    return redirect(url_for("proposals.round", slug=slug))


@bp.route("/rounds/<slug>/new", methods=["GET", "POST"])
@action_limit("post", "submit_proposal")
@active_member_required
def submit(slug):
    round_ = svc.get_round(slug)
    refusal = round_.why_not_submit(current_user)
    # A form sent after things changed (a stale form) is refused by the
    # service and shown again with the text; only reading it is stopped here.
    if refusal and request.method == "GET":
        raise InvalidState(refusal)
    form = ProposalForm()
    status = 400 if form.is_submitted() else 200
    if form.preview.data and form.validate_on_submit():
        # A preview creates nothing: the text as it will read, and the
        # round's open proposals like it, to co-sign instead if one fits.
        similar = search_svc.similar_proposals(round_, form.title.data, current_user)
        return render_template(
            "proposals/submit.html", form=form, round=round_, preview=True, similar=similar
        )
    if form.validate_on_submit():
        proposal, refused = attempt(
            form,
            lambda: svc.submit_proposal(
                round_, current_user._get_current_object(), form.title.data, form.body.data
            ),
        )
        if not refused:
            flash(f"{proposal.label} is submitted. You count as its first supporter.", "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
        status = refused
    return render_template("proposals/submit.html", form=form, round=round_), status


# --- A proposal --------------------------------------------------------------------


def _render_show(page: svc.ProposalPage, invite_form=None, withdraw_form=None, status=200):
    user = _user()
    proposal, signature, preds = page.proposal, page.signature, page.predecessors
    visible = proposal.is_visible_to(user)
    # The proposal's own comment thread, as on article pages.
    view = None
    if visible and proposal.thread.is_visible_to(user):
        view = current_thread_view(proposal.thread)
    if wants_json():
        data = ProposalDetailSchema(viewer=user).dump(proposal)
        if visible:
            data["predecessors"] = [p.number for p in preds]
        if view is not None:
            data["thread"] = view.as_json(lambda c: url_for("articles.permalink", comment_id=c.id))
        if user is not None and visible:
            data["signed"] = signature is not None
            supporters = svc.current_supporters(proposal, svc.SUPPORTERS_SHOWN)
            data["supporters"] = SupporterSchema(many=True).dump(
                [(s.user, s.signed_at) for s in supporters]
            )
        return jsonify(data), status
    if user is not None and visible:
        prefetch_following(("proposal", proposal.id), ("thread", proposal.thread_id))
    if withdraw_form is None and proposal.can_withdraw(user):
        withdraw_form = WithdrawForm(formdata=None)
        withdraw_form.set_successors(svc.open_proposals(proposal.round, exclude=proposal))
    if invite_form is None and proposal.can_invite_coauthor(user):
        invite_form = InviteForm(formdata=None)
    return render_template(
        "proposals/proposal.html",
        proposal=proposal,
        round=proposal.round,
        visible=visible,
        signature=signature,
        signed=signature is not None,
        supporters_list=supporters_list(proposal) if user and visible else None,
        predecessors=preds,
        withdraw_form=withdraw_form,
        invite_form=invite_form,
        reason_labels=svc.REASON_LABELS,
        view=view,
        support_chart=_support_chart(proposal) if visible else None,
    ), status


def _support_chart(proposal: Proposal):
    """The supporters-over-time chart, a fragment kept until the proposal's row moves.

    Every co-sign and un-sign moves the row's version (the count is on it).
    """
    threshold = proposal.round.threshold
    return cached(
        "support-chart",
        (proposal.id, proposal.created_at, proposal.row_version, threshold),
        lambda: support_chart(chart_svc.support_history(proposal), threshold),
    )


def _proposal_for_author(proposal_id: int, verb: str, why_not) -> Proposal:
    """The proposal behind one of its author's forms (403 for anyone else).

    A refusal stops the form from being read; a form sent after things
    changed (a stale form) is refused by the service and shown again with
    the text, so it is not stopped here.
    """
    proposal = svc.load_proposal(proposal_id)
    if current_user.id != proposal.author_id:
        abort(403, f"Only the author can {verb} this proposal.")
    refusal = why_not(proposal, current_user)
    if refusal and request.method == "GET":
        raise InvalidState(refusal)
    return proposal


@functools.cache
def _proposal_versions_select() -> sa.Select:
    return (
        sa.select(
            Proposal.row_version,
            Round.row_version,
            Thread.row_version,
            Round.submission_deadline,
            Round.cosign_deadline,
        )
        .join(Round, Round.id == Proposal.round_id)
        .join(Thread, Thread.id == Proposal.thread_id)
        .where(Proposal.id == sa.bindparam("proposal_id"))
    )


def _proposal_versions(proposal_id: int) -> tuple | None:
    row = db.session.execute(_proposal_versions_select(), {"proposal_id": proposal_id}).first()
    return None if row is None else (*row[:3], *deadlines_passed(row[3], row[4]))


@bp.route("/proposals/<int:proposal_id>")
@visitor_page(_proposal_versions)
def show(proposal_id):
    return _render_show(svc.load_proposal_page(proposal_id, _user()))


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@action_limit("post", "edit_proposal")
@active_member_required
def edit(proposal_id):
    proposal = _proposal_for_author(proposal_id, "edit", Proposal.why_not_edit)
    form = ProposalForm(obj=None if request.method == "POST" else proposal)
    form.submit.label.text = "Save new version"
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        version, refused = attempt(
            form,
            lambda: svc.edit_proposal(
                proposal, current_user._get_current_object(), form.title.data, form.body.data
            ),
        )
        if not refused:
            flash(f"Saved as version {version.number}. Co-signers are told it changed.", "success")
            return redirect(url_for("proposals.show", proposal_id=proposal_id))
        status = refused
    return render_template(
        "proposals/submit.html", form=form, round=proposal.round, proposal=proposal
    ), status


def _cosign_answer(proposal_id: int, message: str, ok: bool, status: int = 200):
    """JSON for the script, or a flash and a redirect for a plain form."""
    if wants_json():
        proposal = svc.load_proposal(proposal_id)
        user = _user()
        signed = svc.active_cosignature(proposal, user) is not None
        return jsonify(
            ok=ok,
            message=message,
            signed=signed,
            supporter_count=proposal.supporter_count,
            can_cosign=proposal.can_cosign(user, signed),
            can_uncosign=proposal.can_uncosign(user, signed),
            cosign_url=url_for("proposals.cosign", proposal_id=proposal_id),
            uncosign_url=url_for("proposals.uncosign", proposal_id=proposal_id),
        ), status
    flash(message, "success" if ok else "error")
    default = url_for("proposals.show", proposal_id=proposal_id)
    return redirect(safe_next_url(request.form.get("next"), default))


@bp.route("/proposals/<int:proposal_id>/cosign", methods=["POST"])
@action_limit("cosign", "cosign")
@login_required
def cosign(proposal_id):
    return _change_signature(proposal_id, svc.cosign, "You co-signed {label}. Thank you.")


@bp.route("/proposals/<int:proposal_id>/uncosign", methods=["POST"])
@action_limit("cosign", "uncosign")
@login_required
def uncosign(proposal_id):
    return _change_signature(
        proposal_id, svc.uncosign, "Your co-signature of {label} is removed."
    )


def _change_signature(proposal_id: int, change, done: str):
    """Co-sign or un-sign through the service; a refusal is a 409 with its reason.

    The service reads the proposal as it locks its row: given the id, that
    is the request's one read of it (a missing one is a 404)."""
    member = current_user._get_current_object()
    try:
        proposal = change(proposal_id, member)
    except InvalidState as exc:
        db.session.rollback()
        return _cosign_answer(proposal_id, exc.message, ok=False, status=409)
    note_id = db_id(request.form.get("notification"))
    if note_id:  # acted on from a notification (a successor's offer): it is read now
        notes.mark_read(member, [note_id])
    message = done.format(label=proposal.label)
    db.session.commit()
    return _cosign_answer(proposal_id, message, ok=True)


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["GET", "POST"])
@action_limit("post", "withdraw")
@active_member_required
def withdraw(proposal_id):
    proposal = _proposal_for_author(proposal_id, "withdraw", Proposal.why_not_withdraw)
    form = WithdrawForm()
    form.set_successors(svc.open_proposals(proposal.round, exclude=proposal))
    if form.validate_on_submit():
        successor = None
        if form.successor.data and form.successor.data != NO_SUCCESSOR:
            successor = db.session.get(Proposal, form.successor.data)
        _, refused = attempt(
            form,
            lambda: svc.withdraw_proposal(
                proposal,
                current_user._get_current_object(),
                form.reason.data,
                form.explanation.data,
                successor=successor,
            ),
        )
        if not refused:
            tail = f" in favour of {successor.label}" if successor else ""
            flash(f"{proposal.label} is withdrawn{tail}. Its supporters are told.", "success")
            return redirect(url_for("proposals.show", proposal_id=proposal_id))
        return render_template("proposals/withdraw.html", form=form, proposal=proposal), refused
    status = 400 if form.is_submitted() else 200
    return render_template("proposals/withdraw.html", form=form, proposal=proposal), status


@bp.route("/proposals/<int:proposal_id>/decide", methods=["GET", "POST"])
@admin_required
def decide(proposal_id):
    proposal = svc.load_proposal(proposal_id)
    if not proposal.can_decide(current_user):
        raise InvalidState(f"{proposal.label} is already {proposal.state.value}.")
    form = DecideForm()
    form.set_targets(svc.merge_targets(proposal))
    if form.validate_on_submit():
        target = None
        if form.merged_into.data and form.merged_into.data != NO_SUCCESSOR:
            target = db.session.get(Proposal, form.merged_into.data)
        _, refused = attempt(
            form,
            lambda: svc.decide_proposal(
                proposal,
                current_user._get_current_object(),
                form.outcome.data,
                merged_into=target,
                note=form.note.data or "",
            ),
        )
        if not refused:
            flash(f"{proposal.label} is now {proposal.state.value}.", "success")
            return redirect(url_for("proposals.show", proposal_id=proposal_id))
        return render_template("proposals/decide.html", form=form, proposal=proposal), refused
    status = 400 if form.is_submitted() else 200
    return render_template("proposals/decide.html", form=form, proposal=proposal), status


@bp.route("/proposals/<int:proposal_id>/coauthors", methods=["POST"])
@limiter.limit(rate("post"), methods=["POST"])
@active_member_required
def invite_coauthor(proposal_id):
    page = svc.load_proposal_page(proposal_id, _user())
    proposal = page.proposal
    if current_user.id != proposal.author_id:
        abort(403, "Only the author can invite co-authors.")
    refusal = proposal.why_not_invite(current_user)
    if refusal:
        raise InvalidState(refusal)
    form = InviteForm()
    if form.validate_on_submit():
        invitee = db.session.scalar(
            sa.select(User).where(
                User.username_key == username_key(form.username.data),
                User.email_confirmed_at.is_not(None),  # an unconfirmed sign-up is no member
            )
        )
        _, refused = attempt(
            form, lambda: svc.invite_coauthor(proposal, current_user._get_current_object(), invitee)
        )
        if not refused:
            flash(f"{invitee.display_name} is invited to co-author {proposal.label}.", "success")
            return redirect(url_for("proposals.show", proposal_id=proposal_id))
    return _render_show(page, invite_form=form, status=400)


def _answer_invite(proposal_id: int, accept: bool):
    proposal = svc.load_proposal(proposal_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    svc.answer_coauthor_invite(proposal, current_user._get_current_object(), accept)
    db.session.commit()
    if accept:
        flash(f"You are now a co-author of {proposal.label}.", "success")
    else:
        flash(f"You declined to co-author {proposal.label}.", "info")
    return redirect(url_for("proposals.show", proposal_id=proposal_id))


@bp.route("/proposals/<int:proposal_id>/coauthors/accept", methods=["POST"])
@active_member_required
def accept_invite(proposal_id):
    return _answer_invite(proposal_id, True)


@bp.route("/proposals/<int:proposal_id>/coauthors/decline", methods=["POST"])
@active_member_required
def decline_invite(proposal_id):
    return _answer_invite(proposal_id, False)


# --- History -------------------------------------------------------------------------


def _diff(old: str, new: str) -> list[tuple[str, str]]:
    """Line diff: ('same' | 'del' | 'ins', line)."""
    lines: list[tuple[str, str]] = []
    a, b = old.splitlines(), new.splitlines()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            lines.extend(("same", line) for line in a[i1:i2])
            continue
        lines.extend(("del", line) for line in a[i1:i2])
        lines.extend(("ins", line) for line in b[j1:j2])
    return lines


@bp.route("/proposals/<int:proposal_id>/versions")
def versions(proposal_id):
    proposal = svc.load_proposal(proposal_id)
    if not proposal.is_visible_to(current_user):
        abort(403, f"{proposal.label} is hidden by a moderator: {proposal.hidden_reason or ''}")
    all_versions = svc.versions_of(proposal)
    by_number = {v.number: v for v in all_versions}
    latest = proposal.version
    errors = []
    raw_from, raw_to = request.args.get("from"), request.args.get("to")

    def pick(raw, default, label):
        if raw in (None, ""):
            return default
        number = parse_int(raw, min_value=1)
        if number is None or number not in by_number:
            errors.append(f"There is no version {raw!r} to compare {label}; choose 1 to {latest}.")
            return default
        return number

    to_n = pick(raw_to, latest, "to")
    from_n = pick(raw_from, max(1, to_n - 1), "from")
    old, new = by_number[from_n], by_number[to_n]
    title_diff = _diff(old.title, new.title)
    body_diff = _diff(old.body, new.body)
    status = 400 if errors else 200
    if wants_json():
        return jsonify(
            proposal=proposal.id,
            versions=VersionSchema(many=True).dump(all_versions),
            compare={"from": from_n, "to": to_n, "body": body_diff, "title": title_diff},
            errors=errors,
        ), status
    return render_template(
        "proposals/versions.html",
        proposal=proposal,
        versions=all_versions,
        from_n=from_n,
        to_n=to_n,
        raw_from=raw_from,
        raw_to=raw_to,
        old=old,
        new=new,
        title_diff=title_diff,
        body_diff=body_diff,
        errors=errors,
    ), status


@bp.route("/proposals/<int:proposal_id>/supporters")
def supporters(proposal_id):
    proposal = svc.load_proposal(proposal_id)
    if not proposal.is_visible_to(current_user):
        abort(403, f"{proposal.label} is hidden by a moderator: {proposal.hidden_reason or ''}")
    raw = request.args.get("at", "")
    error = None
    when = None
    if raw:
        try:
            when = parse_moment(raw)
        except ValidationError as exc:
            error = exc.message
    page, per_page = page_arg(), svc.SUPPORTERS_PER_PAGE
    offset = (page - 1) * per_page
    result = svc.supporters_at(proposal, when, offset, per_page)
    members = _is_member()
    status = 400 if error else 200
    if wants_json():
        data = {
            "proposal": proposal.id,
            "at": _iso(when),
            "existed": result.existed,
            "supporter_count": result.count if when else proposal.supporter_count,
            "page": page,
            "error": error,
        }
        if members:
            data["authors"] = [_person(u) for u in result.authors]
            data["signers"] = SupporterSchema(many=True).dump(result.signers)
        return jsonify(data), status
    return render_template(
        "proposals/supporters.html",
        proposal=proposal,
        result=result,
        when=when,
        raw=raw,
        error=error,
        members=members,
        page=page,
        per_page=per_page,
    ), status


# --- Notifications --------------------------------------------------------------------


@bp.route("/notifications")
@login_required
def notifications():
    page = page_arg()
    items = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(NOTIFICATIONS_PER_PAGE + 1)
        .offset((page - 1) * NOTIFICATIONS_PER_PAGE)
    ).all()
    more = len(items) > NOTIFICATIONS_PER_PAGE
    shown = notes.shown_notifications(items[:NOTIFICATIONS_PER_PAGE], current_user)
    if wants_json():
        return jsonify(
            notifications=NotificationSchema(many=True).dump(shown),
            page=page,
            more=more,
        )
    return render_template(
        "proposals/notifications.html",
        items=shown,
        page=page,
        more=more,
        form=ConfirmForm(formdata=None),
        safe_url=lambda url: safe_next_url(url, ""),
    )


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_notifications_read():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    raw_id = request.form.get("id")
    ids = None  # no id: all of them
    if raw_id:  # one; an id that names nothing marks nothing
        ids = [note_id] if (note_id := db_id(raw_id)) else []
    count = notes.mark_read(current_user._get_current_object(), ids)
    db.session.commit()
    flash(f"{count} notification{'s' if count != 1 else ''} marked as read.", "info")
    return redirect(url_for("proposals.notifications", page=page_arg()))
