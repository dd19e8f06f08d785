"""The mail worker as a process (huey_consumer) against a real SMTP server.

Faults: the SMTP server down, then up; the worker killed with SIGKILL in
the middle of a batch, then restarted; a request that causes mail never
waits for SMTP. Every mail arrives, and arrives once.
"""

import time
from collections import Counter

import pytest
import sqlalchemy as sa

from app.models import Notification, OutboxMail, OutboxState
from app.services import comments as comment_svc
from app.services import proposals as svc
from tests.fixtures.servers import GunicornServer, session_cookie
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.worker import Worker


@pytest.fixture
def queue_url(tmp_path):
    return f"sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture
def worker_factory(database_url, queue_url, tmp_path):
    started = []

    def factory(smtp_port: int, workers: int = 2) -> Worker:
        worker = Worker(
            database_url, queue_url, smtp_port, tmp_path / "worker.log", workers=workers
        )
        started.append(worker)
        return worker

    yield factory
    for worker in started:
        worker.kill()


def outbox_states(db) -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(sa.select(OutboxMail.state)))


def wait_until(predicate, timeout: float, message: str, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{message}\n{worker.log()[-4000:] if worker else ''}")


def offer_to_signers(db, make_user, make_round, bulk_supporters, n: int):
    """A withdrawal in favour of a successor, told to n co-signers: n mails to send."""
    author = make_user("author")
    round_ = make_round()
    old = svc.submit_proposal(round_, author, "Old", "The old text.")
    new = svc.submit_proposal(round_, author, "New", "The new text.")
    db.session.commit()
    bulk_supporters(old, n)
    svc.withdraw_proposal(old, author, "superseded", "See the new one.", successor=new)
    db.session.commit()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail))
    assert rows == n
    return old, new


def assert_each_once(smtp: SmtpServer, db, n: int):
    ids = Counter(m["Message-ID"].strip() for m in smtp.messages)
    assert len(ids) == n and set(ids.values()) == {1}, ids.most_common(3)
    rcpts = Counter(m["To"] for m in smtp.messages)
    assert len(rcpts) == n and set(rcpts.values()) == {1}
    assert outbox_states(db) == Counter({OutboxState.sent: n})


def test_smtp_down_then_up_every_mail_arrives_once(
    app, db, make_user, make_round, bulk_supporters, worker_factory
):
    smtp = SmtpServer()  # its port is chosen, but nothing listens yet: SMTP is down
    offer_to_signers(db, make_user, make_round, bulk_supporters, 20)
    worker = worker_factory(smtp.port).start()

    def retried() -> bool:
        db.session.rollback()
        return (db.session.scalar(sa.select(sa.func.max(OutboxMail.attempts))) or 0) >= 3

    wait_until(
        retried,
        60,
        "the worker did not retry while SMTP was down",
        worker,
    )
    assert smtp.messages == []
    assert outbox_states(db)[OutboxState.sent] == 0
    smtp.start()
    try:
        wait_until(
            lambda: len(smtp.messages) >= 20 and outbox_states(db)[OutboxState.sent] == 20,
            60,
            "not every mail arrived once SMTP was back",
            worker,
        )
        time.sleep(3)  # a retry still scheduled must not send anything again
        assert_each_once(smtp, db, 20)
        assert "retry in" in worker.log()
    finally:
        worker.stop()
        smtp.stop()


def test_the_worker_killed_mid_batch_and_restarted_loses_and_repeats_nothing(
    app, db, make_user, make_round, bulk_supporters, worker_factory
):
    n = 30
    # The 12th message is held at RCPT for 8 s: the worker is in the middle of it.
    # One worker thread, so that the kill lands there and nowhere else: a second
    # thread could be killed between the server's 250 and its "sent" commit, the
    # one window docs/mail.md describes (a resend, with the same Message-ID).
    smtp = SmtpServer(hold_at=12, hold_seconds=8).start()
    offer_to_signers(db, make_user, make_round, bulk_supporters, n)
    worker = worker_factory(smtp.port, workers=1).start()
    try:
        assert smtp.holding.wait(60), worker.log()[-4000:]
        assert len(smtp.messages) == 11
        worker.kill()
        states = outbox_states(db)
        assert states[OutboxState.sending] == 1  # claimed by the dead worker, not sent
        assert states[OutboxState.sent] == 11
        assert states[OutboxState.pending] == n - 12
        worker.workers = 2  # restarted with two threads: the claim keeps them apart
        worker.start()
        wait_until(
            lambda: outbox_states(db)[OutboxState.sent] == n,
            60,
            "the restarted worker did not send what was left",
            worker,
        )
        time.sleep(2)
        assert_each_once(smtp, db, n)
    finally:
        worker.stop()
        smtp.stop()


def test_the_request_never_waits_for_smtp(
    app, db, database_url, queue_url, make_user, make_article, worker_factory, tmp_path
):
    smtp = SmtpServer(data_delay=4).start()  # a slow SMTP server
    alice, bob = make_user("alice"), make_user("bob")
    thread = make_article().thread
    first = comment_svc.add_comment(thread, alice, "What do we keep?")
    db.session.commit()
    worker = worker_factory(smtp.port).start()
    server = GunicornServer(
        database_url, workers=1, env={"TASK_QUEUE_URL": queue_url}, log_dir=tmp_path
    ).start()
    try:
        started = time.monotonic()
        response = server.post(
            f"/comments/{first.id}/reply",
            {"body": "The forum."},
            cookie=session_cookie(app, bob),
        )
        took = time.monotonic() - started
        assert response.status in (302, 303), response.body[:500]
        assert took < 2, took  # the SMTP server takes 4 s per mail
        db.session.rollback()
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Notification.kind == "reply")) == 1
        )
        # The commit enqueued a delivery that the worker runs at once (no minute's sweep).
        try:
            wait_until(lambda: len(smtp.messages) == 1, 20, "the reply was not mailed", worker)
        except AssertionError as exc:  # what the server and the outbox say, too
            outbox = outbox_states(db)
            raise AssertionError(f"{exc}\nserver: {server.errors()[-3000:]}\n{outbox}") from None
        assert smtp.messages[0]["To"] == "alice@example.org"
    finally:
        server.stop()
        worker.stop()
        smtp.stop()
