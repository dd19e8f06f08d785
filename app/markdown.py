"""Markdown to safe HTML: markdown-it-py renders, nh3 (ammonia) cleans."""

import functools
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from .urls import path_for, profile_url

# Raw HTML in the source is escaped by markdown-it ("html": False); nh3 then
# keeps only this list, drops unsafe URL schemes and marks every link
# nofollow/ugc so the forum lends no ranking to what members post.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

# "@username" links to the member's profile (not inside code, nor in a mail address).
_MENTION = re.compile(r"@([A-Za-z0-9][A-Za-z0-9_.-]{0,31})")


def _mention(state, silent: bool) -> bool:
    pos = state.pos
    if state.src[pos] != "@" or state.linkLevel > 0:
        return False
    if pos > 0 and (state.src[pos - 1].isalnum() or state.src[pos - 1] in "_.@/-"):
        return False
    match = _MENTION.match(state.src, pos)
    if match is None:
        return False
    name = match.group(1).rstrip(".-")
    if not silent:
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": profile_url(name, path_for)}
        text = state.push("text", "", 0)
        text.content = "@" + name
        state.push("link_close", "a", -1)
    state.pos = pos + 1 + len(name)
    return True


_md.inline.ruler.before("emphasis", "mention", _mention)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def clean_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )


# Rendering is a pure function of the text, and a thread page renders dozens
# of comments on every view: each worker keeps the HTML of recent short
# texts (at most CACHE_SIZE of up to CACHE_TEXT_MAX characters, a few MB).
CACHE_SIZE = 4096
CACHE_TEXT_MAX = 2000


def _render(text: str) -> str:
    return clean_html(_md.render(text))


_render_cached = functools.lru_cache(maxsize=CACHE_SIZE)(_render)


def render_markdown(text: str | None) -> Markup:
    """Render member-written Markdown to sanitised HTML."""
    if not text:
        return Markup("")
    html = _render_cached(text) if len(text) <= CACHE_TEXT_MAX else _render(text)
    # Safe: nh3 has just cleaned it to the allow-list above.
    return Markup(html)  # nosec
