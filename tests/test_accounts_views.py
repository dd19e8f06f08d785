"""Sign-up, sign-in, sign-out and account pages, through HTTP."""

import html
import re
from urllib.parse import urljoin, urlsplit

import pytest

from app.mail import deliver_due
from app.models import User
from app.services import accounts

GOOD = {
    "username": "newcomer",
    "display_name": "New Comer",
    "email": "newcomer@example.org",
    "password": "a good long password",
    "confirm": "a good long password",
}


def signup(client, **changes):
    return client.post("/signup", data={**GOOD, **changes})


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def confirm_link(mail) -> str:
    match = re.search(r"https?://[^/\s]+(/signup/confirm/[\w.\-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_signup_sends_a_link_and_the_link_signs_in(client, db, mailbox):
    response = signup(client)
    assert response.status_code == 200
    text = page_text(response)
    assert (
        "We have sent a link to newcomer@example.org. Follow it to finish signing up. "
        "(Wrong address? Correct it below and send the form again.)"
    ) in " ".join(text.replace("<strong>", "").replace("</strong>", "").split())
    for field in ("username", "display_name", "email"):
        assert f'value="{GOOD[field]}"' in text, field
    assert GOOD["password"] not in text
    user = db.session.scalar(db.select(User).filter_by(username_key="newcomer"))
    assert user.display_name == "New Comer" and not user.email_confirmed
    # Not signed in until the address is confirmed.
    assert client.get("/account").status_code == 302
    [mail] = mailbox
    assert mail.to == "newcomer@example.org"
    assert "@newcomer" in mail.body
    link = confirm_link(mail)
    # Opening the link only shows a button naming the sign-up.
    opened = client.get(link)
    assert opened.status_code == 200 and "@newcomer" in page_text(opened)
    db.session.refresh(user)
    assert not user.email_confirmed
    assert client.get("/account").status_code == 302
    response = client.post(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Welcome to Plenary, New Comer" in page_text(client.get("/"))
    assert client.get("/account").status_code == 200
    db.session.refresh(user)
    assert user.email_confirmed
    # The link works once.
    client.post("/logout")
    response = client.get(link, follow_redirects=True)
    assert "confirmed already: sign in" in page_text(response)
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize(
    "token, message",
    [
        ("garbage", "not valid"),
        ("a.b.c", "not valid"),
        ("x" * 400, "not valid"),
        ("%00", "Not found"),
    ],
)
def test_bad_confirm_links_get_a_message_not_a_500(client, token, message):
    response = client.get(f"/signup/confirm/{token}", follow_redirects=True)
    assert response.status_code in (200, 404)
    assert message in page_text(response)


def test_expired_and_tampered_confirm_links_are_refused(app, client, db, mailbox, monkeypatch):
    signup(client)
    link = confirm_link(mailbox[0])
    tampered = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    response = client.get(tampered, follow_redirects=True)
    assert "not valid" in page_text(response)
    monkeypatch.setitem(app.config, "SIGNUP_CONFIRM_MAX_AGE", -1)
    response = client.get(link, follow_redirects=True)
    assert response.status_code == 200
    assert "has expired" in page_text(response)
    assert client.get("/account").status_code == 302
    user = db.session.scalar(db.select(User).filter_by(username_key="newcomer"))
    assert not user.email_confirmed


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"username": ""}, "Choose a username."),
        ({"display_name": ""}, "Give the name other members will see."),
        ({"email": ""}, "Give your email address."),
        ({"password": "", "confirm": ""}, "Choose a password."),
        ({"username": "u" * 40}, "longer than 32"),
        ({"display_name": "d" * 81}, "longer than 80"),
        ({"email": ("e" * 250) + "@example.org"}, "longer than 254"),
        ({"password": "p" * 300, "confirm": "p" * 300}, "between 8 and 256"),
        ({"username": "bad\x00name"}, "control characters"),
        ({"display_name": "Name\x1b[31m"}, "control characters"),
        ({"username": "has space"}, "Use letters, digits"),
        ({"confirm": "something else"}, "The passwords differ."),
        ({"email": "not-an-email"}, "not a valid email address"),
        ({"email": "two@@example.org"}, "not a valid email address"),
    ],
)
def test_signup_bad_input_shows_a_message_and_keeps_what_was_typed(client, db, changes, message):
    response = signup(client, **changes)
    assert response.status_code == 400
    text = page_text(response)
    assert message in text
    data = {**GOOD, **changes}
    # What was typed is still in the form (control characters aside); passwords are not.
    for field in ("username", "display_name", "email"):
        if data[field] and "\x00" not in data[field] and "\x1b" not in data[field]:
            assert f'value="{data[field]}"' in text, field
    assert GOOD["password"] not in text
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_signup_refuses_a_username_taken_in_another_case(client, db, make_user):
    make_user("taken", email="taken@example.org")
    response = signup(client, username="TAKEN")
    assert response.status_code == 400
    text = page_text(response)
    assert "That username is taken." in text
    assert 'value="TAKEN"' in text
    assert 'value="newcomer@example.org"' in text


def test_signup_form_errors_are_tied_to_their_fields(client, db):
    response = signup(client, username="")
    text = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in text
    assert re.search(r'aria-describedby="[^"]*username-error', text)


def test_login_and_logout(client, auth, make_user):
    user = make_user("olga")
    response = auth.login(user)
    assert response.status_code == 302
    assert "Olga" in page_text(client.get("/account"))
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_login_wrong_password_keeps_the_login(client, make_user):
    make_user("pat")
    response = client.post("/login", data={"login": "pat", "password": "not it at all"})
    assert response.status_code == 400
    text = page_text(response)
    assert "do not match" in text
    assert 'value="pat"' in text


def test_login_renews_the_session(client, make_user):
    user = make_user("quin")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"login": user.username, "password": "correct horse battery"})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_version}"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\t/evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "///evil.example",
        " //evil.example",
        "/%09/evil.example",
    ],
)
def test_login_next_never_leaves_the_site(client, make_user, target):
    make_user("rita")
    response = client.post(
        "/login", data={"login": "rita", "password": "correct horse battery", "next": target}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    # What a browser would do with it: strip tabs and newlines, read "\\" as "/".
    browser_view = location.replace("\t", "").replace("\n", "").replace("\\", "/")
    assert urlsplit(urljoin("http://plenary.test/", browser_view)).netloc == "plenary.test"
    assert location.startswith("/") and not location.startswith("//"), location


def test_login_next_returns_to_a_page_of_the_site(client, make_user):
    make_user("sam")
    response = client.post(
        "/login",
        data={"login": "sam", "password": "correct horse battery", "next": "/account?tab=x"},
    )
    assert response.headers["Location"] == "/account?tab=x"


def test_login_page_carries_next_from_the_query(client):
    text = page_text(client.get("/login?next=/account"))
    assert 'value="/account"' in text


def test_change_password_through_the_account_page(client, auth, make_user, db):
    user = make_user("tess")
    auth.login(user)
    response = client.post(
        "/account",
        data={
            "password-current_password": "wrong password",
            "password-new_password": "another good password",
            "password-confirm": "another good password",
            "password-submit": "Change password",
        },
    )
    assert response.status_code == 400
    assert "current password is not right" in page_text(response)
    response = client.post(
        "/account",
        data={
            "password-current_password": "correct horse battery",
            "password-new_password": "another good password",
            "password-confirm": "another good password",
            "password-submit": "Change password",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("another good password")
    # This session goes on.
    assert client.get("/account").status_code == 200


def test_display_name_change_keeps_typed_text_on_error(client, auth, make_user):
    auth.login(make_user("uma"))
    response = client.post(
        "/account", data={"profile-display_name": "x" * 81, "profile-submit": "Save"}
    )
    assert response.status_code == 400
    assert 'value="' + "x" * 81 + '"' in page_text(response)


def test_reset_flow_end_to_end(client, make_user, db, caplog):
    user = make_user("vera")
    with caplog.at_level("INFO"):
        response = client.post("/reset", data={"email": "VERA@example.org"})
        assert response.status_code == 302
        # The request only queued the mail: the worker sends it (here, to the log).
        assert not re.search(r"/reset/[\w.\-]+", caplog.text)
        db.session.commit()
        deliver_due()
    match = re.search(r"(/reset/[\w.\-]+)", caplog.text)
    assert match, "the worker writes the reset link to the log when no mail server is set"
    link = match.group(1)
    assert client.get(link).status_code == 200
    response = client.post(
        link, data={"password": "fresh password 1", "confirm": "fresh password 1"}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("fresh password 1")
    # A second use of the same link is refused.
    client.post("/logout")
    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/reset")


def test_reset_answers_the_same_for_unknown_email(client, make_user):
    make_user("walt")
    known = client.post("/reset", data={"email": "walt@example.org"}, follow_redirects=True)
    unknown = client.post("/reset", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert page_text(known) == page_text(unknown)


def test_reset_token_cannot_be_reused_after_password_change(client, make_user, db):
    user = make_user("xena", password="xena first pass")
    token = accounts.make_reset_token(user)
    accounts.change_password(user, "xena first pass", "xena second pass")
    db.session.commit()
    response = client.post(
        f"/reset/{token}", data={"password": "xena third pass", "confirm": "xena third pass"}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("xena second pass")


def test_suspended_member_signs_in_and_sees_why(client, auth, make_user):
    from datetime import timedelta

    from app.timeutil import utcnow

    user = make_user(
        "yuri", suspended_until=utcnow() + timedelta(days=3), suspension_reason="Repeated abuse"
    )
    auth.login(user)
    text = page_text(client.get("/"))
    assert "suspended until" in text
    assert "Repeated abuse" in text


@pytest.mark.parametrize("path", ["/nowhere", "/users/../../etc/passwd", "/reset/%00"])
def test_unknown_pages_get_the_site_404(client, path):
    response = client.get(path)
    assert response.status_code in (302, 404)
    if response.status_code == 404:
        assert "Not found" in page_text(response)
