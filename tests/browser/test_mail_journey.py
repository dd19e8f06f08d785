"""Chromium: a reply and a mention reach members in the app and by mail; one click unsubscribes.

The site runs in a thread of the test process and mails through a real SMTP
server (aiosmtpd); the worker's delivery step (`deliver_due`) is run by the
test where the worker would run it (the worker as a process is tested in
tests/test_mail_worker.py).
"""

import re

import pytest
from playwright.sync_api import expect

from app.mail import deliver_due
from tests.conftest import DEFAULT_PASSWORD


@pytest.fixture
def article(make_article):
    return make_article(title="The way forward", slug="way-forward")


def sign_in(page, user):
    page.goto("/login")
    page.get_by_label("Username or email").fill(user.username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def deliver(db):
    db.session.commit()
    deliver_due()


def test_reply_and_mention_reach_members_and_one_click_unsubscribes(
    smtp_app, smtp_server, page, browser_context, db, make_user, article
):
    alice = make_user("alice", display_name="Alice")
    bob = make_user("bob", display_name="Bob")
    carol = make_user("carol", display_name="Carol")

    # A comments.
    sign_in(page, alice)
    page.goto("/articles/way-forward")
    page.get_by_label("Your comment").fill("We should keep the forum.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".flash")).to_contain_text("Your comment is posted")
    comment_id = int(page.url.rsplit("#comment-", 1)[1])

    # B replies and mentions C (the no-JavaScript reply page).
    sign_out(page)
    sign_in(page, bob)
    page.goto(f"/comments/{comment_id}/reply")
    page.get_by_label("Your comment").fill("Agreed, and @carol wrote the same.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator(".flash")).to_contain_text("posted")
    reply_id = int(page.url.rsplit("#comment-", 1)[1])
    # The mention renders as a link to the profile.
    expect(page.locator(f"#comment-{reply_id} a[href='/users/carol']")).to_have_text("@carol")

    # A and C see it in the app.
    for member, words in ((alice, "replied to your comment"), (carol, "mentioned you")):
        sign_out(page)
        sign_in(page, member)
        expect(page.locator(".account-nav .badge")).to_have_text("1")
        page.goto("/notifications")
        expect(page.locator(".notification-list")).to_contain_text(words)
        page.get_by_role("link", name="View").first.click()
        page.wait_for_url(re.compile(rf"#comment-{reply_id}$"))

    # And by mail.
    deliver(db)
    [to_alice] = smtp_server.to("alice@example.org")
    [to_carol] = smtp_server.to("carol@example.org")
    assert "replied to your comment" in to_alice["Subject"]
    assert "mentioned you" in to_carol["Subject"]
    text = to_carol.get_body(("plain",)).get_content()
    assert f"http://plenary.test/comments/{reply_id}" in text

    # C unsubscribes from the mail's link, signed out (as a mail reader would).
    sign_out(page)
    link = to_carol["List-Unsubscribe"].strip().strip("<>")
    assert link.startswith("http://plenary.test/unsubscribe/")
    page.goto(link.removeprefix("http://plenary.test"))
    expect(page.get_by_role("heading", name="Stop these mails")).to_be_visible()
    page.get_by_role("button", name="Stop these mails").click()
    expect(page.get_by_role("heading", name="Mail stopped")).to_be_visible()

    # The next mention is in the app only.
    sign_in(page, bob)
    page.goto(f"/comments/{comment_id}/reply")
    page.get_by_label("Your comment").fill("@carol, once more.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator(".flash")).to_contain_text("posted")
    deliver(db)
    assert len(smtp_server.to("carol@example.org")) == 1
    sign_out(page)
    sign_in(page, carol)
    page.goto("/notifications")
    expect(page.locator(".notification-list li")).to_have_count(2)
    expect(page.locator(".notification-list li").first).to_contain_text(
        re.compile("Bob mentioned you")
    )
