"""Members' control of their data (/account): change email, download data, delete account."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.checks import run_checks
from app.models import Comment, CommentStatus, Cosignature, CosignEvent, Proposal, User
from app.names import FORMER_MEMBER
from app.services import account_data, accounts
from app.services import moderation as mod
from app.timeutil import utcnow
from tests.conftest import DEFAULT_PASSWORD
from tests.fixtures.proposals import active_count, stored_count


def link_in(mail, path: str) -> str:
    match = re.search(r"https?://[^/\s]+(" + path + r"[\w.\-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


# --- Change of address --------------------------------------------------------------


def test_change_email_is_confirmed_by_a_link_and_the_old_address_is_told(
    client, auth, db, make_user, mailbox
):
    user = make_user("vera")
    auth.login(user)
    response = client.post(
        "/account",
        data={"email-email": "New@Example.org", "email-current_password": DEFAULT_PASSWORD,
              "email-submit": "Send"},
    )  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email == "vera@example.org"  # nothing changes before the link
    to_new = next(m for m in mailbox if m.to == "new@example.org")
    assert any(m.to == "vera@example.org" for m in mailbox)
    path = link_in(to_new, "/account/email/")
    assert client.get(path).status_code == 200  # a page with a button
    db.session.refresh(user)
    assert user.email == "vera@example.org"
    mailbox.clear()
    assert client.post(path).status_code == 302
    db.session.refresh(user)
    assert user.email == "new@example.org"
    assert [m.to for m in mailbox] == ["vera@example.org"]
    assert "new@example.org" in mailbox[0].body
    # The link works once.
    response = client.post(path, follow_redirects=True)
    assert "not valid any more" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("new@example.org", "wrong password", "current password is not right"),
        ("not-an-address", DEFAULT_PASSWORD, "not a valid email"),
        ("vera@example.org", DEFAULT_PASSWORD, "your address already"),
        ("", DEFAULT_PASSWORD, "Give your email"),
    ],
)
def test_change_email_errors_keep_what_was_typed(
    client, auth, make_user, mailbox, email, password, message
):
    auth.login(make_user("vera"))
    response = client.post(
        "/account",
        data={"email-email": email, "email-current_password": password, "email-submit": "Send"},
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body and f'value="{email}"' in body
    assert mailbox == []


def test_another_members_link_or_a_taken_address_changes_nothing(
    client, auth, db, make_user, mailbox
):
    vera, walt = make_user("vera"), make_user("walt")
    address = account_data.request_email_change(vera, "walt@example.org", DEFAULT_PASSWORD)
    token = account_data.email_change_token(vera, address)
    auth.login(walt)
    client.post(f"/account/email/{token}")
    auth.logout()
    auth.login(vera)
    response = client.post(f"/account/email/{token}")
    assert response.status_code == 400
    db.session.refresh(vera)
    assert vera.email == "vera@example.org"


# --- Download my data ---------------------------------------------------------------


def test_download_my_data_holds_everything(
    client, auth, db, make_user, make_proposal, cosign_as, make_comment
):
    vera = make_user("vera")
    own = make_proposal(author=vera, title="Vera's proposal")
    other = make_proposal(title="Someone else's")
    cosign_as(other, vera)
    comment = make_comment(thread=other.thread, author=vera, body="Vera's comment")
    reported = make_comment(thread=other.thread, author=other.author, body="Rude")
    mod.report_content(vera, reported, "abuse", "Vera's note")
    db.session.commit()
    auth.login(vera)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["profile"]["username"] == "vera" and data["profile"]["email"]
    assert [p["title"] for p in data["proposals"]] == ["Vera's proposal"]
    assert data["proposals"][0]["versions"][0]["number"] == 1
    assert data["cosignatures"][0]["proposal_id"] == other.id
    assert data["cosignatures"][0]["signed_at"]
    assert data["cosign_events"][0]["kind"] == "sign"
    assert [c["body"] for c in data["comments"]] == ["Vera's comment"]
    assert data["reports"][0]["note"] == "Vera's note"
    assert isinstance(data["notifications"], list)
    assert own.id and comment.id
    assert client.get("/account/data.json").status_code == 200
    auth.logout()
    assert client.get("/account/data.json").status_code == 302


# --- Delete my account ---------------------------------------------------------------


@pytest.fixture
def leaving(db, make_user, make_round, make_proposal, cosign_as, make_comment):
    vera = make_user("vera", display_name="Vera Leaving")
    closed_round = make_round()
    open_round = make_round()
    signed_open = [make_proposal(round=open_round) for _ in range(3)]
    signed_closed = make_proposal(round=closed_round)
    for proposal in [*signed_open, signed_closed]:
        cosign_as(proposal, vera)
    closed_round.cosign_deadline = utcnow() - timedelta(minutes=1)
    own = make_proposal(round=open_round, author=vera, title="Vera's own")
    comment = make_comment(thread=own.thread, author=vera, body="Vera's words")
    db.session.commit()
    return type("L", (), dict(locals()))


@pytest.mark.parametrize("delete_content", [False, True])
def test_deleting_the_account_anonymises_and_unsigns(client, auth, db, leaving, delete_content):
    vera = leaving.vera
    auth.login(vera)
    data = {"delete-password": DEFAULT_PASSWORD, "delete-submit": "Delete"}
    if delete_content:
        data["delete-delete_content"] = "y"
    response = client.post("/account/delete", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    vera = db.session.get(User, vera.id)
    assert vera.deleted_at and vera.display_name == FORMER_MEMBER
    assert not vera.has_address and not vera.check_password(DEFAULT_PASSWORD)
    for proposal in leaving.signed_open:
        assert active_count(db, proposal.id) == 0 and stored_count(db, proposal.id) == 1
        kinds = db.session.scalars(
            sa.select(CosignEvent.kind).where(CosignEvent.proposal_id == proposal.id)
        ).all()
        assert [k.value for k in kinds] == ["sign", "unsign"]
    # A closed round's result is the record: that co-signature stays.
    assert active_count(db, leaving.signed_closed.id) == 1
    db.session.commit()
    assert run_checks().problems == []  # `flask check` is clean
    comment = db.session.get(Comment, leaving.comment.id)
    own = db.session.get(Proposal, leaving.own.id)
    if delete_content:
        assert comment.status == CommentStatus.deleted and own.state.value == "withdrawn"
    else:
        assert comment.status == CommentStatus.published and own.state.value == "open"
        page = client.get(f"/proposals/{own.id}").get_data(as_text=True)
        assert FORMER_MEMBER in page and "Vera Leaving" not in page and "@vera" not in page
        data = client.get(f"/proposals/{own.id}", headers={"Accept": "application/json"})
        assert data.get_json()["author"] == {"username": None, "display_name": FORMER_MEMBER}
    # Signed out, cannot sign in, no profile.
    assert client.get("/account").status_code == 302
    assert (
        client.post("/login", data={"login": "vera", "password": DEFAULT_PASSWORD}).status_code
        == 400
    )
    assert client.get("/users/vera").status_code == 404


@pytest.mark.parametrize("password", ["", "wrong password"])
def test_deleting_needs_the_password(client, auth, db, leaving, password):
    auth.login(leaving.vera)
    response = client.post(
        "/account/delete", data={"delete-password": password, "delete-submit": "Delete"}
    )
    assert response.status_code == 400
    db.session.refresh(leaving.vera)
    assert leaving.vera.deleted_at is None
    assert active_count(db, leaving.signed_open[0].id) == 1


def test_the_username_is_free_after_the_cooling_off_period(app, db, leaving):
    account_data.delete_account(leaving.vera, DEFAULT_PASSWORD)
    db.session.commit()
    with pytest.raises(Exception, match="taken"):
        accounts.sign_up("vera", "new-vera@example.org", "a long password", "New Vera")
    db.session.rollback()
    days = app.config["ACCOUNT_USERNAME_COOLING_DAYS"]
    leaving.vera.deleted_at = utcnow() - timedelta(days=days + 1)
    db.session.commit()
    result = accounts.sign_up("vera", "new-vera@example.org", "a long password", "New Vera")
    db.session.commit()
    assert result.pending.username == "vera" and result.pending.id != leaving.vera.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Cosignature)) == 4
