"""The one parser for numbers, ids and dates that come from a request.

Everything a client types or puts in a URL, a query string, a form or a
cookie and that should be a number or a moment goes through here: ASCII
digits only (`str.isdigit()` also accepts "²" and "٣", which `int()` then
refuses or reads), range-checked against what the database holds, and
dates bounded so that arithmetic on them cannot overflow. Anything else is
None (the caller answers 404 or keeps its default) or a ValidationError
with a message for the form.
"""

import re
from datetime import UTC, datetime, timedelta

from flask import request
from wtforms import DateField, DateTimeLocalField, IntegerField
from wtforms.validators import ValidationError as WTFValidationError

from .errors import ValidationError

# The largest id or page number the databases take (PostgreSQL INTEGER).
DB_INT_MAX = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)
# Moments a request may name: wide enough for any history, narrow enough
# that a day's or an offset's arithmetic never leaves datetime's range.
MOMENT_MIN = datetime(1900, 1, 1)
MOMENT_MAX = datetime(9000, 1, 1)
_MOMENT_MAX_LENGTH = 40


def parse_int(value, *, min_value: int = 0, max_value: int = DB_INT_MAX) -> int | None:
    """`value` as an int in [min_value, max_value] when it is plain ASCII digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not _ASCII_DIGITS.fullmatch(text):
            return None
        number = int(text)
    else:
        return None
    return number if min_value <= number <= max_value else None


def parse_id(value) -> int | None:
    """An id a database column can hold (1 to DB_INT_MAX), else None."""
    return parse_int(value, min_value=1)


def int_arg(name: str, default: int, *, min_value: int = 0, max_value: int = DB_INT_MAX) -> int:
    """A number from the query string; `default` when missing or not a number in range."""
    number = parse_int(request.args.get(name), min_value=min_value, max_value=max_value)
    return default if number is None else number


def page_arg(name: str = "page") -> int:
    """A 1-based page number from the query string (1 when missing or absurd)."""
    return int_arg(name, 1, min_value=1)


def _checked_moment(value: datetime, field: str) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if not MOMENT_MIN <= value <= MOMENT_MAX:
        raise ValidationError(
            f"Choose a moment between {MOMENT_MIN.year} and {MOMENT_MAX.year}.", field=field
        )
    return value


def parse_moment(raw: str, field: str = "at") -> datetime:
    """An ISO-8601 date or date-time (UTC unless it names an offset) as naive UTC.

    A bare date means the end of that day ("supporters on 26 March").
    """
    text = (raw or "").strip()
    if len(text) > _MOMENT_MAX_LENGTH or not text.isascii():
        raise ValidationError(
            f"“{raw[:_MOMENT_MAX_LENGTH]}” is not an ISO-8601 date and time, "
            "e.g. 2019-03-26T12:00.",
            field=field,
        )
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
        if len(text) == 10:
            value = value.replace(hour=23, minute=59, second=59, microsecond=999999)
        # Checked while the offset is still attached: 0001-01-01T00:00+01:00 is out of range.
        if value.tzinfo is not None and not (
            MOMENT_MIN - timedelta(days=1) < value.replace(tzinfo=None) < MOMENT_MAX
        ):
            raise ValueError("out of range")
    except (ValueError, OverflowError) as exc:
        raise ValidationError(
            f"“{raw}” is not an ISO-8601 date and time, e.g. 2019-03-26T12:00.", field=field
        ) from exc
    return _checked_moment(value, field)


# --- The same rule for form fields ------------------------------------------------


class IntField(IntegerField):
    """IntegerField that takes ASCII digits only (no "²", no "٣"), 0 to DB_INT_MAX."""

    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0] in ("", None):
            return
        self.data = parse_int(valuelist[0])
        if self.data is None:
            raise ValueError(self.gettext("Not a valid integer value."))


def _check_ascii(valuelist) -> None:
    if valuelist and any(not isinstance(v, str) or not v.isascii() for v in valuelist):
        raise ValueError("Write the date with the digits 0-9.")


class DayField(DateField):
    """DateField with ASCII digits and a year inside MOMENT_MIN..MOMENT_MAX."""

    def process_formdata(self, valuelist):
        _check_ascii(valuelist)
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.data is not None and not MOMENT_MIN.date() <= self.data <= MOMENT_MAX.date():
            raise WTFValidationError(
                f"Choose a date between {MOMENT_MIN.year} and {MOMENT_MAX.year}."
            )


class MomentLocalField(DateTimeLocalField):
    """DateTimeLocalField with ASCII digits and a moment inside MOMENT_MIN..MOMENT_MAX."""

    def process_formdata(self, valuelist):
        _check_ascii(valuelist)
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.data is not None and not MOMENT_MIN <= self.data <= MOMENT_MAX:
            raise WTFValidationError(
                f"Choose a moment between {MOMENT_MIN.year} and {MOMENT_MAX.year}."
            )


__all__ = [
    "DB_INT_MAX",
    "DayField",
    "IntField",
    "MomentLocalField",
    "int_arg",
    "page_arg",
    "parse_id",
    "parse_int",
    "parse_moment",
]
