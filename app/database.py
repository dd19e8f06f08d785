"""Engine set-up per backend: what a Flask and SQLAlchemy app needs, no more.

SQLite, for several worker processes: WAL so readers never block the
writer, a busy timeout so a writer waits for the lock instead of failing,
foreign keys on, and write transactions that begin IMMEDIATE. A deferred
transaction that reads and then writes fails at once with "database is
locked" when another process holds the write lock, whatever the busy
timeout; an immediate one takes the lock up front and so waits its turn.

Which transactions write? Those of unsafe HTTP methods (POST and friends),
and whatever runs inside `write_transactions()` (the CLI commands that
write). Safe methods (GET, HEAD, OPTIONS) only read, so they begin deferred
and run beside the writer.

PostgreSQL: the pool checks a connection before lending it
(`pool_pre_ping`, set in config.py), so a restarted server costs no request.
Requests of safe methods read in autocommit (`configure_postgresql`); the
others, and everything outside a request, run in transactions.
"""

import contextlib
import contextvars
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, has_request_context, request

from .extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "plenary_write_intent", default=False
)


@contextlib.contextmanager
def write_transactions():
    """Within this block, SQLite transactions begin IMMEDIATE (outside requests)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def is_in_memory(url: sa.URL) -> bool:
    """A SQLite URL without a file: one shared connection, no WAL, nothing to lock or copy."""
    return url.database in (None, "", ":memory:")


def begin_statement() -> str:
    """The BEGIN that a SQLite transaction starting now should use."""
    if has_request_context():
        return "BEGIN" if request.method in SAFE_METHODS else "BEGIN IMMEDIATE"
    return "BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN"


def configure_sqlite(engine: sa.Engine, busy_timeout_s: int) -> None:
    """Install the pragmas and the BEGIN IMMEDIATE policy on a SQLite engine."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
        # Let the "begin" event emit BEGIN itself (pysqlite's own transaction
        # handling would issue a deferred BEGIN behind our back).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not is_in_memory(engine.url):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        statement = begin_statement()
        if statement == "BEGIN" or is_in_memory(engine.url):
            connection.exec_driver_sql(statement)
            return
        try:
            begin_immediate(connection.connection.driver_connection, busy_timeout_s)
        except sqlite3.OperationalError as exc:
            # As if SQLAlchemy had run it: the 503 page knows this type.
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, exc) from exc


def begin_immediate(dbapi_connection: sqlite3.Connection, timeout_s: float) -> None:
    """BEGIN IMMEDIATE, trying again every 0.1-2 ms until `timeout_s` has passed.

    Measured need (docs/performance.md, "SQLite writers"): SQLite's own busy
    handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries, so with four
    workers writing, the lock sits free while the waiting writers sleep:
    co-signing ran at 140/s with one of the two cores idle. Trying again
    after a fraction of a millisecond, it starts as soon as the lock is free.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.0001
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.002)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")


def configure_postgresql(app: Flask, engine: sa.Engine) -> None:
    """Requests of safe methods (GET, HEAD, OPTIONS) read in autocommit.

    Measured need (docs/performance.md, "PostgreSQL readers"): psycopg's
    rollback() forgets every prepared statement of the connection and sends
    DEALLOCATE ALL, and a request that only read ends with a rollback. So no
    statement ever stayed prepared from one request to the next: each was
    parsed and planned again (a proposal with its round, author, successor,
    thread and co-authors: 4.4 ms a request; 1 ms prepared), after a BEGIN
    and before a ROLLBACK and a DEALLOCATE ALL, three round trips. In
    autocommit there is no BEGIN, and nothing to roll back, so psycopg keeps
    the statements it prepared (after `prepare_threshold` runs) and
    PostgreSQL their plans. What a reading page sees does not change:
    PostgreSQL's READ COMMITTED gives each statement its own snapshot inside
    a transaction too. A write made by a safe request (an API token's last
    use) commits on its own, as one statement.
    """

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.autocommit = has_request_context() and request.method in SAFE_METHODS

    @app.teardown_request
    def _end_reading(exc) -> None:
        # The request's autocommit connection goes back to the pool with the
        # request. Its app context's session ends here anyway; one that
        # outlives the request (a test's) must not write on it afterwards.
        session = db.session()
        if exc is not None or not session.in_transaction() or not session.is_active:
            return  # a failed request: its error handling and the context's end close it
        if session.connection().connection.driver_connection.autocommit:
            session.commit()


def engine_options(app: Flask) -> dict:
    """Extra create_engine() arguments for the configured database URL."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.get_backend_name() == "sqlite":
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("timeout", app.config["SQLITE_BUSY_TIMEOUT"])
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
        if is_in_memory(url):
            # One shared in-memory database for every connection of the app.
            options.setdefault("poolclass", sa.pool.StaticPool)
    return options


def ensure_sqlite_directory(app: Flask) -> None:
    """Create the folder of a SQLite file database if it is missing."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and not is_in_memory(url):
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
