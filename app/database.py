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
import fcntl
import os
import re
import select
import sqlite3
import threading
import time

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request

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


READ_PHASE = "plenary_read_phase"


def read_first(view):
    """Mark a view whose request reads first and writes briefly at the end.

    On SQLite its first transaction begins deferred, beside the writer, so
    the write lock is not held while the member is loaded and the request
    checked; the service calls `begin_write_phase()` where it starts writing,
    and must check again, in its writing statements, what it read (the
    co-sign's UPDATE ... WHERE state = 'open' ...). Everything else about the
    request is unchanged.
    """
    view.plenary_read_first = True
    return view


def _in_read_phase() -> bool:
    if g.get(READ_PHASE) is None:
        view = current_app.view_functions.get(request.endpoint or "")
        g.setdefault(READ_PHASE, bool(getattr(view, "plenary_read_first", False)))
    return g.get(READ_PHASE)


def begin_write_phase(session) -> None:
    """End a read-first request's read phase: what follows runs BEGIN IMMEDIATE.

    The read transaction ends without expiring what it loaded; the caller
    re-checks in SQL whatever could have changed since. A no-op outside such
    a request, and on PostgreSQL (row locks taken by the writes themselves).
    """
    if not has_request_context():
        return
    reading = g.get(READ_PHASE)
    # Also when nothing was read yet: the request's first transaction is then a write.
    g.plenary_read_phase = False
    if not reading or session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def is_in_memory(url: sa.URL) -> bool:
    """A SQLite URL without a file: one shared connection, no WAL, nothing to lock or copy."""
    return url.database in (None, "", ":memory:")


def begin_statement() -> str:
    """The BEGIN that a SQLite transaction starting now should use."""
    if has_request_context():
        if request.method in SAFE_METHODS or _in_read_phase():
            return "BEGIN"
        return "BEGIN IMMEDIATE"
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
        if not is_in_memory(engine.url):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    gate = None
    if not is_in_memory(engine.url):
        gate = WriterGate(engine.url.database, busy_timeout_s)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        statement = begin_statement()
        if statement == "BEGIN":
            connection.exec_driver_sql(statement)
            return
        dbapi_connection = connection.connection.driver_connection
        if gate is not None and gate.acquire():
            connection.info[_GATE_HELD] = True
        try:
            begin_immediate(dbapi_connection, busy_timeout_s)
        except BaseException as exc:
            if connection.info.pop(_GATE_HELD, False):
                gate.release()
            if isinstance(exc, sqlite3.Error):
                # As if SQLAlchemy had run it: the 503 handler knows this type.
                raise sa.exc.DBAPIError.instance(
                    "BEGIN IMMEDIATE", None, exc, sqlite3.Error
                ) from exc
            raise

    # The transaction ends here, then the gate opens for the next writer
    # (SQLAlchemy's own COMMIT/ROLLBACK that follows finds nothing to end).
    @sa.event.listens_for(engine, "commit")
    def _on_commit(connection: sa.Connection) -> None:
        if connection.info.pop(_GATE_HELD, False):
            try:
                with as_sqlalchemy_error("COMMIT"):
                    connection.connection.driver_connection.commit()
            finally:
                gate.release()

    @sa.event.listens_for(engine, "rollback")
    def _on_rollback(connection: sa.Connection) -> None:
        if connection.invalidated:  # the checkin below lets the gate go
            return
        if connection.info.pop(_GATE_HELD, False):
            try:
                with as_sqlalchemy_error("ROLLBACK"):
                    connection.connection.driver_connection.rollback()
            finally:
                gate.release()

    # A connection dropped or returned mid-transaction never keeps the gate.
    @sa.event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection, record, _exc) -> None:
        if record.info.pop(_GATE_HELD, False):
            gate.release()

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:
        if record.info.pop(_GATE_HELD, False):
            gate.release()


_GATE_HELD = "plenary_writer_gate"


@contextlib.contextmanager
def as_sqlalchemy_error(statement: str):
    """Raise a driver error met in an event listener as SQLAlchemy would have.

    SQLAlchemy wraps the errors of the statements it runs (the 503 page and
    the retry logic know those types); statements a listener runs itself on
    the driver's connection would otherwise surface as bare driver errors.
    """
    try:
        yield
    except Exception as exc:
        if isinstance(exc, sa.exc.SQLAlchemyError) or not _is_driver_error(exc):
            raise
        raise sa.exc.DBAPIError.instance(statement, None, exc, type(exc)) from exc


def _is_driver_error(exc: Exception) -> bool:
    import psycopg

    return isinstance(exc, sqlite3.Error | psycopg.Error)


class WriterGate:
    """Plenary's SQLite writers queue here, one at a time, across processes.

    A lock file beside the database (`<db>-writer.lock`), held with flock()
    from BEGIN IMMEDIATE to COMMIT or ROLLBACK: the kernel wakes the next
    writer the moment the last one is done, where SQLite's busy handler
    would have it sleep and retry. One thread per process queues on the
    file; the others wait on a thread lock with the busy timeout, and a
    writer that cannot get the gate in time (a second connection of the
    same thread, say) goes on without it and waits on SQLite's lock as
    before. The kernel drops the lock of a process that dies. Writers that
    are not Plenary's (the sqlite3 shell) do not use the gate: SQLite's own
    lock still keeps them apart.
    """

    def __init__(self, database: str, timeout_s: float) -> None:
        self.path = f"{database}-writer.lock"
        self.timeout_s = timeout_s
        self._pid = -1
        self._reset_after_fork()

    def _reset_after_fork(self) -> None:
        # A forked worker must open its own file: a shared open file shares the lock.
        self._pid = os.getpid()
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def acquire(self) -> bool:
        if os.getpid() != self._pid:
            self._reset_after_fork()
        if not self._thread_lock.acquire(timeout=self.timeout_s):
            return False
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            self._thread_lock.release()
            return False
        return True

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def begin_immediate(dbapi_connection: sqlite3.Connection, timeout_s: float) -> None:
    """BEGIN IMMEDIATE, waiting up to `timeout_s` for another writer to finish.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between
    tries, so a writer queued behind a 1 ms transaction often sleeps for 5 or
    10: with several workers writing, the lock sits free while they sleep.
    Here the connection tries without SQLite's wait and pauses 0.1 ms, then
    up to 2 ms, between tries: it starts within a fraction of a millisecond of
    the lock coming free, and still gives up after the same timeout.
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
                message = str(exc)
                if "locked" not in message and "busy" not in message:
                    raise
                if time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.002)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")


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
    elif url.get_backend_name() == "postgresql" and options.get("pool_pre_ping"):
        # configure_postgresql() checks each connection without a round trip instead.
        options["pool_pre_ping"] = False
        options["plenary_liveness_check"] = True
    return options


# A connection idle for longer than this gets a real ping at checkout: a
# half-open connection (a network gone quiet, no FIN) looks alive to the socket.
PING_AFTER_IDLE_S = 30


def server_ended(dbapi_connection) -> bool:
    """Whether a psycopg connection is closed, or its socket is readable while
    nothing was asked: a server that ends a connection sends a goodbye first."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    return bool(readable)


def configure_postgresql(engine: sa.Engine) -> None:
    """Check a pooled connection at checkout, as pool_pre_ping would, mostly for free.

    pool_pre_ping sends a query before every request's first statement: one
    round trip in six of a co-sign. A server that ended the connection
    (a restart, pg_terminate_backend) has closed its socket, after a last
    error message: the socket is then readable while the connection sits in
    the pool, which select() tells at once. Such a connection is discarded
    and the pool opens a new one (SQLAlchemy's DisconnectionError), so the
    request sees no error. A connection idle for PING_AFTER_IDLE_S or more
    gets a real ping as well.
    """

    @sa.event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection, record) -> None:
        record.info["plenary_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _alive(dbapi_connection, record, _proxy) -> None:
        if server_ended(dbapi_connection):  # start afresh
            raise sa.exc.DisconnectionError("the server ended this connection")
        idle_since = record.info.get("plenary_idle_since")
        if idle_since is not None and time.monotonic() - idle_since >= PING_AFTER_IDLE_S:
            try:
                dbapi_connection.execute("SELECT 1")
                dbapi_connection.rollback()
            except Exception as exc:  # noqa: BLE001 - any failure means: a new connection
                raise sa.exc.DisconnectionError("the ping after a long idle failed") from exc


# Execution option of a statement that is a whole transaction by itself (one
# statement that checks and writes everything, see the PostgreSQL co-sign):
# in a request's read phase it runs as it is, without a BEGIN before it.
SELF_CONTAINED = "plenary_self_contained"
_READ_PHASE_PG = "plenary_autocommit_reads"
_PLAIN_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
# A SELECT that locks rows or has a side effect needs the transaction.
_SELECT_WITH_EFFECTS = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b"
    r"|\b(?:nextval|setval|pg_advisory\w*|set_config|pg_notify)\s*\(",
    re.IGNORECASE,
)


def needs_transaction(statement: str, options) -> bool:
    """Whether a statement must run inside a transaction (a read phase ends before it)."""
    if options.get(SELF_CONTAINED):
        return False
    if options.get("stream_results"):  # a server-side cursor lives in a transaction
        return True
    return not _PLAIN_SELECT.match(statement) or bool(_SELECT_WITH_EFFECTS.search(statement))


def configure_postgresql_reads(engine: sa.Engine) -> None:
    """In a request, read without a transaction until the first write.

    Under READ COMMITTED every statement takes its own snapshot, inside a
    transaction or not, so a transaction around reads adds nothing but two
    round trips, BEGIN and the ROLLBACK (or COMMIT) at the end: a member's
    page pays both, and a co-sign paid the BEGIN before loading the member.
    A connection checked out during a request is therefore in autocommit
    mode; the first statement that writes, locks (SELECT ... FOR UPDATE),
    or has a side effect turns it back to a transaction, and psycopg sends
    the BEGIN with that statement, so everything from there on commits or
    rolls back together as before. Outside requests (the CLI, scripts,
    migrations, the bulk seeder's COPY) nothing changes.
    """

    @sa.event.listens_for(engine, "checkout")
    def _read_phase(dbapi_connection, record, _proxy) -> None:
        import psycopg

        idle = dbapi_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        reading = has_request_context() and idle
        if idle and dbapi_connection.autocommit != reading:
            dbapi_connection.autocommit = reading
        record.info[_READ_PHASE_PG] = reading

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _begin_before_writing(conn, _cursor, statement, _parameters, context, _many) -> None:
        if not conn.info.get(_READ_PHASE_PG):
            return
        options = context.execution_options if context is not None else {}
        if needs_transaction(statement, options):
            conn.info[_READ_PHASE_PG] = False
            conn.connection.dbapi_connection.autocommit = False


def ensure_sqlite_directory(app: Flask) -> None:
    """Create the folder of a SQLite file database if it is missing."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and not is_in_memory(url):
        from pathlib import Path

        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
