"""Links outside a request: paths from the URL map, absolute links from SITE_URL only.

Mail and other work done by the worker has no request, and a request's Host
header is chosen by whoever sends it: an absolute link is SITE_URL followed
by the path the URL map builds, never anything read from a request.
"""

from flask import current_app


def path_for(endpoint: str, **values) -> str:
    """The path of `endpoint` (e.g. "/proposals/7"), with or without a request."""
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return adapter.build(endpoint, values)


def site_url() -> str:
    return (current_app.config.get("SITE_URL") or "").rstrip("/")


def absolute(path: str) -> str:
    """SITE_URL + a path the site built (a stored notification link)."""
    if path.startswith(("http://", "https://")):
        return path
    return site_url() + (path if path.startswith("/") else "/" + path)


def absolute_url(endpoint: str, **values) -> str:
    """SITE_URL + the endpoint's path: the only way mail builds a link."""
    return absolute(path_for(endpoint, **values))
