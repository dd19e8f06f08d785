"""Accounts: sign-up, credentials, password reset, roles."""

import hashlib
import hmac
import re
import unicodedata
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models.user import (
    DISPLAY_NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    Role,
    User,
    normalise_email,
    username_key,
)
from ..timeutil import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_USERNAMES = frozenset({"admin", "administrator", "moderator", "plenary", "root", "system"})
RESET_SALT = "plenary.password-reset"


def has_control_chars(value: str) -> bool:
    """True if the text holds control or format characters (newlines excepted)."""
    return any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} and ch not in "\n\r\t" for ch in value
    )


def check_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise ValidationError("Choose a username.", field="username")
    if len(username) > USERNAME_MAX:
        raise ValidationError(
            f"A username has at most {USERNAME_MAX} characters.", field="username"
        )
    if not USERNAME_RE.match(username):
        raise ValidationError(
            "Use letters, digits, '.', '_' or '-' in a username, starting with a letter or digit.",
            field="username",
        )
    return username


def check_display_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Give the name other members will see.", field="display_name")
    if len(name) > DISPLAY_NAME_MAX:
        raise ValidationError(
            f"A display name has at most {DISPLAY_NAME_MAX} characters.", field="display_name"
        )
    if has_control_chars(name):
        raise ValidationError("The display name holds control characters.", field="display_name")
    return name


def check_password(password: str, field: str = "password") -> str:
    if len(password) < PASSWORD_MIN:
        raise ValidationError(f"Use at least {PASSWORD_MIN} characters.", field=field)
    if len(password) > PASSWORD_MAX:
        raise ValidationError(f"Use at most {PASSWORD_MAX} characters.", field=field)
    return password


def find_by_username(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username_key == username_key(username)))


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def find_by_login(login: str) -> User | None:
    """The member whose username or email is `login`."""
    login = login.strip()
    return find_by_email(login) if "@" in login else find_by_username(login)


def register_user(
    username: str,
    email: str,
    password: str,
    display_name: str | None = None,
    role: Role = Role.member,
    is_demo: bool = False,
) -> User:
    """Create a member account; refuses taken usernames and emails."""
    username = check_username(username)
    if username_key(username) in RESERVED_USERNAMES and role == Role.member and not is_demo:
        raise ValidationError("That username is reserved.", field="username")
    display_name = check_display_name(display_name or username)
    check_password(password)
    email = normalise_email(email)
    if find_by_username(username) is not None:
        raise ValidationError("That username is taken.", field="username")
    if find_by_email(email) is not None:
        raise ValidationError("An account with that email exists already.", field="email")
    user = User(
        username=username,
        username_key=username_key(username),
        display_name=display_name,
        email=email,
        role=role,
        is_demo=is_demo,
    )
    user.set_password(password)
    try:
        # A savepoint: a concurrent sign-up that won the race for the name
        # or address trips the unique constraint and only this insert is undone.
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        if find_by_username(username) is not None:
            raise ValidationError("That username is taken.", field="username") from None
        raise ValidationError("An account with that email exists already.", field="email") from None
    return user


def authenticate(login: str, password: str) -> User | None:
    """The member with these credentials, or None (same work either way)."""
    user = find_by_login(login)
    if user is None:
        # Spend the same time as a real check so timing does not tell
        # whether the account exists.
        User(password_hash=_dummy_hash()).check_password(password)
        return None
    return user if user.check_password(password) else None


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        from werkzeug.security import generate_password_hash

        _DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")
    return _DUMMY_HASH


def end_sessions(user: User) -> None:
    """End every session of `user` (their cookies stop matching)."""
    db.session.execute(
        sa.update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
    )
    db.session.refresh(user, ["session_version"])


def change_password(user: User, current: str, new: str) -> None:
    """Change the password after checking the current one; ends other sessions."""
    if not user.check_password(current):
        raise ValidationError("The current password is not right.", field="current_password")
    check_password(new, field="new_password")
    user.set_password(new)
    end_sessions(user)


def update_profile(user: User, display_name: str) -> None:
    user.display_name = check_display_name(display_name)
    db.session.flush()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    # Changes with every password change, so a used token stops working.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def make_reset_token(user: User) -> str:
    """A single-use, expiring password-reset token for `user`."""
    return _serializer().dumps({"uid": user.id, "fp": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The member a valid token belongs to, or None if bad, expired or used."""
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    user = db.session.get(User, data["uid"])
    if user is None or not hmac.compare_digest(str(data.get("fp")), _password_fingerprint(user)):
        return None
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset token; the token is then spent."""
    user = user_for_reset_token(token)
    if user is None:
        raise ValidationError("This reset link is invalid, expired or already used.")
    check_password(new_password, field="password")
    user.set_password(new_password)
    end_sessions(user)
    return user


def set_role(user: User, role: Role, actor: User | None = None) -> None:
    """Grant or revoke a role; only an admin (or the CLI, actor None) may."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied("Only an admin can change roles.")
    if actor is not None and actor.id == user.id:
        raise PermissionDenied("Admins cannot change their own role; ask another admin.")
    user.role = role
    db.session.flush()


def suspension_active(user: User, now: datetime | None = None) -> bool:
    return user.is_suspended(now or utcnow())
