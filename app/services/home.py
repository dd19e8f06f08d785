"""What the home page shows: open rounds, recent articles, recent activity.

Its statements take no values from the request, so each is built once
(`functools.cache`): building an ORM statement costs more than running it.
Each has a light twin (`light=True`) that reads only the ids and row
versions of the same rows: `versions()` is the key the page's body is
kept under (app/main/routes.py), so the page is rendered, and its rows
read whole, only when one of them changed.
"""

import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..models import (
    ARTICLE_ORDER,
    Article,
    Comment,
    CommentStatus,
    Proposal,
    ProposalState,
    Round,
    RoundState,
    Thread,
    ThreadState,
    User,
)
from .proposals import state_counts

ROUNDS_SHOWN = 5
ARTICLES_SHOWN = 5
ACTIVITY_SHOWN = 12


@dataclass
class Activity:
    at: datetime
    kind: str  # "proposal", "withdrawal" or "comment"
    who: str
    title: str
    proposal: Proposal | None = None
    comment: Comment | None = None
    article: Article | None = None


# What the page shows of each row: the rest (bodies above all) stays unread.
_PROPOSAL_SHOWN = (
    Proposal.number,
    Proposal.title,
    Proposal.state,
    Proposal.created_at,
    Proposal.withdrawn_at,
    Proposal.updated_at,
    Proposal.author_id,
)


@functools.cache
def _open_rounds_select(light: bool = False) -> sa.Select:
    # A round's version moves with any change to its proposals (the counts).
    return (
        sa.select(*((Round.id, Round.row_version) if light else (Round,)))
        .where(Round.state == _fixed(RoundState.open, Round.state))
        .order_by(Round.created_at.desc())
        .limit(_fixed(ROUNDS_SHOWN, sa.Integer()))
    )


def open_rounds() -> tuple[list[Round], dict[int, dict[str, int]]]:
    rounds = list(db.session.scalars(_open_rounds_select()))
    return rounds, state_counts([r.id for r in rounds])


@functools.cache
def _recent_articles_select(light: bool = False) -> sa.Select:
    order = ARTICLE_ORDER
    if light:  # the thread's version moves with its comment count
        return (
            sa.select(Article.id, Article.row_version, Thread.row_version)
            .join(Thread, Thread.id == Article.thread_id)
            .order_by(*order)
            .limit(_fixed(ARTICLES_SHOWN, sa.Integer()))
        )
    return (
        sa.select(Article)
        .options(
            so.load_only(
                Article.slug, Article.title, Article.source, Article.published_at, Article.thread_id
            ),
            so.joinedload(Article.thread).load_only(Thread.comment_count),
        )
        .order_by(*order)
        .limit(_fixed(ARTICLES_SHOWN, sa.Integer()))
    )


def recent_articles() -> list[Article]:
    return list(db.session.scalars(_recent_articles_select()))


@functools.cache
def _recent_proposals_select(light: bool = False) -> sa.Select:
    # A proposal's version moves with its author's new name too (triggers).
    stmt = sa.select(*((Proposal.id, Proposal.row_version) if light else (Proposal,)))
    if not light:
        stmt = stmt.options(
            so.load_only(*_PROPOSAL_SHOWN),
            so.joinedload(Proposal.author).load_only(User.display_name),
        )
    return (
        stmt.where(Proposal.is_hidden.is_(False))
        .order_by(Proposal.updated_at.desc())
        .limit(_fixed(ACTIVITY_SHOWN, sa.Integer()))
    )


@functools.cache
def _recent_comments_select(light: bool = False) -> sa.Select:
    owner_article = so.aliased(Article)
    owner_proposal = so.aliased(Proposal)
    if light:
        # The thread's version moves with its commenters' new names; the
        # owners' with their titles.
        stmt = sa.select(
            Comment.id,
            Comment.row_version,
            Thread.row_version,
            owner_article.row_version,
            owner_proposal.row_version,
        )
    else:
        stmt = sa.select(Comment, owner_article, owner_proposal).options(
            so.load_only(
                Comment.created_at, Comment.author_id, Comment.author_name, Comment.is_verified
            ),
            so.load_only(owner_article.title),
            so.load_only(owner_proposal.number, owner_proposal.title),
            so.joinedload(Comment.author).load_only(User.display_name),
        )
    return (
        stmt.join(Thread, Thread.id == Comment.thread_id)
        .outerjoin(owner_article, owner_article.thread_id == Thread.id)
        .outerjoin(owner_proposal, owner_proposal.thread_id == Thread.id)
        .where(
            Comment.status == _fixed(CommentStatus.published, Comment.status),
            _not_in_hidden_thread(),
            sa.or_(owner_proposal.id.is_(None), owner_proposal.is_hidden.is_(False)),
        )
        .order_by(Comment.created_at.desc())
        .limit(_fixed(ACTIVITY_SHOWN, sa.Integer()))
    )


def _not_in_hidden_thread() -> sa.ColumnElement[bool]:
    """SQL: the comment's thread is not hidden, asked of that one thread.

    Not a condition on the joined thread: with one, SQLite (once ANALYZE has
    run) first reads every thread into a Bloom filter, on every run, because
    it expects to join half the comments; the LIMIT stops it after a dozen.
    Measured on the scale set: 1.1 ms a run over 10,329 threads, 0.03 ms
    this way, and the home page 2.6x slower than without the scale set.
    """
    hidden = so.aliased(Thread)
    return ~sa.exists().where(
        hidden.id == Comment.thread_id, hidden.state == _fixed(ThreadState.hidden, hidden.state)
    )


def _fixed(value, type_) -> sa.BindParameter:
    """A constant of a statement built once, rendered into its SQL text.

    PostgreSQL plans a prepared statement with bound values anew on every run
    (a "custom plan") as long as it guesses that this beats one plan for all
    values; with the constants in the text there is nothing to guess, and it
    plans once. Measured on the scale set: the home page's statement, with
    its limits and states bound, planned on each run (0 generic plans of 16;
    1.2 ms a run), against 0.4 ms with the one plan.
    """
    return sa.bindparam(None, value, type_=getattr(type_, "type", type_), literal_execute=True)


_VERSION_PARTS = (
    _open_rounds_select,
    _recent_articles_select,
    _recent_proposals_select,
    _recent_comments_select,
)
_VERSION_WIDTH = 5  # the widest light select: a comment and its thread's and owners' versions


@functools.cache
def _versions_select() -> sa.CompoundSelect:
    """The light selects as one statement (one round trip): each part's rows,
    tagged with the part's number, their columns padded to the same width."""
    parts = []
    for number, make in enumerate(_VERSION_PARTS):
        rows = make(light=True).subquery()
        columns = [*rows.c, *[sa.null()] * (_VERSION_WIDTH - len(rows.c))]
        parts.append(
            sa.select(
                sa.literal_column(str(number), sa.Integer).label("part"),
                *(sa.cast(c, sa.Integer).label(f"v{i}") for i, c in enumerate(columns)),
            )
        )
    return sa.union_all(*parts)


def versions() -> tuple:
    """The ids and row versions of every row the page shows, in one statement."""
    found: list[list[tuple]] = [[] for _ in _VERSION_PARTS]
    for part, *values in db.session.execute(_versions_select()):
        found[part].append(tuple(values))
    # Sorted: a key, whatever order the database gives a UNION's rows in.
    return tuple(tuple(sorted(rows)) for rows in found)


def recent_activity() -> list[Activity]:
    """The latest proposals, withdrawals and public comments, newest first."""
    proposals = db.session.scalars(_recent_proposals_select()).all()
    activity = []
    for proposal in proposals:
        if proposal.state == ProposalState.withdrawn and proposal.withdrawn_at:
            activity.append(
                Activity(
                    proposal.withdrawn_at,
                    "withdrawal",
                    proposal.author.display_name,
                    proposal.title,
                    proposal=proposal,
                )
            )
        activity.append(
            Activity(
                proposal.created_at,
                "proposal",
                proposal.author.display_name,
                proposal.title,
                proposal=proposal,
            )
        )
    rows = db.session.execute(_recent_comments_select()).all()
    for comment, article, proposal in rows:
        who = comment.author.display_name if comment.author else (comment.author_name or "Guest")
        title = article.title if article else (proposal.title if proposal else "a thread")
        activity.append(
            Activity(
                comment.created_at,
                "comment",
                who,
                title,
                proposal=proposal,
                comment=comment,
                article=article,
            )
        )
    activity.sort(key=lambda a: a.at, reverse=True)
    return activity[:ACTIVITY_SHOWN]
