"""Chromium: the header search box (keyboard, phone, axe) and similar proposals
offered while a member types a new proposal's title."""

import re

from playwright.sync_api import expect

from tests.browser.axe import serious_violations


def test_header_box_by_keyboard_on_desktop_and_phone(
    make_proposal, make_comment, page, browser_context
):
    proposal = make_proposal(title="Allotments for every branch")
    make_comment(body="The allotments <b>must</b> stay")
    page.goto("/")
    # Keyboard only: tab from the top of the page to the search box.
    box = page.get_by_role("searchbox", name="Search proposals, comments and articles")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "site-search-q":
            break
    assert page.evaluate("document.activeElement.id") == "site-search-q"
    page.keyboard.type("allotments")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=allotments"))
    results = page.locator(".search-result")
    expect(results).to_have_count(2)
    expect(page.locator(".search-result mark").first).to_have_text(re.compile("allotments", re.I))
    # The comment's own markup is text, never an element.
    assert page.locator(".search-snippet b").count() == 0
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious_violations(page) == []
    page.get_by_role("link", name=proposal.title).click()
    expect(page).to_have_url(re.compile(rf"/proposals/{proposal.id}$"))

    # On a phone the box is there, fits the screen and still works.
    phone = browser_context.new_page()
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.goto("/articles")
    box = phone.get_by_role("searchbox", name="Search proposals, comments and articles")
    expect(box).to_be_visible()
    bounds = box.bounding_box()
    assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 360
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    box.fill("allotments")
    box.press("Enter")
    expect(phone.locator(".search-result")).to_have_count(2)
    assert serious_violations(phone) == []
    phone.close()


def test_similar_proposals_while_typing_then_submit_anyway(
    make_round, make_proposal, make_user, cosign_as, login_page
):
    round_ = make_round()
    existing = make_proposal(round=round_, title="Elect delegates by postal ballot")
    cosign_as(existing, make_user(), make_user())
    make_proposal(round=make_round(), title="Postal ballot in another round")
    member = make_user("typist")

    page = login_page(member)
    page.goto(f"/rounds/{round_.slug}/new")
    similar = page.locator("[data-similar]")
    expect(similar).to_be_hidden()
    page.get_by_label("Title").press_sequentially("A postal ballot", delay=20)
    expect(similar).to_be_visible()
    items = similar.locator("li")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(existing.title)
    expect(items.first).to_contain_text("3 supporters")
    expect(items.first.get_by_role("link", name="Read and co-sign")).to_have_attribute(
        "href", f"/proposals/{existing.id}"
    )
    assert serious_violations(page) == []

    # Nothing is blocked: the member submits their own proposal all the same.
    page.get_by_label("Text").fill("Every delegate elected by post.")
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_text("You count as its first supporter")).to_be_visible()
