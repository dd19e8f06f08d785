"""SQLite's writer gate (app/database.py): one Plenary writer at a time, woken in turn."""

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.database import WriterGate, write_transactions
from app.models import User

pytestmark = pytest.mark.sqlite_only


def lock_is_free(path: str) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_the_gate_is_a_file_beside_the_database(app, db):
    with write_transactions():
        db.session.execute(sa.select(User.id)).all()
        db.session.rollback()
    assert Path(f"{db.engine.url.database}-writer.lock").exists()


@pytest.mark.parametrize("end", ["commit", "rollback", "close", "invalidate"])
def test_every_end_of_a_write_transaction_opens_the_gate(app, db, end):
    gate_path = f"{db.engine.url.database}-writer.lock"
    probe = WriterGate(db.engine.url.database, timeout_s=1)
    with write_transactions():
        connection = db.engine.connect()
        connection.execute(sa.select(User.id)).all()  # BEGIN IMMEDIATE: the gate is held
        assert not lock_is_free(db.engine.url.database)
        if end == "commit":
            connection.commit()
        elif end == "rollback":
            connection.rollback()
        elif end == "invalidate":
            connection.invalidate()
        connection.close()
    assert lock_is_free(db.engine.url.database)
    # Another process's view of the gate: free at once (LOCK_NB through a new open file).
    import fcntl
    import os

    fd = os.open(gate_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    assert probe.acquire()
    probe.release()


def _add_many(database_url: str, count: int, start, errors) -> None:
    from app import create_app
    from app.extensions import db
    from config import TestConfig

    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": database_url})
    start.wait(30)
    try:
        with app.app_context(), write_transactions():
            for _ in range(count):
                db.session.execute(
                    sa.text("UPDATE site_revision SET revision = revision + 1000 WHERE id = 1")
                )
                db.session.commit()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        errors.put(repr(exc))


def test_writers_in_several_processes_all_get_through(app, db, database_url):
    def revision() -> int:
        with db.engine.connect() as conn:
            return conn.scalar(sa.text("SELECT revision FROM site_revision WHERE id = 1"))

    before = revision()
    context = multiprocessing.get_context("spawn")
    start, errors = context.Event(), context.Queue()
    workers = [
        context.Process(target=_add_many, args=(database_url, 150, start, errors)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0] * 4
    assert errors.empty(), errors.get()
    # Each commit adds 1,000 and the revision tracking 1 more: nothing lost, nothing locked.
    assert revision() - before == 4 * 150 * 1001
