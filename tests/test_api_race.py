"""Co-sign races through the API (Bearer tokens): the counts stay exact.

The same races as tests/test_proposals_race.py (threads, in-process) and
tests/test_races_gunicorn.py (gunicorn, 4 workers), sent to
/api/v1/proposals/<id>/cosign and /uncosign with each member's own token.
"""

import random

import pytest
import sqlalchemy as sa

from app.models import ApiToken, CosignEvent, Proposal, TokenScope
from app.models.token import hash_secret, new_secret
from tests.fixtures.proposals import active_count, stored_count
from tests.fixtures.servers import GunicornServer, assert_clean, assert_server_log_clean
from tests.fixtures.servers import fire as fire_calls
from tests.test_proposals_race import active_ids, fire, replayed
from tests.test_races_gunicorn import assert_no_drift


def bearer_tokens(db, user_ids) -> list[dict]:
    """A write token per member, inserted in one go; their Authorization headers."""
    headers = []
    for uid in user_ids:
        secret = new_secret()
        db.session.add(
            ApiToken(
                user_id=uid, name="race", token_hash=hash_secret(secret), scope=TokenScope.write
            )
        )
        headers.append({"Authorization": f"Bearer {secret}"})
    db.session.commit()
    return headers


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


@pytest.fixture(scope="module")
def server(_app, database_url, tmp_path_factory):
    gunicorn = GunicornServer(
        database_url, workers=4, log_dir=tmp_path_factory.mktemp("gunicorn-api")
    ).start()
    yield gunicorn
    gunicorn.stop()


def test_cosigning_through_the_api_on_4_gunicorn_workers_counts_exactly(
    server, app, db, make_proposal, bulk_users
):
    proposal = make_proposal(title="Open the books")
    headers = bearer_tokens(db, bulk_users(60))
    url = f"/api/v1/proposals/{proposal.id}/cosign"
    unsign = f"/api/v1/proposals/{proposal.id}/uncosign"
    calls = [("sign", lambda h=h: server.post(url, headers=h)) for h in headers for _ in range(2)]
    # A third of the members take it back at the same moment (200 or 409, never a wrong count).
    calls += [("unsign", lambda h=h: server.post(unsign, headers=h)) for h in headers[::3]]
    random.Random(5).shuffle(calls)

    results = fire_calls([call for _, call in calls])

    assert_clean(results, allowed=(200, 409))
    assert all(r.headers.get("Content-Type", "").startswith(("application/json",
               "application/problem+json")) for r in results)  # fmt: skip
    done = {"sign": 0, "unsign": 0}
    for (kind, _), result in zip(calls, results, strict=True):
        done[kind] += result.status == 200
    assert done["sign"] >= 60  # every member's first co-sign was taken
    db.session.rollback()
    events = dict(
        db.session.execute(
            sa.select(CosignEvent.kind, sa.func.count())
            .where(CosignEvent.proposal_id == proposal.id)
            .group_by(CosignEvent.kind)
        ).all()
    )
    assert events.get("sign", 0) == done["sign"] and events.get("unsign", 0) == done["unsign"]
    assert active_count(db, proposal.id) == done["sign"] - done["unsign"]
    rows = active_count(db, proposal.id)
    assert stored_count(db, proposal.id) == rows + 1
    assert replayed(db, proposal.id) == active_ids(db, proposal.id)
    answer = server.get(f"/api/v1/proposals/{proposal.id}").json()
    assert answer["supporter_count"] == rows + 1
    assert_server_log_clean(server)
    assert_no_drift(db)
