"""Search rules: matching, ranking, filters, paging, snippets, visibility, upkeep."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import CommentStatus, ProposalState, Role, ThreadState, search_index
from app.services import comments as comment_svc
from app.services import moderation as mod_svc
from app.services import proposals as proposal_svc
from app.services import search as svc
from app.services.search_query import fts5_expression, parse
from app.timeutil import utcnow
from bench.search_words import pg_rows_read
from tests.fixtures.threads import bulk_comments


def run(viewer, text, **filters):
    sort = filters.pop("sort", "relevance")
    page = filters.pop("page", 1)
    return svc.search(viewer, text, svc.Filters(**filters), sort=sort, page=page)


def found(viewer, text, **filters):
    return [(h.kind, h.id) for h in run(viewer, text, **filters).hits]


@pytest.fixture
def one_page_window(monkeypatch):
    """A window of one page (21 candidates), so that a few rows make a common word."""
    monkeypatch.setattr(svc, "WINDOW_FACTOR", 1)
    monkeypatch.setattr(svc, "WINDOW_EXTRA", 0)


def next_bucket(db, table: str = "comments") -> None:
    """PostgreSQL: the next row of `table` opens a new bucket of the search index
    (its ids jump to the next multiple of its bucket), so a few rows span buckets."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.execute(
        sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT (coalesce(max(id), 0) / :b + 1) * :b FROM {table}))"
        ),
        {"b": search_index.BY_TABLE[table].bucket},
    )


def filler(db, make_thread, count: int) -> None:
    """PostgreSQL: `count` comments that match no test's words, in the current bucket,
    then ANALYZE: tables of thousands of rows, planned as a site's are (a test's few
    rows fit in a page, which any plan reads whole)."""
    if db.engine.dialect.name != "postgresql":
        return
    first = db.session.scalar(sa.text("SELECT coalesce(max(id), 0) + 1 FROM comments"))
    bulk_comments(db, make_thread(), count, first_id=first)
    db.session.execute(
        sa.text("SELECT setval(pg_get_serial_sequence('comments', 'id'), :last)"),
        {"last": first + count - 1},
    )
    db.session.execute(sa.text("ANALYZE comments"))


def captured_selects(db, action) -> tuple[object, list]:
    """What `action()` returns, and the (statement, parameters) of the SELECTs it ran."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        return action(), statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)


# Rows read that the data's size does not change: the newest id, asked of the primary
# key, and the key's lookups visit a test's dead row versions (inserted, then
# updated) until a vacuum.
DEAD_VERSIONS = 16


def rows_read(db, statement, parameters, table: str) -> int:
    """PostgreSQL: the rows of `table` one run of a statement read (the transaction's
    counters, bench/search_words.py), under the settings a search runs it with."""
    cursor = db.session.connection().connection.cursor()
    with svc._plans_for(svc._engine("x"), svc.Filters()):
        return pg_rows_read(cursor, statement, parameters).get(table, 0)


@pytest.fixture
def moderator(make_user):
    return make_user("searchmod", role=Role.moderator)


@pytest.fixture
def member(make_user):
    return make_user("searchmember")


# --- matching and ranking ----------------------------------------------------------------


def test_finds_proposals_comments_and_articles_by_their_words(
    make_proposal, make_comment, make_article
):
    proposal = make_proposal(title="Keep the allotments", body="Gardens for everyone.")
    comment = make_comment(body="I love the allotments by the river.")
    article = make_article(title="Allotment history", body="A long story of gardens.")
    make_proposal(title="Unrelated", body="Nothing here.")
    hits = found(None, "allotments")
    assert set(hits) == {
        ("proposal", proposal.id),
        ("comment", comment.id),
        ("article", article.id),
    }


def test_stemming_finds_other_forms_of_a_word(make_proposal):
    proposal = make_proposal(title="Organising branches", body="We organise.")
    assert found(None, "organised") == [("proposal", proposal.id)]


def test_title_words_rank_above_body_words(make_proposal):
    in_body = make_proposal(title="Something else", body="A note about the treasury, once.")
    in_title = make_proposal(title="The treasury report", body="Figures and more figures.")
    assert found(None, "treasury", kind="proposal") == [
        ("proposal", in_title.id),
        ("proposal", in_body.id),
    ]


def test_newest_order_puts_the_latest_first(make_proposal):
    first = make_proposal(title="Ferry timetable one")
    second = make_proposal(title="Ferry timetable two")
    assert found(None, "ferry", sort="newest") == [
        ("proposal", second.id),
        ("proposal", first.id),
    ]


def test_the_index_follows_an_edit_at_once(make_proposal, db):
    proposal = make_proposal(title="Bicycle lanes", body="Paint them.")
    proposal_svc.edit_proposal(proposal, proposal.author, "Tram lines", "Lay them.")
    db.session.commit()
    assert found(None, "bicycle") == []
    assert found(None, "tram") == [("proposal", proposal.id)]


def test_a_deleted_row_leaves_the_index(make_article, db):
    article = make_article(title="Lighthouse keepers")
    thread = article.thread
    db.session.delete(article)
    db.session.delete(thread)
    db.session.commit()
    assert found(None, "lighthouse") == []


# --- the query language --------------------------------------------------------------------


def test_phrase_exclusion_and_or(make_proposal):
    a = make_proposal(title="Green energy now", body="Solar panels.")
    b = make_proposal(title="Energy green later", body="Wind farms.")
    c = make_proposal(title="Nuclear option", body="Reactors.")
    assert found(None, '"green energy"') == [("proposal", a.id)]
    assert set(found(None, "energy -solar")) == {("proposal", b.id)}
    assert set(found(None, "solar or reactors")) == {("proposal", a.id), ("proposal", c.id)}


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '"unbalanced quote',
        "*",
        "NEAR(a b",
        "title: x",
        "a AND OR NOT",
        "-",
        "--x",
        "^start",
        "\x00\x01\x1f",
        "x" * 5000,
        "(((",
        "{title body}: x",
        "'; DROP TABLE comments; --",
    ],
)
def test_hostile_queries_never_raise(make_proposal, text):
    make_proposal(title="Anything at all")
    result = run(None, text)
    assert isinstance(result.hits, list)


def test_fts5_expression_quotes_every_word():
    assert (
        fts5_expression(parse('NEAR(x "a b" -c or d*')) == '(("near x" AND "a b") NOT "c") OR ("d")'
    )
    assert fts5_expression(parse("-only")) is None


def test_exclusions_alone_find_nothing(make_proposal):
    make_proposal(title="Parks")
    result = run(None, "-parks")
    assert result.hits == [] and result.notes


# --- snippets -----------------------------------------------------------------------------


def test_snippet_marks_the_words_and_escapes_the_content(make_comment):
    make_comment(body='<script>alert(1)</script> the <b>harbour</b> plan & "quotes"')
    (hit,) = run(None, "harbour").hits
    html = str(hit.snippet)
    assert "<mark>harbour</mark>" in html
    # The only tags left are the highlight marks (PostgreSQL's ts_headline
    # drops tags, FTS5 keeps them as text: both end up escaped or gone).
    assert "<" not in re.sub(r"</?mark>", "", html)
    assert "&amp;" in html


def test_highlighted_title(make_proposal):
    make_proposal(title="Save the <i>harbour</i>", body="Boats.")
    (hit,) = run(None, "harbour").hits
    assert "<mark>harbour</mark>" in str(hit.title)
    assert "<i>" not in str(hit.title)


# --- filters and paging ------------------------------------------------------------------------


def test_filters_by_kind_round_state_and_author(
    make_round, make_user, make_proposal, make_comment, db
):
    alice, bob = make_user("alice"), make_user("bob")
    r1, r2 = make_round(), make_round()
    p1 = make_proposal(round=r1, author=alice, title="Rivers clean")
    p2 = make_proposal(round=r2, author=bob, title="Rivers wide")
    c1 = make_comment(thread=p1.thread, author=bob, body="Rivers are cold")
    assert set(found(None, "rivers", kind="comment")) == {("comment", c1.id)}
    assert set(found(None, "rivers", round=r1)) == {("proposal", p1.id), ("comment", c1.id)}
    assert set(found(None, "rivers", author=bob)) == {("proposal", p2.id), ("comment", c1.id)}
    proposal_svc.withdraw_proposal(p2, bob, "other", "Changed my mind.")
    db.session.commit()
    assert found(None, "rivers", state=ProposalState.withdrawn, kind="proposal") == [
        ("proposal", p2.id)
    ]


def test_filters_by_date(make_proposal, db):
    old = make_proposal(title="Canal boats")
    new = make_proposal(title="Canal locks")
    old.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    since = utcnow() - timedelta(days=1)
    assert found(None, "canal", since=since) == [("proposal", new.id)]
    assert found(None, "canal", until=since) == [("proposal", old.id)]


def test_unknown_round_and_author_give_a_note(db):
    filters, notes = svc.resolve_filters(round_slug="nowhere", author="nobody")
    assert len(notes) == 2 and filters.round is None and filters.author is None


def test_pages_without_counting(make_thread, make_comment, query_counter):
    thread = make_thread()
    made = [make_comment(thread=thread, body=f"Meadow number {i}") for i in range(svc.PER_PAGE + 3)]
    first = run(None, "meadow", sort="newest")
    assert len(first.hits) == svc.PER_PAGE and first.has_more
    second = run(None, "meadow", sort="newest", page=2)
    assert [h.id for h in second.hits] == [c.id for c in made[:3]][::-1]
    assert not second.has_more
    with query_counter() as counted:
        run(None, "meadow", sort="newest")
    # Every statement that reads matches is bounded: a LIMIT, or the ids shown.
    reading = [s for s in counted.statements if " MATCH " in s or "@@" in s]
    assert reading and all("LIMIT" in s.upper() or " IN (" in s.upper() for s in reading)
    # Fixed number of statements whatever the number of matches.
    assert counted.count <= 12


def test_first_page_reads_a_window_not_every_match(make_thread, make_comment, db):
    thread = make_thread()
    for i in range(120):
        make_comment(thread=thread, body=f"Orchard row {i}")
    engine = svc._engine("orchard")
    rows = svc._find(engine, "comment", "relevance", None, svc.Filters(), svc.PER_PAGE + 1)
    assert len(rows) == svc.PER_PAGE + 1
    window = (svc.PER_PAGE + 1) * svc.WINDOW_FACTOR + svc.WINDOW_EXTRA
    candidates = db.session.execute(engine.matches("comment", "relevance", window)).all()
    assert len(candidates) == window < 120


def test_relevance_finds_ranks_and_joins_a_kind_in_one_statement(
    make_thread, make_comment, query_counter, monkeypatch
):
    """The newest RANKED_MATCHES matches are found, ranked and joined to their rows in one
    statement per kind: each match read once, one round trip."""
    monkeypatch.setattr(svc, "RANKED_MATCHES", 50)
    thread = make_thread()
    made = [make_comment(thread=thread, body=f"Orchard row {i}") for i in range(120)]
    engine = svc._engine("orchard")
    with query_counter() as counted:
        rows = svc._find(engine, "comment", "relevance", None, svc.Filters(), svc.PER_PAGE + 1)
    assert counted.count == 1, counted.statements
    assert len(rows) == svc.PER_PAGE + 1
    assert {r.id for r in rows} <= {c.id for c in made[-50:]}


def test_page_beyond_the_limit_gives_a_note(make_proposal):
    make_proposal(title="Bridges")
    result = run(None, "bridges", page=svc.MAX_PAGE + 1)
    assert result.hits == [] and result.notes


# --- visibility: each kind of hidden content, as visitor, member and moderator -----------------


def _viewers(member, moderator):
    return {"visitor": None, "member": member, "moderator": moderator}


@pytest.mark.parametrize("viewer", ["visitor", "member", "moderator"])
def test_hidden_comment(viewer, member, moderator, make_comment, db):
    comment = make_comment(body="Secret walrus")
    mod_svc.hide_comment(comment, moderator, "Rude.")
    db.session.commit()
    hits = run(_viewers(member, moderator)[viewer], "walrus").hits
    if viewer == "moderator":
        assert [h.id for h in hits] == [comment.id] and hits[0].marks == ["Comment hidden"]
    else:
        assert hits == []


@pytest.mark.parametrize("viewer", ["visitor", "member", "moderator"])
def test_pending_comment(viewer, member, moderator, make_comment):
    comment = make_comment(body="Awaiting narwhal", status=CommentStatus.pending)
    hits = run(_viewers(member, moderator)[viewer], "narwhal").hits
    if viewer == "moderator":
        assert [h.id for h in hits] == [comment.id] and "Comment pending" in hits[0].marks
    else:
        assert hits == []


@pytest.mark.parametrize("viewer", ["visitor", "member", "moderator"])
def test_deleted_comment(viewer, member, moderator, make_comment, db):
    author = member
    comment = make_comment(body="Gone pelican", author=author)
    comment_svc.delete_own_comment(comment, author)
    db.session.commit()
    hits = run(_viewers(member, moderator)[viewer], "pelican").hits
    if viewer == "moderator":
        assert [h.id for h in hits] == [comment.id] and "Comment deleted" in hits[0].marks
    else:
        assert hits == []


@pytest.mark.parametrize("viewer", ["visitor", "member", "moderator"])
def test_hidden_proposal_and_its_thread(viewer, member, moderator, make_proposal, make_comment, db):
    proposal = make_proposal(title="Hidden otter plan")
    comment = make_comment(thread=proposal.thread, body="The otter plan is good")
    mod_svc.hide_proposal(proposal, moderator, "Spam.")
    db.session.commit()
    hits = run(_viewers(member, moderator)[viewer], "otter").hits
    if viewer == "moderator":
        assert {(h.kind, h.id) for h in hits} == {
            ("proposal", proposal.id),
            ("comment", comment.id),
        }
        assert all(h.marks for h in hits)
    else:
        assert hits == []


@pytest.mark.parametrize("viewer", ["visitor", "member", "moderator"])
def test_hidden_thread(viewer, member, moderator, make_article, make_comment, make_thread, db):
    thread = make_thread(state=ThreadState.hidden)
    article = make_article(title="Badger article", thread=thread)
    comment = make_comment(thread=thread, body="Badger comment")
    hits = run(_viewers(member, moderator)[viewer], "badger").hits
    if viewer == "moderator":
        assert {(h.kind, h.id) for h in hits} == {("article", article.id), ("comment", comment.id)}
    else:
        assert hits == []


def test_hiding_takes_effect_without_reindex(make_comment, moderator, db):
    comment = make_comment(body="Visible heron")
    assert found(None, "heron") == [("comment", comment.id)]
    mod_svc.hide_comment(comment, moderator, "Off topic.")
    db.session.commit()
    assert found(None, "heron") == []
    mod_svc.restore_comment(comment, moderator, "Fine after all.")
    db.session.commit()
    assert found(None, "heron") == [("comment", comment.id)]


@pytest.mark.parametrize("one_in_window", [False, True])
@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_visibility_filter_does_not_shorten_the_page(
    make_thread, make_comment, one_in_window, sort
):
    """Pending matches fill the window: the page is filled from further down."""
    thread = make_thread()
    visible = [make_comment(thread=thread, body=f"Kestrel {i}") for i in range(5)]
    for i in range(svc.PER_PAGE * 5):
        make_comment(thread=thread, body=f"Kestrel pending {i}", status=CommentStatus.pending)
    if one_in_window:
        visible.append(make_comment(thread=thread, body="Kestrel, the latest"))
    hits = run(None, "kestrel", sort=sort).hits
    assert {h.id for h in hits} == {c.id for c in visible}


# --- similar proposals --------------------------------------------------------------------


def test_similar_proposals_are_open_visible_and_in_the_round(
    make_round, make_proposal, moderator, member, db
):
    r = make_round()
    same = make_proposal(round=r, title="Electronic voting for delegates")
    close = make_proposal(round=r, title="Voting by post")
    make_proposal(round=make_round(), title="Electronic voting elsewhere")
    withdrawn = make_proposal(round=r, title="Electronic voting withdrawn")
    proposal_svc.withdraw_proposal(withdrawn, withdrawn.author, "other", "No.")
    hidden = make_proposal(round=r, title="Electronic voting hidden")
    mod_svc.hide_proposal(hidden, moderator, "Spam.")
    db.session.commit()
    result = svc.similar_proposals(r, "Electronic voting of delegates", member)
    assert [p.id for p in result] == [same.id, close.id]


def test_similar_proposals_ignore_stop_words_and_cap_at_five(make_round, make_proposal, member):
    r = make_round()
    for i in range(7):
        make_proposal(round=r, title=f"The budget plan {i}")
    assert svc.similar_proposals(r, "the of and", member) == []
    assert len(svc.similar_proposals(r, "budget", member)) == svc.SIMILAR_SHOWN


# --- upkeep -----------------------------------------------------------------------------------


def test_check_finds_no_drift_and_reindex_keeps_it_so(make_proposal, make_comment, db):
    make_proposal(title="Check me")
    make_comment(body="And me")
    conn = db.session.connection()
    assert search_index.check(conn) == []
    search_index.rebuild(conn)
    db.session.commit()
    assert search_index.check(db.session.connection()) == []
    assert found(None, "check") != []


@pytest.mark.sqlite_only
def test_check_reports_a_stale_index(make_comment, db):
    comment = make_comment(body="Original words")
    conn = db.session.connection()
    conn.exec_driver_sql("DROP TRIGGER comments_fts_au")
    assert any("comments_fts_au is missing" in p for p in search_index.check(conn))
    conn.execute(
        sa.text("UPDATE comments SET body = 'changed words' WHERE id = :id"), {"id": comment.id}
    )
    # The trigger is back; the indexed text is still the old one.
    for sql in search_index.create_statements("sqlite"):
        conn.exec_driver_sql(sql)
    assert search_index.check(conn) == []
    assert any("differs" in p for p in search_index.check(conn, deep=True))
    search_index.rebuild(conn)
    assert search_index.check(conn, deep=True) == []
    db.session.commit()
    assert found(None, "changed") == [("comment", comment.id)]


@pytest.mark.sqlite_only
def test_check_reports_rows_missing_from_the_index(make_comment, db):
    make_comment(body="Indexed")
    conn = db.session.connection()
    search_index.suspend_upkeep(conn)
    conn.exec_driver_sql(
        "INSERT INTO comments (thread_id, path, depth, body, status, created_at) "
        "SELECT thread_id, '999999', 0, 'Unindexed', 'published', created_at FROM comments"
    )
    assert any("1 comments rows are not in the index" in p for p in search_index.check(conn))
    search_index.resume_upkeep(conn)
    assert search_index.check(conn, deep=True) == []
    db.session.rollback()


@pytest.mark.postgresql_only
def test_check_reports_an_index_without_buckets_and_reindex_mends_it(db):
    """An index made before the buckets (a GIN index of the words alone): `flask check`
    says so, and `flask search reindex` makes it anew as defined now."""
    conn = db.session.connection()
    conn.exec_driver_sql("DROP INDEX ix_comments_search_vector")
    conn.exec_driver_sql(
        "CREATE INDEX ix_comments_search_vector ON comments USING gin (search_vector)"
    )
    assert any("has no buckets" in p for p in search_index.check(conn))
    search_index.rebuild(conn)
    assert search_index.check(conn) == []
    definition = conn.exec_driver_sql(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_comments_search_vector'"
    ).scalar()
    assert "(id / 4096)" in definition and "fastupdate=off" in definition
    db.session.commit()


@pytest.mark.postgresql_only
def test_check_reports_a_missing_index(db):
    conn = db.session.connection()
    conn.exec_driver_sql("DROP INDEX ix_comments_search_vector")
    assert any("ix_comments_search_vector" in p for p in search_index.check(conn))
    search_index.rebuild(conn)
    assert search_index.check(conn) == []
    db.session.commit()


@pytest.mark.parametrize("rare", [True, False])
def test_relevance_ranks_the_newest_matches_only(
    make_thread, make_comment, monkeypatch, db, rare
):
    """A common word costs no more than a rare one: only the newest matches are ranked.
    On PostgreSQL they come from the index's buckets, newest first (here three, the
    best match in the oldest), or for a word the statistics call rare from all its
    matches at once, the same three."""
    monkeypatch.setattr(svc, "RANKED_MATCHES", 3)
    monkeypatch.setattr(svc, "_rare_in", lambda estimates, table: rare)
    thread = make_thread()
    best_but_old = make_comment(thread=thread, body="Plover plover plover plover")
    next_bucket(db)
    older = [make_comment(thread=thread, body=f"A plover {i}") for i in range(2)]
    next_bucket(db)
    newest = [make_comment(thread=thread, body=f"The plover, number {i}") for i in range(3)]
    hits = found(None, "plover", kind="comment")
    assert {i for _, i in hits} == {c.id for c in newest}
    assert best_but_old.id not in {i for _, i in hits} and older


@pytest.mark.parametrize("rare", [True, False])
def test_newest_reads_the_buckets_newest_first(
    make_thread, make_comment, one_page_window, db, monkeypatch, rare
):
    """A word with more matches than the window, spread over buckets of the index with
    buckets of no match between them: the page is the newest matches, in order,
    without and with a restrictive filter (which looks among the newest matches
    first, then reads them all). A word the statistics call rare: all its matches read
    at once, the same page."""
    monkeypatch.setattr(svc, "_rare_in", lambda estimates, table: rare)
    thread = make_thread()
    old = []
    for _ in range(2):
        old += [make_comment(thread=thread, body=f"A bittern, number {i}") for i in range(11)]
        next_bucket(db)
    for i in range(5):
        make_comment(thread=thread, body=f"Nothing to see {i}")
    next_bucket(db)
    recent = make_comment(thread=thread, body="The last bittern")
    newest = [recent.id] + [c.id for c in reversed(old)][: svc.PER_PAGE - 1]
    result = run(None, "bittern", kind="comment", sort="newest")
    assert [h.id for h in result.hits] == newest and result.has_more
    second = run(None, "bittern", kind="comment", sort="newest", page=2)
    assert [h.id for h in second.hits] == [c.id for c in reversed(old)][svc.PER_PAGE - 1 :]
    since = utcnow() - timedelta(days=1)
    result = run(None, "bittern", kind="comment", sort="newest", since=since)
    assert [h.id for h in result.hits] == newest and result.has_more


@pytest.mark.postgresql_only
@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_first_page_reads_the_matches_it_needs_plus_one_bucket(
    make_thread, make_comment, db, monkeypatch, one_page_window, sort
):
    """Issue #16: the first results page reads no more rows than it needs plus a
    constant. The GIN index is asked one bucket at a time, newest first: a page reads
    the matches it needs (the window of 21 newest first, the 25 to rank by relevance)
    and at most the rest of the last bucket read, never a row that does not match, nor
    the older buckets' matches."""
    monkeypatch.setattr(svc, "RANKED_MATCHES", 25)
    # Not rare, whatever the statistics of the last test say.
    monkeypatch.setattr(svc, "_rare_in", lambda estimates, table: False)
    thread = make_thread()
    per_bucket = 15
    for bucket in range(4):
        for i in range(per_bucket):
            make_comment(thread=thread, body=f"A sandpiper {bucket}.{i}")
        filler(db, make_thread, 4_000)
        next_bucket(db)
    need = svc.PER_PAGE + 1
    engine = svc._engine("sandpiper")
    rows, statements = captured_selects(
        db, lambda: svc._find(engine, "comment", sort, None, svc.Filters(), need)
    )
    assert len(rows) == need and len(statements) == 1
    needed = need if sort == "newest" else svc.RANKED_MATCHES
    read = rows_read(db, *statements[0], "comments")
    # The newest matches needed, the rest of the last bucket's, and the 21 rows shown
    # joined by primary key: not the 60 matches nor the 4,060 rows.
    assert needed + need <= read <= needed + per_bucket + need + DEAD_VERSIONS, read


@pytest.mark.parametrize("sort", ["newest", "relevance"])
@pytest.mark.parametrize("rare", [True, False])
def test_a_word_rarer_than_the_page_is_found_in_one_statement(
    make_thread, make_comment, db, backend, monkeypatch, sort, rare
):
    """Fewer matches than the page needs: all of them, sorted, in one statement. On
    PostgreSQL a word the statistics call rare is read through the index at once; for
    any other, every bucket's index entries are asked; either way only the two
    matching comments are read (and joined to their rows)."""
    monkeypatch.setattr(svc, "_rare_in", lambda estimates, table: rare)
    thread = make_thread()
    for i in range(20):
        make_comment(thread=thread, body=f"Nothing to see {i}")
    next_bucket(db)
    rare_ones = [make_comment(thread=thread, body=f"A curlew, number {i}") for i in range(2)]
    next_bucket(db)
    for i in range(20):
        make_comment(thread=thread, body=f"Nothing more {i}")
    filler(db, make_thread, 4_000)
    next_bucket(db)
    filler(db, make_thread, 4_000)
    engine = svc._engine("curlew")
    rows, statements = captured_selects(
        db, lambda: svc._find(engine, "comment", sort, None, svc.Filters(), svc.PER_PAGE + 1)
    )
    assert [r.id for r in rows] == [rare_ones[1].id, rare_ones[0].id]
    assert len(statements) == 1
    if backend == "postgresql":
        assert 2 * 2 <= rows_read(db, *statements[0], "comments") <= 2 * 2 + DEAD_VERSIONS


def _plan_nodes(node: dict):
    """Every node of a PostgreSQL plan (EXPLAIN's JSON), depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_hit_that_no_longer_matches_is_left_out_of_the_page(make_thread, make_comment):
    """The shown rows are read with their highlights after the window: a row edited in
    between so that it no longer matches has nothing to highlight, and is left out."""
    thread = make_thread()
    kept = make_comment(thread=thread, body="Guillemots on the cliff")
    changed = make_comment(thread=thread, body="Puffins on the cliff")
    engine = svc._engine("guillemots")
    hits = [svc.Hit("comment", c.id, 1.0, c.created_at) for c in (kept, changed)]
    svc._fill(engine, hits, None)
    assert [h.id for h in hits] == [kept.id]
    assert "<mark>Guillemots</mark>" in hits[0].snippet


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_kinds_without_a_match_cost_no_statement_of_their_own(
    make_thread, make_comment, query_counter, sort
):
    """A word found in comments only: every kind's window, empty or not, is one statement
    and the comments shown one more. (A kind without a findable match asked a statement
    of its own whether its window stood for every match.)"""
    thread = make_thread()
    lone = make_comment(thread=thread, body="A lone dunlin")
    run(None, "dunlin", sort=sort)  # PostgreSQL asks the words' lexemes once
    with query_counter() as counted:
        result = run(None, "dunlin", sort=sort)
    assert [h.id for h in result.hits] == [lone.id]
    assert counted.count == 2, counted.statements


def test_a_window_of_hidden_matches_still_finds_the_older_ones(
    make_thread, make_comment, query_counter, moderator, db
):
    """Every match in the window is hidden: the window's rows say it was full, so the
    visible matches further down are found (all the matches read, one more statement)."""
    thread = make_thread()
    older = [make_comment(thread=thread, body=f"Sanderling {i}") for i in range(3)]
    for i in range(svc.PER_PAGE * 5):
        make_comment(thread=thread, body=f"Sanderling hidden {i}", status=CommentStatus.hidden)
    run(None, "sanderling")  # PostgreSQL asks the words' lexemes once
    with query_counter() as counted:
        hits = run(None, "sanderling").hits
    assert {h.id for h in hits} == {c.id for c in older}
    assert counted.count == 3, counted.statements
    assert len(run(moderator, "sanderling").hits) == svc.PER_PAGE


def test_a_long_text_does_not_win_by_its_length_alone(make_thread, make_comment):
    """Relevance weighs a word's count by the text's length on both engines (bm25 on
    SQLite, `ts_rank` normalized by length on PostgreSQL): a short comment about it
    comes before a long one that mentions it twice in passing."""
    thread = make_thread()
    short = make_comment(thread=thread, body="The turnstone nests here.")
    long = make_comment(
        thread=thread,
        body="A turnstone, " + "and then some other matter entirely, " * 80 + "one turnstone.",
    )
    assert [i for _, i in found(None, "turnstone", kind="comment")] == [short.id, long.id]


# --- PostgreSQL's plans ----------------------------------------------------------------


@pytest.fixture
def word_classes():
    """What the statistics said of words, forgotten before and after (the data differ)."""
    svc._word_statistics.clear()
    yield svc._word_statistics
    svc._word_statistics.clear()


def rare_everywhere(estimates) -> bool:
    """Whether a search is rare in every search table, by `_estimates`."""
    return all(svc._rare_in(estimates, table) for table in ("proposals", "comments", "articles"))


def _plans(db, marker: str) -> tuple[int, int]:
    """(generic, custom) plans PostgreSQL made for the prepared statements holding `marker`."""
    row = db.session.execute(
        sa.text(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
            "FROM pg_prepared_statements WHERE statement LIKE :marker"
        ),
        {"marker": f"%{marker}%"},
    ).one()
    return int(row[0]), int(row[1])


@pytest.mark.postgresql_only
def test_the_statistics_tell_rare_words_from_common_ones(
    make_thread, make_comment, db, monkeypatch, word_classes
):
    monkeypatch.setattr(svc, "GENERIC_BELOW", 5)
    thread = make_thread()
    for i in range(10):
        make_comment(thread=thread, body=f"A heron on the bank {i}")
    make_comment(thread=thread, body="A lone knot")
    db.session.execute(sa.text("ANALYZE proposals, comments, articles"))
    assert rare_everywhere(svc._estimates("knot"))
    # Ten comments of five or more; a word the statistics do not list is rare.
    assert not rare_everywhere(svc._estimates("heron"))
    # Either word's rows count; a rare required word bounds its alternative's; an
    # excluded word takes rows away only.
    assert not rare_everywhere(svc._estimates("knot or heron"))
    assert rare_everywhere(svc._estimates("knot heron"))
    assert rare_everywhere(svc._estimates('"heron knot"'))
    assert rare_everywhere(svc._estimates("knot -heron"))
    assert not rare_everywhere(svc._estimates("heron -knot"))
    assert rare_everywhere(svc._estimates("unheard-of words"))
    # Stop words alone: PostgreSQL looks for nothing, nothing is known.
    assert not rare_everywhere(svc._estimates("the and"))


@pytest.mark.postgresql_only
def test_the_statistics_are_read_on_a_machine_started_moments_ago(
    make_thread, make_comment, db, monkeypatch, word_classes
):
    """The worker's clock (time.monotonic) counts from the machine's start: a worker
    asking in its first WORD_STATISTICS_SECONDS still reads the statistics, and does
    not take every word for rare (a common word then ran on the generic plans, 0.5 s
    a search on the scale set). Without any statistics no word is rare."""
    monkeypatch.setattr(svc, "GENERIC_BELOW", 5)
    monkeypatch.setattr(svc.time, "monotonic", lambda: 42.0)
    thread = make_thread()
    for i in range(10):
        make_comment(thread=thread, body=f"A heron on the bank {i}")
    db.session.execute(sa.text("ANALYZE proposals, comments, articles"))
    assert svc._column_statistics()
    assert not rare_everywhere(svc._estimates("heron"))
    monkeypatch.setattr(svc, "_column_statistics", lambda: [])
    assert not rare_everywhere(svc._estimates("knot"))


@pytest.mark.postgresql_only
def test_stop_words_alone_are_not_looked_for(make_thread, make_comment, query_counter):
    """PostgreSQL drops words as common as "the" from a search: with nothing else the
    search says so and reads nothing (it read the newest rows of each table for no
    word); beside another word, that word is looked for."""
    thread = make_thread()
    kept = make_comment(thread=thread, body="The end, and the rest")
    run(None, "the and")  # the words, asked once
    with query_counter() as counted:
        result = run(None, "the and")
    assert result.hits == [] and "not looked for" in result.notes[0]
    assert counted.count == 0, counted.statements
    assert [h.id for h in run(None, "the or rest").hits] == [kept.id]
    assert not run(None, "the or rest").notes


@pytest.mark.postgresql_only
@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_a_search_of_common_words_scans_no_search_table_whole(
    make_thread, make_comment, db, sort
):
    """`see -point`: two common words always found together, so nothing matches.
    PostgreSQL guessed them independent and a quarter of the rows matching, and
    scanned the comments whole to find the page (1,000,001 rows on the scale set).
    No plan of a search's statements scans a search table: the index is asked, bucket
    by bucket."""
    thread = make_thread()
    for i in range(30):
        make_comment(thread=thread, body=f"See point {i}")
        make_comment(thread=thread, body=f"Something else {i}")
    db.session.execute(sa.text("ANALYZE proposals, comments, articles"))
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert run(None, "see -point", sort=sort).hits == []
        assert len(run(None, "see", sort=sort).hits) == svc.PER_PAGE
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)

    connection = db.session.connection()
    scanned, explained = set(), 0
    for statement, parameters in statements:
        if statement.startswith(("SET ", "RESET ")):
            connection.exec_driver_sql(statement)
        elif statement.lstrip().upper().startswith("SELECT") and "search_vector" in statement:
            plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
            explained += 1
            for node in _plan_nodes(plan.scalar()[0]["Plan"]):
                if node["Node Type"] == "Seq Scan":
                    scanned.add(node["Relation Name"])
    assert explained >= 2
    assert not scanned & {"comments", "proposals", "articles"}


@pytest.mark.postgresql_only
def test_searches_run_on_the_generic_plans_and_filters_on_custom_ones(
    make_round, make_proposal, make_comment, db
):
    """A search runs on the generic plans (made once: no planning; the same buckets
    read for every word), one with a restrictive filter on custom plans, however often
    it runs (PostgreSQL left to itself switched a filtered search to a generic plan
    that walked a round's comments);
    either way the connection is left as it was."""
    round_ = make_round()
    proposal = make_proposal(round=round_, title="Wader counts")
    kept = [make_comment(thread=proposal.thread, body=f"A knot, number {i}") for i in range(3)]
    db.session.execute(sa.text("ANALYZE proposals, comments, articles"))
    newest = [c.id for c in reversed(kept)]
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        for _ in range(8):  # psycopg prepares a statement on its fifth run
            assert [h.id for h in run(None, "knot", sort="newest").hits] == newest
            assert [h.id for h in run(None, "knot", sort="newest", round=round_).hits] == newest
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    generic, custom = _plans(db, "window_comment")
    assert generic > 0 and custom == 0
    generic, custom = _plans(db, "owner_proposal.round_id")
    assert custom > 0 and generic == 0
    # The filtered statements run between a SET and a RESET of the plans' mode.
    filtered = [i for i, s in enumerate(statements) if "owner_proposal.round_id" in s]
    for i in filtered:
        before = [s for s in statements[:i] if "plan_cache_mode" in s][-1]
        after = [s for s in statements[i:] if "plan_cache_mode" in s][0]
        assert "force_custom_plan" in before and after.startswith("RESET")
    assert db.session.scalar(sa.text("SHOW plan_cache_mode")) == "auto"


def test_what_the_statistics_tell_of_a_word():
    """A table never analysed tells nothing (so: common); one without a list of words
    may match a word on every row; otherwise a listed word's share, or the rarest
    listed share for any other word."""
    never = svc._ColumnStatistics("comments", -1, None, 1.0)
    unlisted = svc._ColumnStatistics("comments", 500, None, 1.0)
    listed = svc._ColumnStatistics("comments", 10_000, {"see": 0.14, "brief": 0.001}, 0.001)
    assert never.most_rows("brief") == float("inf")
    assert unlisted.most_rows("brief") == 500
    assert listed.most_rows("see") == pytest.approx(1_400)
    assert listed.most_rows("zebra") == pytest.approx(10)


def test_each_table_reads_a_word_rare_in_it_at_once():
    """PostgreSQL: a word the statistics call rare in a table (fewer than GENERIC_BELOW
    rows) is read there through the index at once, all its few matches; where it is
    common, bucket by bucket. A table the statistics do not know: by buckets."""
    engine = svc._Engine(
        "postgresql",
        "budget",
        estimates={"comments": (400, 1_000_000), "proposals": (5_000, 10_000)},
    )
    assert engine.rare_in("comments") and not engine.rare_in("proposals")
    assert not engine.rare_in("articles")
    for sort in ("newest", "relevance"):
        ranked = sort == "relevance"
        comments = str(engine.matches("comment", sort, 83, ranked=ranked))
        proposals = str(engine.matches("proposal", sort, 83, ranked=ranked))
        assert "generate_series" not in comments and "id + 0 DESC" in comments
        assert "generate_series" in proposals
        assert "generate_series" in str(engine.matches("article", sort, 83, ranked=ranked))


def test_a_filter_reads_the_buckets_that_hold_its_newest_matches():
    """PostgreSQL, a restrictive filter: the newest buckets that hold about the newest
    RECENT_MATCHES (5,000) matches by the statistics; a word the statistics know nothing
    of counts as in every row. `see` (one comment in seven) takes nine buckets of
    4,096 comments; `5` (one in sixty) 77; in proposals' buckets of 1,024, a word in a
    third of them 14."""
    engine = svc._Engine(
        "postgresql",
        "see",
        estimates={"comments": (143_000, 1_000_000), "proposals": (3_694, 10_028)},
    )
    assert engine.recent_buckets("comments") == 9
    assert engine.recent_buckets("proposals") == 14
    assert engine.recent_buckets("articles") == 5  # unknown: 5,000 / 1,024
    five = svc._Engine("postgresql", "5", estimates={"comments": (16_000, 1_000_000)})
    assert five.recent_buckets("comments") == 77
    never = svc._Engine("postgresql", "x", estimates={"comments": (float("inf"), -1.0)})
    assert never.recent_buckets("comments") == 2


@pytest.mark.postgresql_only
@pytest.mark.parametrize("sort", ["newest", "relevance"])
@pytest.mark.parametrize("recent_matches, enough", [(2 * 4096, True), (3, False)])
def test_a_filter_looks_among_the_newest_matches_first(
    make_round, make_proposal, make_comment, monkeypatch, query_counter, db,
    recent_matches, enough, sort,
):  # fmt: skip
    """PostgreSQL, a restrictive filter: the matches of the newest buckets that hold
    about RECENT_MATCHES of them are read, newest first, with the filters on each,
    until the page (newest first) or the matches to rank (RANKED_MATCHES, 5 here);
    when they hold them, no statement reads every match. When they do not (3: the
    newest bucket only, which holds the other round's comments), all the matches are
    read after all. The page is the same."""
    monkeypatch.setattr(svc, "RECENT_MATCHES", recent_matches)
    monkeypatch.setattr(svc, "RANKED_MATCHES", 5)
    monkeypatch.setattr(svc, "_rare_in", lambda estimates, table: False)
    # Nothing known of the words: as if every row matched (a bucket per 4,096).
    monkeypatch.setattr(svc, "_estimates", lambda text: {})
    inside, outside = make_round(), make_round()
    here = make_proposal(round=inside, title="Shore birds")
    there = make_proposal(round=outside, title="Inland birds")
    made = [
        make_comment(thread=here.thread, body=f"A godwit, number {i}")
        for i in range(svc.PER_PAGE + 2)
    ]
    make_comment(thread=here.thread, body="A hidden godwit", status=CommentStatus.hidden)
    next_bucket(db)
    for i in range(svc.PER_PAGE + 2):
        make_comment(thread=there.thread, body=f"Another godwit {i}")
    with query_counter() as counted:
        result = run(None, "godwit", round=inside, kind="comment", sort=sort)
    every_match = [
        s
        for s in counted.statements
        if "@@" in s and "generate_series" not in s and " IN (" not in s
    ]
    assert bool(every_match) != enough, counted.statements
    if sort == "newest":
        assert [h.id for h in result.hits] == [c.id for c in reversed(made)][: svc.PER_PAGE]
        assert result.has_more
        second = run(None, "godwit", round=inside, kind="comment", sort="newest", page=2)
        assert [h.id for h in second.hits] == [made[1].id, made[0].id] and not second.has_more
    else:
        # The newest five the filter lets through, ranked (equal texts: newest first).
        assert [h.id for h in result.hits] == [c.id for c in reversed(made)][:5]


@pytest.mark.sqlite_only
def test_sqlite_walks_the_matches_newest_first_under_a_filter(
    make_round, make_proposal, make_comment, db
):
    """SQLite, a restrictive filter, newest first: FTS5 gives its matches newest first
    and the statement stops at the page, with no sort of every match (ordering by the
    score and the id, both the rowid, made SQLite read every match into a sort)."""
    round_ = make_round()
    proposal = make_proposal(round=round_, title="Estuary")
    made = [make_comment(thread=proposal.thread, body=f"A dunlin {i}") for i in range(3)]
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if " MATCH " in statement:
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        hits = run(None, "dunlin", round=round_, kind="comment", sort="newest").hits
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert [h.id for h in hits] == [c.id for c in reversed(made)]
    (statement, parameters), *_ = statements
    plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    details = [row[3] for row in plan]
    assert not any("ORDER BY" in d for d in details), details


def test_a_filter_by_relevance_ranks_its_newest_matches_only(
    make_round, make_proposal, make_comment, monkeypatch
):
    """As without a filter: the newest RANKED_MATCHES matches the filters let through are
    ranked, so an old comment that would rank first is not among them."""
    monkeypatch.setattr(svc, "RANKED_MATCHES", 3)
    round_ = make_round()
    proposal = make_proposal(round=round_, title="Marsh")
    best_but_old = make_comment(thread=proposal.thread, body="Plover plover plover plover")
    make_comment(thread=proposal.thread, body="A plover, once")
    thread = proposal.thread
    newest = [make_comment(thread=thread, body=f"The plover, number {i}") for i in range(3)]
    elsewhere = make_proposal(title="Elsewhere")
    make_comment(thread=elsewhere.thread, body="A plover elsewhere")
    hits = found(None, "plover", kind="comment", round=round_)
    assert {i for _, i in hits} == {c.id for c in newest}
    assert best_but_old.id not in {i for _, i in hits}
