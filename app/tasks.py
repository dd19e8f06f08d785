"""The task queue (Huey) and the mail worker's tasks.

Run the worker beside the web server:

    huey_consumer app.tasks.huey --workers 2 --worker-type thread

The queue lives in SQLite at instance/tasks.db unless TASK_QUEUE_URL names
another (redis://host:6379/0 for Redis, sqlite:///path for another file;
memory:// is for the test suite only). The outbox table in the site's own
database is the truth about what is to be mailed: a lost queue message only
delays a mail until the next sweep (every minute), it never loses one.
"""

import logging
import os
import time
from pathlib import Path

from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab

from config import INSTANCE_DIR, Config

log = logging.getLogger(__name__)

RETRY_KEY = "plenary-mail-retry-scheduled"


def make_huey(url: str | None):
    """The Huey instance for a TASK_QUEUE_URL (empty: SQLite under instance/)."""
    url = (url or "").strip()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("plenary", url=url)
    if url == "memory://":
        return MemoryHuey("plenary")
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
    elif url:
        raise SystemExit(f"TASK_QUEUE_URL must be redis://..., sqlite:///... or empty, not {url!r}")
    else:
        path = INSTANCE_DIR / "tasks.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("plenary", filename=str(path))


huey = make_huey(os.environ.get("TASK_QUEUE_URL", Config.TASK_QUEUE_URL))

_flask_app = None


def flask_app():
    """The worker's application (PLENARY_ENV's config), made once per process."""
    global _flask_app
    if _flask_app is None:
        from . import create_app

        _flask_app = create_app()
    return _flask_app


@huey.task()
def deliver_mail() -> int:
    """Send every mail of the outbox that is due; schedule a retry if some must wait."""
    from . import mail

    with flask_app().app_context():
        report = mail.deliver_due()
        if report.retry_in is not None:
            _schedule_retry(report.retry_in)
        return report.sent


def _schedule_retry(delay: float) -> None:
    """One scheduled retry at a time, however many runs met the outage.

    The key holds when the scheduled run is due; a key left by a worker that
    died before scheduling is out of date a moment later and is replaced.
    """
    now = time.time()
    due = huey.get(RETRY_KEY, peek=True)
    if due is not None and now < float(due) < now + delay + 1:
        return
    huey.put(RETRY_KEY, now + delay)
    deliver_mail.schedule(delay=delay)


@huey.periodic_task(crontab())
def sweep_outbox() -> int:
    """Every minute: whatever an enqueue missed (a queue restarted, a dead worker's claim)."""
    return deliver_mail.call_local()


@huey.periodic_task(crontab(minute="0", hour=str(Config.DIGEST_HOUR % 24)))
def daily_digest() -> int:
    """Once a day at DIGEST_HOUR (UTC): each member's unmailed notifications in one mail."""
    from . import mail
    from .database import write_transactions
    from .extensions import db

    with flask_app().app_context(), write_transactions():
        queued = mail.queue_digests()
        db.session.commit()
    return queued


@huey.on_startup()
def deliver_on_startup() -> None:
    """A restarted worker first sends what its predecessor left."""
    deliver_mail()


def enqueue_delivery() -> None:
    """Ask a worker to deliver now (after a commit that wrote outbox rows)."""
    try:
        deliver_mail()
    except Exception:  # noqa: BLE001 - the minute's sweep sends it anyway
        log.exception("Could not enqueue mail delivery; the next sweep will send it.")
