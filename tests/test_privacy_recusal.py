"""Issue #17 class 3: recusal is one predicate (app.models.moderation.recusal).

A moderator never acts on their own or co-authored content, in their own
proposal's thread, over a thread they take part in, nor against a member who
reported their content; and reports on their content are shown to the other
moderators only.
"""

from datetime import timedelta

import pytest

from app.errors import PermissionDenied
from app.models import CoauthorStatus, ProposalCoauthor, Role
from app.services import moderation as mod
from app.timeutil import utcnow


@pytest.fixture
def w(db, make_user, mod_article, mod_comment, mod_proposal):
    moe = make_user("moe", role=Role.moderator)
    mona = make_user("mona", role=Role.moderator)
    rita = make_user("rita", display_name="Rita Reporter")
    other = make_user("olga")
    article = mod_article()
    moes_comment = mod_comment(article.thread, author=moe, body="Moe's words.")
    ritas_comment = mod_comment(article.thread, author=rita, body="Rita's words.")
    ritas_proposal = mod_proposal(rita)
    coauthored = mod_proposal(other, title="Co-authored by Moe")
    db.session.add(
        ProposalCoauthor(proposal_id=coauthored.id, user_id=moe.id, status=CoauthorStatus.accepted)
    )
    in_coauthored = mod_comment(coauthored.thread, author=other, body="In Moe's thread.")
    db.session.commit()
    mod.report_content(rita, moes_comment, "abuse", "Rita's private note")
    db.session.commit()
    return type("W", (), dict(locals()))


WEEK = utcnow() + timedelta(days=7)


def test_reports_on_own_content_go_to_the_other_moderators_only(client, auth, w):
    auth.login(w.moe)
    for headers in ({}, {"Accept": "application/json"}):
        body = client.get("/moderation/queue", headers=headers).get_data(as_text=True)
        for secret in ("rita", "Rita", "private note"):
            assert secret not in body
    auth.logout()
    auth.login(w.mona)
    body = client.get("/moderation/queue").get_data(as_text=True)
    assert "Rita" in body and "private note" in body


@pytest.mark.parametrize("thread", ["none", "article", "coauthored"])
def test_a_reporter_cannot_be_suspended_by_the_reported_moderator(client, auth, db, w, thread):
    over = {"none": None, "article": w.article.thread, "coauthored": w.coauthored.thread}[thread]
    with pytest.raises(PermissionDenied, match="reported content of yours|take part"):
        mod.suspend_member(w.rita, w.moe, WEEK, "Retaliation", over)
    db.session.rollback()
    auth.login(w.moe)
    url = f"/moderation/users/{w.rita.id}/suspend"
    data = {"duration": "7", "reason": "Retaliation", "thread_id": str(over.id) if over else ""}
    assert client.post(url, data=data).status_code == 403
    db.session.refresh(w.rita)
    assert w.rita.suspended_until is None
    mod.suspend_member(w.rita, w.mona, WEEK, "Another moderator decides", None)
    assert w.rita.is_suspended()


@pytest.mark.parametrize("action", ["hide_comment", "hide_proposal"])
def test_a_reporters_content_is_left_to_other_moderators(db, w, action):
    target = w.ritas_comment if action == "hide_comment" else w.ritas_proposal
    with pytest.raises(PermissionDenied, match="reported content of yours"):
        getattr(mod, action)(target, w.moe, "Retaliation")
    db.session.rollback()
    getattr(mod, action)(target, w.mona, "Off-topic")


@pytest.mark.parametrize(
    "act",
    [
        lambda w: mod.lock_thread(w.coauthored.thread, w.moe, "Enough"),
        lambda w: mod.hide_comment(w.in_coauthored, w.moe, "Critic"),
        lambda w: mod.pin_comment(w.in_coauthored, w.moe, "Mine"),
        lambda w: mod.hide_proposal(w.coauthored, w.moe, "Mine"),
        lambda w: mod.suspend_member(w.other, w.moe, WEEK, "Over my thread", w.coauthored.thread),
    ],
    ids=["lock", "hide-comment", "pin", "hide-proposal", "suspend-over"],
)
def test_a_coauthor_who_moderates_is_recused_from_their_proposal(db, w, act):
    with pytest.raises(PermissionDenied, match="own content|own proposal"):
        act(w)
    db.session.rollback()
    w.moe, w.mona = w.mona, w.moe  # the other moderator may
    act(w)


def test_taking_part_forbids_suspending_over_the_thread_not_locking_it(db, w):
    with pytest.raises(PermissionDenied, match="take part"):
        mod.suspend_member(w.other, w.moe, WEEK, "Over it", w.article.thread)
    db.session.rollback()
    mod.lock_thread(w.article.thread, w.moe, "Cooling down")
    mod.suspend_member(w.other, w.moe, WEEK, "Not over a thread", None)


def test_the_thread_page_offers_no_recused_control(client, auth, w):
    auth.login(w.moe)
    html = client.get(f"/articles/{w.article.slug}").get_data(as_text=True)
    assert f"/moderation/comments/{w.ritas_comment.id}/hide" not in html
    assert f"/moderation/comments/{w.moes_comment.id}/hide" not in html
    html = client.get(f"/proposals/{w.coauthored.id}").get_data(as_text=True)
    assert f"/moderation/threads/{w.coauthored.thread.id}/lock" not in html
    assert f"/moderation/comments/{w.in_coauthored.id}/hide" not in html
    auth.logout()
    auth.login(w.mona)
    html = client.get(f"/proposals/{w.coauthored.id}").get_data(as_text=True)
    assert f"/moderation/comments/{w.in_coauthored.id}/hide" in html
