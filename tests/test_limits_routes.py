"""Limits: every writing route a spammer would hammer has a rate limit, the limit holds
across gunicorn workers when it is stored in Redis, and over-long fields get a form
error with what was typed kept."""

import re

import pytest

from app.models import Role
from tests.conftest import IN_CI
from tests.fixtures.servers import GunicornServer, fire, session_cookie

ALL_LIMITS = ("LOGIN", "SIGNUP", "RESET", "POST", "COSIGN")


@pytest.fixture
def scene(db, make_user, make_round, make_proposal, make_article, make_comment):
    """A member's own proposal and comment, someone else's proposal and comment."""
    member = make_user("limited")
    other = make_user("other")
    admin = make_user("limitadmin", role=Role.admin)
    round_ = make_round()
    own = make_proposal(round=round_, author=member)
    theirs = make_proposal(round=round_, author=other)
    article = make_article()
    their_comment = make_comment(thread=article.thread, author=other, body="Theirs")
    own_comment = make_comment(thread=article.thread, author=member, body="Mine")

    class Scene:
        pass

    s = Scene()
    s.member, s.other, s.admin, s.round = member, other, admin, round_
    s.own, s.theirs, s.article = own, theirs, article
    s.their_comment, s.own_comment = their_comment, own_comment
    return s


# (name, path, form data, signed in?) - every writing route open to members or visitors
# that could be used to flood the site.
LIMITED_ROUTES = [
    ("sign-in", lambda s: "/login", {"login": "nobody", "password": "wrong password"}, False),
    ("sign-up", lambda s: "/signup", {"username": ""}, False),
    ("reset", lambda s: "/reset", {"email": "nobody@example.org"}, False),
    (
        "guest comment",
        lambda s: f"/threads/{s.article.thread_id}/comments",
        {"name": "Guest", "body": "Hello"},
        False,
    ),
    ("comment", lambda s: f"/threads/{s.article.thread_id}/comments", {"body": "Hello"}, True),
    ("reply", lambda s: f"/comments/{s.their_comment.id}/reply", {"body": "Indeed"}, True),
    ("edit comment", lambda s: f"/comments/{s.own_comment.id}/edit", {"body": "Edited"}, True),
    (
        "report comment",
        lambda s: f"/moderation/report/comment/{s.their_comment.id}",
        {"reason": "spam"},
        True,
    ),
    (
        "report proposal",
        lambda s: f"/moderation/report/proposal/{s.theirs.id}",
        {"reason": "spam"},
        True,
    ),
    ("co-sign", lambda s: f"/proposals/{s.theirs.id}/cosign", {}, True),
    ("un-sign", lambda s: f"/proposals/{s.theirs.id}/uncosign", {}, True),
    (
        "submit proposal",
        lambda s: f"/rounds/{s.round.slug}/new",
        {"title": "T", "body": "B"},
        True,
    ),
    ("edit proposal", lambda s: f"/proposals/{s.own.id}/edit", {"title": "T", "body": "B"}, True),
]


@pytest.mark.parametrize(
    ("name", "path", "data", "signed_in"), LIMITED_ROUTES, ids=[r[0] for r in LIMITED_ROUTES]
)
def test_every_flooding_route_is_rate_limited(limited_app, scene, name, path, data, signed_in):
    for key in ALL_LIMITS:
        limited_app.config[f"RATELIMIT_{key}"] = "3 per minute"
    client = limited_app.test_client()
    if signed_in:
        client.set_cookie("session", session_cookie(limited_app, scene.member))
    url = path(scene)
    statuses = [client.post(url, data=data).status_code for _ in range(4)]
    assert 429 not in statuses[:3], statuses
    assert 500 not in statuses
    assert statuses[3] == 429, (name, statuses)
    assert "You are doing that too often" in client.post(url, data=data).get_data(as_text=True)


# Redis shared across workers ---------------------------------------------------------


@pytest.fixture
def redis_db(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        if IN_CI:
            pytest.fail(f"CI requires Redis at {redis_url}: {exc}")
        pytest.skip(f"Redis is not reachable at {redis_url}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _two_workers(database_url, tmp_path, storage: str) -> GunicornServer:
    return GunicornServer(
        database_url,
        workers=2,
        overrides={
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage,
            "RATELIMIT_LOGIN": "4 per minute",
        },
        log_dir=tmp_path,
    ).start()


def _hammer_login(server: GunicornServer, n: int = 16):
    results = fire(
        [
            lambda: server.post("/login", {"login": "nobody", "password": "wrong password"})
            for _ in range(n)
        ]
    )
    statuses = [r.status for r in results]
    pids = {
        line.split()[0]
        for line in server.access_lines()
        if '"POST /login' in line and line.rstrip().endswith(("400", "429"))
    }
    return statuses, pids


def _hammer_until_both_workers_answer(database_url, tmp_path, storage, flush=None):
    """Sign-in attempts against 2 fresh workers until both have answered some.

    The kernel may hand every connection to one worker, and then the run
    says nothing about sharing; each try starts fresh servers (and storage).
    """
    for attempt in range(5):
        if flush:
            flush()
        log_dir = tmp_path / f"try{attempt}"
        log_dir.mkdir()
        server = _two_workers(database_url, log_dir, storage)
        try:
            statuses, pids = _hammer_login(server)
        finally:
            server.stop()
        if len(pids) == 2:
            return statuses
    pytest.fail("in 5 tries the two workers never both answered")


def test_the_sign_in_limit_holds_across_two_workers_with_redis(
    app, redis_db, redis_url, database_url, tmp_path
):
    statuses = _hammer_until_both_workers_answer(
        database_url, tmp_path, redis_url, flush=redis_db.flushdb
    )
    assert statuses.count(400) == 4, statuses
    assert statuses.count(429) == 12
    assert any(key.startswith(b"LIMITS") for key in redis_db.keys("*"))


def test_without_redis_each_worker_counts_alone(app, database_url, tmp_path):
    """The control: in-memory storage lets more through, so the test above can fail."""
    statuses = _hammer_until_both_workers_answer(database_url, tmp_path, "memory://")
    assert statuses.count(400) > 4, statuses


# Over-long fields ----------------------------------------------------------------------

X = "é"  # a two-byte character: lengths are counted in characters, not bytes

# (name, who, path, field, limit, other fields)
OVERLONG = [
    ("sign-up username", None, lambda s: "/signup", "username", 32, {}),
    ("sign-up display name", None, lambda s: "/signup", "display_name", 80, {}),
    ("sign-up email", None, lambda s: "/signup", "email", 254, {}),
    ("sign-in login", None, lambda s: "/login", "login", 254, {"password": "x"}),
    ("reset email", None, lambda s: "/reset", "email", 254, {}),
    (
        "profile display name",
        "member",
        lambda s: "/account",
        "profile-display_name",
        80,
        {"profile-submit": "Save"},
    ),
    ("proposal title", "member", lambda s: f"/rounds/{s.round.slug}/new", "title", 200, {}),
    ("proposal body", "member", lambda s: f"/rounds/{s.round.slug}/new", "body", 50_000, {}),
    (
        "comment",
        "member",
        lambda s: f"/threads/{s.article.thread_id}/comments",
        "body",
        20_000,
        {},
    ),
    (
        "guest name",
        None,
        lambda s: f"/threads/{s.article.thread_id}/comments",
        "name",
        80,
        {"body": "Hi"},
    ),
    (
        "withdrawal explanation",
        "member",
        lambda s: f"/proposals/{s.own.id}/withdraw",
        "explanation",
        5_000,
        {"reason": "other", "successor": "0"},
    ),
    (
        "report note",
        "member",
        lambda s: f"/moderation/report/comment/{s.their_comment.id}",
        "note",
        2_000,
        {"reason": "spam"},
    ),
    (
        "moderation reason",
        "admin",
        lambda s: f"/moderation/comments/{s.their_comment.id}/hide",
        "reason",
        500,
        {},
    ),
    ("round title", "admin", lambda s: "/rounds/new", "title", 200, {}),
    ("round description", "admin", lambda s: "/rounds/new", "description", 20_000, {"title": "R"}),
]


@pytest.mark.parametrize(
    ("name", "who", "path", "field", "limit", "extra"), OVERLONG, ids=[o[0] for o in OVERLONG]
)
def test_an_over_long_field_gets_a_form_error_and_keeps_the_text(
    app, scene, name, who, path, field, limit, extra
):
    client = app.test_client()
    if who:
        client.set_cookie("session", session_cookie(app, getattr(scene, who)))
    typed = "Mine: " + X * (limit + 1 - len("Mine: "))
    response = client.post(path(scene), data={**extra, field: typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 400, (name, response.status_code)
    assert re.search(r"at most|longer than|not a valid", html, re.IGNORECASE), name
    assert typed in html, f"{name}: what was typed is not on the form again"
