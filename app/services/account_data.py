"""A member's control of their own data (/account): new address, their data, leaving.

Plain functions taking the member; they never commit (the views do).
"""

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import InvalidState, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (
    Comment,
    CommentStatus,
    Cosignature,
    CosignEvent,
    Notification,
    Proposal,
    ProposalVersion,
    Report,
    WithdrawalReason,
)
from ..models.token import ApiToken
from ..models.user import NO_ADDRESS_DOMAIN, User, normalise_email
from ..names import FORMER_MEMBER
from ..timeutil import utcnow
from . import accounts
from . import comments as comment_service
from . import proposals as proposal_service

EMAIL_CHANGE_SALT = "plenary.email-change"
BAD_EMAIL_LINK = "This link is not valid any more: ask for a new one on your account page."
WRONG_PASSWORD = "The current password is not right."  # nosec B105


# --- Change of address ------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=EMAIL_CHANGE_SALT)


def _fingerprint(user: User) -> str:
    # Changes with the password and the address: a used or stale link stops working.
    return hashlib.sha256(f"{user.password_hash}|{user.email}".encode()).hexdigest()[:20]


def request_email_change(user: User, new_email: str, password: str) -> str:
    """Check the password and return the new address (its link is mailed there)."""
    if not user.check_password(password or ""):
        raise ValidationError(WRONG_PASSWORD, field="current_password")
    address = normalise_email(new_email)
    if address == user.email:
        raise ValidationError("That is your address already.", field="email")
    return address


def email_change_token(user: User, address: str) -> str:
    """The token of the link that moves `user` to `address` (made when the mail is sent)."""
    return _serializer().dumps({"uid": user.id, "email": address, "fp": _fingerprint(user)})


def email_change_target(token: str, user: User) -> str:
    """The new address a link proves for `user` (who must be the one signed in)."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["SIGNUP_CONFIRM_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        raise ValidationError(BAD_EMAIL_LINK) from None
    if not isinstance(data, dict) or data.get("uid") != user.id:
        raise ValidationError(BAD_EMAIL_LINK)
    if data.get("fp") != _fingerprint(user) or not isinstance(data.get("email"), str):
        raise ValidationError(BAD_EMAIL_LINK)
    return data["email"]


def confirm_email_change(token: str, user: User) -> tuple[str, str]:
    """Move `user` to the address the link proves; returns (old, new) addresses."""
    new = email_change_target(token, user)
    holder = accounts.find_by_email(new)
    if holder is not None and holder.id != user.id:
        if holder.email_confirmed:
            raise ValidationError("Another account uses that address.")
        # An unconfirmed sign-up squatting the address gives it up to its owner.
        holder.email = f"{secrets.token_hex(16)}@{NO_ADDRESS_DOMAIN}"
        db.session.flush()
    old = user.email
    user.email = new
    user.email_confirmed_at = utcnow()
    db.session.flush()
    return old, new


# --- Download my data -------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def export_data(user: User) -> dict:
    """Everything Plenary keeps about `user`, as one JSON-ready dict."""
    proposals = db.session.scalars(
        sa.select(Proposal).where(Proposal.author_id == user.id).order_by(Proposal.id)
    ).all()
    versions: dict[int, list] = {}
    if proposals:
        for v in db.session.scalars(
            sa.select(ProposalVersion)
            .where(ProposalVersion.proposal_id.in_([p.id for p in proposals]))
            .order_by(ProposalVersion.proposal_id, ProposalVersion.number)
        ):
            versions.setdefault(v.proposal_id, []).append(
                {"number": v.number, "title": v.title, "body": v.body, "at": _iso(v.created_at)}
            )
    cosignatures = db.session.scalars(
        sa.select(Cosignature).where(Cosignature.user_id == user.id).order_by(Cosignature.id)
    ).all()
    events = db.session.scalars(
        sa.select(CosignEvent).where(CosignEvent.user_id == user.id).order_by(CosignEvent.id)
    ).all()
    comments = db.session.scalars(
        sa.select(Comment).where(Comment.author_id == user.id).order_by(Comment.id)
    ).all()
    reports = db.session.scalars(
        sa.select(Report).where(Report.reporter_id == user.id).order_by(Report.id)
    ).all()
    notes = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    ).all()
    return {
        "exported_at": _iso(utcnow()),
        "profile": {
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "role": user.role.value,
            "joined": _iso(user.created_at),
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "suspended_until": _iso(user.suspended_until),
        },
        "proposals": [
            {
                "id": p.id,
                "round": p.round.slug,
                "number": p.number,
                "title": p.title,
                "body": p.body,
                "state": p.state.value,
                "created_at": _iso(p.created_at),
                "versions": versions.get(p.id, []),
            }
            for p in proposals
        ],
        "cosignatures": [
            {
                "proposal_id": c.proposal_id,
                "signed_at": _iso(c.signed_at),
                "removed_at": _iso(c.removed_at),
            }
            for c in cosignatures
        ],
        "cosign_events": [
            {"proposal_id": e.proposal_id, "kind": e.kind.value, "at": _iso(e.at)} for e in events
        ],
        "comments": [
            {
                "id": c.id,
                "thread_id": c.thread_id,
                "parent_id": c.parent_id,
                "status": c.status.value,
                "body": c.body,
                "created_at": _iso(c.created_at),
                "edited_at": _iso(c.edited_at),
            }
            for c in comments
        ],
        "reports": [
            {
                "comment_id": r.comment_id,
                "proposal_id": r.proposal_id,
                "reason": r.reason.value,
                "note": r.note,
                "status": r.status.value,
                "created_at": _iso(r.created_at),
            }
            for r in reports
        ],
        "notifications": [
            {
                "kind": n.kind,
                "message": n.message,
                "link": n.link,
                "created_at": _iso(n.created_at),
                "read_at": _iso(n.read_at),
            }
            for n in notes
        ],
        # The API tokens' names and uses; never their secrets or hashes.
        "api_tokens": [
            {
                "name": t.name,
                "scope": t.scope.value,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
    }


# --- Deleting the account -----------------------------------------------------------


def delete_account(
    user: User, password: str, delete_content: bool = False, now: datetime | None = None
) -> int:
    """Anonymise `user` as "a former member"; returns how many co-signatures were removed.

    Open co-signatures are removed as un-signs (the `uncosign` service, so
    events are kept and counts stay exact); closed rounds keep theirs as the
    record. With `delete_content`, their published comments become "deleted"
    placeholders and their open proposals are withdrawn; otherwise both stay,
    shown as by "a former member". The username is freed after
    ACCOUNT_USERNAME_COOLING_DAYS (`free_cooled_usernames`).
    """
    if not user.check_password(password or ""):
        raise ValidationError(WRONG_PASSWORD, field="password")
    if user.deleted_at is not None:
        raise InvalidState("This account is deleted already.")
    if user.is_suspended(now):
        raise PermissionDenied("A suspended account can be deleted once the suspension ends.")
    removed = 0
    signed = db.session.scalars(
        sa.select(Proposal)
        .join(Cosignature, Cosignature.proposal_id == Proposal.id)
        .where(Cosignature.user_id == user.id, Cosignature.removed_at.is_(None))
        .order_by(Proposal.id)
    ).all()
    for proposal in signed:
        if proposal.can_uncosign(user, True, now):
            proposal_service.uncosign(proposal, user, now=now)
            removed += 1
    if delete_content:
        for comment in db.session.scalars(
            sa.select(Comment).where(
                Comment.author_id == user.id, Comment.status == CommentStatus.published
            )
        ):
            comment_service.delete_own_comment(comment, user)
        for proposal in db.session.scalars(
            sa.select(Proposal).where(Proposal.author_id == user.id)
        ).all():
            if proposal.can_withdraw(user, now):
                proposal_service.withdraw_proposal(
                    proposal,
                    user,
                    WithdrawalReason.other,
                    "The author deleted their account.",
                    now=now,
                )
    user.display_name = FORMER_MEMBER
    user.email = f"{secrets.token_hex(16)}@{NO_ADDRESS_DOMAIN}"
    user.set_password(secrets.token_urlsafe(32))
    user.suspension_reason = None
    user.deleted_at = now or utcnow()
    accounts.end_sessions(user)
    # Its API tokens end with it (app.services.tokens refuses a deleted account's too).
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=user.deleted_at)
    )
    db.session.flush()
    return removed


def free_cooled_usernames(now: datetime | None = None) -> None:
    """Give back the usernames of accounts deleted more than the cooling-off period ago."""
    days = current_app.config["ACCOUNT_USERNAME_COOLING_DAYS"]
    cutoff = (now or utcnow()) - timedelta(days=days)
    db.session.execute(
        sa.update(User)
        .where(
            User.deleted_at.is_not(None),
            User.deleted_at < cutoff,
            ~User.username_key.startswith("~"),
        )
        .values(username_key=sa.literal("~") + sa.cast(User.id, sa.String))
        .execution_options(synchronize_session=False)
    )
