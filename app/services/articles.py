"""Articles written or imported by admins in the browser.

Writing: an admin gives the title, source, author, date, original URL and a
Markdown body, and whether guests may comment. Importing: a document in the
seed format goes through the very parser and importer of `flask seed`
(app/seeding/), known by its name as a seed file is known by its file name,
so importing it twice changes nothing and a re-scraped copy adds only its
new comments. `plan_import` tells, without writing, what an import would do.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath

import sqlalchemy as sa

from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models import Article, Comment, Thread
from ..seeding.documents import SeedReport, comment_keys, import_text, slugify, unique_slug
from ..seeding.parser import DocumentError, ParsedDocument, parse_document
from ..timeutil import utcnow
from .proposals import _clean_text, _require_active

TITLE_MAX = 300
SOURCE_MAX = 200
AUTHOR_MAX = 200
URL_MAX = 1000
BODY_MAX = 200_000
# A document (upload or paste); MAX_CONTENT_LENGTH bounds the request as a whole.
DOCUMENT_MAX = 500_000
ORIGIN_MAX = 300


def _require_admin(actor) -> None:
    _require_active(actor)
    if not actor.is_admin:
        raise PermissionDenied("Only admins can write and import articles.")


def _one_line(value, name: str, label: str, max_len: int, required: bool = False) -> str | None:
    value = _clean_text(value, name, label, max_len, required)
    if "\n" in value or "\r" in value:
        raise ValidationError(f"{label} must fit on one line.", field=name)
    return " ".join(value.split()) or None


def clean_url(value) -> str | None:
    """An original URL: empty, or http(s) with a host."""
    url = _one_line(value, "original_url", "The original URL", URL_MAX)
    if url is None:
        return None
    if not re.match(r"^https?://[^\s/?#]+", url, re.IGNORECASE):
        raise ValidationError(
            "Give a full web address starting with http:// or https://.", field="original_url"
        )
    return url


@dataclass
class ArticleFields:
    title: str
    body: str
    source: str | None = None
    author_name: str | None = None
    published_at: datetime | None = None
    original_url: str | None = None
    allow_guest_comments: bool = True

    def cleaned(self) -> "ArticleFields":
        return ArticleFields(
            title=_one_line(self.title, "title", "The title", TITLE_MAX, required=True),
            body=_clean_text(self.body, "body", "The text", BODY_MAX),
            source=_one_line(self.source, "source", "The source", SOURCE_MAX),
            author_name=_one_line(self.author_name, "author_name", "The author", AUTHOR_MAX),
            published_at=self.published_at,
            original_url=clean_url(self.original_url),
            allow_guest_comments=bool(self.allow_guest_comments),
        )


def _apply(article: Article, fields: ArticleFields) -> None:
    article.title = fields.title
    article.body = fields.body
    article.source = fields.source
    article.submitted_by = fields.source
    article.author_name = fields.author_name
    article.published_at = fields.published_at
    article.original_url = fields.original_url
    article.allow_guest_comments = fields.allow_guest_comments


def write_article(actor, fields: ArticleFields, now: datetime | None = None) -> Article:
    """A new article with its (empty) comment thread, written by an admin."""
    _require_admin(actor)
    fields = fields.cleaned()
    now = now or utcnow()
    thread = Thread(title=fields.title, created_at=now)
    db.session.add(thread)
    db.session.flush()
    article = Article(
        slug=unique_slug(fields.title), thread_id=thread.id, created_by_id=actor.id, created_at=now
    )
    _apply(article, fields)
    db.session.add(article)
    db.session.flush()
    return article


def edit_article(article: Article, actor, fields: ArticleFields) -> Article:
    """Change an article; its address (slug) stays, so links keep working."""
    _require_admin(actor)
    fields = fields.cleaned()
    _apply(article, fields)
    thread = db.session.get(Thread, article.thread_id)
    if thread is not None:
        thread.title = fields.title
    db.session.flush()
    return article


# --- Import --------------------------------------------------------------------


def clean_origin(name) -> str:
    """The name a document is known by (its file name, without folders)."""
    if not isinstance(name, str):
        raise ValidationError("Give the document a name.", field="name")
    name = PureWindowsPath(PurePosixPath(name.strip()).name).name.strip()
    name = unicodedata.normalize("NFC", name)
    if not name or name in {".", ".."}:
        raise ValidationError("Give the document a name, e.g. 001_article.txt.", field="name")
    if len(name) > ORIGIN_MAX:
        raise ValidationError(f"A name has at most {ORIGIN_MAX} characters.", field="name")
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise ValidationError("The name holds control characters.", field="name")
    return name


def default_origin(text: str) -> str:
    """The name of a pasted document with no name given: from its title."""
    try:
        title = parse_document(text).title
    except DocumentError:
        title = "document"
    return f"{slugify(title)}.txt"


def decode_document(data: bytes) -> str:
    """An uploaded file's text (UTF-8, with or without a byte order mark)."""
    if len(data) > DOCUMENT_MAX:
        raise ValidationError(
            f"The document has {len(data):,} bytes; the most is {DOCUMENT_MAX:,}.",
            field="document",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"The file is not UTF-8 text (line {line}, byte {exc.start + 1}): save it as UTF-8.",
            field="document",
        ) from exc


def _unstorable_lines(text: str) -> list[tuple[int, str]]:
    """Lines holding control characters a database cannot keep (NUL, escapes...)."""
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        if any(unicodedata.category(ch) == "Cc" and ch not in "\t\r" for ch in line):
            problems.append((number, "the line holds control characters; remove them"))
    return problems


@dataclass
class ImportPlan:
    """What importing a document would do, found without writing anything."""

    origin: str
    doc: ParsedDocument | None = None
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    article: Article | None = None  # already imported under this name
    new_comments: int = 0
    known_comments: int = 0

    @property
    def ok(self) -> bool:
        return self.doc is not None and not self.problems

    @property
    def warnings(self) -> list[tuple[int, str]]:
        return self.doc.warnings if self.doc is not None else []

    @property
    def changes_nothing(self) -> bool:
        return self.ok and self.article is not None and self.new_comments == 0


def plan_import(origin: str, text: str) -> ImportPlan:
    """Parse the document as `flask seed` would and tell what an import would create."""
    plan = ImportPlan(origin=origin)
    if len(text) > DOCUMENT_MAX:
        plan.problems.append((None, f"the document has over {DOCUMENT_MAX:,} characters"))
        return plan
    plan.problems.extend(_unstorable_lines(text))
    try:
        doc = parse_document(text)
    except DocumentError as exc:
        plan.problems.extend(exc.problems)
        plan.problems.sort(key=lambda p: p[0] or 0)
        return plan
    if plan.problems:
        return plan
    plan.doc = doc
    plan.article = db.session.scalar(sa.select(Article).where(Article.origin_file == origin))
    keys = comment_keys(origin, doc)
    known = set()
    if keys and plan.article is not None:
        known = set(
            db.session.scalars(sa.select(Comment.source_key).where(Comment.source_key.in_(keys)))
        )
    plan.known_comments = sum(1 for k in keys if k in known)
    plan.new_comments = len(keys) - plan.known_comments
    return plan


def import_document(actor, origin: str, text: str) -> tuple[SeedReport, Article]:
    """Import one document as `flask seed` does; nothing is written if it has a problem."""
    _require_admin(actor)
    origin = clean_origin(origin)
    plan = plan_import(origin, text)
    if not plan.ok:
        first = plan.problems[0]
        where = f"line {first[0]}: " if first[0] else ""
        raise ValidationError(f"The document does not parse ({where}{first[1]}).", field="text")
    report = SeedReport()
    import_text(origin, text, report)
    article = db.session.scalar(sa.select(Article).where(Article.origin_file == origin))
    if article.created_by_id is None and report.articles_created:
        article.created_by_id = actor.id
    db.session.flush()
    return report, article
