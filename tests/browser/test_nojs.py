"""With JavaScript off, a member co-signs and replies and an author withdraws:
every action is a plain form or link (the scripts only save reloads)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PageProblems
from tests.browser.seeded import seed_site
from tests.conftest import DEFAULT_PASSWORD


@pytest.fixture
def nojs_page(_browser, live_server, app):
    context = _browser.new_context(
        base_url=live_server, java_script_enabled=False, viewport={"width": 360, "height": 780}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = PageProblems()
    problems.attach(page)
    yield page
    context.close()
    assert problems.errors == [], problems.errors


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_cosign_reply_and_withdraw_without_javascript(app, nojs_page):
    page = nojs_page
    site = seed_site(app)
    proposal = site.open_proposal
    start = proposal.supporter_count
    # Co-sign: a plain POST, a redirect back, the count and a flash message (with
    # the script there would be no reload and so no flash).
    sign_in(page, site.member.username)
    page.goto(f"/proposals/{proposal.id}")
    page.get_by_role("button", name="Co-sign this proposal").click()
    expect(page).to_have_url(re.compile(rf"/proposals/{proposal.id}$"))
    expect(page.locator(".flash")).to_contain_text("You co-signed")
    expect(page.locator("[data-supporter-count]")).to_have_text(str(start + 1))
    expect(page.get_by_role("button", name="Remove my co-signature")).to_be_visible()

    # Reply: "Reply" opens the reply page (no inline form without the script).
    page.goto(f"/articles/{site.article.slug}")
    author = site.first_comment.display_name
    page.get_by_role("link", name=f"Reply to {author}").click()
    expect(page).to_have_url(re.compile(rf"/comments/{site.first_comment.id}/reply$"))
    page.get_by_label("Your comment").fill("Replying with scripts switched off.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.get_by_text("Replying with scripts switched off.")).to_be_visible()
    expect(page.locator(".flash")).to_be_visible()

    # Folded replies open as their own page.
    page.goto(f"/articles/{site.article.slug}")
    page.get_by_role("link", name=re.compile(r"\d+ more repl")).first.click()
    expect(page).to_have_url(re.compile(r"/comments/\d+/replies"))
    page.get_by_role("button", name="Sign out").click()

    # Withdraw: the <details> opens without a script, the form posts.
    sign_in(page, site.author.username)
    page.goto(f"/proposals/{proposal.id}")
    page.get_by_text("Withdraw this proposal").click()
    page.get_by_label("Reason").select_option(label="No longer needed")
    page.get_by_label("Explanation").fill("The branches decided for themselves.")
    page.get_by_role("button", name="Withdraw proposal").click()
    expect(page.locator(".flash")).to_contain_text(f"{proposal.label} is withdrawn")
    expect(page.locator(".outcome")).to_contain_text("Withdrawn")
