"""Races through the app: many members co-signing and un-signing at once.

Each member gets their own test client, signed in, and every request runs in
its own thread (its own app context and database session, as in a threaded
server), all released together by a barrier. Runs on SQLite and PostgreSQL.
"""

import random
import threading

import pytest
import sqlalchemy as sa

from app.models import Cosignature, CosignEvent, Proposal
from app.services.proposals import replay_events
from tests.fixtures.proposals import active_count, stored_count

JSON = {"Accept": "application/json"}


@pytest.fixture
def login_client(app):
    """login_client(user): a fresh test client with `user` signed in.

    The first one signs in through /login; the others get the same session
    keys Flask-Login writes there (scrypt on every sign-in would make
    the race wait for the set-up), so each request still loads its member
    through the app's user loader.
    """
    from tests.conftest import AuthActions

    done = []

    def make(user):
        client = app.test_client()
        if not done:
            AuthActions(client).login(user)
            done.append(True)
        else:
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
        return client

    return make


def fire(requests):
    """Run (client, url) POSTs in threads released together; return their outcomes."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(i, client, url):
        barrier.wait()
        try:
            response = client.post(url, headers=JSON)
            results[i] = (response.status_code, response.get_data(as_text=True))
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
            results[i] = (None, repr(exc))

    threads = [
        threading.Thread(target=run, args=(i, client, url))
        for i, (client, url) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request never finished"
    return results


def assert_polite(results):
    for status, body in results:
        assert status in (200, 409), (status, body[:500])
        assert "database is locked" not in body
        assert "deadlock" not in body.lower()


def replayed(db, proposal_id) -> set[int]:
    events = db.session.execute(
        sa.select(CosignEvent.user_id, CosignEvent.kind, CosignEvent.at)
        .where(CosignEvent.proposal_id == proposal_id)
        .order_by(CosignEvent.at, CosignEvent.id)
    ).all()
    return set(replay_events(events))


def active_ids(db, proposal_id) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Cosignature.user_id).where(
                Cosignature.proposal_id == proposal_id, Cosignature.removed_at.is_(None)
            )
        )
    )


def test_113_members_cosigning_twice_at_once_count_exactly_113(
    app, db, make_user, make_proposal, login_client
):
    proposal = make_proposal(title="Develop a process for dissolving the ISO")
    members = [make_user() for _ in range(113)]
    clients = [login_client(m) for m in members]
    url = f"/proposals/{proposal.id}/cosign"

    results = fire([(c, url) for c in clients for _ in range(2)])

    assert_polite(results)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 113 and statuses.count(409) == 113
    refusals = [body for status, body in results if status == 409]
    assert all("already co-signed" in body for body in refusals)
    db.session.rollback()  # end the test's read transaction: see what the threads wrote
    assert active_count(db, proposal.id) == 113
    # The supporter count is the 113 co-signatures plus the author.
    assert stored_count(db, proposal.id) == 113 + 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CosignEvent)) == 113
    page = app.test_client().get(f"/proposals/{proposal.id}", headers=JSON).get_json()
    assert page["cosignature_count"] == 113
    assert page["supporter_count"] == 114


def test_mixed_sign_and_unsign_race_keeps_count_equal_to_rows(
    app, db, make_user, make_proposal, login_client, cosign_as
):
    rng = random.Random(7)
    proposal = make_proposal()
    members = [make_user() for _ in range(40)]
    cosign_as(proposal, *members[::2])  # half have signed already
    requests = []
    for member in members:
        client = login_client(member)
        actions = ["cosign", "uncosign", rng.choice(["cosign", "uncosign"])]
        requests += [(client, f"/proposals/{proposal.id}/{a}") for a in actions]
    rng.shuffle(requests)

    results = fire(requests)

    assert_polite(results)
    statuses = [status for status, _ in results]
    assert statuses.count(200) > 20 and statuses.count(409) > 0
    db.session.rollback()  # end the test's read transaction: see what the threads wrote
    events = db.session.scalar(sa.select(sa.func.count()).select_from(CosignEvent))
    assert events == 20 + statuses.count(200)
    rows = active_count(db, proposal.id)
    assert stored_count(db, proposal.id) == rows + 1
    assert replayed(db, proposal.id) == active_ids(db, proposal.id)
    assert db.session.get(Proposal, proposal.id).supporter_count == rows + 1
