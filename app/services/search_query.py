"""What a searcher types, made safe for each engine.

The language is PostgreSQL's `websearch_to_tsquery`: words are all
required, "quoted phrases" match in order, `-word` excludes, and `or`
between two terms accepts either. PostgreSQL parses it itself (it never
raises on any input); for SQLite FTS5 the same language is parsed here and
written out as an FTS5 expression in which every word is a quoted string,
so nothing typed (`"`, `*`, `NEAR(`, `^`, `:`, a column name) can reach
FTS5's own syntax.
"""

import re
import unicodedata
from dataclasses import dataclass, field

# Longer queries are cut here: nobody types more, and it bounds the work.
QUERY_MAX = 200
TERMS_MAX = 16
_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


def clean(text: str | None) -> str:
    """Drop control characters (NUL would make PostgreSQL refuse the query), trim, cut."""
    if not text:
        return ""
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cs", "Cf") else ch for ch in str(text)
    )
    return " ".join(text.split())[:QUERY_MAX]


@dataclass
class Group:
    """Required terms (AND) and excluded ones; each term is a tuple of words (a phrase)."""

    required: list[tuple[str, ...]] = field(default_factory=list)
    excluded: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class Parsed:
    """Alternatives (OR) of groups, as websearch_to_tsquery reads `a b or c -d`."""

    groups: list[Group] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return [w for group in self.groups for term in group.required for w in term]

    def __bool__(self) -> bool:
        return bool(self.groups)


def parse(text: str) -> Parsed:
    """Parse the websearch language into terms made of plain words only."""
    parsed = Parsed()
    current = Group()
    terms = 0

    def close_group():
        # A group of exclusions alone would match nearly everything: dropped.
        if current.required:
            parsed.groups.append(current)

    for match in _TOKEN.finditer(clean(text)):
        if terms >= TERMS_MAX:
            break
        phrase, bare = match.group(1), match.group(2)
        negated = False
        if bare is not None:
            if bare.lower() == "or":
                if current.required:
                    close_group()
                    current = Group()
                continue
            if bare.startswith("-"):
                negated, bare = True, bare[1:]
            raw = bare
        else:
            raw = phrase
        words = tuple(w.lower() for w in _WORD.findall(raw))
        if not words:
            continue
        terms += 1
        (current.excluded if negated else current.required).append(words)
    close_group()
    return parsed


def _quote(term: tuple[str, ...]) -> str:
    # Words are \w+ only, so they hold no double quote; quoting makes them literal.
    return '"' + " ".join(term) + '"'


def fts5_expression(parsed: Parsed) -> str | None:
    """An FTS5 MATCH expression, or None when there is nothing to look for."""
    if not parsed:
        return None
    alternatives = []
    for group in parsed.groups:
        expr = " AND ".join(_quote(t) for t in group.required)
        for term in group.excluded:
            expr = f"({expr}) NOT {_quote(term)}"
        alternatives.append(f"({expr})")
    return " OR ".join(alternatives)


def fts5_any(words: list[str]) -> str | None:
    """Any of the words (for similar titles)."""
    words = list(dict.fromkeys(w.lower() for w in words))[:TERMS_MAX]
    return " OR ".join(_quote((w,)) for w in words) or None


def pg_any(words: list[str]) -> str | None:
    """A to_tsquery text matching any of the words (each \\w+, quoted as a lexeme)."""
    words = list(dict.fromkeys(w.lower() for w in words))[:TERMS_MAX]
    return " | ".join(f"'{w}'" for w in words) or None


def title_words(title: str) -> list[str]:
    return _WORD.findall(clean(title).lower())
