"""The search rows of `make bench-scale`: which words, and what their first page reads.

Words are chosen from the data, not invented for the benchmark:

- the index's own vocabulary with each term's document frequency among the
  comments (SQLite: an `fts5vocab` table over `comments_fts`; PostgreSQL:
  `ts_stat` over `comments.search_vector`);
- "common": the term whose comment frequency is closest to one comment in
  ten; the few nearest terms are counted again through the app's own query
  (`search._engine(word).matches(...)`, i.e. the page's MATCH / tsquery) and
  the nearest by that count wins;
- "rare": a term found in 1 to `RARE_MAX` comments and in as few proposals
  and articles as possible (alphabetic, at least 5 letters; ties by the
  most comments, then alphabetically).

`first_page_reads()` requests a search page once through the test client,
captures its SELECTs, and says how many rows they read against the 20 shown:
on PostgreSQL measured (each statement run again between two reads of the
transaction's counters of rows read per table: `pg_rows_read`); on
SQLite, which counts nothing per statement, from the plan (EXPLAIN QUERY
PLAN: a base table read other than by primary key is reported) and the
candidate windows the statements' LIMITs let through (counted).
"""

from dataclasses import dataclass, field

import sqlalchemy as sa

TARGET_SHARE = 0.10
RARE_MAX = 5
NEAREST = 8


@dataclass
class Word:
    role: str  # "rare" or "common"
    word: str
    comments: int  # comments matching the page's query for it
    proposals: int
    articles: int
    comment_rows: int  # all comments
    # The next nearest candidates (word, comments): how close the choice was.
    nearest: list = field(default_factory=list)

    def describe(self) -> str:
        def share(n):
            return f"{n / self.comment_rows:.2%}" if self.comment_rows else "-"

        others = ", ".join(f"{w!r} {n:,} ({share(n)})" for w, n in self.nearest)
        return (
            f"{self.role} word {self.word!r}: {self.comments:,} of {self.comment_rows:,} comments "
            f"({share(self.comments)}), {self.proposals:,} proposals, {self.articles:,} articles"
            + (f"; next nearest: {others}" if others else "")
        )


def _count(kind: str, word: str) -> int:
    from app.extensions import db
    from app.services import search as svc

    matches = svc._engine(word).matches(kind, "newest", None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(matches))


def _counts(word: str, comment_rows: int, role: str) -> Word:
    return Word(
        role,
        word,
        _count("comment", word),
        _count("proposal", word),
        _count("article", word),
        comment_rows,
    )


def _vocabulary(table: str) -> dict[str, int]:
    """term -> documents of `table` holding it, from the index itself."""
    from app.extensions import db

    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        vocab = f"temp.bench_vocab_{table}"
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {vocab} USING fts5vocab(main, {table}_fts, row)"
        )
        rows = conn.exec_driver_sql(f"SELECT term, doc FROM {vocab}").all()  # noqa: S608
    else:
        rows = conn.exec_driver_sql(
            f"SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM {table}')"  # noqa: S608
        ).all()
    return {term: doc for term, doc in rows}


def choose(app) -> list[Word]:
    """The rare and the common word of this database (see the module's docstring)."""
    from app.extensions import db

    with app.app_context():
        comment_rows = db.session.scalar(sa.text("SELECT count(*) FROM comments"))
        comments = _vocabulary("comments")
        others = _vocabulary("proposals"), _vocabulary("articles")

        def elsewhere(term):
            return sum(v.get(term, 0) for v in others)

        words = [t for t in comments if t.isalpha() and len(t) >= 3]
        target = comment_rows * TARGET_SHARE
        nearest = sorted(words, key=lambda t: (abs(comments[t] - target), t))[:NEAREST]
        counted = [_counts(t, comment_rows, "common") for t in nearest]
        counted.sort(key=lambda w: (abs(w.comments - target), w.word))
        common = counted[0]
        common.nearest = [(w.word, w.comments) for w in counted[1:4]]
        rare_terms = sorted(
            (t for t in words if len(t) >= 5 and 1 <= comments[t] <= RARE_MAX),
            key=lambda t: (elsewhere(t), -comments[t], t),
        )
        rare = None
        for term in rare_terms[:NEAREST]:
            found = _counts(term, comment_rows, "rare")
            if 1 <= found.comments <= RARE_MAX:
                rare = found
                break
        db.session.rollback()
        db.session.remove()
    if rare is None:
        raise RuntimeError(f"no word of the data is in 1 to {RARE_MAX} comments")
    return [rare, common]


# --- what the first page reads ------------------------------------------------------


# A table's rows read: those fetched through bitmaps and sequential scans (counted
# on the table) and through its indexes' scans (counted on each index).
_READ_COUNTS = (
    "SELECT c.relname, pg_stat_get_xact_tuples_fetched(c.oid) "
    "+ pg_stat_get_xact_tuples_returned(c.oid) + coalesce((SELECT "
    "sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)) FROM pg_index AS i "
    "WHERE i.indrelid = c.oid), 0) FROM pg_class AS c "
    "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
)


def pg_rows_read(cursor, statement: str, params) -> dict[str, int]:
    """PostgreSQL: by table, the rows one run of `statement` read from it (fetched
    through its indexes and bitmaps, and by sequential scans), from the
    transaction's own counters: exact, where EXPLAIN rounds each loop's rows."""
    cursor.execute(_READ_COUNTS)
    before = dict(cursor.fetchall())
    cursor.execute(statement, params)
    cursor.fetchall()
    cursor.execute(_READ_COUNTS)
    return {
        table: count - before.get(table, 0)
        for table, count in cursor.fetchall()
        if count != before.get(table, 0)
    }


def first_page_reads(app, path: str, window_of) -> str:
    """One line: the rows the page's statements read, against the rows it shows.

    The page is requested once before, untimed and uncounted, as a worker serves
    every request after its first: what a worker keeps (on PostgreSQL the search
    columns' statistics, read once every ten minutes from the catalogs, about 1,850
    catalog rows, and the words of a text) is not counted against every page.
    """
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    app.test_client().get(path)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, params, context, executemany):
        # The settings a search runs its statements under (plans, scans) too.
        if statement.lstrip().upper().startswith(("SELECT", "SET ", "RESET ")):
            captured.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        response = app.test_client().get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    shown = response.get_data(as_text=True).count('class="search-result search-')
    settings = [c for c in captured if not c[0].lstrip().upper().startswith("SELECT")]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            read: dict[str, int] = {}
            for statement, params in captured:
                if (statement, params) in settings:
                    cursor.execute(statement)
                    continue
                for table, rows in pg_rows_read(cursor, statement, params).items():
                    read[table] = read.get(table, 0) + rows
            raw.rollback()
            tables = ", ".join(f"{n} {r:,}" for n, r in sorted(read.items()))
            return (
                f"{len(captured) - len(settings)} SELECTs read {sum(read.values()):,} table rows "
                f"({tables}; the transaction's counters); shows {shown}"
            )
        scans = set()
        for statement, params in captured:
            if (statement, params) in settings:
                continue
            cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
            for row in cursor.fetchall():
                detail = row[-1]
                words = detail.split()
                if words[:1] == ["SCAN"] and "VIRTUAL" not in words and len(words) > 1:
                    if words[1] not in ("cand", "matches", "CONSTANT") and "(" not in words[1]:
                        scans.add(f"{detail} in: {' '.join(statement.split())[:240]}")
        raw.rollback()
    finally:
        raw.close()
    from app.services import search as svc

    windows = window_of()
    # Relevance: the newest RANKED_MATCHES matches, ranked; newest: the window, in rowid order.
    walk = (
        svc.RANKED_MATCHES
        if "sort=newest" not in path
        else (svc.PER_PAGE + 1) * svc.WINDOW_FACTOR + svc.WINDOW_EXTRA
    )
    scanned = "; ".join(sorted(scans)) or "none"
    return (
        f"{len(captured) - len(settings)} SELECTs; base rows joined by primary key = candidates "
        f"{sum(windows.values()):,} ({', '.join(f'{k} {n}' for k, n in windows.items())}), "
        f"index walk <= {walk:,} entries per kind; other table scans: {scanned}; "
        f"shows {shown} (EXPLAIN QUERY PLAN and the statements' LIMITs)"
    )


def windows(app, word: str, sort: str) -> dict[str, int]:
    """Candidates each kind's first page joins to its base rows (the window's LIMIT)."""
    from app.extensions import db
    from app.services import search as svc

    need = svc.PER_PAGE + 1
    window = need * svc.WINDOW_FACTOR + svc.WINDOW_EXTRA
    out = {}
    with app.app_context():
        engine = svc._engine(word)
        for kind in svc.KINDS:
            matches = engine.matches(kind, sort, window, ranked=sort == "relevance").subquery()
            out[kind] = db.session.scalar(sa.select(sa.func.count()).select_from(matches))
        db.session.remove()
    return out
