"""Links to the site's own pages, built from real endpoints.

`link()` is `url_for` for the links a page repeats once per row (a reply
link under each of 200 comments): Werkzeug's URL building costs tens of
microseconds a call, so the first call of a request for an endpoint builds
its URL with marker ids and keeps it as a pattern; the rows fill their ids
in. Only integer values vary per row; any other value is part of the
pattern's key. The URLs are exactly url_for's.
"""

from flask import g, url_for

# Marker ids, within what the routes' int converter accepts (app/web.py).
_MARK = 2_147_480_000


def link(endpoint: str, **values) -> str:
    """`url_for(endpoint, **values)`, the pattern built once per request and endpoint."""
    ints = sorted(name for name, value in values.items() if type(value) is int)
    fixed = tuple(sorted((k, v) for k, v in values.items() if type(v) is not int))
    key = (endpoint, tuple(ints), fixed)
    patterns = g.setdefault("plenary_link_patterns", {})
    pattern = patterns.get(key)
    if pattern is None:
        pattern = patterns[key] = _pattern(endpoint, ints, dict(fixed))
    if pattern is False:  # a marker did not come out once and plainly: build each one
        return url_for(endpoint, **values)
    return pattern.format_map({name: values[name] for name in ints})


def _pattern(endpoint: str, ints: list[str], fixed: dict) -> str | bool:
    marks = {name: str(_MARK + i) for i, name in enumerate(ints)}
    url = url_for(endpoint, **fixed, **{name: int(mark) for name, mark in marks.items()})
    pattern = url.replace("{", "{{").replace("}", "}}")
    for name, mark in marks.items():
        if pattern.count(mark) != 1:
            return False
        pattern = pattern.replace(mark, "{" + name + "}")
    return pattern
