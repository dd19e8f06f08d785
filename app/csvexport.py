"""CSV downloads: UTF-8, a header row, and cells a spreadsheet will not run.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (or a
line feed) can be read by Excel, LibreOffice or Google Sheets as a formula
(OWASP "CSV injection"). Such a cell gets a leading apostrophe, which the
spreadsheet shows as text; every cell is quoted and embedded quotes are
doubled (the csv module's QUOTE_ALL). The file starts with a UTF-8 byte
order mark so that Excel reads accented names right; other readers skip it.
"""

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
BOM = "\ufeff"


def safe_cell(value) -> str:
    """One cell as text, neutralised when a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """The whole file: the BOM, the header row, then one line per row (CRLF, RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return BOM + out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """A download of the rows as `filename` (ASCII, chosen by the caller)."""
    response = Response(csv_text(header, rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
