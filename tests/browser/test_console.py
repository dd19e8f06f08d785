"""No CSP violation and no JavaScript error: the policy blocks what it must and
the console shows it; the site's own pages and scripts never trip it."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import PageProblems
from tests.browser.seeded import seed_site
from tests.browser.test_a11y import pages_by_role
from tests.conftest import DEFAULT_PASSWORD

INJECT = """() => {
  const script = document.createElement('script');
  script.textContent = 'window.__inlineRan = true';
  document.head.append(script);
  const holder = document.createElement('div');
  holder.innerHTML = '<p style="color: red">styled</p>' +
    '<img alt="" src="/static/favicon.svg" onload="window.__handlerRan = true">';
  document.querySelector('main').append(holder);
}"""


def test_an_injected_inline_script_is_blocked_and_reported(browser_context):
    page = browser_context.new_page()
    problems = PageProblems()  # what the `page` fixture fails a test on
    problems.attach(page)
    response = page.goto("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.evaluate(INJECT)
    page.wait_for_timeout(200)
    assert page.evaluate("window.__inlineRan") is None
    assert page.evaluate("window.__handlerRan") is None
    assert page.locator("main p", has_text="styled").evaluate("p => getComputedStyle(p).color") != (
        "rgb(255, 0, 0)"
    )
    reported = " ".join(problems.errors)
    assert "Executing inline script violates" in reported
    assert "Executing inline event handler violates" in reported
    assert "Applying inline style violates" in reported


def test_no_page_carries_inline_script_style_or_handlers(app, client):
    """The markup itself: nothing the policy would block, on every page a visitor sees."""
    site = seed_site(app)
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=", re.I)
    for url in pages_by_role(site)["visitor"]:
        response = client.get(url, follow_redirects=True)
        html = response.get_data(as_text=True)
        assert not inline.search(html), (url, inline.search(html).group(0))


def test_scripted_journey_logs_no_error(app, page):
    """Every script at work (co-sign, inline reply, folded replies, menus) with no
    console error or CSP report: the `page` fixture fails the test on any."""
    site = seed_site(app)
    page.goto("/login")
    page.get_by_label("Username or email").fill(site.moderator.username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(f"/proposals/{site.open_proposal.id}")
    count = page.locator("[data-supporter-count]")
    start = int(count.inner_text())
    page.get_by_role("button", name="Co-sign this proposal").click()
    expect(count).to_have_text(str(start + 1))
    page.get_by_role("button", name="Remove my co-signature").click()
    expect(count).to_have_text(str(start))
    page.get_by_text("The numbers by day").click()
    expect(page.locator(".chart-data table")).to_be_visible()

    page.goto(f"/articles/{site.article.slug}")
    author = site.first_comment.display_name
    page.get_by_role("link", name=f"Reply to {author}").click()
    expect(page.get_by_label(f"Your reply to {author}")).to_be_focused()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_label(f"Your reply to {author}")).to_have_count(0)
    fold = page.get_by_role("link", name=re.compile(r"\d+ more repl")).first
    fold.click()
    expect(page.get_by_text("Reply 12 to the first comment.")).to_be_visible()
    assert "/replies" not in page.url  # loaded in place
    page.locator("details.mod-menu summary").first.click()

    page.goto("/moderation/queue")
    expect(page.get_by_role("heading", name="Moderation queue")).to_be_visible()
