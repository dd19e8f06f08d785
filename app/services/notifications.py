"""Notifications: written by other services, read on /notifications."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Notification, User
from ..timeutil import utcnow
from ..visibility import hidden_links, hidden_proposal_ids

HIDDEN_NOTIFICATION = "A notification about something a moderator has hidden since."
# Notifications whose point is telling a member that their own content was
# moderated: they stay as written (the member is told why).
ABOUT_OWN_MODERATION = frozenset({"proposal_hidden", "comment_hidden", "comment_moved"})


@dataclass(frozen=True)
class ShownNotification:
    """A notification as its member may see it now: the page and its JSON show this."""

    id: int
    kind: str
    message: str
    link: str | None
    action_url: str | None
    action_label: str | None
    created_at: datetime
    read_at: datetime | None

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "message": self.message,
            "link": self.link,
            "action_url": self.action_url,
            "action_label": self.action_label,
            "read": self.read_at is not None,
        }


def shown_notifications(items, viewer) -> list[ShownNotification]:
    """Notifications as `viewer` may see them now (app.visibility, one query per kind).

    The message was written when the event happened; if what it names (or
    the successor its offer co-signs) has been hidden since, it is replaced
    by a placeholder and loses its link and offer.
    """
    hidden = hidden_links(viewer, [u for n in items for u in (n.link, n.action_url) if u])
    hidden_about = hidden_proposal_ids(viewer, {n.about_proposal_id for n in items})
    shown = []
    for n in items:
        if n.kind not in ABOUT_OWN_MODERATION and (
            n.link in hidden or n.action_url in hidden or n.about_proposal_id in hidden_about
        ):
            shown.append(
                ShownNotification(
                    n.id, n.kind, HIDDEN_NOTIFICATION, None, None, None, n.created_at, n.read_at
                )
            )
        else:
            shown.append(
                ShownNotification(
                    n.id, n.kind, n.message, n.link, n.action_url, n.action_label,
                    n.created_at, n.read_at,
                )
            )  # fmt: skip
    return shown


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
