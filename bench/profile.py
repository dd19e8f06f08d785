"""Profile one page in-process with pyinstrument (pip install pyinstrument).

    .venv/bin/python bench/profile.py DATABASE_URL PATH [--requests 50] [--as-member ID]

Runs the requests through the test client against an existing database
(`bench/run.py --keep` leaves one in instance/bench/), prints the SQL
statements of one request with their time, and the pyinstrument call tree.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--as-member", type=int, default=None, help="a user id to sign in as")
    parser.add_argument("--sql", action="store_true", help="print each statement and its time")
    args = parser.parse_args()

    from pyinstrument import Profiler

    from app import create_app
    from app.extensions import db
    from config import ProductionConfig

    app = create_app(
        ProductionConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": args.url,
            "SECRET_KEY": "profile-secret-key-not-for-production",
            "RATELIMIT_ENABLED": False,
            "SITE_URL": "http://localhost",
        },
    )
    client = app.test_client()
    if args.as_member:
        with app.app_context():
            from app.models import User

            user = db.session.get(User, args.as_member)
            ident = user.get_id()
        with client.session_transaction() as sess:
            sess["_user_id"] = ident
            sess["_fresh"] = False
    response = client.get(args.path)
    print(f"{args.path}: {response.status_code}, {len(response.data):,} bytes")
    timings: list[tuple[float, str]] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, params, context, executemany):
        conn.info["t0"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, executemany):
        timings.append((time.perf_counter() - conn.info["t0"], statement))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    started = time.perf_counter()
    client.get(args.path)
    total = time.perf_counter() - started
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    print(
        f"one request: {total * 1000:.1f} ms, {len(timings)} statements, "
        f"{sum(t for t, _ in timings) * 1000:.1f} ms in SQL"
    )
    for t, statement in timings:
        line = " ".join(statement.split())
        print(f"  {t * 1000:7.2f} ms  {line if args.sql else line[:110]}")
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.requests):
        client.get(args.path)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
