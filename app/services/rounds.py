"""Round settings: an admin changes an open round, in public.

Each changed setting is one line of the moderation log (who, what, from
what to what, why), and the round's participants (authors, co-authors and
co-signers of its proposals) get an in-app notification. Deadlines and the
threshold are frozen once co-signing has ended: they decide the result
(app/services/results.py), which must not move after the fact.
"""

from datetime import datetime

import sqlalchemy as sa

from ..errors import InvalidState, PermissionDenied, ValidationError
from ..extensions import db
from ..models import CoauthorStatus, Cosignature, ModerationAction, Proposal, ProposalCoauthor
from ..models.moderation import DETAILS_MAX, REASON_MAX
from ..models.proposal import DESCRIPTION_MAX, Round
from ..timeutil import utcnow
from ..urls import path_for, round_url
from .moderation import check_reason
from .notifications import notify_many
from .proposals import _clean_text, _require_active, clean_title
from .results import frozen_at

THRESHOLD_MAX = 10_000_000
FIELD_LABELS = {
    "title": "title",
    "description": "description",
    "submission_deadline": "submission deadline",
    "cosign_deadline": "co-signing deadline",
    "threshold": "threshold",
}
FROZEN_FIELDS = ("submission_deadline", "cosign_deadline", "threshold")


def _shown(name: str, value) -> str:
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if name == "description":
        return f"{len(value):,} characters"
    return str(value)


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def round_participants(round_: Round) -> list[int]:
    """Members taking part in the round now: authors, co-authors and active co-signers."""
    in_round = sa.select(Proposal.id).where(Proposal.round_id == round_.id).scalar_subquery()
    query = sa.union(
        sa.select(Proposal.author_id).where(Proposal.round_id == round_.id),
        sa.select(ProposalCoauthor.user_id).where(
            ProposalCoauthor.proposal_id.in_(in_round),
            ProposalCoauthor.status == CoauthorStatus.accepted,
        ),
        sa.select(Cosignature.user_id).where(
            Cosignature.proposal_id.in_(in_round), Cosignature.removed_at.is_(None)
        ),
    )
    return sorted(db.session.scalars(query))


def update_round(
    round_: Round,
    actor,
    reason: str,
    *,
    title: str,
    description: str,
    submission_deadline: datetime | None,
    cosign_deadline: datetime | None,
    threshold: int | None,
    now: datetime | None = None,
) -> list[str]:
    """Change an open round's settings (admins only); returns what changed, as log details."""
    now = now or utcnow()
    _require_active(actor, now)
    if not actor.is_admin:
        raise PermissionDenied("Only admins can change a round's settings.")
    # Lock the round's row so that two admins' changes queue up.
    db.session.execute(
        sa.select(Round.id)
        .where(Round.id == round_.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    db.session.refresh(round_)
    if not round_.is_open:
        raise InvalidState("This round is closed: its settings can no longer change.")
    reason = check_reason(reason)
    wanted = {
        "title": clean_title(title),
        "description": _clean_text(
            description, "description", "The description", DESCRIPTION_MAX, False
        ),
        "submission_deadline": submission_deadline,
        "cosign_deadline": cosign_deadline,
        "threshold": threshold,
    }
    if threshold is not None and (
        not isinstance(threshold, int)
        or isinstance(threshold, bool)
        or not 1 <= threshold <= THRESHOLD_MAX
    ):
        raise ValidationError(
            f"The threshold is a whole number from 1 to {THRESHOLD_MAX:,}.", field="threshold"
        )
    for name in ("submission_deadline", "cosign_deadline"):
        # The form shows minutes: the same minute sent back is no change.
        before, after = getattr(round_, name), wanted[name]
        if before is not None and after is not None and _minute(before) == _minute(after):
            wanted[name] = before
    changed = [name for name, value in wanted.items() if getattr(round_, name) != value]
    if not changed:
        raise ValidationError("Nothing changed: change a setting, or leave the page.")
    end = frozen_at(round_)
    for name in changed:
        if name in FROZEN_FIELDS and end is not None and end <= now:
            raise ValidationError(
                f"Co-signing ended on {_shown('', end)}: the {FIELD_LABELS[name]} decided the "
                "result and can no longer change.",
                field=name,
            )
        value = wanted[name]
        if name.endswith("_deadline") and value is not None and value <= now:
            raise ValidationError(
                f"The {FIELD_LABELS[name]} must be in the future (it is now {_shown('', now)}).",
                field=name,
            )
    sub, cos = wanted["submission_deadline"], wanted["cosign_deadline"]
    if sub and cos and cos < sub:
        raise ValidationError(
            "Co-signing cannot end before submissions do.", field="cosign_deadline"
        )

    details = []
    for name in changed:
        before, after = getattr(round_, name), wanted[name]
        detail = f"{FIELD_LABELS[name]}: {_shown(name, before)} -> {_shown(name, after)}"
        details.append(detail)
        setattr(round_, name, after)
        db.session.add(
            ModerationAction(
                moderator_id=actor.id,
                action="change_round",
                target_type="round",
                target_id=round_.id,
                reason=reason[:REASON_MAX],
                details=detail[:DETAILS_MAX],
                created_at=now,
            )
        )
    db.session.flush()
    recipients = [uid for uid in round_participants(round_) if uid != actor.id]
    notify_many(
        recipients,
        "round_changed",
        f"The round “{round_.title}”, in which you take part, changed: "
        f"{'; '.join(details)}. Reason: {reason}",
        link=round_url(round_.slug, path_for),
    )
    return details
