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
