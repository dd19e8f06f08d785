"""Visitors' pages, kept whole and keyed on the versions of what they show.

Most readers of a forum are not signed in, and they all see the same page
for a URL. A view marked `@visitor_page(versions)` keeps its page for them
in the fragment cache (app/fragments.py) under a key made of the URL and
`versions(**view_args)`: the row versions of what the page shows, read in
one small query (the proposal, its round, its thread), which the database
moves whenever any of it changes (app/models/triggers.py), and the
deadlines passed (the only thing a page shows that changes with time
alone). A write moves only the versions of what it changed, so it empties
nothing else: a comment on one article leaves every other page where it is.

Members, and visitors whose session holds anything but the CSRF token
(flashed messages, their own pending guest comments), get the page rendered
from its fragments. The stored copy is the page cut where the visitor's CSRF
token was; each hit joins the pieces with the new visitor's own token.
"""

import functools
from collections.abc import Callable

from flask import Response, current_app, g, request, session
from flask_login.config import COOKIE_NAME

from .errors import wants_json
from .extensions import cache
from .fragments import fragment_key
from .timeutil import utcnow

# A visitor's session holds at most these (Flask-Login marks a visitor's
# non-empty session "_fresh": False).
VISITOR_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})


def is_visitor_request() -> bool:
    """A GET for HTML from someone not signed in, with nothing in their session."""
    if request.method != "GET" or wants_json():
        return False
    if current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies:
        return False
    return set(session.keys()) <= VISITOR_SESSION_KEYS


def deadlines_passed(*deadlines) -> tuple[bool, ...]:
    """Which of these moments are past (a page's look changes at each)."""
    now = utcnow()
    return tuple(d is not None and now > d for d in deadlines)


def visitor_page(versions: Callable[..., tuple | None]):
    """Keep this view's page for visitors under the versions `versions` reads.

    `versions(**view_args)` returns a tuple of what the page shows, or None
    when there is nothing to show (the view then answers, a 404 say).
    """

    def decorate(view):
        @functools.wraps(view)
        def cached_view(**view_args):
            if not current_app.config["PAGE_CACHE_ENABLED"] or not is_visitor_request():
                return view(**view_args)
            state = versions(**view_args)
            if state is None:
                return view(**view_args)
            # Named for the stored form (pieces around the token): an entry kept in a
            # shared cache by an earlier release is never read as one.
            key = fragment_key("page-pieces", (request.full_path, state))
            stored = cache.get(key)
            if stored is not None:
                return _serve(*stored)
            response = current_app.make_response(view(**view_args))
            kept = _keepable(response)
            if kept is not None:
                cache.set(key, kept)
                response.headers["X-Plenary-Cache"] = "miss"
            return response

        return cached_view

    return decorate


def _keepable(response: Response) -> tuple[int, list[bytes]] | None:
    if (
        response.status_code != 200
        or response.mimetype != "text/html"
        or response.direct_passthrough
        or not set(session.keys()) <= VISITOR_SESSION_KEYS  # the view flashed, say
    ):
        return None
    body = response.get_data()
    token = g.get("csrf_token")
    # The page in the pieces around the visitor's CSRF token: a hit joins them
    # with the next visitor's token (a copy, where replacing would search the page).
    return response.status_code, body.split(token.encode()) if token else [body]


def _serve(status: int, parts: list[bytes]) -> Response:
    if len(parts) > 1:
        from flask_wtf.csrf import generate_csrf

        body = generate_csrf().encode().join(parts)
    else:
        body = parts[0]
    response = current_app.response_class(body, status=status, mimetype="text/html")
    response.headers["X-Plenary-Cache"] = "hit"
    return response
