"""Faults: the database going away mid-request gives the site's own 503 page, the
user's text comes back in a form that sends it again, and the next request
works with no restart.

- PostgreSQL: the app's own connection is killed with pg_terminate_backend
  (from an admin connection, waiting until the backend is gone) while a
  request is using it, and then every connection of the app is killed
  between requests (the pool's checkout check replaces them, by the socket
  or by a ping after a long idle).
- SQLite: another connection holds BEGIN EXCLUSIVE on the file (the app's
  busy timeout shortened to 1 s), and the file turns read-only (SQLite's
  query_only pragma: root, as in this sandbox, ignores file modes).
"""

import contextlib
import re
import sqlite3
import threading

import pytest
import sqlalchemy as sa

from app.checks import run_checks
from app.extensions import db as _db
from app.models import Comment
from tests.conftest import POSTGRES_ADMIN_URL, make_test_app
from tests.fixtures.servers import session_cookie

TEXT = "A long thought I would hate to type twice: co-operation & <care>, über alles."


@pytest.fixture
def fault_app(app, database_url):
    """A second app on the suite's database that renders its error pages (no re-raise)."""
    faulty = make_test_app(database_url, PROPAGATE_EXCEPTIONS=False, SQLITE_BUSY_TIMEOUT=1)
    yield faulty
    with faulty.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def member_client(fault_app, make_user, make_article):
    member = make_user("faulty")
    article = make_article()
    client = fault_app.test_client()
    client.set_cookie("session", session_cookie(fault_app, member))

    class Ctx:
        pass

    ctx = Ctx()
    ctx.client, ctx.article, ctx.thread_id = client, article, article.thread_id
    ctx.url = f"/threads/{article.thread_id}/comments"
    ctx.slug = article.slug
    return ctx


def assert_clean_503_with_the_text(response, url):
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:500]
    assert response.headers["Retry-After"]
    assert "Traceback" not in html and "OperationalError" not in html
    assert "nothing was saved" in html
    # What the user typed is in a form that posts it again, escaped.
    assert f'action="{url}"' in html
    assert "co-operation &amp; &lt;care&gt;, über alles." in html
    assert re.search(r'<textarea [^>]*name="body"', html)
    assert 'name="csrf_token"' in html
    assert "Content-Security-Policy" in response.headers


def comments(db) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Comment))


# PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
def admin_engine(backend):
    assert backend == "postgresql", "mark the test postgresql_only"
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@contextlib.contextmanager
def kill_connection_on(fault_app, admin_engine, statement_start: str):
    """Kill the app's connection as it is about to run the first matching statement."""
    with fault_app.app_context():
        engine = _db.engine
    killed = []

    def before(conn, cursor, statement, *args):
        if killed or not statement.lstrip().upper().startswith(statement_start):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        with admin_engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        killed.append(pid)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield killed
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.mark.postgresql_only
def test_postgresql_connection_killed_while_saving_a_comment(
    fault_app, admin_engine, member_client, db
):
    c = member_client
    with kill_connection_on(fault_app, admin_engine, "INSERT INTO COMMENTS") as killed:
        response = c.client.post(c.url, data={"body": TEXT})
    assert killed, "the kill never fired"
    assert_clean_503_with_the_text(response, c.url)
    assert comments(db) == 0

    # No restart: the same app sends the text again and it is saved once.
    again = c.client.post(c.url, data={"body": TEXT})
    assert again.status_code == 302
    assert comments(db) == 1
    assert run_checks().problems == []


@pytest.mark.postgresql_only
def test_postgresql_connection_killed_while_reading_a_page(fault_app, admin_engine, member_client):
    c = member_client
    with kill_connection_on(fault_app, admin_engine, "SELECT") as killed:
        response = c.client.get(f"/articles/{c.slug}")
    assert killed
    assert response.status_code == 503
    assert "Please try again in a moment" in response.get_data(as_text=True)
    assert c.client.get(f"/articles/{c.slug}").status_code == 200


def kill_every_connection(admin_engine, database_url) -> int:
    """Kill every connection to the suite's database but the admin's; how many."""
    with admin_engine.connect() as admin:
        return admin.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": sa.make_url(database_url).database},
        ).scalar()


@pytest.mark.postgresql_only
def test_postgresql_every_app_connection_killed_between_requests(
    fault_app, admin_engine, member_client, database_url, db
):
    c = member_client
    assert c.client.get(f"/articles/{c.slug}").status_code == 200
    db.session.rollback()  # the test's own session too goes back to the pool, idle
    assert kill_every_connection(admin_engine, database_url) >= 1
    # pool_pre_ping finds the dead connections and opens new ones: no error at all.
    assert c.client.get(f"/articles/{c.slug}").status_code == 200
    assert c.client.post(c.url, data={"body": TEXT}).status_code == 302


# SQLite --------------------------------------------------------------------------------


@pytest.fixture
def sqlite_path(backend, database_url):
    assert backend == "sqlite", "mark the test sqlite_only"
    return sa.make_url(database_url).database


@pytest.mark.sqlite_only
def test_sqlite_locked_database_gives_503_with_the_text_then_recovers(
    sqlite_path, member_client, db
):
    c = member_client
    holder = sqlite3.connect(sqlite_path, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        response = c.client.post(c.url, data={"body": TEXT})
        assert_clean_503_with_the_text(response, c.url)
        # Readers are not blocked meanwhile (WAL).
        assert c.client.get(f"/articles/{c.slug}").status_code == 200
    finally:
        holder.rollback() if holder.in_transaction else None
        holder.close()
    assert comments(db) == 0
    assert c.client.post(c.url, data={"body": TEXT}).status_code == 302
    assert comments(db) == 1


@pytest.mark.sqlite_only
def test_sqlite_lock_released_within_the_busy_timeout_just_waits(sqlite_path, member_client, db):
    c = member_client
    holder = sqlite3.connect(sqlite_path, timeout=0, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    timer = threading.Timer(0.3, holder.rollback)
    timer.start()
    try:
        response = c.client.post(c.url, data={"body": TEXT})
    finally:
        timer.join()
        holder.close()
    assert response.status_code == 302
    assert comments(db) == 1


@pytest.fixture
def read_only_switch(fault_app, sqlite_path):
    """Turn the app's database read-only (and back) without a restart."""
    state = {"read_only": False}
    with fault_app.app_context():
        engine = _db.engine

    def on_checkout(dbapi_connection, _record, _proxy):
        flag = "ON" if state["read_only"] else "OFF"
        dbapi_connection.execute(f"PRAGMA query_only = {flag}")

    sa.event.listen(engine, "checkout", on_checkout)
    yield state
    sa.event.remove(engine, "checkout", on_checkout)


@pytest.mark.sqlite_only
def test_sqlite_read_only_database_gives_503_with_the_text_then_recovers(
    read_only_switch, member_client, db
):
    c = member_client
    read_only_switch["read_only"] = True
    response = c.client.post(c.url, data={"body": TEXT})
    assert_clean_503_with_the_text(response, c.url)
    assert c.client.get(f"/articles/{c.slug}").status_code == 200
    read_only_switch["read_only"] = False
    assert comments(db) == 0
    assert c.client.post(c.url, data={"body": TEXT}).status_code == 302
    assert comments(db) == 1


@pytest.mark.sqlite_only
def test_a_json_client_gets_a_json_503(sqlite_path, member_client):
    c = member_client
    holder = sqlite3.connect(sqlite_path, timeout=0, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        # (uncosign: its first statement takes the write lock; cosign reads first)
        response = c.client.post("/proposals/999/uncosign", headers={"Accept": "application/json"})
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503
    assert response.get_json()["status"] == 503


@pytest.mark.sqlite_only
def test_passwords_are_never_echoed_back(sqlite_path, fault_app, make_user):
    make_user("lockedout")
    client = fault_app.test_client()
    holder = sqlite3.connect(sqlite_path, timeout=0, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = client.post(
            "/signup",
            data={
                "username": "newcomer",
                "display_name": "New Comer",
                "email": "new@example.org",
                "password": "s3cret-passphrase",
                "confirm": "s3cret-passphrase",
            },
        )
    finally:
        holder.rollback()
        holder.close()
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "New Comer" in html and "s3cret-passphrase" not in html
