"""`flask check [--fix]`: recount every stored counter and order path against the rows.

The counters are kept exact in SQL by the services (`n = n + 1` in the
transaction that adds the row), so drift means a bug, a manual edit of the
database or a restore of a damaged copy. This module recomputes each one
from the rows it summarises and reports (and, with `fix=True`, repairs)
every difference:

- proposals.supporter_count = 1 (the author) + accepted co-authors + active co-signatures
- rounds.last_number = the highest proposal number of the round
- threads.comment_count / top_level_count = comments (and top-level comments) members
  see in place, i.e. every comment but the pending ones
- threads.reply_seq = the highest sequence among the thread's top-level comments
- comments.path = the parent's path + "." + the comment's own segment; depth = its
  level; root_id = the top-level comment above it (itself at the top)
- comments.descendant_count = non-pending comments below it; comments.reply_seq = the
  highest sequence among its direct replies

A check reads everything in one transaction. With `fix`, the tables are
locked against writers first (SQLite BEGIN IMMEDIATE, PostgreSQL LOCK TABLE
... IN EXCLUSIVE MODE: the site keeps reading), so a repair never races a
request.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from .database import write_transactions
from .extensions import db
from .models import (
    CoauthorStatus,
    Comment,
    CommentStatus,
    Cosignature,
    Proposal,
    ProposalCoauthor,
    Round,
    Thread,
)
from .models.thread import PATH_SEGMENT
from .models.triggers import (
    TRIGGER_NAMES,
    drop_touch_triggers,
    install_touch_triggers,
    missing_triggers,
)

LOCKED_TABLES = ("rounds", "proposals", "proposal_coauthors", "cosignatures", "threads", "comments")


@dataclass
class Problem:
    table: str
    row_id: int
    column: str
    stored: object
    expected: object
    # False when the right value cannot be worked out safely (a cycle, a clash).
    fixable: bool = True
    note: str = ""
    # A problem that is no single column's value (the search index) says itself.
    message: str = ""

    def line(self) -> str:
        if self.message:
            return self.message
        text = f"{self.table} {self.row_id}: {self.column} is {self.stored!r}, should be "
        text += f"{self.expected!r}"
        if self.note:
            text += f" ({self.note})"
        if not self.fixable:
            text += " [cannot be fixed automatically]"
        return text


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    fixed: int = 0

    def lines(self) -> list[str]:
        counted = ", ".join(f"{n} {name}" for name, n in self.checked.items())
        out = [f"Checked {counted}."]
        out += [problem.line() for problem in self.problems]
        if not self.problems:
            out.append("No drift: every counter and order path matches the rows.")
        elif self.fixed:
            out.append(f"Fixed {self.fixed} of {len(self.problems)} problem(s).")
        else:
            out.append(f"{len(self.problems)} problem(s) found; run `flask check --fix` to repair.")
        return out

    @property
    def unfixed(self) -> list[Problem]:
        return [p for p in self.problems if not p.fixable]


def run_checks(fix: bool = False) -> CheckReport:
    """Recount everything; with `fix`, repair the drift and commit."""
    db.session.rollback()
    if not fix:
        return _check_in_snapshot()
    with write_transactions():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text(f"LOCK TABLE {', '.join(LOCKED_TABLES)} IN EXCLUSIVE MODE"))
        report = _collect()
        _apply(report.problems)
        report.fixed = sum(1 for p in report.problems if p.fixable)
        db.session.commit()
    return report


def _check_in_snapshot() -> CheckReport:
    if db.engine.dialect.name == "postgresql":
        # One snapshot for every query, so a busy site shows no false drift.
        db.session.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    try:
        return _collect()
    finally:
        db.session.rollback()


def _collect() -> CheckReport:
    report = CheckReport()
    _check_supporters(report)
    _check_round_numbers(report)
    _check_threads_and_comments(report)
    _check_touch_triggers(report)
    _check_search_index(report)
    return report


def _check_touch_triggers(report: CheckReport) -> None:
    missing = missing_triggers(db.session.connection())
    report.checked["touch triggers"] = len(TRIGGER_NAMES[db.engine.dialect.name])
    for name in sorted(missing):
        report.problems.append(
            Problem("triggers", 0, name, "missing", "present", note="cached pages could go stale")
        )


def _check_search_index(report: CheckReport) -> None:
    """The full-text index holds exactly the rows' current text (fixed by a rebuild)."""
    from .models import search_index

    problems = search_index.check(db.session.connection())
    report.checked["search indexes"] = len(search_index.INDEXED)
    for message in problems:
        report.problems.append(
            Problem("search", 0, "index", None, None, message=message + "; --fix rebuilds it")
        )


# Proposals and rounds ---------------------------------------------------------------


def _check_supporters(report: CheckReport) -> None:
    signatures = (
        sa.select(Cosignature.proposal_id, sa.func.count().label("n"))
        .where(Cosignature.removed_at.is_(None))
        .group_by(Cosignature.proposal_id)
        .subquery()
    )
    coauthors = (
        sa.select(ProposalCoauthor.proposal_id, sa.func.count().label("n"))
        .join(Proposal, Proposal.id == ProposalCoauthor.proposal_id)
        .where(
            ProposalCoauthor.status == CoauthorStatus.accepted,
            ProposalCoauthor.user_id != Proposal.author_id,
        )
        .group_by(ProposalCoauthor.proposal_id)
        .subquery()
    )
    expected = 1 + sa.func.coalesce(signatures.c.n, 0) + sa.func.coalesce(coauthors.c.n, 0)
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.supporter_count, expected)
        .outerjoin(signatures, signatures.c.proposal_id == Proposal.id)
        .outerjoin(coauthors, coauthors.c.proposal_id == Proposal.id)
        .order_by(Proposal.id)
    ).all()
    report.checked["proposals"] = len(rows)
    for proposal_id, stored, should in rows:
        if stored != should:
            report.problems.append(
                Problem("proposals", proposal_id, "supporter_count", stored, int(should))
            )


def _check_round_numbers(report: CheckReport) -> None:
    highest = (
        sa.select(Proposal.round_id, sa.func.max(Proposal.number).label("n"))
        .group_by(Proposal.round_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Round.id, Round.last_number, sa.func.coalesce(highest.c.n, 0))
        .outerjoin(highest, highest.c.round_id == Round.id)
        .order_by(Round.id)
    ).all()
    report.checked["rounds"] = len(rows)
    for round_id, stored, should in rows:
        if stored != should:
            report.problems.append(Problem("rounds", round_id, "last_number", stored, int(should)))


# Threads and comments ---------------------------------------------------------------


@dataclass
class _Row:
    id: int
    thread_id: int
    parent_id: int | None
    root_id: int | None
    depth: int
    path: str
    status: str
    reply_seq: int
    descendant_count: int


def _segment_number(segment: str) -> int | None:
    return int(segment) if len(segment) == PATH_SEGMENT and segment.isdigit() else None


def _check_threads_and_comments(report: CheckReport) -> None:
    threads = {
        row.id: row
        for row in db.session.execute(
            sa.select(Thread.id, Thread.comment_count, Thread.top_level_count, Thread.reply_seq)
        )
    }
    report.checked["threads"] = len(threads)
    by_thread: dict[int, list[_Row]] = defaultdict(list)
    total = 0
    stmt = sa.select(
        Comment.id,
        Comment.thread_id,
        Comment.parent_id,
        Comment.root_id,
        Comment.depth,
        Comment.path,
        Comment.status,
        Comment.reply_seq,
        Comment.descendant_count,
    ).order_by(Comment.thread_id, Comment.id)
    for row in db.session.execute(stmt.execution_options(yield_per=2000)):
        by_thread[row.thread_id].append(_Row(*row))
        total += 1
    report.checked["comments"] = total
    ids_everywhere = {r.id: r for rows in by_thread.values() for r in rows}
    for thread_id, thread in threads.items():
        _check_thread(report, thread, by_thread.get(thread_id, []), ids_everywhere)


def _check_thread(report: CheckReport, thread, rows: list[_Row], everywhere: dict) -> None:
    by_id = {r.id: r for r in rows}
    children: dict[int, list[_Row]] = defaultdict(list)
    roots: list[_Row] = []
    for r in rows:
        if r.parent_id is None:
            roots.append(r)
        elif r.parent_id in by_id:
            children[r.parent_id].append(r)
        else:
            elsewhere = everywhere.get(r.parent_id)
            report.problems.append(
                Problem(
                    "comments",
                    r.id,
                    "parent_id",
                    r.parent_id,
                    None,
                    fixable=False,
                    note=(
                        f"its parent is in thread {elsewhere.thread_id}"
                        if elsewhere
                        else "its parent does not exist"
                    ),
                )
            )

    # Walk the tree from the top-level comments: the expected path, depth and root of
    # every comment follow from its parent's.
    expected: dict[int, tuple[str, int, int]] = {}
    counted_below: dict[int, int] = {}
    order: list[_Row] = []
    stack = [(r, None) for r in roots]
    while stack:
        r, parent = stack.pop()
        own = r.path.rsplit(".", 1)[-1]
        if parent is None:
            expected[r.id] = (own, 0, r.id)
        else:
            p_path, p_depth, p_root = expected[parent.id]
            expected[r.id] = (f"{p_path}.{own}", p_depth + 1, p_root)
        order.append(r)
        stack.extend((child, r) for child in children.get(r.id, []))
    unreached = [r for r in rows if r.id not in expected and r.parent_id in by_id]
    for r in unreached:
        report.problems.append(
            Problem("comments", r.id, "parent_id", r.parent_id, None, False, "a cycle of parents")
        )

    # Paths must be unique in a thread: a repair that would clash is refused.
    taken = Counter(expected[r.id][0] for r in order)
    clashes = {path for path, n in taken.items() if n > 1}

    for r in reversed(order):  # children before parents
        path, depth, root = expected[r.id]
        if _segment_number(r.path.rsplit(".", 1)[-1]) is None:
            report.problems.append(
                Problem("comments", r.id, "path", r.path, None, False, "malformed segment")
            )
        elif r.path != path:
            report.problems.append(
                Problem("comments", r.id, "path", r.path, path, fixable=path not in clashes)
            )
        if r.depth != depth:
            report.problems.append(Problem("comments", r.id, "depth", r.depth, depth))
        if r.root_id != root:
            report.problems.append(Problem("comments", r.id, "root_id", r.root_id, root))
        kids = children.get(r.id, [])
        below = sum(counted_below[k.id] + (k.status != CommentStatus.pending.value) for k in kids)
        counted_below[r.id] = below
        if r.descendant_count != below:
            report.problems.append(
                Problem("comments", r.id, "descendant_count", r.descendant_count, below)
            )
        seq = max((_segment_number(k.path.rsplit(".", 1)[-1]) or 0 for k in kids), default=0)
        if r.reply_seq != seq:
            report.problems.append(Problem("comments", r.id, "reply_seq", r.reply_seq, seq))

    if len(order) < len(rows):
        # Rows outside the tree: the thread's own counts would be guesses until a
        # person has put them back.
        return
    visible = [r for r in rows if r.status != CommentStatus.pending.value]
    should = {
        "comment_count": len(visible),
        "top_level_count": sum(1 for r in visible if r.parent_id is None),
        "reply_seq": max(
            (_segment_number(r.path.rsplit(".", 1)[-1]) or 0 for r in roots), default=0
        ),
    }
    for column, value in should.items():
        if getattr(thread, column) != value:
            report.problems.append(
                Problem("threads", thread.id, column, getattr(thread, column), value)
            )


# Repairs ------------------------------------------------------------------------------

_MODELS = {"proposals": Proposal, "rounds": Round, "threads": Thread, "comments": Comment}


def _apply(problems: list[Problem]) -> None:
    if any(p.table == "triggers" for p in problems):
        connection = db.session.connection()
        drop_touch_triggers(connection)
        install_touch_triggers(connection)
    if any(p.table == "search" for p in problems):
        from .models import search_index

        search_index.rebuild(db.session.connection())
    problems = [p for p in problems if p.table not in ("search", "triggers")]
    fixable = [p for p in problems if p.fixable]
    paths = [p for p in fixable if p.table == "comments" and p.column == "path"]
    if paths:
        # Move the rows out of the way first: (thread_id, path) is unique.
        for p in paths:
            db.session.execute(
                sa.update(Comment).where(Comment.id == p.row_id).values(path=f"~{p.row_id}")
            )
        db.session.flush()
    for p in fixable:
        model = _MODELS[p.table]
        db.session.execute(
            sa.update(model)
            .where(model.id == p.row_id)
            .values({p.column: p.expected})
            .execution_options(synchronize_session=False)
        )
    db.session.expire_all()
