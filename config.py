"""Plenary's settings.

Every setting can come from the environment; the README lists them all.
`Config` is the development default (SQLite under instance/), `TestConfig`
is what the test suite starts from, and `ProductionConfig` reads its
database and secret from the environment and refuses to start without a
real secret key.
"""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# A development key: fine on a laptop, refused by ProductionConfig.
DEFAULT_SECRET_KEY = "dev-insecure-change-me"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs name the old driver; psycopg 3 is the one installed.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'plenary.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # Seconds a SQLite connection waits for the write lock before giving up.
    SQLITE_BUSY_TIMEOUT = _env_int("SQLITE_BUSY_TIMEOUT", 30)

    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
    WTF_CSRF_TIME_LIMIT = _env_int("WTF_CSRF_TIME_LIMIT", 8 * 3600)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = timedelta(days=_env_int("SESSION_DAYS", 14))

    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute;50 per hour")
    RATELIMIT_SIGNUP = os.environ.get("RATELIMIT_SIGNUP", "5 per minute;30 per hour")
    RATELIMIT_RESET = os.environ.get("RATELIMIT_RESET", "5 per minute;20 per hour")
    RATELIMIT_POST = os.environ.get("RATELIMIT_POST", "20 per minute;300 per hour")
    RATELIMIT_COSIGN = os.environ.get("RATELIMIT_COSIGN", "60 per minute")

    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)
    # Seconds a sign-up's confirmation link works; an unconfirmed sign-up
    # older than this gives its username and address back.
    SIGNUP_CONFIRM_MAX_AGE = _env_int("SIGNUP_CONFIRM_MAX_AGE", 3 * 24 * 3600)
    # Days a deleted account's username stays taken before anyone may sign up with it.
    ACCOUNT_USERNAME_COOLING_DAYS = _env_int("ACCOUNT_USERNAME_COOLING_DAYS", 30)
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_FROM = os.environ.get("MAIL_FROM", "plenary@localhost")
    # The site's public address: every absolute link (mail) is built from it,
    # never from a request's Host header. Required in production.
    SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:5000")
    # Seconds an SMTP connection may take.
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
    # Mail delivery by the worker: tries before giving up, and the backoff
    # (seconds, doubled each try up to MAIL_RETRY_MAX) when SMTP fails.
    MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 12)
    MAIL_RETRY_BASE = _env_int("MAIL_RETRY_BASE", 30)
    MAIL_RETRY_MAX = _env_int("MAIL_RETRY_MAX", 3600)
    # Seconds after which a mail claimed by a worker that died is tried again.
    MAIL_CLAIM_TIMEOUT = _env_int("MAIL_CLAIM_TIMEOUT", 300)
    # Mails one worker run sends before it hands over to the next run.
    MAIL_BATCH = _env_int("MAIL_BATCH", 200)
    # Hour of the day (UTC, 0-23) the daily digest is sent.
    DIGEST_HOUR = _env_int("DIGEST_HOUR", 7)
    # Host names the site answers to; any other Host header is a 400 (Flask's
    # TRUSTED_HOSTS). Comma-separated; in production it defaults to SITE_URL's host.
    TRUSTED_HOSTS = _env_list("TRUSTED_HOSTS")

    # Minutes a member may edit their own comment after posting it.
    COMMENT_EDIT_MINUTES = _env_int("COMMENT_EDIT_MINUTES", 30)
    COMMENTS_PER_PAGE = _env_int("COMMENTS_PER_PAGE", 20)
    # Replies shown under each top-level comment before "N more replies",
    # and how many one click on it loads.
    COMMENT_REPLIES_SHOWN = _env_int("COMMENT_REPLIES_SHOWN", 10)
    COMMENT_REPLIES_BATCH = _env_int("COMMENT_REPLIES_BATCH", 50)
    # Open reports that hide a comment until a moderator decides.
    REPORTS_TO_HIDE = _env_int("REPORTS_TO_HIDE", 3)

    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust
    # (0: none; 1 behind one nginx). Rate limits key on the client address.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

    # Rendered fragments (a comment, a proposal's row) shared by every viewer,
    # keyed on the rows they show (app/fragments.py). Empty: in each worker's
    # memory; redis://...: one cache for every worker and host.
    FRAGMENT_CACHE_URL = os.environ.get("FRAGMENT_CACHE_URL", "")
    FRAGMENT_CACHE_ITEMS = _env_int("FRAGMENT_CACHE_ITEMS", 50000)
    # The longest a fragment is kept: a bound for writes made outside Plenary
    # (psql), which no row version sees.
    FRAGMENT_CACHE_SECONDS = _env_int("FRAGMENT_CACHE_SECONDS", 24 * 3600)
    # Visitors' whole pages (articles, rounds, proposals) in the same cache,
    # keyed on the row versions of what they show (app/pagecache.py).
    PAGE_CACHE_ENABLED = _env_bool("PAGE_CACHE_ENABLED", True)

    # The task queue the mail worker reads: empty for SQLite at
    # instance/tasks.db (no server needed), or redis://host:6379/0.
    TASK_QUEUE_URL = os.environ.get("TASK_QUEUE_URL", "")

    PRODUCTION = False
    TESTING = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    SERVER_NAME = None
    SITE_URL = os.environ.get("SITE_URL", "http://plenary.test")


class ProductionConfig(Config):
    PRODUCTION = True
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PREFERRED_URL_SCHEME = "https"
    SITE_URL = os.environ.get("SITE_URL", "")


CONFIGS = {
    "development": Config,
    "production": ProductionConfig,
    "testing": TestConfig,
}


def config_from_env() -> type[Config]:
    """The config class named by PLENARY_ENV (development by default)."""
    name = os.environ.get("PLENARY_ENV", "development").strip().lower()
    if name not in CONFIGS:
        raise SystemExit(f"PLENARY_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
