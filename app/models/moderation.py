"""Reports and the append-only moderation log."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import str_enum

NOTE_MAX = 2000
REASON_MAX = 500


class ReportReason(enum.StrEnum):
    spam = "spam"
    abuse = "abuse"
    off_topic = "off_topic"
    other = "other"


class ReportStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"
    dismissed = "dismissed"


class Report(db.Model):
    """A member's report of a comment or a proposal.

    One open report per member and target, enforced by partial unique indexes.
    """

    __tablename__ = "reports"
    __table_args__ = (
        sa.CheckConstraint("(comment_id IS NULL) <> (proposal_id IS NULL)", name="one_target"),
        sa.Index(
            "uq_reports_open_comment",
            "reporter_id",
            "comment_id",
            unique=True,
            sqlite_where=sa.text("status = 'open' AND comment_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'open' AND comment_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_reports_open_proposal",
            "reporter_id",
            "proposal_id",
            unique=True,
            sqlite_where=sa.text("status = 'open' AND proposal_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'open' AND proposal_id IS NOT NULL"),
        ),
        sa.Index("ix_reports_status_created", "status", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reporter_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    comment_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("comments.id"), index=True)
    proposal_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("proposals.id"), index=True)
    reason: so.Mapped[ReportReason] = so.mapped_column(str_enum(ReportReason))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    status: so.Mapped[ReportStatus] = so.mapped_column(
        str_enum(ReportStatus), default=ReportStatus.open, server_default=ReportStatus.open.value
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    closed_at: so.Mapped[datetime | None] = so.mapped_column()
    closed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    reporter: so.Mapped["User"] = so.relationship(foreign_keys=[reporter_id])  # noqa: F821


class ModerationAction(db.Model):
    """One line of the public, append-only moderation log."""

    __tablename__ = "moderation_actions"
    __table_args__ = (sa.Index("ix_moderation_actions_created", "created_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    moderator_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    # "approve_comment", "hide_comment", "restore_proposal", "lock_thread",
    # "suspend_member", "dismiss_report", ...
    action: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    # What it acted on: "comment", "proposal", "thread", "user" or "report".
    target_type: so.Mapped[str] = so.mapped_column(sa.String(20))
    target_id: so.Mapped[int] = so.mapped_column()
    # The member whose content or account it touched, if any.
    affected_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    reason: so.Mapped[str] = so.mapped_column(sa.String(REASON_MAX))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    moderator: so.Mapped["User"] = so.relationship(foreign_keys=[moderator_id])  # noqa: F821
