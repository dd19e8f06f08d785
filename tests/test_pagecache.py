"""The visitors' page cache (app/pagecache.py): reused only while nothing changed."""

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Proposal, Round
from app.pagecache import CSRF_MARK, PageCache, _Entry, site_state
from app.services import comments as comment_svc
from app.services import proposals as svc
from app.timeutil import utcnow
from tests.conftest import DEFAULT_PASSWORD, make_test_app

CACHE = "X-Plenary-Cache"


def visit(client, path: str):
    response = client.get(path)
    assert response.status_code in (200, 302), (path, response.status_code)
    return response


def supporters_shown(response) -> int:
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    match = re.search(r"(\d+) supporters?\b", words)
    assert match, "no supporter count on the page"
    return int(match.group(1))


@pytest.fixture
def open_proposal(make_proposal, make_round):
    round_ = make_round("The way forward", cosign_deadline=utcnow() + timedelta(days=3))
    return make_proposal(round=round_, title="Keep the forum open")


def test_a_visitor_gets_the_kept_page_until_a_write(
    client, db, open_proposal, make_user, cosign_as
):
    path = f"/proposals/{open_proposal.id}"
    first = visit(client, path)
    assert first.headers[CACHE] == "miss"
    again = visit(client, path)
    assert again.headers[CACHE] == "hit"
    assert again.get_data() == first.get_data()
    assert supporters_shown(again) == 1

    cosign_as(open_proposal, make_user())

    after = visit(client, path)
    assert after.headers[CACHE] == "miss", "a committed co-sign must retire the kept page"
    assert supporters_shown(after) == 2


@pytest.mark.parametrize(
    "path_of",
    [
        lambda p, a: "/",
        lambda p, a: "/rounds",
        lambda p, a: f"/rounds/{p.round.slug}",
        lambda p, a: f"/proposals/{p.id}",
        lambda p, a: "/articles",
        lambda p, a: f"/articles/{a.slug}",
    ],
    ids=["home", "rounds", "round", "proposal", "articles", "article"],
)
def test_every_kept_page_shows_a_change_at_once(
    client, db, open_proposal, make_article, make_user, path_of
):
    article = make_article("The convention", slug="the-convention")
    path = path_of(open_proposal, article)
    visit(client, path)
    assert visit(client, path).headers[CACHE] == "hit"

    # A change to what every one of these pages shows: a title (home, rounds
    # and round list the proposal; articles and the article show its title).
    db.session.execute(
        sa.update(Proposal).where(Proposal.id == open_proposal.id).values(title="Renamed proposal")
    )
    db.session.execute(sa.update(Round).values(title="Renamed round"))
    from app.models import Article

    db.session.execute(sa.update(Article).values(title="Renamed article"))
    db.session.commit()

    response = visit(client, path)
    assert response.headers[CACHE] == "miss"
    text = response.get_data(as_text=True)
    assert "Renamed" in text
    assert "Keep the forum open" not in text or path in ("/articles", f"/articles/{article.slug}")


def test_a_write_on_another_connection_is_seen(client, db, open_proposal):
    path = f"/rounds/{open_proposal.round.slug}"
    visit(client, path)
    assert visit(client, path).headers[CACHE] == "hit"
    with db.engine.begin() as conn:  # not the session: a script, another worker
        conn.execute(sa.text("UPDATE proposals SET title = 'Written elsewhere'"))
    db.session.rollback()  # the test's requests share its session (and SQLite snapshot)
    response = visit(client, path)
    assert response.headers[CACHE] == "miss"
    assert "Written elsewhere" in response.get_data(as_text=True)


def test_a_rolled_back_write_does_not_retire_pages(client, db, open_proposal):
    path = f"/proposals/{open_proposal.id}"
    visit(client, path)
    before = site_state()
    db.session.execute(sa.update(Proposal).values(title="Never saved"))
    db.session.rollback()
    assert site_state() == before
    assert visit(client, path).headers[CACHE] == "hit"


def test_a_new_comment_shows_on_the_kept_article_page(client, db, make_article, make_user):
    article = make_article("The convention", slug="the-convention")
    path = f"/articles/{article.slug}"
    visit(client, path)
    assert visit(client, path).headers[CACHE] == "hit"
    comment_svc.add_comment(article.thread, make_user(), "A fresh thought on the convention.")
    db.session.commit()
    response = visit(client, path)
    assert response.headers[CACHE] == "miss"
    assert "A fresh thought on the convention." in response.get_data(as_text=True)


def test_a_deadline_passing_retires_the_page_without_any_write(
    client, db, make_round, make_proposal
):
    round_ = make_round("Closing soon", cosign_deadline=utcnow() + timedelta(seconds=1.5))
    proposal = make_proposal(round=round_)
    path = f"/proposals/{proposal.id}"
    visit(client, path)
    assert visit(client, path).headers[CACHE] == "hit"
    time.sleep(2)
    # A visitor's page reads "Sign in to co-sign." either side of the deadline;
    # the deadline is in the key so that no page outlives the state it showed.
    assert visit(client, path).headers[CACHE] == "miss"
    assert visit(client, path).headers[CACHE] == "hit"


def test_members_and_json_clients_always_get_a_fresh_page(
    client, auth, db, open_proposal, make_user
):
    path = f"/proposals/{open_proposal.id}"
    visit(client, path)
    assert visit(client, path).headers[CACHE] == "hit"

    json = client.get(path, headers={"Accept": "application/json"})
    assert json.is_json and CACHE not in json.headers

    member = make_user()
    auth.login(member)
    for _ in range(2):
        response = visit(client, path)
        assert CACHE not in response.headers
    assert "Co-sign" in response.get_data(as_text=True)


def test_a_visitor_with_a_message_to_read_gets_it(client, db, open_proposal):
    path = f"/proposals/{open_proposal.id}"
    visit(client, path)
    assert visit(client, path).headers[CACHE] == "hit"
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A message for this visitor only")]
    response = visit(client, path)
    assert CACHE not in response.headers
    assert "A message for this visitor only" in response.get_data(as_text=True)


@pytest.fixture
def csrf_app(database_url, app):
    """The suite's database, with CSRF checked as in production."""
    other = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    with other.app_context():
        yield other


def test_each_visitor_gets_their_own_working_csrf_token(csrf_app, db, make_article):
    article = make_article("Open to guests", slug="open-to-guests", allow_guest_comments=True)
    path = f"/articles/{article.slug}"
    first, second = csrf_app.test_client(), csrf_app.test_client()
    kept = visit(first, path)
    served = visit(second, path)
    assert (kept.headers[CACHE], served.headers[CACHE]) == ("miss", "hit")

    def token(response) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))[1]

    assert token(kept) != token(served)
    assert CSRF_MARK.decode() not in served.get_data(as_text=True)
    posted = second.post(
        f"/threads/{article.thread_id}/comments",
        data={"csrf_token": token(served), "name": "A guest", "body": "Hello from a guest."},
    )
    assert posted.status_code == 302, posted.get_data(as_text=True)[:500]


def test_the_cache_can_be_turned_off(database_url, app, db, open_proposal):
    off = make_test_app(database_url, PAGE_CACHE_ENABLED=False)
    with off.app_context():
        client = off.test_client()
        for _ in range(2):
            assert CACHE not in visit(client, f"/proposals/{open_proposal.id}").headers


def entry(size: int) -> _Entry:
    return _Entry(200, None, b"x" * size, False, time.monotonic())


def test_the_store_keeps_one_state_within_its_bytes_and_age():
    cache = PageCache(max_bytes=1000, max_age=60)
    cache.put((1, 0), "/a", entry(200))
    cache.put((1, 0), "/b", entry(200))
    assert cache.get((1, 0), "/a") is not None
    assert cache.get((2, 0), "/a") is None, "another state of the site: nothing kept counts"
    cache.put((2, 0), "/c", entry(200))
    assert len(cache) == 1 and cache.get((2, 0), "/a") is None

    for n in range(6):  # 6 x 200 bytes into 1,000: the least recently used go
        cache.put((2, 0), f"/p{n}", entry(200))
    assert len(cache) == 5 and cache.get((2, 0), "/c") is None
    assert cache.get((2, 0), "/p5") is not None

    cache.put((2, 0), "/huge", entry(400))  # over a quarter of the budget: not kept
    assert cache.get((2, 0), "/huge") is None

    old = PageCache(max_bytes=1000, max_age=0.05)
    old.put((1, 0), "/a", entry(10))
    time.sleep(0.1)
    assert old.get((1, 0), "/a") is None


def test_a_cosign_through_the_site_retires_the_visitors_page(
    client, app, db, open_proposal, make_user
):
    path = f"/proposals/{open_proposal.id}"
    visit(client, path)
    assert supporters_shown(visit(client, path)) == 1
    member_client = app.test_client()
    member = make_user()
    member_client.post("/login", data={"login": member.username, "password": DEFAULT_PASSWORD})
    with member_client.session_transaction() as session:
        assert "_user_id" in session, "the member could not sign in"
    assert member_client.post(f"{path}/cosign").status_code == 302
    db.session.rollback()  # end the test's read transaction: see what the request wrote
    assert svc.supporter_ids(db.session.get(Proposal, open_proposal.id)) >= {member.id}
    response = visit(client, path)
    assert response.headers[CACHE] == "miss"
    assert supporters_shown(response) == 2


def test_the_spelled_out_sql_names_the_one_revision_row():
    from app.models.site import SITE_REVISION_ID
    from app.pagecache import _STATE_SQL, BUMP_SQL

    assert SITE_REVISION_ID == 1
    assert BUMP_SQL.endswith("WHERE id = 1") and _STATE_SQL.endswith("WHERE id = 1")


@pytest.mark.postgresql_only
def test_the_state_reader_replaces_a_connection_the_server_ended(
    client, app, db, open_proposal, caplog
):
    """A database restart (here pg_terminate_backend) ends the reader's own
    connection: the next visitor still gets the kept page, without a failed read."""
    from tests.conftest import POSTGRES_ADMIN_URL

    path = f"/proposals/{open_proposal.id}"
    visit(client, path)
    assert visit(client, path).headers[CACHE] == "hit"
    reader = app.extensions["plenary_state_reader"]
    pid = reader._connection().dbapi_connection.info.backend_pid  # this thread's connection
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        admin.dispose()
    with caplog.at_level("WARNING"):
        response = visit(client, path)
    assert response.headers[CACHE] == "hit"
    assert "reading the site revision failed" not in caplog.text
    assert reader._connection().dbapi_connection.info.backend_pid != pid
