"""The numbers behind the support bars and the supporters-over-time chart."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import CosignEvent, CosignEventKind, Proposal, Round


@dataclass(frozen=True)
class DayCount:
    day: date
    supporters: int  # at the end of that day


def _as_date(value) -> date:
    # PostgreSQL's date() gives a date, SQLite's an ISO string.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def support_history(proposal: Proposal) -> list[DayCount]:
    """Supporters at the end of each day with co-sign events, from the day it was submitted.

    One grouped query over the event log (indexed by proposal and time). The
    authors, who count without signing, are the base line: the current count
    less the net of every event, so the last point is the count shown.
    """
    day = sa.func.date(CosignEvent.at)
    net = sa.func.sum(sa.case((CosignEvent.kind == CosignEventKind.sign, 1), else_=-1))
    rows = db.session.execute(
        sa.select(day.label("day"), net.label("net"))
        .where(CosignEvent.proposal_id == proposal.id)
        .group_by(day)
        .order_by(day)
    ).all()
    base = proposal.supporter_count - sum(int(r.net) for r in rows)
    history = [DayCount(proposal.created_at.date(), base)]
    running = base
    for row in rows:
        running += int(row.net)
        when = _as_date(row.day)
        if when <= history[-1].day:
            history[-1] = DayCount(history[-1].day, running)
        else:
            history.append(DayCount(when, running))
    return history


def leader_count(round_: Round) -> int:
    """The most supporters any proposal of the round has (the scale of the round's bars)."""
    return (
        db.session.scalar(
            sa.select(sa.func.max(Proposal.supporter_count)).where(Proposal.round_id == round_.id)
        )
        or 0
    )
