"""Personal access tokens: create (the secret is shown once), revoke, authenticate."""

from datetime import timedelta

import sqlalchemy as sa

from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models.token import (
    TOKEN_NAME_MAX,
    TOKEN_PREFIX,
    ApiToken,
    TokenScope,
    hash_secret,
    new_secret,
)
from ..models.user import User
from ..timeutil import utcnow
from .accounts import has_control_chars

# A token's last use is written at most this often (a read must not write every time).
LAST_USED_PRECISION = timedelta(minutes=1)
# Longer than any secret we make: anything longer is not one of ours (no hashing of megabytes).
SECRET_MAX = 200


def clean_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError("Give the token a name, e.g. the script that will use it.", "name")
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationError(f"A token's name has at most {TOKEN_NAME_MAX} characters.", "name")
    if has_control_chars(name):
        raise ValidationError("The name holds control characters.", "name")
    return name


def create_token(owner: User, name, scope) -> tuple[ApiToken, str]:
    """A new token for `owner`; returns it with its secret, which is stored only hashed."""
    if owner.deleted_at is not None:
        raise PermissionDenied("A deleted account has no tokens.")
    try:
        scope = TokenScope(scope)
    except ValueError:
        raise ValidationError("The scope is read or write.", "scope") from None
    secret = new_secret()
    token = ApiToken(
        user_id=owner.id,
        name=clean_name(name),
        token_hash=hash_secret(secret),
        scope=scope,
        created_at=utcnow(),
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def tokens_of(owner: User) -> list[ApiToken]:
    """The member's tokens, newest first (revoked ones too, marked)."""
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == owner.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(owner: User, token_id: int | None) -> ApiToken:
    """Revoke one of the member's own tokens (someone else's is not found)."""
    token = db.session.get(ApiToken, token_id) if token_id else None
    if token is None or token.user_id != owner.id:
        raise NotFound("There is no such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token


def authenticate(secret: str | None) -> ApiToken | None:
    """The active token with this secret, its member loaded; None for anything else.

    Its last use is recorded (committed at once, at most once a minute per token).
    """
    if not secret or len(secret) > SECRET_MAX or not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.token_hash == hash_secret(secret), ApiToken.revoked_at.is_(None)
        )
    )
    if token is None or token.user.deleted_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
        # End the read first: the write then starts a transaction of its own (a SQLite
        # reader whose snapshot is older than the last commit cannot become a writer).
        db.session.commit()
        db.session.execute(
            sa.update(ApiToken)
            .where(
                ApiToken.id == token.id,
                sa.or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at < now - LAST_USED_PRECISION,
                ),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return token
