"""Browser journeys: Playwright (Python) drives Debian's Chromium.

The app is served by a real WSGI server in a thread of the test process, on
the same database file the factories write to, so a test can make data and
then click through it. Under CI=true a missing Chromium fails the run.
"""

import os
import re
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(_app, backend):
    if backend != "sqlite":
        pytest.skip("browser journeys run in the SQLite pass")
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def _browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - dev extras missing
        if IN_CI:
            pytest.exit(f"CI requires Playwright: {exc}", returncode=3)
        pytest.skip("Playwright is not installed")
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.exit(f"CI requires Chromium at {CHROMIUM}", returncode=3)
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class PageProblems:
    """JavaScript errors, console errors and CSP violations seen by a page."""

    def __init__(self):
        self.errors: list[str] = []

    def attach(self, page):
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._on_console)

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        # A 4xx answer (a refused form is a 400, an unknown page a 404) is the
        # app speaking, not a fault; 5xx and everything else count.
        if re.search(r"Failed to load resource: .* status of 4\d\d", msg.text):
            return
        self.errors.append(f"console.{msg.type}: {msg.text}")


@pytest.fixture
def page_problems():
    return PageProblems()


@pytest.fixture
def browser_context(_browser, live_server, app):
    context = _browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context, page_problems):
    """A fresh page; the test fails if it logged a JS error or a CSP violation."""
    page = browser_context.new_page()
    page_problems.attach(page)
    yield page
    assert page_problems.errors == [], page_problems.errors


@pytest.fixture
def login_page(page, live_server):
    """login_page(user) signs `user` in through the form and returns the page."""
    from tests.conftest import DEFAULT_PASSWORD

    def login(user, password: str = DEFAULT_PASSWORD):
        page.goto("/login")
        page.get_by_label("Username or email").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return login
