"""A page cache for visitors that never serves a stale page.

Most readers of a forum are not signed in, and they all see the same page
for a URL. Plenary keeps, in each worker's memory, the HTML of the public
pages it rendered for visitors, keyed on the URL and on the *state of the
site*: the site's revision (a number every committed write moves, see
`install_revision_tracking`) and how many round deadlines have passed (the
only thing a visitor's page shows that changes with time alone). Each
request reads that state (one small SELECT) before anything else; a page is
served from memory only if it was rendered at the same state, so supporter
counts, states and threads are exactly what the database holds now. A
member's pages, and a visitor's with something in their session beyond the
CSRF token (flashed messages, their own pending comments), are always
rendered.

Why this is never stale. SQLite: the revision is bumped inside the writing
transaction, and a read transaction sees one snapshot, so the revision and
the page come from the same state. PostgreSQL (READ COMMITTED): the
revision is read first and bumped in the same transaction as the change, so
a page rendered after reading revision N may show more than N but never
less; the next reader of N+1 renders again. A write made outside Plenary
(psql) is not seen by the tracking: `PAGE_CACHE_SECONDS` bounds how long a
page is kept at all.

CSRF tokens are per visitor: the stored copy has a marker where this
visitor's token was, and each hit writes the new visitor's own token there.
"""

import contextlib
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request, session
from flask_login.config import COOKIE_NAME

from .database import SELF_CONTAINED, as_sqlalchemy_error, is_in_memory, server_ended
from .errors import wants_json
from .extensions import db
from .timeutil import utcnow

# The pages a visitor may be served from the cache.
CACHEABLE_ENDPOINTS = frozenset(
    {
        "main.index",
        "proposals.rounds",
        "proposals.round",
        "proposals.show",
        "articles.index",
        "articles.show",
        "articles.permalink",
    }
)
# A visitor whose session holds anything else (a signed-in member, flashed
# messages, their own pending guest comments) gets a freshly rendered page.
# (Flask-Login marks a visitor's non-empty session "_fresh": False.)
VISITOR_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})

# A marker no page can contain (NUL is refused in every field), unique per process.
CSRF_MARK = b"\x00plenary-csrf-" + secrets.token_hex(8).encode() + b"\x00"

# Statements that change rows (a WITH may hold an INSERT, UPDATE or DELETE).
# `connection.info[NO_REVISION]` turns the tracking off on a connection
# (migrations: the table may not exist yet); a statement marked
# SELF_CONTAINED moves the revision itself (the PostgreSQL co-sign).
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|TRUNCATE|MERGE|COPY)\b", re.IGNORECASE)
_WITH_WRITE = re.compile(r"\s*WITH\b.*\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE | re.DOTALL)
_WROTE = "plenary_wrote"
NO_REVISION = "plenary_no_revision"
# (id 1 is SITE_REVISION_ID; the SQL is spelled out, never assembled.)
BUMP_SQL = "UPDATE site_revision SET revision = revision + 1 WHERE id = 1"

# `?` for sqlite3; the other drivers' markers are put in its place.
_STATE_SQL = (
    "SELECT revision,"
    " (SELECT count(*) FROM rounds WHERE submission_deadline <= ?)"
    " + (SELECT count(*) FROM rounds WHERE cosign_deadline <= ?)"
    " FROM site_revision WHERE id = 1"
)


def install_revision_tracking(engine: sa.Engine) -> None:
    """Bump the site revision in every transaction that wrote, before it commits."""
    postgresql = engine.dialect.name == "postgresql"

    @sa.event.listens_for(engine, "begin")
    def _forget(conn: sa.Connection) -> None:
        conn.info.pop(_WROTE, None)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, statement, _parameters, context, _executemany) -> None:
        if _WRITE.match(statement) or _WITH_WRITE.match(statement):
            if context is None or not context.execution_options.get(SELF_CONTAINED):
                conn.info[_WROTE] = True

    # insert=True: before any other "commit" listener (SQLite's writer gate ends the transaction).
    @sa.event.listens_for(engine, "commit", insert=True)
    def _bump(conn: sa.Connection) -> None:
        if conn.info.pop(_WROTE, False) and not conn.info.get(NO_REVISION):
            with as_sqlalchemy_error(BUMP_SQL):
                if postgresql:
                    # The bump and the COMMIT in one round trip (the simple
                    # query protocol runs both): the rows this transaction
                    # locked are let go one round trip sooner. psycopg then
                    # finds no transaction left and SQLAlchemy's own COMMIT
                    # sends nothing.
                    with conn.connection.dbapi_connection.cursor() as cursor:
                        cursor.execute(f"{BUMP_SQL}; COMMIT")
                else:
                    bump_revision_dbapi(conn.connection.dbapi_connection)

    @sa.event.listens_for(engine, "rollback")
    def _rolled_back(conn: sa.Connection) -> None:
        if not conn.invalidated:  # (a dropped connection has no info left to clear)
            conn.info.pop(_WROTE, None)


def bump_revision_dbapi(dbapi_connection) -> None:
    """Move the revision on a raw DBAPI connection, in its open transaction."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(BUMP_SQL)
    finally:
        cursor.close()


def jump_revision(connection: sa.Connection) -> None:
    """Move the revision far ahead (after a restore brought back an older number)."""
    connection.execute(
        sa.text("UPDATE site_revision SET revision = revision + :jump WHERE id = 1"),
        {"jump": secrets.randbelow(2**40) + 2**20},
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    status: int
    location: str | None
    body: bytes
    has_csrf: bool
    stored_at: float


class PageCache:
    """The rendered pages of one state of the site, least recently used out first."""

    def __init__(self, max_bytes: int, max_age: float) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._lock = threading.Lock()
        self._state: tuple | None = None
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0

    def get(self, state: tuple, key: str) -> _Entry | None:
        with self._lock:
            if state != self._state:
                return None
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry.stored_at > self.max_age:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, state: tuple, key: str, entry: _Entry) -> None:
        if len(entry.body) > self.max_bytes // 4:
            return
        with self._lock:
            if state != self._state:
                # Every page kept so far shows an older state of the site.
                self._entries.clear()
                self._bytes = 0
                self._state = state
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += len(entry.body)
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        self._bytes -= len(self._entries.pop(key).body)


class _StateReader:
    """Reads the site's state on a connection of its own, outside any transaction.

    The read must come before the page's own reads (then the page can only be
    newer than the state it is filed under), and it is the one statement of
    every cached page: a dedicated autocommit connection per worker thread
    saves the session's checkout, BEGIN and rollback. An in-memory SQLite
    database has one shared connection, so there the session reads it.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.dedicated = not (self.sqlite and is_in_memory(engine.url))
        self.sql = _STATE_SQL if self.sqlite else _STATE_SQL.replace("?", "%s")
        self._local = threading.local()

    def _connection(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a forked worker opens its own
            local.fairy = None
            local.pid = os.getpid()
        if (
            local.fairy is not None
            and not self.sqlite
            and server_ended(local.fairy.dbapi_connection)
        ):
            self.reset()  # the server ended it (a restart, pg_terminate_backend): a new one
        if local.fairy is None:
            fairy = self.engine.raw_connection()
            if not self.sqlite:
                fairy.dbapi_connection.autocommit = True
            local.fairy = fairy
        return local.fairy

    def read(self) -> tuple | None:
        now = utcnow()
        if not self.dedicated:
            row = db.session.execute(sa.text(_STATE_SQL.replace("?", ":now")), {"now": now}).first()
        else:
            stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else now
            try:
                cursor = self._connection().dbapi_connection.cursor()
                try:
                    cursor.execute(self.sql, (stamp, stamp))
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except Exception:  # a dropped connection: render this page, reconnect next time
                self.reset()
                current_app.logger.warning("Page cache: reading the site revision failed")
                return None
        return None if row is None else (int(row[0]), int(row[1] or 0))

    def reset(self) -> None:
        fairy = getattr(self._local, "fairy", None)
        self._local.fairy = None
        if fairy is not None:
            with contextlib.suppress(Exception):  # already broken; a new one comes next time
                fairy.invalidate()


def site_state() -> tuple | None:
    """(revision, deadlines passed) now, or None if it cannot be read."""
    return current_app.extensions["plenary_state_reader"].read()


def _visitor_request() -> bool:
    if request.method != "GET" or request.endpoint not in CACHEABLE_ENDPOINTS:
        return False
    if wants_json():  # the same URL answers JSON to a JSON client
        return False
    if current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies:
        return False
    return _visitor_session()


def _visitor_session() -> bool:
    return set(session.keys()) <= VISITOR_SESSION_KEYS


def _serve_from_cache() -> Response | None:
    if not _visitor_request():
        return None
    state = site_state()
    if state is None:
        return None
    key = request.full_path
    cache: PageCache = current_app.extensions["plenary_page_cache"]
    entry = cache.get(state, key)
    if entry is None:
        g.plenary_page_cache_slot = (state, key)
        return None
    body = entry.body
    if entry.has_csrf:
        from flask_wtf.csrf import generate_csrf

        body = body.replace(CSRF_MARK, generate_csrf().encode())
    response = current_app.response_class(body, status=entry.status, mimetype="text/html")
    if entry.location is not None:
        response.headers["Location"] = entry.location
    response.headers["X-Plenary-Cache"] = "hit"
    return response


def _keep_page(response: Response) -> Response:
    slot = g.pop("plenary_page_cache_slot", None)
    if (
        slot is None
        or response.status_code not in (200, 302)
        or response.mimetype != "text/html"
        or response.direct_passthrough
        or not _visitor_session()
    ):
        return response
    body = response.get_data()
    token = g.get("csrf_token")
    has_csrf = bool(token) and token.encode() in body
    if has_csrf:
        body = body.replace(token.encode(), CSRF_MARK)
    state, key = slot
    current_app.extensions["plenary_page_cache"].put(
        state,
        key,
        _Entry(
            response.status_code, response.headers.get("Location"), body, has_csrf, time.monotonic()
        ),
    )
    response.headers["X-Plenary-Cache"] = "miss"
    return response


def init_page_cache(app: Flask) -> None:
    """Track writes on the app's engine; serve and keep visitors' pages if enabled."""
    with app.app_context():
        install_revision_tracking(db.engine)
        app.extensions["plenary_state_reader"] = _StateReader(db.engine)
    if not app.config["PAGE_CACHE_ENABLED"]:
        return
    app.extensions["plenary_page_cache"] = PageCache(
        max_bytes=app.config["PAGE_CACHE_MAX_MB"] * 1024 * 1024,
        max_age=app.config["PAGE_CACHE_SECONDS"],
    )
    app.before_request(_serve_from_cache)
    app.after_request(_keep_page)
