"""axe-core finds no serious or critical violation on any page of the seeded
site, in the light and the dark colour scheme, for each kind of visitor."""

import pytest

from app.mail import unsubscribe_token
from app.seeding.demo import DEMO_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import PageProblems
from tests.browser.seeded import seed_site
from tests.conftest import DEFAULT_PASSWORD

SCHEMES = ("light", "dark")
# The dark scheme changes the colours only (site.css: custom properties under
# prefers-color-scheme), so only the rules that read colours can find anything
# new there; every rule runs in the light one.
COLOUR_RULES = ("color-contrast", "link-in-text-block")
ROUND = f"/rounds/{DEMO_SLUG}"


def pages_by_role(site) -> dict[str, list[str]]:
    opened, withdrawn = site.open_proposal.id, site.withdrawn_proposal.id
    article = f"/articles/{site.article.slug}"
    filters = [f"{ROUND}?sort={s}" for s in ("supporters", "newest", "number")] + [
        f"{ROUND}?state={s}" for s in ("open", "withdrawn", "adopted", "rejected", "merged")
    ]
    return {
        "visitor": [
            "/",
            "/rounds",
            ROUND,
            *filters,
            f"{ROUND}?sort=number&state=open&page=1",
            f"/proposals/{opened}",
            f"/proposals/{withdrawn}",
            f"/proposals/{site.leader.id}",
            f"/proposals/{opened}/versions",
            f"/proposals/{site.leader.id}/supporters?at=2019-03-20T12:00",
            f"/proposals/{site.leader.id}/supporters?at=not-a-date",
            f"{ROUND}/results",
            "/articles",
            article,
            f"{article}?page=2",
            f"/comments/{site.page2_comment.id}",
            "/login",
            "/signup",
            "/reset",
            f"/users/{site.author.username}",
            "/proposals/999999",
            "/no-such-page",
            "/search",
            "/search?q=convention",
            "/search?q=zzzznothing",
            f"/unsubscribe/{unsubscribe_token(site.member.id, 'mention')}",
            "/api/v1/docs",
        ],
        "member": [
            f"/proposals/{opened}",
            f"/proposals/{withdrawn}",
            f"/proposals/{site.leader.id}/supporters?at=2019-03-26T12:00",
            f"{ROUND}/new",
            "/notifications",
            "/account",
            "/account/notifications",
            ROUND,  # with its follow button
            f"/moderation/report/comment/{site.first_comment.id}",
            f"/moderation/report/proposal/{opened}",
            f"/comments/{site.first_comment.id}/reply",
            "/moderation/log",
            "/moderation/queue",  # 403
            article,
        ],
        "author": [f"/proposals/{opened}", f"/proposals/{opened}/withdraw"],
        "moderator": [
            "/moderation/queue",
            "/moderation/log",
            "/moderation/log?action=hide_comment&since=2000-01-01",
            f"/moderation/comments/{site.reported.id}/hide",
            f"/moderation/reports/{site.report.id}/dismiss",
            f"/users/{site.member.username}",
            article,
            f"/proposals/{opened}",
            "/search?q=the&sort=newest",
        ],
        "admin": [
            "/moderation/roles",
            "/rounds/new",
            f"/proposals/{opened}/decide",
            ROUND,
            f"{ROUND}/settings",
            f"{ROUND}/results",
            "/articles",
            "/articles/new",
            "/articles/import",
            f"{article}/edit",
        ],
    }


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not sign in"


def test_every_page_has_no_serious_axe_violation_in_both_schemes(app, _browser, live_server):
    site = seed_site(app)
    users = {
        "member": site.member,
        "author": site.author,
        "moderator": site.moderator,
        "admin": site.admin,
    }
    found: dict[str, list] = {}
    problems = PageProblems()
    checked = 0
    for role, urls in pages_by_role(site).items():
        context = _browser.new_context(
            base_url=live_server, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        problems.attach(page)
        if role in users:
            sign_in(page, users[role].username)
        for url in urls:
            page.goto(url)
            for scheme in SCHEMES:
                page.emulate_media(color_scheme=scheme)
                violations = serious_violations(page, None if scheme == "light" else COLOUR_RULES)
                checked += 1
                if violations:
                    found[f"{role} {url} ({scheme})"] = violations
        context.close()
    assert checked >= 2 * 50
    assert found == {}, found
    assert problems.errors == [], problems.errors


@pytest.mark.parametrize("scheme", SCHEMES)
def test_axe_sees_a_contrast_failure_when_there_is_one(page, scheme):
    """The check can fail: grey on grey text is reported, in either scheme."""
    page.goto("/login")
    page.emulate_media(color_scheme=scheme)
    page.evaluate(
        """() => { const p = document.createElement('p');
        p.textContent = 'Barely readable'; p.setAttribute('class', 'faint-probe');
        document.querySelector('main').append(p);
        p.style.color = '#888'; p.style.background = '#999'; }"""
    )
    ids = {v["id"] for v in serious_violations(page)}
    assert "color-contrast" in ids
    assert "color-contrast" in {v["id"] for v in serious_violations(page, COLOUR_RULES)}
