"""Chromium: co-sign a demo proposal without a reload, withdraw it in favour of
another, and carry the co-signature over with the one-click offer."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from app.models import Proposal
from app.seeding.demo import DEMO_SLUG, seed_demo
from app.services import proposals as svc
from tests.conftest import default_password_hash


def demo_proposal(db, number: int) -> Proposal:
    round_ = svc.get_round(DEMO_SLUG)
    return db.session.scalar(
        sa.select(Proposal).where(Proposal.round_id == round_.id, Proposal.number == number)
    )


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_cosign_unsign_withdraw_in_favour_and_carry_over(db, make_user, login_page):
    seed_demo()
    proposal, successor = demo_proposal(db, 28), demo_proposal(db, 26)
    start, successor_start = proposal.supporter_count, successor.supporter_count
    author = proposal.author
    author.password_hash = default_password_hash()  # demo accounts cannot sign in otherwise
    db.session.commit()
    member = make_user("journey_member", display_name="Journey Member")

    page = login_page(member)
    page.goto("/rounds")
    page.get_by_role("link", name="The way forward after the 2019 convention").click()
    expect(page.get_by_text("28 proposals, 19 withdrawn")).to_be_visible()
    page.get_by_role("link", name=proposal.title).click()
    count = page.locator("[data-supporter-count]")
    expect(count).to_have_text(str(start))
    # The deferred script must be running before the click (a busy machine
    # can show the page first): otherwise the plain form posts, as it should.
    page.wait_for_load_state("load")

    # Co-sign and un-sign through the script: the count moves, the page stays.
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Co-sign this proposal").click()
    expect(count).to_have_text(str(start + 1))
    expect(page.locator("[data-cosign-status]")).to_contain_text("You co-signed")
    page.get_by_role("button", name="Remove my co-signature").click()
    expect(count).to_have_text(str(start))
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_role("button", name="Co-sign this proposal").click()
    expect(count).to_have_text(str(start + 1))
    page.reload()
    expect(count).to_have_text(str(start + 1))
    expect(page.locator("[data-supporter-list]")).to_contain_text("Journey Member")
    sign_out(page)

    # The author withdraws it in favour of another proposal.
    login_page(author)
    page.goto(f"/proposals/{proposal.id}")
    page.get_by_text("Withdraw this proposal").click()
    page.get_by_label("Reason").select_option(label="Merged into another proposal")
    page.get_by_label("Explanation").fill("We joined the caucus-led proposal.")
    page.get_by_label("In favour of (optional)").select_option(
        label=f"Proposal 26: {successor.title}"
    )
    page.get_by_role("button", name="Withdraw proposal").click()
    expect(page.get_by_text("Proposal 28 is withdrawn in favour of Proposal 26.")).to_be_visible()
    expect(page.locator(".outcome")).to_contain_text("in favour of Proposal 26")
    sign_out(page)

    # The co-signer accepts the carry-over offer with one click.
    login_page(member)
    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.get_by_text("was withdrawn in favour of Proposal 26")).to_be_visible()
    page.get_by_role("button", name="Co-sign Proposal 26").click()
    expect(page).to_have_url(re.compile(rf"/proposals/{successor.id}$"))
    expect(page.get_by_text("You co-signed Proposal 26. Thank you.")).to_be_visible()
    expect(page.locator("[data-supporter-count]")).to_have_text(str(successor_start + 1))
    expect(page.locator("[data-supporter-list]")).to_contain_text("Journey Member")
