"""Proposal rounds: submitting, editing, co-signing, withdrawing and deciding.

Every write takes the actor explicitly, checks the model predicate, changes
the rows, flushes and raises a DomainError on refusal; the caller commits.

Exactness under concurrency. Each write that touches a proposal first locks
its row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the whole write
transaction already holds the database lock, BEGIN IMMEDIATE). So writers of
one proposal queue up and every check after the lock sees the latest
committed rows. The supporter count is changed only in SQL
(supporter_count = supporter_count + 1) in the same transaction as the
co-signature row, and a partial unique index allows one active co-signature
per member and proposal; should two inserts still meet, the loser's
IntegrityError is caught in a savepoint and answered "already co-signed".
The time of each event is read after the lock, so the log of a proposal is
in the order its writes committed and replaying it gives the active rows.
"""

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (
    CoauthorStatus,
    Cosignature,
    CosignEvent,
    CosignEventKind,
    Proposal,
    ProposalCoauthor,
    ProposalState,
    ProposalVersion,
    Round,
    RoundState,
    Thread,
    User,
    WithdrawalReason,
)
from ..models.proposal import (
    BODY_MAX,
    DESCRIPTION_MAX,
    EXPLANATION_MAX,
    SLUG_MAX,
    TITLE_MAX,
)
from ..permissions import suspension_message
from ..timeutil import utcnow
from ..urls import cosign_url, path_for, proposal_url, versions_url
from . import notifications as notes
from .accounts import has_control_chars
from .notifications import notify, notify_many

__all__ = [
    "answer_coauthor_invite",
    "close_round",
    "cosign",
    "decide_proposal",
    "edit_proposal",
    "invite_coauthor",
    "notify",
    "open_round",
    "submit_proposal",
    "supporters_as_of",
    "uncosign",
    "withdraw_proposal",
]

DECISIONS = (ProposalState.adopted, ProposalState.rejected, ProposalState.merged)
REASON_LABELS = {
    WithdrawalReason.duplicate: "Duplicate of another proposal",
    WithdrawalReason.merged: "Merged into another proposal",
    WithdrawalReason.superseded: "Superseded",
    WithdrawalReason.no_longer_needed: "No longer needed",
    WithdrawalReason.other: "Other",
}
SORTS = ("supporters", "newest", "number")
PER_PAGE = 50
# A screenful on the proposal's page; the rest on its supporters page, paged.
SUPPORTERS_SHOWN = 20
SUPPORTERS_PER_PAGE = 100


# --- Checks -----------------------------------------------------------------


def _require_active(actor: User, now: datetime | None = None) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("Sign in first.")
    if actor.is_suspended(now):
        raise PermissionDenied(suspension_message(actor))


def _clean_text(value, name: str, label: str, max_len: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{label} must be text.", field=name)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{label} cannot be empty.", field=name)
    if len(value) > max_len:
        raise ValidationError(
            f"{label} has {len(value):,} characters; the most is {max_len:,}.", field=name
        )
    if has_control_chars(value):
        raise ValidationError(f"{label} holds control characters; please remove them.", field=name)
    return value


def clean_title(title) -> str:
    title = _clean_text(title, "title", "The title", TITLE_MAX)
    if "\n" in title or "\r" in title:
        raise ValidationError("The title must fit on one line.", field="title")
    return " ".join(title.split())


def clean_body(body) -> str:
    return _clean_text(body, "body", "The text", BODY_MAX)


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80].strip("-") or "round"


# The statements every write to a proposal runs, built once (building an ORM
# statement costs more than running it) and run with bound values.


@functools.cache
def _lock_select() -> sa.Select:
    # The round and the co-authors come with the row: the predicates ask both.
    return (
        sa.select(Proposal)
        .where(Proposal.id == sa.bindparam("proposal_id"))
        .options(
            so.joinedload(Proposal.round, innerjoin=True),
            so.joinedload(Proposal.coauthors),
        )
        .with_for_update(of=Proposal)
        .execution_options(populate_existing=True)
    )


@functools.cache
def _bump_update() -> sa.Update:
    # On the table, not the entity: a plain UPDATE needs none of the ORM's
    # bulk-update machinery (a third of a co-sign's time in it), and the
    # row version's onupdate is the column's own.
    proposals = Proposal.__table__
    return (
        sa.update(proposals)
        .where(proposals.c.id == sa.bindparam("proposal_id"))
        .values(supporter_count=proposals.c.supporter_count + sa.bindparam("delta"))
        .returning(proposals.c.supporter_count, proposals.c.row_version)
    )


@functools.cache
def _insert(model) -> sa.Insert:
    """A plain INSERT into the model's table (no unit of work for a row nobody reads back)."""
    return sa.insert(model.__table__)


@functools.cache
def _active_cosignature_select() -> sa.Select:
    return sa.select(Cosignature).where(
        Cosignature.proposal_id == sa.bindparam("proposal_id"),
        Cosignature.user_id == sa.bindparam("user_id"),
        Cosignature.removed_at.is_(None),
    )


def _lock(*proposals: Proposal) -> None:
    """Lock the proposals' rows (in id order, so two writers never deadlock) and reload them."""
    for proposal in sorted(proposals, key=lambda p: p.id):
        _locked(proposal.id)


def _locked(proposal_id: int) -> Proposal:
    """The proposal's row, locked and read afresh with its round and co-authors."""
    found = db.session.execute(_lock_select(), {"proposal_id": proposal_id}).unique()
    proposal = found.scalar_one_or_none()
    if proposal is None:
        raise NotFound("There is no such proposal.")
    return proposal


def _bump(proposal: Proposal, delta: int) -> int:
    """supporter_count += delta, in SQL; the new value (and row version) is read back."""
    new, row_version = db.session.execute(
        _bump_update(), {"proposal_id": proposal.id, "delta": delta}
    ).one()
    set_committed_value(proposal, "supporter_count", new)
    set_committed_value(proposal, "row_version", row_version)
    return new


def active_cosignature(proposal: Proposal, user) -> Cosignature | None:
    """The member's current co-signature of the proposal, if any."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        _active_cosignature_select(), {"proposal_id": proposal.id, "user_id": user.id}
    )


# --- Rounds -----------------------------------------------------------------


def open_round(
    actor: User,
    title: str,
    description: str = "",
    slug: str | None = None,
    submission_deadline: datetime | None = None,
    cosign_deadline: datetime | None = None,
    threshold: int | None = None,
    is_demo: bool = False,
    now: datetime | None = None,
) -> Round:
    """Open a new proposal round (admins only)."""
    _require_active(actor, now)
    if not actor.is_admin:
        raise PermissionDenied("Only admins can open a round.")
    title = clean_title(title)
    description = _clean_text(description, "description", "The description", DESCRIPTION_MAX, False)
    if threshold is not None and (not isinstance(threshold, int) or threshold < 1):
        raise ValidationError("The threshold is a whole number of at least 1.", field="threshold")
    if submission_deadline and cosign_deadline and cosign_deadline < submission_deadline:
        raise ValidationError(
            "Co-signing cannot end before submissions do.", field="cosign_deadline"
        )
    if slug:
        slug = slug.strip().lower()
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) or len(slug) > SLUG_MAX:
            raise ValidationError(
                "Use lower-case letters, digits and single hyphens in the address.", field="slug"
            )
        if db.session.scalar(sa.select(Round.id).where(Round.slug == slug)):
            raise ValidationError("Another round already has this address.", field="slug")
    else:
        base = slugify(title)
        taken = set(
            db.session.scalars(
                sa.select(Round.slug).where(
                    sa.or_(Round.slug == base, Round.slug.like(base + "-%"))
                )
            )
        )
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
    round_ = Round(
        slug=slug,
        title=title,
        description=description,
        submission_deadline=submission_deadline,
        cosign_deadline=cosign_deadline,
        threshold=threshold,
        is_demo=is_demo,
        created_by_id=actor.id,
        created_at=now or utcnow(),
    )
    db.session.add(round_)
    db.session.flush()
    return round_


def close_round(round_: Round, actor: User, now: datetime | None = None) -> Round:
    """Close a round: from now on it is read-only (admins may still decide proposals)."""
    _require_active(actor, now)
    if not actor.is_admin:
        raise PermissionDenied("Only admins can close a round.")
    changed = db.session.execute(
        sa.update(Round)
        .where(Round.id == round_.id, Round.state == RoundState.open)
        .values(state=RoundState.closed, closed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise InvalidState("This round is already closed.")
    db.session.refresh(round_)
    return round_


# --- Proposals ---------------------------------------------------------------


def submit_proposal(
    round_: Round, actor: User, title: str, body: str, now: datetime | None = None
) -> Proposal:
    """Submit a proposal to an open round; it gets the round's next number."""
    now = now or utcnow()
    _require_active(actor, now)
    reason = round_.why_not_submit(actor, now)
    if reason:
        raise InvalidState(reason)
    title, body = clean_title(title), clean_body(body)
    # The next number, in SQL; the row lock also queues concurrent submitters.
    number = db.session.execute(
        sa.update(Round)
        .where(Round.id == round_.id, Round.state == RoundState.open)
        .values(last_number=Round.last_number + 1)
        .returning(Round.last_number)
        .execution_options(synchronize_session=False)
    ).scalar()
    if number is None:
        raise InvalidState("This round is closed: it is read-only.")
    set_committed_value(round_, "last_number", number)
    thread = Thread(title=f"Proposal {number}: {title}"[:300], created_at=now)
    proposal = Proposal(
        round=round_,
        number=number,
        title=title,
        body=body,
        author=actor,
        thread=thread,
        state=ProposalState.open,
        supporter_count=1,
        version=1,
        created_at=now,
        updated_at=now,
    )
    db.session.add_all([thread, proposal])
    db.session.flush()
    db.session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            number=1,
            title=title,
            body=body,
            editor_id=actor.id,
            created_at=now,
        )
    )
    db.session.flush()
    _tell_about_new_proposal(proposal, actor)
    return proposal


def _context(proposal: Proposal) -> dict:
    """The notification columns a digest groups a proposal's news by."""
    return {
        "round_id": proposal.round_id,
        "proposal_id": proposal.id,
        "thread_id": proposal.thread_id,
        "link": proposal_url(proposal.id, path_for),
    }


def _tell_about_new_proposal(proposal: Proposal, actor: User) -> None:
    """The round's followers hear of it; members it @mentions are told (if they can see it)."""
    label = f"{proposal.label} “{proposal.title}”"
    mentioned = [
        m.id for m in notes.mentioned_members(proposal.body) if proposal.is_visible_to(m)
    ]
    notify_many(
        mentioned,
        "mention",
        f"{actor.display_name} mentioned you in {label}.",
        exclude=actor.id,
        **_context(proposal),
    )
    followers = notes.audience(notes.FollowTarget.round, proposal.round_id)
    if mentioned:
        followers = followers.where(notes.Follow.user_id.not_in(mentioned))
    notify_many(
        followers,
        "new_proposal",
        f"{actor.display_name} submitted {label} in the round “{proposal.round.title}”.",
        exclude=actor.id,
        **_context(proposal),
    )


def edit_proposal(
    proposal: Proposal, actor: User, title: str, body: str, now: datetime | None = None
) -> ProposalVersion:
    """Save a new version of the text; co-signers are told it changed."""
    _require_active(actor, now)
    _lock(proposal)
    now = now or utcnow()  # after the lock: a proposal's events get times in lock order
    if actor.id != proposal.author_id:
        raise PermissionDenied("Only the author can edit this proposal.")
    reason = proposal.why_not_edit(actor, now)
    if reason:
        raise InvalidState(reason)
    title, body = clean_title(title), clean_body(body)
    if title == proposal.title and body == proposal.body:
        raise ValidationError("Nothing changed: edit the title or the text.", field="body")
    number = db.session.execute(
        sa.update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(version=Proposal.version + 1, title=title, body=body, updated_at=now)
        .returning(Proposal.version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    for name, value in (("version", number), ("title", title), ("body", body), ("updated_at", now)):
        set_committed_value(proposal, name, value)
    version = ProposalVersion(
        proposal_id=proposal.id,
        number=number,
        title=title,
        body=body,
        editor_id=actor.id,
        created_at=now,
    )
    db.session.add(version)
    notify_many(
        notes.proposal_audience(proposal.id),
        "proposal_edited",
        f"{proposal.label} “{title}”, which you support or follow, has a new text "
        f"(version {number}).",
        exclude=actor.id,
        **{
            **_context(proposal),
            "link": versions_url(
                proposal.id, path_for, **{"from": number - 1, "to": number}
            ),
        },
    )
    db.session.flush()
    return version


def cosign(proposal: Proposal | int, actor: User, now: datetime | None = None) -> Proposal:
    """Co-sign an open proposal, once; the count goes up by one in SQL.

    The proposal's row is locked first, so a withdrawal, hiding or closing
    that commits before is seen by the predicate, and two co-signs of one
    member queue and the second finds the first. The partial unique index
    (one active co-signature per member and proposal) backs that up. The
    proposal may be given by its id: the lock is then its one read.
    """
    _require_active(actor, now)
    proposal = _locked(proposal if isinstance(proposal, int) else proposal.id)
    now = now or utcnow()  # after the lock: a proposal's events get times in lock order
    reason = proposal.why_not_cosign(actor, active_cosignature(proposal, actor) is not None, now)
    if reason:
        raise InvalidState(reason)
    row = {"proposal_id": proposal.id, "user_id": actor.id}
    db.session.execute(
        _insert(Cosignature), {**row, "signed_at": now, "version_signed": proposal.version}
    )
    db.session.execute(_insert(CosignEvent), {**row, "kind": CosignEventKind.sign, "at": now})
    _bump(proposal, 1)
    return proposal


def uncosign(proposal: Proposal | int, actor: User, now: datetime | None = None) -> Proposal:
    """Remove the member's co-signature while co-signing is open (the proposal or its id)."""
    _require_active(actor, now)
    proposal = _locked(proposal if isinstance(proposal, int) else proposal.id)
    now = now or utcnow()  # after the lock: a proposal's events get times in lock order
    reason = proposal.why_not_uncosign(actor, True, now)
    if reason:
        raise InvalidState(reason)
    ended = db.session.execute(
        sa.update(Cosignature)
        .where(
            Cosignature.proposal_id == proposal.id,
            Cosignature.user_id == actor.id,
            Cosignature.removed_at.is_(None),
        )
        .values(removed_at=now)
    ).rowcount
    if not ended:
        raise InvalidState("You have not co-signed this proposal.")
    row = {"proposal_id": proposal.id, "user_id": actor.id}
    db.session.execute(_insert(CosignEvent), {**row, "kind": CosignEventKind.unsign, "at": now})
    _bump(proposal, -1)
    db.session.flush()
    return proposal


def _offer_successor(
    proposal: Proposal, successor: Proposal, actor: User, message: str, kind: str
) -> None:
    """Tell the proposal's audience; who does not yet back the successor gets a one-click offer.

    Set-based (INSERT ... SELECT): 10,000 co-signers are a few statements.
    """
    everyone = notes.proposal_audience(proposal.id).subquery()
    backing = notes.proposal_supporters(successor.id).subquery()
    backers = sa.select(backing.c.user_id)
    notify_many(
        sa.select(everyone.c.user_id).where(everyone.c.user_id.not_in(backers)),
        kind,
        message,
        exclude=actor.id,
        action_url=cosign_url(successor.id, path_for),
        action_label=f"Co-sign {successor.label}",
        about_proposal_id=successor.id,
        **_context(proposal),
    )
    notify_many(
        sa.select(everyone.c.user_id).where(everyone.c.user_id.in_(backers)),
        kind,
        message,
        exclude=actor.id,
        about_proposal_id=successor.id,
        **_context(proposal),
    )


def withdraw_proposal(
    proposal: Proposal,
    actor: User,
    reason,
    explanation: str,
    successor: Proposal | None = None,
    now: datetime | None = None,
) -> Proposal:
    """Withdraw an open proposal, optionally in favour of a successor in the same round."""
    _require_active(actor, now)
    _lock(*([proposal, successor] if successor is not None else [proposal]))
    now = now or utcnow()  # after the lock: a proposal's events get times in lock order
    if actor.id != proposal.author_id:
        raise PermissionDenied("Only the author can withdraw this proposal.")
    refusal = proposal.why_not_withdraw(actor, now)
    if refusal:
        raise InvalidState(refusal)
    try:
        reason = WithdrawalReason(reason)
    except ValueError as exc:
        raise ValidationError("Choose a reason from the list.", field="reason") from exc
    explanation = _clean_text(explanation, "explanation", "The explanation", EXPLANATION_MAX)
    if successor is not None:
        if successor.id == proposal.id:
            raise ValidationError(
                "A proposal cannot be withdrawn in favour of itself.", field="successor"
            )
        if successor.round_id != proposal.round_id:
            raise ValidationError(
                "The successor must be a proposal of the same round.", field="successor"
            )
        if not successor.is_open:
            raise ValidationError(
                f"{successor.label} is {successor.state.value}; name an open proposal.",
                field="successor",
            )
    elif reason == WithdrawalReason.merged:
        raise ValidationError("Name the proposal it was merged into.", field="successor")
    proposal.state = ProposalState.withdrawn
    proposal.withdrawn_at = now
    proposal.updated_at = now
    proposal.withdrawal_reason = reason
    proposal.withdrawal_explanation = explanation
    proposal.successor_id = successor.id if successor else None
    db.session.flush()

    if successor is not None:
        message = (
            f"{proposal.label} “{proposal.title}”, which you supported, was withdrawn in favour "
            f"of {successor.label} “{successor.title}”. Your co-signature stays where it was: "
            "nothing moves without your click."
        )
        _offer_successor(proposal, successor, actor, message, "proposal_withdrawn")
    else:
        notify_many(
            notes.proposal_audience(proposal.id),
            "proposal_withdrawn",
            f"{proposal.label} “{proposal.title}”, which you supported, was withdrawn "
            f"({REASON_LABELS[reason].lower()}).",
            exclude=actor.id,
            **_context(proposal),
        )
    return proposal


def decide_proposal(
    proposal: Proposal,
    actor: User,
    outcome,
    merged_into: Proposal | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Proposal:
    """Record the outcome of an open proposal: adopted, rejected, or merged into another."""
    _require_active(actor, now)
    if not actor.is_admin:
        raise PermissionDenied("Only admins can decide proposals.")
    _lock(*([proposal, merged_into] if merged_into is not None else [proposal]))
    now = now or utcnow()  # after the lock: a proposal's events get times in lock order
    if not proposal.is_open:
        raise InvalidState(f"{proposal.label} is already {proposal.state.value}.")
    try:
        outcome = ProposalState(outcome)
    except ValueError as exc:
        raise ValidationError("Choose adopted, rejected or merged.", field="outcome") from exc
    if outcome not in DECISIONS:
        raise ValidationError("Choose adopted, rejected or merged.", field="outcome")
    note = _clean_text(note, "note", "The note", EXPLANATION_MAX, required=False)
    if outcome == ProposalState.merged:
        if merged_into is None:
            raise ValidationError("Name the proposal it is merged into.", field="merged_into")
        if merged_into.id == proposal.id or merged_into.round_id != proposal.round_id:
            raise ValidationError(
                "Merge into another proposal of the same round.", field="merged_into"
            )
        if merged_into.state not in (ProposalState.open, ProposalState.adopted):
            raise ValidationError(
                f"{merged_into.label} is {merged_into.state.value}; merge into an open or "
                "adopted proposal.",
                field="merged_into",
            )
    else:
        merged_into = None
    proposal.state = outcome
    proposal.decided_at = now
    proposal.decided_by_id = actor.id
    proposal.decision_note = note or None
    proposal.updated_at = now
    proposal.successor_id = merged_into.id if merged_into else None
    db.session.flush()

    recipients = notes.proposal_audience(proposal.id)
    if merged_into is not None:
        message = (
            f"{proposal.label} “{proposal.title}”, which you supported, was merged into "
            f"{merged_into.label} “{merged_into.title}”."
        )
        if merged_into.is_open:
            _offer_successor(proposal, merged_into, actor, message, "proposal_decided")
        else:
            notify_many(
                recipients,
                "proposal_decided",
                message,
                exclude=actor.id,
                about_proposal_id=merged_into.id,
                **_context(proposal),
            )
    else:
        notify_many(
            recipients,
            "proposal_decided",
            f"{proposal.label} “{proposal.title}”, which you supported, was {outcome.value}.",
            exclude=actor.id,
            **_context(proposal),
        )
    return proposal


# --- Co-authors --------------------------------------------------------------


def invite_coauthor(
    proposal: Proposal, actor: User, invitee: User | None, now: datetime | None = None
) -> ProposalCoauthor:
    """The author invites a member to co-author; they accept or decline."""
    now = now or utcnow()
    _require_active(actor, now)
    if actor.id != proposal.author_id:
        raise PermissionDenied("Only the author can invite co-authors.")
    refusal = proposal.why_not_invite(actor, now)
    if refusal:
        raise InvalidState(refusal)
    if invitee is None:
        raise ValidationError("There is no member with that username.", field="username")
    if invitee.id == actor.id:
        raise ValidationError(
            "You cannot invite yourself: you are the author already.", field="username"
        )
    invite = db.session.scalar(
        sa.select(ProposalCoauthor).where(
            ProposalCoauthor.proposal_id == proposal.id, ProposalCoauthor.user_id == invitee.id
        )
    )
    if invite is not None and invite.status == CoauthorStatus.accepted:
        raise ValidationError(f"{invitee.display_name} is already a co-author.", field="username")
    if invite is not None and invite.status == CoauthorStatus.invited:
        raise ValidationError(
            f"{invitee.display_name} is already invited and has not answered yet.",
            field="username",
        )
    if invite is None:
        invite = ProposalCoauthor(proposal_id=proposal.id, user_id=invitee.id)
        db.session.add(invite)
    invite.status = CoauthorStatus.invited
    invite.invited_at = now
    invite.answered_at = None
    db.session.flush()
    db.session.expire(proposal, ["coauthors"])
    notify(
        invitee,
        "coauthor_invite",
        f"{actor.display_name} invites you to co-author {proposal.label} “{proposal.title}”. "
        "Accept or decline on the proposal's page.",
        **_context(proposal),
    )
    return invite


def answer_coauthor_invite(
    proposal: Proposal, actor: User, accept: bool, now: datetime | None = None
) -> ProposalCoauthor:
    """Accept (become a co-author, counted as a supporter) or decline an invitation."""
    _require_active(actor, now)
    _lock(proposal)
    now = now or utcnow()  # after the lock: a proposal's events get times in lock order
    invite = db.session.scalar(
        sa.select(ProposalCoauthor).where(
            ProposalCoauthor.proposal_id == proposal.id,
            ProposalCoauthor.user_id == actor.id,
            ProposalCoauthor.status == CoauthorStatus.invited,
        )
    )
    if invite is None:
        raise InvalidState("You have no open invitation to co-author this proposal.")
    if not proposal.is_open or not proposal.round.is_open:
        raise InvalidState(f"{proposal.label} can no longer change its authors.")
    if accept:
        # A co-author counts as a supporter without signing: a co-signature
        # they gave before becomes their authorship (the count is unchanged).
        ended = db.session.execute(
            sa.update(Cosignature)
            .where(
                Cosignature.proposal_id == proposal.id,
                Cosignature.user_id == actor.id,
                Cosignature.removed_at.is_(None),
            )
            .values(removed_at=now)
        ).rowcount
        if ended:
            db.session.add(
                CosignEvent(
                    proposal_id=proposal.id,
                    user_id=actor.id,
                    kind=CosignEventKind.unsign,
                    at=now,
                )
            )
        else:
            _bump(proposal, +1)
        invite.status = CoauthorStatus.accepted
    else:
        invite.status = CoauthorStatus.declined
    invite.answered_at = now
    db.session.flush()
    db.session.expire(proposal, ["coauthors"])
    notify(
        proposal.author_id,
        "coauthor_answer",
        f"{actor.display_name} {'accepted' if accept else 'declined'} your invitation to "
        f"co-author {proposal.label} “{proposal.title}”.",
        **_context(proposal),
    )
    return invite


# --- History -----------------------------------------------------------------


@dataclass
class Supporters:
    """Who supported a proposal at a moment: authors, then co-signers in signing order."""

    when: datetime | None
    authors: list[User] = field(default_factory=list)
    # One page of the co-signers (all of them unless a page was asked for).
    signers: list[tuple[User, datetime]] = field(default_factory=list)
    existed: bool = True
    signer_total: int | None = None

    @property
    def count(self) -> int:
        total = len(self.signers) if self.signer_total is None else self.signer_total
        return len(self.authors) + total


def replay_events(events) -> dict[int, datetime]:
    """Active co-signers after the events (user id -> time of their current signature)."""
    active: dict[int, datetime] = {}
    for event in events:
        if event.kind == CosignEventKind.sign:
            active[event.user_id] = event.at
        else:
            active.pop(event.user_id, None)
    return active


def supporters_as_of(
    proposal: Proposal, when: datetime, offset: int = 0, limit: int | None = None
) -> Supporters:
    """Replay the co-sign log up to `when` (inclusive): supporters at that moment.

    `offset` and `limit` pick one page of the co-signers (in signing order);
    only that page's members are loaded.
    """
    if when < proposal.created_at:
        return Supporters(when=when, existed=False)
    events = db.session.execute(
        sa.select(CosignEvent.user_id, CosignEvent.kind, CosignEvent.at)
        .where(CosignEvent.proposal_id == proposal.id, CosignEvent.at <= when)
        .order_by(CosignEvent.at, CosignEvent.id)
    ).all()
    active = replay_events(events)
    coauthors = db.session.scalars(
        sa.select(ProposalCoauthor).where(
            ProposalCoauthor.proposal_id == proposal.id,
            ProposalCoauthor.status == CoauthorStatus.accepted,
            ProposalCoauthor.answered_at <= when,
        )
    ).all()
    author_ids = [proposal.author_id, *(c.user_id for c in coauthors)]
    ordered = sorted(active.items(), key=lambda item: (item[1], item[0]))
    page = ordered[offset : None if limit is None else offset + limit]
    wanted = [*(uid for uid, _ in page), *author_ids]
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(wanted)))}
    return Supporters(
        when=when,
        authors=[users[i] for i in author_ids],
        signers=[(users[uid], at) for uid, at in page],
        signer_total=len(ordered),
    )


def supporters_at(
    proposal: Proposal, when: datetime | None, offset: int = 0, limit: int | None = None
) -> Supporters:
    """The supporters now (`when` None) or as of `when`; one page of the co-signers."""
    if when is not None:
        return supporters_as_of(proposal, when, offset, limit)
    authors = [proposal.author, *(c.user for c in proposal.accepted_coauthors())]
    rows = current_supporters(proposal, limit, offset)
    return Supporters(
        when=None,
        authors=authors,
        signers=[(s.user, s.signed_at) for s in rows],
        signer_total=proposal.supporter_count - len(authors),
    )


def current_supporters(
    proposal: Proposal, limit: int | None = None, offset: int = 0
) -> list[Cosignature]:
    """Active co-signatures with their members, in signing order (one page of them)."""
    stmt = (
        sa.select(Cosignature)
        .options(so.joinedload(Cosignature.user))
        .where(Cosignature.proposal_id == proposal.id, Cosignature.removed_at.is_(None))
        .order_by(Cosignature.signed_at, Cosignature.id)
    )
    if limit is not None:
        stmt = stmt.offset(offset).limit(limit)
    return list(db.session.scalars(stmt))


def versions_of(proposal: Proposal) -> list[ProposalVersion]:
    return list(
        db.session.scalars(
            sa.select(ProposalVersion)
            .where(ProposalVersion.proposal_id == proposal.id)
            .order_by(ProposalVersion.number)
        )
    )


# --- Reading rounds ----------------------------------------------------------


@functools.cache
def _round_select() -> sa.Select:
    return sa.select(Round).where(Round.slug == sa.bindparam("slug"))


def get_round(slug: str) -> Round:
    round_ = db.session.scalar(_round_select(), {"slug": slug})
    if round_ is None:
        raise NotFound("There is no round at this address.")
    return round_


@functools.cache
def _load_select() -> sa.Select:
    return (
        sa.select(Proposal)
        .options(
            so.joinedload(Proposal.round),
            so.joinedload(Proposal.author),
            so.joinedload(Proposal.successor),
            so.joinedload(Proposal.thread),
            # Joined, not a second statement: a proposal has few co-authors.
            so.joinedload(Proposal.coauthors).joinedload(ProposalCoauthor.user),
        )
        .where(Proposal.id == sa.bindparam("proposal_id"))
    )


def _found(proposal: Proposal | None) -> Proposal:
    """A loaded proposal, or NotFound; its thread's owner set (its visibility asks it)."""
    if proposal is None:
        raise NotFound("There is no proposal with this number.")
    set_committed_value(proposal.thread, "owner_proposal", proposal)
    return proposal


def load_proposal(proposal_id: int) -> Proposal:
    """A proposal with its round, author, co-authors and successor (fixed query count)."""
    return _found(
        db.session.execute(_load_select(), {"proposal_id": proposal_id})
        .unique()
        .scalar_one_or_none()
    )


@dataclass
class ProposalPage:
    """A proposal as its page shows it to one viewer."""

    proposal: Proposal
    # The viewer's active co-signature, if any.
    signature: Cosignature | None
    # The proposals withdrawn in favour of (or merged into) it that the viewer may see.
    predecessors: list[Proposal]


@functools.cache
def _page_select() -> sa.Select:
    """`_load_select`, with the viewer's co-signature and the predecessors joined in."""
    signature = so.aliased(Cosignature, name="viewer_signature")
    return (
        _load_select()
        .add_columns(signature)
        .outerjoin(
            signature,
            sa.and_(
                signature.proposal_id == Proposal.id,
                signature.user_id == sa.bindparam("viewer_id"),
                signature.removed_at.is_(None),
            ),
        )
        .options(
            # Joined beside the co-authors: both are a few rows, and only the columns
            # a link and the visibility rule read.
            so.joinedload(Proposal.predecessors).load_only(
                Proposal.id, Proposal.number, Proposal.is_hidden
            )
        )
    )


def load_proposal_page(proposal_id: int, viewer) -> ProposalPage:
    """`load_proposal` and what the page shows around it for `viewer`, in one statement."""
    viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
    row = (
        db.session.execute(_page_select(), {"proposal_id": proposal_id, "viewer_id": viewer_id})
        .unique()
        .one_or_none()
    )
    proposal, signature = row if row is not None else (None, None)
    _found(proposal)
    predecessors = [p for p in proposal.predecessors if p.is_visible_to(viewer)]
    return ProposalPage(proposal, signature, predecessors)


@functools.cache
def _round_counts_select() -> sa.Select:
    # Grouped by the round's key: its other columns depend on it (both databases
    # accept them in the select list).
    return (
        sa.select(Round, Proposal.state, sa.func.count(Proposal.id))
        .outerjoin(Proposal, Proposal.round_id == Round.id)
        .where(Round.slug == sa.bindparam("slug"))
        .group_by(Round.id, Proposal.state)
    )


def round_with_counts(slug: str) -> tuple[Round, dict[str, int]]:
    """A round and its proposals' counts by state (as `state_counts` gives them), in
    one statement: a round's page shows both."""
    rows = db.session.execute(_round_counts_select(), {"slug": slug}).all()
    if not rows:
        raise NotFound("There is no round at this address.")
    counts = {"total": 0}
    for _round, state, n in rows:
        if state is not None:
            counts[ProposalState(state).value] = n
            counts["total"] += n
    return rows[0][0], counts


@functools.cache
def _state_counts_select() -> sa.Select:
    return (
        sa.select(Proposal.round_id, Proposal.state, sa.func.count())
        .where(Proposal.round_id.in_(sa.bindparam("round_ids", expanding=True)))
        .group_by(Proposal.round_id, Proposal.state)
    )


def state_counts(round_ids) -> dict[int, dict[str, int]]:
    """Per round: proposals in each state and in total, in one grouped COUNT."""
    counts: dict[int, dict[str, int]] = {rid: {"total": 0} for rid in round_ids}
    if not counts:
        return counts
    rows = db.session.execute(_state_counts_select(), {"round_ids": list(counts)})
    for round_id, state, n in rows:
        counts[round_id][ProposalState(state).value] = n
        counts[round_id]["total"] += n
    return counts


def list_rounds() -> list[Round]:
    return list(db.session.scalars(sa.select(Round).order_by(Round.state, Round.created_at.desc())))


def _order(sort: str):
    if sort == "newest":
        return (Proposal.created_at.desc(), Proposal.number.desc())
    if sort == "number":
        return (Proposal.number,)
    return (Proposal.supporter_count.desc(), Proposal.number)


@functools.lru_cache(maxsize=16)
def _round_page_select(sort: str) -> sa.Select:
    """A page of a round's proposals in :states, built once per order."""
    return (
        sa.select(Proposal)
        .options(so.joinedload(Proposal.author), so.joinedload(Proposal.successor))
        .where(
            Proposal.round_id == sa.bindparam("round_id"),
            Proposal.state.in_(sa.bindparam("states", expanding=True)),
        )
        .order_by(*_order(sort))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
    )


def round_page(round_: Round, sort: str, states, page: int, withdrawn: bool) -> list[Proposal]:
    """One page of a round's proposals in `states`, with their authors."""
    states = [ProposalState.withdrawn] if withdrawn else list(states)
    params = {
        "round_id": round_.id,
        "states": [ProposalState(s).value for s in states],
        "limit": PER_PAGE,
        "offset": (page - 1) * PER_PAGE,
    }
    return list(db.session.scalars(_round_page_select(sort), params))


def open_proposals(round_: Round, exclude: Proposal | None = None) -> list[Proposal]:
    """Candidates for a successor: the round's open proposals, by number (none hidden)."""
    stmt = (
        sa.select(Proposal)
        .where(
            Proposal.round_id == round_.id,
            Proposal.state == ProposalState.open,
            Proposal.is_hidden.is_(False),
        )
        .order_by(Proposal.number)
    )
    if exclude is not None:
        stmt = stmt.where(Proposal.id != exclude.id)
    return list(db.session.scalars(stmt))


def merge_targets(proposal: Proposal) -> list[Proposal]:
    """Proposals of the same round that this one may be merged into (open or adopted)."""
    return list(
        db.session.scalars(
            sa.select(Proposal)
            .where(
                Proposal.round_id == proposal.round_id,
                Proposal.id != proposal.id,
                Proposal.state.in_([ProposalState.open, ProposalState.adopted]),
            )
            .order_by(Proposal.number)
        )
    )
