"""Fan-out: withdrawing a proposal that 10,000 members co-signed.

    .venv/bin/python bench/fanout.py [--db sqlite,postgresql] [--signers 10000]

For each database (a fresh SQLite file, a fresh PostgreSQL database on
TEST_POSTGRES_URL): 10,000 members co-sign a proposal (bulk inserts), then
its author withdraws it in favour of another, in one transaction, through
the service the withdraw page calls. Printed: the notifications and outbox
rows that transaction wrote, its statements, the time spent in the database
(cursor executions, summed), and the wall time of the service call plus
COMMIT. The mail itself is the worker's job and is not timed here.

It prints numbers; it is not a test (tests/test_mail_*.py check behaviour).
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TASK_QUEUE_URL", "memory://")  # no worker here: enqueue to memory

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    Cosignature,
    CosignEvent,
    CosignEventKind,
    Notification,
    OutboxMail,
    Proposal,
    Round,
    User,
)
from app.services import proposals as svc  # noqa: E402
from app.timeutil import utcnow  # noqa: E402
from config import TestConfig  # noqa: E402

POSTGRES = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def make_members(n: int) -> list[int]:
    now = utcnow()
    db.session.execute(
        sa.insert(User),
        [
            {
                "username": f"signer{i}",
                "username_key": f"signer{i}",
                "display_name": f"Signer {i}",
                "email": f"signer{i}@example.org",
                "password_hash": "x",
                "email_confirmed_at": now,
            }
            for i in range(n)
        ],
    )
    return list(db.session.scalars(sa.select(User.id).where(User.username.like("signer%"))))


def run(url: str, signers: int) -> dict:
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        author = User(
            username="author",
            username_key="author",
            display_name="Author",
            email="author@example.org",
            password_hash="x",
            email_confirmed_at=utcnow(),
        )
        round_ = Round(slug="fanout", title="Fan-out")
        db.session.add_all([author, round_])
        db.session.commit()
        old = svc.submit_proposal(round_, author, "Old", "The old text.")
        new = svc.submit_proposal(round_, author, "New", "The new text.")
        ids = make_members(signers)
        now = utcnow()
        db.session.execute(
            sa.insert(Cosignature),
            [
                {"proposal_id": old.id, "user_id": u, "signed_at": now, "version_signed": 1}
                for u in ids
            ],
        )
        db.session.execute(
            sa.insert(CosignEvent),
            [
                {"proposal_id": old.id, "user_id": u, "kind": CosignEventKind.sign, "at": now}
                for u in ids
            ],
        )
        db.session.execute(
            sa.update(Proposal).where(Proposal.id == old.id).values(supporter_count=signers + 1)
        )
        db.session.commit()

        spent = {"db": 0.0, "statements": 0}

        def before(conn, cursor, statement, params, context, many):
            conn.info["t0"] = time.perf_counter()

        def after(conn, cursor, statement, params, context, many):
            took = time.perf_counter() - conn.info.pop("t0")
            spent["db"] += took
            spent["statements"] += 1
            if os.environ.get("FANOUT_VERBOSE"):
                print(f"  {took:.3f}s {' '.join(statement.split())[:150]}")

        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
        started = time.perf_counter()
        svc.withdraw_proposal(old, author, "superseded", "See the new one.", successor=new)
        commit_started = time.perf_counter()
        db.session.commit()
        ended = time.perf_counter()
        sa.event.remove(db.engine, "before_cursor_execute", before)
        sa.event.remove(db.engine, "after_cursor_execute", after)

        result = {
            "notifications": db.session.scalar(sa.select(sa.func.count(Notification.id))),
            "outbox": db.session.scalar(sa.select(sa.func.count(OutboxMail.id))),
            "statements": spent["statements"],
            "db_seconds": spent["db"],
            "commit_seconds": ended - commit_started,
            "wall_seconds": ended - started,
        }
        db.session.remove()
        db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--signers", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"Withdrawal in favour of a successor, {args.signers:,} co-signers, one transaction "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"{'database':<11}{'notifications':>14}{'outbox':>8}{'statements':>11}"
        f"{'db time':>10}{'commit':>9}{'wall':>9}"
    )
    for name in args.db.split(","):
        if name == "sqlite":
            folder = tempfile.mkdtemp(prefix="plenary-fanout-")
            url = f"sqlite:///{folder}/fanout.db"
            r = run(url, args.signers)
        else:
            admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
            dbname = f"plenary_fanout_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
            try:
                url = sa.make_url(POSTGRES).set(database=dbname).render_as_string(False)
                r = run(url, args.signers)
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                admin.dispose()
        print(
            f"{name:<11}{r['notifications']:>14,}{r['outbox']:>8,}{r['statements']:>11}"
            f"{r['db_seconds']:>9.3f}s{r['commit_seconds']:>8.3f}s{r['wall_seconds']:>8.3f}s"
        )


if __name__ == "__main__":
    main()
