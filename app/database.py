"""Engine set-up per backend.

SQLite is tuned for several worker processes: WAL so readers never block the
writer, a busy timeout so a writer waits for the lock instead of failing, and
write transactions that start with BEGIN IMMEDIATE. A deferred transaction
that reads and then writes fails at once with "database is locked" when
another process holds the write lock, whatever the busy timeout; an
immediate one takes the lock up front and so waits its turn.

Which transactions write? Those of unsafe HTTP methods (POST and friends),
and whatever runs inside `write_transactions()` (the CLI commands that
write). Safe methods (GET, HEAD, OPTIONS) only read, so they begin deferred
and run beside the writer. Outside a request the default is deferred too: a
test or script that reads between its writes must not sit on the write lock
while the web workers wait for it.
"""

import contextlib
import contextvars
import sqlite3

import sqlalchemy as sa
from flask import Flask, has_request_context, request

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


def begin_statement() -> str:
    """The BEGIN that a SQLite transaction starting now should use."""
    if has_request_context():
        return "BEGIN" if request.method in SAFE_METHODS else "BEGIN IMMEDIATE"
    return "BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN"


def configure_sqlite(engine: sa.Engine, busy_timeout_s: int) -> None:
    """Install the pragmas and the BEGIN IMMEDIATE policy on a SQLite engine."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own
        # transaction handling would issue a deferred BEGIN behind our back).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(begin_statement())


def engine_options(app: Flask) -> dict:
    """Extra create_engine() arguments for the configured database URL."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.get_backend_name() == "sqlite":
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("timeout", app.config["SQLITE_BUSY_TIMEOUT"])
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
        if url.database in (None, "", ":memory:"):
            # One shared in-memory database for every connection of the app.
            options.setdefault("poolclass", sa.pool.StaticPool)
    return options


def ensure_sqlite_directory(app: Flask) -> None:
    """Create the folder of a SQLite file database if it is missing."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        from pathlib import Path

        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
