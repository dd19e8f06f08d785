"""Chromium: a member reports a comment, a moderator hides it from the queue, everyone sees why."""

import re

from playwright.sync_api import expect

from app.models import Role
from tests.browser.axe import AXE_JS, serious_violations


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def _no_serious_axe_violations(page):
    if AXE_JS.exists():
        assert serious_violations(page) == []


def test_report_hide_placeholder_and_log(page, login_page, make_user, mod_article, mod_comment):
    member = make_user("mia", display_name="Mia Member")
    author = make_user("arthur", display_name="Arthur Author")
    moe = make_user("moe", role=Role.moderator, display_name="Moe Derator")
    replier = make_user("rita", display_name="Rita Replier")
    article = mod_article(title="After the convention")
    rude = mod_comment(article.thread, author=author, body="You are all idiots.")
    reply = mod_comment(article.thread, author=replier, parent=rude, body="Please stay civil.")

    # A member reports the comment.
    login_page(member)
    page.goto(f"/articles/{article.slug}")
    comment = page.locator(f"#comment-{rude.id}")
    comment.get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name="Report a comment")).to_be_visible()
    page.get_by_label("Abuse or harassment").check()
    page.get_by_label("Note for the moderators (optional)").fill("Calls everyone idiots")
    _no_serious_axe_violations(page)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thank you: your report is with the moderators.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/articles/{article.slug}"))
    _sign_out(page)

    # The moderator opens the queue and hides it with a reason.
    login_page(moe)
    page.get_by_role("link", name="Queue").click()
    expect(page.get_by_role("heading", name="Moderation queue")).to_be_visible()
    item = page.locator(f'.mod-queue-item[data-kind="comment"][data-id="{rude.id}"]')
    expect(item).to_contain_text("You are all idiots.")
    expect(item).to_contain_text("Calls everyone idiots")
    expect(item).to_contain_text("Mia Member")
    expect(item).to_contain_text("After the convention")
    _no_serious_axe_violations(page)
    item.get_by_label("Reason to hide").fill("Name-calling is not allowed here")
    item.get_by_role("button", name="Hide comment").click()
    expect(page.get_by_text("The comment is hidden; its replies stay in place.")).to_be_visible()
    expect(page.get_by_text("No open reports.")).to_be_visible()
    _sign_out(page)

    # The member sees the placeholder with the reason, and the reply still in place.
    login_page(member)
    page.goto(f"/articles/{article.slug}")
    hidden = page.locator(f"#comment-{rude.id}")
    expect(hidden).to_contain_text(
        "Comment hidden by a moderator: Name-calling is not allowed here"
    )
    expect(hidden).not_to_contain_text("You are all idiots.")
    expect(page.locator(f"#comment-{reply.id}")).to_contain_text("Please stay civil.")

    # The log shows the action with the moderator's name and the reason.
    page.get_by_role("link", name="Moderation log").click()
    row = page.locator("table.mod-log tbody tr").first
    expect(row).to_contain_text("Moe Derator")
    expect(row).to_contain_text("hid a comment")
    expect(row).to_contain_text("Name-calling is not allowed here")
    expect(row).to_contain_text("After the convention")
    _no_serious_axe_violations(page)
