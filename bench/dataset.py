"""Databases for the benchmarks: create, migrate, fill.

    .venv/bin/python bench/dataset.py --db sqlite|postgresql [--scale]

`bench_set()` is the data behind `make bench`: the seed article and the demo
round (the demo data set), plus a round of 28 proposals whose leader has
1,000 co-signers, article threads of 100, 10,000 and 100,000 comments, and
1,000 members kept aside for the co-signing run. `--scale` adds the scale
data set (app/seeding/scale.py) on top of the demo set instead.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
THREAD_SIZES = (100, 10_000, 100_000)
ROUND_SLUG = "bench-round"
LEAD_SUPPORTERS = 1_000
COSIGNERS = 1_000


def database_url(backend: str, name: str, workdir: Path) -> str:
    """A fresh, empty database for `backend` (an old one of that name is dropped)."""
    if backend == "sqlite":
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    admin = sa.make_url(PG_ADMIN_URL)
    with psycopg.connect(
        host=admin.host, port=admin.port, user=admin.username, dbname=admin.database,
        password=admin.password, autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    import psycopg

    admin = sa.make_url(PG_ADMIN_URL)
    with psycopg.connect(
        host=admin.host, port=admin.port, user=admin.username, dbname=admin.database,
        password=admin.password, autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def make_app(url: str):
    from app import create_app
    from config import Config

    return create_app(Config, overrides={"SQLALCHEMY_DATABASE_URI": url})


@dataclass
class Manifest:
    """Where the benchmarked pages are, and who co-signs in the load run."""

    url: str
    backend: str
    build_seconds: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)
    cosign_proposal_id: int | None = None
    # Another open proposal: the co-signing run warms the workers on it first.
    warmup_proposal_id: int | None = None
    cosigner_ids: list = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        return cls(**json.loads(path.read_text()))


def demo_set(app, manifest: Manifest) -> None:
    """Migrate, then the seed documents and the demo round, through the services."""
    from flask_migrate import upgrade

    from app.database import write_transactions
    from app.extensions import db
    from app.models import Article, Comment, Proposal, Round
    from app.seeding.demo import DEMO_SLUG, seed_demo
    from app.seeding.documents import seed_paths

    started = time.monotonic()
    with app.app_context(), write_transactions():
        upgrade(directory=str(ROOT / "migrations"))
        seed_paths([ROOT / "seeds"])
        seed_demo()
        db.session.commit()
        round_ = db.session.scalar(sa.select(Round).where(Round.slug == DEMO_SLUG))
        lead = db.session.scalar(
            sa.select(Proposal)
            .where(Proposal.round_id == round_.id)
            .order_by(Proposal.supporter_count.desc())
            .limit(1)
        )
        article = db.session.scalar(sa.select(Article).order_by(Article.id).limit(1))
        deepest = db.session.scalar(
            sa.select(Comment.id)
            .where(Comment.thread_id == article.thread_id)
            .order_by(Comment.depth.desc(), Comment.id)
            .limit(1)
        )
        manifest.pages.update(
            {
                "home (demo)": "/",
                "demo round (28 proposals)": f"/rounds/{DEMO_SLUG}",
                f"demo proposal ({lead.supporter_count} supporters)": f"/proposals/{lead.id}",
                "seed article": f"/articles/{article.slug}",
                "seed article permalink": f"/comments/{deepest}",
            }
        )
        db.session.remove()
    manifest.build_seconds["demo set"] = round(time.monotonic() - started, 1)


def bench_set(app, manifest: Manifest) -> None:
    """The page table's data: a round of 28, a 1,000-supporter proposal, big threads."""
    import random

    from app.extensions import db
    from app.seeding.scale import Builder, ProposalPlan, pareto_counts

    started = time.monotonic()
    with app.app_context():
        builder = Builder(seed=7)
        builder.members(LEAD_SUPPORTERS + 1_100)
        rng = random.Random(28)
        tail = pareto_counts(rng, 27, alpha=1.2, scale=3, cap=400)
        plans = [ProposalPlan(LEAD_SUPPORTERS, "open", 40)] + [
            ProposalPlan(n, "withdrawn" if k % 5 == 4 else "open", rng.randrange(30))
            for k, n in enumerate(tail)
        ]
        proposals = builder.round(
            ROUND_SLUG, "Bench round (28 proposals)", plans, datetime(2024, 3, 1), threshold=100
        )
        # Members kept out of every co-signature: the co-signing run's crowd.
        cosigners = builder.members(COSIGNERS, prefix="cosigner")
        stats = {}
        for k, size in enumerate(THREAD_SIZES):
            stats[size] = builder.article(
                f"bench-{size}", f"Bench article ({size:,} comments)", size,
                datetime(2024, 1, 1) + timedelta(days=k),
            )  # fmt: skip
            builder.commit()
        builder.finish()
        big = stats[THREAD_SIZES[-1]]
        manifest.pages.update(
            {
                "home": "/",
                "round (28 proposals)": f"/rounds/{ROUND_SLUG}",
                f"proposal ({LEAD_SUPPORTERS + 1:,} supporters)": f"/proposals/{proposals[0][0]}",
                **{f"article, {n:,} comments": f"/articles/bench-{n}" for n in THREAD_SIZES},
                f"permalink, depth {big.max_depth} of {big.comments:,}": (
                    f"/comments/{big.deepest_id}"
                ),
            }
        )
        manifest.cosign_proposal_id = proposals[-1][0]
        manifest.warmup_proposal_id = proposals[-2][0]
        manifest.cosigner_ids = cosigners
        db.session.remove()
        settle(db.engine)
    manifest.build_seconds["bench set"] = round(time.monotonic() - started, 1)


def settle(engine: sa.Engine) -> None:
    """PostgreSQL: VACUUM the fresh rows and CHECKPOINT now, not during the measures.

    Without it autovacuum and the checkpoint of the build's WAL run while the
    pages or the co-signs are measured (the co-signing rate moved between
    260/s and 470/s from run to run).
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        conn.exec_driver_sql("CHECKPOINT")


def scale_set(app, manifest: Manifest) -> list[str]:
    """The scale set on top; returns the invariant problems found (none expected)."""
    from app.extensions import db
    from app.models import Article, Comment, Proposal, Round
    from app.seeding.scale import build_scale, check_consistency

    started = time.monotonic()
    with app.app_context():
        build_scale()
        manifest.build_seconds["scale set"] = round(time.monotonic() - started, 1)
        settle(db.engine)
        big_round = db.session.scalar(
            sa.select(Round)
            .where(Round.slug.like("scale-round-%"))
            .order_by(Round.last_number.desc())
            .limit(1)
        )
        big_proposal = db.session.scalar(
            sa.select(Proposal).order_by(Proposal.supporter_count.desc()).limit(1)
        )
        big_article = db.session.scalar(sa.select(Article).where(Article.slug == "scale-article-1"))
        deepest = db.session.scalar(
            sa.select(Comment.id)
            .where(Comment.thread_id == big_article.thread_id)
            .order_by(Comment.depth.desc(), Comment.id)
            .limit(1)
        )
        manifest.pages.update(
            {
                f"scale round ({big_round.last_number:,} proposals)": f"/rounds/{big_round.slug}",
                f"scale proposal ({big_proposal.supporter_count:,} supporters)": (
                    f"/proposals/{big_proposal.id}"
                ),
                f"scale article ({big_article.thread.comment_count:,} comments)": (
                    f"/articles/{big_article.slug}"
                ),
                "scale permalink (deepest)": f"/comments/{deepest}",
            }
        )
        started = time.monotonic()
        problems = check_consistency()
        manifest.build_seconds["consistency check"] = round(time.monotonic() - started, 1)
        db.session.remove()
    return problems


SEARCH_SORTS = ("relevance", "newest")
# The search rows' targets, as shares of hello (issue #16).
SEARCH_TARGETS = {"rare": 0.05, "common": 0.02}


def search_pages(app, manifest: Manifest) -> list:
    """/search rows for a rare word and a word in about one comment in ten (bench/search_words.py).

    Both words come from the index's vocabulary of the data as built; nothing is planted.
    Returns the chosen words (search_words.Word).
    """
    from urllib.parse import urlencode

    import search_words

    started = time.monotonic()
    words = search_words.choose(app)
    manifest.build_seconds["search words chosen"] = round(time.monotonic() - started, 1)
    for w in words:
        for sort in SEARCH_SORTS:
            query = {"q": w.word} if sort == "relevance" else {"q": w.word, "sort": sort}
            manifest.pages[f"search {w.role} '{w.word}' ({w.comments:,} comments), {sort}"] = (
                "/search?" + urlencode(query)
            )
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", action="store_true", help="demo set + the scale set")
    parser.add_argument("--name", default=None, help="database name (default plenary_bench…)")
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    args = parser.parse_args()
    name = args.name or ("plenary_bench_scale" if args.scale else "plenary_bench")
    url = database_url(args.db, name, Path(args.workdir))
    manifest = Manifest(url=url, backend=args.db)
    app = make_app(url)
    demo_set(app, manifest)
    if args.scale:
        problems = scale_set(app, manifest)
        print("\n".join(problems) or "Scale set: every invariant holds.")
    else:
        bench_set(app, manifest)
    print(json.dumps(asdict(manifest) | {"cosigner_ids": len(manifest.cosigner_ids)}, indent=1))


if __name__ == "__main__":
    main()
