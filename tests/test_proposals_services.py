"""The proposal rules, tested on the services directly."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.errors import InvalidState, PermissionDenied, ValidationError
from app.models import (
    CoauthorStatus,
    Cosignature,
    CosignEvent,
    Notification,
    ProposalState,
    ProposalVersion,
    Role,
    RoundState,
)
from app.services import proposals as svc
from app.timeutil import utcnow
from tests.fixtures.proposals import active_count, stored_count


def notes_of(db, user, kind=None):
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


# --- Submitting ------------------------------------------------------------------


def test_submit_numbers_proposals_within_their_round(db, make_round, make_user):
    first, second = make_round(), make_round()
    author = make_user()
    a = svc.submit_proposal(first, author, "One", "Text one")
    b = svc.submit_proposal(first, author, "Two", "Text two")
    c = svc.submit_proposal(second, author, "Other", "Text")
    db.session.commit()
    assert (a.number, b.number, c.number) == (1, 2, 1)
    assert a.supporter_count == 1 and a.state == ProposalState.open
    assert a.thread_id is not None and a.thread_id != b.thread_id
    version = db.session.scalar(
        sa.select(ProposalVersion).where(ProposalVersion.proposal_id == a.id)
    )
    assert (version.number, version.title, version.body) == (1, "One", "Text one")


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [
        ("", "text", "title"),
        ("   ", "text", "title"),
        ("x" * 201, "text", "title"),
        ("Bad\x07title", "text", "title"),
        ("Two\nlines", "text", "title"),
        ("Title", "", "body"),
        ("Title", "a\x00b", "body"),
        ("Title", "x" * 50_001, "body"),
    ],
)
def test_submit_refuses_bad_input(db, make_round, make_user, title, body, field):
    with pytest.raises(ValidationError) as exc:
        svc.submit_proposal(make_round(), make_user(), title, body)
    assert exc.value.field == field


def test_submit_refused_in_a_closed_round_or_after_the_deadline(db, make_round, make_user):
    closed = make_round(state=RoundState.closed)
    late = make_round(submission_deadline=utcnow() - timedelta(minutes=1))
    with pytest.raises(InvalidState, match="closed"):
        svc.submit_proposal(closed, make_user(), "T", "B")
    with pytest.raises(InvalidState, match="deadline"):
        svc.submit_proposal(late, make_user(), "T", "B")


def test_suspended_member_cannot_submit_and_is_told_until_when(db, make_round, make_user):
    until = utcnow() + timedelta(days=3)
    member = make_user(suspended_until=until, suspension_reason="spam")
    with pytest.raises(PermissionDenied) as exc:
        svc.submit_proposal(make_round(), member, "T", "B")
    assert "suspended until" in exc.value.message
    assert until.strftime("%d %b %Y") in exc.value.message and "spam" in exc.value.message


# --- Co-signing ------------------------------------------------------------------


def test_cosign_counts_once_and_logs_an_event(db, make_proposal, make_user):
    proposal, member = make_proposal(), make_user()
    svc.cosign(proposal, member)
    db.session.commit()
    assert stored_count(db, proposal.id) == 2 == proposal.supporter_count
    events = db.session.scalars(sa.select(CosignEvent)).all()
    assert [(e.user_id, e.kind.value) for e in events] == [(member.id, "sign")]


def test_cosign_twice_is_refused(db, make_proposal, make_user):
    proposal, member = make_proposal(), make_user()
    svc.cosign(proposal, member)
    db.session.commit()
    with pytest.raises(InvalidState, match="already co-signed"):
        svc.cosign(proposal, member)
    db.session.rollback()
    assert stored_count(db, proposal.id) == 2 and active_count(db, proposal.id) == 1


def test_cosign_own_proposal_is_refused(db, make_proposal, make_user):
    author = make_user()
    proposal = make_proposal(author=author)
    with pytest.raises(InvalidState, match="already count as supporters"):
        svc.cosign(proposal, author)


def test_cosign_a_withdrawn_proposal_is_refused(db, make_proposal, make_user):
    author = make_user()
    proposal = make_proposal(author=author)
    svc.withdraw_proposal(proposal, author, "no_longer_needed", "Done already.")
    db.session.commit()
    with pytest.raises(InvalidState, match="withdrawn"):
        svc.cosign(proposal, make_user())


def test_cosign_in_a_closed_round_is_refused(db, make_round, make_proposal, make_user):
    round_ = make_round()
    proposal = make_proposal(round=round_)
    svc.close_round(round_, make_user(role=Role.admin))
    db.session.commit()
    with pytest.raises(InvalidState, match="closed"):
        svc.cosign(proposal, make_user())


def test_cosign_after_the_cosign_deadline_is_refused(db, make_round, make_proposal, make_user):
    deadline = utcnow() + timedelta(hours=1)
    proposal = make_proposal(round=make_round(cosign_deadline=deadline))
    svc.cosign(proposal, make_user(), now=deadline - timedelta(minutes=1))
    with pytest.raises(InvalidState, match="deadline"):
        svc.cosign(proposal, make_user(), now=deadline + timedelta(minutes=1))


def test_cosign_a_hidden_proposal_is_refused(db, make_proposal, make_user):
    proposal = make_proposal()
    proposal.is_hidden, proposal.hidden_reason = True, "abuse"
    db.session.commit()
    with pytest.raises(InvalidState, match="hidden"):
        svc.cosign(proposal, make_user())


def test_suspended_member_cannot_cosign_or_unsign(db, make_proposal, make_user):
    proposal, member = make_proposal(), make_user()
    svc.cosign(proposal, member)
    member.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="suspended until"):
        svc.uncosign(proposal, member)
    with pytest.raises(PermissionDenied, match="suspended until"):
        svc.cosign(make_proposal(), member)


def test_uncosign_removes_the_signature_and_keeps_the_history(db, make_proposal, make_user):
    proposal, member = make_proposal(), make_user()
    svc.cosign(proposal, member)
    svc.uncosign(proposal, member)
    svc.cosign(proposal, member)
    db.session.commit()
    assert stored_count(db, proposal.id) == 2 and active_count(db, proposal.id) == 1
    rows = db.session.scalars(sa.select(Cosignature).order_by(Cosignature.id)).all()
    assert [r.removed_at is None for r in rows] == [False, True]
    kinds = db.session.scalars(sa.select(CosignEvent.kind).order_by(CosignEvent.id)).all()
    assert [k.value for k in kinds] == ["sign", "unsign", "sign"]


def test_uncosign_without_a_signature_is_refused(db, make_proposal, make_user):
    with pytest.raises(InvalidState, match="not co-signed"):
        svc.uncosign(make_proposal(), make_user())


def test_uncosign_after_the_deadline_is_refused(db, make_round, make_proposal, make_user):
    deadline = utcnow() + timedelta(hours=1)
    proposal, member = make_proposal(round=make_round(cosign_deadline=deadline)), make_user()
    svc.cosign(proposal, member)
    db.session.commit()
    with pytest.raises(InvalidState, match="deadline has passed"):
        svc.uncosign(proposal, member, now=deadline + timedelta(seconds=1))
    assert stored_count(db, proposal.id) == 2


def test_uncosign_a_withdrawn_proposal_is_refused(db, make_proposal, make_user):
    author, member = make_user(), make_user()
    proposal = make_proposal(author=author)
    svc.cosign(proposal, member)
    svc.withdraw_proposal(proposal, author, "other", "Changed our minds.")
    db.session.commit()
    with pytest.raises(InvalidState, match="kept as they were"):
        svc.uncosign(proposal, member)


# --- Withdrawing -------------------------------------------------------------------


def test_withdraw_by_a_non_author_is_refused(db, make_proposal, make_user):
    proposal = make_proposal()
    with pytest.raises(PermissionDenied, match="Only the author"):
        svc.withdraw_proposal(proposal, make_user(), "duplicate", "Mine now.")
    assert proposal.state == ProposalState.open


def test_withdraw_by_a_coauthor_is_refused(db, make_proposal, make_user):
    author, coauthor = make_user(), make_user()
    proposal = make_proposal(author=author)
    svc.invite_coauthor(proposal, author, coauthor)
    svc.answer_coauthor_invite(proposal, coauthor, accept=True)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="Only the author"):
        svc.withdraw_proposal(proposal, coauthor, "duplicate", "x")


def test_withdraw_successor_in_another_round_is_refused(db, make_proposal, make_user):
    author = make_user()
    proposal, elsewhere = make_proposal(author=author), make_proposal()
    with pytest.raises(ValidationError, match="same round") as exc:
        svc.withdraw_proposal(proposal, author, "duplicate", "x", successor=elsewhere)
    assert exc.value.field == "successor"


def test_withdraw_successor_that_is_not_open_is_refused(db, make_round, make_proposal, make_user):
    round_, author, other_author = make_round(), make_user(), make_user()
    proposal = make_proposal(round=round_, author=author)
    gone = make_proposal(round=round_, author=other_author)
    svc.withdraw_proposal(gone, other_author, "other", "Gone.")
    db.session.commit()
    with pytest.raises(ValidationError, match="withdrawn; name an open proposal"):
        svc.withdraw_proposal(proposal, author, "duplicate", "x", successor=gone)


def test_withdraw_in_favour_of_itself_is_refused(db, make_proposal, make_user):
    author = make_user()
    proposal = make_proposal(author=author)
    with pytest.raises(ValidationError, match="itself"):
        svc.withdraw_proposal(proposal, author, "duplicate", "x", successor=proposal)


@pytest.mark.parametrize(
    ("reason", "explanation", "field"),
    [("nonsense", "x", "reason"), ("other", "", "explanation"), ("merged", "x", "successor")],
)
def test_withdraw_refuses_bad_input(db, make_proposal, make_user, reason, explanation, field):
    author = make_user()
    proposal = make_proposal(author=author)
    with pytest.raises(ValidationError) as exc:
        svc.withdraw_proposal(proposal, author, reason, explanation)
    assert exc.value.field == field


def test_withdraw_twice_or_in_a_closed_round_is_refused(db, make_round, make_proposal, make_user):
    round_, author = make_round(), make_user()
    first, second = (
        make_proposal(round=round_, author=author),
        make_proposal(round=round_, author=author),
    )
    svc.withdraw_proposal(first, author, "other", "x")
    db.session.commit()
    with pytest.raises(InvalidState, match="withdrawn"):
        svc.withdraw_proposal(first, author, "other", "again")
    svc.close_round(round_, make_user(role=Role.admin))
    db.session.commit()
    with pytest.raises(InvalidState, match="closed"):
        svc.withdraw_proposal(second, author, "other", "x")


def test_withdraw_in_favour_notifies_and_offers_but_moves_nothing(
    db, make_round, make_proposal, make_user, cosign_as
):
    round_, author, coauthor = make_round(), make_user(), make_user()
    proposal = make_proposal(round=round_, author=author)
    successor = make_proposal(round=round_)
    fan, both = make_user(), make_user()
    cosign_as(proposal, fan, both)
    cosign_as(successor, both)
    svc.invite_coauthor(proposal, author, coauthor)
    svc.answer_coauthor_invite(proposal, coauthor, accept=True)
    db.session.commit()

    svc.withdraw_proposal(proposal, author, "merged", "Joined forces.", successor=successor)
    db.session.commit()

    assert proposal.state == ProposalState.withdrawn and proposal.successor_id == successor.id
    assert proposal.withdrawal_explanation == "Joined forces." and proposal.withdrawn_at
    # Nothing moved: both kept their signature on the withdrawn proposal, the
    # successor's count did not change.
    assert active_count(db, proposal.id) == 2 and stored_count(db, proposal.id) == 4
    assert stored_count(db, successor.id) == 2
    [offer] = notes_of(db, fan, "proposal_withdrawn")
    assert offer.action_url == f"/proposals/{successor.id}/cosign"
    assert offer.action_label == f"Co-sign Proposal {successor.number}"
    assert f"in favour of Proposal {successor.number}" in offer.message
    [told] = notes_of(db, both, "proposal_withdrawn")
    assert told.action_url is None  # already backs the successor
    assert len(notes_of(db, coauthor, "proposal_withdrawn")) == 1
    assert notes_of(db, author, "proposal_withdrawn") == []


# --- Editing ----------------------------------------------------------------------


def test_edit_makes_a_version_and_tells_cosigners(db, make_proposal, make_user, cosign_as):
    author, member = make_user(), make_user()
    proposal = make_proposal(author=author, title="Old", body="Old text")
    cosign_as(proposal, member)
    signature = svc.active_cosignature(proposal, member)
    assert not proposal.changed_since(signature)

    svc.edit_proposal(proposal, author, "New", "New text")
    db.session.commit()

    numbers = db.session.scalars(
        sa.select(ProposalVersion.number).where(ProposalVersion.proposal_id == proposal.id)
    ).all()
    assert sorted(numbers) == [1, 2] and proposal.version == 2 and proposal.body == "New text"
    assert proposal.changed_since(svc.active_cosignature(proposal, member))
    [note] = notes_of(db, member, "proposal_edited")
    assert note.link == f"/proposals/{proposal.id}/versions?from=1&to=2"
    # A new co-signer signs the current text: no mark for them.
    late = make_user()
    cosign_as(proposal, late)
    assert not proposal.changed_since(svc.active_cosignature(proposal, late))


def test_edit_is_refused_to_others_when_unchanged_and_when_withdrawn(db, make_proposal, make_user):
    author = make_user()
    proposal = make_proposal(author=author, title="T", body="B")
    with pytest.raises(PermissionDenied):
        svc.edit_proposal(proposal, make_user(), "T2", "B2")
    with pytest.raises(ValidationError, match="Nothing changed"):
        svc.edit_proposal(proposal, author, "T", "B")
    svc.withdraw_proposal(proposal, author, "other", "x")
    db.session.commit()
    with pytest.raises(InvalidState):
        svc.edit_proposal(proposal, author, "T2", "B2")


# --- Co-authors ----------------------------------------------------------------------


def test_coauthor_invite_to_oneself_is_refused(db, make_proposal, make_user):
    author = make_user()
    proposal = make_proposal(author=author)
    with pytest.raises(ValidationError, match="cannot invite yourself"):
        svc.invite_coauthor(proposal, author, author)


def test_coauthor_invite_only_by_the_author_and_only_once(db, make_proposal, make_user):
    author, guest = make_user(), make_user()
    proposal = make_proposal(author=author)
    with pytest.raises(PermissionDenied):
        svc.invite_coauthor(proposal, make_user(), guest)
    with pytest.raises(ValidationError, match="no member"):
        svc.invite_coauthor(proposal, author, None)
    svc.invite_coauthor(proposal, author, guest)
    with pytest.raises(ValidationError, match="already invited"):
        svc.invite_coauthor(proposal, author, guest)
    assert len(notes_of(db, guest, "coauthor_invite")) == 1


def test_accepting_makes_a_supporter_and_declining_does_not(db, make_proposal, make_user):
    author, yes, no = make_user(), make_user(), make_user()
    proposal = make_proposal(author=author)
    svc.invite_coauthor(proposal, author, yes)
    svc.invite_coauthor(proposal, author, no)
    svc.answer_coauthor_invite(proposal, yes, accept=True)
    svc.answer_coauthor_invite(proposal, no, accept=False)
    db.session.commit()
    assert stored_count(db, proposal.id) == 2
    assert proposal.is_author(yes) and not proposal.is_author(no)
    with pytest.raises(InvalidState, match="already count"):
        svc.cosign(proposal, yes)
    with pytest.raises(InvalidState, match="no open invitation"):
        svc.answer_coauthor_invite(proposal, no, accept=True)
    # Declined members may be invited again.
    invite = svc.invite_coauthor(proposal, author, no)
    assert invite.status == CoauthorStatus.invited
    assert len(notes_of(db, author, "coauthor_answer")) == 2


def test_a_cosigner_who_becomes_coauthor_is_counted_once(db, make_proposal, make_user, cosign_as):
    author, member = make_user(), make_user()
    proposal = make_proposal(author=author)
    cosign_as(proposal, member)
    svc.invite_coauthor(proposal, author, member)
    svc.answer_coauthor_invite(proposal, member, accept=True)
    db.session.commit()
    assert stored_count(db, proposal.id) == 2 and active_count(db, proposal.id) == 0


# --- Rounds and decisions -------------------------------------------------------------


def test_only_admins_open_and_close_rounds(db, make_user):
    admin, member = make_user(role=Role.admin), make_user()
    with pytest.raises(PermissionDenied):
        svc.open_round(member, "A round")
    first = svc.open_round(admin, "The way forward", threshold=100)
    second = svc.open_round(admin, "The way forward")
    assert (first.slug, second.slug) == ("the-way-forward", "the-way-forward-2")
    with pytest.raises(ValidationError, match="already has this address"):
        svc.open_round(admin, "Another", slug="the-way-forward")
    with pytest.raises(ValidationError):
        svc.open_round(admin, "Bad threshold", threshold=0)
    with pytest.raises(PermissionDenied):
        svc.close_round(first, member)
    svc.close_round(first, admin)
    assert first.state == RoundState.closed and first.closed_at
    with pytest.raises(InvalidState, match="already closed"):
        svc.close_round(first, admin)


def test_decide_records_outcomes_for_admins_only(
    db, make_round, make_proposal, make_user, cosign_as
):
    round_, admin, member = make_round(), make_user(role=Role.admin), make_user()
    adopted, merged, target = (make_proposal(round=round_) for _ in range(3))
    cosign_as(merged, member)
    with pytest.raises(PermissionDenied):
        svc.decide_proposal(adopted, make_user(role=Role.moderator), "adopted")
    with pytest.raises(ValidationError):
        svc.decide_proposal(adopted, admin, "withdrawn")
    with pytest.raises(ValidationError, match="Name the proposal"):
        svc.decide_proposal(merged, admin, "merged")
    with pytest.raises(ValidationError, match="same round"):
        svc.decide_proposal(merged, admin, "merged", merged_into=make_proposal())
    svc.decide_proposal(adopted, admin, "adopted", note="Carried at the meeting.")
    svc.decide_proposal(merged, admin, "merged", merged_into=target)
    db.session.commit()
    assert adopted.state == ProposalState.adopted and adopted.decided_by_id == admin.id
    assert merged.state == ProposalState.merged and merged.successor_id == target.id
    [note] = notes_of(db, member, "proposal_decided")
    assert note.action_url == f"/proposals/{target.id}/cosign"
    with pytest.raises(InvalidState, match="already adopted"):
        svc.decide_proposal(adopted, admin, "rejected")


def test_decisions_stay_possible_after_the_round_closed(db, make_round, make_proposal, make_user):
    round_, admin = make_round(), make_user(role=Role.admin)
    proposal = make_proposal(round=round_)
    svc.close_round(round_, admin)
    svc.decide_proposal(proposal, admin, "rejected")
    assert proposal.state == ProposalState.rejected


# --- History ------------------------------------------------------------------------


def test_supporters_as_of_replays_the_log(db, make_proposal, make_user):
    t0 = datetime(2019, 3, 20, 9, 0)
    author, a, b = make_user(), make_user(), make_user()
    proposal = make_proposal(author=author, now=t0)
    svc.cosign(proposal, a, now=t0 + timedelta(hours=1))
    svc.cosign(proposal, b, now=t0 + timedelta(hours=2))
    svc.uncosign(proposal, a, now=t0 + timedelta(hours=3))
    svc.cosign(proposal, a, now=t0 + timedelta(hours=4))
    db.session.commit()

    def at(hours):
        return svc.supporters_as_of(proposal, t0 + timedelta(hours=hours))

    assert not svc.supporters_as_of(proposal, t0 - timedelta(seconds=1)).existed
    assert at(0).count == 1 and at(0).authors == [author]
    assert [u for u, _ in at(2).signers] == [a, b]
    assert [u for u, _ in at(3.5).signers] == [b] and at(3.5).count == 2
    # Signing order is the order of the current signatures.
    assert [u for u, _ in at(5).signers] == [b, a] and at(5).count == 3 == proposal.supporter_count
    # The moment itself is included.
    assert at(1).count == 2
