"""The database set-up: SQLite tuned for several workers, and both backends under load."""

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from app.database import begin_statement, write_transactions
from app.models import User


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_with_a_busy_timeout(db, app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        timeout_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert timeout_ms == app.config["SQLITE_BUSY_TIMEOUT"] * 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize(
    "method, expected", [("GET", "BEGIN"), ("HEAD", "BEGIN"), ("POST", "BEGIN IMMEDIATE")]
)
def test_write_requests_begin_immediate(app, method, expected):
    with app.test_request_context("/", method=method):
        assert begin_statement() == expected


def test_outside_requests_writes_begin_immediate_only_when_asked(app):
    assert begin_statement() == "BEGIN"
    with write_transactions():
        assert begin_statement() == "BEGIN IMMEDIATE"
    assert begin_statement() == "BEGIN"


def _write_lock_is_free(db) -> bool:
    """Whether another connection could start writing now (without waiting)."""
    other = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()
    return True


@pytest.mark.sqlite_only
@pytest.mark.parametrize("method, holds_lock", [("POST", True), ("GET", False)])
def test_the_engine_really_begins_immediate(db, app, method, holds_lock):
    """A POST's first statement takes SQLite's write lock; a GET's does not."""
    with app.test_request_context("/signup", method=method):
        db.session.execute(sa.select(User.id)).all()
        try:
            assert _write_lock_is_free(db) is not holds_lock
        finally:
            db.session.rollback()
    assert _write_lock_is_free(db)


@pytest.mark.postgresql_only
def test_postgresql_pool_checks_connections_before_lending_them(db):
    """pool_pre_ping: a connection the server ended is replaced, not handed out."""
    assert db.engine.pool._pre_ping


def test_concurrent_signups_read_then_write_without_locking_errors(app, db):
    """Each sign-up reads (is the name taken?) then writes: the pattern that
    fails at once with "database is locked" under deferred transactions."""
    count = 16
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def sign_up(i: int) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            response = client.post(
                "/signup",
                data={
                    "username": f"racer{i}",
                    "display_name": f"Racer {i}",
                    "email": f"racer{i}@example.org",
                    "password": "racing password",
                    "confirm": "racing password",
                },
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    # A valid sign-up answers 200 with "we have sent a link" (the account waits for it).
    assert statuses == [200] * count
    db.session.expire_all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    assert total == count


def test_same_username_raced_gives_one_account_and_polite_refusals(app, db):
    count = 8
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def sign_up(i: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = client.post(
            "/signup",
            data={
                "username": "samename",
                "display_name": "Same",
                "email": f"same{i}@example.org",
                "password": "racing password",
                "confirm": "racing password",
            },
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [200] + [400] * (count - 1)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


@pytest.mark.sqlite_only
def test_a_waiting_writer_starts_as_soon_as_the_lock_is_free(db):
    """begin_immediate tries again within 2 ms, where SQLite's busy handler may
    sleep 25 ms or more while the lock sits free."""
    import time

    from app.database import begin_immediate

    path = db.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released: list[float] = []

    def release():
        time.sleep(0.3)
        released.append(time.monotonic())
        holder.execute("ROLLBACK")

    waiter = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    thread = threading.Thread(target=release)
    thread.start()
    try:
        begin_immediate(waiter, timeout_s=5)
        started = time.monotonic()
        waiter.execute("ROLLBACK")
    finally:
        thread.join()
        holder.close()
    assert started - released[0] < 0.05
    # And a lock held past the timeout is an error, as SQLite's own would be.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            begin_immediate(waiter, timeout_s=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        waiter.close()


# --- PostgreSQL: safe requests read in autocommit (app/database.py) ---------------------


@pytest.mark.postgresql_only
@pytest.mark.parametrize("method, autocommit", [("GET", True), ("HEAD", True), ("POST", False)])
def test_postgresql_safe_requests_read_in_autocommit(app, db, method, autocommit):
    with app.test_request_context("/", method=method):
        assert db.session.connection().connection.driver_connection.autocommit is autocommit
        db.session.remove()
    # Outside requests (CLI, the mail worker, tests) everything is a transaction.
    assert db.session.connection().connection.driver_connection.autocommit is False
    db.session.remove()


@pytest.mark.postgresql_only
def test_postgresql_keeps_a_pages_prepared_statements_from_one_request_to_the_next(
    app, client, db, make_proposal
):
    """psycopg's rollback() drops every prepared statement (DEALLOCATE ALL); a
    reading request ends with none, so the statements psycopg prepared stay."""
    proposal_id = make_proposal().id
    db.session.commit()
    db.session.remove()
    used = []

    def on_checkout(dbapi_connection, *_):
        used.append(dbapi_connection)

    sa.event.listen(db.engine, "checkout", on_checkout)
    try:
        # The pool may hold several connections (earlier tests' threads): enough
        # requests for each to pass psycopg's prepare_threshold (5) runs.
        for n in range(40):
            # A query string of its own each time: no visitor's page cache.
            assert client.get(f"/proposals/{proposal_id}?n={n}").status_code == 200
            db.session.remove()  # the request's end, as outside the tests' app context
    finally:
        sa.event.remove(db.engine, "checkout", on_checkout)
    prepared = []
    for connection in {id(c): c for c in used}.values():
        assert connection.prepare_threshold < 6 and connection.pgconn.transaction_status == 0
        sql = "SELECT statement FROM pg_prepared_statements"
        prepared += [statement for (statement,) in connection.execute(sql)]
    assert any("FROM proposals" in statement for statement in prepared), prepared
