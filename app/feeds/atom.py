"""Atom documents (RFC 4287) through feedgen, and the HTTP answer that carries them.

The routes gather `Entry` values (what a visitor may see, from the
services' queries); this module only writes them down: stable tag: ids,
absolute links, sanitised HTML content, times in UTC.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import Response, request
from markupsafe import Markup

from ..markdown import render_markdown
from ..urls import site_url

ATOM_TYPE = "application/atom+xml"
# Each feed shows the newest entries only: a reader polls, it does not archive.
FEED_LIMIT = 50
SITE_NAME = "Plenary"
# Characters XML 1.0 cannot carry (lxml refuses them): C0 controls but tab,
# line feed and carriage return, lone surrogates, and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Links inside rendered Markdown are paths of this site ("/users/ada"): a feed
# is read elsewhere, so they are made absolute. nh3 writes every attribute
# value in double quotes.
_SITE_PATH = re.compile(r'href="/(?!/)')


@dataclass
class Entry:
    """One atom:entry: `key` names it for ever ("comment/12"), `at` dates its tag: id."""

    key: str
    at: datetime
    title: str
    link: str
    updated: datetime
    author: str
    content: str  # HTML, already sanitised (`html_of`) or escaped (`paragraph`)
    published: datetime | None = None


def _text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def tag_uri(key: str, at: datetime) -> str:
    """A tag: URI (RFC 4151) for `key`, minted on the day it was made: it never changes.

    Not a permalink: those move when a comment moves or the site's address
    changes, and a feed reader would show the entry again.
    """
    host = urlsplit(site_url()).hostname or "localhost"
    return f"tag:{host},{at:%Y-%m-%d}:{key}"


def html_of(markdown_text: str | None) -> str:
    """Member-written Markdown as the pages render it (app.markdown), links made absolute."""
    return _SITE_PATH.sub(f'href="{site_url()}/', str(render_markdown(markdown_text)))


def paragraph(*parts) -> Markup:
    """A <p> of plain text (escaped) and `anchor`s."""
    return Markup("<p>{}</p>").format(Markup("").join(part or "" for part in parts))


def anchor(text: str, href: str | None) -> Markup:
    """`text` linked to `href` (escaped), or just `text` when there is no link."""
    if not href:
        return Markup("{}").format(text)
    return Markup('<a href="{}">{}</a>').format(href, text)


def atom_response(
    *,
    key: str,
    at: datetime,
    title: str,
    self_url: str,
    page_url: str,
    entries: list[Entry],
    empty_updated: datetime,
    subtitle: str | None = None,
    private: bool = False,
) -> Response:
    """The feed as an HTTP answer: Atom, with a Last-Modified and an ETag for conditional GETs.

    `updated` is the newest entry's (or `empty_updated` when there is none),
    so an unchanged feed keeps its validators and a reader gets a 304.
    """
    entries = sorted(entries, key=lambda e: (_utc(e.updated), e.key), reverse=True)[:FEED_LIMIT]
    updated = _utc(max((e.updated for e in entries), default=empty_updated, key=_utc))
    feed = FeedGenerator()
    feed.id(tag_uri(key, at))
    feed.title(_text(title))
    if subtitle:
        feed.subtitle(_text(subtitle))
    feed.updated(updated)
    feed.author({"name": SITE_NAME, "uri": site_url() + "/"})
    feed.link(href=self_url, rel="self", type=ATOM_TYPE)
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.generator(SITE_NAME, uri=site_url() + "/")
    feed.language("en")
    for entry in entries:
        item = feed.add_entry(order="append")
        item.id(tag_uri(entry.key, entry.at))
        item.title(_text(entry.title))
        item.link(href=entry.link, rel="alternate", type="text/html")
        item.updated(_utc(entry.updated))
        if entry.published is not None:
            item.published(_utc(entry.published))
        item.author({"name": _text(entry.author) or SITE_NAME})
        item.content(_text(entry.content), type="html")
    response = Response(feed.atom_str(pretty=False), mimetype=ATOM_TYPE)
    response.last_modified = updated
    response.add_etag()
    # Revalidated on every poll (a 304 when unchanged), so a comment hidden a
    # minute ago never lingers in a cache; the log is a member's own.
    if private:
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    response.cache_control.no_cache = True
    return response.make_conditional(request)
