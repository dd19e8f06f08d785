"""Articles, threads and their comments."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import str_enum

# Nested display goes this deep, then continues flat with "replying to".
MAX_DEPTH = 8
COMMENT_MAX = 20_000
GUEST_NAME_MAX = 80
# Width of one segment of a comment's order path ("000001.000004...").
PATH_SEGMENT = 6


class ThreadState(enum.StrEnum):
    open = "open"
    locked = "locked"
    hidden = "hidden"


class CommentStatus(enum.StrEnum):
    published = "published"
    pending = "pending"  # guest comments and held first posts, awaiting a moderator
    hidden = "hidden"  # hidden by a moderator (or by reports), shown as a placeholder
    deleted = "deleted"  # deleted by its author, shown as a placeholder


class Thread(db.Model):
    """The comments of one article or one proposal."""

    __tablename__ = "threads"

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

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.state}>"


class Article(db.Model):
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


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # Reading a whole thread in display order is one range scan.
        sa.UniqueConstraint("thread_id", "path", name="uq_comments_thread_id_path"),
        sa.Index("ix_comments_thread_status_created", "thread_id", "status", "created_at"),
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
    author_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
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


class CommentRevision(db.Model):
    """An earlier text of an edited comment, kept for moderators."""

    __tablename__ = "comment_revisions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    comment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("comments.id"), index=True)
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    editor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
