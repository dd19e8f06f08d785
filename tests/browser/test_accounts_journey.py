"""Chromium: sign up, sign out, sign in again."""

import re

from playwright.sync_api import expect


def test_sign_up_sign_out_and_sign_in_again(page, mailbox):
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    expect(page).to_have_url(re.compile(r"/signup$"))

    page.get_by_label("Username").fill("journey")
    page.get_by_label("Display name").fill("Journey Person")
    page.get_by_label("Email").fill("journey@example.org")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    # Refused, with what was typed kept.
    expect(page.get_by_text("Field must be between 8 and 256 characters long.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("journey")
    expect(page.get_by_label("Email")).to_have_value("journey@example.org")

    page.get_by_label("Password", exact=True).fill("a journey password")
    page.get_by_label("Repeat the password").fill("a journey password")
    page.get_by_role("button", name="Sign up").click()
    # The same answer whether or not the address has an account: a link went to it.
    expect(page.get_by_role("status")).to_contain_text(
        "We have sent a link to journey@example.org. Follow it to finish signing up."
    )
    expect(page.get_by_label("Username")).to_have_value("journey")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")

    # Not a member until the address is confirmed.
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username or email").fill("journey")
    page.get_by_label("Password").fill("a journey password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Confirm your email address first")).to_be_visible()

    # The live server runs in this process: its mails are in `mailbox`.
    assert [mail.to for mail in mailbox] == ["journey@example.org"] * 2
    link = re.search(r"https?://\S+/signup/confirm/\S+", mailbox[-1].body).group(0)
    # Links in mail are built from SITE_URL (the test config's http://plenary.test),
    # never from the host the request came to: open its path on the live server.
    assert link.startswith("http://plenary.test/signup/confirm/")
    page.goto(link.removeprefix("http://plenary.test"))
    # The link opens a page naming the sign-up; only its button confirms.
    expect(page.get_by_text("@journey")).to_be_visible()
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_text("Welcome to Plenary, Journey Person.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()

    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username or email").fill("JOURNEY@example.org")
    page.get_by_label("Password").fill("a journey password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Journey Person.")).to_be_visible()
    expect(page.get_by_role("link", name="Journey Person")).to_be_visible()


def test_sign_in_returns_to_the_page_asked_for(page, make_user):
    make_user("returner")
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Username or email").fill("returner")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
