"""Every link the site builds: `url_for` on real endpoints, absolute ones from SITE_URL.

The named builders below (`proposal_url`, `comment_url`, ...) are the one
place that says which endpoint shows a thing. Each takes `build`, the way
to turn an endpoint into a link: `url_for` (the default) for a page,
`path_for` for a path stored in the database (a notification's link,
built in services that also run outside requests), `absolute_url` for a
link read outside the site (mail, feeds). An endpoint that does not exist
raises `werkzeug.routing.BuildError`: a renamed view fails loudly (and the
tests that render each link with it), never as a silently missing link.

Absolute links are the one place that turns an endpoint into a link meant
to be read outside the browser that asked for it. A reset or sign-up mail whose link followed
the request's Host header would hand a valid token to whoever sent
`Host: evil.example`; so the base is `SITE_URL` (required in production),
and outside production, where it may be unset, the request's host only
when it is one of `TRUSTED_HOSTS` (Flask 3.1 refuses the others before any
view runs) or a loopback name (a developer's own machine), else
`http://localhost`.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for

DEV_FALLBACK = "http://localhost"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def site_url() -> str:
    """The base of every absolute link, without a trailing slash."""
    configured = (current_app.config.get("SITE_URL") or "").strip().rstrip("/")
    if configured:
        return configured
    if has_request_context():
        # request.host was checked against TRUSTED_HOSTS (a 400 otherwise).
        hostname = (urlsplit(request.host_url).hostname or "").lower()
        if current_app.config.get("TRUSTED_HOSTS") or hostname in LOOPBACK_HOSTS:
            return request.host_url.rstrip("/")
    return DEV_FALLBACK


def absolute_url(endpoint: str, **values) -> str:
    """`url_for(endpoint, **values)` as a link that names this site (SITE_URL)."""
    values.pop("_external", None)
    base = site_url()
    if has_request_context():
        # url_for's path carries the request's script root; SITE_URL names the host.
        return base + url_for(endpoint, **values)
    # A worker (mail queue) has no request: build the path from the map itself.
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def validate_site_url(value: str) -> str | None:
    """Why `value` cannot be SITE_URL in production, or None when it can."""
    parts = urlsplit(value or "")
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return "SITE_URL must be the site's address, such as https://plenary.example.org"
    if parts.query or parts.fragment or "@" in parts.netloc:
        return "SITE_URL must be a plain address with no query, fragment or user"
    return None


def path_for(endpoint: str, **values) -> str:
    """The path of `endpoint` (e.g. "/proposals/7"), with or without a request."""
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return adapter.build(endpoint, values)


def absolute(path: str) -> str:
    """SITE_URL + a path the site built (a stored notification link)."""
    if path.startswith(("http://", "https://")):
        return path
    return site_url() + (path if path.startswith("/") else "/" + path)


# --- Named links -------------------------------------------------------------------

Build = Callable[..., str]


def proposal_url(proposal_id: int, build: Build = url_for, **values) -> str:
    """A proposal's page (/proposals/<id>)."""
    return build("proposals.show", proposal_id=proposal_id, **values)


def versions_url(proposal_id: int, build: Build = url_for, **values) -> str:
    """A proposal's versions, or the diff between two (`from`, `to` in values)."""
    return build("proposals.versions", proposal_id=proposal_id, **values)


def cosign_url(proposal_id: int, build: Build = url_for) -> str:
    """Where a co-signature is posted (a notification's one-click offer)."""
    return build("proposals.cosign", proposal_id=proposal_id)


def round_url(slug: str, build: Build = url_for, **values) -> str:
    """A round's page (/rounds/<slug>)."""
    return build("proposals.round", slug=slug, **values)


def article_url(slug: str, build: Build = url_for, **values) -> str:
    """An article's page with its thread (/articles/<slug>)."""
    return build("articles.show", slug=slug, **values)


def thread_url(thread_id: int, build: Build = url_for, **values) -> str:
    """A thread of its own (a moved sub-thread: /threads/<id>)."""
    return build("articles.thread", thread_id=thread_id, **values)


def comment_url(comment_id: int, build: Build = url_for) -> str:
    """A comment's permalink (/comments/<id>, which finds its page)."""
    return build("articles.permalink", comment_id=comment_id)


def profile_url(username: str, build: Build = url_for) -> str:
    """A member's profile (/users/<username>)."""
    return build("users.profile", username=username)
