"""Rules of the comment services, tested directly."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.errors import InvalidState, PermissionDenied, ValidationError
from app.models import Comment, CommentRevision, CommentStatus, Role, Thread, ThreadState
from app.models.thread import COMMENT_MAX, MAX_DEPTH
from app.services import comments
from app.timeutil import utcnow


def test_add_comment_places_replies_in_order_and_keeps_counts(db, make_article, make_user):
    thread = make_article().thread
    ann, bob = make_user(), make_user()
    first = comments.add_comment(thread, ann, "First")
    second = comments.add_comment(thread, bob, "Second")
    reply = comments.add_comment(thread, bob, "Reply", parent=first)
    reply2 = comments.add_comment(thread, ann, "Reply to reply", parent=reply)
    sibling = comments.add_comment(thread, ann, "Second reply", parent=first)
    db.session.commit()

    assert [first.path, second.path] == ["000001", "000002"]
    assert reply.path == "000001.000001"
    assert reply2.path == "000001.000001.000001"
    assert sibling.path == "000001.000002"
    assert (reply2.depth, reply2.root_id, reply2.parent_id) == (2, first.id, reply.id)
    db.session.refresh(thread)
    db.session.refresh(first)
    assert (thread.comment_count, thread.top_level_count) == (5, 2)
    assert first.descendant_count == 3
    ordered = db.session.scalars(
        sa.select(Comment.id).where(Comment.thread_id == thread.id).order_by(Comment.path)
    ).all()
    assert ordered == [first.id, reply.id, reply2.id, sibling.id, second.id]


def test_first_comment_of_a_member_needs_review_and_later_ones_do_not(db, make_article, make_user):
    thread = make_article().thread
    member = make_user()
    first = comments.add_comment(thread, member, "Hello")
    later = comments.add_comment(thread, member, "Again")
    moderator_first = comments.add_comment(thread, make_user(role=Role.moderator), "Mod here")
    assert first.status == CommentStatus.published and first.needs_review
    assert not later.needs_review
    assert not moderator_first.needs_review


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * (COMMENT_MAX + 1), f"at most {COMMENT_MAX:,}"),
        ("bad \x00 byte", "control characters"),
    ],
)
def test_add_comment_refuses_bad_text(db, make_article, make_user, body, message):
    with pytest.raises(ValidationError, match=message) as caught:
        comments.add_comment(make_article().thread, make_user(), body)
    assert caught.value.field == "body"


@pytest.mark.parametrize("state", [ThreadState.locked, ThreadState.hidden])
def test_add_comment_refuses_a_closed_thread(db, make_article, make_user, make_comment, state):
    thread = make_article().thread
    parent = make_comment(thread=thread)
    thread.state = state
    db.session.commit()
    with pytest.raises(InvalidState, match="no new comments"):
        comments.add_comment(thread, make_user(), "Hello")
    with pytest.raises(InvalidState):
        comments.add_comment(thread, make_user(), "Hello", parent=parent)
    db.session.rollback()
    assert db.session.get(Thread, thread.id).comment_count == 1


def test_suspended_member_cannot_comment_and_is_told_until_when(db, make_article, make_user):
    until = utcnow() + timedelta(days=3)
    member = make_user(suspended_until=until, suspension_reason="spamming")
    with pytest.raises(PermissionDenied, match="spamming") as caught:
        comments.add_comment(make_article().thread, member, "Hello")
    assert until.strftime("%d %b %Y") in caught.value.message


def test_reply_to_a_comment_of_another_thread_is_refused(db, make_article, make_user, make_comment):
    other = make_comment(thread=make_article().thread)
    with pytest.raises(ValidationError, match="not in this thread"):
        comments.add_comment(make_article().thread, make_user(), "Hi", parent=other)


@pytest.mark.parametrize(
    "status", [CommentStatus.pending, CommentStatus.hidden, CommentStatus.deleted]
)
def test_reply_to_an_unpublished_comment_is_refused(db, make_comment, make_user, status):
    parent = make_comment(status=status)
    with pytest.raises(InvalidState, match="cannot take replies"):
        comments.add_comment(parent.thread, make_user(), "Hi", parent=parent)


def test_guest_comment_waits_for_approval_then_counts(db, make_article, make_user):
    article = make_article()
    guest = comments.post_guest_comment(article, "  Matthew   Gordon ", "Former member here.")
    db.session.commit()
    assert guest.status == CommentStatus.pending
    assert (guest.author_name, guest.is_verified, guest.author_id) == (
        "Matthew Gordon",
        False,
        None,
    )
    assert db.session.get(Thread, article.thread_id).comment_count == 0

    comments.approve_comment(guest, make_user(role=Role.moderator))
    db.session.commit()
    assert guest.status == CommentStatus.published
    thread = db.session.get(Thread, article.thread_id)
    assert (thread.comment_count, thread.top_level_count) == (1, 1)


def test_guest_comment_refused_where_the_article_does_not_allow_it(db, make_article):
    article = make_article(allow_guest_comments=False)
    with pytest.raises(PermissionDenied, match="sign in"):
        comments.post_guest_comment(article, "Ann", "Hello")


@pytest.mark.parametrize(
    "name, message", [("", "Give a name"), ("x" * 81, "at most 80"), ("A\x07nn", "control")]
)
def test_guest_comment_needs_a_proper_name(db, make_article, name, message):
    with pytest.raises(ValidationError, match=message) as caught:
        comments.post_guest_comment(make_article(), name, "Hello")
    assert caught.value.field == "name"


def test_guest_comment_refused_on_a_locked_thread(db, make_article):
    article = make_article()
    article.thread.state = ThreadState.locked
    db.session.commit()
    with pytest.raises(InvalidState, match="locked"):
        comments.post_guest_comment(article, "Ann", "Hello")


def test_approve_comment_rules(db, make_article, make_user):
    article = make_article()
    moderator = make_user(role=Role.moderator)
    guest = comments.post_guest_comment(article, "Ann", "Hello")
    with pytest.raises(PermissionDenied):
        comments.approve_comment(guest, make_user())
    own = comments.add_comment(article.thread, moderator, "Mine")
    own.needs_review = True
    with pytest.raises(PermissionDenied, match="own"):
        comments.approve_comment(own, moderator)
    first = comments.add_comment(article.thread, make_user(), "First post")
    comments.approve_comment(first, moderator)
    assert not first.needs_review and first.status == CommentStatus.published
    with pytest.raises(InvalidState, match="not waiting for approval"):
        comments.approve_comment(first, moderator)


def test_edit_within_the_window_keeps_the_earlier_text(db, make_article, make_user):
    author = make_user()
    comment = comments.add_comment(make_article().thread, author, "Frist")
    db.session.commit()
    comments.edit_comment(comment, author, "First", now=comment.created_at + timedelta(minutes=5))
    comments.edit_comment(comment, author, "First!", now=comment.created_at + timedelta(minutes=6))
    db.session.commit()
    assert comment.body == "First!"
    assert comment.edited_at == comment.created_at + timedelta(minutes=6)
    revisions = db.session.scalars(
        sa.select(CommentRevision.body)
        .where(CommentRevision.comment_id == comment.id)
        .order_by(CommentRevision.id)
    ).all()
    assert revisions == ["Frist", "First"]


def test_edit_after_the_window_is_refused(app, db, make_article, make_user):
    author = make_user()
    comment = comments.add_comment(make_article().thread, author, "Text")
    late = comment.created_at + timedelta(minutes=31)
    with pytest.raises(InvalidState, match="30 minutes"):
        comments.edit_comment(comment, author, "Changed", now=late)
    app.config["COMMENT_EDIT_MINUTES"] = 60
    try:
        comments.edit_comment(comment, author, "Changed", now=late)
    finally:
        app.config["COMMENT_EDIT_MINUTES"] = 30
    assert comment.body == "Changed"
    assert not comment.can_edit(author, late + timedelta(minutes=30))
    assert comment.can_edit(author, comment.created_at + timedelta(minutes=29))


def test_edit_of_someone_elses_comment_is_refused(db, make_article, make_user):
    comment = comments.add_comment(make_article().thread, make_user(), "Text")
    other = make_user()
    with pytest.raises(PermissionDenied, match="your own"):
        comments.edit_comment(comment, other, "Mine now")
    assert not comment.can_edit(other)


def test_delete_own_comment_leaves_a_placeholder_and_keeps_replies(db, make_article, make_user):
    author, other = make_user(), make_user()
    thread = make_article().thread
    comment = comments.add_comment(thread, author, "Regret")
    reply = comments.add_comment(thread, other, "Reply", parent=comment)
    with pytest.raises(PermissionDenied):
        comments.delete_own_comment(comment, other)
    comments.delete_own_comment(comment, author)
    db.session.commit()
    assert comment.status == CommentStatus.deleted
    assert db.session.get(Comment, reply.id).parent_id == comment.id
    assert db.session.get(Thread, thread.id).comment_count == 2
    with pytest.raises(InvalidState):
        comments.delete_own_comment(comment, author)


def test_can_reply_follows_the_rules(db, make_article, make_user, make_comment):
    thread = make_article().thread
    comment = make_comment(thread=thread)
    member = make_user()
    assert comment.can_reply(member)
    assert not comment.can_reply(None)
    assert not comment.can_reply(make_user(suspended_until=utcnow() + timedelta(days=1)))
    thread.state = ThreadState.locked
    assert not comment.can_reply(member)


def test_deep_replies_keep_their_depth(db, make_comment):
    comment = make_comment()
    for _ in range(MAX_DEPTH + 3):
        comment = make_comment(parent=comment)
    assert comment.depth == MAX_DEPTH + 3
    assert comment.path.count(".") == MAX_DEPTH + 3


@pytest.mark.postgresql_only
def test_concurrent_replies_never_clash(app, db, make_article, make_user):
    """Real connections in threads reply to the same comment at once."""
    thread = make_article().thread
    parent = comments.add_comment(thread, make_user(), "Parent")
    members = [make_user() for _ in range(8)]
    db.session.commit()
    thread_id, parent_id = thread.id, parent.id
    member_ids = [m.id for m in members]
    errors: list[Exception] = []
    barrier = threading.Barrier(len(member_ids) * 2)

    def post(member_id, top_level):
        from app.extensions import db as _db
        from app.models import User

        with app.app_context():
            try:
                barrier.wait()
                t = _db.session.get(Thread, thread_id)
                p = None if top_level else _db.session.get(Comment, parent_id)
                comments.add_comment(t, _db.session.get(User, member_id), "Race", parent=p)
                _db.session.commit()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
            finally:
                _db.session.remove()

    workers = [
        threading.Thread(target=post, args=(mid, top)) for mid in member_ids for top in (0, 1)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    db.session.expire_all()
    paths = db.session.scalars(sa.select(Comment.path).where(Comment.thread_id == thread_id)).all()
    assert len(paths) == len(set(paths)) == 1 + 2 * len(member_ids)
    t = db.session.get(Thread, thread_id)
    assert (t.comment_count, t.top_level_count) == (17, 9)
    assert db.session.get(Comment, parent_id).descendant_count == 8


def test_locate_counts_what_each_viewer_sees_before_a_comment(
    app, db, make_comment, make_article, make_user
):
    """A comment's page: the top-level comments shown before its root (pinned
    ones first), as the viewer sees them (pending ones: moderators, and a
    guest's own), and a reply's batch of folded replies."""
    from app.services.threads import locate_comment

    names = ("COMMENTS_PER_PAGE", "COMMENT_REPLIES_SHOWN", "COMMENT_REPLIES_BATCH")
    saved = {name: app.config[name] for name in names}
    app.config.update(COMMENTS_PER_PAGE=2, COMMENT_REPLIES_SHOWN=1, COMMENT_REPLIES_BATCH=2)
    try:
        thread = make_article().thread
        tops = [make_comment(thread=thread, body=f"Top {i}") for i in range(5)]
        pending = make_comment(thread=thread, body="Held", status=CommentStatus.pending)
        last = make_comment(thread=thread, body="Last")
        replies = [make_comment(parent=tops[0], body=f"Reply {i}") for i in range(4)]
        db.session.commit()
        member, moderator = make_user(), make_user(role=Role.moderator)

        def page(comment, viewer, own=()):
            return locate_comment(comment, viewer, own).page

        # A member does not see the pending comment: "last" is the 6th shown.
        assert page(last, member) == 3
        # A moderator sees it, and so does the guest who wrote it.
        assert page(last, moderator) == 4
        assert page(last, None, own=(pending.id,)) == 4
        assert page(pending, None, own=(pending.id,)) == 3
        # Pinned first: a pinned comment leads page 1, the others move down one.
        tops[4].pinned = True
        db.session.commit()
        assert page(tops[4], member) == 1
        assert page(tops[1], member) == 2
        assert page(last, member) == 3
        # Replies past the first shown fold into batches of two.
        located = [locate_comment(r, member) for r in replies]
        assert [loc.page for loc in located] == [1, 1, 1, 1]  # tops[0] is second now
        assert [loc.replies_start for loc in located] == [None, 1, 1, 3]
    finally:
        app.config.update(saved)
