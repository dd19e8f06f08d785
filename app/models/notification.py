"""Notifications shown on /notifications."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at"),)

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
