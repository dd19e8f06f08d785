"""Issue #17 class 7: a suspended moderator or admin keeps no moderator power, reading too."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Comment, CommentStatus, Role
from app.services import moderation as mod
from app.timeutil import utcnow


@pytest.fixture
def scene(db, make_user, mod_article, mod_comment, mod_proposal):
    until = utcnow() + timedelta(days=2)
    suspended_mod = make_user("sus_mod", role=Role.moderator, suspended_until=until)
    suspended_admin = make_user("sus_admin", role=Role.admin, suspended_until=until)
    reporter = make_user("rita", display_name="Rita Reporter")
    author = make_user("arthur")
    article = mod_article()
    comment = mod_comment(article.thread, author=author, body="A reported comment.")
    hidden = mod_comment(article.thread, author=author, body="Secret hidden words.")
    pending = mod_comment(
        article.thread,
        author_name="Guesty",
        body="Pending guest words.",
        status=CommentStatus.pending,
    )
    proposal = mod_proposal(author, title="Hidden proposal title")
    moderator = make_user("moe", role=Role.moderator)
    mod.report_content(reporter, comment, "abuse", "Note only moderators read")
    mod.hide_comment(hidden, moderator, "Off-topic.")
    mod.hide_proposal(proposal, moderator, "Spam.")
    db.session.commit()
    return type("Scene", (), dict(locals()))


@pytest.mark.parametrize("who", ["suspended_mod", "suspended_admin"])
def test_a_suspended_moderator_cannot_read_the_queue(client, auth, scene, who):
    auth.login(getattr(scene, who))
    for headers in ({}, {"Accept": "application/json"}):
        response = client.get("/moderation/queue", headers=headers)
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        for secret in ("Rita", "rita", "Note only moderators read", "Pending guest words"):
            assert secret not in body
        assert "suspended" in body


@pytest.mark.parametrize("who", ["suspended_mod", "suspended_admin"])
def test_a_suspended_moderator_sees_hidden_content_as_a_member_does(client, auth, scene, who):
    auth.login(getattr(scene, who))
    thread = client.get(f"/threads/{scene.article.thread.id}").get_data(as_text=True)
    thread += client.get(f"/articles/{scene.article.slug}").get_data(as_text=True)
    assert "A reported comment." in thread
    assert "Secret hidden words." not in thread and "Pending guest words." not in thread
    page = client.get(f"/proposals/{scene.proposal.id}")
    assert "We propose that the organisation" not in page.get_data(as_text=True)
    as_json = client.get(
        f"/threads/{scene.article.thread.id}", headers={"Accept": "application/json"}
    ).get_data(as_text=True)
    assert "Secret hidden words." not in as_json and "Pending guest words." not in as_json


@pytest.mark.parametrize("who", ["suspended_mod", "suspended_admin"])
def test_a_suspended_moderator_cannot_act(client, auth, db, scene, who):
    auth.login(getattr(scene, who))
    posts = [
        f"/moderation/comments/{scene.comment.id}/hide",
        f"/moderation/comments/{scene.hidden.id}/restore",
        f"/moderation/comments/{scene.pending.id}/approve",
        f"/moderation/proposals/{scene.proposal.id}/restore",
        f"/moderation/threads/{scene.article.thread.id}/lock",
        f"/moderation/users/{scene.reporter.id}/suspend",
    ]
    for url in posts:
        assert client.get(url).status_code == 403, url
        response = client.post(url, data={"reason": "Because.", "duration": "7"})
        assert response.status_code == 403, url
    response = client.post(
        "/moderation/roles", data={"username": "rita", "role": "admin", "reason": "Because."}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Comment, scene.comment.id).status == CommentStatus.published
    assert db.session.get(Comment, scene.hidden.id).status == CommentStatus.hidden
    assert scene.reporter.role == Role.member and scene.reporter.suspended_until is None


def test_the_powers_come_back_when_the_suspension_ends(client, auth, db, scene):
    scene.suspended_mod.suspended_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    auth.login(scene.suspended_mod)
    response = client.get("/moderation/queue")
    assert response.status_code == 200
    assert "Note only moderators read" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 3
