"""Small helpers every blueprint's views share."""

from flask import has_request_context
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from .models.types import db_id
from .params import DB_INT_MAX, int_arg, page_arg

__all__ = [
    "DB_INT_MAX",
    "DbIntConverter",
    "date_arg",
    "db_id",
    "int_arg",
    "page_arg",
    "request_viewer",
]


def request_viewer():
    """The member the current request acts for, or None (a visitor, or no request)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user._get_current_object()


class DbIntConverter(IntegerConverter):
    """`<int:...>` that only matches numbers a database column can hold.

    Larger numbers would overflow the driver (a 500); as URLs they name
    nothing, so they do not match and the answer is a 404. Only ASCII
    digits match (`\\d` would also take "٣" and "３"), as everywhere in
    `app.params`.
    """

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=DB_INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def date_arg(name: str):
    """A YYYY-MM-DD date from the query string as a datetime (None when missing; 400 if bad)."""
    from datetime import datetime

    from flask import abort, request

    raw = request.args.get(name, "")
    if not raw:
        return None
    if len(raw) != 10 or not raw.isascii():
        abort(400, f"{name}: give a date as YYYY-MM-DD.")
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        abort(400, f"{name}: give a date as YYYY-MM-DD.")
    if not 1900 <= day.year <= 9000:  # as app.params bounds every moment
        abort(400, f"{name}: give a date between the years 1900 and 9000.")
    return day
