"""Issue #8 point 4: no account enumeration.

Sign-up and password reset answer the same way (status, headers, body once
the CSRF token and what was typed are taken out, the session's shape) for an
address that has an account and one that has none; the mails say the rest,
to the address's owner only. What a visitor can try afterwards (the same
username, signing in with what they typed) answers alike too.
"""

import html
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.extensions import limiter
from app.models import User
from app.services import accounts
from app.timeutil import utcnow
from tests.conftest import _empty_all_tables, make_test_app

PASSWORD = "a good long password"


def form(username: str, email: str, password: str = PASSWORD, **changes) -> dict:
    return {
        "username": username,
        "display_name": "Some Body",
        "email": email,
        "password": password,
        "confirm": password,
        **changes,
    }


@pytest.fixture
def csrf_app(_app, database_url):
    """An app with CSRF on, as in production, on the suite's database."""
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app
        _db.session.remove()
        _empty_all_tables()
    limiter.init_app(_app)


CSRF_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]*(")')


def csrf_token(client, path: str) -> str:
    match = CSRF_VALUE.search(client.get(path).get_data(as_text=True))
    assert match, "the form carries a CSRF token"
    return match.group(0).split('value="')[1].rstrip('"')


def post(client, path: str, data: dict, **kw):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, path)}, **kw)


def normalised(response, *typed: str) -> str:
    """The body without the CSRF token and without what the visitor typed."""
    text = CSRF_VALUE.sub(r"\1TOKEN\2", response.get_data(as_text=True))
    for value in typed:
        for form_ in {value, value.lower(), html.escape(value)}:
            text = text.replace(form_, "TYPED")
    return text


def session_shape(app, client) -> dict:
    """The session cookie's keys and the shape of each value (it is signed, not secret)."""
    cookie = client.get_cookie("session")
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    return {key: re.sub(r"[0-9a-f]", "h", re.sub(r"\d", "9", str(v))) for key, v in data.items()}


def confirm_path(mail) -> str:
    match = re.search(r"https?://[^/\s]+(/signup/confirm/[\w.\-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def confirm(client, mail, password: str | None = None, **kw):
    """Open a confirmation link and press its button (a GET alone confirms nothing)."""
    path = confirm_path(mail)
    opened = client.get(path, **kw)
    if opened.status_code != 200:
        return opened
    return client.post(path, data={"password": password or ""}, **kw)


KNOWN = ["confirmed", "confirmed, other case", "pending"]


def make_known(kind: str, make_user, app) -> str:
    """An address that has an account of the given kind; returns it as a visitor types it."""
    if kind == "pending":
        other = app.test_client()
        assert post(other, "/signup", form("earlier", "owner@example.org")).status_code == 200
        return "owner@example.org"
    make_user("owner", email="owner@example.org")
    return "Owner@Example.ORG" if "other case" in kind else "owner@example.org"


@pytest.mark.parametrize("kind", KNOWN)
def test_signup_answers_alike_for_a_known_and_an_unknown_address(
    csrf_app, make_user, mailbox, kind
):
    known_address = make_known(kind, make_user, csrf_app)
    mailbox.clear()
    answers = {}
    for name, username, address in (
        ("unknown", "probe_new", "fresh@example.org"),
        ("known", "probe_old", known_address),
    ):
        client = csrf_app.test_client()
        response = post(client, "/signup", form(username, address))
        answers[name] = (
            response.status_code,
            sorted(k for k, _ in response.headers if k != "Content-Length"),
            response.mimetype,
            normalised(response, username, address),
            session_shape(csrf_app, client),
        )
    assert answers["known"][0] == 200
    assert answers["known"] == answers["unknown"]
    assert "We have sent a link to" in answers["known"][3]

    # The mails tell each address's owner what they need to know.
    new_mail, old_mail = mailbox
    assert new_mail.to == "fresh@example.org" and "@probe_new" in new_mail.body
    assert "/signup/confirm/" in new_mail.body
    assert old_mail.to == "owner@example.org"
    if kind == "pending":
        # A link for the probe's own sign-up (the address's owner may be the one
        # who signs up later); the pending sign-up is not changed by it.
        assert "@probe_old" in old_mail.body and "@earlier" not in old_mail.body
        assert "/signup/confirm/" in old_mail.body
        earlier = accounts.find_by_username("earlier")
        assert earlier.email == "owner@example.org" and earlier.check_password(PASSWORD)
    else:
        assert "You already have an account, @owner" in old_mail.body
        assert "/login" in old_mail.body and "/reset" in old_mail.body
        assert "/signup/confirm/" not in old_mail.body
        owner = accounts.find_by_username("owner")
        assert owner.email_confirmed and owner.email == "owner@example.org"


@pytest.mark.parametrize("kind", KNOWN)
def test_what_a_visitor_tries_after_signing_up_answers_alike(csrf_app, make_user, mailbox, kind):
    """The probe's own sign-up holds its username either way, and signing in
    with what was typed answers the same: nothing tells the address was known."""
    known_address = make_known(kind, make_user, csrf_app)
    transcripts = {}
    for name, username, address in (
        ("unknown", "probe_new", "fresh@example.org"),
        ("known", "probe_old", known_address),
    ):
        first = csrf_app.test_client()
        assert post(first, "/signup", form(username, address)).status_code == 200
        other = csrf_app.test_client()
        steps = [
            post(other, "/signup", form(username.upper(), "else@example.org")),
            post(other, "/login", {"login": username, "password": PASSWORD}),
            post(other, "/login", {"login": address, "password": PASSWORD}),
            post(other, "/login", {"login": address, "password": "not the password"}),
            post(other, "/reset", {"email": address}, follow_redirects=True),
        ]
        transcripts[name] = [
            (r.status_code, normalised(r, username, username.upper(), address)) for r in steps
        ]
    assert transcripts["known"] == transcripts["unknown"]
    statuses = [status for status, _ in transcripts["known"]]
    assert statuses == [400, 400, 400, 400, 200]
    taken, by_name, by_address, wrong, _ = (text for _, text in transcripts["known"])
    assert "That username is taken." in html.unescape(taken)
    assert "Confirm your email address first" in by_name
    assert "do not match" in by_address and "do not match" in wrong


def test_reset_answers_alike_and_mails_either_way(csrf_app, make_user, mailbox):
    make_user("owner", email="owner@example.org")
    answers = {}
    for name, address in (("known", "Owner@example.org"), ("unknown", "nobody@example.org")):
        client = csrf_app.test_client()
        raw = post(client, "/reset", {"email": address})
        page = client.get(raw.headers["Location"])
        answers[name] = (
            raw.status_code,
            raw.headers["Location"],
            raw.get_data(as_text=True),
            page.status_code,
            normalised(page, address),
            session_shape(csrf_app, client),
        )
    assert answers["known"][0] == 302
    assert answers["known"] == answers["unknown"]
    known_mail, unknown_mail = mailbox
    assert known_mail.to == "owner@example.org" and "/reset/" in known_mail.body
    assert unknown_mail.to == "nobody@example.org" and "no account uses it" in unknown_mail.body
    assert "/reset/" not in unknown_mail.body.replace("/reset\n", "")


# --- The other paths of the decision -----------------------------------------------


def test_unconfirmed_sign_in_is_refused_and_the_link_sent_again(client, db, mailbox):
    assert client.post("/signup", data=form("waiting", "waiting@example.org")).status_code == 200
    mailbox.clear()
    response = client.post("/login", data={"login": "Waiting", "password": PASSWORD})
    assert response.status_code == 400
    text = html.unescape(response.get_data(as_text=True))
    assert "Confirm your email address first: we have sent a new link to it." in text
    assert 'value="Waiting"' in text
    [mail] = mailbox
    assert mail.to == "waiting@example.org"
    # The new link works (from another browser, with the sign-up's password).
    assert confirm(client, mail).status_code == 302
    assert client.get("/account").status_code == 200


def test_unconfirmed_sign_in_with_a_wrong_password_or_by_address_fails_plainly(client, mailbox):
    client.post("/signup", data=form("waiting", "waiting@example.org"))
    mailbox.clear()
    for login, password in (
        ("waiting", "not the password"),
        ("waiting@example.org", PASSWORD),
        ("nobody", PASSWORD),
    ):
        response = client.post("/login", data={"login": login, "password": password})
        assert response.status_code == 400
        text = html.unescape(response.get_data(as_text=True))
        assert "do not match" in text and "Confirm your email" not in text
    assert mailbox == []
    assert client.get("/account").status_code == 302


def test_a_strangers_signup_for_a_pending_address_does_not_change_it(app, db, mailbox):
    owner, stranger = app.test_client(), app.test_client()
    owner.post("/signup", data=form("alice", "alice@example.org"))
    response = stranger.post(
        "/signup", data=form("mallory", "ALICE@example.org", "mallory's password")
    )
    assert response.status_code == 200
    alice = accounts.find_by_username("alice")
    db.session.refresh(alice)
    assert alice.email == "alice@example.org" and alice.check_password(PASSWORD)
    assert alice.display_name == "Some Body"
    first, second = mailbox
    assert second.to == "alice@example.org" and "@mallory" in second.body
    # The stranger's row holds only its name.
    mallory = accounts.find_by_username("mallory")
    assert not mallory.has_address and not mallory.email_confirmed
    # The stranger's link, opened by the owner, asks for the stranger's password:
    # it neither confirms the stranger nor signs the owner in to it.
    response = confirm(owner, second, password=PASSWORD)
    assert response.status_code == 400
    assert "Give the password chosen for this sign-up" in page(response)
    db.session.refresh(mallory)
    assert not mallory.email_confirmed and not mallory.has_address
    # The owner's own link still confirms the owner's sign-up.
    assert confirm(owner, first).status_code == 302
    db.session.refresh(alice)
    assert alice.email_confirmed
    text = owner.get("/account").get_data(as_text=True)
    assert "alice@example.org" in text


def test_the_same_session_corrects_its_sign_up_and_sends_again(client, db, mailbox):
    client.post("/signup", data=form("alice", "alcie@example.org"))
    assert len(mailbox) == 1  # the worker sent the first link before the correction
    response = client.post("/signup", data=form("alice_b", "alice@example.org", "second password"))
    assert response.status_code == 200
    assert "We have sent a link to" in response.get_data(as_text=True)
    rows = db.session.scalars(sa.select(User)).all()
    assert len(rows) == 1
    [user] = rows
    assert (user.username, user.email) == ("alice_b", "alice@example.org")
    assert user.check_password("second password")
    typo, right = mailbox
    assert typo.to == "alcie@example.org" and right.to == "alice@example.org"
    # The first link belonged to the replaced sign-up.
    response = client.get(confirm_path(typo), follow_redirects=True)
    assert "not valid" in html.unescape(response.get_data(as_text=True))
    assert confirm(client, right).status_code == 302
    assert client.get("/account").status_code == 200


def test_a_sign_up_corrected_before_the_worker_ran_mails_only_the_right_address(
    client, db, mailbox
):
    client.post("/signup", data=form("alice", "alcie@example.org"))
    client.post("/signup", data=form("alice_b", "alice@example.org", "second password"))
    # The first mail, still in the outbox, belonged to the replaced sign-up: it
    # is not sent (neither its stale link nor a new one to the mistyped address).
    [right] = mailbox
    assert right.to == "alice@example.org" and "@alice_b" in right.body
    assert confirm(client, right).status_code == 302


def test_another_session_cannot_replace_a_pending_sign_up(app, db, mailbox):
    app.test_client().post("/signup", data=form("alice", "alice@example.org"))
    other = app.test_client()
    response = other.post("/signup", data=form("alice", "other@example.org"))
    assert response.status_code == 400
    assert "That username is taken." in html.unescape(response.get_data(as_text=True))
    assert accounts.find_by_username("alice").email == "alice@example.org"


def test_a_stale_pending_sign_up_is_reclaimed(app, db, mailbox):
    first = app.test_client()
    first.post("/signup", data=form("alice", "alice@example.org"))
    assert len(mailbox) == 1  # the worker sent its link days ago
    old = accounts.find_by_username("alice")
    old.created_at = utcnow() - timedelta(seconds=app.config["SIGNUP_CONFIRM_MAX_AGE"] + 60)
    db.session.commit()
    second = app.test_client()
    response = second.post("/signup", data=form("ALICE", "newalice@example.org"))
    assert response.status_code == 200
    db.session.expire_all()
    [user] = db.session.scalars(sa.select(User)).all()
    assert (user.username, user.email) == ("ALICE", "newalice@example.org")
    # The old sign-up's link died with it.
    response = first.get(confirm_path(mailbox[0]), follow_redirects=True)
    assert "not valid" in html.unescape(response.get_data(as_text=True))
    # And the first browser cannot reach the new sign-up either.
    first.post("/signup", data=form("alice", "third@example.org"))
    assert accounts.find_by_username("alice").email == "newalice@example.org"


def test_a_password_reset_confirms_a_pending_sign_up(client, db, mailbox):
    client.post("/signup", data=form("forgetful", "forgetful@example.org"))
    client.post("/reset", data={"email": "forgetful@example.org"})
    match = re.search(r"(/reset/[\w.\-]+)", mailbox[-1].body)
    assert match
    response = client.post(
        match.group(1), data={"password": "a fresh password", "confirm": "a fresh password"}
    )
    assert response.status_code == 302
    user = accounts.find_by_username("forgetful")
    db.session.refresh(user)
    assert user.email_confirmed
    assert client.get("/account").status_code == 200


def test_unconfirmed_sign_ups_are_no_members_yet(app, client, db, auth, make_user, mailbox):
    app.test_client().post("/signup", data=form("waiting", "waiting@example.org"))
    assert client.get("/users/waiting").status_code == 404
    admin = make_user("boss", role=accounts.Role.admin)
    auth.login(admin)
    response = client.post(
        "/moderation/roles", data={"username": "waiting", "role": "moderator", "reason": "x"}
    )
    assert response.status_code == 400
    assert "There is no member with that username." in page(response)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_simultaneous_signups_for_one_address_give_it_to_one_sign_up(app, db, mailbox):
    count = 8
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def sign_up(i: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = client.post("/signup", data=form(f"racer{i}", "Shared@example.org"))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [200] * count
    db.session.expire_all()
    holders = db.session.scalars(sa.select(User).where(User.email == "shared@example.org")).all()
    assert len(holders) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == count
    # Every mail is a link for the sign-up that asked for it; one holds the address.
    assert len(mailbox) == count
    assert {m.to for m in mailbox} == {"shared@example.org"}
    assert sorted(re.search(r"@(racer\d)", m.body).group(1) for m in mailbox) == sorted(
        f"racer{i}" for i in range(count)
    )
