"""Cursor pagination: `limit` (1 to 100) and an opaque `cursor`; each page links the `next`.

A cursor is the sort key of the last item shown, as URL-safe base64 of a
JSON list: the next page starts after it, so rows added meanwhile neither
repeat nor skip items. A cursor that does not decode is a 400.
"""

import base64
import binascii
import json
from datetime import datetime

from flask import request
from marshmallow import Schema, fields, validate

from ..errors import ValidationError
from ..urls import absolute_url

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_MAX = 500


class PageArgs(Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"items per page (1 to {MAX_LIMIT})"},
    )
    cursor = fields.String(
        validate=validate.Length(max=CURSOR_MAX),
        metadata={"description": "the `next` link's cursor, from the previous page"},
    )


def page_schema(item_schema, name: str) -> type[Schema]:
    """The envelope of a list: {items: [...], next: URL or null}."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next": fields.String(
                allow_none=True, metadata={"description": "the next page, or null at the end"}
            ),
        },
        name=name,
    )


def encode_cursor(values: list) -> str:
    data = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str | None, kinds: tuple) -> list | None:
    """The key a cursor holds, checked against `kinds` (int, str, datetime); None: first page."""
    if raw is None or raw == "":
        return None
    bad = ValidationError("This cursor is not one this API gave out.", field="cursor")
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        values = json.loads(text)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise bad
    out = []
    for value, kind in zip(values, kinds, strict=True):
        if kind is datetime:
            try:
                value = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                value = None
            if value is None or value.tzinfo is not None:
                raise bad
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
                raise bad
        elif not isinstance(value, kind) or "\x00" in value:
            raise bad
        out.append(value)
    return out


def page(rows: list, limit: int, key) -> dict:
    """{items, next} from up to limit + 1 rows; `key(row)` is the cursor of a row."""
    more = len(rows) > limit
    items = rows[:limit]
    next_url = None
    if more and items:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = encode_cursor(key(items[-1]))
        next_url = absolute_url(request.endpoint, **(request.view_args or {}), **args)
    return {"items": items, "next": next_url}
