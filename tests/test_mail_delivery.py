"""Notifications that reach members, through a real SMTP server (aiosmtpd).

The worker's delivery function (`deliver_due`: claim, compose, send, mark
sent) runs here in the test process against the real server; the worker as
a process (huey_consumer), killed and restarted, is in test_mail_worker.py.
"""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.mail import deliver_due, queue_digests
from app.models import (
    Delivery,
    Follow,
    FollowTarget,
    Notification,
    OutboxMail,
    OutboxState,
    Role,
    Topic,
)
from app.services import comments as comment_svc
from app.services import moderation as mod_svc
from app.services import notifications as notes
from app.services import proposals as svc
from app.timeutil import utcnow
from tests.conftest import DEFAULT_PASSWORD

SITE = "http://plenary.test"


def link_in(text: str, pattern: str) -> str:
    match = re.search(rf"{re.escape(SITE)}({pattern})", text)
    assert match, text
    return match.group(1)


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def html(message) -> str:
    return message.get_body(("html",)).get_content()


@pytest.fixture
def trio(make_user):
    return make_user("alice"), make_user("bob"), make_user("carol")


def test_a_reply_and_a_mention_arrive_with_links_threading_and_unsubscribe(
    smtp_app, smtp_server, db, trio, make_article
):
    alice, bob, carol = trio
    thread = make_article(title="The charter").thread
    first = comment_svc.add_comment(thread, alice, "What do we keep?")
    db.session.commit()
    reply = comment_svc.add_comment(thread, bob, "The forum, and @carol agrees.", parent=first)
    db.session.commit()

    report = deliver_due()
    assert report.sent == 2
    [to_alice] = smtp_server.to("alice@example.org")
    [to_carol] = smtp_server.to("carol@example.org")
    assert smtp_server.to("bob@example.org") == []  # nobody is told of their own words

    assert "Bob replied to your comment" in to_alice["Subject"]
    assert "Bob mentioned you" in to_carol["Subject"]
    for message in (to_alice, to_carol):
        assert message.is_multipart()
        assert link_in(plain(message), r"/comments/\d+") == f"/comments/{reply.id}"
        assert f'href="{SITE}/comments/{reply.id}"' in html(message)
        assert re.fullmatch(r"<plenary\.mail\.\d+@plenary\.test>", message["Message-ID"])
        # RFC 8058 one-click unsubscribe, by a signed token.
        unsubscribe = message["List-Unsubscribe"].strip()
        assert re.fullmatch(rf"<{re.escape(SITE)}/unsubscribe/[\w.\-]+>", unsubscribe)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"{SITE}/account/notifications" in plain(message)
    # Threaded: the reply answers the comment it replies to, under the thread.
    assert to_alice["In-Reply-To"].strip() == f"<plenary.comment.{reply.id}@plenary.test>"
    assert to_alice["References"].split() == [
        f"<plenary.thread.{thread.id}@plenary.test>",
        f"<plenary.comment.{reply.id}@plenary.test>",
    ]
    # Once sent, never again.
    assert deliver_due().sent == 0
    assert len(smtp_server.messages) == 2


def test_links_come_from_site_url_never_from_the_host_header(
    smtp_app, smtp_server, client, auth, db, trio, make_article
):
    alice, bob, _ = trio
    thread = make_article().thread
    first = comment_svc.add_comment(thread, alice, "A first comment.")
    db.session.commit()
    evil = "http://evil.example/"
    client.post("/login", data={"login": "bob", "password": DEFAULT_PASSWORD}, base_url=evil)
    response = client.post(
        f"/comments/{first.id}/reply", data={"body": "An answer."}, base_url=evil
    )
    assert response.status_code in (302, 303)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 1
    deliver_due()
    [message] = smtp_server.to("alice@example.org")
    assert "evil.example" not in message.as_string()
    assert SITE in plain(message)


def test_a_mention_of_a_member_who_cannot_see_the_content_is_not_notified(
    smtp_app, smtp_server, db, make_user, make_proposal
):
    author = make_user("author")
    make_user("carol")
    moderator = make_user("mod", role=Role.moderator)
    colleague = make_user("colleague", role=Role.moderator)
    proposal = make_proposal(author=author)
    mod_svc.hide_proposal(proposal, moderator, "Off topic.")
    db.session.commit()
    comment_svc.add_comment(
        proposal.thread, moderator, "Asking @carol, @author and @colleague here."
    )
    db.session.commit()
    told = set(
        db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == "mention"))
    )
    # Hidden: only moderators may see it (its author cannot either).
    assert told == {colleague.id}
    deliver_due()
    assert smtp_server.to("carol@example.org") == []
    assert len(smtp_server.to("colleague@example.org")) == 1


def test_a_mention_in_a_new_proposal_notifies_and_renders_as_a_profile_link(
    smtp_app, smtp_server, client, db, make_user, make_round
):
    author = make_user("author")
    make_user("carol")
    round_ = make_round()
    proposal = svc.submit_proposal(round_, author, "Mentions", "Thanks to @carol for the idea.")
    db.session.commit()
    deliver_due()
    [message] = smtp_server.to("carol@example.org")
    assert f"{SITE}/proposals/{proposal.id}" in plain(message)
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert '<a href="/users/carol"' in page


def test_a_successor_offer_arrives_and_its_link_opens_a_page_with_a_button(
    smtp_app, smtp_server, client, auth, db, make_user, make_round, cosign_as
):
    author, signer = make_user("author"), make_user("signer")
    round_ = make_round()
    old = svc.submit_proposal(round_, author, "Old text", "The first text.")
    new = svc.submit_proposal(round_, author, "New text", "The better text.")
    db.session.commit()
    cosign_as(old, signer)
    svc.withdraw_proposal(old, author, "superseded", "Replaced by a better text.", successor=new)
    db.session.commit()

    deliver_due()
    [message] = smtp_server.to("signer@example.org")
    assert "withdrawn in favour of" in message["Subject"]
    text = plain(message)
    assert f"{SITE}/proposals/{old.id}" in text
    act = link_in(text, r"/notifications/\d+/act")
    assert f'href="{SITE}{act}"' in html(message)

    auth.login(signer)
    supporters = new.supporter_count
    page = client.get(act)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'action="/proposals/{new.id}/cosign"' in body and 'method="post"' in body
    db.session.refresh(new)
    assert new.supporter_count == supporters  # the GET changed nothing
    assert client.post(f"/proposals/{new.id}/cosign").status_code in (302, 303)
    db.session.refresh(new)
    assert new.supporter_count == supporters + 1
    # Another member's offer page is not theirs to see.
    note_id = int(act.split("/")[2])
    auth.logout()
    auth.login(author)
    assert client.get(f"/notifications/{note_id}/act").status_code == 404


def test_the_daily_digest_arrives_once_with_everything_grouped(
    smtp_app, smtp_server, db, make_user, make_round, make_article, cosign_as
):
    author, reader = make_user("author"), make_user("reader")
    budget, charter = make_round(title="Budget 2027"), make_round(title="Charter")
    one = svc.submit_proposal(budget, author, "Fund the library", "Books.")
    two = svc.submit_proposal(charter, author, "Shorter meetings", "One hour.")
    db.session.commit()
    cosign_as(one, reader)
    cosign_as(two, reader)
    svc.edit_proposal(one, author, "Fund the library", "Books and journals.")
    svc.edit_proposal(two, author, "Shorter meetings", "Forty minutes.")
    thread = make_article(title="On meetings").thread
    notes.set_following(reader, FollowTarget.thread, thread.id, True)
    comment_svc.add_comment(thread, author, "Meetings run long.")
    db.session.commit()

    assert deliver_due().sent == 0  # all of these wait for the digest by default
    assert queue_digests() == 1
    db.session.commit()
    assert queue_digests() == 0  # running it again finds nothing left to send
    db.session.commit()
    deliver_due()
    [digest] = smtp_server.to("reader@example.org")
    assert "digest" in digest["Subject"].lower() and "3 notifications" in digest["Subject"]
    text = plain(digest)
    assert text.index("== Round: Budget 2027 ==") < text.index("* Proposal 1: Fund the library")
    assert "== Round: Charter ==" in text and "* Proposal 1: Shorter meetings" in text
    assert "== Discussions ==" in text and "* On meetings" in text
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<h2>Round: Budget 2027</h2>" in html(digest)
    # Once: a second run of the day mails nothing.
    queue_digests()
    db.session.commit()
    deliver_due()
    assert len(smtp_server.to("reader@example.org")) == 1


def test_one_click_unsubscribe_without_signing_in_then_mentions_are_in_app_only(
    smtp_app, smtp_server, client, db, trio, make_article
):
    alice, bob, carol = trio
    thread = make_article().thread
    comment_svc.add_comment(thread, bob, "Hello @carol.")
    db.session.commit()
    deliver_due()
    [message] = smtp_server.to("carol@example.org")
    url = message["List-Unsubscribe"].strip().strip("<>").removeprefix(SITE)

    page = client.get(url)
    assert page.status_code == 200 and "Stop these mails" in page.get_data(as_text=True)
    assert notes.preferences(carol)[Topic.mention] == Delivery.immediate  # a GET never writes
    # What a mail client sends (RFC 8058): no session, no CSRF token.
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    assert notes.preferences(carol)[Topic.mention] == Delivery.never
    assert notes.preferences(carol)[Topic.reply] == Delivery.immediate  # only that kind

    comment_svc.add_comment(thread, alice, "And again, @carol.")
    db.session.commit()
    deliver_due()
    assert len(smtp_server.to("carol@example.org")) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.user_id == carol.id, Notification.kind == "mention"
            )
        )
        == 2
    )  # the in-app notification is still there
    assert client.get("/unsubscribe/not-a-token").status_code == 404
    assert client.post(url[:-3] + "abc").status_code == 404


def test_a_suspended_member_gets_no_mail_about_what_they_cannot_act_on(
    smtp_app, smtp_server, db, make_user, make_round, cosign_as
):
    author, signer = make_user("author"), make_user("signer")
    moderator = make_user("mod", role=Role.moderator)
    round_ = make_round()
    old = svc.submit_proposal(round_, author, "Old", "Old text.")
    new = svc.submit_proposal(round_, author, "New", "New text.")
    db.session.commit()
    cosign_as(old, signer)
    mod_svc.suspend_member(signer, moderator, utcnow() + timedelta(days=3), "Spam.")
    db.session.commit()
    svc.withdraw_proposal(old, author, "superseded", "See the new one.", successor=new)
    db.session.commit()
    deliver_due()
    mails = smtp_server.to("signer@example.org")
    # The suspension itself is mailed (it concerns their standing); the offer is not.
    assert [m["Subject"] for m in mails] == [mails[0]["Subject"]]
    assert "suspend" in mails[0]["Subject"].lower()
    offer = db.session.scalar(
        sa.select(Notification).where(
            Notification.user_id == signer.id, Notification.kind == "proposal_withdrawn"
        )
    )
    assert offer is not None and offer.mail_state is None  # in-app only


def test_a_failed_smtp_hand_over_is_retried_with_backoff(
    smtp_app, smtp_server, db, trio, make_article
):
    alice, bob, _ = trio
    thread = make_article().thread
    first = comment_svc.add_comment(thread, alice, "First.")
    db.session.commit()
    comment_svc.add_comment(thread, bob, "Reply.", parent=first)
    db.session.commit()
    smtp_server.stop()
    report = deliver_due()
    assert report.sent == 0 and report.retry_in is not None and report.retry_in > 0
    row = db.session.scalar(sa.select(OutboxMail))
    assert row.state == OutboxState.pending and row.attempts == 1 and row.last_error
    assert row.next_attempt_at > utcnow()
    smtp_server.start()
    assert deliver_due().sent == 0  # not before its time
    row.next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_due().sent == 1
    assert len(smtp_server.to("alice@example.org")) == 1


def test_taking_part_follows_and_unfollowing_stops_the_news(
    smtp_app, smtp_server, db, trio, make_article
):
    alice, bob, carol = trio
    thread = make_article().thread
    comment_svc.add_comment(thread, alice, "I start.")
    db.session.commit()
    assert notes.is_following(alice, FollowTarget.thread, thread.id)
    comment_svc.add_comment(thread, bob, "I answer.")
    db.session.commit()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.user_id == alice.id, Notification.kind == "thread_comment"
            )
        )
        == 1
    )
    notes.set_following(alice, FollowTarget.thread, thread.id, False)
    db.session.commit()
    comment_svc.add_comment(thread, carol, "Me too.")
    comment_svc.add_comment(thread, alice, "Still here.")  # taking part again does not refollow
    db.session.commit()
    assert not notes.is_following(alice, FollowTarget.thread, thread.id)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.user_id == alice.id, Notification.kind == "thread_comment"
            )
        )
        == 1
    )
    assert db.session.scalar(sa.select(Follow.following).where(Follow.user_id == alice.id)) is False


def test_a_coauthor_invitation_and_moderation_of_my_content_are_mailed_at_once(
    smtp_app, smtp_server, db, make_user, make_proposal, make_article
):
    author, guest = make_user("author"), make_user("guest")
    moderator = make_user("mod", role=Role.moderator)
    proposal = make_proposal(author=author)
    svc.invite_coauthor(proposal, author, guest)
    comment = comment_svc.add_comment(make_article().thread, guest, "Something rude.")
    db.session.commit()
    mod_svc.hide_comment(comment, moderator, "Be kind.")
    db.session.commit()
    deliver_due()
    subjects = [m["Subject"] for m in smtp_server.to("guest@example.org")]
    assert len(subjects) == 2
    assert any("invites you to co-author" in s for s in subjects)
    assert any("Be kind" in s or "hid" in s for s in subjects)


def test_an_edit_that_adds_a_mention_tells_only_the_newly_mentioned(
    smtp_app, smtp_server, db, trio, make_article
):
    alice, bob, carol = trio
    thread = make_article().thread
    comment = comment_svc.add_comment(thread, bob, "Thanks @alice.")
    db.session.commit()
    comment_svc.edit_comment(comment, bob, "Thanks @alice and @carol.")
    db.session.commit()
    mentions = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "mention")
    ).all()
    assert sorted(mentions) == sorted([alice.id, carol.id])
    deliver_due()
    assert len(smtp_server.to("alice@example.org")) == 1
    assert len(smtp_server.to("carol@example.org")) == 1


def test_demo_members_are_told_in_the_app_but_never_mailed(
    smtp_app, smtp_server, db, make_user, make_article
):
    invented, writer = make_user("invented", is_demo=True), make_user("writer")
    thread = make_article().thread
    comment_svc.add_comment(thread, writer, "Hello @invented.")
    db.session.commit()
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == invented.id))
    assert note is not None and note.mail_state is None
    deliver_due()
    assert smtp_server.messages == []


def test_account_mail_carries_one_click_unsubscribe_too(smtp_app, smtp_server, client, db, trio):
    """A reset mail (asked for) still lets its reader stop Plenary's mail in one click."""
    from app.mail import queue_mail
    from app.models import MailKind

    alice = trio[0]
    queue_mail(MailKind.reset, alice)
    db.session.commit()
    deliver_due()
    [message] = smtp_server.to("alice@example.org")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip().strip("<>").removeprefix(SITE)
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    db.session.expire_all()
    assert set(notes.preferences(alice).values()) == {Delivery.never}
