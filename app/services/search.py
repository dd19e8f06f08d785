"""Full-text search over proposals, comments and articles, and similar proposals.

A search runs in two steps per kind of result:

1. Candidates from the index alone, best first (FTS5 `rank`, PostgreSQL
   `ts_rank`) or newest first (by id), a small window of them (no base rows
   are read to rank them, and nothing is counted).
2. The base rows of those candidates, filtered by visibility (the models'
   own `visible_clause`s) and by the searcher's filters.

When the filters remove too many candidates to fill the page, or when a
restrictive filter (round, state, author, dates) is set, step 2 joins the
whole match set instead. Pages are "more results" pages: each kind reads at
most offset + page size + 1 rows, and the extra row says whether there is a
next page.

On PostgreSQL a GIN index gives matches in no order; it also holds each
row's bucket of ids, and a kind's newest matches are read bucket by bucket,
newest first (`_newest_matches`), so a page reads the rows it needs plus at
most one bucket's matches, whatever the words (words the statistics call
rare: all their few matches at once). A search also says which
plans its statements run on (`_plans_for`): the generic ones (made once)
without a restrictive filter, custom ones with one.

Snippets and highlighted titles are made by the engine (FTS5 `snippet()`,
PostgreSQL `ts_headline`) for the shown rows only, with random markers that
are turned into <mark> after the whole text was HTML-escaped: nothing of
the content's own HTML survives.
"""

import contextlib
import functools
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from markupsafe import Markup, escape
from psycopg.pq import TransactionStatus

from ..extensions import db
from ..models import (
    Article,
    Comment,
    CommentStatus,
    Proposal,
    ProposalState,
    Round,
    Thread,
    ThreadState,
    User,
)
from ..models.search_index import BY_TABLE, PG_CONFIG, SEARCH_COLUMN, sqlite_bm25
from ..models.user import username_key
from ..visibility import sees_hidden
from . import search_query as q

KINDS = ("proposal", "comment", "article")
SORTS = ("relevance", "newest")
PER_PAGE = 20
# Deeper pages are refused: each one re-reads the pages before it.
MAX_PAGE = 50
SIMILAR_SHOWN = 5
# Step 1 reads this many candidates per row the page needs (plus a few).
WINDOW_FACTOR = 3
WINDOW_EXTRA = 20
SNIPPET_WORDS = 24
# Unfiltered relevance ranks the newest this many matches of each kind (all
# of them for any word rarer than that): ranking costs the same for a word
# in every tenth comment as for a rare one, and recent matches win ties.
# They are found and ranked in the window's own statement, read once. As
# many as the pages can show of one kind: reading them is most of a common
# word's search (2,000 took 13 ms of its 23 on the PostgreSQL scale set,
# 1,000 take 8), and older matches are a filter (dates) or newest first away.
RANKED_MATCHES = MAX_PAGE * PER_PAGE
# PostgreSQL. A GIN index gives matches in no order; keyed also by each row's
# bucket of ids (app/models/search_index.py), it gives one bucket's matches at
# a time, so a kind's newest matches (the window newest first, the
# RANKED_MATCHES to rank) are read bucket by bucket, newest first, until there
# are enough (`_newest_matches`): the rows needed plus at most one bucket's
# matches, for a word in every hundredth row as for one in every row. A
# restrictive filter first looks among the newest this many matches (the
# buckets the statistics say hold them), the filters on each; only when they
# hold too few are all the matches read.
RECENT_MATCHES = 5 * RANKED_MATCHES
# Except where PostgreSQL's statistics say a search's words are rare (fewer
# than this many rows estimated in a table): their matches there are read
# through the index at once, all of them (fewer than this many: a bound of
# its own), where asking every bucket costs a rare word 245 scans of the
# index on the scale set's comments (2.7 ms, against 0.02 ms; docs/search.md,
# "The index by buckets of ids").
GENERIC_BELOW = RANKED_MATCHES
# How long a worker keeps PostgreSQL's statistics of the search columns (a
# new ANALYZE changes them).
WORD_STATISTICS_SECONDS = 600
# By database URL: (when they were read, each search table's statistics).
_word_statistics: dict[str, tuple[float | None, list]] = {}
# Short common words say nothing about whether two titles are alike.
STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have in into is it its of on or our so "
    "that the their this to was we were will with".split()
)
_TABLES = {"proposal": "proposals", "comment": "comments", "article": "articles"}
_MODELS = {"proposal": Proposal, "comment": Comment, "article": Article}


@dataclass
class Filters:
    kind: str | None = None
    round: Round | None = None
    state: ProposalState | None = None
    author: User | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def restrictive(self) -> bool:
        return any(
            v is not None for v in (self.round, self.state, self.author, self.since, self.until)
        )

    def kinds(self) -> list[str]:
        kinds = [self.kind] if self.kind else list(KINDS)
        if self.round is not None or self.state is not None or self.author is not None:
            # Articles belong to no round, have no state and no member author.
            kinds = [k for k in kinds if k != "article"]
        return kinds


@dataclass
class Hit:
    kind: str
    id: int
    score: float
    created_at: datetime
    obj: object = None
    title: Markup = Markup("")
    snippet: Markup = Markup("")
    url: str = ""
    context_title: str | None = None
    context_url: str | None = None
    author: str | None = None
    # For moderators: why others do not see this result.
    marks: list[str] = field(default_factory=list)


@dataclass
class SearchPage:
    text: str
    sort: str
    filters: Filters
    page: int = 1
    per_page: int = PER_PAGE
    hits: list[Hit] = field(default_factory=list)
    has_more: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def searched(self) -> bool:
        return bool(self.text)


# --- the engines ----------------------------------------------------------------------


class _Engine:
    """Step 1 and the snippets, on one database."""

    def __init__(
        self,
        dialect: str,
        text: str,
        expression: str | None = None,
        estimates: dict[str, tuple[float, float]] | None = None,
    ):
        self.dialect = dialect
        self.text = text
        # SQLite: an FTS5 expression; PostgreSQL: websearch text, or with
        # `expression` a to_tsquery text.
        self.expression = expression
        # PostgreSQL: by table, the most rows the search may match and the
        # table's rows, as the statistics tell (`_estimates`; a table missing
        # is not known).
        self.estimates = estimates or {}

    def rare_in(self, table: str) -> bool:
        """PostgreSQL: the statistics say the search matches few rows of `table`
        (`_rare_in`): its matches there are read through the index at once."""
        return _rare_in(self.estimates, table)

    @property
    def empty(self) -> bool:
        """Nothing to look for (no words, or only excluded ones)."""
        if self.expression is not None:
            return not self.expression
        return not q.parse(self.text)

    @property
    def _param(self) -> str:
        return self.expression if self.expression is not None else self.text

    def matches(
        self, kind: str, sort: str, limit: int | None, ranked: bool = False
    ) -> sa.TextClause:
        """(id, score) of the rows matching, best or newest first; all of them without a limit.

        With `ranked` (relevance, a window), only the newest RANKED_MATCHES
        matches are ranked (see `_matches_text`).
        """
        stmt = _matches_text(
            self.dialect, self.expression is not None, kind, sort, limit is not None, ranked,
            self.rare_in(_TABLES[kind]),
        )  # fmt: skip
        return stmt.bindparams(**self.params(limit, ranked))

    def recent_buckets(self, table: str) -> int:
        """PostgreSQL: how many of `table`'s newest buckets hold about its newest
        RECENT_MATCHES matches, by the statistics (a word in every row when they
        tell nothing)."""
        matches, rows = self.estimates.get(table, (0.0, -1.0))
        share = matches / rows if 0 < matches < float("inf") and rows > 0 else 1.0
        return max(1, math.ceil(RECENT_MATCHES / (min(share, 1.0) * BY_TABLE[table].bucket)))

    def params(self, limit: int | None, ranked: bool) -> dict:
        """The values `_matches_text` binds."""
        params: dict = {"q": self._param}
        if ranked:
            params["ranked"] = RANKED_MATCHES
        if limit is not None:
            params["limit"] = limit
        return params

    def mark_params(self) -> dict:
        """The values `_shown_stmt` binds: the words, and markers no content holds."""
        nonce = secrets.token_hex(6)
        params = {"q": self._param, "s": f"zzs{nonce}zz", "e": f"zze{nonce}zz"}
        if self.dialect != "sqlite":
            options = f"StartSel={params['s']}, StopSel={params['e']}"
            params["opts"] = f"{options}, MaxWords=35, MinWords=12, MaxFragments=2"
            params["all"] = f"{options}, HighlightAll=true"
        return params


@functools.cache
def _matches_text(
    dialect: str, expression: bool, kind: str, sort: str, limit: bool, ranked: bool,
    rare: bool = False,
) -> sa.TextClause:  # fmt: skip
    """The SQL of `_Engine.matches`, made once per shape; values bound by name (:q ...).

    `ranked`: relevance among the newest :ranked matches only. FTS5 walks its
    posting list newest first, stops at :ranked matches, and ranks those.
    PostgreSQL's windows (newest first, or ranked) read the newest matches
    bucket by bucket, or, for `rare` words, all of them at once (`_newest_matches`).
    """
    table = _TABLES[kind]
    tsquery = _pg_tsquery(expression)
    if ranked:
        if dialect == "sqlite":
            item = BY_TABLE[table]
            newest_matches = (
                # bm25() by name: FTS5's `rank` column is meant for ORDER BY rank.
                f"SELECT rowid AS id, -{sqlite_bm25(item)} AS score "  # nosec B608
                f"FROM {item.fts} WHERE {item.fts} MATCH :q "
                "ORDER BY rowid DESC LIMIT :ranked"
            )
        else:
            newest_matches = _newest_matches(
                table, tsquery, _pg_rank(tsquery), ":ranked", rare
            )
        sql = f"SELECT id, score FROM ({newest_matches}) AS ranked"  # nosec B608
        if limit:
            sql += " ORDER BY score DESC, id DESC LIMIT :limit"
        return sa.text(sql).columns(sa.column("id", sa.Integer), sa.column("score", sa.Float))
    if dialect == "sqlite":
        fts = BY_TABLE[table].fts
        score = "-rank" if sort == "relevance" else "rowid"
        order = "rank" if sort == "relevance" else "rowid DESC"
        sql = f"SELECT rowid AS id, {score} AS score FROM {fts} WHERE {fts} MATCH :q"  # nosec B608
    elif limit and sort == "newest":
        newest = _newest_matches(table, tsquery, "id", ":limit", rare)
        sql = f"SELECT id, score FROM ({newest}) AS newest"  # nosec B608
        order = "id DESC"
    else:
        # Newest first over all matches: `id + 0`, so that no plan walks the
        # primary key hoping to meet matches.
        score = _pg_rank(tsquery) if sort == "relevance" else "id + 0"
        order = "score DESC, id DESC" if sort == "relevance" else "score DESC"
        sql = (
            f"SELECT id, {score} AS score FROM {table} "  # nosec B608
            f"WHERE {SEARCH_COLUMN} @@ {tsquery}"
        )
    if limit:
        sql += f" ORDER BY {order} LIMIT :limit"
    return sa.text(sql).columns(sa.column("id", sa.Integer), sa.column("score", sa.Float))


def _pg_tsquery(expression: bool) -> str:
    """PostgreSQL: the query of the words (:q), a to_tsquery text (`expression`)
    or the websearch language."""
    function = "to_tsquery" if expression else "websearch_to_tsquery"
    return f"{function}('{PG_CONFIG}', :q)"


def _pg_rank(tsquery: str) -> str:
    """PostgreSQL's relevance of a row: `ts_rank` divided by 1 + the log of the
    text's length (normalization 1), as SQLite's bm25 weighs length: a long
    text does not win by its length alone."""
    return f"ts_rank({SEARCH_COLUMN}, {tsquery}, 1)"


def _newest_matches(table: str, tsquery: str, score: str, many: str, rare: bool) -> str:
    """PostgreSQL: (id, `score`) of the newest `many` matches of `table`, newest first.

    `rare` (the statistics say the words match fewer than GENERIC_BELOW rows): all
    the matches, through the index at once, sorted (`id + 0`, so that no plan walks
    the primary key hoping to meet them). Otherwise bucket by bucket:

    The GIN index holds each row's bucket of ids (`Indexed.bucket`): the buckets are
    asked newest first, each for its own matches only (one index scan on the bucket
    and the words, then the rows it names), until `many` are found. So the
    statement reads `many` matches plus at most the rest of the last bucket's
    matches, never a row that does not match, whatever the words; a word with fewer
    matches asks every bucket's index entries, reading only its matches. (The
    order is the buckets' and each bucket's by id: nothing sorts all the matches.)
    Each match read is scored in its bucket: carrying the vectors through the sort
    to score only the `many` kept cost more (4.7 ms against 3.6 for `see` in the
    scale set's proposals).
    """
    if rare:
        return (
            # B608 (SQL from strings): names are module constants; the words are bound (:q)
            f"SELECT id, {score} AS score FROM {table} "  # nosec B608
            f"WHERE {SEARCH_COLUMN} @@ {tsquery} ORDER BY id + 0 DESC LIMIT {many}"
        )
    return (
        # B608 (SQL from strings): names and numbers are module constants; the words are bound
        f"SELECT found.id, found.score FROM generate_series("  # nosec B608
        f"{BY_TABLE[table].newest_bucket_sql}, 0, -1) AS bucket(n) "
        f"CROSS JOIN LATERAL ({_bucket_matches(table, tsquery, score)} "
        f"ORDER BY id DESC) AS found LIMIT {many}"
    )


def _bucket_matches(table: str, tsquery: str, score: str) -> str:
    """PostgreSQL: (id, `score`) of `table`'s matches in the bucket `bucket.n`, from one
    scan of its GIN index on the bucket and the words."""
    return (
        # B608 (SQL from strings): names are module constants; the words are bound (:q)
        f"SELECT id, {score} AS score FROM {table} "  # nosec B608
        f"WHERE {BY_TABLE[table].bucket_sql} = bucket.n AND {SEARCH_COLUMN} @@ {tsquery}"
    )


def _marked(text: str, start: str, stop: str) -> Markup:
    """Escape everything, then turn the engine's markers into <mark>."""
    escaped = str(escape(text))
    opened = escaped.count(start)
    html = escaped.replace(start, "<mark>").replace(stop, "</mark>")
    # The engine pairs its markers; a cut snippet may not: close what is open.
    html += "</mark>" * max(0, opened - escaped.count(stop))
    return Markup(html)  # nosec B704 - escaped above; only our own <mark> tags added


@dataclass(frozen=True)
class _ColumnStatistics:
    """What PostgreSQL's planner knows of a table's search column: the table's rows
    (negative: never analysed) and the shares of the column's most common words
    (None: no list), with the rarest listed share, its guess for any other word."""

    table: str
    rows: float
    shares: dict[str, float] | None
    rarest: float

    def most_rows(self, word: str) -> float:
        """The most rows `word` may match, as far as the statistics tell."""
        if self.rows < 0:
            return float("inf")
        if self.shares is None:
            return self.rows
        return self.rows * self.shares.get(word, self.rarest)


@functools.cache
def _statistics_text() -> sa.TextClause:
    tables = ", ".join(f"'{table}'" for table in _TABLES.values())
    return sa.text(
        # B608 (SQL from strings): names are module constants; nothing is bound
        "SELECT c.relname, c.reltuples, s.most_common_elems::text::text[] AS words, "  # nosec B608
        "s.most_common_elem_freqs AS shares FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
        "LEFT JOIN pg_stats AS s ON s.schemaname = n.nspname AND s.tablename = c.relname "
        f"AND s.attname = '{SEARCH_COLUMN}' WHERE c.relkind = 'r' AND c.relname IN ({tables})"
    )


def _column_statistics() -> list[_ColumnStatistics]:
    """PostgreSQL: each search table's statistics (pg_stats), read once per
    WORD_STATISTICS_SECONDS by each worker."""
    key = str(db.engine.url)
    read_at, found = _word_statistics.get(key, (None, []))
    # Never read, or read too long ago (the clock counts from the machine's
    # start: a first read may come before WORD_STATISTICS_SECONDS of it).
    if read_at is None or time.monotonic() - read_at > WORD_STATISTICS_SECONDS:
        found = []
        for table, rows, words, shares in db.session.execute(_statistics_text()):
            if words is None:
                found.append(_ColumnStatistics(table, rows, None, 1.0))
            else:
                # After the words' shares come the lowest and highest of them.
                listed = dict(zip(words, shares[: len(words)], strict=True))
                rarest = shares[len(words)] if len(shares) > len(words) else 1.0
                found.append(_ColumnStatistics(table, rows, listed, rarest))
        _word_statistics[key] = (time.monotonic(), found)
    return found


@functools.cache
def _words_text() -> sa.TextClause:
    return sa.text(f"SELECT tsvector_to_array(to_tsvector('{PG_CONFIG}', :q))")


def _lexeme_groups(text: str) -> list[list[str]]:
    """PostgreSQL: the required words (lexemes) of each alternative (`or`) of a search,
    as PostgreSQL keeps them: stop words ("the") dropped, and with them an alternative
    left without a word (websearch_to_tsquery drops it too)."""
    groups = (
        [lexeme for term in group.required for word in term for lexeme in _words(word)]
        for group in q.parse(text).groups
    )
    return [group for group in groups if group]


def _estimates(text: str) -> dict[str, tuple[float, float]]:
    """PostgreSQL: by search table, the most rows the search may match and the table's
    rows, by the planner's statistics (a table never analysed: any number of matches).
    An alternative (`or`) matches no more rows than the rarest of its required words;
    excluded words only take rows away; the alternatives' rows add up. Nothing to look
    for: nothing is known."""
    groups = _lexeme_groups(text)
    if not groups:
        return {}
    return {
        column.table: (
            sum(min(column.most_rows(lexeme) for lexeme in group) for group in groups),
            column.rows,
        )
        for column in _column_statistics()
    }


def _rare_in(estimates: dict[str, tuple[float, float]], table: str) -> bool:
    """PostgreSQL: whether the search may match fewer than GENERIC_BELOW rows of `table`
    (`_estimates`; a table the statistics do not know: no)."""
    return table in estimates and estimates[table][0] < GENERIC_BELOW


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    """PostgreSQL's words (lexemes) of a text: the same for as long as its
    configuration (PG_CONFIG), so kept."""
    return tuple(db.session.scalar(_words_text(), {"q": text}) or ())


@contextlib.contextmanager
def _plans_for(engine: _Engine, filters: Filters):
    """PostgreSQL: the plans a search's statements run on, chosen here rather than left
    to PostgreSQL, which after five runs of a prepared statement may switch it to the
    generic plan when that looks no dearer than the custom ones. Without a restrictive
    filter the plans are the same for every word (the buckets, newest first), so the
    generic ones, made once: planning was most of a rare word's search. A restrictive
    filter's are made for their words and values each time (custom): a generic plan,
    made for any round or author, walked a round's comments for a word found in one
    (0.2 s, where the index and then the filters take 1 ms).

    No statement of a search scans a table whole (`enable_seqscan`): they read the
    index and join rows by key. Left to itself, the planner scanned the comments when
    it guessed a search's words common: `see -point` matches none (the two always
    come together), and 1,000,001 comments were read to find that out (0.3 s). When a
    restrictive filter's newest matches hold too few rows it lets through, all the
    matches are read, a statement planned at the cost of every match: no JIT compiling
    (35 ms) nor parallel workers (4 ms) for it."""
    if engine.dialect == "sqlite":
        yield
        return
    if filters.restrictive:
        settings = {
            "plan_cache_mode": "force_custom_plan",
            "enable_seqscan": "off",
            "jit": "off",
            "max_parallel_workers_per_gather": "0",
        }
    else:
        settings = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}
    # Constant names and values; one round trip for the settings, one for their reset.
    db.session.execute(sa.text("; ".join(f"SET {k} = {v}" for k, v in settings.items())))
    try:
        yield
    finally:
        # A failed statement inside a transaction: its rollback undoes the SET,
        # and the RESET would only hide the failure behind its own.
        connection = db.session.connection().connection.driver_connection
        if connection.info.transaction_status != TransactionStatus.INERROR:
            db.session.execute(sa.text("; ".join(f"RESET {k}" for k in settings)))


def _engine(text: str) -> _Engine:
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        return _Engine(dialect, text, q.fts5_expression(q.parse(text)) or "")
    return _Engine(dialect, text, estimates=_estimates(text))


# --- step 2: the base rows, visible and filtered ----------------------------------------


@functools.cache
def _owner_proposal():
    # Built once: an alias and the columns read through it cost more to
    # make than the statement that uses them costs to run.
    return so.aliased(Proposal, name="owner_proposal")


def _rows_stmt(kind: str, source, viewer, filters: Filters, flagged: bool = False):
    """(id, score, created_at) of the `source` rows of `kind` that `viewer` may find.

    `flagged`: every row, with a `findable` column saying whether `viewer`
    may find it, instead of the findable rows only.
    """
    if kind == "proposal":
        stmt = sa.select(source.c.id, source.c.score, Proposal.created_at).join(
            Proposal, Proposal.id == source.c.id
        )
        findable = Proposal.visible_clause(viewer)
        if filters.round is not None:
            stmt = stmt.where(Proposal.round_id == filters.round.id)
        if filters.state is not None:
            stmt = stmt.where(Proposal.state == filters.state)
        if filters.author is not None:
            stmt = stmt.where(Proposal.author_id == filters.author.id)
        created = Proposal.created_at
    elif kind == "comment":
        owner = _owner_proposal()
        stmt = (
            sa.select(source.c.id, source.c.score, Comment.created_at)
            .join(Comment, Comment.id == source.c.id)
            .join(Thread, Thread.id == Comment.thread_id)
            .outerjoin(owner, owner.thread_id == Comment.thread_id)
        )
        findable = sa.and_(
            Comment.text_visible_clause(viewer),
            Thread.visible_clause(viewer),
            sa.or_(owner.id.is_(None), owner.visible_clause(viewer)),
            # A moved sub-thread's placeholder has no text of its own.
            Comment.moved_to_thread_id.is_(None),
        )
        if filters.round is not None:
            stmt = stmt.where(owner.round_id == filters.round.id)
        if filters.state is not None:
            stmt = stmt.where(owner.state == filters.state)
        if filters.author is not None:
            stmt = stmt.where(Comment.author_id == filters.author.id)
        created = Comment.created_at
    else:
        stmt = (
            sa.select(source.c.id, source.c.score, Article.created_at)
            .join(Article, Article.id == source.c.id)
            .join(Thread, Thread.id == Article.thread_id)
        )
        findable = Thread.visible_clause(viewer)
        created = Article.created_at
    if filters.since is not None:
        stmt = stmt.where(created >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(created < filters.until)
    if flagged:
        return stmt.add_columns(findable.label("findable"))
    return stmt.where(findable)


class _Seer:
    """A stand-in for a viewer who sees hidden things: what the SQL visibility clauses ask.

    The clauses depend on nothing else of the viewer (a member who does not
    see hidden things gets the visitor's clauses), so a statement made with
    it, or with None, serves every viewer alike.
    """

    is_authenticated = True
    is_moderator = True
    id = 0


@functools.cache
def _window_stmt(
    dialect: str, expression: bool, kind: str, sort: str, ranked: bool, sees: bool, rare: bool
) -> sa.Select:
    """Step 2 over a window of candidates, made once per shape.

    The findable rows come first, then as many others as the page leaves
    room for: each row says how many matches the window stands for
    (`window_rows`; fewer than its LIMIT means all of them), so even a page
    that finds nothing knows, without a statement of its own, whether more
    matches lie beyond the window. No row at all: the window was empty.
    The values (:q, :limit, :ranked, :need) are bound when run: an
    unfiltered search builds no statement (building one cost more than
    running it).
    """
    matches = _matches_text(dialect, expression, kind, sort, True, ranked, rare)
    matches = matches.subquery("matches")
    seen = sa.func.count().over().label("window_rows")
    candidates = sa.select(matches.c.id, matches.c.score, seen).subquery("cand")
    rows = _rows_stmt(kind, candidates, _Seer() if sees else None, Filters(), flagged=True)
    return (
        rows.add_columns(candidates.c.window_rows)
        .order_by(
            rows.selected_columns.findable.desc(),
            candidates.c.score.desc(),
            candidates.c.id.desc(),
        )
        .limit(sa.bindparam("need", type_=sa.Integer))
    )


@functools.cache
def _windows_stmt(
    dialect: str, expression: bool, kinds: tuple, sort: str, ranked: bool, sees: bool, rare: tuple
) -> sa.CompoundSelect:
    """The windows of several kinds as one statement (one round trip): each kind's
    rows (`_window_stmt`; `rare`: by kind, whether its matches are read at once),
    tagged with the kind. The kinds bind the same values."""
    parts = []
    for kind, rare_here in zip(kinds, rare, strict=True):
        tag = sa.literal_column(f"'{kind}'", sa.String).label("kind")  # a KINDS name
        rows = _window_stmt(dialect, expression, kind, sort, ranked, sees, rare_here)
        rows = rows.subquery(f"window_{kind}")
        parts.append(
            sa.select(
                tag, rows.c.id, rows.c.score, rows.c.created_at, rows.c.findable,
                rows.c.window_rows,
            )
        )  # fmt: skip
    return sa.union_all(*parts)


def _window_size(need: int) -> int:
    """The candidates a window reads for a page that needs `need` rows."""
    return need * WINDOW_FACTOR + WINDOW_EXTRA


@dataclass
class _Window:
    """A kind's findable rows in its window, best or newest first, and how many
    matches the window stood for (None: it held no row)."""

    rows: list = field(default_factory=list)
    seen: int | None = None


def _windows(engine: _Engine, kinds: list[str], sort: str, viewer, need: int) -> dict:
    """Each kind's window (step 2 over its window of candidates), in one statement."""
    ranked = sort == "relevance"
    stmt = _windows_stmt(
        engine.dialect, engine.expression is not None, tuple(kinds), sort, ranked,
        sees_hidden(viewer), tuple(engine.rare_in(_TABLES[kind]) for kind in kinds),
    )  # fmt: skip
    params = {**engine.params(_window_size(need), ranked), "need": need}
    found = {kind: _Window() for kind in kinds}
    for row in db.session.execute(stmt, params):
        found[row.kind].seen = row.window_rows
        if row.findable:
            found[row.kind].rows.append(row)
    for each in found.values():
        # A UNION keeps no order: each kind's, as its statement gave it.
        each.rows.sort(key=lambda r: (r.score, r.id), reverse=True)
    return found


def _find(
    engine: _Engine, kind: str, sort: str, viewer, filters: Filters, need: int, found=None
):
    """Up to `need` (id, score, created_at) rows of `kind`, best or newest first.

    `found`: the kind's `_Window` if the search read it already (`_windows`,
    every kind's in one statement); without a restrictive filter it is read
    here otherwise."""

    def order(source):
        if sort == "newest" and engine.dialect == "sqlite":
            # The rowid alone (the score is the rowid): FTS5 then walks its
            # matches newest first and stops at the LIMIT, where ordering by
            # two columns read every match and sorted them (a round's
            # comments of a word in one in seven: 104 to 0.05 ms).
            return (source.c.id.desc(),)
        return source.c.score.desc(), source.c.id.desc()

    # What the newest matches under a restrictive filter look for: the page's rows, newest
    # first; the matches to rank, by relevance.
    enough = need if sort == "newest" else RANKED_MATCHES
    if not filters.restrictive:
        if found is None:
            found = _windows(engine, [kind], sort, viewer, need)[kind]
        if len(found.rows) >= need:
            return found.rows
        # A short page: either the window held every match (done) or
        # visibility removed some; a full window means there may be more.
        if (found.seen or 0) < _window_size(need):
            return found.rows
    elif engine.dialect != "sqlite" and not engine.rare_in(_TABLES[kind]):
        # PostgreSQL, a restrictive filter: about the newest RECENT_MATCHES matches
        # (`_recent_stmt`), newest first, the filters on each, until the page (newest first)
        # or RANKED_MATCHES (by relevance, ranked as in the windows). Enough of them
        # pass when the filter holds recent rows (a date since, an open round): the
        # matches of a few buckets read instead of every one. Too few, and all the
        # matches are read (for rare words, at once).
        rows = db.session.execute(_recent_stmt(engine, kind, sort, viewer, filters, enough))
        rows = rows.all()
        if len(rows) >= enough:
            if sort == "relevance":
                rows = sorted(rows, key=lambda r: (r.score, r.id), reverse=True)
            return rows[:need]
    everything = engine.matches(kind, sort, None).subquery("cand")
    rows = _rows_stmt(kind, everything, viewer, filters)
    if sort == "relevance":
        # As in the windows: the newest RANKED_MATCHES matches that may be
        # found (here: that the filters let through) are ranked. By the id
        # alone on SQLite, so FTS5 gives them newest first and stops; `id + 0`
        # on PostgreSQL, so no plan walks the primary key hoping to meet them.
        newest = everything.c.id if engine.dialect == "sqlite" else everything.c.id + 0
        ranked = rows.order_by(newest.desc()).limit(RANKED_MATCHES).subquery("ranked")
        return db.session.execute(sa.select(ranked).order_by(*order(ranked)).limit(need)).all()
    return db.session.execute(rows.order_by(*order(everything)).limit(need)).all()


def _recent_stmt(engine: _Engine, kind: str, sort: str, viewer, filters: Filters, enough: int):
    """PostgreSQL: up to `enough` (id, score, created_at) rows of `kind` that `viewer` may
    find and `filters` let through, among the matches of the newest buckets that hold
    about RECENT_MATCHES of them by the statistics (`_Engine.recent_buckets`), newest
    first.

    The filters are joined inside each bucket's scan (a `LATERAL` subquery, each
    bucket's few hundred matches joined to their rows by key), so the rows come newest
    first by construction and the LIMIT stops at the bucket that completes them:
    joined to the newest matches as one set, the planner walked the primary key
    through 598,000 comments to merge them with a date filter."""
    table = _TABLES[kind]
    tsquery = _pg_tsquery(engine.expression is not None)
    score = _pg_rank(tsquery) if sort == "relevance" else "id"
    # Integers, as the index holds the buckets; names and numbers are constants.
    top = BY_TABLE[table].newest_bucket_sql
    recent = sa.bindparam("recent_buckets", engine.recent_buckets(table), sa.Integer)
    last = sa.func.greatest(sa.literal_column(top, sa.Integer) + 1 - recent, 0)
    buckets = (
        sa.func.generate_series(sa.literal_column(top), last, -1)
        .table_valued("n")
        .render_derived(name="bucket")
    )
    in_bucket = (
        sa.text(_bucket_matches(table, tsquery, score))
        .bindparams(q=engine._param)
        .columns(sa.column("id", sa.Integer), sa.column("score", sa.Float))
        .subquery("cand")
    )
    found = (
        _rows_stmt(kind, in_bucket, viewer, filters)
        .order_by(in_bucket.c.id.desc())
        .lateral("found")
    )
    return (
        sa.select(found.c.id, found.c.score, found.c.created_at)
        .select_from(buckets)
        .join(found, sa.true())
        .limit(enough)
    )


# --- the search ---------------------------------------------------------------------------


def resolve_filters(
    *,
    kind: str = "",
    round_slug: str = "",
    state: str = "",
    author: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Filters, list[str]]:
    """Filters from request values; unknown names give a note and match nothing."""
    notes: list[str] = []
    # NUL and other control characters name nothing (and PostgreSQL refuses NUL).
    round_slug, author = q.clean(round_slug), q.clean(author)
    filters = Filters(
        kind=kind if kind in KINDS else None,
        state=ProposalState(state) if state in {s.value for s in ProposalState} else None,
        since=since,
        until=until,
    )
    if round_slug:
        filters.round = db.session.scalar(sa.select(Round).where(Round.slug == round_slug))
        if filters.round is None:
            notes.append(f"There is no round “{round_slug}”.")
    if author:
        filters.author = db.session.scalar(
            sa.select(User).where(User.username_key == username_key(author))
        )
        if filters.author is None or not filters.author.email_confirmed:
            filters.author = None
            notes.append(f"No member is called “{author}”.")
    return filters, notes


def search(
    viewer, text: str, filters: Filters, sort: str = "relevance", page: int = 1
) -> SearchPage:
    """One page of what `viewer` may find for `text` (the websearch language)."""
    text = q.clean(text)
    sort = sort if sort in SORTS else "relevance"
    result = SearchPage(text=text, sort=sort, filters=filters, page=page)
    if not text:
        return result
    if page > MAX_PAGE:
        result.notes.append(f"Results stop at page {MAX_PAGE}: narrow the search.")
        return result
    engine = _engine(text)
    if engine.empty:
        result.notes.append("Type at least one word to look for (not only -excluded ones).")
        return result
    if engine.dialect != "sqlite" and not _lexeme_groups(text):
        # PostgreSQL looks for none of them: say so, rather than search for nothing.
        result.notes.append(
            "Words as common as “the” or “and” are not looked for: add a more specific one."
        )
        return result
    with _plans_for(engine, filters):
        _search(engine, result, viewer)
    return result


def _search(engine: _Engine, result: SearchPage, viewer) -> None:
    """`result`'s hits: each kind's rows, merged, and the shown ones filled in."""
    sort, filters = result.sort, result.filters
    offset = (result.page - 1) * PER_PAGE
    need = offset + PER_PAGE + 1
    found: list[Hit] = []
    kinds = filters.kinds()
    windows = {} if filters.restrictive else _windows(engine, kinds, sort, viewer, need)
    for kind in kinds:
        for row in _find(engine, kind, sort, viewer, filters, need, windows.get(kind)):
            found.append(Hit(kind, row.id, row.score, row.created_at))
    if sort == "relevance":
        found.sort(key=lambda h: (h.score, h.created_at), reverse=True)
    else:
        found.sort(key=lambda h: (h.created_at, h.id), reverse=True)
    result.has_more = len(found) > offset + PER_PAGE
    result.hits = found[offset : offset + PER_PAGE]
    _fill(engine, result.hits, viewer)


@functools.cache
def _shown_stmt(dialect: str, expression: bool, kind: str) -> sa.Select:
    """The shown rows of `kind` (:ids) with their title and snippet marked, made once.

    One statement per kind: the rows, what they show from elsewhere, and the
    engine's highlights (FTS5's `highlight`/`snippet`, PostgreSQL's
    `ts_headline`) between markers (:s, :e) that `_marked` turns into <mark>.
    """
    model = _MODELS[kind]
    item = BY_TABLE[_TABLES[kind]]
    has_title = "title" in item.columns
    start, stop = sa.bindparam("s"), sa.bindparam("e")
    if dialect == "sqlite":
        fts = sa.table(item.fts, sa.column("rowid"))
        index = sa.literal_column(item.fts)
        title = sa.func.highlight(index, 0, start, stop) if has_title else sa.literal("")
        snippet = sa.func.snippet(
            index, item.columns.index("body"), start, stop, "…", SNIPPET_WORDS
        )
        stmt = (
            sa.select(model, title, snippet)
            .join(fts, fts.c.rowid == model.id)
            .where(index.op("MATCH")(sa.bindparam("q")))
        )
        # The ids asked of the index: asked of the table, SQLite read every
        # match first (143,034 for a common word) and joined the rows after.
        key = fts.c.rowid
    else:
        config = sa.literal_column(f"'{PG_CONFIG}'")
        query = sa.text(_pg_tsquery(expression))
        title = (
            sa.func.ts_headline(config, model.title, query, sa.bindparam("all"))
            if has_title
            else sa.literal("")
        )
        snippet = sa.func.ts_headline(config, model.body, query, sa.bindparam("opts"))
        vector = sa.literal_column(f"{item.table}.{SEARCH_COLUMN}")
        stmt = sa.select(model, title, snippet).where(vector.op("@@")(query))
        key = model.id
    # What each kind's hit shows besides its text, loaded with it.
    loaded_with = {
        "proposal": (so.joinedload(Proposal.author), so.joinedload(Proposal.round)),
        # A comment's thread with the proposal that may own it (its marks ask).
        "comment": (
            so.joinedload(Comment.author),
            so.joinedload(Comment.thread).joinedload(Thread.owner_proposal),
        ),
        "article": (so.joinedload(Article.thread),),
    }[kind]
    return stmt.where(key.in_(sa.bindparam("ids", expanding=True))).options(*loaded_with)


def _fill(engine: _Engine, hits: list[Hit], viewer) -> None:
    """Load what each shown hit displays, one statement per kind (links: the view).

    A hit whose row no longer matches (edited since the window was read) is
    left out: its text has nothing to highlight.
    """
    by_kind: dict[str, list[Hit]] = {}
    for hit in hits:
        by_kind.setdefault(hit.kind, []).append(hit)
    params = engine.mark_params()
    for kind, group in by_kind.items():
        stmt = _shown_stmt(engine.dialect, engine.expression is not None, kind)
        shown = {
            obj.id: (obj, title, snippet)
            for obj, title, snippet in db.session.execute(
                stmt, {**params, "ids": [h.id for h in group]}
            )
        }
        for hit in group:
            if hit.id in shown:
                hit.obj, title, snippet = shown[hit.id]
                hit.title = _marked(title or "", params["s"], params["e"])
                hit.snippet = _marked(snippet or "", params["s"], params["e"])
    hits[:] = [hit for hit in hits if hit.obj is not None]
    for hit in hits:
        _describe(hit, viewer)


def _describe(hit: Hit, viewer) -> None:
    obj = hit.obj
    if hit.kind == "proposal":
        hit.author = obj.author.display_name
        hit.context_title = f"{obj.label} in {obj.round.title}"
        if obj.is_hidden:
            hit.marks.append("Proposal hidden by a moderator")
    elif hit.kind == "comment":
        hit.author = obj.display_name
        if obj.status != CommentStatus.published:
            hit.marks.append(f"Comment {obj.status.value}")
        if obj.thread.state == ThreadState.hidden:
            hit.marks.append("In a hidden thread")
        owner = obj.thread.owner_proposal
        if owner is not None and owner.is_hidden:
            hit.marks.append("On a hidden proposal")
    else:
        hit.author = obj.author_name
        if obj.thread.state == ThreadState.hidden:
            hit.marks.append("Article thread hidden")
    if not hit.title:
        hit.title = escape(getattr(obj, "title", "") or "")


# --- similar proposals -----------------------------------------------------------------------


def similar_proposals(round_: Round, title: str, viewer, limit: int = SIMILAR_SHOWN):
    """Open, visible proposals of `round_` that share words with `title`, most alike first."""
    words = [w for w in q.title_words(title) if len(w) > 2 and w not in STOP_WORDS]
    if not words:
        return []
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        engine = _Engine(dialect, title, q.fts5_any(words))
    else:
        engine = _Engine(dialect, title, q.pg_any(words))
    everything = engine.matches("proposal", "relevance", None).subquery("cand")
    ids = (
        db.session.execute(
            sa.select(everything.c.id)
            .join(Proposal, Proposal.id == everything.c.id)
            .where(
                Proposal.round_id == round_.id,
                Proposal.state == ProposalState.open,
                Proposal.is_hidden.is_(False),
            )
            .order_by(everything.c.score.desc(), everything.c.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    found = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Proposal)
            .where(Proposal.id.in_(ids))
            .options(so.joinedload(Proposal.author), so.joinedload(Proposal.successor))
        )
    }
    return [found[i] for i in ids if i in found]
