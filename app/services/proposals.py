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

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm.attributes import set_committed_value

from ..database import SELF_CONTAINED, begin_write_phase
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
    proposal_label,
)
from ..models.user import SessionMember
from ..permissions import suspension_message
from ..timeutil import utcnow
from ..visibility import visible_proposals
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
SUPPORTERS_SHOWN = 100


# --- Paths (services run outside requests too, so no url_for) -------------


def proposal_path(proposal: Proposal | int) -> str:
    return f"/proposals/{proposal if isinstance(proposal, int) else proposal.id}"


def cosign_path(proposal: Proposal) -> str:
    return f"{proposal_path(proposal)}/cosign"


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


def _lock(*proposals: Proposal) -> None:
    """Lock the proposals' rows (in id order, so two writers never deadlock) and reload them."""
    for proposal in sorted(proposals, key=lambda p: p.id):
        db.session.execute(
            sa.select(Proposal)
            .where(Proposal.id == proposal.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        db.session.expire(proposal, ["coauthors"])


def _bump(proposal: Proposal, delta: int) -> int:
    """supporter_count += delta, in SQL; the new value is read back."""
    new = db.session.execute(
        sa.update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(supporter_count=Proposal.supporter_count + delta)
        .returning(Proposal.supporter_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(proposal, "supporter_count", new)
    return new


def active_cosignature(proposal: Proposal, user) -> Cosignature | None:
    """The member's current co-signature of the proposal, if any."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(Cosignature).where(
            Cosignature.proposal_id == proposal.id,
            Cosignature.user_id == user.id,
            Cosignature.removed_at.is_(None),
        )
    )


def supporter_ids(proposal: Proposal) -> set[int]:
    """Ids of everyone counted as a supporter now: authors and active co-signers."""
    ids = set(
        db.session.scalars(
            sa.select(Cosignature.user_id).where(
                Cosignature.proposal_id == proposal.id, Cosignature.removed_at.is_(None)
            )
        )
    )
    ids.add(proposal.author_id)
    ids.update(
        db.session.scalars(
            sa.select(ProposalCoauthor.user_id).where(
                ProposalCoauthor.proposal_id == proposal.id,
                ProposalCoauthor.status == CoauthorStatus.accepted,
            )
        )
    )
    return ids


def _followers(proposal: Proposal, exclude: int | None = None) -> list[int]:
    """Co-signers and co-authors to tell about a change (not the one who made it)."""
    ids = supporter_ids(proposal)
    ids.discard(exclude)
    return sorted(ids)


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
    return proposal


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
    signers = db.session.scalars(
        sa.select(Cosignature.user_id).where(
            Cosignature.proposal_id == proposal.id, Cosignature.removed_at.is_(None)
        )
    ).all()
    notify_many(
        signers,
        "proposal_edited",
        f"{proposal.label} “{title}”, which you co-signed, has a new text (version {number}).",
        link=f"{proposal_path(proposal)}/versions?from={number - 1}&to={number}",
    )
    db.session.flush()
    return version


def cosign(proposal: Proposal, actor: User, now: datetime | None = None) -> Cosignature:
    """Co-sign an open proposal, once; the count goes up by one in SQL (see `cosign_by_id`)."""
    done = cosign_by_id(proposal.id, actor, now)
    set_committed_value(proposal, "supporter_count", done.supporter_count)
    signature = Cosignature(
        id=done.signature_id,
        proposal_id=proposal.id,
        user_id=actor.id,
        signed_at=done.signed_at,
        removed_at=None,
        version_signed=done.version,
    )
    so.make_transient_to_detached(signature)  # the row as inserted, without reading it back
    db.session.add(signature)
    return signature


@dataclass(frozen=True)
class Cosigned:
    signature_id: int
    number: int
    version: int
    supporter_count: int
    signed_at: datetime

    @property
    def label(self) -> str:
        return proposal_label(self.number)


def cosign_by_id(proposal_id: int, actor: User, now: datetime | None = None) -> Cosigned:
    """Co-sign proposal `proposal_id` as the loaded member `actor`, or say why not.

    `cosign_if_allowed` does the work; when something stands in the way the
    proposal is read, and the same words as `why_not_cosign` say why
    (NotFound when there is no such proposal).
    """
    _require_active(actor, now)
    done = cosign_if_allowed(proposal_id, SessionMember(actor.id, actor.session_version), now)
    if done is None:
        raise InvalidState(_why_not_cosign_now(proposal_id, actor, now or utcnow()))
    return done


def cosign_if_allowed(
    proposal_id: int,
    member: SessionMember,
    now: datetime | None = None,
    connection: sa.Connection | None = None,
) -> Cosigned | None:
    """Co-sign proposal `proposal_id` without loading the proposal or the member.

    The statements check, in SQL, everything that allows the co-signature:
    the member's session current and the member not suspended (what loading
    them would check), the proposal open and not hidden, the round open
    before its deadline, the member neither author nor co-author. They check
    it on the proposal's row, locked, so a withdrawal, hiding or closing
    that commits first is seen. The INSERT ... ON CONFLICT DO NOTHING of the
    co-signature meets the one-active-row index instead of a SELECT
    beforehand; the count goes up by one in SQL, and the event is written.

    None when anything stands in the way. Then nothing is kept, once the
    caller rolls back (SQLite counts before it finds the member's earlier
    co-signature), and `cosign_by_id`, with the member loaded, says why.
    It runs on the ORM session's connection, or on `connection` (the route's
    own, when nothing else in the request touches the database).

    PostgreSQL: one statement does all of it (`_cosign_statement_postgresql`),
    the site revision's bump included, so in a request's read phase it is a
    transaction by itself: one round trip for a co-sign from a form.
    SQLite: three statements in the write phase (`read_first`).
    """
    bind = connection if connection is not None else db.session.get_bind()
    if bind.dialect.name == "postgresql":
        params = {
            "pid": proposal_id,
            "uid": member.id,
            "session_version": member.session_version,
            "deadline_now": now or utcnow(),
            "now": now,
        }
        connection = connection or db.session.connection()
        row = connection.execute(_cosign_statement_postgresql(), params).first()
        if row is None:
            return None
        return Cosigned(row.id, row.number, row.version, row.supporter_count, row.signed_at)
    begin_write_phase(db.session())
    statements = _cosign_statements_sqlite()
    connection = connection or db.session.connection()
    params = {"pid": proposal_id, "uid": member.id, "session_version": member.session_version}
    row = connection.execute(statements.count, {**params, "deadline_now": now or utcnow()}).first()
    if row is None:
        return None
    now = now or utcnow()  # after the lock: a proposal's events get times in lock order
    signature_id = connection.execute(
        statements.sign, {**params, "now": now, "version": row.version}
    ).scalar_one_or_none()
    if signature_id is None:
        return None  # this member's other request got there first (the rollback undoes the count)
    connection.execute(statements.event, {**params, "now": now})
    return Cosigned(signature_id, row.number, row.version, row.supporter_count, now)


@dataclass(frozen=True)
class _CosignStatements:
    count: sa.Update
    sign: sa.Insert
    event: sa.Insert


_COSIGN_STATEMENTS: dict[str, sa.Executable | _CosignStatements] = {}


def _cosign_conditions(proposals, uid, deadline_now) -> list:
    """What allows member `uid` to co-sign the proposal row of `proposals`, in SQL."""
    coauthors = ProposalCoauthor.__table__
    rounds = Round.__table__
    return [
        User.in_good_standing(uid, sa.bindparam("session_version"), deadline_now),
        proposals.c.state == ProposalState.open,
        proposals.c.is_hidden.is_(False),
        proposals.c.author_id != uid,
        ~sa.exists().where(
            coauthors.c.proposal_id == proposals.c.id,
            coauthors.c.user_id == uid,
            coauthors.c.status == CoauthorStatus.accepted,
        ),
        sa.exists().where(
            rounds.c.id == proposals.c.round_id,
            rounds.c.state == RoundState.open,
            sa.or_(rounds.c.cosign_deadline.is_(None), rounds.c.cosign_deadline >= deadline_now),
        ),
    ]


def _cosign_statements_sqlite() -> _CosignStatements:
    """SQLite's three statements, built once (Core, bound by name)."""
    if "sqlite" not in _COSIGN_STATEMENTS:
        from sqlalchemy.dialects.sqlite import insert

        proposals = Proposal.__table__
        signatures = Cosignature.__table__
        pid, uid, now = sa.bindparam("pid"), sa.bindparam("uid"), sa.bindparam("now")
        deadline_now = sa.bindparam("deadline_now", type_=Round.__table__.c.cosign_deadline.type)
        count = (
            proposals.update()
            .where(proposals.c.id == pid, *_cosign_conditions(proposals, uid, deadline_now))
            .values(supporter_count=proposals.c.supporter_count + 1)
            .returning(proposals.c.supporter_count, proposals.c.version, proposals.c.number)
        )
        sign = (
            insert(signatures)
            .values(
                proposal_id=pid,
                user_id=uid,
                signed_at=now,
                version_signed=sa.bindparam("version"),
            )
            .on_conflict_do_nothing(
                index_elements=["proposal_id", "user_id"],
                index_where=signatures.c.removed_at.is_(None),
            )
            .returning(signatures.c.id)
        )
        event = CosignEvent.__table__.insert().values(
            proposal_id=pid, user_id=uid, kind=CosignEventKind.sign, at=now
        )
        _COSIGN_STATEMENTS["sqlite"] = _CosignStatements(count, sign, event)
    return _COSIGN_STATEMENTS["sqlite"]


def _cosign_statement_postgresql() -> sa.Executable:
    """The whole co-sign in one PostgreSQL statement, built once.

        WITH allowed AS (SELECT ... FROM proposals WHERE id = :pid AND <may co-sign>
                         FOR UPDATE),
             signed  AS (INSERT INTO cosignatures ... SELECT ... FROM allowed
                         ON CONFLICT DO NOTHING RETURNING id),
             counted AS (UPDATE proposals SET supporter_count = supporter_count + 1
                         WHERE id = :pid AND EXISTS (SELECT FROM signed) RETURNING ...),
             logged  AS (INSERT INTO cosign_events ... SELECT ... FROM signed),
             bumped  AS (UPDATE site_revision ... WHERE EXISTS (SELECT FROM signed))
        SELECT ... FROM allowed, signed, counted

    `allowed` waits for the row lock and then sees the row as it is now (a
    withdrawal that committed first leaves it empty). The co-signature is
    inserted before anything is counted: when this member's other request
    got there first, ON CONFLICT leaves `signed` empty, and then nothing is
    counted, logged or bumped, so no rollback is needed and the statement
    can be a transaction by itself. The count's UPDATE finds the row this
    statement locked, at its newest version (READ COMMITTED's re-check).
    The time, `:now`, is taken just before the statement: a co-sign that
    waited for the lock carries the moment it asked (a few milliseconds
    earlier at most; a replay orders by time, then id).
    """
    if "postgresql" not in _COSIGN_STATEMENTS:
        from sqlalchemy.dialects.postgresql import insert

        from ..models.site import SITE_REVISION_ID, SiteRevision

        proposals = Proposal.__table__
        signatures = Cosignature.__table__
        events = CosignEvent.__table__
        revision = SiteRevision.__table__
        pid, uid = sa.bindparam("pid"), sa.bindparam("uid")
        deadline_now = sa.bindparam("deadline_now", type_=Round.__table__.c.cosign_deadline.type)
        given = sa.bindparam("now", type_=signatures.c.signed_at.type)
        after_lock = sa.func.timezone("UTC", sa.func.clock_timestamp())
        now = sa.func.coalesce(given, after_lock, type_=signatures.c.signed_at.type)
        allowed = (
            sa.select(proposals.c.id, proposals.c.version, proposals.c.number)
            .where(proposals.c.id == pid, *_cosign_conditions(proposals, uid, deadline_now))
            .with_for_update(of=proposals)
            .cte("allowed")
        )
        signed = (
            insert(signatures)
            .from_select(
                ["proposal_id", "user_id", "signed_at", "version_signed"],
                sa.select(allowed.c.id, uid, now, allowed.c.version),
            )
            .on_conflict_do_nothing(
                index_elements=["proposal_id", "user_id"],
                index_where=signatures.c.removed_at.is_(None),
            )
            .returning(signatures.c.id, signatures.c.signed_at)
            .cte("signed")
        )
        was_signed = sa.exists(sa.select(signed.c.id))
        counted = (
            proposals.update()
            .where(proposals.c.id == pid, was_signed)
            .values(supporter_count=proposals.c.supporter_count + 1)
            .returning(proposals.c.supporter_count)
            .cte("counted")
        )
        logged = events.insert().from_select(
            ["proposal_id", "user_id", "kind", "at"],
            sa.select(
                pid, uid, sa.literal(CosignEventKind.sign, events.c.kind.type), signed.c.signed_at
            ),
        )
        bumped = (
            revision.update()
            .where(revision.c.id == SITE_REVISION_ID, was_signed)
            .values(revision=revision.c.revision + 1)
        )
        _COSIGN_STATEMENTS["postgresql"] = (
            sa.select(
                signed.c.id,
                signed.c.signed_at,
                counted.c.supporter_count,
                allowed.c.version,
                allowed.c.number,
            )
            .select_from(allowed.join(signed, sa.true()).join(counted, sa.true()))
            .add_cte(logged.cte("logged"), bumped.cte("bumped"))
            .execution_options(**{SELF_CONTAINED: True})
        )
    return _COSIGN_STATEMENTS["postgresql"]


def _why_not_cosign_now(proposal_id: int, actor: User, now: datetime) -> str:
    """Why the co-sign's UPDATE found nothing to count, read afresh."""
    proposal = db.session.get(Proposal, proposal_id, populate_existing=True)
    if proposal is None:
        raise NotFound("There is no such proposal.")
    db.session.refresh(proposal.round)
    signed = active_cosignature(proposal, actor) is not None
    return proposal.why_not_cosign(actor, signed, now) or "This proposal cannot be co-signed now."


def uncosign(proposal: Proposal, actor: User, now: datetime | None = None) -> None:
    """Remove the member's co-signature while co-signing is open."""
    _require_active(actor, now)
    _lock(proposal)
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
    db.session.add(
        CosignEvent(proposal_id=proposal.id, user_id=actor.id, kind=CosignEventKind.unsign, at=now)
    )
    _bump(proposal, -1)
    db.session.flush()


def _offer_successor(
    proposal: Proposal, successor: Proposal, recipients: list[int], message: str, kind: str
) -> None:
    """Tell recipients; those who do not yet back the successor get a one-click offer."""
    backing = supporter_ids(successor)
    offer = [uid for uid in recipients if uid not in backing]
    told = [uid for uid in recipients if uid in backing]
    notify_many(
        offer,
        kind,
        message,
        link=proposal_path(proposal),
        action_url=cosign_path(successor),
        action_label=f"Co-sign {successor.label}",
        about_proposal_id=successor.id,
    )
    notify_many(told, kind, message, link=proposal_path(proposal), about_proposal_id=successor.id)


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

    recipients = _followers(proposal, exclude=actor.id)
    if successor is not None:
        message = (
            f"{proposal.label} “{proposal.title}”, which you supported, was withdrawn in favour "
            f"of {successor.label} “{successor.title}”. Your co-signature stays where it was: "
            "nothing moves without your click."
        )
        _offer_successor(proposal, successor, recipients, message, "proposal_withdrawn")
    else:
        notify_many(
            recipients,
            "proposal_withdrawn",
            f"{proposal.label} “{proposal.title}”, which you supported, was withdrawn "
            f"({REASON_LABELS[reason].lower()}).",
            link=proposal_path(proposal),
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

    recipients = _followers(proposal, exclude=actor.id)
    if merged_into is not None:
        message = (
            f"{proposal.label} “{proposal.title}”, which you supported, was merged into "
            f"{merged_into.label} “{merged_into.title}”."
        )
        if merged_into.is_open:
            _offer_successor(proposal, merged_into, recipients, message, "proposal_decided")
        else:
            notify_many(
                recipients,
                "proposal_decided",
                message,
                link=proposal_path(proposal),
                about_proposal_id=merged_into.id,
            )
    else:
        notify_many(
            recipients,
            "proposal_decided",
            f"{proposal.label} “{proposal.title}”, which you supported, was {outcome.value}.",
            link=proposal_path(proposal),
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
        link=proposal_path(proposal),
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
        link=proposal_path(proposal),
    )
    return invite


# --- History -----------------------------------------------------------------


@dataclass
class Supporters:
    """Who supported a proposal at a moment: authors, then co-signers in signing order."""

    when: datetime | None
    authors: list[User] = field(default_factory=list)
    signers: list[tuple[User, datetime]] = field(default_factory=list)
    existed: bool = True

    @property
    def count(self) -> int:
        return len(self.authors) + len(self.signers)


def replay_events(events) -> dict[int, datetime]:
    """Active co-signers after the events (user id -> time of their current signature)."""
    active: dict[int, datetime] = {}
    for event in events:
        if event.kind == CosignEventKind.sign:
            active[event.user_id] = event.at
        else:
            active.pop(event.user_id, None)
    return active


def supporters_as_of(proposal: Proposal, when: datetime) -> Supporters:
    """Replay the co-sign log up to `when` (inclusive): supporters at that moment."""
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
    users = {
        u.id: u
        for u in db.session.scalars(sa.select(User).where(User.id.in_([*active, *author_ids])))
    }
    signers = sorted(
        ((users[uid], at) for uid, at in active.items()), key=lambda s: (s[1], s[0].id)
    )
    return Supporters(when=when, authors=[users[i] for i in author_ids], signers=signers)


def current_supporters(proposal: Proposal, limit: int | None = None) -> list[Cosignature]:
    """Active co-signatures with their members, in signing order."""
    stmt = (
        sa.select(Cosignature)
        .options(so.joinedload(Cosignature.user))
        .where(Cosignature.proposal_id == proposal.id, Cosignature.removed_at.is_(None))
        .order_by(Cosignature.signed_at, Cosignature.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
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


def get_round(slug: str) -> Round:
    round_ = db.session.scalar(sa.select(Round).where(Round.slug == slug))
    if round_ is None:
        raise NotFound("There is no round at this address.")
    return round_


def load_proposal(proposal_id: int) -> Proposal:
    """A proposal with its round, author, co-authors and successor (fixed query count)."""
    proposal = db.session.scalar(
        sa.select(Proposal)
        .options(
            so.joinedload(Proposal.round),
            so.joinedload(Proposal.author),
            so.joinedload(Proposal.successor),
            so.selectinload(Proposal.coauthors).joinedload(ProposalCoauthor.user),
        )
        .where(Proposal.id == proposal_id)
    )
    if proposal is None:
        raise NotFound("There is no proposal with this number.")
    return proposal


def state_counts(round_ids) -> dict[int, dict[str, int]]:
    """Per round: proposals in each state and in total, in one grouped COUNT."""
    counts: dict[int, dict[str, int]] = {rid: {"total": 0} for rid in round_ids}
    if not counts:
        return counts
    rows = db.session.execute(
        sa.select(Proposal.round_id, Proposal.state, sa.func.count())
        .where(Proposal.round_id.in_(list(counts)))
        .group_by(Proposal.round_id, Proposal.state)
    )
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


def round_page(round_: Round, sort: str, states, page: int, withdrawn: bool) -> list[Proposal]:
    """One page of a round's proposals in `states`, with their authors."""
    stmt = (
        sa.select(Proposal)
        .options(so.joinedload(Proposal.author), so.joinedload(Proposal.successor))
        .where(Proposal.round_id == round_.id)
        .order_by(*_order(sort))
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    if withdrawn:
        stmt = stmt.where(Proposal.state == ProposalState.withdrawn)
    else:
        stmt = stmt.where(Proposal.state.in_(list(states)))
    return list(db.session.scalars(stmt))


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


def predecessors(proposal: Proposal, viewer) -> list[Proposal]:
    """Proposals withdrawn in favour of (or merged into) this one that `viewer` may see."""
    return list(
        db.session.scalars(
            sa.select(Proposal)
            .where(Proposal.successor_id == proposal.id, visible_proposals(viewer))
            .order_by(Proposal.number)
        )
    )
