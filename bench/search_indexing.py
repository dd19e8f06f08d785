"""What the search index adds to the time of posting a comment (issue #16: at most 30%).

    .venv/bin/python bench/search_indexing.py [--db sqlite,postgresql] [--comments 100000]
        [--rounds 12] [--per-round 25]

For each database: the demo set plus generated articles holding `--comments`
comments (app/seeding/scale.py's Builder, the index built in one pass after
the load as `flask seed --scale` does), then a copy of that database
(SQLite's backup API; PostgreSQL's CREATE DATABASE ... TEMPLATE) from which
the index is removed (`search_index.uninstall`: SQLite's FTS5 tables and
their triggers; PostgreSQL's GIN index and generated tsvector column).

A member then posts comments through the service, `add_comment` and the
commit (order path, counters, notifications, the index's upkeep where there
is one), the same texts in the same order on both databases, in rounds that
alternate between them (ABBA), after one untimed round on each. Each
round's median wall time per comment and its CPU time per comment (this
process, plus on PostgreSQL the server process of its connection, read
from /proc) are kept; the table gives the median over the rounds of each.
CPU time moves much less than wall time on a shared machine. Everything
runs in this one process, one statement at a time.
"""

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import dataset  # noqa: E402
import sqlalchemy as sa  # noqa: E402

TARGET = 0.30
POST_SLUG = "indexing-post-here"


def build(backend: str, name: str, comments: int, workdir: Path) -> tuple[str, int, int]:
    """A database with the demo set and `comments` comments; (url, member id, thread id)."""
    from app.extensions import db
    from app.models import Article, search_index
    from app.seeding.scale import Builder

    url = dataset.database_url(backend, name, workdir)
    app = dataset.make_app(url)
    dataset.demo_set(app, dataset.Manifest(url=url, backend=backend))
    with app.app_context():
        with db.engine.begin() as conn:
            search_index.suspend_upkeep(conn)
        builder = Builder(seed=16)
        (member,) = builder.members(1, prefix="poster")
        builder.members(2_000)
        left, k = comments, 0
        while left > 0:
            size = min(left, 50_000)
            builder.article(
                f"indexing-{k}", f"Indexing {k}", size, datetime(2024, 1, 1) + timedelta(days=k)
            )
            builder.commit()
            left -= size
            k += 1
        builder.article(POST_SLUG, "Posted here", 100, datetime(2024, 6, 1))
        builder.finish()
        with db.engine.begin() as conn:
            search_index.resume_upkeep(conn)
        thread_id = db.session.scalar(sa.select(Article.thread_id).where(Article.slug == POST_SLUG))
        db.session.remove()
        dataset.settle(db.engine)
        db.engine.dispose()
    return url, member, thread_id


def clone_without_index(url: str, name: str, workdir: Path) -> str:
    """A copy of the database at `url`, without the search index."""
    from app.extensions import db
    from app.models import search_index

    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = dataset.database_url("sqlite", name, workdir)
        source = sqlite3.connect(parsed.database)
        copy = sqlite3.connect(sa.make_url(target).database)
        source.backup(copy)
        copy.close()
        source.close()
    else:
        import psycopg

        target = dataset.database_url("postgresql", name, workdir)
        admin = sa.make_url(dataset.PG_ADMIN_URL)
        with psycopg.connect(
            host=admin.host, port=admin.port, user=admin.username, dbname=admin.database,
            password=admin.password, autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
    app = dataset.make_app(target)
    with app.app_context():
        with db.engine.begin() as conn:
            search_index.uninstall(conn)
        dataset.settle(db.engine)
        db.engine.dispose()
    return target


def post_round(app, member_id: int, thread_id: int, bodies: list[str]) -> tuple[list, float]:
    """Post `bodies` as the member: (wall ms per comment, CPU ms per comment).

    CPU: this process's, plus on PostgreSQL the server process of the
    connection that wrote (from /proc, in clock ticks: summed over the round).
    """
    from harness import cpu_seconds

    from app.extensions import db
    from app.models import Thread, User
    from app.services.comments import add_comment

    walls, cpu = [], 0.0
    with app.app_context():
        for body in bodies:
            # Each post as a request would: the member and thread loaded afresh.
            db.session.remove()
            author = db.session.get(User, member_id)
            thread = db.session.get(Thread, thread_id)
            server = []
            if db.engine.dialect.name == "postgresql":
                server = [db.session.scalar(sa.text("SELECT pg_backend_pid()"))]
            wall, own, theirs = time.perf_counter(), time.process_time(), cpu_seconds(server)
            add_comment(thread, author, body)
            db.session.commit()
            walls.append((time.perf_counter() - wall) * 1000)
            cpu += (time.process_time() - own) + (cpu_seconds(server) - theirs)
        db.session.remove()
    return walls, cpu * 1000 / len(bodies)


def run(backend: str, args, workdir: Path) -> dict:
    from app.extensions import db
    from app.models import search_index
    from app.seeding.scale import make_bodies

    started = time.monotonic()
    url, member_id, thread_id = build(backend, "plenary_bench_indexing", args.comments, workdir)
    bare = clone_without_index(url, "plenary_bench_indexing_bare", workdir)
    print(f"\n== {backend}: built and copied in {time.monotonic() - started:.0f} s")
    apps = {"with": dataset.make_app(url), "without": dataset.make_app(bare)}
    with apps["with"].app_context():
        with db.engine.connect() as conn:
            assert not search_index.check(conn), "the index should be complete"
    with apps["without"].app_context():
        with db.engine.connect() as conn:
            assert search_index.check(conn), "the copy should have no index"
    pool = make_bodies(random.Random(16), 500)  # noqa: S311 - invented texts
    texts = iter(pool * (2 + 2 * (args.rounds + 1) * args.per_round // len(pool)))

    def next_bodies():
        return [next(texts) for _ in range(args.per_round)]

    # Warm-up, untimed: both apps' first statements, caches, the member's first comment.
    bodies = [next(texts) for _ in range(5)]
    for which in ("with", "without"):
        post_round(apps[which], member_id, thread_id, bodies)
    medians = {"with": {"wall": [], "cpu": []}, "without": {"wall": [], "cpu": []}}
    for r in range(args.rounds):
        bodies = next_bodies()
        order = ("with", "without") if r % 2 == 0 else ("without", "with")
        for which in order:
            walls, cpu = post_round(apps[which], member_id, thread_id, bodies)
            medians[which]["wall"].append(statistics.median(walls))
            medians[which]["cpu"].append(cpu)
    with apps["with"].app_context():
        with db.engine.connect() as conn:
            problems = search_index.check(conn)
    for target in (url, bare):
        dataset.drop_database(target)
    return {
        which: {k: statistics.median(v) for k, v in m.items()} | {"rounds": m["wall"]}
        for which, m in medians.items()
    } | {"problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = Path(args.workdir or ROOT / "instance" / "bench")
    workdir.mkdir(parents=True, exist_ok=True)
    one, five, _ = os.getloadavg()
    print(
        f"Posting a comment with and without the search index: {args.comments:,} comments "
        f"indexed, {args.rounds} rounds of {args.per_round} per database, alternating; "
        f"load average {one:.2f} (1 min), {five:.2f} (5 min), {os.cpu_count()} CPUs"
    )
    rows = []
    for backend in [b.strip() for b in args.db.split(",") if b.strip()]:
        out = run(backend, args, workdir)
        if out["problems"]:
            print("\n".join(out["problems"]))
        for measure in ("wall", "cpu"):
            a, b = out["with"][measure], out["without"][measure]
            rows.append((backend, measure, a, b, a / b - 1))
        spread = [
            w / wo - 1
            for w, wo in zip(out["with"]["rounds"], out["without"]["rounds"], strict=True)
        ]
        print(
            f"{backend}: added per round (wall): "
            + ", ".join(f"{x:+.0%}" for x in spread)
            + f"  [load average {os.getloadavg()[0]:.2f}]"
        )
    print(f"\n{'database':<11} {'time':<5} {'with index':>11} {'without':>9} {'added':>7}  target")
    for backend, measure, a, b, added in rows:
        met = "met" if added <= TARGET else "MISSED"
        print(
            f"{backend:<11} {measure:<5} {a:>8.2f} ms {b:>6.2f} ms {added:>+7.0%}  "
            f"{met} (<= +{TARGET:.0%})"
        )
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (1 min), {five:.2f} (5 min)")


if __name__ == "__main__":
    main()
