"""Ending sessions: a saved cookie replayed after sign-out or a password change is refused."""

import pytest

from app.services import accounts


def _saved_session(app, user):
    """A second device: its own client, signed in through the form."""
    device = app.test_client()
    response = device.post(
        "/login", data={"login": user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert device.get("/account").status_code == 200
    return device


def test_signing_out_ends_the_other_sessions(app, make_user):
    user = make_user("twodevices")
    laptop = _saved_session(app, user)
    phone = _saved_session(app, user)
    saved_cookie = laptop.get_cookie("session").value
    laptop.post("/logout")
    assert phone.get("/account").status_code == 302
    # Replaying the laptop's saved cookie does not bring the session back.
    replay = app.test_client()
    replay.set_cookie("session", saved_cookie)
    assert replay.get("/account").status_code == 302


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(app, make_user):
    user = make_user("changer")
    laptop = _saved_session(app, user)
    phone = _saved_session(app, user)
    response = laptop.post(
        "/account",
        data={
            "password-current_password": "correct horse battery",
            "password-new_password": "a completely new one",
            "password-confirm": "a completely new one",
            "password-submit": "Change password",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302


def test_a_password_reset_ends_every_session(app, db, make_user):
    user = make_user("resetter")
    phone = _saved_session(app, user)
    token = accounts.make_reset_token(user)
    browser = app.test_client()
    response = browser.post(
        f"/reset/{token}", data={"password": "reset to this one", "confirm": "reset to this one"}
    )
    assert response.status_code == 302
    assert phone.get("/account").status_code == 302
    assert browser.get("/account").status_code == 200


@pytest.mark.parametrize("value", ["", "abc", "1:", ":1", "999999:1", "1:x", "x:1"])
def test_forged_session_ids_are_refused(app, make_user, value):
    make_user("forged")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = value
    assert client.get("/account").status_code == 302
