"""Comments: posting, replying, guest comments, editing, deleting, approving.

Every function takes the actor explicitly, flushes, and raises a DomainError
on refusal; the caller commits. Order paths and counters are changed in SQL
(`n = n + 1`) inside the caller's transaction, so concurrent posts never
clash and the counts stay exact.
"""

import functools
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models.thread import (
    COMMENT_MAX,
    EDIT_WINDOW,
    GUEST_NAME_MAX,
    MAX_STORED_DEPTH,
    PATH_SEGMENT,
    Article,
    Comment,
    CommentRevision,
    CommentStatus,
    Thread,
    ThreadState,
)
from ..models.user import User
from ..permissions import suspension_message
from ..services.accounts import has_control_chars
from ..timeutil import utcnow

LOCKED_MESSAGE = "This thread is locked: it can be read, but no new comments can be posted."
HIDDEN_MESSAGE = "This thread is hidden by a moderator: no new comments can be posted."


def edit_window() -> timedelta:
    """How long an author may edit a comment (config COMMENT_EDIT_MINUTES)."""
    if has_app_context():
        minutes = current_app.config.get("COMMENT_EDIT_MINUTES")
        if minutes is not None:
            return timedelta(minutes=int(minutes))
    return EDIT_WINDOW


def check_body(body: str | None) -> str:
    """The comment text, trimmed, or a ValidationError naming the problem."""
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write something before posting: the comment is empty.", "body")
    if len(body) > COMMENT_MAX:
        raise ValidationError(
            f"A comment has at most {COMMENT_MAX:,} characters; this one has {len(body):,}.",
            "body",
        )
    if has_control_chars(body):
        raise ValidationError("The comment holds control characters; please remove them.", "body")
    return body


def check_guest_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Give a name to sign your comment with.", "name")
    if len(name) > GUEST_NAME_MAX:
        raise ValidationError(f"A name has at most {GUEST_NAME_MAX} characters.", "name")
    if has_control_chars(name):
        raise ValidationError("The name holds control characters; please remove them.", "name")
    return name


def _check_thread_open(thread: Thread) -> None:
    if thread.state == ThreadState.locked:
        raise InvalidState(LOCKED_MESSAGE)
    if thread.state == ThreadState.hidden:
        raise InvalidState(HIDDEN_MESSAGE)


def _check_can_write(user: User) -> None:
    if user.is_suspended():
        raise PermissionDenied(suspension_message(user))


def _check_parent(thread: Thread, parent: Comment | None) -> None:
    if parent is None:
        return
    if parent.thread_id != thread.id:
        raise ValidationError("The comment you are replying to is not in this thread.")
    if parent.status != CommentStatus.published or parent.moved_to_thread_id is not None:
        raise InvalidState("That comment cannot take replies (it is not published here).")
    if parent.depth + 1 > MAX_STORED_DEPTH:
        raise InvalidState("This conversation is too deep; please reply higher up.")


@functools.cache
def _root_update() -> sa.Update:
    comments = Comment.__table__
    return (
        sa.update(comments)
        .where(comments.c.id == sa.bindparam("comment_id"))
        .values(root_id=comments.c.id)
    )


@functools.cache
def _next_seq_update(model) -> sa.Update:
    """reply_seq + 1 on a thread (a top-level comment) or a parent comment (a reply)."""
    return (
        sa.update(model)
        .where(model.id == sa.bindparam("row_id"))
        .values(reply_seq=model.reply_seq + 1)
        .returning(model.reply_seq)
    )


def _next_seq(thread: Thread, parent: Comment | None) -> int:
    # UPDATE ... RETURNING takes the row lock (PostgreSQL) or runs inside the
    # BEGIN IMMEDIATE write lock (SQLite): two replies never share a number.
    stmt = _next_seq_update(Thread if parent is None else Comment)
    row_id = thread.id if parent is None else parent.id
    return db.session.execute(
        stmt, {"row_id": row_id}, execution_options={"synchronize_session": False}
    ).scalar_one()


def _ancestor_paths(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def _count_in_update(top_level: bool) -> sa.Update:
    values = {"comment_count": Thread.comment_count + 1}
    if top_level:
        values["top_level_count"] = Thread.top_level_count + 1
    return sa.update(Thread).where(Thread.id == sa.bindparam("thread_id")).values(**values)


def count_in(comment: Comment) -> None:
    """Add a newly public comment to the thread's and its ancestors' counters."""
    db.session.execute(
        _count_in_update(comment.depth == 0),
        {"thread_id": comment.thread_id},
        execution_options={"synchronize_session": False},
    )
    ancestors = _ancestor_paths(comment.path)
    if ancestors:
        db.session.execute(
            sa.update(Comment)
            .where(Comment.thread_id == comment.thread_id, Comment.path.in_(ancestors))
            .values(descendant_count=Comment.descendant_count + 1),
            execution_options={"synchronize_session": False},
        )
    # The counters changed in SQL: objects already loaded reload them on next access.
    ancestor_set = set(ancestors)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Thread) and obj.id == comment.thread_id:
            db.session.expire(obj, ["comment_count", "top_level_count"])
        elif (
            isinstance(obj, Comment)
            and obj.thread_id == comment.thread_id
            and obj.path in ancestor_set
        ):
            db.session.expire(obj, ["descendant_count"])


def insert_comment(
    thread: Thread,
    parent: Comment | None,
    *,
    body: str,
    author: User | None = None,
    author_name: str | None = None,
    is_verified: bool = True,
    status: CommentStatus = CommentStatus.published,
    created_at: datetime | None = None,
    needs_review: bool = False,
    source_key: str | None = None,
) -> Comment:
    """Place a comment in the thread's order and counters (no permission checks)."""
    seq = _next_seq(thread, parent)
    segment = f"{seq:0{PATH_SEGMENT}d}"
    comment = Comment(
        thread_id=thread.id,
        parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        path=f"{parent.path}.{segment}" if parent else segment,
        status=status,
        author_id=author.id if author else None,
        author_name=author_name,
        is_verified=is_verified,
        body=body,
        created_at=created_at or utcnow(),
        needs_review=needs_review,
        source_key=source_key,
    )
    db.session.add(comment)
    db.session.flush()
    if parent is None:
        # A top-level comment is the root of its own sub-thread (a plain UPDATE:
        # the unit of work's second flush cost more than the statement).
        db.session.execute(_root_update(), {"comment_id": comment.id})
        set_committed_value(comment, "root_id", comment.id)
        db.session.expire(comment, ["row_version"])
    if status != CommentStatus.pending:
        count_in(comment)
    return comment


@functools.cache
def _any_comment_select() -> sa.Select:
    return sa.select(sa.exists().where(Comment.author_id == sa.bindparam("author_id")))


def _is_first_comment(user: User) -> bool:
    return not db.session.scalar(_any_comment_select(), {"author_id": user.id})


def add_comment(thread: Thread, author: User, body: str, parent: Comment | None = None) -> Comment:
    """A member's comment or reply; a member's first comment ever is queued for review."""
    _check_can_write(author)
    _check_thread_open(thread)
    if not thread.is_visible_to(author):
        # The thread of a hidden proposal (app.visibility): there is nothing to post to.
        raise NotFound("There is no such thread.")
    _check_parent(thread, parent)
    body = check_body(body)
    # Published at once, but listed in the moderation queue until approved.
    needs_review = not author.is_moderator and _is_first_comment(author)
    comment = insert_comment(thread, parent, body=body, author=author, needs_review=needs_review)
    tell_about_comment(comment, thread, parent, author)
    return comment


def tell_about_comment(comment: Comment, thread: Thread, parent: Comment | None, author: User):
    """The parent's author hears of a reply, @mentioned members of the mention (if they can
    see it), the thread's followers of a new comment; the author follows the thread."""
    from ..models import Follow
    from ..urls import comment_url, path_for
    from .notifications import FollowTarget, audience, auto_follow, mentioned_members, notify_many

    proposal = thread.owner_proposal
    if proposal is not None:
        where = f"{proposal.label} “{proposal.title}”"
    else:
        where = f"“{thread.title or 'a thread'}”"
    fields = {
        "thread_id": thread.id,
        "comment_id": comment.id,
        "proposal_id": proposal.id if proposal else None,
        "round_id": proposal.round_id if proposal else None,
        "link": comment_url(comment.id, path_for),
    }
    told = {author.id}
    if parent is not None and parent.author_id and parent.author_id not in told:
        notify_many(
            [parent.author_id],
            "reply",
            f"{author.display_name} replied to your comment on {where}.",
            **fields,
        )
        told.add(parent.author_id)
    seen = [
        m.id
        for m in mentioned_members(comment.body)
        if m.id not in told
        and thread.is_visible_to(m)
        and (proposal is None or proposal.is_visible_to(m))
    ]
    notify_many(seen, "mention", f"{author.display_name} mentioned you on {where}.", **fields)
    told.update(seen)
    followers = audience(FollowTarget.thread, thread.id)
    notify_many(
        followers.where(Follow.user_id.not_in(told)),
        "thread_comment",
        f"{author.display_name} commented on {where}.",
        **fields,
    )
    auto_follow(author, FollowTarget.thread, thread.id)


def post_guest_comment(article: Article, name: str, body: str) -> Comment:
    """A visitor's comment on an article that allows them: held until approved."""
    if not article.allow_guest_comments:
        raise PermissionDenied("This article does not take guest comments: sign in to comment.")
    _check_thread_open(article.thread)
    name = check_guest_name(name)
    body = check_body(body)
    return insert_comment(
        article.thread,
        None,
        body=body,
        author_name=name,
        is_verified=False,
        status=CommentStatus.pending,
    )


def edit_comment(comment: Comment, actor: User, body: str, now: datetime | None = None) -> Comment:
    """The author changes their comment within the edit window; the old text is kept."""
    now = now or utcnow()
    window = edit_window()
    if not comment.is_author(actor):
        raise PermissionDenied("You can only edit your own comments.")
    _check_can_write(actor)
    if comment.status != CommentStatus.published:
        raise InvalidState("This comment is no longer published, so it cannot be edited.")
    _check_thread_open(comment.thread)
    if now > comment.edit_deadline(window):
        minutes = int(window.total_seconds() // 60)
        raise InvalidState(
            f"Comments can be edited for {minutes} minutes after posting; "
            "the time to edit this one has passed.",
            "body",
        )
    body = check_body(body)
    if body == comment.body:
        return comment
    db.session.add(
        CommentRevision(
            comment_id=comment.id,
            body=comment.body,
            created_at=comment.edited_at or comment.created_at,
            editor_id=comment.author_id,
        )
    )
    previous = comment.body
    comment.body = body
    comment.edited_at = now
    db.session.flush()
    _tell_newly_mentioned(comment, previous, actor)
    return comment


def _tell_newly_mentioned(comment: Comment, previous: str, author: User) -> None:
    """An edit that adds an @mention tells that member (once: not those named before)."""
    from .notifications import mentioned_members, mentioned_names, notify_many

    before = {name.lower() for name in mentioned_names(previous)}
    thread = comment.thread
    proposal = thread.owner_proposal
    new = [
        m.id
        for m in mentioned_members(comment.body)
        if m.username.lower() not in before
        and m.id != author.id
        and thread.is_visible_to(m)
        and (proposal is None or proposal.is_visible_to(m))
    ]
    if new:
        from ..urls import comment_url, path_for

        notify_many(
            new,
            "mention",
            f"{author.display_name} mentioned you in a comment on “{thread.title or 'a thread'}”.",
            thread_id=thread.id,
            comment_id=comment.id,
            link=comment_url(comment.id, path_for),
        )


def delete_own_comment(comment: Comment, actor: User) -> Comment:
    """The author deletes their comment: a placeholder stays and replies are kept."""
    if not comment.is_author(actor):
        raise PermissionDenied("You can only delete your own comments.")
    _check_can_write(actor)
    if comment.status != CommentStatus.published:
        raise InvalidState("This comment is not published, so there is nothing to delete.")
    comment.status = CommentStatus.deleted
    db.session.flush()
    return comment


def approve_comment(comment: Comment, actor: User, reason: str = "Approved.") -> Comment:
    """A moderator publishes a pending comment or clears a first post's review mark.

    One implementation, in the moderation services, so that every approval
    is checked the same way and written to the moderation log.
    """
    from .moderation import approve_comment as approve_and_log

    approve_and_log(comment, actor, reason)
    return comment


def get_comment_or_404(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("There is no such comment.")
    return comment
