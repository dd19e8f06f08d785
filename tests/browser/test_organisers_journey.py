"""Chromium: an admin writes an article with a preview, imports a document, changes a round."""

import re

from playwright.sync_api import expect

from app.models import Role
from tests.browser.axe import AXE_JS, serious_violations
from tests.test_seeding_documents import THREADED

BROKEN = THREADED.replace("Thu, 02/04/2020 - 11:15", "Thu, 45/04/2020 - 11:15")
BAD_LINE = BROKEN.split("\n").index("Submitted by Bob on Thu, 45/04/2020 - 11:15") + 1


def _no_serious_axe_violations(page):
    if AXE_JS.exists():
        assert serious_violations(page) == []


def test_admin_writes_and_imports_articles(page, login_page, make_user):
    admin = make_user("ada", role=Role.admin, display_name="Ada Admin")
    login_page(admin)
    page.goto("/articles")
    page.get_by_role("link", name="Write an article").click()
    expect(page.get_by_role("heading", name="Write an article")).to_be_visible()
    page.get_by_label("Title").fill("Notes from the branch meeting")
    page.get_by_label("Source").fill("Branch bulletin")
    page.get_by_label("Author").fill("Zoë Ångström")
    page.get_by_label("Text (Markdown)").fill("We met on **Tuesday**.")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("[data-article-preview]")
    expect(preview.locator("strong")).to_have_text("Tuesday")
    expect(page.get_by_label("Text (Markdown)")).to_have_value("We met on **Tuesday**.")
    _no_serious_axe_violations(page)
    page.get_by_role("button", name="Save article").click()
    expect(
        page.get_by_text("The article “Notes from the branch meeting” is saved.")
    ).to_be_visible()
    expect(page.locator(".article-body strong")).to_have_text("Tuesday")

    page.get_by_role("link", name="Edit this article").click()
    page.get_by_label("Title").fill("Corrected notes")
    page.get_by_role("button", name="Save article").click()
    expect(page.get_by_role("heading", name="Corrected notes")).to_be_visible()

    # A broken document: each problem by line, nothing imported, the text kept.
    page.goto("/articles")
    page.get_by_role("link", name="Import a document").click()
    page.get_by_label("…or paste it here").fill(BROKEN)
    page.get_by_role("button", name="Preview").click()
    problems = page.locator("[data-import-problems]")
    expect(problems).to_contain_text(f"Line {BAD_LINE}: comment header with a date")
    expect(page.get_by_label("…or paste it here")).to_have_value(re.compile("Alice's first"))
    _no_serious_axe_violations(page)

    # The right one: preview, then import.
    page.get_by_label("…or paste it here").fill(THREADED)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-import-creates]")).to_contain_text("with 5 comments")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported: 1 article with 5 comments.")).to_be_visible()
    expect(page.get_by_role("heading", name="A made-up article about threads")).to_be_visible()


def test_admin_changes_a_round_and_reads_its_standing(
    page, login_page, make_user, make_round, make_proposal
):
    admin = make_user("ada", role=Role.admin, display_name="Ada Admin")
    round_ = make_round(title="Spring round", threshold=3)
    make_proposal(round=round_, title="Keep the website")
    login_page(admin)
    page.goto(f"/rounds/{round_.slug}")
    page.get_by_role("link", name="Round settings").click()
    page.get_by_label("Threshold").fill("1")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_label("Reason for the change")).to_be_visible()
    expect(page.locator(".field-error")).to_contain_text("Give a reason")
    expect(page.get_by_label("Threshold")).to_have_value("1")
    page.get_by_label("Reason for the change").fill("Agreed at the meeting")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("threshold: 3 -> 1")).to_be_visible()
    page.get_by_role("link", name="Standing so far").click()
    expect(page.locator("[data-result-provisional]")).to_be_visible()
    expect(page.get_by_role("heading", name="Would go to the floor (1)")).to_be_visible()
    _no_serious_axe_violations(page)
