"""Pages at a fixed query cost on the scale data shape, and the scale data set's rows.

The scale shape (app/seeding/scale.py): long-tailed co-signatures (a
proposal with over 1,000 supporters), threads whose sub-threads run to
thousands of replies, conversations 20 and more levels deep. Every page
must run as many SQL statements on it as on a small data set.
"""

from datetime import datetime

import pytest
import sqlalchemy as sa

from app.models import Article, Comment, Proposal, Role, User
from app.seeding.scale import Builder, ProposalPlan, ScaleSpec, build_scale, check_consistency


def _build(db, *, supporters: int, comments: int, slug: str, seed: int):
    """A round of 6 proposals (the first with `supporters` co-signers) and an article."""
    db.session.commit()
    builder = Builder(seed=seed)
    builder.members(supporters * 2 + 50, prefix=f"{slug}m")
    plans = [ProposalPlan(supporters, "open", comments // 10)] + [
        ProposalPlan(k, "withdrawn" if k == 3 else "open", k) for k in range(5)
    ]
    proposals = builder.round(f"{slug}-round", f"Round {slug}", plans, datetime(2024, 3, 1))
    stats = builder.article(slug, f"Article {slug}", comments, datetime(2024, 1, 1))
    builder.finish()
    # The permalink of the last reply of the busiest sub-thread: folded away, so
    # it leads to a batch of replies (and, in the big thread, deep down).
    busiest = db.session.scalar(
        sa.select(Comment.id)
        .where(Comment.thread_id == stats.thread_id, Comment.depth == 0)
        .order_by(Comment.descendant_count.desc())
        .limit(1)
    )
    folded = db.session.scalar(
        sa.select(Comment.id)
        .where(Comment.root_id == busiest, Comment.depth > 0)
        .order_by(Comment.path.desc())
        .limit(1)
    )
    return {
        "round": f"/rounds/{slug}-round",
        "proposal": f"/proposals/{proposals[0][0]}",
        "article": f"/articles/{slug}",
        "article page 3": f"/articles/{slug}?page=3",
        "permalink": f"/comments/{folded}",
        "replies": f"/comments/{stats.first_id}/replies?start=10",
        "supporters": f"/proposals/{proposals[0][0]}/supporters",
        "results": f"/rounds/{slug}-round/results",
    }, stats


def _count(client, db, query_counter, url) -> tuple[int, int]:
    client.get(url)  # warm: template compiling and first-request work are not counted
    db.session.remove()
    with query_counter() as counted:
        response = client.get(url)
    assert response.status_code in (200, 302), (url, response.status_code)
    return counted.count, len(response.data)


@pytest.fixture
def small_and_scale(db):
    small, _ = _build(db, supporters=3, comments=300, slug="small", seed=1)
    big, stats = _build(db, supporters=1_200, comments=6_000, slug="big", seed=2)
    # The big thread really has the scale shape.
    assert stats.max_depth >= 20
    biggest_subthread = db.session.scalar(
        sa.select(sa.func.max(Comment.descendant_count)).where(Comment.thread_id == stats.thread_id)
    )
    assert biggest_subthread > 100
    lead = db.session.scalar(
        sa.select(Proposal).where(Proposal.round.has(slug="big-round")).order_by(Proposal.number)
    )
    assert lead.supporter_count == 1_201
    return small, big


@pytest.mark.parametrize("role", [None, Role.member, Role.moderator])
def test_every_page_runs_the_same_queries_on_the_scale_shape(
    client, db, auth, make_user, query_counter, small_and_scale, role
):
    if role is not None:
        auth.login(make_user(role=role))
    small, big = small_and_scale
    counts = {}
    for name in small:
        small_count, _ = _count(client, db, query_counter, small[name])
        big_count, big_size = _count(client, db, query_counter, big[name])
        counts[name] = (small_count, big_count)
    counts["home"] = (_count(client, db, query_counter, "/")[0],) * 2
    assert {k: v for k, v in counts.items() if v[0] != v[1]} == {}


def test_home_page_runs_the_same_queries_before_and_after_the_scale_shape(
    client, db, query_counter
):
    _build(db, supporters=2, comments=20, slug="tiny", seed=4)
    before, _ = _count(client, db, query_counter, "/")
    _build(db, supporters=1_100, comments=3_000, slug="home", seed=3)
    after, size = _count(client, db, query_counter, "/")
    assert before == after
    assert size > 0


def test_thread_page_shows_each_subthreads_first_replies_and_folds_the_rest(
    client, db, small_and_scale
):
    # The page lists, under each top-level comment, its first replies in path
    # order and folds the rest with the exact number left (from the counters).
    response = client.get("/articles/big")
    html = response.get_data(as_text=True)
    roots = db.session.scalars(
        sa.select(Comment)
        .join(Article, Article.thread_id == Comment.thread_id)
        .where(Article.slug == "big", Comment.depth == 0)
        .order_by(Comment.path)
        .limit(20)
    ).all()
    for root in roots:
        replies = db.session.scalars(
            sa.select(Comment.id)
            .where(Comment.root_id == root.id, Comment.depth > 0)
            .order_by(Comment.path)
        ).all()
        for reply_id in replies[:10]:
            assert f'id="comment-{reply_id}"' in html
        for reply_id in replies[10:12]:
            assert f'id="comment-{reply_id}"' not in html
        if len(replies) > 10:
            assert f"{len(replies) - 10} more replies" in html or (
                len(replies) == 11 and "1 more reply" in html
            )


def test_scale_set_keeps_every_invariant(db):
    db.session.commit()
    spec = ScaleSpec(
        members=400, proposals=60, comments=4_000, articles=6, biggest_thread=1_500,
        round_shares=(0.2, 0.3, 0.5),
    )  # fmt: skip
    totals = build_scale(spec, echo=lambda _line: None)
    assert totals.comments == 4_000 and totals.proposals == 60 and totals.members == 400
    assert check_consistency() == []
    # Members cannot sign in: one shared hash of a secret nobody knows.
    hashes = db.session.scalars(sa.select(User.password_hash).distinct()).all()
    assert len(hashes) == 1
    # The app's own recount agrees with every stored counter and path.
    from app.checks import run_checks

    report = run_checks()
    assert report.problems == [], report.problems[:5]


def test_scale_members_cannot_sign_in(client, db):
    db.session.commit()
    builder = Builder(seed=5)
    (uid,) = builder.members(1, prefix="nologin")
    builder.finish()
    user = db.session.get(User, uid)
    for password in ("", "password", user.username, "correct horse battery"):
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code in (200, 400)
        assert "_user_id" not in (response.headers.get("Set-Cookie") or "")


@pytest.mark.sqlite_only
def test_home_statements_walk_their_indexes_once_sqlite_has_statistics(db, small_and_scale):
    """With ANALYZE's statistics, SQLite expected the home's activity to join
    half the comments, and read every thread into a Bloom filter before each
    run (the LIMIT stops it after a dozen): comments of hidden threads are
    left out by asking each comment's own thread instead."""
    from app.services import home

    db.session.execute(sa.text("ANALYZE"))
    try:
        for stmt in (home._versions_select(), home._recent_comments_select()):
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = [row[3] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))]
            assert not [s for s in plan if "BLOOM" in s or s.startswith("SCAN threads")], plan
    finally:
        db.session.execute(sa.text("DROP TABLE sqlite_stat1"))


@pytest.mark.sqlite_only
def test_a_viewers_comments_in_a_thread_are_one_range_of_one_index(db):
    """What a thread's page asks of a member (their comments in it, for the
    lines' edit and delete links) names the author and the thread: one index
    holds both, so neither the member's other comments nor the thread's other
    comments are read (migration 0014)."""
    from app.articles.fragments import _own_comments_select

    sql = str(_own_comments_select().compile(db.engine))
    plan = " ".join(
        row[3]
        for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (1, 1))
    )
    assert "ix_comments_author_thread (author_id=? AND thread_id=?)" in plan, plan


@pytest.mark.parametrize("light", [True, False])
def test_the_newest_articles_are_the_first_entries_of_one_index(db, backend, light):
    """The home page's newest articles (its key and its list) and /articles share one
    order, which one index holds on both databases (migration 0015): the first five
    are read from it, not sorted out of every article (0.35 of the home key's 1.0 ms
    on PostgreSQL with the scale set's 300 articles)."""
    from app.services.home import _recent_articles_select

    stmt = _recent_articles_select(light)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    conn = db.session.connection()
    if backend == "sqlite":
        plan = " | ".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        assert "ix_articles_published" in plan and "TEMP B-TREE" not in plan, plan
    else:
        # A handful of rows: told not to sort, the planner must find the order in an index.
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        plan = " | ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        assert "ix_articles_published" in plan and "Sort" not in plan, plan
    db.session.rollback()
