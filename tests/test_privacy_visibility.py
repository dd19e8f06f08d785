"""Issue #17 class 1: a hidden proposal is named nowhere a member looks (app.visibility).

Its title, text, thread and supporters stay out of every page and JSON a
member reads: its thread and reply pages, profiles, the "in favour of" link
of a withdrawn proposal, the moderation log, notifications, successor
choices; nobody posts to its thread. A moderator still sees all of it.
"""

import html

import pytest
import sqlalchemy as sa

from app.errors import NotFound
from app.models import Comment, Role
from app.services import comments as comment_service
from app.services import moderation as mod
from app.services import proposals as svc

SECRET = "Zebra secret title"
SECRET_BODY = "Text of the hidden proposal"
THREAD_WORDS = "Words in its thread"
REPLY_WORDS = "A reply in its thread"


@pytest.fixture
def world(db, make_user, make_round, make_proposal, cosign_as, make_comment):
    moderator = make_user("moe", role=Role.moderator)
    author = make_user("arthur")
    commenter = make_user("cora")
    signer = make_user("sigrid")
    member = make_user("mia")
    round_ = make_round()
    hidden = make_proposal(round=round_, author=author, title=SECRET, body=SECRET_BODY)
    withdrawn = make_proposal(round=round_, author=author, title="Withdrawn one")
    other = make_proposal(round=round_, author=make_user("otto"), title="Other open one")
    cosign_as(hidden, signer)
    cosign_as(withdrawn, signer)
    comment = make_comment(thread=hidden.thread, author=commenter, body=THREAD_WORDS)
    reply = make_comment(thread=hidden.thread, parent=comment, author=author, body=REPLY_WORDS)
    svc.withdraw_proposal(withdrawn, author, "merged", "Joined up.", successor=hidden)
    db.session.commit()
    mod.hide_comment(comment, moderator, "Testing the log")
    mod.restore_comment(comment, moderator, "Testing the log")
    mod.hide_proposal(hidden, moderator, "Spam")
    db.session.commit()
    return type("World", (), dict(locals()))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def both(client, url):
    """The page and its JSON twin, as one text."""
    page = client.get(url)
    as_json = client.get(url, headers={"Accept": "application/json"})
    return page, as_json, text(page) + text(as_json)


def assert_unnamed(body: str, *also: str):
    for secret in (SECRET, SECRET_BODY, THREAD_WORDS, REPLY_WORDS, *also):
        assert secret not in body, secret


@pytest.mark.parametrize("who", ["visitor", "member", "author", "signer"])
def test_its_thread_and_reply_pages_are_gone(client, auth, world, who):
    if who != "visitor":
        auth.login(getattr(world, who if who != "signer" else "signer"))
    t, c, r = world.hidden.thread.id, world.comment.id, world.reply.id
    for url in (
        f"/threads/{t}",
        f"/comments/{c}",
        f"/comments/{r}",
        f"/comments/{c}/reply",
        f"/comments/{c}/replies",
        f"/moderation/report/comment/{c}",
    ):
        page, as_json, body = both(client, url)
        assert page.status_code in (302, 404), url
        if page.status_code == 302:
            assert "/login" in page.headers["Location"], url
        assert_unnamed(body)
    page, as_json, body = both(client, f"/proposals/{world.hidden.id}")
    assert page.status_code == 200
    assert_unnamed(body)
    # No supporters list in either (the signer's own name is in the page's menu).
    assert "data-supporter-list" not in page.get_data(as_text=True)
    assert "supporters" not in as_json.get_json()


@pytest.mark.parametrize("who", ["member", "author", "commenter"])
def test_nobody_posts_to_its_thread(client, auth, db, world, who):
    auth.login(getattr(world, who))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
    t, c = world.hidden.thread.id, world.comment.id
    assert client.post(f"/threads/{t}/comments", data={"body": "New"}).status_code == 404
    data = {"body": "New", "parent_id": str(c)}
    assert client.post(f"/threads/{t}/comments", data=data).status_code == 404
    assert client.post(f"/comments/{c}/reply", data={"body": "New"}).status_code == 404
    with pytest.raises(NotFound):
        comment_service.add_comment(world.hidden.thread, getattr(world, who), "Via the service")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == before


@pytest.mark.parametrize("who", ["visitor", "member", "author"])
def test_profiles_name_neither_it_nor_its_thread(client, auth, world, who):
    if who != "visitor":
        auth.login(getattr(world, who))
    for username in ("arthur", "cora"):
        page, as_json, body = both(client, f"/users/{username}")
        assert page.status_code == as_json.status_code == 200
        assert_unnamed(body)
    assert "Withdrawn one" in both(client, "/users/arthur")[2]


@pytest.mark.parametrize("who", ["visitor", "member", "signer"])
def test_in_favour_of_links_do_not_name_it(client, auth, world, who):
    if who != "visitor":
        auth.login(getattr(world, who))
    page, as_json, body = both(client, f"/proposals/{world.withdrawn.id}")
    assert page.status_code == 200 and "Withdrawn one" in body
    assert_unnamed(body)
    assert as_json.get_json()["successor"] is None
    _, _, body = both(client, f"/rounds/{world.round_.slug}")
    assert_unnamed(body)


@pytest.mark.parametrize("who", ["member", "author", "signer"])
def test_the_log_does_not_name_it_to_members(client, auth, world, who):
    auth.login(getattr(world, who))
    page, as_json, body = both(client, "/moderation/log")
    assert page.status_code == as_json.status_code == 200
    assert "Spam" in body  # the entry is there, with its reason
    assert_unnamed(body)


def test_notifications_do_not_name_it_nor_offer_it(client, auth, world):
    auth.login(world.signer)
    page, as_json, body = both(client, "/notifications")
    assert page.status_code == 200
    assert_unnamed(body)
    assert f"/proposals/{world.hidden.id}/cosign" not in body
    assert "hidden since" in body


@pytest.mark.parametrize("who", ["otto"])
def test_successor_choices_leave_it_out(client, auth, db, world, who):
    otto = world.other.author
    auth.login(otto)
    for url in (f"/proposals/{world.other.id}/withdraw", f"/proposals/{world.other.id}"):
        body = text(client.get(url))
        assert_unnamed(body)
        assert f'value="{world.hidden.id}"' not in body
    response = client.post(
        f"/proposals/{world.other.id}/withdraw",
        data={"reason": "merged", "explanation": "Into it", "successor": str(world.hidden.id)},
    )
    assert response.status_code in (400, 409)
    db.session.refresh(world.other)
    assert world.other.successor_id is None and world.other.is_open


def test_a_moderator_still_sees_it_everywhere(client, auth, world):
    auth.login(world.moderator)
    assert SECRET in both(client, "/moderation/log")[2]
    assert THREAD_WORDS in both(client, f"/proposals/{world.hidden.id}")[2]
    assert SECRET in both(client, f"/proposals/{world.withdrawn.id}")[2]
    assert SECRET in both(client, "/users/arthur")[2]
    assert client.get(f"/comments/{world.comment.id}/reply").status_code == 200


def test_restoring_it_names_it_again(client, auth, db, world):
    mod.restore_proposal(world.hidden, world.moderator, "Fine after all")
    db.session.commit()
    auth.login(world.signer)
    assert SECRET in both(client, "/notifications")[2]
    assert SECRET in both(client, f"/proposals/{world.withdrawn.id}")[2]
    assert THREAD_WORDS in both(client, f"/proposals/{world.hidden.id}")[2]
