"""The feeds: what a visitor sees of a round, a proposal, a thread; the log for members.

Every public feed is built for a visitor (viewer None), whoever asks: a
feed's address is pasted into readers and shared, so it must never carry
what only its subscriber may see. The visibility rules are the site's own
(app.visibility, `Comment.text_visible_clause`, the moderation log's
`describe_targets`); nothing here decides them again. An entry's words
come from the resource's serializer (app/serializers.py), as the API and
the pages' JSON give them, dumped for that visitor.
"""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import url_for
from flask_login import login_required
from markupsafe import Markup

from ..errors import NotFound
from ..extensions import db
from ..models import (
    Article,
    Comment,
    ModerationAction,
    Proposal,
    ProposalVersion,
    Round,
    Thread,
    User,
)
from ..models import moderation as rules
from ..models.proposal import ProposalState, proposal_label
from ..moderation.queries import describe_targets
from ..names import who_text
from ..serializers import (
    CommentSchema,
    ModerationLogEntrySchema,
    ProposalDetailSchema,
    VersionSchema,
    person,
)
from ..services import proposals as svc
from ..urls import (
    absolute,
    absolute_url,
    article_url,
    proposal_url,
    round_url,
    thread_url,
    versions_url,
)
from ..visibility import can_see_proposal, can_see_thread, proposal_name
from . import bp
from .atom import ATOM_TYPE, FEED_LIMIT, Entry, anchor, atom_response, html_of, paragraph

# Viewer of every public feed: a visitor (see the module's docstring).
VISITOR = None
# What a round's entry says of each proposal (no co-authors: one statement each).
ROUND_ENTRY_FIELDS = ("id", "number", "state", "title", "author", "url", "body")


def _named(name: str | None, username: str | None) -> str:
    """A serialized name as feeds write it: "Ada Lovelace (@ada)", a guest's bare name."""
    return f"{name} (@{username})" if username else (name or "Anonymous")


def _person_text(member: dict | None) -> str:
    return _named(member["display_name"], member["username"]) if member else ""


# The day the moderation log's feed was first served: the date of its tag: id.
LOG_FEED_SINCE = datetime(2026, 11, 30)


@bp.app_template_global("feed_links")
def feed_links(thing) -> Markup:
    """The <link rel="alternate"> tags of the feeds a page offers (those a visitor may read)."""
    feeds: list[tuple[str, str]] = []
    if isinstance(thing, Round):
        feeds.append(
            (f"New proposals in “{thing.title}”", url_for("feeds.round_feed", slug=thing.slug))
        )
    elif isinstance(thing, Proposal) and can_see_proposal(VISITOR, thing):
        feeds.append(
            (
                f"{thing.label}: versions and state changes",
                url_for("feeds.proposal_feed", proposal_id=thing.id),
            )
        )
        if can_see_thread(VISITOR, thing.thread):
            feeds.append(
                (
                    f"Comments on {thing.label}",
                    url_for("feeds.proposal_comments_feed", proposal_id=thing.id),
                )
            )
    elif isinstance(thing, Article) and can_see_thread(VISITOR, thing.thread):
        feeds.append(
            (
                f"Comments on “{thing.title}”",
                url_for("feeds.article_comments_feed", slug=thing.slug),
            )
        )
    elif isinstance(thing, Thread) and can_see_thread(VISITOR, thing):
        feeds.append(
            (
                f"Comments on “{thing.title or 'a discussion'}”",
                url_for("feeds.thread_comments_feed", thread_id=thing.id),
            )
        )
    elif thing == "moderation log":
        feeds.append(("Moderation log", url_for("feeds.moderation_log_feed")))
    return Markup("").join(
        Markup('<link rel="alternate" type="{}" title="{}" href="{}">\n').format(
            ATOM_TYPE, title, href
        )
        for title, href in feeds
    )


@bp.route("/rounds/<slug>/feed.atom")
def round_feed(slug):
    """A round's proposals, newest first, each with its current text."""
    round_ = svc.get_round(slug)
    current = so.aliased(ProposalVersion)
    rows = db.session.execute(
        sa.select(Proposal, current.created_at)
        .outerjoin(
            current,
            sa.and_(current.proposal_id == Proposal.id, current.number == Proposal.version),
        )
        .where(Proposal.round_id == round_.id, Proposal.visible_clause(VISITOR))
        .options(so.joinedload(Proposal.author))
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
        .limit(FEED_LIMIT)
    ).all()
    schema = ProposalDetailSchema(viewer=VISITOR, only=ROUND_ENTRY_FIELDS)
    entries = []
    for p, text_at in rows:
        shown = schema.dump(p)
        state = "" if shown["state"] == ProposalState.open.value else f" ({shown['state']})"
        entries.append(
            Entry(
                key=f"proposal/{shown['id']}",
                at=p.created_at,
                title=f"{proposal_label(shown['number'])}: {shown['title']}{state}",
                link=absolute(shown["url"]),
                published=p.created_at,
                # The last change of its text or state (not of its co-signatures,
                # which move all day and would bring the entry back every hour).
                updated=max(t for t in (p.created_at, text_at, p.withdrawn_at, p.decided_at) if t),
                author=_person_text(shown["author"]),
                content=html_of(shown["body"]),
            )
        )
    return atom_response(
        key=f"round/{round_.id}",
        at=round_.created_at,
        title=f"Proposals of “{round_.title}”",
        subtitle="New proposals of the round, with their current text.",
        self_url=absolute_url("feeds.round_feed", slug=round_.slug),
        page_url=round_url(round_.slug, absolute_url),
        entries=entries,
        empty_updated=round_.created_at,
    )


def _visible_proposal(proposal_id: int) -> Proposal:
    proposal = svc.load_proposal(proposal_id)
    if not can_see_proposal(VISITOR, proposal):
        raise NotFound("There is no feed for this proposal.")
    return proposal


def _version_entries(proposal: Proposal) -> list[Entry]:
    versions = db.session.scalars(
        sa.select(ProposalVersion)
        .where(ProposalVersion.proposal_id == proposal.id)
        .order_by(ProposalVersion.number.desc())
        .limit(FEED_LIMIT)
    ).all()
    editor_ids = {v.editor_id for v in versions if v.editor_id is not None}
    editors = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(editor_ids)))}
        if editor_ids
        else {}
    )
    entries = []
    for v in versions:
        shown = VersionSchema().dump(v)
        number = shown["number"]
        if number == 1:
            title, link = f"Submitted: {shown['title']}", proposal_url(proposal.id, absolute_url)
        else:
            title = f"Version {number}: {shown['title']}"
            link = versions_url(proposal.id, absolute_url, **{"from": number - 1, "to": number})
        entries.append(
            Entry(
                key=f"proposal/{proposal.id}/version/{number}",
                at=v.created_at,
                title=title,
                link=link,
                published=v.created_at,
                updated=v.created_at,
                author=_person_text(person(editors.get(v.editor_id) or proposal.author)),
                content=html_of(shown["body"]),
            )
        )
    return entries


def _successor_html(proposal: Proposal, words: str) -> str:
    """ "In favour of Proposal 7: Title" (linked), or "... Proposal 7 (hidden)" unlinked."""
    successor = proposal.successor
    if successor is None:
        return ""
    link = proposal_url(successor.id, absolute_url)
    if not can_see_proposal(VISITOR, successor):
        link = None
    return paragraph(f"{words} ", anchor(proposal_name(VISITOR, successor), link), ".")


def _state_entries(proposal: Proposal) -> list[Entry]:
    entries = []
    link = proposal_url(proposal.id, absolute_url)
    if proposal.state == ProposalState.withdrawn and proposal.withdrawn_at:
        reason = svc.REASON_LABELS.get(proposal.withdrawal_reason, "Withdrawn")
        entries.append(
            Entry(
                key=f"proposal/{proposal.id}/withdrawn",
                at=proposal.withdrawn_at,
                title=f"{proposal.label} withdrawn: {reason}",
                link=link,
                published=proposal.withdrawn_at,
                updated=proposal.withdrawn_at,
                author=who_text(proposal.author),
                content=paragraph(proposal.withdrawal_explanation)
                + _successor_html(proposal, "Withdrawn in favour of"),
            )
        )
    elif proposal.decided_at and proposal.state != ProposalState.open:
        entries.append(
            Entry(
                key=f"proposal/{proposal.id}/decided",
                at=proposal.decided_at,
                title=f"{proposal.label} {proposal.state.value}",
                link=link,
                published=proposal.decided_at,
                updated=proposal.decided_at,
                author="",
                content=paragraph(proposal.decision_note or f"{proposal.state.value.capitalize()}.")
                + _successor_html(proposal, "Merged into"),
            )
        )
    return entries


@bp.route("/proposals/<int:proposal_id>/feed.atom")
def proposal_feed(proposal_id):
    """A proposal's versions and state changes (withdrawal, decision)."""
    proposal = _visible_proposal(proposal_id)
    return atom_response(
        key=f"proposal/{proposal.id}",
        at=proposal.created_at,
        title=f"{proposal.label}: {proposal.title}",
        subtitle=f"Versions and state changes, in “{proposal.round.title}”.",
        self_url=absolute_url("feeds.proposal_feed", proposal_id=proposal.id),
        page_url=proposal_url(proposal.id, absolute_url),
        entries=_version_entries(proposal) + _state_entries(proposal),
        empty_updated=proposal.created_at,
    )


def _comment_entries(thread) -> list[Entry]:
    """The newest comments whose text a visitor may read (published), with their authors."""
    comments = db.session.scalars(
        sa.select(Comment)
        .where(Comment.thread_id == thread.id, Comment.text_visible_clause(VISITOR))
        .options(so.joinedload(Comment.author))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(FEED_LIMIT)
    ).all()
    schema = CommentSchema(viewer=VISITOR)
    entries = []
    for c in comments:
        shown = schema.dump(c)
        name = _named(shown["author"], shown["username"])
        if not shown["verified"]:
            name += " (not verified)"
        entries.append(
            Entry(
                key=f"comment/{shown['id']}",
                at=c.created_at,
                title=f"{'Reply' if shown['parent_id'] else 'Comment'} by {name}",
                link=absolute(shown["url"]),
                published=c.created_at,
                updated=c.edited_at or c.created_at,
                author=name,
                content=html_of(shown["body"]),
            )
        )
    return entries


def _thread_feed(thread, *, key: str, at: datetime, title: str, self_url: str, page_url: str):
    if not can_see_thread(VISITOR, thread):
        raise NotFound("There is no feed for this thread.")
    return atom_response(
        key=key,
        at=at,
        title=title,
        self_url=self_url,
        page_url=page_url,
        entries=_comment_entries(thread),
        empty_updated=thread.created_at,
    )


@bp.route("/proposals/<int:proposal_id>/comments.atom")
def proposal_comments_feed(proposal_id):
    """A proposal's comments, newest first."""
    proposal = _visible_proposal(proposal_id)
    return _thread_feed(
        proposal.thread,
        key=f"proposal/{proposal.id}/comments",
        at=proposal.created_at,
        title=f"Comments on {proposal.label}: {proposal.title}",
        self_url=absolute_url("feeds.proposal_comments_feed", proposal_id=proposal.id),
        page_url=proposal_url(proposal.id, absolute_url),
    )


@bp.route("/articles/<slug>/comments.atom")
def article_comments_feed(slug):
    """An article's comments, newest first."""
    article = db.session.scalar(
        sa.select(Article).where(Article.slug == slug).options(so.joinedload(Article.thread))
    )
    if article is None:
        raise NotFound("There is no article at this address.")
    return _thread_feed(
        article.thread,
        key=f"article/{article.id}/comments",
        at=article.created_at,
        title=f"Comments on “{article.title}”",
        self_url=absolute_url("feeds.article_comments_feed", slug=article.slug),
        page_url=article_url(article.slug, absolute_url),
    )


@bp.route("/threads/<int:thread_id>/comments.atom")
def thread_comments_feed(thread_id):
    """A thread's comments, newest first (a moved sub-thread's own page links it)."""
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        raise NotFound("There is no thread with this number.")
    return _thread_feed(
        thread,
        key=f"thread/{thread.id}/comments",
        at=thread.created_at,
        title=f"Comments on “{thread.title or 'a discussion'}”",
        self_url=absolute_url("feeds.thread_comments_feed", thread_id=thread.id),
        page_url=thread_url(thread.id, absolute_url),
    )


def _acted_by(entry: ModerationAction) -> str:
    """Who took the action, as the log page names them."""
    if entry.moderator is not None:
        return who_text(entry.moderator)
    if entry.action == "report_content":
        return "A member (kept private)"
    return "Automatic (reports)"


@bp.route("/moderation/log.atom")
@login_required
def moderation_log_feed():
    """The moderation log, for members as the log page is (docs/moderation.md).

    Named as a member who is not a moderator sees it, whoever asks: a
    moderator's reader must not carry hidden proposals' titles onwards.
    """
    actions = db.session.scalars(
        sa.select(ModerationAction)
        .options(
            so.selectinload(ModerationAction.moderator),
            so.selectinload(ModerationAction.affected_user),
        )
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
        .limit(FEED_LIMIT)
    ).all()
    entries = []
    schema = ModerationLogEntrySchema()
    for line in describe_targets(actions, VISITOR, absolute_url):
        action, shown = line.entry, schema.dump(line)
        label = rules.ACTION_LABELS.get(shown["action"], shown["action"])
        by = ""
        if action.affected_user and shown["target_type"] != "user":
            by = f", by {who_text(action.affected_user)}"
        on = paragraph("On ", anchor(shown["target"], line.target_url), by)
        details = paragraph(f"({shown['details']})") if shown["details"] else ""
        entries.append(
            Entry(
                key=f"moderation/{shown['id']}",
                at=action.created_at,
                title=f"{_acted_by(action)} {label}: {shown['target']}",
                link=line.target_url or absolute_url("moderation.log", _anchor=f"log-{action.id}"),
                published=action.created_at,
                updated=action.created_at,
                author=_acted_by(action),
                content=on + details + paragraph(f"Reason: {shown['reason']}"),
            )
        )
    return atom_response(
        key="moderation/log",
        at=LOG_FEED_SINCE,
        title="Moderation log",
        subtitle="Every moderation action, who took it, when and why.",
        self_url=absolute_url("feeds.moderation_log_feed"),
        page_url=absolute_url("moderation.log"),
        entries=entries,
        empty_updated=LOG_FEED_SINCE,
        private=True,
    )
