"""Rounds, proposals, their versions, co-authors and co-signatures."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..timeutil import utcnow
from .types import RowVersioned, str_enum

TITLE_MAX = 200
BODY_MAX = 50_000
EXPLANATION_MAX = 5_000
DESCRIPTION_MAX = 20_000
SLUG_MAX = 120


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


class Round(RowVersioned, db.Model):
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

    def __repr__(self) -> str:
        return f"<Round {self.slug} {self.state}>"

    @property
    def is_open(self) -> bool:
        return self.state == RoundState.open

    def submissions_open(self, now: datetime | None = None) -> bool:
        """Open, and before the submission deadline (if any)."""
        deadline = self.submission_deadline
        return self.is_open and (deadline is None or (now or utcnow()) <= deadline)

    def cosigning_open(self, now: datetime | None = None) -> bool:
        """Open, and before the co-signing deadline (if any)."""
        deadline = self.cosign_deadline
        return self.is_open and (deadline is None or (now or utcnow()) <= deadline)

    def why_not_submit(self, user, now: datetime | None = None) -> str | None:
        """Why `user` may not submit a proposal here (None: they may)."""
        if user is None or not getattr(user, "is_authenticated", False):
            return "Sign in to submit a proposal."
        if user.is_suspended(now):
            return "Your account is suspended; you cannot submit proposals."
        if not self.is_open:
            return "This round is closed: it is read-only."
        if not self.submissions_open(now):
            return "The submission deadline of this round has passed."
        return None

    def can_submit(self, user, now: datetime | None = None) -> bool:
        """Whether `user` may submit a proposal to this round now."""
        return self.why_not_submit(user, now) is None

    def can_close(self, user) -> bool:
        """Admins close open rounds."""
        return _is_active(user) and user.is_admin and self.is_open


def proposal_label(number: int) -> str:
    """How a proposal is named in messages: "Proposal 7"."""
    return f"Proposal {number}"


class Proposal(RowVersioned, db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "number", name="uq_proposals_round_id_number"),
        sa.Index("ix_proposals_round_supporters", "round_id", "supporter_count"),
        # The latest proposals (home page activity), newest first.
        sa.Index("ix_proposals_updated_at", "updated_at"),
        # "Withdrawn in favour of this one": the proposal page lists its predecessors.
        sa.Index("ix_proposals_successor_id", "successor_id"),
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
    # What the admin wrote when recording the outcome (adopted / rejected / merged).
    decision_note: so.Mapped[str | None] = so.mapped_column(sa.Text)
    thread_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("threads.id"), unique=True)
    # Moderation (independent of the state above).
    is_hidden: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    hidden_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))

    round: so.Mapped[Round] = so.relationship()
    author: so.Mapped["User"] = so.relationship(foreign_keys=[author_id])  # noqa: F821
    successor: so.Mapped["Proposal | None"] = so.relationship(
        remote_side=[id], foreign_keys=[successor_id]
    )
    # Withdrawn in favour of (or merged into) this one; read, never written through.
    predecessors: so.Mapped[list["Proposal"]] = so.relationship(
        foreign_keys=[successor_id], order_by=number, viewonly=True
    )
    thread: so.Mapped["Thread"] = so.relationship()  # noqa: F821
    coauthors: so.Mapped[list["ProposalCoauthor"]] = so.relationship(
        order_by="ProposalCoauthor.id", viewonly=True
    )

    def __repr__(self) -> str:
        return f"<Proposal {self.id} #{self.number} {self.state}>"

    @property
    def label(self) -> str:
        return proposal_label(self.number)

    @property
    def is_open(self) -> bool:
        return self.state == ProposalState.open

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def reached_threshold(self) -> bool:
        """The round's threshold (if any) is met: the proposal goes to the floor."""
        threshold = self.round.threshold
        return threshold is not None and self.supporter_count >= threshold

    # The co-author rows must be loaded (selectinload) before these run.
    def accepted_coauthors(self) -> list["ProposalCoauthor"]:
        return [c for c in self.coauthors if c.status == CoauthorStatus.accepted]

    @property
    def cosignature_count(self) -> int:
        """Current co-signatures: the supporters who are not authors."""
        return self.supporter_count - 1 - len(self.accepted_coauthors())

    def pending_invite_for(self, user) -> "ProposalCoauthor | None":
        if not _is_member(user):
            return None
        for c in self.coauthors:
            if c.user_id == user.id and c.status == CoauthorStatus.invited:
                return c
        return None

    def is_author(self, user) -> bool:
        """The author or an accepted co-author (they count without signing)."""
        if not _is_member(user):
            return False
        return user.id == self.author_id or any(
            c.user_id == user.id for c in self.accepted_coauthors()
        )

    def is_visible_to(self, user) -> bool:
        """Hidden proposals are shown in full only to moderators (app.visibility)."""
        from ..visibility import can_see_proposal

        return can_see_proposal(user, self)

    @classmethod
    def visible_clause(cls, user):
        """SQL twin of is_visible_to: the proposals `user` sees in full."""
        if _is_member(user) and user.is_moderator:
            return sa.true()
        return cls.is_hidden.is_(False)

    def why_not_cosign(self, user, signed: bool = False, now=None) -> str | None:
        """Why `user` may not co-sign (None: they may). `signed`: they already have."""
        if not _is_member(user):
            return "Sign in to co-sign proposals."
        if user.is_suspended(now):
            return "Your account is suspended; you cannot co-sign."
        if self.is_author(user):
            return "Authors and co-authors already count as supporters."
        if signed:
            return "You have already co-signed this proposal."
        if not self.is_open:
            return f"This proposal is {self.state.value}: it can no longer be co-signed."
        if self.is_hidden:
            return "This proposal is hidden by a moderator and cannot be co-signed."
        if not self.round.is_open:
            return "This round is closed: it is read-only."
        if not self.round.cosigning_open(now):
            return "The co-signing deadline of this round has passed."
        return None

    def can_cosign(self, user, signed: bool = False, now=None) -> bool:
        """Whether `user` may co-sign now (`signed`: they have an active co-signature)."""
        return self.why_not_cosign(user, signed, now) is None

    def why_not_uncosign(self, user, signed: bool = True, now=None) -> str | None:
        """Why `user` may not remove their co-signature (None: they may)."""
        if not _is_member(user):
            return "Sign in first."
        if user.is_suspended(now):
            return "Your account is suspended; you cannot change your co-signature."
        if not signed:
            return "You have not co-signed this proposal."
        if not self.is_open:
            return f"This proposal is {self.state.value}: its supporters are kept as they were."
        if not self.round.is_open:
            return "This round is closed: it is read-only."
        if not self.round.cosigning_open(now):
            return "The co-signing deadline has passed: co-signatures can no longer change."
        return None

    def can_uncosign(self, user, signed: bool = True, now=None) -> bool:
        """Whether `user` may remove their co-signature now."""
        return self.why_not_uncosign(user, signed, now) is None

    def _author_action_refusal(self, user, what: str, now=None) -> str | None:
        if not _is_member(user):
            return "Sign in first."
        if user.is_suspended(now):
            return f"Your account is suspended; you cannot {what}."
        if user.id != self.author_id:
            return f"Only the author can {what}."
        if not self.is_open:
            return f"This proposal is {self.state.value}; you cannot {what}."
        if not self.round.is_open:
            return "This round is closed: it is read-only."
        return None

    def why_not_edit(self, user, now=None) -> str | None:
        return self._author_action_refusal(user, "edit this proposal", now)

    def can_edit(self, user, now=None) -> bool:
        """The author, while the proposal is open in an open round."""
        return self.why_not_edit(user, now) is None

    def why_not_withdraw(self, user, now=None) -> str | None:
        return self._author_action_refusal(user, "withdraw this proposal", now)

    def can_withdraw(self, user, now=None) -> bool:
        """The author, while the proposal is open in an open round."""
        return self.why_not_withdraw(user, now) is None

    def why_not_invite(self, user, now=None) -> str | None:
        return self._author_action_refusal(user, "invite co-authors", now)

    def can_invite_coauthor(self, user, now=None) -> bool:
        """The author, while the proposal is open in an open round."""
        return self.why_not_invite(user, now) is None

    def can_answer_invite(self, user, now=None) -> bool:
        """An invited member, while the proposal is open in an open round."""
        return (
            self.pending_invite_for(user) is not None
            and not user.is_suspended(now)
            and self.is_open
            and self.round.is_open
        )

    def can_decide(self, user) -> bool:
        """Admins record the outcome of an open proposal (also after the round closed)."""
        return _is_active(user) and user.is_admin and self.is_open

    def can_be_successor_of(self, other: "Proposal") -> bool:
        """Whether this proposal may be named as `other`'s successor (never a hidden one:
        its name would reach every co-signer's notification)."""
        return (
            self.id != other.id
            and self.round_id == other.round_id
            and self.is_open
            and not self.is_hidden
        )

    def changed_since(self, cosignature: "Cosignature | None") -> bool:
        """True when the text changed after this co-signature was given."""
        return cosignature is not None and cosignature.version_signed < self.version


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


def _is_member(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.id is not None


def _is_active(user) -> bool:
    return _is_member(user) and not user.is_suspended()
