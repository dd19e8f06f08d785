"""Reading threads for display: pages, folded sub-threads, permalinks, owners.

A page is a slice of top-level comments (pinned ones first, then in order)
with the first replies of each; a sub-thread with more replies than that
ends in an "N more replies" entry that loads the rest in batches. Whatever
the size of the thread, a page costs the same few queries: one COUNT of the
top-level comments, one for the page's top-level comments and one for their
first replies (a window function picks the first replies of every
sub-thread at once, and says how many there are in all).

Entries are a flat list in reading order, each with its depth: the
template indents them (to MAX_DEPTH, deeper ones stay at that indent and
say whom they reply to), so a batch of replies can be appended anywhere.
"""

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import NotFound
from ..extensions import db
from ..models.proposal import Proposal
from ..models.thread import MAX_DEPTH, Article, Comment, CommentStatus, Thread
from ..models.user import User
from ..names import FORMER_MEMBER
from ..timeutil import utcnow
from ..urls import article_url, proposal_url, thread_url
from .comments import edit_window

# Replies shown under each top-level comment before folding.
REPLIES_SHOWN = 10
# Replies loaded by one "N more replies".
REPLIES_BATCH = 50
# Sub-threads whose first replies one query reads (SQLite allows 500 arms).
UNION_ARMS = 200


def _config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)


def per_page() -> int:
    return _config_int("COMMENTS_PER_PAGE", 20)


def replies_shown() -> int:
    """Replies under each top-level comment before "N more replies" (0: all folded)."""
    value = current_app.config.get("COMMENT_REPLIES_SHOWN")
    return REPLIES_SHOWN if value in (None, "") else max(0, int(value))


def replies_batch() -> int:
    return _config_int("COMMENT_REPLIES_BATCH", REPLIES_BATCH)


def _is_moderator(viewer) -> bool:
    return bool(
        viewer is not None and getattr(viewer, "is_authenticated", False) and viewer.is_moderator
    )


def visible_clause(viewer, own_pending_ids=()):
    """SQL condition: the comments `viewer` may see (pending ones: moderators, own)."""
    return _visible_rule(_is_moderator(viewer), list(own_pending_ids) or None)


def _visible_rule(moderator: bool, own_ids):
    """The rule of `visible_clause`; `own_ids` a list of ids or a bound parameter."""
    if moderator:
        return sa.true()
    cond = Comment.status != CommentStatus.pending
    if own_ids is not None:
        cond = sa.or_(cond, Comment.id.in_(own_ids))
    return cond


@dataclass
class Entry:
    """One line of a rendered thread: a comment, or a fold ("N more replies")."""

    comment: Comment | None = None
    depth: int = 0
    # Shown when the parent is not just above (too deep, or not on this page).
    replying_to_id: int | None = None
    replying_to_name: str | None = None
    own_pending: bool = False
    # For a fold: whose replies, how many are left, where the next batch starts.
    fold_root_id: int | None = None
    remaining: int = 0
    start: int = 0

    @property
    def is_fold(self) -> bool:
        return self.comment is None

    @property
    def indent(self) -> int:
        return min(self.depth, MAX_DEPTH)


@dataclass
class ThreadView:
    """What the thread partial renders: one page of a thread for one viewer."""

    thread: Thread
    # The lines, read when first asked for (`entries`) through `load`: a
    # page whose lines come whole from the fragment cache never reads them.
    loaded: list[Entry] | None = None
    load: Callable[[], list[Entry]] | None = field(default=None, repr=False, compare=False)
    # What picks a page's lines besides the thread's row version and the
    # viewer (app/articles/fragments.py); None for a batch of replies.
    page_key: tuple | None = None
    page: int = 1
    pages: int = 1
    top_level_total: int = 0
    own_pending_ids: frozenset = frozenset()
    is_moderator: bool = False
    edit_window: timedelta = field(default_factory=edit_window)
    now: datetime = field(default_factory=utcnow)
    # Set by the caller when the owner takes guest comments (an article).
    guest_article: Article | None = None
    # Replies pages: the top-level comment whose replies these are.
    root: Comment | None = None
    previous_start: int | None = None

    @property
    def entries(self) -> list[Entry]:
        if self.loaded is None:
            self.loaded = self.load() if self.load is not None else []
            # The comments here belong to `thread`: tell them, so that their
            # predicates (can_reply asks the thread) need no lookup each.
            for entry in self.loaded:
                if entry.comment is not None and entry.comment.thread_id == self.thread.id:
                    set_committed_value(entry.comment, "thread", self.thread)
        return self.loaded

    @property
    def comment_count(self) -> int:
        return self.thread.comment_count

    @property
    def comments(self) -> list[Comment]:
        return [e.comment for e in self.entries if e.comment is not None]

    def author_of(self, comment: Comment) -> str | None:
        """The name shown for `comment` on this page and in its JSON (shown_author)."""
        return shown_author(comment, self.is_moderator)

    def username_of(self, comment: Comment) -> str | None:
        """The @username shown beside the author's name (members only, not deleted)."""
        if self.author_of(comment) is None or comment.author is None:
            return None
        return None if comment.author.deleted_at is not None else comment.author.username

    def as_json(self, comment_url=None) -> dict:
        """The page as plain data (JSON view of a thread page): what the HTML shows.

        The thread and each comment go through the API's serializers (app.serializers).
        """
        from ..serializers import CommentSchema, ThreadSchema

        viewer = _viewer_stub(self.is_moderator)
        items = []
        for entry in self.entries:
            if entry.is_fold:
                items.append(
                    {
                        "more_replies": entry.remaining,
                        "under": entry.fold_root_id,
                        "start": entry.start,
                    }
                )
                continue
            item = CommentSchema(viewer=viewer).dump(entry.comment)
            item["replying_to"] = (
                {"id": entry.replying_to_id, "name": entry.replying_to_name}
                if entry.replying_to_id
                else None
            )
            if comment_url:
                item["url"] = comment_url(entry.comment)
            items.append(item)
        return {
            **ThreadSchema(viewer=viewer).dump(self.thread),
            "page": self.page,
            "pages": self.pages,
            "top_level_total": self.top_level_total,
            "comments": items,
        }


def shown_author(comment: Comment, is_moderator: bool) -> str | None:
    """The author's name as a thread shows it; None ("Deleted comment") for a comment
    its author deleted, except to moderators. The page and its JSON both use this."""
    if comment.status == CommentStatus.deleted and not is_moderator:
        return None
    if comment.author is not None and comment.author.deleted_at is not None:
        return FORMER_MEMBER
    return comment.display_name


class _viewer_stub:
    # shows_text_to() needs only "signed in and moderator"; JSON has no user object.
    def __init__(self, moderator: bool):
        self.is_authenticated = moderator
        self.is_moderator = moderator


def _top_level_order():
    return (Comment.pinned.desc(), Comment.path)


# What a thread's lines need of each comment's author: their name, and what
# the predicates ask (role, suspension). The rest of the row stays unread.
_ENTRY_LOADING = (
    so.joinedload(Comment.author).load_only(
        User.username, User.display_name, User.role, User.suspended_until, User.deleted_at
    ),
)


def _replies_select(reply_filter, visible, moderator: bool) -> sa.Select:
    """Replies with the name of the comment each replies to, in path order."""
    parent = so.aliased(Comment)
    parent_user = so.aliased(User)
    parent_name = sa.func.coalesce(parent_user.display_name, parent.author_name)
    if not moderator:
        # The same rule as shown_author(): a deleted comment's author is not named.
        parent_name = sa.case((parent.status == CommentStatus.deleted, None), else_=parent_name)
    return (
        sa.select(Comment, parent_name)
        .where(reply_filter, Comment.depth > 0, visible)
        .outerjoin(parent, parent.id == Comment.parent_id)
        .outerjoin(parent_user, parent_user.id == parent.author_id)
        .options(*_ENTRY_LOADING)
        .order_by(Comment.path)
    )


def _reply_rows(reply_filter, viewer, own_pending_ids, *, offset=0, limit=None):
    """(reply, name of the comment it replies to) rows, in path order."""
    stmt = _replies_select(
        reply_filter, visible_clause(viewer, own_pending_ids), _is_moderator(viewer)
    )
    return db.session.execute(stmt.offset(offset).limit(limit)).unique().all()


@functools.lru_cache(maxsize=64)
def _first_replies_select(arms: int, visible_key: str) -> sa.Select:
    """The first replies (`:limit` each) under `arms` roots bound as :root_0, :root_1 ...

    One small index range scan per root, in one statement; built once per
    number of roots (statement building costs more than running it).
    """
    visible = sa.true() if visible_key == "all" else Comment.status != CommentStatus.pending
    limit = sa.bindparam("limit", type_=sa.Integer)
    selects = [
        sa.select(
            sa.select(Comment.id)
            .where(Comment.root_id == sa.bindparam(f"root_{i}"), Comment.depth > 0, visible)
            .order_by(Comment.path)
            .limit(limit)
            .subquery()
            .c.id
        )
        for i in range(arms)
    ]
    ids = sa.union_all(*selects) if arms > 1 else selects[0]
    return _replies_select(Comment.id.in_(ids), visible, visible_key == "all")


def _entry(comment: Comment, parent_name, shown_ids: set, own_pending_ids) -> Entry:
    entry = Entry(
        comment=comment,
        depth=comment.depth,
        own_pending=comment.status == CommentStatus.pending and comment.id in own_pending_ids,
    )
    if comment.parent_id is not None and (
        comment.depth > MAX_DEPTH or comment.parent_id not in shown_ids
    ):
        entry.replying_to_id = comment.parent_id
        entry.replying_to_name = parent_name or "a comment"
    shown_ids.add(comment.id)
    return entry


def _sees_pending(viewer, own_pending_ids) -> bool:
    return _is_moderator(viewer) or bool(own_pending_ids)


def _pending_visible(viewer, own_pending_ids):
    """SQL condition: the pending comments `viewer` sees (the counters leave them out)."""
    cond = Comment.status == CommentStatus.pending
    if not _is_moderator(viewer):
        cond = sa.and_(cond, Comment.id.in_(list(own_pending_ids)))
    return cond


def top_level_total(thread: Thread, viewer, own_pending_ids=()) -> int:
    """Top-level comments `viewer` sees: the thread's counter, plus visible pending ones.

    The counter (kept in SQL by count_in) counts every top-level comment but
    the pending ones, so most viewers need no COUNT over a big thread.
    """
    total = thread.top_level_count
    if _sees_pending(viewer, own_pending_ids):
        total += db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Comment)
            .where(
                Comment.thread_id == thread.id,
                Comment.depth == 0,
                _pending_visible(viewer, own_pending_ids),
            )
        )
    return total


def _first_replies(roots: list[Comment], viewer, own_pending_ids, limit: int):
    """The first `limit` replies under each root, in one query of small index range scans.

    Returns the rows of _reply_rows and each root's visible reply total (its
    descendant_count, plus the pending replies this viewer sees).
    """
    if limit <= 0:  # every sub-thread folded: only the totals
        rows = []
    elif own_pending_ids and not _is_moderator(viewer):
        # A guest who sees their own pending replies: built for them (rare).
        visible = visible_clause(viewer, own_pending_ids)
        arms = [
            sa.select(
                sa.select(Comment.id)
                .where(Comment.root_id == root.id, Comment.depth > 0, visible)
                .order_by(Comment.path)
                .limit(limit)
                .subquery()
                .c.id
            )
            for root in roots
        ]
        rows = []
        for start in range(0, len(arms), UNION_ARMS):
            chunk = arms[start : start + UNION_ARMS]
            ids = sa.union_all(*chunk) if len(chunk) > 1 else chunk[0]
            rows += _reply_rows(Comment.id.in_(ids), viewer, own_pending_ids)
    else:
        visible_key = "all" if _is_moderator(viewer) else "public"
        rows = []
        # SQLite takes at most 500 arms in one compound SELECT: a page of more
        # top-level comments than UNION_ARMS (COMMENTS_PER_PAGE) reads in chunks.
        for start in range(0, len(roots), UNION_ARMS):
            chunk = roots[start : start + UNION_ARMS]
            params = {f"root_{i}": root.id for i, root in enumerate(chunk)}
            stmt = _first_replies_select(len(chunk), visible_key)
            rows += db.session.execute(stmt, {**params, "limit": limit}).unique().all()
    totals = {root.id: root.descendant_count for root in roots}
    if _sees_pending(viewer, own_pending_ids):
        pending = db.session.execute(
            sa.select(Comment.root_id, sa.func.count())
            .where(
                Comment.thread_id == roots[0].thread_id,
                Comment.root_id.in_(list(totals)),
                Comment.depth > 0,
                _pending_visible(viewer, own_pending_ids),
            )
            .group_by(Comment.root_id)
        )
        for root_id, n in pending:
            totals[root_id] += n
    return rows, totals


def thread_view(thread: Thread, viewer, page: int = 1, own_pending_ids=()) -> ThreadView:
    """One page of `thread` for `viewer`, in a fixed number of queries.

    The page's numbers come from the thread's counters; its lines are read
    when first used (`ThreadView.entries`).
    """
    own_pending_ids = frozenset(own_pending_ids or ())
    size = per_page()
    total = top_level_total(thread, viewer, own_pending_ids)
    pages = max(1, math.ceil(total / size))
    page = min(max(1, page), pages)
    shown = replies_shown()
    return ThreadView(
        thread=thread,
        load=functools.partial(_page_entries, thread, viewer, page, size, shown, own_pending_ids),
        page_key=("page", page, size, shown),
        page=page,
        pages=pages,
        top_level_total=total,
        own_pending_ids=own_pending_ids,
        is_moderator=_is_moderator(viewer),
    )


def _page_entries(
    thread: Thread, viewer, page: int, size: int, shown: int, own_pending_ids: frozenset
) -> list[Entry]:
    """The lines of a page: its top-level comments, each with its first replies."""
    roots = db.session.scalars(
        sa.select(Comment)
        .where(
            Comment.thread_id == thread.id,
            Comment.depth == 0,
            visible_clause(viewer, own_pending_ids),
        )
        .options(*_ENTRY_LOADING)
        .order_by(*_top_level_order())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    by_root: dict[int, list] = {root.id: [] for root in roots}
    totals: dict[int, int] = {}
    if roots:
        rows, totals = _first_replies(roots, viewer, own_pending_ids, shown)
        for reply, parent_name in rows:
            by_root[reply.root_id].append((reply, parent_name))
    entries: list[Entry] = []
    shown_ids: set[int] = set()
    for root in roots:
        entries.append(_entry(root, None, shown_ids, own_pending_ids))
        replies = by_root[root.id]
        for reply, parent_name in replies:
            entries.append(_entry(reply, parent_name, shown_ids, own_pending_ids))
        remaining = totals.get(root.id, 0) - len(replies)
        if remaining > 0:
            entries.append(
                Entry(fold_root_id=root.id, remaining=remaining, start=len(replies), depth=1)
            )
    return entries


def replies_view(root: Comment, viewer, start: int = 0, own_pending_ids=()) -> ThreadView:
    """A batch of the replies under top-level comment `root`, from `start` on."""
    own_pending_ids = frozenset(own_pending_ids or ())
    batch = replies_batch()
    start = max(0, start)
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Comment)
        .where(
            Comment.root_id == root.id,
            Comment.depth > 0,
            visible_clause(viewer, own_pending_ids),
        )
    )
    rows = _reply_rows(
        Comment.root_id == root.id, viewer, own_pending_ids, offset=start, limit=batch
    )
    entries: list[Entry] = []
    # The batch continues a sub-thread shown elsewhere: only the root is "above" it.
    shown_ids: set[int] = {root.id}
    for reply, parent_name in rows:
        entries.append(_entry(reply, parent_name, shown_ids, own_pending_ids))
    remaining = total - start - len(rows)
    if remaining > 0:
        entries.append(
            Entry(fold_root_id=root.id, remaining=remaining, start=start + len(rows), depth=1)
        )
    return ThreadView(
        thread=root.thread,
        loaded=entries,
        own_pending_ids=own_pending_ids,
        is_moderator=_is_moderator(viewer),
        root=root,
        top_level_total=total,
        previous_start=max(0, start - batch) if start > 0 else None,
    )


@dataclass
class Location:
    """Where a comment shows: its thread page, or a batch of folded replies."""

    page: int
    root_id: int
    # Set when the comment is folded away: the replies batch that shows it.
    replies_start: int | None = None


@functools.cache
def _locate_selects(moderator: bool, with_own: bool, pinned: bool) -> tuple[sa.Select, sa.Select]:
    """What `locate_comment` counts, built once per shape and run with bound values:
    the top-level comments of :thread_id shown before the root (:root_path;
    pinned ones first), and the replies under :root_id before the comment
    (:path). Visible as `visible_clause` says, the viewer's own pending
    comments bound as :own_ids."""
    own_ids = sa.bindparam("own_ids", expanding=True) if with_own else None
    visible = _visible_rule(moderator, own_ids)
    root_path = sa.bindparam("root_path")
    if pinned:
        before = sa.and_(Comment.pinned.is_(True), Comment.path < root_path)
    else:
        before = sa.or_(
            Comment.pinned.is_(True), sa.and_(Comment.pinned.is_(False), Comment.path < root_path)
        )
    count = sa.select(sa.func.count()).select_from(Comment)
    roots_before = count.where(
        Comment.thread_id == sa.bindparam("thread_id"), Comment.depth == 0, visible, before
    )
    replies_before = count.where(
        Comment.root_id == sa.bindparam("root_id"),
        Comment.depth > 0,
        visible,
        Comment.path < sa.bindparam("path"),
    )
    return roots_before, replies_before


def locate_comment(comment: Comment, viewer, own_pending_ids=()) -> Location:
    """The page of its thread (or the folded batch) that shows `comment` to `viewer`."""
    if not comment.thread.is_visible_to(viewer) or not comment.is_visible_to(
        viewer, own_pending_ids
    ):
        raise NotFound("There is no such comment.")
    moderator = _is_moderator(viewer)
    with_own = bool(own_pending_ids) and not moderator
    root = comment if comment.depth == 0 else db.session.get(Comment, comment.root_id)
    roots_before, replies_before = _locate_selects(moderator, with_own, bool(root.pinned))
    params = {
        "thread_id": root.thread_id,
        "root_path": root.path,
        "root_id": root.id,
        "path": comment.path,
        **({"own_ids": list(own_pending_ids)} if with_own else {}),
    }
    before = db.session.scalar(roots_before, params)
    location = Location(page=before // per_page() + 1, root_id=root.id)
    if comment.depth > 0:
        rank = db.session.scalar(replies_before, params)
        shown = replies_shown()
        if rank >= shown:
            batch = replies_batch()
            location.replies_start = shown + ((rank - shown) // batch) * batch
    return location


@dataclass
class Owner:
    """What a thread belongs to: an article, a proposal, or nothing (a moved sub-thread)."""

    kind: str
    article: Article | None = None
    proposal: Proposal | None = None

    @property
    def title(self) -> str | None:
        if self.article is not None:
            return self.article.title
        if self.proposal is not None:
            return self.proposal.title
        return None

    def url(self, thread: Thread, page: int | None = None, anchor: str | None = None) -> str:
        page = page if page and page > 1 else None
        if self.article is not None:
            return article_url(self.article.slug, page=page, _anchor=anchor)
        if self.proposal is not None:
            return proposal_url(self.proposal.id, page=page, _anchor=anchor)
        return thread_url(thread.id, page=page, _anchor=anchor)


def thread_owner(thread: Thread) -> Owner:
    """The article or proposal whose thread this is (the thread's own relationships:
    read once, then remembered on the thread)."""
    if thread.owner_article is not None:
        return Owner("article", article=thread.owner_article)
    if thread.owner_proposal is not None:
        return Owner("proposal", proposal=thread.owner_proposal)
    return Owner("thread")
