"""Notifications shown on /notifications."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_read", "user_id", "read_at"),
        # The daily digest reads what waits for it, member by member.
        sa.Index("ix_notifications_mail_state_user", "mail_state", "user_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    # What happened: "proposal_withdrawn", "proposal_edited", "comment_hidden", ...
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    message: so.Mapped[str] = so.mapped_column(sa.String(1000))
    link: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # An optional one-click offer: a POST to action_url (e.g. co-sign the
    # successor of a withdrawn proposal). Nothing happens without the click.
    action_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    action_label: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    # Another proposal the message names (a successor), besides the link's:
    # once it is hidden, members see a placeholder instead (app.visibility).
    about_proposal_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("proposals.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    read_at: so.Mapped[datetime | None] = so.mapped_column()
    # The preference topic it belongs to (app.models.mail.Topic).
    topic: so.Mapped[str] = so.mapped_column(sa.String(30), default="other", server_default="other")
    # The notifications written by one event share this key (the set-based
    # INSERT ... SELECT of their mail finds them by it).
    event_key: so.Mapped[str | None] = so.mapped_column(sa.String(32), index=True)
    # What the digest groups by.
    round_id: so.Mapped[int | None] = so.mapped_column()
    proposal_id: so.Mapped[int | None] = so.mapped_column()
    thread_id: so.Mapped[int | None] = so.mapped_column()
    comment_id: so.Mapped[int | None] = so.mapped_column()
    # None: not mailed; "queued": in the outbox at once; "digest": waits for
    # the daily digest; "digested": went out in one.
    mail_state: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    # The digest (mail_outbox row) it went out in.
    digest_id: so.Mapped[int | None] = so.mapped_column()
