"""Following, mail preferences and the pages behind mail, through HTTP."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import Delivery, Follow, FollowTarget, Notification, OutboxMail, Topic
from app.services import notifications as notes
from app.services import proposals as svc
from tests.conftest import DEFAULT_PASSWORD, _empty_all_tables, make_test_app

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def csrf_client(database_url, app):
    """A client of an app with CSRF checked, as in production."""
    other = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    with other.app_context():
        yield other.test_client()
        _db.session.remove()
        _empty_all_tables()


def login(client, user):
    page = client.get("/login").get_data(as_text=True)
    token = TOKEN.search(page)
    data = {"login": user.username, "password": DEFAULT_PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    assert client.post("/login", data=data).status_code == 302


def token_from(client, path: str) -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.mark.parametrize("path", ["/follow/round/1", "/unfollow/round/1"])
def test_follow_and_unfollow_are_posts_for_members(client, auth, make_user, make_round, path):
    make_round()
    assert client.get(path).status_code == 405
    response = client.post(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login(make_user())
    assert client.post(path).status_code == 302


def test_follow_refuses_a_post_without_its_csrf_token(csrf_client, make_user, make_round):
    round_ = make_round()
    member = make_user()
    login(csrf_client, member)
    assert csrf_client.post(f"/follow/round/{round_.id}").status_code == 400
    assert not notes.is_following(member, FollowTarget.round, round_.id)
    token = token_from(csrf_client, f"/rounds/{round_.slug}")
    response = csrf_client.post(
        f"/follow/round/{round_.id}", data={"csrf_token": token, "next": f"/rounds/{round_.slug}"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rounds/{round_.slug}")
    _db.session.expire_all()
    assert notes.is_following(member, FollowTarget.round, round_.id)


@pytest.mark.parametrize(
    "path, status",
    [
        ("/follow/planet/1", 400),
        ("/follow/round/999", 404),
        ("/follow/proposal/99999999999999999999", 404),
        ("/follow/thread/0", 404),
    ],
)
def test_bad_follow_targets_never_give_a_500(client, auth, make_user, path, status):
    auth.login(make_user())
    assert client.post(path).status_code == status


def test_following_a_round_tells_of_new_proposals_until_unfollowed(
    client, auth, db, make_user, make_round
):
    reader, author = make_user("reader"), make_user("author")
    round_ = make_round()
    auth.login(reader)
    page = client.get(f"/rounds/{round_.slug}").get_data(as_text=True)
    assert f'action="/follow/round/{round_.id}"' in page and "Follow this round" in page
    client.post(f"/follow/round/{round_.id}")
    assert "Unfollow this round" in client.get(f"/rounds/{round_.slug}").get_data(as_text=True)
    svc.submit_proposal(round_, author, "First", "One.")
    db.session.commit()
    client.post(f"/unfollow/round/{round_.id}")
    svc.submit_proposal(round_, author, "Second", "Two.")
    db.session.commit()
    told = db.session.scalars(
        sa.select(Notification.message).where(
            Notification.user_id == reader.id, Notification.kind == "new_proposal"
        )
    ).all()
    assert len(told) == 1 and "First" in told[0]
    following = sa.select(Follow.following).where(Follow.user_id == reader.id)
    assert db.session.scalar(following) is False


def test_co_signers_follow_the_proposal_and_may_unfollow_it(
    client, auth, db, make_user, make_proposal, cosign_as
):
    author, signer = make_user("author"), make_user("signer")
    proposal = make_proposal(author=author)
    cosign_as(proposal, signer)
    auth.login(signer)
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert f'action="/unfollow/proposal/{proposal.id}"' in page
    client.post(f"/unfollow/proposal/{proposal.id}")
    svc.edit_proposal(proposal, author, proposal.title, "A new text.")
    db.session.commit()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.user_id == signer.id, Notification.kind == "proposal_edited"
            )
        )
        == 0
    )
    client.post(f"/follow/proposal/{proposal.id}")
    svc.edit_proposal(proposal, author, proposal.title, "A newer text.")
    db.session.commit()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.user_id == signer.id, Notification.kind == "proposal_edited"
            )
        )
        == 1
    )


def test_preferences_show_the_defaults_and_save_a_choice(client, auth, db, make_user):
    member = make_user()
    assert client.get("/account/notifications").status_code == 302  # sign in first
    auth.login(member)
    page = client.get("/account/notifications").get_data(as_text=True)
    for topic in Topic:
        assert f'name="topic_{topic.value}"' in page
    assert re.search(r'value="immediate"[^>]*checked[^>]*>|checked[^>]*value="immediate"', page)
    choices = {f"topic_{t.value}": notes.DEFAULT_DELIVERY[t].value for t in Topic}
    choices["topic_mention"] = "never"
    choices["topic_new_proposal"] = "immediate"
    response = client.post("/account/notifications", data=choices)
    assert response.status_code == 302
    prefs = notes.preferences(member)
    assert prefs[Topic.mention] == Delivery.never
    assert prefs[Topic.new_proposal] == Delivery.immediate
    assert prefs[Topic.reply] == Delivery.immediate


def test_a_bad_preference_is_a_400_that_keeps_what_was_chosen(client, auth, make_user):
    member = make_user()
    auth.login(member)
    choices = {f"topic_{t.value}": "digest" for t in Topic}
    choices["topic_reply"] = "carrier-pigeon"
    response = client.post("/account/notifications", data=choices)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Not a valid choice" in page
    # What was chosen for the others is still selected.
    assert re.search(r'id="topic_mention-1"[^>]*checked|checked[^>]*id="topic_mention-1"', page)
    assert notes.preferences(member)[Topic.reply] == Delivery.immediate  # nothing saved


def test_preferences_refuse_a_post_without_its_csrf_token(csrf_client, make_user):
    member = make_user()
    login(csrf_client, member)
    choices = {f"topic_{t.value}": "never" for t in Topic}
    assert csrf_client.post("/account/notifications", data=choices).status_code == 400
    assert notes.preferences(member)[Topic.reply] == Delivery.immediate


def test_a_never_preference_keeps_the_notification_in_app_without_mail(
    db, make_user, make_article
):
    from app.services import comments as comment_svc

    alice, bob = make_user("alice"), make_user("bob")
    notes.set_preference(alice.id, Topic.reply, Delivery.never)
    db.session.commit()
    thread = make_article().thread
    first = comment_svc.add_comment(thread, alice, "First.")
    comment_svc.add_comment(thread, bob, "Reply.", parent=first)
    db.session.commit()
    assert db.session.scalar(
        sa.select(Notification.mail_state).where(Notification.user_id == alice.id)
    ) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0


# --- What a member's pages ask of the database ------------------------------------------


def test_the_unread_badge_comes_with_the_member_in_one_statement(
    client, auth, db, make_user, query_counter
):
    member = make_user()
    for n in range(2):
        notes.notify(member, "test", f"News {n}")
    db.session.commit()
    auth.login(member)
    db.session.remove()
    with query_counter() as counted:
        page = client.get("/no-such-page").get_data(as_text=True)
    # The member's row and the count: one statement for any page's header.
    assert counted.count == 1, counted.statements
    assert 'aria-label="2 unread"' in page
    # Read: the badge goes at once (the count is asked again, not kept).
    client.post("/notifications/read")
    assert "unread" not in client.get("/no-such-page").get_data(as_text=True)
    notes.notify(member.id, "test", "News 3")
    db.session.commit()
    assert 'aria-label="1 unread"' in client.get("/no-such-page").get_data(as_text=True)


@pytest.mark.parametrize("target", ["proposal", "thread"])
def test_a_follow_button_asks_one_statement(db, make_user, make_proposal, query_counter, target):
    """Explicit follow rows and taking part, read together, for each button."""
    proposal = make_proposal()
    member = make_user()
    target_id = proposal.id if target == "proposal" else proposal.thread_id
    kind = FollowTarget(target)
    author = proposal.author
    db.session.commit()
    author.id, member.id  # loaded again after the commit, before counting  # noqa: B018
    with query_counter() as counted:
        # The author takes part in their proposal: following it, not its thread.
        author_follows = notes.is_following(author, kind, target_id)
        member_follows = notes.is_following(member, kind, target_id)
    assert counted.count == 2
    assert author_follows is (target == "proposal") and member_follows is False
    notes.set_following(member, target, target_id, True)
    notes.set_following(author, target, target_id, False)
    db.session.commit()
    assert notes.is_following(member, kind, target_id) is True
    assert notes.is_following(author, kind, target_id) is False
