"""Read-side helpers of the moderation pages: a fixed number of queries each."""

import functools
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import url_for

from ..extensions import db
from ..models import (
    Article,
    Comment,
    CommentStatus,
    ModerationAction,
    Proposal,
    Report,
    ReportStatus,
    Round,
    Thread,
)
from ..models import moderation as rules
from ..urls import (
    Build,
    article_url,
    comment_url,
    profile_url,
    proposal_url,
    round_url,
    thread_url,
)
from ..visibility import HIDDEN_THREAD, hidden_proposal_ids

QUEUE_LIMIT = 100


@dataclass
class ThreadContext:
    """Where a thread lives: an article, a proposal, or a thread of its own (moved)."""

    thread_id: int
    title: str
    url: str | None
    kind: str  # "article", "proposal" or "thread"


def thread_contexts(thread_ids, viewer, build: Build = url_for) -> dict[int, ThreadContext]:
    """Contexts for many threads in one statement, named as `viewer` may see them.

    Each thread comes with its owner, the article or proposal (the columns a
    name and a link need). A thread `viewer` may not see (hidden, or a hidden
    proposal's: `Thread.is_visible_to`, app.visibility) is named without its
    title and without a link. `build` makes the links (app.urls: `url_for`,
    or `absolute_url` for a feed).
    """
    ids = {tid for tid in thread_ids if tid is not None}
    if not ids:
        return {}
    threads = db.session.scalars(_contexts_select(), {"ids": list(ids)})
    return {thread.id: _context(thread, viewer, build) for thread in threads}


@functools.cache
def _contexts_select() -> sa.Select:
    # Built once: the statement and its loader options cost more to build
    # than to run (a search page's one thread: 0.4 of 0.6 ms).
    return (
        sa.select(Thread)
        .where(Thread.id.in_(sa.bindparam("ids", expanding=True)))
        .options(
            so.joinedload(Thread.owner_article).load_only(
                Article.slug, Article.title, Article.thread_id
            ),
            so.joinedload(Thread.owner_proposal).load_only(
                Proposal.number, Proposal.title, Proposal.thread_id, Proposal.is_hidden
            ),
        )
    )


def _context(thread: Thread, viewer, build: Build) -> ThreadContext:
    if not thread.is_visible_to(viewer):
        return ThreadContext(thread.id, HIDDEN_THREAD, None, "hidden")
    if thread.owner_article is not None:
        article = thread.owner_article
        return ThreadContext(thread.id, article.title, article_url(article.slug, build), "article")
    if thread.owner_proposal is not None:
        proposal = thread.owner_proposal
        return ThreadContext(
            thread.id,
            f"Proposal {proposal.number}: {proposal.title}",
            proposal_url(proposal.id, build),
            "proposal",
        )
    return ThreadContext(
        thread.id, thread.title or f"Thread {thread.id}", thread_url(thread.id, build), "thread"
    )


def _comment_options():
    return (
        so.selectinload(Comment.author),
        so.selectinload(Comment.thread),
        so.selectinload(Comment.parent).selectinload(Comment.author),
    )


@dataclass
class ReportedItem:
    """A reported comment or proposal with its open reports, oldest first."""

    kind: str  # "comment" or "proposal"
    target: object
    reports: list = field(default_factory=list)

    @property
    def first_reported(self):
        return self.reports[0].created_at


@dataclass
class Queue:
    reported: list[ReportedItem]
    pending: list[Comment]
    first_posts: list[Comment]
    counts: dict[str, int]
    contexts: dict[int, ThreadContext]

    @property
    def shown_reports(self) -> int:
        return sum(len(item.reports) for item in self.reported)


def moderation_queue(viewer, limit: int = QUEUE_LIMIT) -> Queue:
    """Open reports (grouped by target), pending guest comments and first posts, oldest first.

    Reports on `viewer`'s own content (written or co-authored) are left out:
    they go to the other moderators only (recusal), reporters' names included.
    """
    not_own = ~rules.reports_on_content_of(viewer)
    reports = db.session.scalars(
        sa.select(Report)
        .where(Report.status == ReportStatus.open, not_own)
        .order_by(Report.created_at, Report.id)
        .limit(limit)
        .options(
            so.selectinload(Report.reporter),
            so.selectinload(Report.comment).options(*_comment_options()),
            so.selectinload(Report.proposal).selectinload(Proposal.author),
            so.selectinload(Report.proposal).selectinload(Proposal.thread),
        )
    ).all()
    grouped: dict[tuple[str, int], ReportedItem] = {}
    for report in reports:
        key = (
            ("comment", report.comment_id)
            if report.comment_id
            else ("proposal", report.proposal_id)
        )
        item = grouped.get(key)
        if item is None:
            item = grouped[key] = ReportedItem(key[0], report.target)
        item.reports.append(report)

    pending = db.session.scalars(
        sa.select(Comment)
        .where(Comment.status == CommentStatus.pending)
        .order_by(Comment.created_at, Comment.id)
        .limit(limit)
        .options(*_comment_options())
    ).all()
    first_posts = db.session.scalars(
        sa.select(Comment)
        .where(Comment.needs_review.is_(True), Comment.status == CommentStatus.published)
        .order_by(Comment.created_at, Comment.id)
        .limit(limit)
        .options(*_comment_options())
    ).all()
    counts = dict(
        zip(
            ("reports", "pending", "first_posts"),
            db.session.execute(
                sa.select(
                    sa.select(sa.func.count())
                    .select_from(Report)
                    .where(Report.status == ReportStatus.open, not_own)
                    .scalar_subquery(),
                    sa.select(sa.func.count())
                    .select_from(Comment)
                    .where(Comment.status == CommentStatus.pending)
                    .scalar_subquery(),
                    sa.select(sa.func.count())
                    .select_from(Comment)
                    .where(
                        Comment.needs_review.is_(True),
                        Comment.status == CommentStatus.published,
                    )
                    .scalar_subquery(),
                )
            ).one(),
            strict=True,
        )
    )
    thread_ids = {c.thread_id for c in [*pending, *first_posts]}
    thread_ids |= {i.target.thread_id for i in grouped.values() if i.kind == "comment"}
    return Queue(
        reported=list(grouped.values()),
        pending=list(pending),
        first_posts=list(first_posts),
        counts=counts,
        contexts=thread_contexts(thread_ids, viewer),
    )


@dataclass
class LogLine:
    entry: ModerationAction
    target_label: str
    target_url: str | None


def describe_targets(entries, viewer, build: Build = url_for) -> list[LogLine]:
    """What each log entry acted on, with a link, in a fixed number of queries.

    Named as `viewer` may see it: a hidden proposal or a comment in a thread
    they may not see keeps its number but loses its title and link. `build`
    makes the links (app.urls: `url_for`, or `absolute_url` for a feed).
    """
    ids = {kind: set() for kind in ("comment", "proposal", "thread", "report", "round")}
    for entry in entries:
        if entry.target_type in ids:
            ids[entry.target_type].add(entry.target_id)
    reports = {}
    if ids["report"]:
        reports = {
            r.id: r
            for r in db.session.scalars(sa.select(Report).where(Report.id.in_(ids["report"])))
        }
        for r in reports.values():
            if r.comment_id:
                ids["comment"].add(r.comment_id)
            else:
                ids["proposal"].add(r.proposal_id)
    comment_threads = {}
    if ids["comment"]:
        comment_threads = dict(
            db.session.execute(
                sa.select(Comment.id, Comment.thread_id).where(Comment.id.in_(ids["comment"]))
            ).all()
        )
    proposals = {}
    if ids["proposal"]:
        proposals = {
            pid: (number, title)
            for pid, number, title in db.session.execute(
                sa.select(Proposal.id, Proposal.number, Proposal.title).where(
                    Proposal.id.in_(ids["proposal"])
                )
            )
        }
    contexts = thread_contexts({*comment_threads.values(), *ids["thread"]}, viewer, build)
    hidden_proposals = hidden_proposal_ids(viewer, ids["proposal"])
    rounds = {}
    if ids["round"]:
        rounds = {
            rid: (slug, title)
            for rid, slug, title in db.session.execute(
                sa.select(Round.id, Round.slug, Round.title).where(Round.id.in_(ids["round"]))
            )
        }

    def comment_label(comment_id):
        ctx = contexts.get(comment_threads.get(comment_id))
        where = f" on {ctx.title}" if ctx else ""
        if ctx is not None and ctx.kind == "hidden":
            return f"Comment {comment_id}{where}", None
        return f"Comment {comment_id}{where}", comment_url(comment_id, build)

    def proposal_label(proposal_id):
        number, title = proposals.get(proposal_id, (None, None))
        if proposal_id in hidden_proposals:
            return f"Proposal {number} (hidden)", None
        label = f"Proposal {number}: {title}" if number else f"Proposal {proposal_id}"
        return label, proposal_url(proposal_id, build)

    lines = []
    for entry in entries:
        kind, tid = entry.target_type, entry.target_id
        if kind == "comment":
            label, link = comment_label(tid)
        elif kind == "proposal":
            label, link = proposal_label(tid)
        elif kind == "thread":
            ctx = contexts.get(tid)
            label, link = (f"Thread of {ctx.title}", ctx.url) if ctx else (f"Thread {tid}", None)
        elif kind == "report":
            report = reports.get(tid)
            if report is None:
                label, link = f"Report {tid}", None
            elif report.comment_id:
                inner, link = comment_label(report.comment_id)
                label = f"Report on {inner[0].lower()}{inner[1:]}"
            else:
                inner, link = proposal_label(report.proposal_id)
                label = f"Report on {inner}"
        elif kind == "round" and tid in rounds:
            slug, title = rounds[tid]
            label, link = f"Round “{title}”", round_url(slug, build)
        elif kind == "user":
            user = entry.affected_user
            label = user.display_name if user else f"Member {tid}"
            link = profile_url(user.username, build) if user else None
        else:
            label, link = f"{kind} {tid}", None
        lines.append(LogLine(entry, label, link))
    return lines
