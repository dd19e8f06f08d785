"""Notifications: written by other services, read on /notifications."""

import sqlalchemy as sa

from ..extensions import db
from ..models import Notification, User
from ..timeutil import utcnow


def notify(
    user: User | int,
    kind: str,
    message: str,
    link: str | None = None,
    action_url: str | None = None,
    action_label: str | None = None,
) -> Notification:
    """Tell one member that something happened (optionally with a one-click offer)."""
    user_id = user if isinstance(user, int) else user.id
    note = Notification(
        user_id=user_id,
        kind=kind,
        message=message[:1000],
        link=link,
        action_url=action_url,
        action_label=action_label,
    )
    db.session.add(note)
    db.session.flush()
    return note


def notify_many(user_ids, kind: str, message: str, **kwargs) -> int:
    """The same notification for many members in one INSERT; returns how many."""
    rows = [
        {"user_id": uid, "kind": kind, "message": message[:1000], "created_at": utcnow(), **kwargs}
        for uid in dict.fromkeys(user_ids)
    ]
    if rows:
        db.session.execute(sa.insert(Notification), rows)
    return len(rows)


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(user: User, notification_ids=None) -> int:
    """Mark the member's notifications read (all, or just these ids)."""
    stmt = (
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if notification_ids is not None:
        stmt = stmt.where(Notification.id.in_(list(notification_ids)))
    return db.session.execute(stmt).rowcount
