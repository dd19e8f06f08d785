"""Articles, threads and their comments."""

import enum
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import RowVersioned, str_enum

# Nested display goes this deep, then continues flat with "replying to".
MAX_DEPTH = 8
COMMENT_MAX = 20_000
GUEST_NAME_MAX = 80
# Width of one segment of a comment's order path ("000001.000004...").
PATH_SEGMENT = 6
# Deepest reply stored: the order path must fit its column (7 characters a level).
MAX_STORED_DEPTH = 100
# How long an author may edit a comment (config COMMENT_EDIT_MINUTES overrides).
EDIT_WINDOW = timedelta(minutes=30)


def _member(user):
    """The user if signed in (Flask-Login's anonymous user and None give None)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def _is_moderator(user) -> bool:
    user = _member(user)
    return bool(user is not None and user.is_moderator)


class ThreadState(enum.StrEnum):
    open = "open"
    locked = "locked"
    hidden = "hidden"


class CommentStatus(enum.StrEnum):
    published = "published"
    pending = "pending"  # guest comments and held first posts, awaiting a moderator
    hidden = "hidden"  # hidden by a moderator (or by reports), shown as a placeholder
    deleted = "deleted"  # deleted by its author, shown as a placeholder


class Thread(RowVersioned, db.Model):
    """The comments of one article or one proposal."""

    __tablename__ = "threads"
    __table_args__ = (
        # The few hidden threads, for "not in a hidden thread" asked of many
        # rows (the home page's activity): without it PostgreSQL reads every
        # thread to find none.
        sa.Index(
            "ix_threads_hidden",
            "id",
            sqlite_where=sa.text("state = 'hidden'"),
            postgresql_where=sa.text("state = 'hidden'"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    state: so.Mapped[ThreadState] = so.mapped_column(
        str_enum(ThreadState), default=ThreadState.open, server_default=ThreadState.open.value
    )
    state_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # Kept in SQL (n = n + 1) in the transaction that adds the comment.
    comment_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    top_level_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    title: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # Last sequence handed to a top-level comment (n = n + 1 in SQL, so two
    # concurrent comments never get the same order path).
    reply_seq: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    # The proposal whose thread this is, if any (its hiding hides the thread).
    owner_proposal: so.Mapped["Proposal | None"] = so.relationship(  # noqa: F821
        primaryjoin="Proposal.thread_id == Thread.id",
        foreign_keys="Proposal.thread_id",
        uselist=False,
        viewonly=True,
    )
    # The article whose thread this is, if any. Both are loaded once per
    # session and remembered on the thread (`thread_owner`).
    owner_article: so.Mapped["Article | None"] = so.relationship(
        primaryjoin="Article.thread_id == Thread.id",
        foreign_keys="Article.thread_id",
        uselist=False,
        viewonly=True,
    )

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.state}>"

    @property
    def is_open(self) -> bool:
        return self.state == ThreadState.open

    def is_visible_to(self, user) -> bool:
        """A hidden thread, or the thread of a hidden proposal, shows to moderators only."""
        from ..visibility import can_see_thread

        return can_see_thread(user, self)

    @classmethod
    def visible_clause(cls, user):
        """SQL twin of is_visible_to."""
        return sa.true() if _is_moderator(user) else cls.state != ThreadState.hidden

    def can_comment(self, user) -> bool:
        """Signed in, not suspended, thread open and visible to them."""
        user = _member(user)
        return user is not None and user.can_write() and self.is_open and self.is_visible_to(user)


class Article(RowVersioned, db.Model):
    """A source article (imported from seeds/ or written by an admin)."""

    __tablename__ = "articles"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    source: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    author_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    submitted_by: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    published_at: so.Mapped[datetime | None] = so.mapped_column()
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    original_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    # The seed file it came from, so a second import changes nothing.
    origin_file: so.Mapped[str | None] = so.mapped_column(sa.String(300), unique=True)
    allow_guest_comments: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    thread_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("threads.id"), unique=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    thread: so.Mapped[Thread] = so.relationship()

    def can_guest_comment(self, user) -> bool:
        """A visitor (not signed in) may leave a guest comment here."""
        return _member(user) is None and self.allow_guest_comments and self.thread.is_open


# The order every list of articles shows (the home page's newest, /articles):
# newest published first, the undated last. `published_at IS NULL` first, so
# that both databases read the same order from one index (SQLite takes no
# NULLS LAST in an index): the first articles are the index's first entries,
# not a sort of them all.
ARTICLE_ORDER = (Article.published_at.is_(None), Article.published_at.desc(), Article.id.desc())
sa.Index("ix_articles_published", *ARTICLE_ORDER)


class Comment(RowVersioned, db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # Reading a whole thread in display order is one range scan.
        sa.UniqueConstraint("thread_id", "path", name="uq_comments_thread_id_path"),
        sa.Index("ix_comments_thread_status_created", "thread_id", "status", "created_at"),
        # A page of top-level comments, and the replies under them, in order.
        sa.Index("ix_comments_thread_depth_path", "thread_id", "depth", "path"),
        sa.Index("ix_comments_root_path", "root_id", "path"),
        # The latest public comments (home page activity), newest first.
        sa.Index("ix_comments_status_created", "status", "created_at"),
        # A member's comments, and their comments in one thread (what a thread's
        # page asks of a member viewer, for the lines' edit and delete links).
        sa.Index("ix_comments_author_thread", "author_id", "thread_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    thread_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("threads.id"), index=True)
    parent_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("comments.id"), index=True)
    # The top-level comment this one hangs under (itself for a top-level one):
    # pages are made of top-level comments with their replies.
    root_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("comments.id"), index=True)
    depth: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # Materialised order path: the parent's path plus this comment's
    # zero-padded sequence among its siblings.
    path: so.Mapped[str] = so.mapped_column(sa.String(1000))
    # Next sequence number for a reply to this comment (n = n + 1 in SQL).
    reply_seq: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    descendant_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    status: so.Mapped[CommentStatus] = so.mapped_column(
        str_enum(CommentStatus),
        default=CommentStatus.published,
        server_default=CommentStatus.published.value,
    )
    author_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    # Guests and imported commenters have a name but no account here.
    author_name: so.Mapped[str | None] = so.mapped_column(sa.String(GUEST_NAME_MAX))
    # False shows "(not verified)" beside author_name.
    is_verified: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    edited_at: so.Mapped[datetime | None] = so.mapped_column()
    # Moderation: why it is hidden, whether it is pinned, where it went.
    hidden_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    hidden_at: so.Mapped[datetime | None] = so.mapped_column()
    hidden_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    # A new member's first post: published, but listed in the moderation
    # queue until a moderator approves it.
    needs_review: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    pinned: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    moved_to_thread_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("threads.id"))
    # Identity in a seed document, so a second import changes nothing.
    source_key: so.Mapped[str | None] = so.mapped_column(sa.String(200), unique=True)

    thread: so.Mapped[Thread] = so.relationship(foreign_keys=[thread_id])
    parent: so.Mapped["Comment | None"] = so.relationship(
        remote_side=[id], foreign_keys=[parent_id]
    )
    author: so.Mapped["User | None"] = so.relationship(foreign_keys=[author_id])  # noqa: F821

    def __repr__(self) -> str:
        return f"<Comment {self.id} in thread {self.thread_id} at {self.path}>"

    @property
    def display_name(self) -> str:
        """The name shown: the member's display name, or the guest/imported name."""
        if self.author is not None:
            return self.author.display_name
        return self.author_name or "Anonymous"

    @property
    def is_placeholder(self) -> bool:
        return self.status in (CommentStatus.hidden, CommentStatus.deleted)

    def is_visible_to(self, user, own_pending_ids=()) -> bool:
        """Pending comments show to moderators and to the guest who posted them."""
        if self.status != CommentStatus.pending:
            return True
        return _is_moderator(user) or self.id in own_pending_ids

    def shows_text_to(self, user) -> bool:
        """Hidden and deleted comments keep their text for moderators only."""
        return not self.is_placeholder or _is_moderator(user)

    @classmethod
    def text_visible_clause(cls, user):
        """SQL twin of is_visible_to and shows_text_to together: whose text `user` may read.

        (A visitor's own pending guest comment is left out: it is known only
        to their session, and a list of results is no place to show it.)
        """
        return sa.true() if _is_moderator(user) else cls.status == CommentStatus.published

    def is_author(self, user) -> bool:
        user = _member(user)
        return user is not None and self.author_id is not None and self.author_id == user.id

    def can_reply(self, user) -> bool:
        """Signed in, not suspended, thread open, comment published and not moved away."""
        return (
            self.thread.can_comment(user)
            and self.status == CommentStatus.published
            and self.moved_to_thread_id is None
            and self.depth < MAX_STORED_DEPTH
        )

    def edit_deadline(self, window: timedelta = EDIT_WINDOW) -> datetime:
        return self.created_at + window

    def can_edit(self, user, now: datetime | None = None, window: timedelta = EDIT_WINDOW) -> bool:
        """The author, not suspended, within the edit window, on an open thread."""
        return (
            self.is_author(user)
            and user.can_write(now)
            and self.status == CommentStatus.published
            and self.thread.is_open
            and (now or utcnow()) <= self.edit_deadline(window)
        )

    def can_delete(self, user) -> bool:
        """The author may delete a published comment (it leaves a placeholder)."""
        return self.is_author(user) and user.can_write() and self.status == CommentStatus.published


# A page of top-level comments in display order (pinned first, then by path)
# is a plain index range scan, however many top-level comments the thread has.
sa.Index(
    "ix_comments_thread_top_order",
    Comment.thread_id,
    Comment.depth,
    Comment.pinned.desc(),
    Comment.path,
)


class CommentRevision(db.Model):
    """An earlier text of an edited comment, kept for moderators."""

    __tablename__ = "comment_revisions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    comment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("comments.id"), index=True)
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    editor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
