"""The full-text index: its DDL on each database, its upkeep and its check.

SQLite: one FTS5 table per searched table, with external content (the text
stays in the base row, the FTS table holds only the index), kept by
triggers that fire in the transaction that writes the row. The triggers
fire only when the indexed text changes, so co-signing, hiding or counting
never touch the index.

PostgreSQL: a stored generated `search_vector` tsvector column on each
searched table and a GIN index on it: the database computes it in the
statement that writes the row. The GIN index also holds each row's bucket
of ids (`id / Indexed.bucket`, through the btree_gin extension), so that a
search can ask for the matches of one bucket at a time, newest first.

Visibility is not in the index: queries join the base rows and filter
them, so hiding a comment needs no reindex.

The same statements serve the migration (0007_search) and `db.create_all()`
(tests and `flask db-init`-style set-ups), through `install()`.
"""

from dataclasses import dataclass

import sqlalchemy as sa

# Stemmed English everywhere: "proposals" finds "proposal" on both databases.
PG_CONFIG = "english"
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"
SQLITE_WEIGHTS = {"A": "10.0", "B": "1.0"}


@dataclass(frozen=True)
class Indexed:
    """A searched table and its text columns (in FTS5 column order)."""

    table: str
    columns: tuple[str, ...]
    # PostgreSQL weights per column: titles rank above bodies.
    weights: tuple[str, ...]
    # PostgreSQL: ids per bucket of the GIN index (see INDEXED).
    bucket: int

    @property
    def bucket_sql(self) -> str:
        """A row's bucket of ids, as the index holds it (a query must say it so)."""
        return f"(id / {self.bucket})"

    @property
    def newest_bucket_sql(self) -> str:
        """The bucket of the table's newest row (NULL when it has none)."""
        return f"(SELECT max(id) FROM {self.table}) / {self.bucket}"  # nosec B608

    @property
    def fts(self) -> str:
        return f"{self.table}_fts"

    @property
    def gin(self) -> str:
        return f"ix_{self.table}_search_vector"


# PostgreSQL. A GIN index gives a word's matches in no order, so reading the
# newest few of a word found in every tenth comment meant reading all of them.
# Keyed also by the row's bucket of ids, the index gives the matches of one
# bucket (`bucket = n AND search_vector @@ words`, one index scan that reads
# only those rows), and a search reads the buckets newest first until it has
# the matches it needs: the rows it needs plus at most one bucket's matches
# (app/services/search.py, `_newest_matches`). Larger buckets: fewer index
# scans for a word with few matches (every bucket is asked: 245 for 1,000,000
# comments, 2.7 ms); smaller: fewer rows read and ranked past the ones needed
# for a common word. Proposals and articles, a hundred times fewer than the
# comments and with longer texts to rank, take smaller buckets (`see`, in a
# third of the scale set's proposals, read 2,162 of them for the 1,000 to rank
# in buckets of 4,096).
INDEXED = (
    Indexed("proposals", ("title", "body"), ("A", "B"), bucket=1024),
    Indexed("comments", ("body",), ("B",), bucket=4096),
    Indexed("articles", ("title", "body"), ("A", "B"), bucket=1024),
)
BY_TABLE = {i.table: i for i in INDEXED}
SEARCH_COLUMN = "search_vector"
FTS_SHADOW_SUFFIXES = ("", "_data", "_idx", "_docsize", "_config", "_content")


def pg_vector_sql(item: Indexed) -> str:
    """The tsvector expression of a row (immutable: the config is named)."""
    parts = [
        f"setweight(to_tsvector('{PG_CONFIG}'::regconfig, coalesce({col}, '')), '{w}')"
        for col, w in zip(item.columns, item.weights, strict=True)
    ]
    return " || ".join(parts)


def _sqlite_create(item: Indexed) -> list[str]:
    cols = ", ".join(item.columns)
    new = ", ".join(f"new.{c}" for c in item.columns)
    old = ", ".join(f"old.{c}" for c in item.columns)
    # Every name in these statements is a constant of this module, never input.
    insert = f"INSERT INTO {item.fts}(rowid, {cols}) VALUES (new.id, {new});"  # nosec B608
    delete = f"INSERT INTO {item.fts}({item.fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"  # nosec B608
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {item.fts} USING fts5({cols}, "
        f"content='{item.table}', content_rowid='id', tokenize='{SQLITE_TOKENIZER}')",
        *_sqlite_triggers(item, insert, delete),
        # bm25 with the title worth ten body words (as PostgreSQL's weight A over B).
        f"INSERT INTO {item.fts}({item.fts}, rank) VALUES ('rank', "  # nosec B608
        f"'bm25({_sqlite_weights(item)})')",
    ]


def _sqlite_weights(item: "Indexed") -> str:
    return ", ".join(SQLITE_WEIGHTS[w] for w in item.weights)


def sqlite_bm25(item: "Indexed") -> str:
    """The SQL of the rank the index is configured with, called by name (`bm25(fts, ...)`)."""
    return f"bm25({item.fts}, {_sqlite_weights(item)})"


def _sqlite_triggers(item: Indexed, insert: str, delete: str) -> list[str]:
    cols = ", ".join(item.columns)
    return [
        f"CREATE TRIGGER IF NOT EXISTS {item.fts}_ai AFTER INSERT ON {item.table} "
        f"BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {item.fts}_ad AFTER DELETE ON {item.table} "
        f"BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {item.fts}_au AFTER UPDATE OF {cols} ON {item.table} "
        f"BEGIN {delete} {insert} END",
    ]


def _sqlite_drop_triggers(item: Indexed) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {item.fts}_{suffix}" for suffix in ("ai", "ad", "au")]


# PostgreSQL's statistics of the search column (ANALYZE's sample and its list
# of most common words, ten per unit): the planner guesses a word it does not
# list at half the share of the rarest word it lists. With the default (100)
# that list stopped at the words of every hundredth comment on the scale set, so
# six rare words with `or` were guessed at 3% of the comments, and the search
# scanned all 1,000,001 of them for their one match (docs/search.md). With
# 1,000 the list reaches words 25 times rarer; planning and the other searches
# measured the same, ANALYZE of the comments takes longer (6.5 s on the scale set).
SEARCH_STATISTICS = 1000


# Each row's entries go into the index as it is written, not into GIN's pending
# list (`fastupdate`): a search asks the index once per bucket, and every scan
# of a GIN index reads its whole pending list (up to 4 MB, until a vacuum);
# the planner, counting that list into each scan's cost, then walked the
# primary key instead. A comment's insert costs 74 us more than with the list
# (on a table of 200,000 comments), about half a percent of posting one.
PG_INDEX_OPTIONS = "WITH (fastupdate = off)"
# GIN for an integer (the bucket): a contrib extension, trusted (a database's
# owner may create it).
PG_EXTENSION = "CREATE EXTENSION IF NOT EXISTS btree_gin"


def _pg_create(item: Indexed) -> list[str]:
    return [
        f"ALTER TABLE {item.table} ADD COLUMN IF NOT EXISTS {SEARCH_COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({pg_vector_sql(item)}) STORED",
        f"ALTER TABLE {item.table} ALTER COLUMN {SEARCH_COLUMN} "
        f"SET STATISTICS {SEARCH_STATISTICS}",
        pg_index_sql(item),
    ]


def pg_index_sql(item: Indexed) -> str:
    """PostgreSQL: the GIN index of a table's words and buckets, as defined now."""
    return (
        f"CREATE INDEX IF NOT EXISTS {item.gin} ON {item.table} "
        f"USING gin ({item.bucket_sql}, {SEARCH_COLUMN}) {PG_INDEX_OPTIONS}"
    )


def create_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [sql for item in INDEXED for sql in _sqlite_create(item)]
    if dialect == "postgresql":
        return [PG_EXTENSION, *(sql for item in INDEXED for sql in _pg_create(item))]
    return []


def drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [
            sql
            for item in INDEXED
            for sql in [*_sqlite_drop_triggers(item), f"DROP TABLE IF EXISTS {item.fts}"]
        ]
    if dialect == "postgresql":
        return [
            sql
            for item in INDEXED
            for sql in [
                f"DROP INDEX IF EXISTS {item.gin}",
                f"ALTER TABLE IF EXISTS {item.table} DROP COLUMN IF EXISTS {SEARCH_COLUMN}",
            ]
        ]
    return []


def rebuild_statements(dialect: str) -> list[str]:
    """Rebuild every index from the rows (FTS5 'rebuild'; PostgreSQL: the GIN index
    dropped, to be made anew by `create_statements`, as defined now)."""
    if dialect == "sqlite":
        return [f"INSERT INTO {i.fts}({i.fts}) VALUES ('rebuild')" for i in INDEXED]  # nosec B608
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS {i.gin}" for i in INDEXED]
    return []


def _run(conn: sa.Connection, statements: list[str]) -> None:
    for sql in statements:
        conn.exec_driver_sql(sql)


def install(conn: sa.Connection) -> None:
    """Create the index (idempotent) and fill it from the rows already there."""
    dialect = conn.dialect.name
    _run(conn, create_statements(dialect))
    if dialect == "sqlite":
        _run(conn, rebuild_statements(dialect))


def uninstall(conn: sa.Connection) -> None:
    _run(conn, drop_statements(conn.dialect.name))


def rebuild(conn: sa.Connection) -> None:
    """`flask search reindex`: recreate what is missing, then rebuild from the rows."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _run(conn, rebuild_statements(dialect))
    _run(conn, create_statements(dialect))
    if dialect == "sqlite":
        _run(conn, rebuild_statements(dialect))


def suspend_upkeep(conn: sa.Connection) -> None:
    """Before a bulk load: stop per-row upkeep (call resume_upkeep() after)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        _run(conn, [sql for item in INDEXED for sql in _sqlite_drop_triggers(item)])
    elif dialect == "postgresql":
        _run(conn, [f"DROP INDEX IF EXISTS {item.gin}" for item in INDEXED])


def resume_upkeep(conn: sa.Connection) -> None:
    """After a bulk load: triggers and indexes back, the index built in one pass."""
    install(conn)


def check(conn: sa.Connection, deep: bool = False) -> list[str]:
    """Differences between the index and the rows (empty when they agree).

    Always: the index's tables, triggers, indexes exist, and it holds exactly
    the rows there are. `deep` also compares every token with the rows' text:
    on SQLite that is FTS5's integrity-check, an INSERT that holds the write
    lock until the transaction ends, so `flask check` (which must not stop
    the site's writers) leaves it to `flask search check`.
    """
    dialect = conn.dialect.name
    problems: list[str] = []
    if dialect == "sqlite":
        for item in INDEXED:
            present = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = ?", (item.fts,)
            ).scalar()
            if not present:
                problems.append(f"search: {item.fts} is missing (run `flask search reindex`)")
                continue
            for suffix in ("ai", "ad", "au"):
                name = f"{item.fts}_{suffix}"
                found = conn.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                    (name,),
                ).scalar()
                if not found:
                    problems.append(f"search: trigger {name} is missing")
            missing = conn.exec_driver_sql(
                f"SELECT count(*) FROM {item.table} t WHERE NOT EXISTS "  # nosec B608
                f"(SELECT 1 FROM {item.fts}_docsize d WHERE d.id = t.id)"
            ).scalar()
            extra = conn.exec_driver_sql(
                f"SELECT count(*) FROM {item.fts}_docsize d WHERE NOT EXISTS "  # nosec B608
                f"(SELECT 1 FROM {item.table} t WHERE t.id = d.id)"
            ).scalar()
            if missing:
                problems.append(f"search: {missing} {item.table} rows are not in the index")
            if extra:
                problems.append(f"search: {extra} index entries name no row of {item.table}")
            if deep and not missing and not extra:
                # rank 1: also against the content table, token by token.
                try:
                    conn.exec_driver_sql(
                        f"INSERT INTO {item.fts}({item.fts}, rank) VALUES ('integrity-check', 1)"  # nosec B608
                    )
                except sa.exc.DatabaseError:
                    problems.append(f"search: {item.fts} differs from the text of {item.table}")
    elif dialect == "postgresql":
        for item in INDEXED:
            column = conn.exec_driver_sql(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = %s AND column_name = %s",
                (item.table, SEARCH_COLUMN),
            ).scalar()
            index = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (item.gin,)
            ).scalar()
            if not column:
                problems.append(f"search: {item.table}.{SEARCH_COLUMN} is missing")
                continue
            if not index:
                problems.append(f"search: index {item.gin} is missing")
            elif item.bucket_sql not in index:
                problems.append(
                    f"search: index {item.gin} has no buckets (run `flask search reindex`)"
                )
            if not deep:
                # A generated column cannot drift; recomputing every vector is for the deep check.
                continue
            stale = conn.exec_driver_sql(
                f"SELECT count(*) FROM {item.table} "  # nosec B608
                f"WHERE {SEARCH_COLUMN} IS DISTINCT FROM ({pg_vector_sql(item)})"
            ).scalar()
            if stale:
                problems.append(f"search: {stale} {item.table} rows have a stale search vector")
    return problems


def is_search_object(name: str | None, type_: str) -> bool:
    """The index's own tables, columns and indexes (not on the models' metadata)."""
    if not name:
        return False
    if type_ == "table":
        return any(name == i.fts + s for i in INDEXED for s in FTS_SHADOW_SUFFIXES)
    if type_ == "column":
        return name == SEARCH_COLUMN
    if type_ == "index":
        return name in {i.gin for i in INDEXED}
    return False


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: autogenerate leaves the search index alone."""
    return not (reflected and compare_to is None and is_search_object(name, type_))


def listen(metadata: sa.MetaData) -> None:
    """Build the index whenever `metadata.create_all()` builds the tables."""

    @sa.event.listens_for(metadata, "after_create")
    def _after_create(target, connection, **kw):
        tables = {t.name for t in kw.get("tables") or target.sorted_tables}
        if all(item.table in tables for item in INDEXED) or all(
            sa.inspect(connection).has_table(item.table) for item in INDEXED
        ):
            install(connection)

    @sa.event.listens_for(metadata, "before_drop")
    def _before_drop(target, connection, **kw):
        uninstall(connection)
