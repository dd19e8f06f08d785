"""Keyboard only: sign in, co-sign, reply and report with Tab, Shift+Tab, Enter
and Space (no clicks, no filling of fields reached any other way)."""

import re

from playwright.sync_api import expect

from app.models import Cosignature, Report
from tests.browser.seeded import seed_site
from tests.conftest import DEFAULT_PASSWORD

FOCUSED = r"""() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return {
    tag: e.tagName.toLowerCase(), id: e.id || '', type: e.getAttribute('type') || '',
    href: e.getAttribute('href') || '',
    text: (e.textContent || e.value || '').replace(/\s+/g, ' ').trim(),
    label: e.labels && e.labels[0] ? e.labels[0].innerText.trim() : '',
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
  };
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_to(page, wanted, back: bool = False, limit: int = 250) -> dict:
    """Press Tab (or Shift+Tab) until the focused element matches `wanted`; it must show focus."""
    key = "Shift+Tab" if back else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        element = focused(page)
        if wanted(element):
            assert element["outline"], f"no visible focus on {element}"
            return element
    raise AssertionError(f"never reached the element by {key} (last: {focused(page)})")


def text_is(text):
    return lambda e: e["text"] == text


def test_sign_in_cosign_reply_and_report_with_the_keyboard_only(app, db, page):
    site = seed_site(app)
    proposal = site.open_proposal
    start = proposal.supporter_count

    # The skip link comes first and moves focus to the content.
    page.goto("/")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"

    # Sign in: from the header's link, through the form, submitted with Enter.
    tab_to(page, text_is("Sign in"), back=True)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/login"))
    tab_to(page, lambda e: e["label"] == "Username or email")
    page.keyboard.type(site.member.username)
    tab_to(page, lambda e: e["label"] == "Password")
    page.keyboard.type(DEFAULT_PASSWORD)
    tab_to(page, lambda e: e["type"] == "submit" and e["text"] == "Sign in")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # Co-sign with Space on the button (the script answers without a reload).
    page.goto(f"/proposals/{proposal.id}")
    tab_to(page, text_is("Co-sign this proposal"))
    page.keyboard.press("Space")
    expect(page.locator("[data-supporter-count]")).to_have_text(str(start + 1))
    expect(page.locator("[data-cosign-status]")).to_contain_text("You co-signed")
    db.session.rollback()  # end the test's read transaction: see what the server wrote
    assert (
        db.session.query(Cosignature)
        .filter_by(proposal_id=proposal.id, user_id=site.member.id, removed_at=None)
        .count()
        == 1
    )

    # Reply: Enter on "Reply" opens the inline form with the focus in it.
    page.goto(f"/articles/{site.article.slug}")
    author = site.first_comment.display_name
    tab_to(page, text_is(f"Reply to {author}"))
    page.keyboard.press("Enter")
    expect(page.get_by_label(f"Your reply to {author}")).to_be_focused()
    page.keyboard.type("Typed without a mouse.")
    tab_to(page, text_is("Post reply"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Typed without a mouse.")).to_be_visible()

    # Report the guest comment: its link, a reason with Space, a note, then
    # back from Cancel to the button with Shift+Tab.
    reported = site.spare
    page.goto(f"/comments/{reported.id}")
    tab_to(page, lambda e: e["href"].startswith(f"/moderation/report/comment/{reported.id}"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Report a comment")).to_be_visible()
    tab_to(page, lambda e: e["type"] == "radio")
    reasons = []
    while focused(page)["label"] != "Abuse or harassment" and len(reasons) < 6:
        reasons.append(focused(page)["label"])
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert page.get_by_label("Abuse or harassment").is_checked()
    tab_to(page, lambda e: e["tag"] == "textarea" or e["id"] == "note")
    page.keyboard.type("Insults another reader.")
    tab_to(page, text_is("Cancel"))
    tab_to(page, lambda e: e["tag"] in ("button", "input") and e["type"] == "submit", back=True)
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("your report is with the moderators")
    db.session.rollback()  # end the test's read transaction: see what the server wrote
    assert (
        db.session.query(Report)
        .filter_by(comment_id=reported.id, reporter_id=site.member.id)
        .count()
        == 1
    )
