"""Hypothesis drives sign, un-sign, withdraw, edit (and co-author acceptance) at random.

After every step: the stored supporter count equals the active co-signature
rows plus authors, replaying the event log gives exactly the active rows, and
both agree with a plain Python model of who should be signed.
"""

import itertools

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.errors import DomainError
from app.models import CoauthorStatus, Cosignature, CosignEvent, Proposal, ProposalCoauthor
from app.services import proposals as svc
from app.services.proposals import replay_events

MEMBERS = 3
_runs = itertools.count(1)


def test_cosign_state_machine(db, make_round, make_user):
    class Cosigning(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            run = next(_runs)
            self.round = make_round()
            self.author = make_user(f"sm{run}author")
            self.members = [make_user(f"sm{run}m{i}") for i in range(MEMBERS)]
            self.proposal = svc.submit_proposal(self.round, self.author, "Title", "Body")
            self.other = svc.submit_proposal(self.round, make_user(f"sm{run}other"), "B", "B")
            db.session.commit()
            # The model: who should hold an active co-signature, who co-authors.
            self.signed: set[int] = set()
            self.coauthors: set[int] = set()
            self.invited: set[int] = set()
            self.open = True
            self.version = 1

        def attempt(self, action) -> bool:
            try:
                action()
            except DomainError:
                db.session.rollback()
                return False
            db.session.commit()
            return True

        @rule(i=st.integers(0, MEMBERS - 1))
        def sign(self, i):
            member = self.members[i]
            allowed = self.open and member.id not in self.signed | self.coauthors
            done = self.attempt(lambda: svc.cosign(self.proposal, member))
            assert done == allowed
            if done:
                self.signed.add(member.id)

        @rule(i=st.integers(0, MEMBERS - 1))
        def unsign(self, i):
            member = self.members[i]
            allowed = self.open and member.id in self.signed
            done = self.attempt(lambda: svc.uncosign(self.proposal, member))
            assert done == allowed
            if done:
                self.signed.discard(member.id)

        @rule(text=st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=30))
        def edit(self, text):
            done = self.attempt(
                lambda: svc.edit_proposal(self.proposal, self.author, "Title", text)
            )
            if done:
                assert self.open
                self.version += 1

        @rule(i=st.integers(0, MEMBERS - 1))
        def invite(self, i):
            member = self.members[i]
            if self.attempt(lambda: svc.invite_coauthor(self.proposal, self.author, member)):
                assert self.open and member.id not in self.coauthors | self.invited
                self.invited.add(member.id)

        @rule(i=st.integers(0, MEMBERS - 1))
        def accept(self, i):
            member = self.members[i]
            done = self.attempt(lambda: svc.answer_coauthor_invite(self.proposal, member, True))
            assert done == (self.open and member.id in self.invited)
            if done:
                self.invited.discard(member.id)
                self.coauthors.add(member.id)
                self.signed.discard(member.id)  # their co-signature became authorship

        @precondition(lambda self: self.open)
        @rule(in_favour=st.booleans(), coin=st.integers(0, 5))
        def withdraw(self, in_favour, coin):
            # Withdrawal ends the game, so it comes seldom, and later steps matter.
            if coin:
                return
            successor = self.other if in_favour else None
            assert self.attempt(
                lambda: svc.withdraw_proposal(
                    self.proposal, self.author, "duplicate", "Enough.", successor=successor
                )
            )
            self.open = False

        @invariant()
        def count_equals_rows_and_the_log_replays(self):
            pid = self.proposal.id
            active = set(
                db.session.scalars(
                    sa.select(Cosignature.user_id).where(
                        Cosignature.proposal_id == pid, Cosignature.removed_at.is_(None)
                    )
                )
            )
            coauthors = set(
                db.session.scalars(
                    sa.select(ProposalCoauthor.user_id).where(
                        ProposalCoauthor.proposal_id == pid,
                        ProposalCoauthor.status == CoauthorStatus.accepted,
                    )
                )
            )
            stored = db.session.scalar(
                sa.select(Proposal.supporter_count).where(Proposal.id == pid)
            )
            events = db.session.execute(
                sa.select(CosignEvent.user_id, CosignEvent.kind, CosignEvent.at)
                .where(CosignEvent.proposal_id == pid)
                .order_by(CosignEvent.at, CosignEvent.id)
            ).all()
            assert stored == len(active) + 1 + len(coauthors)
            assert set(replay_events(events)) == active
            assert active == self.signed and coauthors == self.coauthors
            assert self.proposal.version == self.version
            as_of_now = svc.supporters_as_of(self.proposal, svc.utcnow())
            assert as_of_now.count == stored

    run_state_machine_as_test(
        Cosigning,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
