"""Column types shared by the models."""

import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..params import DB_INT_MAX, parse_id

__all__ = ["DB_INT_MAX", "db_id", "str_enum"]


def db_id(value) -> int | None:
    """`value` (text or a number) as an id a database column can hold, else None.

    ASCII digits only, 1 to DB_INT_MAX (`app.params`); anything else names
    nothing, so the caller answers as for any id that does not exist.
    """
    return parse_id(value)


def str_enum(enum_class: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A Python enum stored as its value in a VARCHAR (no native DB enum to migrate)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class RowVersioned:
    """A `row_version` that every UPDATE of the row moves, in SQL.

    ORM flushes and Core `update()` statements both apply the onupdate, so a
    fragment cached under (id, created_at, row_version) is never older than
    the row it was rendered from (see app/fragments.py).
    """

    row_version: so.Mapped[int] = so.mapped_column(
        default=1, server_default="1", onupdate=sa.literal_column("row_version") + 1
    )
