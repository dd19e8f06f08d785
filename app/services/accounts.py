"""Accounts: sign-up, credentials, password reset, roles."""

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models.user import (
    DISPLAY_NAME_MAX,
    NO_ADDRESS_DOMAIN,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    Role,
    User,
    normalise_email,
    username_key,
)
from ..params import parse_id
from ..timeutil import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_USERNAMES = frozenset({"admin", "administrator", "moderator", "plenary", "root", "system"})
RESET_SALT = "plenary.password-reset"
CONFIRM_SALT = "plenary.signup-confirm"
PENDING_REF_SALT = b"plenary.signup-pending"


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


NAME_RESERVED = "That display name is reserved: choose one that names you."
NAME_LOOKS_TAKEN = (
    "That display name looks like another member's (letters from other scripts or "
    "look-alike characters count as the same): choose another."
)


def check_name_is_own(name: str, user: User | None = None) -> str:
    """Refuse a display name that looks like a reserved word or another member's name.

    Looks are compared by Unicode TR39 skeleton (app.names), so "Mое" with a
    Cyrillic "о", "rnoe" and "MOE" all look like "Moe". Pending sign-ups
    and deleted accounts hold no name.
    """
    from ..names import is_reserved, skeleton

    if is_reserved(name):
        raise ValidationError(NAME_RESERVED, field="display_name")
    stmt = sa.select(User.id).where(
        User.name_skeleton == skeleton(name),
        User.email_confirmed_at.is_not(None),
        User.deleted_at.is_(None),
    )
    if user is not None and user.id is not None:
        stmt = stmt.where(User.id != user.id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise ValidationError(NAME_LOOKS_TAKEN, field="display_name")
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


def _checked_signup_fields(
    username: str, email: str, password: str, display_name: str | None, role: Role, is_demo: bool
) -> tuple[str, str, str]:
    username = check_username(username)
    if username_key(username) in RESERVED_USERNAMES and role == Role.member and not is_demo:
        raise ValidationError("That username is reserved.", field="username")
    display_name = check_display_name(display_name or username)
    check_password(password)
    return username, display_name, normalise_email(email)


def _pending_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=current_app.config["SIGNUP_CONFIRM_MAX_AGE"])


def reclaim_stale_signups(
    username: str, email: str, now: datetime | None = None, keep: User | None = None
) -> None:
    """Delete unconfirmed sign-ups past SIGNUP_CONFIRM_MAX_AGE holding this name or address.

    They never could sign in and own nothing, so their username and address
    go back to whoever signs up now (in the caller's transaction).
    """
    from .account_data import free_cooled_usernames

    free_cooled_usernames(now)
    stmt = sa.delete(User).where(
        User.email_confirmed_at.is_(None),
        User.created_at < _pending_cutoff(now or utcnow()),
        sa.or_(User.username_key == username_key(username), User.email == normalise_email(email)),
    )
    if keep is not None:
        stmt = stmt.where(User.id != keep.id)
    db.session.execute(stmt.execution_options(synchronize_session=False))


def register_user(
    username: str,
    email: str,
    password: str,
    display_name: str | None = None,
    role: Role = Role.member,
    is_demo: bool = False,
) -> User:
    """Create a confirmed account (the CLI, seeders, tests); refuses taken names and emails.

    Sign-ups from the site go through `sign_up`, which never says whether an
    address is in use.
    """
    username, display_name, email = _checked_signup_fields(
        username, email, password, display_name, role, is_demo
    )
    reclaim_stale_signups(username, email)
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
        email_confirmed_at=utcnow(),
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


@dataclass(frozen=True)
class SignUp:
    """What a sign-up did.

    `pending` is the sign-up's own unconfirmed account, new or replaced.
    `holder` is the account that holds the typed address: `pending` itself
    when the address was free (mail it a confirmation link), or the account
    that had it already (confirmed: tell its owner they have an account;
    pending: mail a new link for it). Both paths do the same work and the
    visitor is told the same thing.
    """

    pending: User
    holder: User

    @property
    def address_was_free(self) -> bool:
        return self.pending is self.holder


def _no_address() -> str:
    return f"{secrets.token_hex(16)}@{NO_ADDRESS_DOMAIN}"


def sign_up(
    username: str,
    email: str,
    password: str,
    display_name: str | None = None,
    resume: User | None = None,
    now: datetime | None = None,
) -> SignUp:
    """A sign-up from the site, answered the same whether the address is known or not.

    Every valid sign-up makes (or, with `resume`, replaces) one unconfirmed
    account holding the username and the password hash. It takes the typed
    address only when no other account holds it; otherwise it holds a
    placeholder address nobody can type, so that what the visitor can see
    afterwards (the username taken, "confirm your address first" at sign-in)
    is the same either way. An account that holds the address is never
    changed by someone else's sign-up.

    `resume` is the pending account the same browser session made before
    (`pending_for_ref`): its username, display name, address and password
    are replaced ("wrong address? correct it and send again").
    """
    now = now or utcnow()
    username, display_name, email = _checked_signup_fields(
        username, email, password, display_name, Role.member, False
    )
    if resume is not None and resume.email_confirmed:
        resume = None
    reclaim_stale_signups(username, email, now, keep=resume)
    taken = find_by_username(username)
    if taken is not None and taken is not resume:
        raise ValidationError("That username is taken.", field="username")
    check_name_is_own(display_name, resume)
    holder = find_by_email(email)
    if holder is resume:
        holder = None
    pending = resume or User(role=Role.member)

    def fill(address: str) -> None:
        pending.username = username
        pending.username_key = username_key(username)
        pending.display_name = display_name
        pending.email = address
        # Hashed on both paths: timing does not tell whether the address is known.
        pending.set_password(password)
        pending.created_at = now
        with db.session.begin_nested():
            db.session.add(pending)

    try:
        fill(email if holder is None else _no_address())
    except IntegrityError:
        # A concurrent sign-up won the race for the name or the address
        # (the savepoint is undone; the row is filled again).
        if find_by_username(username) not in (None, resume):
            raise ValidationError("That username is taken.", field="username") from None
        holder = find_by_email(email)
        if holder is None or holder is resume:
            raise
        fill(_no_address())
    return SignUp(pending=pending, holder=holder or pending)


def _pending_ref_key(user: User) -> str:
    # Bound to the row's password hash (random salt), so a ref stops
    # working once the row is replaced, reset or deleted and its id reused.
    key = hmac.new(
        str(current_app.config["SECRET_KEY"]).encode() + PENDING_REF_SALT,
        f"{user.id}:{user.password_hash}".encode(),
        hashlib.sha256,
    )
    return key.hexdigest()[:32]


def pending_ref(user: User) -> str:
    """What the browser session keeps to replace its own pending sign-up later."""
    return f"{user.id}.{_pending_ref_key(user)}"


def pending_for_ref(ref: object, now: datetime | None = None) -> User | None:
    """The unconfirmed, unexpired sign-up a session's `pending_ref` names, or None."""
    if not isinstance(ref, str):
        return None
    ident, _, key = ref.partition(".")
    user_id = parse_id(ident)
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.email_confirmed:
        return None
    if user.created_at < _pending_cutoff(now or utcnow()):
        return None
    return user if hmac.compare_digest(key, _pending_ref_key(user)) else None


def _confirm_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def make_confirm_token(user: User, address: str | None = None) -> str:
    """The link token that confirms `address` (default: the sign-up's own) for `user`.

    A sign-up whose typed address a pending sign-up already holds keeps a
    placeholder; its link carries the typed address and, once confirmed,
    takes it over (the mailbox's owner wins over an unconfirmed squatter).
    Expires after SIGNUP_CONFIRM_MAX_AGE.
    """
    return _confirm_serializer().dumps(
        {"uid": user.id, "email": address or user.email, "fp": _password_fingerprint(user)}
    )


BAD_CONFIRM_LINK = (
    "This confirmation link is not valid (or its sign-up was replaced by a newer one). "
    "Use the newest link we sent, or sign up again."
)
EXPIRED_CONFIRM_LINK = "This confirmation link has expired. Sign up again to get a new one."
USED_CONFIRM_LINK = "This address is confirmed already: sign in."
CONFIRM_NEEDS_PASSWORD = (  # nosec B105
    "Give the password chosen for this sign-up: this browser did not make it."
)


def confirm_link_target(token: str) -> tuple[User, str]:
    """The pending sign-up a confirmation link names and the address it proves (no change)."""
    max_age = current_app.config["SIGNUP_CONFIRM_MAX_AGE"]
    try:
        data = _confirm_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ValidationError(EXPIRED_CONFIRM_LINK) from None
    except BadSignature:
        raise ValidationError(BAD_CONFIRM_LINK) from None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        raise ValidationError(BAD_CONFIRM_LINK)
    if not isinstance(data.get("email"), str) or not isinstance(data.get("fp"), str):
        raise ValidationError(BAD_CONFIRM_LINK)
    user = db.session.get(User, data["uid"])
    if user is None or not hmac.compare_digest(data["fp"], _password_fingerprint(user)):
        raise ValidationError(BAD_CONFIRM_LINK)
    address = data["email"]
    if user.has_address and not hmac.compare_digest(address, user.email):
        raise ValidationError(BAD_CONFIRM_LINK)
    if user.email_confirmed:
        raise ValidationError(USED_CONFIRM_LINK)
    if not user.has_address:
        holder = find_by_email(address)
        if holder is not None and holder.email_confirmed:
            # The address became a real account's meanwhile: nothing to take over.
            raise ValidationError(BAD_CONFIRM_LINK)
    return user, address


def confirm_email(token: str, now: datetime | None = None) -> User:
    """Confirm the address a sign-up's link was sent to; the account can then sign in.

    An unconfirmed sign-up holding the same address (a squatter who typed
    someone else's address first) loses it to the link's sign-up.
    """
    user, address = confirm_link_target(token)
    if not user.has_address:
        squatter = find_by_email(address)
        if squatter is not None:
            squatter.email = _no_address()
            db.session.flush()
        user.email = address
    user.email_confirmed_at = now or utcnow()
    db.session.flush()
    return user


def confirm_signup(
    token: str, password: str | None, own_signup: User | None, now: datetime | None = None
) -> User:
    """Confirm from the link's page: the browser that made the sign-up, or its password.

    Knowing the mailbox is not enough: a squatter's link reaches the
    address's owner too, and a link mailed to a victim would sign them in
    to the attacker's account (login CSRF). So a browser that did not make
    the sign-up must also give the sign-up's password.
    """
    user, _address = confirm_link_target(token)
    if own_signup is not user and not (password and user.check_password(password)):
        raise ValidationError(CONFIRM_NEEDS_PASSWORD, field="password")
    return confirm_email(token, now=now)


def authenticate(login: str, password: str) -> User | None:
    """The account with these credentials, or None (same work either way).

    The account may be unconfirmed (the caller refuses it) when the login
    is its username. An unconfirmed account's address is not a login: it
    may belong to someone else, so signing in with it fails like a wrong
    password (otherwise "confirm first" would tell that a sign-up, not an
    account, holds the address).
    """
    user = find_by_login(login)
    if user is not None and "@" in login and not user.email_confirmed:
        user = None
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
    user.display_name = check_name_is_own(check_display_name(display_name), user)
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
    if not user.email_confirmed:
        # The link came to the address: that proves it as well as a sign-up link.
        user.email_confirmed_at = utcnow()
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
