"""The database set-up: SQLite tuned for several workers, and both backends under load."""

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from app.database import (
    SELF_CONTAINED,
    begin_statement,
    begin_write_phase,
    needs_transaction,
    write_transactions,
)
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


@pytest.mark.sqlite_only
@pytest.mark.parametrize("write_phase, holds_lock", [(False, False), (True, True)])
def test_a_read_first_view_writing_before_it_read_begins_immediate(
    db, app, write_phase, holds_lock
):
    """The co-sign view may write first thing (nothing to read): its write
    phase then starts with the request's first transaction."""
    with app.test_request_context("/proposals/1/cosign", method="POST"):
        if write_phase:
            begin_write_phase(db.session())
        db.session.execute(sa.select(User.id)).all()
        try:
            assert _write_lock_is_free(db) is not holds_lock
        finally:
            db.session.rollback()


# PostgreSQL: reads in a request run without a transaction ------------------------------


def _pg_status(db) -> str:
    dbapi = db.session.connection().connection.dbapi_connection
    return dbapi.info.transaction_status.name


@pytest.mark.parametrize(
    "statement, needed",
    [
        ("SELECT users.id FROM users", False),
        ("  select 1", False),
        ("SELECT proposals.id FROM proposals WHERE id = 1 FOR UPDATE", True),
        ("SELECT p.id FROM proposals p FOR NO KEY UPDATE OF p", True),
        ("SELECT 1 FROM users FOR SHARE", True),
        ("SELECT nextval('users_id_seq')", True),
        ("SELECT pg_advisory_xact_lock(1)", True),
        ("INSERT INTO users (id) VALUES (1)", True),
        ("UPDATE users SET role = 'member'", True),
        ("DELETE FROM users", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),
        ("SAVEPOINT sa_savepoint_1", True),
    ],
)
def test_which_statements_need_a_transaction(statement, needed):
    assert needs_transaction(statement, {}) is needed


def test_a_server_side_cursor_needs_one_and_a_self_contained_statement_does_not():
    assert needs_transaction("SELECT 1", {"stream_results": True})
    assert not needs_transaction("WITH x AS (INSERT ...) SELECT 1", {SELF_CONTAINED: True})


@pytest.mark.postgresql_only
def test_postgresql_reads_in_a_request_open_no_transaction(db, app, make_user):
    make_user()
    db.session.commit()
    with app.test_request_context("/"):
        db.session.execute(sa.select(User.id)).all()
        assert _pg_status(db) == "IDLE"  # no BEGIN was sent, none will need a ROLLBACK
        db.session.remove()


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    "first_write",
    [
        lambda: sa.update(User).values(display_name="Changed"),
        lambda: sa.select(User.id).with_for_update(),
    ],
)
def test_postgresql_first_write_in_a_request_begins_the_transaction(
    db, app, make_user, first_write
):
    member = make_user(display_name="Before")
    member_id = member.id
    db.session.commit()
    with app.test_request_context("/", method="POST"):
        db.session.execute(sa.select(User.id)).all()
        assert _pg_status(db) == "IDLE"
        db.session.execute(first_write())
        assert _pg_status(db) == "INTRANS"
        db.session.execute(sa.update(User).values(display_name="Changed too"))
        db.session.rollback()  # both writes go together
    db.session.remove()
    assert db.session.get(User, member_id).display_name == "Before"


@pytest.mark.postgresql_only
def test_postgresql_outside_requests_reads_are_in_a_transaction(db, make_user):
    make_user()
    db.session.commit()
    db.session.execute(sa.select(User.id)).all()
    assert _pg_status(db) == "INTRANS"
    db.session.rollback()


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
