"""The API's resources and member actions (/api/v1).

Reads apply the pages' visibility rule (through the serializers and the
same SQL clauses); actions call the services the forms call, commit once,
and answer with the resource as it is now. A refusal by a service is a
problem details answer with its message (app.errors).
"""

from datetime import datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields, validate
from werkzeug.datastructures import MultiDict

from ..errors import DomainError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (
    Article,
    Comment,
    ModerationAction,
    Notification,
    Proposal,
    ProposalState,
    Round,
    Thread,
    User,
    WithdrawalReason,
)
from ..models.moderation import ReportReason
from ..models.user import username_key
from ..moderation.forms import LogFilterForm
from ..moderation.queries import describe_targets
from ..params import MOMENT_MAX, MOMENT_MIN, parse_moment
from ..security import action_limit
from ..serializers import (
    ArticleSchema,
    CommentSchema,
    MemberSchema,
    ModerationLogEntrySchema,
    NotificationSchema,
    ProposalDetailSchema,
    ProposalSchema,
    RoundSchema,
    SupporterSchema,
    ThreadSchema,
    VersionSchema,
    person,
)
from ..services import comments as comment_svc
from ..services import moderation as moderation_svc
from ..services import notifications as notes
from ..services import proposals as svc
from ..services.threads import visible_clause as visible_comments
from ..visibility import visible_threads
from ..web import request_viewer as _viewer
from . import blp
from .auth import member_required, write_required
from .pagination import PageArgs, decode_cursor, page, page_schema


def _commit(action):
    """Run a service call and commit; a refusal rolls back and goes to the error handler."""
    try:
        result = action()
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def _after(columns, values):
    """SQL: rows after the cursor `values` in the order of `columns` ((column, descending))."""
    ors = []
    for i, (column, descending) in enumerate(columns):
        equal = [columns[j][0] == values[j] for j in range(i)]
        step = column < values[i] if descending else column > values[i]
        ors.append(sa.and_(*equal, step))
    return sa.or_(*ors)


def _keyset(stmt, columns, kinds, args):
    """`stmt` ordered by `columns`, from after the request's cursor, limit + 1 rows."""
    values = decode_cursor(args.get("cursor"), kinds)
    if values is not None:
        stmt = stmt.where(_after(columns, values))
    order = [c.desc() if d else c.asc() for c, d in columns]
    return stmt.order_by(*order).limit(args["limit"] + 1)


# --- Schemas of what the API takes ------------------------------------------------------


class ProposalListArgs(PageArgs):
    state = fields.String(validate=validate.OneOf([s.value for s in ProposalState]))
    sort = fields.String(load_default="number", validate=validate.OneOf(svc.SORTS))


class SupportersArgs(PageArgs):
    at = fields.String(
        validate=validate.Length(max=40),
        metadata={"description": "ISO 8601 moment: the supporters as of then"},
    )


class LogArgs(PageArgs):
    moderator = fields.String(metadata={"description": "a moderator's username"})
    action = fields.String(metadata={"description": "e.g. hide_comment"})
    since = fields.Date(validate=validate.Range(min=MOMENT_MIN.date(), max=MOMENT_MAX.date()))
    until = fields.Date(validate=validate.Range(min=MOMENT_MIN.date(), max=MOMENT_MAX.date()))


class ProposalIn(Schema):
    title = fields.String(required=True)
    body = fields.String(required=True)


class ProposalEdit(Schema):
    title = fields.String()
    body = fields.String()


class WithdrawIn(Schema):
    reason = fields.String(
        required=True, validate=validate.OneOf([r.value for r in WithdrawalReason])
    )
    explanation = fields.String(required=True)
    successor_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))


class CommentIn(Schema):
    body = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))


class ReplyIn(Schema):
    body = fields.String(required=True)


class ReportIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf([r.value for r in ReportReason]))
    note = fields.String(load_default="")


class SignatureOut(Schema):
    proposal_id = fields.Integer()
    signed = fields.Boolean()
    supporter_count = fields.Integer()


class ReportOut(Schema):
    id = fields.Integer()
    target_type = fields.String()
    target_id = fields.Integer()
    reason = fields.String()
    status = fields.String()


class SupportersOut(Schema):
    items = fields.List(fields.Nested(SupporterSchema))
    next = fields.String(allow_none=True)
    at = fields.String(allow_none=True)
    supporter_count = fields.Integer()
    authors = fields.List(
        fields.Dict(), metadata={"description": "the author and co-authors (count without signing)"}
    )


RoundPage = page_schema(RoundSchema, "RoundPage")
ProposalPage = page_schema(ProposalSchema, "ProposalPage")
VersionPage = page_schema(VersionSchema, "VersionPage")
CommentPage = page_schema(CommentSchema, "CommentPage")
ArticlePage = page_schema(ArticleSchema(brief=True), "ArticlePage")
NotificationPage = page_schema(NotificationSchema, "NotificationPage")
LogPage = page_schema(ModerationLogEntrySchema, "ModerationLogPage")
ThreadPage = page_schema(ThreadSchema, "ThreadPage")
MemberPage = page_schema(MemberSchema, "MemberPage")


# --- Rounds and proposals -----------------------------------------------------------------


@blp.route("/rounds")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RoundPage)
def list_rounds(args):
    """The rounds, oldest first, with their proposals counted by state."""
    rows = db.session.scalars(_keyset(sa.select(Round), [(Round.id, False)], (int,), args)).all()
    result = page(list(rows), args["limit"], lambda r: [r.id])
    counts = svc.state_counts([r.id for r in result["items"]])
    result["items"] = RoundSchema(many=True, counts=counts).dump(result["items"])
    return jsonify(result)


@blp.route("/rounds/<slug>")
@blp.response(200, RoundSchema)
def get_round(slug):
    """A round, with its proposals counted by state."""
    round_, counts = svc.round_with_counts(slug)
    return jsonify(RoundSchema(counts={round_.id: counts}).dump(round_))


_SORT_KEYS = {
    "number": ([(Proposal.number, False)], (int,), lambda p: [p.number]),
    "newest": (
        [(Proposal.created_at, True), (Proposal.id, True)],
        (datetime, int),
        lambda p: [p.created_at, p.id],
    ),
    "supporters": (
        [(Proposal.supporter_count, True), (Proposal.number, False)],
        (int, int),
        lambda p: [p.supporter_count, p.number],
    ),
}


@blp.route("/rounds/<slug>/proposals")
@blp.arguments(ProposalListArgs, location="query")
@blp.response(200, ProposalPage)
def list_proposals(args, slug):
    """A round's proposals (`state=` filters, `sort=` number, newest or supporters).

    A proposal hidden by a moderator is listed with its number and state only.
    """
    round_ = svc.get_round(slug)
    columns, kinds, key = _SORT_KEYS[args["sort"]]
    stmt = (
        sa.select(Proposal)
        .where(Proposal.round_id == round_.id)
        .options(
            so.joinedload(Proposal.round),
            so.joinedload(Proposal.author),
            so.joinedload(Proposal.successor),
        )
    )
    if args.get("state"):
        stmt = stmt.where(Proposal.state == ProposalState(args["state"]))
    rows = db.session.scalars(_keyset(stmt, columns, kinds, args)).unique().all()
    return page(list(rows), args["limit"], key)


@blp.route("/rounds/<slug>/proposals", methods=["POST"])
@write_required
@action_limit("post", "submit_proposal")
@blp.arguments(ProposalIn)
@blp.response(201, ProposalDetailSchema)
def submit_proposal(data, slug):
    """Submit a proposal to an open round (as the form on /rounds/<slug>/new)."""
    round_ = svc.get_round(slug)
    proposal = _commit(lambda: svc.submit_proposal(round_, _viewer(), data["title"], data["body"]))
    return svc.load_proposal(proposal.id)


@blp.route("/proposals/<int:proposal_id>")
@blp.response(200, ProposalDetailSchema)
def get_proposal(proposal_id):
    """A proposal; hidden by a moderator, only its number, state and count."""
    return svc.load_proposal(proposal_id)


@blp.route("/proposals/<int:proposal_id>", methods=["PATCH"])
@write_required
@action_limit("post", "edit_proposal")
@blp.arguments(ProposalEdit)
@blp.response(200, ProposalDetailSchema)
def edit_proposal(data, proposal_id):
    """Save a new version of the title and text (the author, while it is open)."""
    proposal = svc.load_proposal(proposal_id)
    title, body = data.get("title", proposal.title), data.get("body", proposal.body)
    _commit(lambda: svc.edit_proposal(proposal, _viewer(), title, body))
    db.session.expire_all()
    return svc.load_proposal(proposal_id)


def _signature_state(proposal_id: int) -> dict:
    db.session.expire_all()
    proposal = svc.load_proposal(proposal_id)
    signed = svc.active_cosignature(proposal, _viewer()) is not None
    return {
        "proposal_id": proposal.id,
        "signed": signed,
        "supporter_count": proposal.supporter_count,
    }


@blp.route("/proposals/<int:proposal_id>/cosign", methods=["POST"])
@write_required
@action_limit("cosign", "cosign")
@blp.response(200, SignatureOut)
def cosign(proposal_id):
    """Co-sign an open proposal, once (409 with the reason when it cannot be)."""
    proposal = svc.load_proposal(proposal_id)
    _commit(lambda: svc.cosign(proposal, _viewer()))
    return _signature_state(proposal_id)


@blp.route("/proposals/<int:proposal_id>/uncosign", methods=["POST"])
@write_required
@action_limit("cosign", "uncosign")
@blp.response(200, SignatureOut)
def uncosign(proposal_id):
    """Remove your co-signature while co-signing is open."""
    proposal = svc.load_proposal(proposal_id)
    _commit(lambda: svc.uncosign(proposal, _viewer()))
    return _signature_state(proposal_id)


@blp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@write_required
@action_limit("post", "withdraw")
@blp.arguments(WithdrawIn)
@blp.response(200, ProposalDetailSchema)
def withdraw(data, proposal_id):
    """Withdraw your open proposal with a reason, optionally in favour of a successor."""
    proposal = svc.load_proposal(proposal_id)
    successor = None
    if data.get("successor_id"):
        successor = db.session.get(Proposal, data["successor_id"])
        if successor is None:
            raise ValidationError("There is no proposal with that id.", field="successor_id")
    _commit(
        lambda: svc.withdraw_proposal(
            proposal, _viewer(), data["reason"], data["explanation"], successor=successor
        )
    )
    db.session.expire_all()
    return svc.load_proposal(proposal_id)


def _visible_proposal(proposal_id: int) -> Proposal:
    """The proposal, when the viewer may see it in full (403 otherwise, as its pages)."""
    proposal = svc.load_proposal(proposal_id)
    if not proposal.is_visible_to(_viewer()):
        raise PermissionDenied(f"{proposal.label} is hidden by a moderator.")
    return proposal


@blp.route("/proposals/<int:proposal_id>/versions")
@blp.arguments(PageArgs, location="query")
@blp.response(200, VersionPage)
def list_versions(args, proposal_id):
    """Every text of a proposal, oldest first."""
    proposal = _visible_proposal(proposal_id)
    after = decode_cursor(args.get("cursor"), (int,))
    versions = [v for v in svc.versions_of(proposal) if after is None or v.number > after[0]]
    return page(versions[: args["limit"] + 1], args["limit"], lambda v: [v.number])


@blp.route("/proposals/<int:proposal_id>/versions/<int:number>")
@blp.response(200, VersionSchema)
def get_version(proposal_id, number):
    """One version of a proposal's text."""
    proposal = _visible_proposal(proposal_id)
    for version in svc.versions_of(proposal):
        if version.number == number:
            return version
    raise NotFound(f"{proposal.label} has no version {number}.")


@blp.route("/proposals/<int:proposal_id>/supporters")
@member_required
@blp.arguments(SupportersArgs, location="query")
@blp.response(200, SupportersOut)
def list_supporters(args, proposal_id):
    """Who supports a proposal now, or as of `at`, in signing order (members only)."""
    proposal = _visible_proposal(proposal_id)
    when = parse_moment(args["at"]) if args.get("at") else None
    start = decode_cursor(args.get("cursor"), (int,))
    offset = start[0] if start else 0
    result = svc.supporters_at(proposal, when, offset, args["limit"] + 1)
    listed = page(result.signers, args["limit"], lambda _s: [offset + args["limit"]])
    return {
        **listed,
        "at": when.isoformat() + "Z" if when else None,
        "supporter_count": result.count if when else proposal.supporter_count,
        "authors": [person(u) for u in result.authors],
    }


# --- Threads and comments --------------------------------------------------------------


def _visible_thread(thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None or not thread.is_visible_to(_viewer()):
        raise NotFound("There is no such thread.")
    return thread


def _visible_comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    viewer = _viewer()
    if comment is None or not comment.thread.is_visible_to(viewer):
        raise NotFound("There is no such comment.")
    if not comment.is_visible_to(viewer):
        raise NotFound("There is no such comment.")
    return comment


@blp.route("/threads")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ThreadPage)
def list_threads(args):
    """The threads you may see (articles', proposals', moved sub-threads'), oldest first."""
    stmt = sa.select(Thread).where(visible_threads(_viewer()))
    rows = db.session.scalars(_keyset(stmt, [(Thread.id, False)], (int,), args)).all()
    return page(list(rows), args["limit"], lambda t: [t.id])


@blp.route("/threads/<int:thread_id>")
@blp.response(200, ThreadSchema)
def get_thread(thread_id):
    """A thread (an article's, a proposal's, or a moved sub-thread)."""
    return _visible_thread(thread_id)


@blp.route("/threads/<int:thread_id>/comments")
@blp.arguments(PageArgs, location="query")
@blp.response(200, CommentPage)
def list_comments(args, thread_id):
    """A thread's comments in reading order (each reply after its parent)."""
    thread = _visible_thread(thread_id)
    stmt = (
        sa.select(Comment)
        .where(Comment.thread_id == thread.id, visible_comments(_viewer()))
        .options(so.joinedload(Comment.author))
    )
    rows = db.session.scalars(_keyset(stmt, [(Comment.path, False)], (str,), args)).all()
    return page(list(rows), args["limit"], lambda c: [c.path])


@blp.route("/threads/<int:thread_id>/comments", methods=["POST"])
@write_required
@action_limit("post", "comment")
@blp.arguments(CommentIn)
@blp.response(201, CommentSchema)
def post_comment(data, thread_id):
    """Comment on a thread (with `parent_id`, reply to one of its comments)."""
    thread = _visible_thread(thread_id)
    parent = None
    if data.get("parent_id"):
        parent = db.session.get(Comment, data["parent_id"])
        if parent is None or not parent.is_visible_to(_viewer()):
            raise ValidationError("There is no such comment to reply to.", field="parent_id")
    return _commit(lambda: comment_svc.add_comment(thread, _viewer(), data["body"], parent))


@blp.route("/comments/<int:comment_id>")
@blp.response(200, CommentSchema)
def get_comment(comment_id):
    """A comment (a placeholder keeps no text)."""
    return _visible_comment(comment_id)


@blp.route("/comments/<int:comment_id>/replies", methods=["POST"])
@write_required
@action_limit("post", "reply")
@blp.arguments(ReplyIn)
@blp.response(201, CommentSchema)
def reply(data, comment_id):
    """Reply to a comment."""
    parent = _visible_comment(comment_id)
    thread = parent.thread
    return _commit(lambda: comment_svc.add_comment(thread, _viewer(), data["body"], parent))


def _report(target, data) -> dict:
    report = _commit(
        lambda: moderation_svc.report_content(_viewer(), target, data["reason"], data["note"])
    )
    kind = "comment" if report.comment_id else "proposal"
    return {
        "id": report.id,
        "target_type": kind,
        "target_id": report.comment_id or report.proposal_id,
        "reason": report.reason.value,
        "status": report.status.value,
    }


@blp.route("/comments/<int:comment_id>/report", methods=["POST"])
@write_required
@action_limit("post", "report_comment")
@blp.arguments(ReportIn)
@blp.response(201, ReportOut)
def report_comment(data, comment_id):
    """Report a comment to the moderators (one open report per member and comment)."""
    return _report(_visible_comment(comment_id), data)


@blp.route("/proposals/<int:proposal_id>/report", methods=["POST"])
@write_required
@action_limit("post", "report_proposal")
@blp.arguments(ReportIn)
@blp.response(201, ReportOut)
def report_proposal(data, proposal_id):
    """Report a proposal to the moderators."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not proposal.is_visible_to(_viewer()):
        raise NotFound("There is no proposal with this number.")
    return _report(proposal, data)


# --- Articles, members, notifications, the moderation log ----------------------------------


@blp.route("/articles")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ArticlePage)
def list_articles(args):
    """The source articles, newest first (without their text: read one for it)."""
    stmt = sa.select(Article).options(so.joinedload(Article.thread))
    rows = db.session.scalars(_keyset(stmt, [(Article.id, True)], (int,), args)).all()
    return page(list(rows), args["limit"], lambda a: [a.id])


@blp.route("/articles/<slug>")
@blp.response(200, ArticleSchema)
def get_article(slug):
    """An article with its text; its comments are at /threads/{thread_id}/comments."""
    article = db.session.scalar(
        sa.select(Article).where(Article.slug == slug).options(so.joinedload(Article.thread))
    )
    if article is None or not article.thread.is_visible_to(_viewer()):
        raise NotFound("There is no article at this address.")
    return article


@blp.route("/members")
@member_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, MemberPage)
def list_members(args):
    """Members in the order they joined (confirmed accounts; deleted ones are left out).

    For members only, as there is no public list of members on the site.
    """
    stmt = sa.select(User).where(User.email_confirmed_at.is_not(None), User.deleted_at.is_(None))
    rows = db.session.scalars(_keyset(stmt, [(User.id, False)], (int,), args)).all()
    return page(list(rows), args["limit"], lambda u: [u.id])


@blp.route("/members/<username>")
@blp.response(200, MemberSchema)
def get_member(username):
    """A member's public profile."""
    if len(username) > 200:
        raise NotFound("There is no member of that name.")
    member = db.session.scalar(sa.select(User).where(User.username_key == username_key(username)))
    if member is None or not member.email_confirmed or member.deleted_at is not None:
        raise NotFound("There is no member of that name.")
    return member


@blp.route("/notifications")
@member_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """Your notifications, newest first (what they name hidden since: a placeholder)."""
    stmt = sa.select(Notification).where(Notification.user_id == current_user.id)
    columns = [(Notification.created_at, True), (Notification.id, True)]
    rows = db.session.scalars(_keyset(stmt, columns, (datetime, int), args)).all()
    result = page(list(rows), args["limit"], lambda n: [n.created_at, n.id])
    result["items"] = notes.shown_notifications(result["items"], _viewer())
    return result


@blp.route("/moderation/log")
@member_required
@blp.arguments(LogArgs, location="query")
@blp.response(200, LogPage)
def list_moderation_log(args):
    """The public moderation log, newest first (filters as on /moderation/log)."""
    form = LogFilterForm(
        MultiDict({k: v for k, v in request.args.items() if k in ("moderator", "action")}),
        meta={"csrf": False},
    )
    if not form.validate():
        raise ValidationError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()), field="filters"
        )
    stmt = sa.select(ModerationAction).options(
        so.selectinload(ModerationAction.moderator),
        so.selectinload(ModerationAction.affected_user),
    )
    if form.moderator.data:
        stmt = stmt.join(User, User.id == ModerationAction.moderator_id).where(
            User.username_key == username_key(form.moderator.data)
        )
    if form.action.data:
        stmt = stmt.where(ModerationAction.action == form.action.data)
    if args.get("since"):
        stmt = stmt.where(ModerationAction.created_at >= datetime.combine(args["since"], time()))
    if args.get("until"):
        end = datetime.combine(args["until"], time()) + timedelta(days=1)
        stmt = stmt.where(ModerationAction.created_at < end)
    columns = [(ModerationAction.created_at, True), (ModerationAction.id, True)]
    rows = db.session.scalars(_keyset(stmt, columns, (datetime, int), args)).all()
    result = page(list(rows), args["limit"], lambda e: [e.created_at, e.id])
    result["items"] = describe_targets(result["items"], _viewer())
    return result
