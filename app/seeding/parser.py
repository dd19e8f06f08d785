"""Parse a scraped source document into an article and its comments.

The documents are plain text as scraped from a Drupal news site:

    TITLE
    Submitted by SOURCE on 27 March, 2019 - 7:24 Author: NAME
    body paragraphs ...
    the list of related links (short one-line titles, not sentences)
    Submitted by NAME (not verified) on Sun, 31/03/2019 - 17:33
    [In reply to TITLE by NAME]
    comment paragraphs ...
    Add new comment
    cookie notice

Parsing is pure (no database): it returns a ParsedDocument or raises
DocumentError with every problem found, each with its line number.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

HEADER_PREFIX = "Submitted by "
ARTICLE_HEADER = re.compile(
    r"^Submitted by (?P<by>.+?) on (?P<when>.+?)(?:\s+Author:\s*(?P<author>.*?))?\s*$"
)
COMMENT_HEADER = re.compile(
    r"^Submitted by (?P<name>.+?)(?P<guest>\s+\(not verified\))? on (?P<when>.+?)\s*$"
)
IN_REPLY_TO = re.compile(r"^In reply to (?P<title>.*) by (?P<name>.+?)\s*$")
NOT_VERIFIED = re.compile(r"\s*\(not verified\)\s*$")
WEEKDAY = re.compile(r"^[A-Za-z]{3,9},?\s+(?=\d)")
DATE_FORMATS = (
    "%d %B, %Y - %H:%M",
    "%d %B %Y - %H:%M",
    "%d %b, %Y - %H:%M",
    "%d %b %Y - %H:%M",
    "%B %d, %Y - %H:%M",
    "%d/%m/%Y - %H:%M",
    "%d/%m/%y - %H:%M",
    "%Y-%m-%d - %H:%M",
    "%Y-%m-%d %H:%M",
)

# Site furniture: the comment form's heading and links, dropped wherever they are.
FURNITURE_LINES = frozenset(
    s.casefold()
    for s in (
        "Add new comment",
        "Comments",
        "Reply",
        "Permalink",
        "Log in or register to post comments",
        "Log in to post comments",
        "Related links",
        "Links",
    )
)
# "Add new comment" ends the content: what follows is the form and the footer.
END_OF_CONTENT = frozenset({"add new comment"})
COOKIE_NOTICE = re.compile(
    r"(\bcookies?\b.*\b(website|site|preferences|accept|consent|privacy)\b)"
    r"|(^By continuing to (use|browse) (this|our) (web)?site)"
    r"|(Privacy Policy and Terms)",
    re.IGNORECASE,
)
COOKIE_NOTICE_MAX = 250
# Related links at the end of the article: a run of short one-line paragraphs
# that are titles, not sentences. A title may end in a bracket or a quote
# ("Annual report (pdf)", “Why we left”), so those are looked through: a line
# is a sentence when what is left ends in sentence punctuation.
LINK_LINE_MAX = 120
SENTENCE_END = tuple(".!?…:;")
CLOSERS = "\"”’'»)]}*"


class DocumentError(Exception):
    """A document that does not parse: every problem, each as (line, message)."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        super().__init__("; ".join(f"line {line}: {msg}" for line, msg in problems))
        self.problems = problems


@dataclass
class ParsedComment:
    line: int
    name: str
    verified: bool
    created_at: datetime
    body: str
    # Index (in ParsedDocument.comments) of the comment this one replies to.
    parent_index: int | None = None
    reply_to_name: str | None = None


@dataclass
class ParsedDocument:
    title: str
    submitted_by: str
    author: str | None
    published_at: datetime
    body: str
    comments: list[ParsedComment] = field(default_factory=list)
    # Problems that do not stop the import (e.g. a reply whose target is missing).
    warnings: list[tuple[int, str]] = field(default_factory=list)


def parse_datetime(text: str) -> datetime | None:
    """'27 March, 2019 - 7:24' or 'Sun, 31/03/2019 - 17:33' (site-local time)."""
    text = " ".join(text.split())
    text = WEEKDAY.sub("", text)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def is_furniture(line: str) -> bool:
    stripped = line.strip()
    if stripped.casefold() in FURNITURE_LINES:
        return True
    # A cookie banner is a line or two; a long paragraph about cookies is content.
    return len(stripped) <= COOKIE_NOTICE_MAX and bool(COOKIE_NOTICE.search(stripped))


def _paragraphs(lines: list[tuple[int, str]]) -> list[list[str]]:
    """Group (number, text) lines into paragraphs split by blank lines."""
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for _number, text in lines:
        if text.strip():
            current.append(text.strip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _is_link_line(paragraph: list[str]) -> bool:
    """A one-line paragraph shaped like a link's title, not a sentence."""
    if len(paragraph) != 1:
        return False
    text = paragraph[0]
    core = text.rstrip(CLOSERS + " ")
    return len(text) <= LINK_LINE_MAX and bool(core) and not core.endswith(SENTENCE_END)


def _strip_link_list(paragraphs: list[list[str]]) -> list[list[str]]:
    """The body without the related-links block (the run of title lines at its end).

    The first paragraph is always body, even when it is short.
    """
    end = len(paragraphs)
    while end > 1 and _is_link_line(paragraphs[end - 1]):
        end -= 1
    return paragraphs[:end]


def _join(paragraphs: list[list[str]]) -> str:
    return "\n\n".join("\n".join(p) for p in paragraphs)


def _clean_name(name: str) -> str:
    return " ".join(NOT_VERIFIED.sub("", name).split())


def parse_document(text: str) -> ParsedDocument:
    """Parse one document; raise DocumentError naming each bad line."""
    problems: list[tuple[int | None, str]] = []
    lines = [(number, line.rstrip("\r")) for number, line in enumerate(text.split("\n"), 1)]
    lines = [(n, line.replace("\ufeff", "")) for n, line in lines]
    meaningful = [(n, line) for n, line in lines if line.strip()]
    if not meaningful:
        raise DocumentError([(1, "the document is empty")])

    title_line, title = meaningful[0]
    title = " ".join(title.split())
    if title.startswith(HEADER_PREFIX):
        raise DocumentError(
            [(title_line, "no title: the first line is already a 'Submitted by' header")]
        )
    if len(meaningful) < 2:
        raise DocumentError(
            [
                (
                    title_line,
                    "no 'Submitted by SOURCE on DATE - TIME Author: NAME' header after the title",
                )
            ]
        )
    header_line, header = meaningful[1]
    match = ARTICLE_HEADER.match(header.strip())
    if not match:
        raise DocumentError(
            [
                (
                    header_line,
                    "expected the article header 'Submitted by SOURCE on DATE - TIME "
                    f"Author: NAME' after the title, found {header.strip()[:60]!r}",
                )
            ]
        )
    published_at = parse_datetime(match["when"])
    if published_at is None:
        raise DocumentError(
            [
                (
                    header_line,
                    f"the article date {match['when']!r} cannot be read "
                    "(expected e.g. '27 March, 2019 - 7:24')",
                )
            ]
        )
    submitted_by = match["by"].strip()
    author = (match["author"] or "").strip() or None

    # Split the rest into the article body and one block per comment.
    blocks: list[dict] = [{"kind": "article", "line": header_line, "lines": []}]
    ended = False  # after "Add new comment", only comment headers matter
    for number, line in lines:
        if number <= header_line:
            continue
        stripped = line.strip()
        if stripped.startswith(HEADER_PREFIX) and " on " in stripped:
            comment = COMMENT_HEADER.match(stripped)
            when = parse_datetime(comment["when"]) if comment else None
            if comment is None or when is None:
                problems.append(
                    (
                        number,
                        f"comment header with a date that cannot be read: {stripped[:80]!r} "
                        "(expected e.g. 'Submitted by NAME on Sun, 31/03/2019 - 17:33')",
                    )
                )
                blocks.append({"kind": "bad", "line": number, "lines": []})
            else:
                blocks.append(
                    {
                        "kind": "comment",
                        "line": number,
                        "name": _clean_name(comment["name"]),
                        "verified": comment["guest"] is None,
                        "when": when,
                        "lines": [],
                    }
                )
            ended = False
            continue
        if stripped.casefold() in END_OF_CONTENT:
            ended = True
            continue
        if ended or is_furniture(stripped):
            continue
        blocks[-1]["lines"].append((number, line))

    body_paragraphs = _strip_link_list(_paragraphs(blocks[0]["lines"]))
    if not body_paragraphs:
        problems.append((header_line, "the article has no body text after its header"))

    doc = ParsedDocument(
        title=title,
        submitted_by=submitted_by,
        author=author,
        published_at=published_at,
        body=_join(body_paragraphs),
    )
    for block in blocks[1:]:
        if block["kind"] != "comment":
            continue
        paragraphs = _paragraphs(block["lines"])
        reply_to = None
        if paragraphs and (reply := IN_REPLY_TO.match(paragraphs[0][0])):
            reply_to = _clean_name(reply["name"])
            paragraphs[0] = paragraphs[0][1:]
            if not paragraphs[0]:
                paragraphs = paragraphs[1:]
        if not paragraphs:
            problems.append((block["line"], f"the comment by {block['name']} has no text"))
            continue
        parsed = ParsedComment(
            line=block["line"],
            name=block["name"],
            verified=block["verified"],
            created_at=block["when"],
            body=_join(paragraphs),
            reply_to_name=reply_to,
        )
        if reply_to is not None:
            wanted = reply_to.casefold()
            for index in range(len(doc.comments) - 1, -1, -1):
                if doc.comments[index].name.casefold() == wanted:
                    parsed.parent_index = index
                    break
            else:
                doc.warnings.append(
                    (
                        block["line"],
                        f"'In reply to ... by {reply_to}': no earlier comment by "
                        f"{reply_to}, imported as a top-level comment",
                    )
                )
        doc.comments.append(parsed)
    if problems:
        raise DocumentError(sorted(problems, key=lambda problem: problem[0] or 0))
    return doc
