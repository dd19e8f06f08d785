"""Issue #17 class 4: sign-up pre-hijack and login CSRF through confirmation links.

A confirmation link confirms only on a POST from the page it opens; a GET
changes nothing and signs nobody in; a browser that did not make the sign-up
gives its password; a signed-in member is asked before their session is
replaced; the address's owner who signs up after a squatter wins.
"""

import html

import pytest

from app.extensions import db
from app.services import accounts
from tests.test_accounts_enumeration import (
    PASSWORD,
    confirm,
    confirm_path,
    csrf_app,  # noqa: F401 - fixture
    csrf_token,
    form,
)

SQUATTER_PASSWORD = "the squatter's password"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def whoami(app, client) -> int | None:
    cookie = client.get_cookie("session")
    if cookie is None:
        return None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    user_id = data.get("_user_id")
    return int(str(user_id).split(":")[0]) if user_id else None


@pytest.mark.parametrize("owner_address", ["victim@example.org", "VICTIM@Example.org"])
def test_the_owner_who_signs_up_later_wins_over_a_squatter(app, db, mailbox, owner_address):
    squatter, owner = app.test_client(), app.test_client()
    squatter.post("/signup", data=form("squatter", "victim@example.org", SQUATTER_PASSWORD))
    owner.post("/signup", data=form("victim", owner_address))
    squatter_mail, owner_mail = mailbox
    assert owner_mail.to == "victim@example.org" and "@victim" in owner_mail.body
    assert "@squatter" not in owner_mail.body
    # The link the owner expected confirms the owner's own sign-up.
    assert confirm(owner, owner_mail).status_code == 302
    db.session.expire_all()
    victim = accounts.find_by_username("victim")
    squatting = accounts.find_by_username("squatter")
    assert victim.email == "victim@example.org" and victim.email_confirmed
    assert not squatting.email_confirmed and not squatting.has_address
    assert whoami(app, owner) == victim.id
    # The squatter's earlier link is dead now, even with its password.
    response = confirm(squatter, squatter_mail, password=SQUATTER_PASSWORD, follow_redirects=True)
    assert "not valid" in text(response)
    db.session.expire_all()
    assert not accounts.find_by_username("squatter").email_confirmed


def test_a_squatters_link_opened_by_the_owner_needs_the_squatters_password(app, db, mailbox):
    squatter, owner = app.test_client(), app.test_client()
    squatter.post("/signup", data=form("squatter", "victim@example.org", SQUATTER_PASSWORD))
    [squatter_mail] = mailbox
    for password in ("", PASSWORD, "wrong"):
        response = confirm(owner, squatter_mail, password=password)
        assert response.status_code == 400
        assert "Give the password chosen for this sign-up" in text(response)
    db.session.expire_all()
    assert not accounts.find_by_username("squatter").email_confirmed
    assert whoami(app, owner) is None


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_get_of_a_confirmation_link_confirms_nothing_and_switches_no_session(
    app, db, mailbox, make_user, auth, client, signed_in
):
    member = make_user("member")
    if signed_in:
        auth.login(member)
    attacker = app.test_client()
    attacker.post("/signup", data=form("attacker", "attacker@example.org"))
    path = confirm_path(mailbox[0])
    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200
        assert "@attacker" in text(response)
        if signed_in:
            assert "You are signed in as <strong>@member</strong>" in text(response)
    db.session.expire_all()
    assert not accounts.find_by_username("attacker").email_confirmed
    assert whoami(app, client) == (member.id if signed_in else None)
    # Pressing the button without the attacker's password changes nothing either
    # (login CSRF: the victim's browser did not make that sign-up).
    response = client.post(path, data={"password": ""})
    assert response.status_code == 400
    assert whoami(app, client) == (member.id if signed_in else None)


def test_a_signed_in_member_confirming_their_other_sign_up_is_asked_then_switched(
    app, db, mailbox, make_user, auth, client
):
    member = make_user("member")
    auth.login(member)
    app.test_client().post("/signup", data=form("second", "second@example.org"))
    assert whoami(app, client) == member.id
    assert "Confirming signs you out" in text(client.get(confirm_path(mailbox[0])))
    response = confirm(client, mailbox[0], password=PASSWORD)
    assert response.status_code == 302
    db.session.expire_all()
    second = accounts.find_by_username("second")
    assert second.email_confirmed and whoami(app, client) == second.id


def test_the_confirm_button_needs_a_csrf_token(csrf_app, mailbox):  # noqa: F811
    client = csrf_app.test_client()
    client.post(
        "/signup",
        data={**form("csrfed", "csrfed@example.org"), "csrf_token": csrf_token(client, "/signup")},
    )
    path = confirm_path(mailbox[0])
    assert client.post(path, data={"password": PASSWORD}).status_code == 400
    assert not accounts.find_by_username("csrfed").email_confirmed
    db.session.rollback()
    response = client.post(path, data={"password": "", "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/", response.headers["Location"]
    db.session.rollback()
    assert accounts.find_by_username("csrfed").email_confirmed
