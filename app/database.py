"""Engine set-up per backend.

SQLite is tuned for several worker processes: WAL so readers never block the
writer, a busy timeout so a writer waits for the lock instead of failing, and
write transactions that start with BEGIN IMMEDIATE. A deferred transaction
that reads and then writes fails at once with "database is locked" when
another process holds the write lock, whatever the busy timeout; an
immediate one takes the lock up front and so waits its turn.

Which transactions write? Those of unsafe HTTP methods (POST and friends)
and everything outside a request (CLI, tests, scripts). Safe methods (GET,
HEAD, OPTIONS) read, so they begin deferred and run beside the writer.
"""

import sqlite3

import sqlalchemy as sa
from flask import Flask, has_request_context, request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _begin_statement() -> str:
    if has_request_context() and request.method in SAFE_METHODS:
        return "BEGIN"
    return "BEGIN IMMEDIATE"


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
        connection.exec_driver_sql(_begin_statement())


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
