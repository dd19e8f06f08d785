"""Rendered fragments shared by every viewer, cached at the grain of the rows.

A page is made of pieces that look the same to everyone who may see them (a
comment's header and text, a proposal's row in a round's table) and pieces
that depend on the viewer (their co-signature, the buttons they may press,
CSRF tokens). The shared pieces are rendered once and kept in the cache
under a key built from the values they show, as read by the same query that
lists the rows: the row's id, its `created_at` and its `row_version`, which
every UPDATE of the row moves (app/models/types.py), plus whatever else the
fragment shows that lives elsewhere (the author's display name, the round's
threshold). So a fragment can never be older than the data on the page, and
no write has to know which fragments to forget: a changed row simply asks
for a new key, and the old entry ages out. The viewer's pieces are rendered
around the fragments on every request.

A fragment template must use nothing but its context: what the `key`
function names (and the row those values come from). The cache is
Flask-Caching: in each worker's memory by default, Redis when
FRAGMENT_CACHE_URL names one; a page reads all its fragments in one call
(`get_many`, one round trip to Redis).
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from flask import Flask, current_app
from markupsafe import Markup

from .extensions import cache

T = TypeVar("T")


def init_fragment_cache(app: Flask) -> None:
    """Bind the cache: Redis if FRAGMENT_CACHE_URL says so, else this worker's memory."""
    url = app.config["FRAGMENT_CACHE_URL"]
    settings = {
        "CACHE_DEFAULT_TIMEOUT": app.config["FRAGMENT_CACHE_SECONDS"],
        "CACHE_KEY_PREFIX": "plenary:",
    }
    if url.startswith(("redis://", "rediss://", "unix://")):
        settings |= {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url}
    elif url in ("", "memory://"):
        settings |= {
            "CACHE_TYPE": "SimpleCache",
            "CACHE_THRESHOLD": app.config["FRAGMENT_CACHE_ITEMS"],
        }
    else:
        raise SystemExit(f"FRAGMENT_CACHE_URL must be empty, memory:// or redis://..., not {url!r}")
    cache.init_app(app, config=settings)


def fragment_key(template: str, parts: Sequence) -> str:
    """The cache key of `template` rendered from the values `parts`."""
    digest = hashlib.blake2b(repr((template, *parts)).encode(), digest_size=16).hexdigest()
    return f"fragment:{digest}"


def cached(name: str, parts: Sequence, produce: Callable[[], Markup]) -> Markup:
    """One shared fragment: `produce()` kept under the values `parts` it shows.

    For a piece that is not a template of its own (a chart drawn in Python):
    the same rule as `render_shared`, every value it shows in `parts`.
    """
    key = fragment_key(name, parts)
    html = cache.get(key)
    if html is None:
        html = produce()
        cache.set(key, html)
    return html


def render_shared(
    template: str,
    items: Iterable[T],
    key: Callable[[T], Sequence],
    context: Callable[[T], dict],
) -> list[Markup]:
    """`template` rendered for each item, from the cache where it is there already.

    `key(item)` gives the values the fragment shows (see the module's note);
    `context(item)` the template's variables. Items with equal keys share
    one rendering. Misses are rendered and stored in one call.
    """
    items = list(items)
    keys = [fragment_key(template, key(item)) for item in items]
    found = cache.get_many(*keys) if keys else []
    rendered: dict[str, Markup] = {}
    out = []
    for item, k, html in zip(items, keys, found, strict=True):
        if html is None:
            html = rendered.get(k)
            if html is None:
                template_ = current_app.jinja_env.get_template(template)
                # Our own template's output, escaped as it was rendered.
                html = rendered[k] = Markup(template_.render(**context(item)))  # nosec B704
        out.append(html)
    if rendered:
        cache.set_many(rendered)
    return out
