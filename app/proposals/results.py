"""Organisers' tools on the proposals blueprint: a round's result, CSV exports, settings.

`/rounds/<slug>/results` shows what co-signing decided (or the standing so
far, marked provisional); see app/services/results.py for the frozen
moment. The CSV downloads hold members' names, so they are for signed-in
members, like the names on the pages; hidden proposals are shown in them
exactly as on the pages (their number and count, no title, to anyone but
moderators).
"""

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..csvexport import csv_response
from ..errors import ValidationError, render_error, wants_json
from ..forms import attempt
from ..permissions import admin_required
from ..services import proposals as svc
from ..services import results as results_svc
from ..services import rounds as rounds_svc
from . import bp
from .forms import RoundSettingsForm
from .routes import _iso, _proposal_summary, _round_json, _user, parse_moment


def _stamp(value) -> str:
    return value.strftime("%Y%m%dT%H%MZ")


def _result_json(result, user) -> dict:
    def row(r):
        data = _proposal_summary(r.proposal, user)
        data.update(
            supporters_at=r.supporters,
            state_at=r.state.value,
            to_floor=r.to_floor,
            successors=[p.number for p in r.successors],
        )
        return data

    return {
        "round": _round_json(result.round),
        "as_of": _iso(result.as_of),
        "final": result.final,
        "provisional": not result.final,
        "frozen_at": _iso(results_svc.frozen_at(result.round)),
        "threshold": result.threshold,
        "participants": result.participants,
        "supporters": result.supporters,
        "submitted_later": result.later,
        "proposals": [row(r) for r in result.rows],
        "to_floor": [r.proposal.number for r in result.floor],
        "csv_url": url_for("proposals.results_csv", slug=result.round.slug),
    }


@bp.route("/rounds/<slug>/results")
def results(slug):
    round_ = svc.get_round(slug)
    result = results_svc.round_result(round_)
    user = _user()
    if wants_json():
        return jsonify(_result_json(result, user))
    return render_template(
        "proposals/results.html",
        round=round_,
        result=result,
        frozen_at=results_svc.frozen_at(round_),
        user=user,
    )


@bp.route("/rounds/<slug>/results.csv")
@login_required
def results_csv(slug):
    round_ = svc.get_round(slug)
    result = results_svc.round_result(round_)
    user = _user()
    header = [
        "number", "title", "author", "supporters", "to_floor", "state_at", "successors",
        "state_now", "as_of", "final", "path",
    ]  # fmt: skip
    rows = []
    for r in result.rows:
        p = r.proposal
        visible = p.is_visible_to(user)
        rows.append(
            [
                p.number,
                p.title if visible else "(hidden by a moderator)",
                p.author.display_name if visible else "",
                r.supporters,
                r.to_floor,
                r.state.value,
                " > ".join(s.label for s in r.successors),
                p.state.value,
                _iso(result.as_of),
                result.final,
                url_for("proposals.show", proposal_id=p.id),
            ]
        )
    kind = "result" if result.final else "standing"
    return csv_response(f"{round_.slug}-{kind}-{_stamp(result.as_of)}.csv", header, rows)


@bp.route("/proposals/<int:proposal_id>/supporters.csv")
@login_required
def supporters_csv(proposal_id):
    proposal = svc.load_proposal(proposal_id)
    if not proposal.is_visible_to(current_user):
        abort(403, f"{proposal.label} is hidden by a moderator: {proposal.hidden_reason or ''}")
    raw = request.args.get("at", "")
    when = None
    if raw:
        try:
            when = parse_moment(raw)
        except ValidationError as exc:
            return render_error(400, exc.message)
    result = svc.supporters_at(proposal, when)
    header = ["position", "display_name", "username", "role", "signed_at", "proposal", "as_of"]
    as_of = _iso(when) or "now"
    rows = []
    if result.existed:
        for i, user in enumerate(result.authors):
            role = "author" if i == 0 else "co-author"
            rows.append(
                [len(rows) + 1, user.display_name, user.username, role, "", proposal.number, as_of]
            )
        for user, at in result.signers:
            rows.append(
                [len(rows) + 1, user.display_name, user.username, "co-signer", _iso(at),
                 proposal.number, as_of]
            )  # fmt: skip
    stamp = _stamp(when) if when else "now"
    return csv_response(f"proposal-{proposal.id}-supporters-{stamp}.csv", header, rows)


@bp.route("/rounds/<slug>/settings", methods=["GET", "POST"])
@admin_required
def round_settings(slug):
    round_ = svc.get_round(slug)
    form = RoundSettingsForm(obj=None if request.method == "POST" else round_)
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        details, refused = attempt(
            form,
            lambda: rounds_svc.update_round(
                round_,
                current_user._get_current_object(),
                form.reason.data,
                title=form.title.data,
                description=form.description.data or "",
                submission_deadline=form.submission_deadline.data,
                cosign_deadline=form.cosign_deadline.data,
                threshold=form.threshold.data,
            ),
        )
        if not refused:
            flash(f"Saved ({'; '.join(details)}). The change is in the moderation log.", "success")
            return redirect(url_for("proposals.round", slug=round_.slug))
        status = refused
    return render_template(
        "proposals/round_settings.html",
        form=form,
        round=round_,
        frozen_at=results_svc.frozen_at(round_),
    ), status
