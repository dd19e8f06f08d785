"""`flask seed --scale`: a large, realistic data set for benchmarks.

100,000 members, 10,000 proposals over several rounds with a long tail of
co-signatures (a few proposals over 1,000), and 1,000,000 comments across
articles and proposals, most shallow, some conversations 20 and more levels
deep. Rows are written in bulk (COPY on PostgreSQL, executemany on SQLite)
with explicit ids, and are what the services would have written:

- comments follow the threads model: zero-padded order paths, `root_id`,
  `depth`, each parent's `reply_seq` (its last child's sequence) and
  `descendant_count`, the thread's `comment_count`, `top_level_count` and
  `reply_seq`;
- a proposal's `supporter_count` is its active co-signatures plus its
  author; every co-signature has its "sign" event (and a removed one its
  "unsign" event), so replaying the log gives the active rows;
- every proposal has its version 1 and its own thread.

The members are marked `is_demo` and share one password hash of a random
secret nobody knows, so none of them can sign in. `Builder` is also what
bench/dataset.py uses to build the smaller set behind `make bench`.
"""

import random
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import search_index
from ..models.thread import MAX_STORED_DEPTH, PATH_SEGMENT
from ..models.triggers import trigger_statements
from ..models.user import PASSWORD_METHOD

# Shape of a generated thread: each new comment is top-level, a reply to a
# top-level comment, a reply to any earlier comment (so busy sub-threads get
# busier), or, now and then, the start of a back-and-forth between two
# members, each reply answering the one before.
P_TOP = 0.25
P_REPLY_TOP = 0.45
P_CONVERSATION = 0.03
CONVERSATION_MEAN = 6
# Deepest generated reply (the app stores up to MAX_STORED_DEPTH).
DEPTH_CAP = min(40, MAX_STORED_DEPTH)
DELETED_SHARE = 0.01
GUEST_SHARE = 0.15
REMOVED_SHARE = 0.05

WORDS = (
    "the branch members convention steering committee proposal vote democracy "
    "organisation we should must could discuss forum website paper union strike "
    "caucus process rank file leadership accountable report motion amend second "
    "agree disagree because however finally local national budget dues meeting "
    "minutes transparency trust rebuild dissolve continue work together history"
).split()

FIRST = "Ana Ben Chloe Dev Emma Femi Gus Hana Ivan Jo Kai Lena Mo Nia Omar Pia Raj Sara Tom Uma"
LAST = "Abbott Baker Cruz Diaz Evans Fox Green Hill Ito Jones Khan Lopez Moss Ng Owens Park"


def _sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    return " ".join(words).capitalize() + "."


def make_bodies(rng: random.Random, count: int = 2_000) -> list[str]:
    """A pool of comment texts (mostly a sentence or two, some paragraphs, some Markdown)."""
    bodies = []
    for i in range(count):
        parts = [_sentence(rng, rng.randint(6, 22)) for _ in range(rng.choice((1, 1, 2, 3, 6)))]
        if i % 7 == 0:
            parts.append(f"See *point {i % 9 + 1}* and [the minutes](https://example.org/m/{i}).")
        if i % 11 == 0:
            parts.append("> " + _sentence(rng, 8))
        bodies.append(("\n\n" if i % 3 == 0 else " ").join(parts))
    return bodies


def pareto_counts(rng: random.Random, n: int, alpha: float, scale: float, cap: int) -> list[int]:
    """`n` long-tailed counts (Pareto): most small, a few large, none above `cap`."""
    return [min(cap, int(scale * rng.paretovariate(alpha)) - int(scale)) for _ in range(n)]


class BulkWriter:
    """Writes rows with explicit ids: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.cursor = self.conn.cursor()
        if self.dialect == "sqlite":
            self.cursor.execute("BEGIN IMMEDIATE")
        # Rows written in bulk touch no container one by one (a million
        # UPDATEs of their threads): the triggers are set aside, and every
        # container is moved once at the end (app/models/triggers.py).
        for statement in trigger_statements(self.dialect, drop=True):
            self.cursor.execute(statement)

    def ts(self, value: datetime | None):
        """A timestamp as the column stores it (SQLAlchemy's text format on SQLite)."""
        if value is None or self.dialect != "sqlite":
            return value
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def write(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        # Table and column names are this module's constants, never input.
        names = ", ".join(columns)
        if self.dialect == "postgresql":
            with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # nosec
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # nosec
            self.cursor.executemany(sql, rows)

    def execute(self, sql: str, params=()) -> None:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        self.cursor.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[tuple]) -> None:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        self.cursor.executemany(sql, list(rows))

    def next_id(self, table: str) -> int:
        self.cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # nosec
        return int(self.cursor.fetchone()[0]) + 1

    def commit(self) -> None:
        self.conn.commit() if self.dialect == "postgresql" else self.cursor.execute("COMMIT")
        if self.dialect == "sqlite":
            self.cursor.execute("BEGIN IMMEDIATE")

    def finish(self, tables: Iterable[str]) -> None:
        """Commit, and move PostgreSQL's id sequences past the ids written."""
        for statement in trigger_statements(self.dialect):
            self.cursor.execute(statement)
        for table in ("threads", "rounds"):  # this module's constants
            self.cursor.execute(f"UPDATE {table} SET row_version = row_version + 1")  # nosec
        if self.dialect == "postgresql":
            for table in tables:
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                sql = f"SELECT setval({sequence}, (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # nosec
                self.cursor.execute(sql)
            self.conn.commit()
            self.cursor.execute("ANALYZE")
            self.conn.commit()
        else:
            self.cursor.execute("COMMIT")
            self.cursor.execute("ANALYZE")
        self.cursor.close()
        self.raw.close()


@dataclass
class ThreadStats:
    thread_id: int
    comments: int = 0
    top_level: int = 0
    max_depth: int = 0
    deepest_id: int | None = None
    first_id: int | None = None


@dataclass
class ProposalPlan:
    """What to create for one proposal: its supporters, state and comment count."""

    supporters: int = 0  # co-signers besides the author
    state: str = "open"
    comments: int = 0
    title: str | None = None


@dataclass
class Totals:
    members: int = 0
    rounds: int = 0
    proposals: int = 0
    cosignatures: int = 0
    events: int = 0
    articles: int = 0
    threads: int = 0
    comments: int = 0
    max_depth: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Builder:
    """Adds members, rounds with proposals and co-signatures, and comment threads, in bulk."""

    COMMENT_COLUMNS = (
        "id", "thread_id", "parent_id", "root_id", "depth", "path", "reply_seq",
        "descendant_count", "status", "author_id", "author_name", "is_verified", "body",
        "created_at", "needs_review", "pinned",
    )  # fmt: skip

    def __init__(self, seed: int = 2019, progress: Callable[[int], None] | None = None):
        # Reproducible invented data, not security: a seeded PRNG is the point.
        self.rng = random.Random(seed)  # nosec
        self.out = BulkWriter(db.engine)
        self.progress = progress or (lambda n: None)
        self.bodies = make_bodies(self.rng)
        self.totals = Totals()
        self.member_ids: list[int] = []
        self.next = {
            t: self.out.next_id(t)
            for t in (
                "users", "rounds", "proposals", "proposal_versions", "cosignatures",
                "cosign_events", "threads", "articles", "comments",
            )
        }  # fmt: skip
        self._thread_counters: list[tuple] = []
        self._password_hash: str | None = None
        self.started = time.monotonic()

    def _ids(self, table: str, n: int) -> range:
        first = self.next[table]
        self.next[table] = first + n
        return range(first, first + n)

    # --- members --------------------------------------------------------------

    def members(self, n: int, prefix: str = "member", since: datetime | None = None) -> list[int]:
        """`n` demo members who cannot sign in (one hash of a secret nobody knows)."""
        if self._password_hash is None:
            self._password_hash = generate_password_hash(
                secrets.token_urlsafe(32), method=PASSWORD_METHOD
            )
        ids = self._ids("users", n)
        since = since or datetime(2018, 1, 1)
        first, last = FIRST.split(), LAST.split()
        ts = self.out.ts

        def rows():
            for k, uid in enumerate(ids):
                name = f"{prefix}{uid}"
                when = ts(since + timedelta(minutes=k))
                yield (
                    uid, name, name.casefold(),
                    f"{first[uid % len(first)]} {last[(uid // 7) % len(last)]} {uid}",
                    f"{name}@example.invalid", self._password_hash, "member", True,
                    when, 1, when, when,
                )  # fmt: skip

        self.out.write(
            "users",
            (
                "id",
                "username",
                "username_key",
                "display_name",
                "email",
                "password_hash",
                "role",
                "is_demo",
                "created_at",
                "session_version",
                "password_changed_at",
                "email_confirmed_at",
            ),  # fmt: skip
            rows(),
        )
        self.member_ids.extend(ids)
        self.totals.members += n
        self.progress(n)
        return list(ids)

    # --- threads --------------------------------------------------------------

    def _new_threads(self, titles: list[str | None], created: list[datetime]) -> list[int]:
        ids = self._ids("threads", len(titles))
        ts = self.out.ts
        self.out.write(
            "threads",
            ("id", "state", "comment_count", "top_level_count", "title", "created_at",
             "reply_seq"),
            ((tid, "open", 0, 0, (title or "")[:300] or None, ts(when), 0)
             for tid, title, when in zip(ids, titles, created, strict=True)),
        )  # fmt: skip
        self.totals.threads += len(titles)
        return list(ids)

    def comments(self, thread_id: int, n: int, start: datetime, span: timedelta) -> ThreadStats:
        """`n` comments in `thread_id`, placed and counted as insert_comment would."""
        stats = ThreadStats(thread_id)
        if n <= 0:
            return stats
        rng = self.rng
        ids = self._ids("comments", n)
        first_id = ids[0]
        parent = [0] * n
        depth = [0] * n
        seq = [0] * n  # reply_seq: children handed out
        desc = [0] * n
        root = [0] * n
        path: list[str] = [""] * n
        tops: list[int] = []
        top_seq = 0
        pending_chain = 0
        for i in range(n):
            if pending_chain:
                p = i - 1
                pending_chain -= 1
            else:
                r = rng.random()
                if i == 0 or r < P_TOP:
                    p = -1
                elif r < P_TOP + P_REPLY_TOP:
                    p = rng.choice(tops)
                elif r < P_TOP + P_REPLY_TOP + P_CONVERSATION:
                    p = rng.randrange(i)
                    pending_chain = min(DEPTH_CAP, int(rng.expovariate(1 / CONVERSATION_MEAN)))
                else:
                    p = rng.randrange(i)
            while p >= 0 and depth[p] >= DEPTH_CAP:
                p = parent[p]
            parent[i] = p
            if p < 0:
                top_seq += 1
                path[i] = f"{top_seq:0{PATH_SEGMENT}d}"
                root[i] = i
                tops.append(i)
            else:
                seq[p] += 1
                depth[i] = depth[p] + 1
                root[i] = root[p]
                path[i] = f"{path[p]}.{seq[p]:0{PATH_SEGMENT}d}"
                q = p
                while q >= 0:
                    desc[q] += 1
                    q = parent[q]
        members = self.member_ids
        bodies = self.bodies
        ts = self.out.ts
        step = span / n
        rows = []
        for i in range(n):
            guest = not members or rng.random() < GUEST_SHARE
            author_id = None if guest else members[rng.randrange(len(members))]
            rows.append(
                (
                    first_id + i, thread_id,
                    None if parent[i] < 0 else first_id + parent[i],
                    first_id + root[i], depth[i], path[i], seq[i], desc[i],
                    "deleted" if rng.random() < DELETED_SHARE else "published",
                    author_id, f"Reader {rng.randrange(5000)}" if guest else None, not guest,
                    bodies[rng.randrange(len(bodies))], ts(start + step * i), False, False,
                )
            )  # fmt: skip
        self.out.write("comments", self.COMMENT_COLUMNS, rows)
        deepest = max(range(n), key=depth.__getitem__)
        stats.comments, stats.top_level = n, top_seq
        stats.max_depth, stats.deepest_id, stats.first_id = (
            depth[deepest],
            first_id + deepest,
            first_id,
        )
        self._thread_counters.append((n, top_seq, top_seq, thread_id))
        self.totals.comments += n
        self.totals.max_depth = max(self.totals.max_depth, stats.max_depth)
        self.progress(n)
        return stats

    def _flush_thread_counters(self) -> None:
        if self._thread_counters:
            self.out.executemany(
                "UPDATE threads SET comment_count = comment_count + ?, "
                "top_level_count = top_level_count + ?, reply_seq = reply_seq + ? WHERE id = ?",
                self._thread_counters,
            )
            self._thread_counters = []

    # --- articles -------------------------------------------------------------

    def article(self, slug: str, title: str, comments: int, when: datetime) -> ThreadStats:
        """An article with a thread of `comments` comments over the following weeks."""
        (thread_id,) = self._new_threads([title], [when])
        (article_id,) = self._ids("articles", 1)
        body = "\n\n".join(self.bodies[self.rng.randrange(len(self.bodies))] for _ in range(8))
        self.out.write(
            "articles",
            ("id", "slug", "title", "source", "author_name", "published_at", "body",
             "allow_guest_comments", "thread_id", "created_at"),
            [(article_id, slug, title, "Bench", "A. Writer", self.out.ts(when), body, True,
              thread_id, self.out.ts(when))],
        )  # fmt: skip
        self.totals.articles += 1
        return self.comments(thread_id, comments, when + timedelta(hours=1), timedelta(days=60))

    # --- rounds and proposals ---------------------------------------------------

    def round(
        self,
        slug: str,
        title: str,
        plans: list[ProposalPlan],
        start: datetime,
        days: int = 14,
        state: str = "open",
        threshold: int | None = None,
    ) -> list[tuple[int, int]]:
        """A round with one proposal per plan; returns (proposal id, thread id) pairs."""
        rng, ts = self.rng, self.out.ts
        (round_id,) = self._ids("rounds", 1)
        end = start + timedelta(days=days)
        closed = state == "closed"
        self.out.write(
            "rounds",
            ("id", "slug", "title", "description", "submission_deadline", "cosign_deadline",
             "threshold", "state", "last_number", "is_demo", "created_at", "closed_at"),
            [(round_id, slug, title, f"A generated round of {len(plans):,} proposals.",
              None if not closed else ts(end), None if not closed else ts(end), threshold,
              state, len(plans), True, ts(start), ts(end) if closed else None)],
        )  # fmt: skip
        n = len(plans)
        created = [start + timedelta(seconds=rng.randrange(days * 86400 // 2)) for _ in plans]
        created.sort()
        titles = [
            plan.title or _sentence(rng, rng.randint(4, 10)).rstrip(".")[:180] for plan in plans
        ]
        thread_ids = self._new_threads(
            [f"Proposal {k + 1}: {t}" for k, t in enumerate(titles)], created
        )
        proposal_ids = list(self._ids("proposals", n))
        members = self.member_ids
        proposal_rows, version_rows, cosign_rows, event_rows = [], [], [], []
        for k, plan in enumerate(plans):
            pid, when = proposal_ids[k], created[k]
            author = members[rng.randrange(len(members))]
            # `supporters` stay; a few more signed and took it back.
            removed_n = sum(rng.random() < REMOVED_SHARE for _ in range(plan.supporters))
            wanted = min(len(members) - 1, plan.supporters + removed_n)
            signers = [u for u in rng.sample(members, wanted + 1) if u != author][:wanted]
            removed_n = min(removed_n, len(signers))
            gone = set(rng.sample(range(len(signers)), removed_n))
            ended = end if plan.state == "open" else when + (end - when) * 0.8
            gap = (ended - when) / (len(signers) + 1)
            cosign_ids = self._ids("cosignatures", len(signers))
            for j, (cid, uid) in enumerate(zip(cosign_ids, signers, strict=True)):
                signed_at = when + gap * (j + 1)
                removed = j in gone
                removed_at = signed_at + (ended - signed_at) / 2 if removed else None
                cosign_rows.append((cid, pid, uid, ts(signed_at), ts(removed_at), 1))
                event_rows.append((pid, uid, "sign", ts(signed_at)))
                if removed:
                    event_rows.append((pid, uid, "unsign", ts(removed_at)))
            body = "\n\n".join(self.bodies[rng.randrange(len(self.bodies))] for _ in range(3))
            withdrawn = plan.state == "withdrawn"
            decided = plan.state in ("adopted", "rejected")
            proposal_rows.append(
                (pid, round_id, k + 1, titles[k], body, author, plan.state,
                 1 + len(signers) - removed_n, 1, ts(when), ts(when),
                 ts(ended) if withdrawn else None, "other" if withdrawn else None,
                 "Generated." if withdrawn else None,
                 ts(ended) if decided else None, thread_ids[k], False)
            )  # fmt: skip
            (vid,) = self._ids("proposal_versions", 1)
            version_rows.append((vid, pid, 1, titles[k], body, author, ts(when)))
        self.out.write(
            "proposals",
            ("id", "round_id", "number", "title", "body", "author_id", "state",
             "supporter_count", "version", "created_at", "updated_at", "withdrawn_at",
             "withdrawal_reason", "withdrawal_explanation", "decided_at", "thread_id",
             "is_hidden"),
            proposal_rows,
        )  # fmt: skip
        self.out.write(
            "proposal_versions",
            ("id", "proposal_id", "number", "title", "body", "editor_id", "created_at"),
            version_rows,
        )
        self.out.write(
            "cosignatures",
            ("id", "proposal_id", "user_id", "signed_at", "removed_at", "version_signed"),
            cosign_rows,
        )
        # Events in time order per proposal, ids in that order too.
        event_ids = self._ids("cosign_events", len(event_rows))
        self.out.write(
            "cosign_events",
            ("id", "proposal_id", "user_id", "kind", "at"),
            ((eid, *row) for eid, row in zip(event_ids, event_rows, strict=True)),
        )
        self.totals.rounds += 1
        self.totals.proposals += n
        self.totals.cosignatures += len(cosign_rows)
        self.totals.events += len(event_rows)
        self.progress(n + len(cosign_rows))
        for k, plan in enumerate(plans):
            if plan.comments:
                self.comments(thread_ids[k], plan.comments, created[k], end - created[k])
        self._flush_thread_counters()
        self.out.commit()
        return list(zip(proposal_ids, thread_ids, strict=True))

    def commit(self) -> None:
        self._flush_thread_counters()
        self.out.commit()

    def finish(self) -> Totals:
        self._flush_thread_counters()
        self.out.finish(self.next)
        db.session.expire_all()
        self.totals.seconds = time.monotonic() - self.started
        return self.totals


# --- the scale set --------------------------------------------------------------


@dataclass(frozen=True)
class ScaleSpec:
    members: int = 100_000
    proposals: int = 10_000
    comments: int = 1_000_000
    articles: int = 300
    # Share of the comments under articles (the rest under proposals).
    article_share: float = 0.4
    biggest_thread: int = 100_000
    seed: int = 2019
    # Round sizes as shares of the proposals; the last rounds stay open.
    round_shares: tuple[float, ...] = (0.0028, 0.02, 0.05, 0.09, 0.14, 0.2, 0.22, 0.2772)
    open_rounds: int = 2


def _split(rng: random.Random, total: int, n: int, alpha: float, cap: int) -> list[int]:
    """`total` split over `n` long-tailed parts, none above `cap`."""
    weights = [rng.paretovariate(alpha) for _ in range(n)]
    scale = total / sum(weights)
    parts = [min(cap, int(w * scale)) for w in weights]
    short = total - sum(parts)
    k = 0
    while short > 0:  # hand the rest out to parts below the cap
        room = cap - parts[k % n]
        give = min(room, short, max(1, total // n))
        parts[k % n] += give
        short -= give
        k += 1
    return parts


def supporter_counts(rng: random.Random, n: int, members: int) -> list[int]:
    """Co-signers per proposal: a long tail (median a handful), a few over 1,000."""
    counts = pareto_counts(rng, n, alpha=1.15, scale=4, cap=min(6_000, members - 1))
    # However the dice fall, a few proposals cross 1,000.
    for k, big in enumerate((1_050, 1_400, 2_500)):
        if k < n:
            counts[k * 97 % n] = max(counts[k * 97 % n], min(big, members - 1))
    return counts


def build_scale(spec: ScaleSpec = ScaleSpec(), echo=click.echo) -> Totals:
    """Add the scale data set to the database (on top of whatever is there)."""
    total_rows = spec.members + spec.proposals * 20 + spec.comments
    # The search index is built once after the load (one FTS5 rebuild, one
    # GIN build) rather than row by row by the triggers.
    with db.engine.begin() as conn:
        search_index.suspend_upkeep(conn)
    try:
        totals = _build_scale(spec, total_rows)
    finally:
        started = time.monotonic()
        with db.engine.begin() as conn:
            search_index.resume_upkeep(conn)
    echo(
        f"Scale data set: {totals.members:,} members, {totals.rounds} rounds, "
        f"{totals.proposals:,} proposals, {totals.cosignatures:,} co-signatures "
        f"({totals.events:,} events), {totals.articles} articles, {totals.comments:,} comments "
        f"(deepest {totals.max_depth} levels) in {totals.seconds:.0f} s "
        f"on {db.engine.dialect.name}; search index built in "
        f"{time.monotonic() - started:.0f} s."
    )
    return totals


def _build_scale(spec: ScaleSpec, total_rows: int) -> Totals:
    with click.progressbar(length=total_rows, label="Scale data set", file=None) as bar:
        builder = Builder(seed=spec.seed, progress=bar.update)
        rng = builder.rng
        builder.members(spec.members)
        builder.commit()
        article_comments = int(spec.comments * spec.article_share)
        proposal_comments = spec.comments - article_comments
        sizes = _split(rng, article_comments, spec.articles, 1.2, spec.biggest_thread)
        # The biggest article thread is exactly the biggest size: the stress case.
        sizes.sort(reverse=True)
        start = datetime(2019, 1, 1)
        for k, size in enumerate(sizes):
            builder.article(
                f"scale-article-{k + 1}",
                f"Scale article {k + 1} ({size:,} comments)",
                size,
                start + timedelta(hours=6 * k),
            )
            if k % 20 == 19:
                builder.commit()
        builder.commit()
        counts = supporter_counts(rng, spec.proposals, spec.members)
        discussed = _split(rng, proposal_comments, spec.proposals, 1.3, spec.biggest_thread // 4)
        round_sizes = [int(share * spec.proposals) for share in spec.round_shares]
        round_sizes[-1] += spec.proposals - sum(round_sizes)
        offset = 0
        for r, size in enumerate(round_sizes):
            is_open = r >= len(round_sizes) - spec.open_rounds
            plans = []
            for k in range(size):
                x = rng.random()
                if is_open:
                    state = "withdrawn" if x < 0.1 else "open"
                else:
                    state = "withdrawn" if x < 0.3 else "adopted" if x < 0.45 else "rejected"
                plans.append(ProposalPlan(counts[offset + k], state, discussed[offset + k]))
            offset += size
            builder.round(
                f"scale-round-{r + 1}",
                f"Scale round {r + 1} ({size:,} proposals)",
                plans,
                datetime(2019, 3, 1) + timedelta(days=45 * r),
                days=30,
                state="open" if is_open else "closed",
                threshold=max(10, size // 4),
            )
        return builder.finish()


def check_consistency() -> list[str]:
    """The invariants the generated rows must keep (empty list: all hold)."""
    problems = []
    queries = {
        "thread comment_count differs from its non-pending comments": """
            SELECT COUNT(*) FROM threads t WHERE t.comment_count <> (
              SELECT COUNT(*) FROM comments c WHERE c.thread_id = t.id AND c.status <> 'pending')
        """,
        "thread top_level_count differs from its top-level comments": """
            SELECT COUNT(*) FROM threads t WHERE t.top_level_count <> (
              SELECT COUNT(*) FROM comments c
              WHERE c.thread_id = t.id AND c.depth = 0 AND c.status <> 'pending')
        """,
        "supporter_count differs from active co-signatures + authors": """
            SELECT COUNT(*) FROM proposals p WHERE p.supporter_count <> 1 + (
              SELECT COUNT(*) FROM cosignatures s
              WHERE s.proposal_id = p.id AND s.removed_at IS NULL) + (
              SELECT COUNT(*) FROM proposal_coauthors a
              WHERE a.proposal_id = p.id AND a.status = 'accepted')
        """,
        "a reply's depth, root or path disagrees with its parent's": """
            SELECT COUNT(*) FROM comments c JOIN comments p ON p.id = c.parent_id
            WHERE c.depth <> p.depth + 1 OR c.root_id <> p.root_id
               OR c.thread_id <> p.thread_id OR SUBSTR(c.path, 1, LENGTH(p.path) + 1)
                  <> p.path || '.'
        """,
        "a comment's reply_seq is below its children's sequences": """
            SELECT COUNT(*) FROM comments c JOIN comments p ON p.id = c.parent_id
            WHERE CAST(SUBSTR(c.path, LENGTH(c.path) - 5, 6) AS INTEGER) > p.reply_seq
        """,
        "a top-level comment is not its own root": """
            SELECT COUNT(*) FROM comments WHERE depth = 0 AND root_id <> id
        """,
        "sign events differ from co-signatures": """
            SELECT ABS((SELECT COUNT(*) FROM cosign_events WHERE kind = 'sign')
                     - (SELECT COUNT(*) FROM cosignatures))
        """,
    }
    for message, sql in queries.items():
        n = db.session.scalar(sa.text(sql))
        if n:
            problems.append(f"{n:,}: {message}")
    return problems
