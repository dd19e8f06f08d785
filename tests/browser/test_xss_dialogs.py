"""Chromium loads every page carrying the XSS corpus and no dialog ever opens.

The payloads all call alert(): a dialog means a script ran. The `page` fixture
also fails the test on any console error, so a payload the policy had to
block (a CSP report) would fail it too. Last, a stored script that slipped
past the server (added to the HTML on its way to the browser) is blocked by
the Content-Security-Policy and opens no dialog.
"""

from tests.browser.conftest import PageProblems
from tests.conftest import DEFAULT_PASSWORD
from tests.test_hostile_markdown import build_hostile_site


def _watch_dialogs(page) -> list[str]:
    seen: list[str] = []

    def on_dialog(dialog):
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def _visit_all(page, urls) -> None:
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("load")
        # Focus and hover everything a payload might hang a handler on.
        page.keyboard.press("Tab")
        page.mouse.move(200, 300)
        page.mouse.move(600, 500)


def test_no_dialog_on_any_hostile_page_as_a_visitor(app, db, make_user, page):
    site = build_hostile_site(db, make_user)
    dialogs = _watch_dialogs(page)
    _visit_all(page, site["urls"])
    assert dialogs == []


def test_no_dialog_on_any_hostile_page_as_a_moderator(app, db, make_user, page):
    """Moderators also see the text of hidden comments and the report notes."""
    site = build_hostile_site(db, make_user)
    dialogs = _watch_dialogs(page)
    page.goto("/login")
    page.get_by_label("Username or email").fill(site["moderator"].username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    _visit_all(page, site["urls"])
    assert dialogs == []


def test_a_stored_script_that_slipped_through_is_blocked_by_the_policy(browser_context):
    page = browser_context.new_page()
    problems = PageProblems()
    problems.attach(page)
    dialogs = _watch_dialogs(page)

    def inject(route):
        response = route.fetch()
        body = response.text().replace(
            "</main>",
            "<script>alert('stored')</script>"
            "<img src=/static/favicon.svg onload=\"alert('handler')\">"
            "<a id=evil href=\"javascript:alert('link')\">evil</a></main>",
        )
        route.fulfill(response=response, body=body)

    page.route("**/login", inject)
    response = page.goto("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.click("#evil")
    page.wait_for_timeout(300)
    assert dialogs == []
    reported = " ".join(problems.errors)
    assert "Executing inline script violates" in reported
    assert "inline event handler" in reported


def test_the_dialog_listener_does_catch_a_script_that_runs(browser_context):
    """The control: without the policy header the same injection opens a dialog."""
    page = browser_context.new_page()
    dialogs = _watch_dialogs(page)

    def inject_without_policy(route):
        response = route.fetch()
        headers = {
            k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"
        }
        body = response.text().replace("</main>", "<script>alert('control')</script></main>")
        route.fulfill(response=response, body=body, headers=headers)

    page.route("**/login", inject_without_policy)
    page.goto("/login")
    page.wait_for_timeout(300)
    assert dialogs == ["control"]
