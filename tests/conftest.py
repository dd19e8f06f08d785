"""Fixtures for the whole suite.

The suite runs on one database per pytest run, chosen with `--db`
(`sqlite`, the default, or `postgresql`). SQLite uses a fresh file in a
temporary folder (WAL, as in production, so threads race for real);
PostgreSQL gets a fresh database created on the local server and dropped at
the end. Every test starts from empty tables.

Under CI=true a missing PostgreSQL is a failure, never a skip.
"""

import contextlib
import itertools
import os
import uuid
from email.message import EmailMessage
from typing import NamedTuple

# The test process enqueues into memory: no worker reads it, and the tests that
# are about the worker start a real `huey_consumer` on a queue of their own.
os.environ.setdefault("TASK_QUEUE_URL", "memory://")

import pytest
import sqlalchemy as sa
from flask import g
from werkzeug.security import generate_password_hash

from app import create_app
from app.extensions import cache, limiter
from app.extensions import db as _db
from app.models import Role, User
from app.models.user import username_key
from app.timeutil import utcnow
from config import TestConfig

pytest_plugins = [
    "tests.fixtures.proposals",
    "tests.fixtures.threads",
    "tests.fixtures.moderation",
    "tests.fixtures.smtp",
]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DEFAULT_PASSWORD = "correct horse battery"


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        action="store",
        default=os.environ.get("PLENARY_TEST_DB", "sqlite"),
        choices=("sqlite", "postgresql"),
        help="database backend to run the suite on",
    )


def pytest_collection_modifyitems(config, items):
    """Deselect (not skip) what belongs to the other backend's pass.

    `sqlite_only` tests check SQLite's own set-up; `postgresql_only` ones race
    real connections where only PostgreSQL can; browser journeys run in the
    SQLite pass. Deselected tests are not run at all, so a CI run shows no skips.
    """
    backend = config.getoption("--db")
    keep, drop = [], []
    for item in items:
        is_browser = f"{os.sep}browser{os.sep}" in str(item.path)
        wrong = (
            (item.get_closest_marker("sqlite_only") or is_browser) and backend != "sqlite"
        ) or (item.get_closest_marker("postgresql_only") and backend != "postgresql")
        (drop if wrong else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionfinish(session, exitstatus):
    """Under CI a skipped test fails the run: every part must really run."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1


def pytest_report_header(config):
    return f"plenary: database backend = {config.getoption('--db')}; CI = {IN_CI}"


def _unavailable(message: str):
    if IN_CI:
        pytest.exit(f"CI requires it: {message}", returncode=3)
    pytest.skip(message)


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "plenary-test.db"
        yield f"sqlite:///{path}"
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"plenary_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            # A test database is thrown away: commits need not wait for the disk
            # (what other sessions see, and when, is the same).
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url(backend) -> str:
    """The Redis database the tests that use one may empty.

    One per backend (15 for SQLite, 14 for PostgreSQL), so `make test` runs
    the two passes side by side without one emptying the other's keys.
    """
    return os.environ.get("TEST_REDIS_URL") or (
        f"redis://127.0.0.1:6379/{15 if backend == 'sqlite' else 14}"
    )


def isolate_requests(app):
    """Give every test request a fresh `g`, as a real request has.

    Tests keep an app context pushed (for db.session), and Flask reuses it for
    the requests a test client makes, so `g` (where Flask-Login keeps the
    signed-in user) would leak from one request, or one client, to the next.
    """

    def fresh_g():
        for key in list(g):
            g.pop(key)

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    return app


def make_test_app(database_url: str, **overrides):
    """An app on the suite's database (for tests that need other settings)."""
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": database_url, **overrides})
    return isolate_requests(app)


@pytest.fixture(scope="session")
def _app(database_url):
    app = make_test_app(database_url)
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _empty_all_tables() -> None:
    """Delete every row, children first, and start the ids at 1 again.

    DELETE on PostgreSQL too, not TRUNCATE: TRUNCATE gives every table new
    files, about 80 ms for the schema after every test even when a test
    wrote three rows; DELETE of those rows takes a few ms. Resetting the
    sequences keeps what RESTART IDENTITY gave: each test's ids from 1.
    """
    with _db.engine.begin() as conn:
        for table in reversed(_db.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c WHERE c.relkind = 'S'"
            )


@pytest.fixture
def app(_app):
    """The application, in an app context, with empty tables afterwards."""
    with _app.app_context():
        yield _app
        _db.session.remove()
        _empty_all_tables()
        # Emptied tables hand out the same ids again: like a restore, start afresh.
        cache.clear()
        if _app.config["RATELIMIT_ENABLED"]:
            limiter.reset()


@pytest.fixture
def limited_app(_app, database_url):
    """A second app on the same database with rate limits on (memory storage).

    The limiter is one object shared by every app, so it is bound back to
    the suite's app afterwards.
    """
    app = make_test_app(database_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        limiter.reset()
        yield app
        _db.session.remove()
        _empty_all_tables()
    limiter.init_app(_app)


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user, password: str = DEFAULT_PASSWORD, follow_redirects=False):
        response = self._client.post(
            "/login",
            data={"login": user.username, "password": password},
            follow_redirects=follow_redirects,
        )
        assert response.status_code in (200, 302), response.status_code
        return response

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


class Mail(NamedTuple):
    to: str
    subject: str
    body: str
    message: EmailMessage | None = None


class Mailbox:
    """The mails the app has put in its outbox, as the worker would send them.

    Reading it runs the worker's own delivery (app.mail.deliver_due: claim,
    compose, mark sent) in this process, with the SMTP hand-over replaced by
    an append: the worker is not the subject of the tests that use it (the
    tests in test_mail_worker.py run a real consumer and a real SMTP server).
    """

    def __init__(self, app, monkeypatch):
        self._app = app
        self._sent: list[Mail] = []
        monkeypatch.setattr("app.mail.transmit", self._capture)

    def _capture(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        self._sent.append(
            Mail(message["To"], message["Subject"], body.get_content() if body else "", message)
        )

    def _drain(self) -> list[Mail]:
        from flask import has_app_context

        from app.mail import deliver_due

        if has_app_context():
            # End the test's own read transaction (as a request's end would):
            # on SQLite a snapshot older than the worker's writes cannot write.
            _db.session.commit()
        with self._app.app_context():
            deliver_due()
        return self._sent

    def clear(self) -> None:
        self._drain()
        self._sent.clear()

    def __iter__(self):
        return iter(list(self._drain()))

    def __len__(self) -> int:
        return len(self._drain())

    def __getitem__(self, index):
        return self._drain()[index]

    def __eq__(self, other):
        return list(self._drain()) == other

    def __repr__(self) -> str:
        return f"Mailbox({self._sent!r})"


@pytest.fixture
def mailbox(app, monkeypatch):
    """The mails the app sends during the test (also from the browser tests' server thread)."""
    return Mailbox(app, monkeypatch)


_DEFAULT_HASH: list[str] = []


def default_password_hash() -> str:
    """The stored hash of the test members' shared password.

    scrypt, as the app stores every password, at a 32 times smaller work
    factor (n = 2**10, not werkzeug's 2**15): signing in reads the factor
    from the hash and runs the same code, and the suite signs in some 1,500
    times a pass (about 140 ms each at the full factor). Passwords set
    through the app (`User.set_password`) keep the full factor.
    """
    if not _DEFAULT_HASH:
        _DEFAULT_HASH.append(generate_password_hash(DEFAULT_PASSWORD, method="scrypt:1024:8:1"))
    return _DEFAULT_HASH[0]


_counter = itertools.count(1)


@pytest.fixture
def make_user(db):
    """Factory: make_user(username=None, role=Role.member, suspended_until=None, ...)."""

    def factory(username: str | None = None, role: Role = Role.member, **fields) -> User:
        username = username or f"member{next(_counter)}"
        password = fields.pop("password", None)
        user = User(
            username=username,
            username_key=username_key(username),
            display_name=fields.pop("display_name", username.replace("_", " ").title()),
            email=fields.pop("email", f"{username.lower()}@example.org"),
            role=role,
            email_confirmed_at=fields.pop("email_confirmed_at", utcnow()),
            **fields,
        )
        if password:
            user.set_password(password)
        else:
            user.password_hash = default_password_hash()
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def query_counter(db):
    """Context manager counting the SQL statements run inside it.

    with query_counter() as counted: ...; counted.count
    """

    @contextlib.contextmanager
    def counter():
        class Counted:
            count = 0
            statements: list[str] = []

        counted = Counted()
        counted.statements = []

        def on_execute(conn, cursor, statement, *args):
            # Transactions and the connection's settings (SQLite's PRAGMAs, PostgreSQL's
            # SET and RESET: search's plans) read no rows.
            settings = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SET ", "RESET ")
            if statement.strip().upper().startswith(settings):
                return
            counted.count += 1
            counted.statements.append(statement)

        sa.event.listen(_db.engine, "before_cursor_execute", on_execute)
        try:
            yield counted
        finally:
            sa.event.remove(_db.engine, "before_cursor_execute", on_execute)

    return counter
