"""Races across processes: gunicorn with 4 workers, real HTTP clients in threads.

The suite's database (a SQLite file, or the PostgreSQL database of this
run) is served by `gunicorn -w 4`; the test makes the rows with the
factories, then releases every request at once from a barrier. Each test
asserts the exact rows and counters, that no answer is a 5xx or mentions
"database is locked", that the workers logged no traceback, and that
`flask check` (app.checks) finds no drift afterwards.
"""

import random

import pytest
import sqlalchemy as sa

from app.checks import run_checks
from app.models import (
    Comment,
    CommentStatus,
    Cosignature,
    CosignEvent,
    ModerationAction,
    Proposal,
    ProposalState,
    Role,
    Thread,
)
from tests.fixtures.proposals import active_count, stored_count
from tests.fixtures.servers import (
    GunicornServer,
    assert_clean,
    assert_server_log_clean,
    fire,
    session_cookie,
)
from tests.fixtures.tokens import bearer_tokens
from tests.test_proposals_race import active_ids, replayed

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def server(_app, database_url, tmp_path_factory):
    gunicorn = GunicornServer(
        database_url, workers=4, log_dir=tmp_path_factory.mktemp("gunicorn")
    ).start()
    yield gunicorn
    gunicorn.stop()


@pytest.fixture
def live(server, app):
    """The server, with its log checked after the test (tables are emptied by `app`)."""
    yield server
    assert_server_log_clean(server)


def assert_no_drift(db):
    db.session.rollback()
    report = run_checks()
    assert report.problems == [], report.lines()


def test_113_members_cosigning_twice_at_once_through_4_workers(
    live, app, db, make_proposal, bulk_users
):
    proposal = make_proposal(title="Develop a process for dissolving the ISO")
    cookies = [session_cookie(app, uid) for uid in bulk_users(113)]
    url = f"/proposals/{proposal.id}/cosign"

    results = fire(
        [lambda c=c: live.post(url, cookie=c, headers=JSON) for c in cookies for _ in range(2)]
    )

    assert_clean(results, allowed=(200, 409))
    statuses = [r.status for r in results]
    assert statuses.count(200) == 113 and statuses.count(409) == 113
    assert all("already co-signed" in r.body for r in results if r.status == 409)
    db.session.rollback()
    rows = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Cosignature)
        .where(Cosignature.proposal_id == proposal.id, Cosignature.removed_at.is_(None))
    )
    events = db.session.scalar(sa.select(sa.func.count()).select_from(CosignEvent))
    assert rows == 113 and events == 113
    assert (
        db.session.scalar(sa.select(Proposal.supporter_count).where(Proposal.id == proposal.id))
        == 114
    )
    assert live.get(f"/proposals/{proposal.id}", headers=JSON).json()["supporter_count"] == 114
    assert_no_drift(db)


def test_cosigning_against_withdrawal_leaves_no_signature_after_it(
    live, app, db, make_user, make_proposal, bulk_users
):
    author = make_user("withdrawer")
    proposals = [make_proposal(author=author, title=f"Race {n}") for n in range(3)]
    author_cookie = session_cookie(app, author)
    member_cookies = [session_cookie(app, uid) for uid in bulk_users(40)]
    calls = []
    for pid in [p.id for p in proposals]:
        calls += [
            lambda c=c, p=pid: live.post(f"/proposals/{p}/cosign", cookie=c, headers=JSON)
            for c in member_cookies
        ]
        calls.append(
            lambda p=pid: live.post(
                f"/proposals/{p}/withdraw",
                {"reason": "duplicate", "explanation": "Said twice.", "successor": "0"},
                cookie=author_cookie,
            )
        )
    random.Random(3).shuffle(calls)

    results = fire(calls)

    assert_clean(results, allowed=(200, 302, 409))
    assert sum(1 for r in results if r.status == 302) == 3
    refused = [r for r in results if r.status == 409]
    assert all("withdrawn" in r.json()["message"] for r in refused)
    db.session.rollback()
    for proposal in proposals:
        fresh = db.session.get(Proposal, proposal.id)
        db.session.refresh(fresh)
        assert fresh.state == ProposalState.withdrawn
        latest_sign = db.session.scalar(
            sa.select(sa.func.max(Cosignature.signed_at)).where(
                Cosignature.proposal_id == proposal.id
            )
        )
        latest_event = db.session.scalar(
            sa.select(sa.func.max(CosignEvent.at)).where(CosignEvent.proposal_id == proposal.id)
        )
        if latest_sign is not None:
            assert latest_sign <= fresh.withdrawn_at
            assert latest_event <= fresh.withdrawn_at
        rows = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Cosignature)
            .where(Cosignature.proposal_id == proposal.id)
        )
        assert fresh.supporter_count == rows + 1
    accepted = sum(1 for r in results if r.status == 200)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Cosignature)) == accepted
    assert accepted + len(refused) == 120
    assert_no_drift(db)


def test_two_moderators_hiding_and_restoring_the_same_comment(
    live, app, db, make_user, make_article, make_comment
):
    author = make_user("commenter")
    moderators = [make_user(f"mod{n}", role=Role.moderator) for n in (1, 2)]
    comment = make_comment(thread=make_article().thread, author=author, body="Contested words.")
    cookies = [session_cookie(app, m) for m in moderators]
    comment_id = comment.id
    rng = random.Random(11)
    calls = []
    for cookie in cookies:
        for _ in range(8):
            action = rng.choice(["hide", "restore"])
            calls.append(
                lambda c=cookie, a=action: live.post(
                    f"/moderation/comments/{comment_id}/{a}",
                    {"reason": f"Race: {a}"},
                    cookie=c,
                )
            )

    results = fire(calls)

    # The loser of each race is told why (403 from the predicate, 409 on a state clash).
    assert_clean(results, allowed=(302, 403, 409))
    done = sum(1 for r in results if r.status == 302)
    db.session.rollback()
    log = db.session.scalars(
        sa.select(ModerationAction.action)
        .where(ModerationAction.target_type == "comment", ModerationAction.target_id == comment.id)
        .order_by(ModerationAction.id)
    ).all()
    assert len(log) == done >= 1
    # Every logged action changed the state: hides and restores strictly alternate.
    assert log[0] == "hide_comment"
    for before, after in zip(log, log[1:], strict=False):
        assert before != after, log
    final = db.session.get(Comment, comment.id)
    db.session.refresh(final)
    expected = CommentStatus.hidden if log[-1] == "hide_comment" else CommentStatus.published
    assert final.status == expected
    assert_no_drift(db)


def test_two_members_replying_to_the_same_comment_get_unique_paths(
    live, app, db, make_user, make_article, make_comment
):
    article = make_article()
    parent = make_comment(thread=article.thread, author=make_user("original"), body="Start.")
    repliers = [make_user(f"replier{n}") for n in (1, 2)]
    cookies = [session_cookie(app, u) for u in repliers]
    parent_id, thread_id = parent.id, article.thread_id
    calls = [
        lambda c=c, n=n: live.post(f"/comments/{parent_id}/reply", {"body": f"Reply {n}"}, cookie=c)
        for c in cookies
        for n in range(15)
    ]
    # Top-level comments race for the thread's sequence at the same time.
    calls += [
        lambda c=c, n=n: live.post(f"/threads/{thread_id}/comments", {"body": f"Top {n}"}, cookie=c)
        for c in cookies
        for n in range(5)
    ]

    results = fire(calls)

    assert_clean(results, allowed=(302,))
    db.session.rollback()
    replies = db.session.execute(
        sa.select(Comment.path, Comment.depth, Comment.root_id).where(
            Comment.parent_id == parent.id
        )
    ).all()
    assert len(replies) == 30
    assert len({r.path for r in replies}) == 30
    assert all(r.depth == 1 and r.root_id == parent.id for r in replies)
    suffixes = sorted(int(r.path.rsplit(".", 1)[1]) for r in replies)
    assert suffixes == list(range(1, 31))
    fresh_parent = db.session.get(Comment, parent.id)
    db.session.refresh(fresh_parent)
    assert fresh_parent.reply_seq == 30 and fresh_parent.descendant_count == 30
    thread = db.session.get(Thread, article.thread_id)
    db.session.refresh(thread)
    assert thread.comment_count == 1 + 30 + 10
    assert thread.top_level_count == thread.reply_seq == 11
    tops = db.session.scalars(
        sa.select(Comment.path).where(Comment.thread_id == thread.id, Comment.depth == 0)
    ).all()
    assert sorted(tops) == [f"{n:06d}" for n in range(1, 12)]
    assert_no_drift(db)


def test_cosigning_through_the_api_on_4_gunicorn_workers_counts_exactly(
    live, app, db, make_proposal, bulk_users
):
    proposal = make_proposal(title="Open the books")
    headers = bearer_tokens(db, bulk_users(60))
    url = f"/api/v1/proposals/{proposal.id}/cosign"
    unsign = f"/api/v1/proposals/{proposal.id}/uncosign"
    calls = [("sign", lambda h=h: live.post(url, headers=h)) for h in headers for _ in range(2)]
    # A third of the members take it back at the same moment (200 or 409, never a wrong count).
    calls += [("unsign", lambda h=h: live.post(unsign, headers=h)) for h in headers[::3]]
    random.Random(5).shuffle(calls)

    results = fire([call for _, call in calls])

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
    answer = live.get(f"/api/v1/proposals/{proposal.id}").json()
    assert answer["supporter_count"] == rows + 1
    assert_no_drift(db)
