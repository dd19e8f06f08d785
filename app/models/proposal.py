"""Rounds, proposals, their versions, co-authors and co-signatures."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import str_enum

TITLE_MAX = 200
BODY_MAX = 50_000
EXPLANATION_MAX = 5_000


class RoundState(enum.StrEnum):
    open = "open"
    closed = "closed"


class ProposalState(enum.StrEnum):
    open = "open"
    withdrawn = "withdrawn"
    adopted = "adopted"
    rejected = "rejected"
    merged = "merged"


FINAL_STATES = frozenset(
    {ProposalState.withdrawn, ProposalState.adopted, ProposalState.rejected, ProposalState.merged}
)


class WithdrawalReason(enum.StrEnum):
    duplicate = "duplicate"
    merged = "merged"
    superseded = "superseded"
    no_longer_needed = "no_longer_needed"
    other = "other"


class CoauthorStatus(enum.StrEnum):
    invited = "invited"
    accepted = "accepted"
    declined = "declined"


class CosignEventKind(enum.StrEnum):
    sign = "sign"
    unsign = "unsign"


class Round(db.Model):
    """A proposal round, e.g. "The way forward after the 2019 convention"."""

    __tablename__ = "rounds"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(TITLE_MAX))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    submission_deadline: so.Mapped[datetime | None] = so.mapped_column()
    cosign_deadline: so.Mapped[datetime | None] = so.mapped_column()
    # Co-signatures (supporters) a proposal needs to go to the floor.
    threshold: so.Mapped[int | None] = so.mapped_column()
    state: so.Mapped[RoundState] = so.mapped_column(
        str_enum(RoundState), default=RoundState.open, server_default=RoundState.open.value
    )
    # Last proposal number handed out (n = n + 1 in SQL, so numbers never clash).
    last_number: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    is_demo: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    closed_at: so.Mapped[datetime | None] = so.mapped_column()


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "number", name="uq_proposals_round_id_number"),
        sa.Index("ix_proposals_round_supporters", "round_id", "supporter_count"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id"), index=True)
    number: so.Mapped[int] = so.mapped_column()
    title: so.Mapped[str] = so.mapped_column(sa.String(TITLE_MAX))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    state: so.Mapped[ProposalState] = so.mapped_column(
        str_enum(ProposalState), default=ProposalState.open, server_default=ProposalState.open.value
    )
    # Current co-signatures plus authors; changed only in SQL (n = n + 1) in
    # the same transaction as the co-signature row.
    supporter_count: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    # Number of the current version (ProposalVersion.number).
    version: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    withdrawn_at: so.Mapped[datetime | None] = so.mapped_column()
    withdrawal_reason: so.Mapped[WithdrawalReason | None] = so.mapped_column(
        str_enum(WithdrawalReason)
    )
    withdrawal_explanation: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # "Withdrawn in favour of Proposal 7", or the proposal it was merged into.
    successor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("proposals.id"))
    decided_at: so.Mapped[datetime | None] = so.mapped_column()
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    thread_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("threads.id"), unique=True)
    # Moderation (independent of the state above).
    is_hidden: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    hidden_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))

    round: so.Mapped[Round] = so.relationship()
    author: so.Mapped["User"] = so.relationship(foreign_keys=[author_id])  # noqa: F821
    successor: so.Mapped["Proposal | None"] = so.relationship(
        remote_side=[id], foreign_keys=[successor_id]
    )
    thread: so.Mapped["Thread"] = so.relationship()  # noqa: F821


class ProposalVersion(db.Model):
    """One text of a proposal; a new one on every edit."""

    __tablename__ = "proposal_versions"
    __table_args__ = (
        sa.UniqueConstraint(
            "proposal_id", "number", name="uq_proposal_versions_proposal_id_number"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    proposal_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("proposals.id"))
    number: so.Mapped[int] = so.mapped_column()
    title: so.Mapped[str] = so.mapped_column(sa.String(TITLE_MAX))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    editor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class ProposalCoauthor(db.Model):
    """A member invited by the author; counts as a supporter once accepted."""

    __tablename__ = "proposal_coauthors"
    __table_args__ = (
        sa.UniqueConstraint(
            "proposal_id", "user_id", name="uq_proposal_coauthors_proposal_id_user_id"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    proposal_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("proposals.id"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    status: so.Mapped[CoauthorStatus] = so.mapped_column(
        str_enum(CoauthorStatus), default=CoauthorStatus.invited
    )
    invited_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    answered_at: so.Mapped[datetime | None] = so.mapped_column()

    user: so.Mapped["User"] = so.relationship()  # noqa: F821


class Cosignature(db.Model):
    """A member's co-signature; `removed_at` set when they un-sign.

    At most one active (removed_at IS NULL) row per member and proposal,
    enforced by a partial unique index on both databases.
    """

    __tablename__ = "cosignatures"
    __table_args__ = (
        sa.Index(
            "uq_cosignatures_active",
            "proposal_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        ),
        sa.Index("ix_cosignatures_proposal_signed", "proposal_id", "signed_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    proposal_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("proposals.id"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    signed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    removed_at: so.Mapped[datetime | None] = so.mapped_column()
    # The proposal version the member signed (to mark "changed since you signed").
    version_signed: so.Mapped[int] = so.mapped_column(default=1, server_default="1")

    user: so.Mapped["User"] = so.relationship()  # noqa: F821


class CosignEvent(db.Model):
    """Append-only log of every sign and un-sign, for supporters as of any moment."""

    __tablename__ = "cosign_events"
    __table_args__ = (sa.Index("ix_cosign_events_proposal_at", "proposal_id", "at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    proposal_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("proposals.id"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    kind: so.Mapped[CosignEventKind] = so.mapped_column(str_enum(CosignEventKind))
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
