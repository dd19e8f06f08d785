"""Account rules, tested on the services directly."""

import pytest

from app.errors import PermissionDenied, ValidationError
from app.models import Role, User
from app.services import accounts
from app.timeutil import utcnow


def test_register_user_normalises_and_hashes(db):
    user = accounts.register_user("Alice_B", "Alice@Example.ORG", "long enough pw", "Alice B")
    db.session.commit()
    assert user.username == "Alice_B"
    assert user.username_key == "alice_b"
    assert user.email == "alice@example.org"
    assert user.password_hash.startswith("scrypt:")
    assert "long enough pw" not in user.password_hash
    assert user.check_password("long enough pw")
    assert not user.check_password("long enough PW")
    assert user.role == Role.member


@pytest.mark.parametrize(
    "username, email, message",
    [
        ("ALICE", "other@example.org", "username is taken"),
        ("bob", "ALICE@example.org", "email exists"),
    ],
)
def test_register_user_refuses_duplicates_in_other_case(db, username, email, message):
    accounts.register_user("alice", "alice@example.org", "long enough pw")
    with pytest.raises(ValidationError, match=message):
        accounts.register_user(username, email, "long enough pw")


@pytest.mark.parametrize(
    "username, field",
    [("", "username"), ("a" * 33, "username"), ("bad name", "username"), ("-lead", "username")],
)
def test_register_user_refuses_bad_usernames(db, username, field):
    with pytest.raises(ValidationError) as info:
        accounts.register_user(username, "x@example.org", "long enough pw")
    assert info.value.field == field


def test_register_user_refuses_short_password(db):
    with pytest.raises(ValidationError, match="at least 8"):
        accounts.register_user("carol", "carol@example.org", "short")


def test_display_name_refuses_control_characters(db):
    with pytest.raises(ValidationError, match="control characters"):
        accounts.register_user("dave", "dave@example.org", "long enough pw", "Da\x07ve")


def test_authenticate_by_username_or_email(db, make_user):
    user = make_user("erin", password="erin's password")
    assert accounts.authenticate("ERIN", "erin's password") == user
    assert accounts.authenticate("erin@example.org", "erin's password") == user
    assert accounts.authenticate("erin", "wrong password") is None
    assert accounts.authenticate("nobody", "erin's password") is None


def test_change_password_checks_current_and_ends_sessions(db, make_user):
    user = make_user("frank", password="first password")
    version = user.session_version
    with pytest.raises(ValidationError, match="current password"):
        accounts.change_password(user, "wrong", "second password")
    accounts.change_password(user, "first password", "second password")
    db.session.commit()
    assert user.check_password("second password")
    assert user.session_version == version + 1


def test_reset_token_works_once(db, make_user):
    user = make_user("gina")
    token = accounts.make_reset_token(user)
    assert accounts.user_for_reset_token(token) == user
    accounts.reset_password(token, "a brand new password")
    db.session.commit()
    assert user.check_password("a brand new password")
    assert accounts.user_for_reset_token(token) is None
    with pytest.raises(ValidationError, match="invalid, expired or already used"):
        accounts.reset_password(token, "yet another password")


def test_reset_token_expires(app, db, make_user, monkeypatch):
    user = make_user("hal")
    token = accounts.make_reset_token(user)
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)
    assert accounts.user_for_reset_token(token) is None


def test_reset_token_dies_when_password_changes(db, make_user):
    user = make_user("ivy", password="ivy's old password")
    token = accounts.make_reset_token(user)
    accounts.change_password(user, "ivy's old password", "ivy's new password")
    db.session.commit()
    assert accounts.user_for_reset_token(token) is None


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 500])
def test_reset_token_garbage_is_refused(db, token):
    assert accounts.user_for_reset_token(token) is None


def test_set_role_needs_an_admin(db, make_user):
    member = make_user("jo")
    moderator = make_user("kim", role=Role.moderator)
    admin = make_user("lee", role=Role.admin)
    with pytest.raises(PermissionDenied):
        accounts.set_role(member, Role.moderator, actor=moderator)
    with pytest.raises(PermissionDenied, match="own role"):
        accounts.set_role(admin, Role.member, actor=admin)
    accounts.set_role(member, Role.moderator, actor=admin)
    assert member.role == Role.moderator


def test_suspension_is_a_time_window(db, make_user):
    from datetime import timedelta

    user = make_user("max", suspended_until=utcnow() + timedelta(days=1))
    assert user.is_suspended()
    assert not user.can_write()
    assert not user.is_suspended(utcnow() + timedelta(days=2))
    assert db.session.get(User, user.id).suspended_until is not None


# --- Sign-up with a confirmed address (no account enumeration) ----------------------


def signed_up(username="newbie", email="newbie@example.org", password="newbie password", **kw):
    return accounts.sign_up(username, email, password, kw.pop("display_name", None), **kw)


def test_register_user_makes_confirmed_accounts(db):
    user = accounts.register_user("cli_made", "cli@example.org", "long enough pw")
    assert user.email_confirmed


def test_sign_up_new_address_makes_an_unconfirmed_account_holding_it(db):
    result = signed_up(email="Newbie@Example.ORG")
    db.session.commit()
    pending = result.pending
    assert result.holder is pending and result.address_was_free
    assert pending.email == "newbie@example.org" and pending.has_address
    assert not pending.email_confirmed
    assert pending.check_password("newbie password")


def test_sign_up_known_address_leaves_the_account_alone(db, make_user):
    owner = make_user("owner", email="owner@example.org")
    before = (owner.username, owner.email, owner.password_hash, owner.session_version)
    result = signed_up("stranger", "OWNER@example.org", "stranger password")
    db.session.commit()
    db.session.refresh(owner)
    assert result.holder == owner
    assert (owner.username, owner.email, owner.password_hash, owner.session_version) == before
    # The stranger's sign-up holds its username, with no address anybody can type.
    assert result.pending.username == "stranger"
    assert not result.pending.has_address and not result.pending.email_confirmed


def test_sign_up_for_a_pending_address_never_changes_that_sign_up(db):
    first = signed_up("alice", "alice@example.org", "alice password").pending
    db.session.commit()
    result = signed_up("mallory", "ALICE@example.org", "mallory password")
    db.session.commit()
    db.session.refresh(first)
    assert result.holder == first
    assert first.username == "alice" and first.email == "alice@example.org"
    assert first.check_password("alice password")
    assert result.pending.username == "mallory" and not result.pending.has_address


def test_sign_up_does_the_same_work_for_known_and_unknown_addresses(
    db, make_user, query_counter, monkeypatch
):
    import app.models.user as user_module

    make_user("owner", email="owner@example.org")
    hashes = []
    real_hash = user_module.generate_password_hash
    monkeypatch.setattr(
        user_module,
        "generate_password_hash",
        lambda *a, **k: hashes.append(1) or real_hash(*a, **k),
    )
    work = {}
    for name, address in (("known", "owner@example.org"), ("unknown", "fresh@example.org")):
        hashes.clear()
        with query_counter() as counted:
            result = signed_up(f"someone_{name}", address)
            db.session.commit()
        work[name] = (len(hashes), [s.split()[0] for s in counted.statements])
        assert result.address_was_free == (name == "unknown")
    # One hash each, and the same statements: free the usernames of accounts
    # deleted long enough ago, reclaim stale, find by name, look for a member
    # whose display name looks the same, find by address, insert the row.
    assert work["known"] == work["unknown"]
    assert work["known"][0] == 1
    assert [s for s in work["known"][1] if s not in ("SAVEPOINT", "RELEASE")] == [
        "UPDATE",
        "DELETE",
        "SELECT",
        "SELECT",
        "SELECT",
        "INSERT",
    ]


def test_resume_replaces_the_sessions_own_pending_sign_up(db, make_user):
    make_user("owner", email="owner@example.org")
    pending = signed_up("typo_name", "typo@example.org", "first password").pending
    db.session.commit()
    again = accounts.sign_up(
        "right_name", "right@example.org", "second password", "Right", resume=pending
    )
    db.session.commit()
    assert again.pending.id == pending.id and again.holder is again.pending
    assert (pending.username, pending.email, pending.display_name) == (
        "right_name",
        "right@example.org",
        "Right",
    )
    assert pending.check_password("second password")
    # The old name and address are free again.
    assert accounts.find_by_username("typo_name") is None
    assert accounts.find_by_email("typo@example.org") is None
    # Corrected to an address that has an account: that account is untouched and
    # the pending sign-up lets go of its own address.
    third = accounts.sign_up("right_name", "owner@example.org", "third password", resume=pending)
    db.session.commit()
    assert third.holder.username == "owner"
    assert third.pending.id == pending.id and not pending.has_address
    assert accounts.find_by_email("right@example.org") is None


def test_a_confirmed_account_is_never_resumed(db, make_user):
    owner = make_user("owner", email="owner@example.org")
    result = accounts.sign_up("other", "other@example.org", "other password", resume=owner)
    db.session.commit()
    assert result.pending.id != owner.id
    db.session.refresh(owner)
    assert owner.username == "owner"


def test_a_taken_username_is_refused_in_any_case(db, make_user):
    make_user("taken")
    signed_up("pending_one", "p1@example.org")
    with pytest.raises(ValidationError, match="username is taken") as info:
        signed_up("TAKEN", "x@example.org")
    assert info.value.field == "username"
    with pytest.raises(ValidationError, match="username is taken"):
        signed_up("Pending_One", "y@example.org")


def age(db, user, seconds):
    from datetime import timedelta

    user.created_at = utcnow() - timedelta(seconds=seconds)
    db.session.commit()


def test_stale_pending_sign_ups_give_back_their_name_and_address(app, db):
    max_age = app.config["SIGNUP_CONFIRM_MAX_AGE"]
    by_name = signed_up("oldname", "old1@example.org").pending
    by_address = signed_up("other", "old2@example.org").pending
    fresh = signed_up("freshname", "fresh@example.org").pending
    age(db, by_name, max_age + 60)
    age(db, by_address, max_age + 60)
    age(db, fresh, max_age - 60)
    old_ids = {by_name.id, by_address.id}
    fresh_id = fresh.id
    first = signed_up("OldName", "new1@example.org").pending
    second = signed_up("newer", "OLD2@example.org")
    db.session.commit()
    assert first.username == "OldName"
    assert second.address_was_free and second.pending.email == "old2@example.org"
    ids = set(db.session.scalars(db.select(User.id)))
    assert fresh_id in ids and first.id not in old_ids
    assert accounts.find_by_email("old1@example.org") is None
    assert accounts.find_by_username("other") is None
    with pytest.raises(ValidationError, match="username is taken"):
        signed_up("freshname", "else@example.org")


def test_a_confirmed_account_is_never_reclaimed(app, db, make_user):
    from datetime import timedelta

    make_user("veteran", created_at=utcnow() - timedelta(days=400))
    with pytest.raises(ValidationError, match="username is taken"):
        signed_up("veteran", "v2@example.org")


def test_pending_ref_names_the_sign_up_until_it_changes(app, db):
    pending = signed_up().pending
    db.session.commit()
    ref = accounts.pending_ref(pending)
    assert accounts.pending_for_ref(ref) == pending
    ident, _, key = ref.partition(".")
    assert accounts.pending_for_ref(f"{ident}.{'0' * len(key)}") is None
    for garbage in (None, 7, "", "x.y", "..", "9" * 40 + ".ab"):
        assert accounts.pending_for_ref(garbage) is None
    # Another password (a replacement, a reset) or the age limit ends it.
    age(db, pending, app.config["SIGNUP_CONFIRM_MAX_AGE"] + 1)
    assert accounts.pending_for_ref(ref) is None
    age(db, pending, 0)
    pending.set_password("another password")
    assert accounts.pending_for_ref(ref) is None
    ref = accounts.pending_ref(pending)
    accounts.confirm_email(accounts.make_confirm_token(pending))
    assert accounts.pending_for_ref(ref) is None


def test_confirm_link_works_once(db):
    pending = signed_up().pending
    db.session.commit()
    token = accounts.make_confirm_token(pending)
    assert accounts.confirm_email(token) == pending
    db.session.commit()
    assert pending.email_confirmed
    with pytest.raises(ValidationError, match="confirmed already"):
        accounts.confirm_email(token)


def test_confirm_link_expires(app, db, monkeypatch):
    pending = signed_up().pending
    db.session.commit()
    token = accounts.make_confirm_token(pending)
    monkeypatch.setitem(app.config, "SIGNUP_CONFIRM_MAX_AGE", -1)
    with pytest.raises(ValidationError, match="expired"):
        accounts.confirm_email(token)
    assert not pending.email_confirmed


def test_confirm_link_with_a_bad_signature_or_another_purpose_is_refused(app, db, monkeypatch):
    pending = signed_up().pending
    db.session.commit()
    token = accounts.make_confirm_token(pending)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    reset_token = accounts.make_reset_token(pending)
    for bad in (tampered, reset_token, "", "garbage", "a.b.c", "x" * 500):
        with pytest.raises(ValidationError, match="not valid"):
            accounts.confirm_email(bad)
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-key-entirely")
    with pytest.raises(ValidationError, match="not valid"):
        accounts.confirm_email(token)
    assert not pending.email_confirmed


def test_confirm_link_of_a_replaced_sign_up_is_refused(db):
    pending = signed_up("typo", "typo@example.org").pending
    db.session.commit()
    old_token = accounts.make_confirm_token(pending)
    accounts.sign_up("typo", "right@example.org", "newbie password", resume=pending)
    db.session.commit()
    with pytest.raises(ValidationError, match="not valid"):
        accounts.confirm_email(old_token)
    assert accounts.confirm_email(accounts.make_confirm_token(pending)) == pending


def test_authenticate_an_unconfirmed_sign_up_by_username_only(db):
    pending = signed_up("waiting", "waiting@example.org", "waiting password").pending
    db.session.commit()
    user = accounts.authenticate("WAITING", "waiting password")
    assert user == pending and not user.email_confirmed
    # Its address is not a login until confirmed: it may be someone else's.
    assert accounts.authenticate("waiting@example.org", "waiting password") is None
    assert accounts.authenticate("waiting", "wrong password") is None


def test_a_password_reset_confirms_the_address(db):
    pending = signed_up().pending
    db.session.commit()
    accounts.reset_password(accounts.make_reset_token(pending), "a reset password")
    db.session.commit()
    assert pending.email_confirmed
    assert accounts.authenticate("newbie@example.org", "a reset password") == pending
