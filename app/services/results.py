"""A round's result: who supported what when co-signing ended, from the event log.

The frozen moment. Co-signing ends at the earlier of the round's co-signing
deadline and the time an admin closed it (Round.closed_at):

    frozen_at = min(cosign_deadline, closed_at)   (whichever are set)

Once that moment has passed, the result is as of it, inclusive: every
co-sign event with `at <= frozen_at` counts, later ones do not (none can be
written: the predicates refuse co-signing after the deadline and in a
closed round). Nothing has to run at the deadline: the result is computed
from the events whenever it is asked for, so it is the same a minute or a
year later. Before that moment the same computation as of now is the
*standing*, marked provisional.

The result reads three statements whatever the size of the round: the
proposals with their authors, the co-sign events up to the moment, and the
co-authors who had accepted by then.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import (
    CoauthorStatus,
    CosignEvent,
    Proposal,
    ProposalCoauthor,
    ProposalState,
    Round,
)
from ..timeutil import utcnow
from .proposals import replay_events

# States in which a proposal still stands at the moment (it may go to the floor).
STANDING = frozenset({ProposalState.open, ProposalState.adopted})


def frozen_at(round_: Round) -> datetime | None:
    """When co-signing ended or will end: min(cosign_deadline, closed_at), or None."""
    moments = [m for m in (round_.cosign_deadline, round_.closed_at) if m is not None]
    return min(moments) if moments else None


def state_at(proposal: Proposal, when: datetime) -> ProposalState:
    """The proposal's state at `when`: withdrawals and decisions after it are not yet made."""
    if proposal.withdrawn_at is not None and proposal.withdrawn_at <= when:
        return ProposalState.withdrawn
    if proposal.decided_at is not None and proposal.decided_at <= when:
        return proposal.state
    if proposal.state == ProposalState.withdrawn and proposal.withdrawn_at is None:
        return proposal.state  # a withdrawal with no time (never written by the services)
    return ProposalState.open


@dataclass
class ProposalResult:
    proposal: Proposal
    supporters: int
    state: ProposalState
    to_floor: bool = False
    # For a withdrawn (or merged) proposal: where its support was sent, in order
    # (Proposal 1 -> Proposal 3 -> Proposal 7 when 3 was withdrawn too).
    successors: list[Proposal] = field(default_factory=list)


@dataclass
class RoundResult:
    round: Round
    as_of: datetime
    final: bool
    threshold: int | None
    rows: list[ProposalResult]
    # Distinct members who submitted, co-authored or co-signed a proposal by the moment.
    participants: int
    # Distinct members counted as a supporter of at least one proposal at the moment.
    supporters: int
    # Proposals submitted after the moment: not part of the result.
    later: int = 0

    @property
    def floor(self) -> list[ProposalResult]:
        return [r for r in self.rows if r.to_floor]

    @property
    def not_reached(self) -> list[ProposalResult]:
        return [r for r in self.rows if not r.to_floor and r.state in STANDING]

    @property
    def withdrawn(self) -> list[ProposalResult]:
        return [r for r in self.rows if r.state not in STANDING]


def round_result(round_: Round, now: datetime | None = None) -> RoundResult:
    """The round's result as of its frozen moment, or its provisional standing as of now."""
    now = now or utcnow()
    end = frozen_at(round_)
    final = end is not None and end <= now
    when = end if final else now

    proposals = list(
        db.session.scalars(
            sa.select(Proposal)
            .options(so.joinedload(Proposal.author))
            .where(Proposal.round_id == round_.id)
            .order_by(Proposal.number)
        )
    )
    by_id = {p.id: p for p in proposals}
    for p in proposals:  # successors are in the same round: no query per row
        set_committed_value(p, "round", round_)
        set_committed_value(p, "successor", by_id.get(p.successor_id))
    events = db.session.execute(
        sa.select(CosignEvent.proposal_id, CosignEvent.user_id, CosignEvent.kind, CosignEvent.at)
        .join(Proposal, Proposal.id == CosignEvent.proposal_id)
        .where(Proposal.round_id == round_.id, CosignEvent.at <= when)
        .order_by(CosignEvent.at, CosignEvent.id)
    ).all()
    coauthors = db.session.execute(
        sa.select(ProposalCoauthor.proposal_id, ProposalCoauthor.user_id)
        .join(Proposal, Proposal.id == ProposalCoauthor.proposal_id)
        .where(
            Proposal.round_id == round_.id,
            ProposalCoauthor.status == CoauthorStatus.accepted,
            ProposalCoauthor.answered_at <= when,
        )
    ).all()

    events_by: dict[int, list] = defaultdict(list)
    participants: set[int] = set()
    for event in events:
        events_by[event.proposal_id].append(event)
        participants.add(event.user_id)
    coauthors_by: dict[int, set[int]] = defaultdict(set)
    for proposal_id, user_id in coauthors:
        coauthors_by[proposal_id].add(user_id)

    rows: list[ProposalResult] = []
    supporting: set[int] = set()
    later = 0
    for p in proposals:
        if p.created_at > when:
            later += 1
            continue
        people = set(replay_events(events_by[p.id])) | coauthors_by[p.id] | {p.author_id}
        participants |= coauthors_by[p.id] | {p.author_id}
        state = state_at(p, when)
        row = ProposalResult(proposal=p, supporters=len(people), state=state)
        if state in STANDING:
            supporting |= people
            threshold = round_.threshold
            row.to_floor = threshold is None or row.supporters >= threshold
        else:
            row.successors = _chain(p, by_id, when)
        rows.append(row)
    rows.sort(key=lambda r: (-r.supporters, r.proposal.number))
    return RoundResult(
        round=round_,
        as_of=when,
        final=final,
        threshold=round_.threshold,
        rows=rows,
        participants=len(participants),
        supporters=len(supporting),
        later=later,
    )


def _chain(proposal: Proposal, by_id: dict[int, Proposal], when: datetime) -> list[Proposal]:
    """The successors a withdrawn proposal's support was sent to, following withdrawn ones."""
    chain: list[Proposal] = []
    seen = {proposal.id}
    current = proposal
    while current.successor_id is not None and current.successor_id not in seen:
        nxt = by_id.get(current.successor_id)
        if nxt is None:
            break
        chain.append(nxt)
        seen.add(nxt.id)
        if state_at(nxt, when) in STANDING:
            break
        current = nxt
    return chain
