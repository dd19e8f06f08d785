"""Personal access tokens for the API (/api/v1): stored hashed, scoped read or write."""

import enum
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import str_enum

TOKEN_NAME_MAX = 100
# What every secret starts with, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "plen_"  # nosec B105 - a public marker, not a secret


class TokenScope(enum.StrEnum):
    read = "read"
    write = "write"


def hash_secret(secret: str) -> str:
    """sha256 of the secret: enough for 256 random bits (no password to stretch)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiToken(db.Model):
    """A member's personal access token; the secret itself is shown once and never stored."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(TOKEN_NAME_MAX))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    scope: so.Mapped[TokenScope] = so.mapped_column(
        str_enum(TokenScope, 8), default=TokenScope.read, server_default=TokenScope.read.value
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_used_at: so.Mapped[datetime | None] = so.mapped_column()
    revoked_at: so.Mapped[datetime | None] = so.mapped_column()

    user: so.Mapped["User"] = so.relationship()  # noqa: F821

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.scope} user={self.user_id}>"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        """Write scope; the member's own suspension is checked as for any request."""
        return self.scope == TokenScope.write
