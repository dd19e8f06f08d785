"""Response headers, safe redirects and rate-limit settings."""

from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def safe_next_url(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, otherwise `default`.

    Browsers forgive a lot: they strip tabs and newlines, read a backslash as a
    slash and treat `//host` as another site, so anything but a plain
    absolute path is refused.
    """
    if not target:
        return default
    if any(ch in target for ch in "\\\t\r\n") or any(ord(ch) < 32 for ch in target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("PRODUCTION"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def refuse_nul_in_path() -> None:
    """No address of the site holds a NUL byte (PostgreSQL cannot even compare one): 404."""
    if "\x00" in request.path:
        abort(404)


def init_security(app: Flask) -> None:
    app.before_request(refuse_nul_in_path)
    app.after_request(add_security_headers)


def rate(name: str):
    """A callable limit string read from config at request time (RATELIMIT_<NAME>)."""
    return lambda: current_app.config[f"RATELIMIT_{name.upper()}"]


def action_limit(name: str, action: str):
    """The rate limit (RATELIMIT_<NAME>) of one member action, one count for its form and
    its API route: a client cannot double its rate by using both."""
    from .extensions import limiter

    return limiter.shared_limit(rate(name), scope=f"action:{action}", methods=["POST", "PATCH"])
