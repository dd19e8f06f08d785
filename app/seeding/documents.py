"""Import the seed documents (SPEC §5): `flask seed` and `flask seed PATH...`.

Idempotent: an article is known by its file name (Article.origin_file) and a
comment by a key made of the file, its author, date, text and occurrence
(Comment.source_key), so a second run creates nothing, and a re-scraped file
with new comments adds only those. Each file is its own transaction: a file
that does not parse is reported with its name and line, and the others load.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from ..extensions import db
from ..models.thread import Article, Comment, CommentStatus, Thread
from ..services.comments import insert_comment
from .parser import DocumentError, ParsedDocument, parse_document

SLUG_MAX = 80
# Addresses of the admin pages beside /articles/<slug>.
RESERVED_SLUGS = frozenset({"new", "import"})


@dataclass
class SeedProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class SeedReport:
    """What a seed run did, for printing: created, already there, warnings, errors."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    warnings: list[SeedProblem] = field(default_factory=list)
    errors: list[SeedProblem] = field(default_factory=list)
    articles_created: int = 0
    comments_created: int = 0

    def lines(self) -> list[str]:
        out = [f"Created: {line}" for line in self.created]
        out += [f"Already there: {line}" for line in self.existing]
        out += [f"Warning: {problem}" for problem in self.warnings]
        out += [f"Error: {problem}" for problem in self.errors]
        out.append(
            f"Seed documents: {self.articles_created} articles and "
            f"{self.comments_created} comments created, {len(self.existing)} files already "
            f"imported, {len({e.file for e in self.errors})} files with errors."
        )
        return out


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "article"


def unique_slug(title: str) -> str:
    """A slug for `title` no other article has (-2, -3... when taken)."""
    base = slugify(title)
    taken = RESERVED_SLUGS | set(
        db.session.scalars(
            sa.select(Article.slug).where(
                sa.or_(Article.slug == base, Article.slug.like(f"{base}-%"))
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _document_files(paths: list[Path], report: SeedReport) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".txt"))
        elif path.is_file():
            files.append(path)
        else:
            report.errors.append(SeedProblem(str(path), None, "no such file or folder"))
    return files


def _comment_key(origin: str, comment, occurrence: int) -> str:
    raw = "\n".join(
        [origin, comment.name, comment.created_at.isoformat(), comment.body, str(occurrence)]
    )
    return "seed:" + hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()


def comment_keys(origin: str, doc: ParsedDocument) -> list[str]:
    """The idempotency key of each parsed comment, in order (repeats counted)."""
    seen: dict[str, int] = {}
    keys = []
    for parsed in doc.comments:
        base = f"{parsed.name}|{parsed.created_at.isoformat()}|{parsed.body}"
        seen[base] = seen.get(base, 0) + 1
        keys.append(_comment_key(origin, parsed, seen[base]))
    return keys


def import_text(origin: str, text: str, report: SeedReport) -> bool:
    """Parse and import one document known as `origin`, without committing.

    False when it does not parse: its problems, with line numbers, are in
    `report.errors` and nothing was written.
    """
    try:
        doc = parse_document(text)
    except DocumentError as exc:
        report.errors.extend(SeedProblem(origin, line, msg) for line, msg in exc.problems)
        return False
    report.warnings.extend(SeedProblem(origin, line, msg) for line, msg in doc.warnings)
    _import_document(origin, doc, report)
    return True


def _import_document(origin: str, doc: ParsedDocument, report: SeedReport) -> None:
    article = db.session.scalar(sa.select(Article).where(Article.origin_file == origin))
    created_article = article is None
    if created_article:
        thread = Thread(title=doc.title)
        db.session.add(thread)
        db.session.flush()
        article = Article(
            slug=unique_slug(doc.title),
            title=doc.title,
            source=doc.submitted_by,
            submitted_by=doc.submitted_by,
            author_name=doc.author,
            published_at=doc.published_at,
            body=doc.body,
            origin_file=origin,
            thread_id=thread.id,
        )
        db.session.add(article)
        db.session.flush()
    thread = db.session.get(Thread, article.thread_id)

    keys = comment_keys(origin, doc)
    existing = (
        {
            c.source_key: c
            for c in db.session.scalars(sa.select(Comment).where(Comment.source_key.in_(keys)))
        }
        if keys
        else {}
    )

    placed: list[Comment] = []
    added = 0
    for parsed, key in zip(doc.comments, keys, strict=True):
        comment = existing.get(key)
        if comment is None:
            parent = placed[parsed.parent_index] if parsed.parent_index is not None else None
            comment = insert_comment(
                thread,
                parent,
                body=parsed.body,
                author_name=parsed.name,
                is_verified=parsed.verified,
                status=CommentStatus.published,
                created_at=parsed.created_at,
                source_key=key,
            )
            added += 1
        placed.append(comment)

    count = len(doc.comments)
    noun = "comment" if count == 1 else "comments"
    label = f"article “{article.title}” ({origin}, /articles/{article.slug})"
    if created_article:
        report.created.append(f"{label} with {count} {noun}")
        report.articles_created += 1
    elif added:
        report.created.append(f"{added} new comments on {label}")
    else:
        report.existing.append(f"{label}, {count} {noun}")
    report.comments_created += added


def seed_paths(paths: list[Path]) -> SeedReport:
    """Import every document under `paths` (files or folders of .txt files)."""
    report = SeedReport()
    for path in _document_files(paths, report):
        origin = path.name
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            report.errors.append(SeedProblem(origin, None, f"not UTF-8 text ({exc.reason})"))
            continue
        except OSError as exc:
            report.errors.append(SeedProblem(origin, None, f"cannot be read: {exc.strerror}"))
            continue
        try:
            if not import_text(origin, text, report):
                continue
            db.session.commit()
        except sa.exc.SQLAlchemyError as exc:
            db.session.rollback()
            report.errors.append(
                SeedProblem(origin, None, f"could not be saved: {exc.__class__.__name__}")
            )
    return report
