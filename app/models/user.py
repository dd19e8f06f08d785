"""Members, their roles and suspensions."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..timeutil import utcnow
from .types import db_id, str_enum

USERNAME_MAX = 32
DISPLAY_NAME_MAX = 80
EMAIL_MAX = 254
PASSWORD_MIN = 8
PASSWORD_MAX = 256
# scrypt with werkzeug's parameters (n=2**15, r=8, p=1).
# A hash method name, not a password.
PASSWORD_METHOD = "scrypt"  # nosec B105
# The address of a pending sign-up whose typed address belongs to another
# account: a reserved domain nobody can type (see services/accounts.sign_up).
NO_ADDRESS_DOMAIN = "unclaimed.invalid"


class Role(enum.StrEnum):
    member = "member"
    moderator = "moderator"
    admin = "admin"


ROLE_RANK = {Role.member: 0, Role.moderator: 1, Role.admin: 2}


def username_key(username: str) -> str:
    """The case-insensitive form under which usernames are unique."""
    return username.strip().casefold()


def normalise_email(email: str) -> str:
    return email.strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(USERNAME_MAX))
    username_key: so.Mapped[str] = so.mapped_column(sa.String(USERNAME_MAX), unique=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(DISPLAY_NAME_MAX))
    email: so.Mapped[str] = so.mapped_column(sa.String(EMAIL_MAX), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    role: so.Mapped[Role] = so.mapped_column(
        str_enum(Role, 16),
        default=Role.member,
        server_default=Role.member.value,
    )
    is_demo: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # Bumped to end every session of the member (sign-out, password change,
    # suspension): the session cookie carries it and must match.
    session_version: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    password_changed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    suspended_until: so.Mapped[datetime | None] = so.mapped_column()
    suspension_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # NULL: signed up on the site, address not confirmed yet (cannot sign in,
    # shown nowhere). Accounts made any other way (register_user for the CLI,
    # the seeders) set it when they are made.
    email_confirmed_at: so.Mapped[datetime | None] = so.mapped_column()
    # TR39 skeleton of display_name (app.names): look-alike names are refused.
    name_skeleton: so.Mapped[str | None] = so.mapped_column(sa.String(400), index=True)
    # Set when the member deleted their account: the row stays, anonymised
    # ("a former member"), so their content and the counts stay whole.
    deleted_at: so.Mapped[datetime | None] = so.mapped_column()

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    @so.validates("display_name")
    def _keep_skeleton(self, _key, value):
        from ..names import skeleton

        self.name_skeleton = skeleton(value) if value else None
        return value

    # Flask-Login: the session stores id and session version together.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @staticmethod
    def parse_id(value) -> tuple[int, int] | None:
        """`get_id()` read back: (id, session version), or None if it is not one."""
        ident, _, version = str(value or "").partition(":")
        member_id, session_version = db_id(ident), db_id(version)
        if member_id is None or session_version is None:
            return None
        return member_id, session_version

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        self.password_changed_at = utcnow()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def has_address(self) -> bool:
        """False for a pending sign-up holding no address (see NO_ADDRESS_DOMAIN)."""
        return not self.email.endswith("@" + NO_ADDRESS_DOMAIN)

    def has_role(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_moderator(self) -> bool:
        """Holds moderator powers now: the role, and not suspended.

        A suspended moderator or admin keeps the role (it comes back when
        the suspension ends) but has no power meanwhile, reading the queue,
        reporters' names and hidden content included. Every moderator and
        admin check in views, predicates and templates goes through here.
        """
        return self.has_role(Role.moderator) and not self.is_suspended()

    @property
    def is_admin(self) -> bool:
        """Holds admin powers now (the role, and not suspended)."""
        return self.has_role(Role.admin) and not self.is_suspended()

    def is_suspended(self, now: datetime | None = None) -> bool:
        return self.suspended_until is not None and self.suspended_until > (now or utcnow())

    def can_write(self, now: datetime | None = None) -> bool:
        """Whether the member may do anything that writes (not suspended)."""
        return not self.is_suspended(now)
