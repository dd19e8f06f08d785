"""Median time to render the first page of a thread of 100, 1,000 and 10,000 comments.

    .venv/bin/python bench/thread_page.py [--runs 30] [--database-url URL]

Builds the threads in a throw-away SQLite file (or the database you name,
whose tables it creates and fills: use an empty one), then requests
/articles/<slug> through the test client as a visitor and prints the median
and the number of SQL queries per size. A script, not a test.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Article, Thread  # noqa: E402
from config import TestConfig  # noqa: E402
from tests.fixtures.threads import bulk_comments  # noqa: E402

SIZES = (100, 1_000, 10_000)


def build(size: int, first_id: int) -> str:
    thread = Thread(title=f"Bench {size}")
    db.session.add(thread)
    db.session.flush()
    slug = f"bench-{size}"
    db.session.add(Article(title=f"Bench {size}", slug=slug, body="Bench.", thread_id=thread.id))
    db.session.commit()
    bulk_comments(db, thread, size, first_id=first_id)
    return slug


def measure(app, slug: str, runs: int) -> tuple[float, int]:
    client = app.test_client()
    client.get(f"/articles/{slug}")  # warm the template cache
    times = []
    queries = 0
    for _ in range(runs):
        counted: list[int] = []

        def listener(*_args, counted=counted):
            counted.append(1)

        sa.event.listen(db.engine, "before_cursor_execute", listener)
        db.session.remove()
        start = time.perf_counter()
        response = client.get(f"/articles/{slug}")
        times.append(time.perf_counter() - start)
        sa.event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200, response.status_code
        queries = len(counted)
    return statistics.median(times), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.create_all()
            slugs = {size: build(size, 10_000_000 * (i + 1)) for i, size in enumerate(SIZES)}
            print(
                f"First page of a thread ({app.config['COMMENTS_PER_PAGE']} top-level "
                f"comments a page), median of {args.runs} renders on "
                f"{db.engine.dialect.name}:"
            )
            baseline = None
            for size in SIZES:
                median, queries = measure(app, slugs[size], args.runs)
                baseline = baseline or median
                print(
                    f"  {size:>6,} comments: {median * 1000:7.1f} ms  "
                    f"({queries} queries, x{median / baseline:.2f} of the smallest)"
                )
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
