"""Co-sign races through the API (Bearer tokens): the counts stay exact.

The same races as tests/test_proposals_race.py (threads, in-process), sent to
/api/v1/proposals/<id>/cosign and /uncosign with each member's own token; the
gunicorn variant (4 workers) is in tests/test_races_gunicorn.py, on its server.
"""

import random

import sqlalchemy as sa

from app.models import CosignEvent, Proposal
from tests.fixtures.proposals import active_count, stored_count
from tests.fixtures.tokens import bearer_tokens
from tests.test_proposals_race import active_ids, fire, replayed


class BearerClient:
    """A test client that sends one member's token with every request (no session)."""

    def __init__(self, app, headers):
        self._client, self._headers = app.test_client(), headers

    def post(self, url, headers=None):
        return self._client.post(url, headers={**self._headers, **(headers or {})})


def assert_api_polite(results):
    for status, body in results:
        assert status in (200, 409), (status, body[:500])
        assert "database is locked" not in body and "deadlock" not in body.lower()


def test_113_members_cosigning_twice_at_once_through_the_api(app, db, make_proposal, bulk_users):
    proposal = make_proposal(title="Develop a process for dissolving the ISO")
    clients = [BearerClient(app, h) for h in bearer_tokens(db, bulk_users(113))]
    url = f"/api/v1/proposals/{proposal.id}/cosign"

    results = fire([(c, url) for c in clients for _ in range(2)])

    assert_api_polite(results)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 113 and statuses.count(409) == 113
    assert all("already co-signed" in body for status, body in results if status == 409)
    db.session.rollback()
    assert active_count(db, proposal.id) == 113
    assert stored_count(db, proposal.id) == 114
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CosignEvent)) == 113
    assert (
        app.test_client().get(f"/api/v1/proposals/{proposal.id}").get_json()["supporter_count"]
        == 114
    )


def test_mixed_sign_and_unsign_through_the_api_keeps_count_equal_to_rows(
    app, db, make_proposal, bulk_users
):
    rng = random.Random(11)
    proposal = make_proposal()
    headers = bearer_tokens(db, bulk_users(40))
    requests = []
    for h in headers:
        client = BearerClient(app, h)
        actions = ["cosign", "uncosign", rng.choice(["cosign", "uncosign"])]
        requests += [(client, f"/api/v1/proposals/{proposal.id}/{a}") for a in actions]
    rng.shuffle(requests)

    results = fire(requests)

    assert_api_polite(results)
    statuses = [status for status, _ in results]
    assert statuses.count(200) > 20 and statuses.count(409) > 0
    db.session.rollback()
    events = db.session.scalar(sa.select(sa.func.count()).select_from(CosignEvent))
    assert events == statuses.count(200)
    rows = active_count(db, proposal.id)
    assert stored_count(db, proposal.id) == rows + 1
    assert replayed(db, proposal.id) == active_ids(db, proposal.id)
    assert db.session.get(Proposal, proposal.id).supporter_count == rows + 1
