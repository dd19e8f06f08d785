"""Small charts drawn on the server as SVG markup, each with its numbers as a table.

Presentation attributes and classes only (the Content-Security-Policy forbids
style attributes); the colours come from site.css, so they follow the colour
scheme. Every chart is an image with a <title> and a <desc>; the page also
gives its numbers as a table.
"""

import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from .services.charts import DayCount

WIDTH, HEIGHT = 320, 168
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 12, 26


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ceiling(value: int) -> tuple[int, int]:
    """A round top for the y axis and its tick step (1, 2 or 5 times a power of ten)."""
    value = max(value, 1)
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return int(math.ceil(value / step) * step), int(step)


def _day(d: date, with_year: bool = False) -> str:
    text = f"{d.day} {d.strftime('%b')}"
    return f"{text} {d.year}" if with_year else text


def describe(history: Sequence[DayCount]) -> str:
    first, last = history[0], history[-1]
    peak = max(history, key=lambda p: p.supporters)
    text = (
        f"{first.supporters} on {_day(first.day, True)}, "
        f"{last.supporters} on {_day(last.day, True)}"
    )
    if peak.supporters > last.supporters:
        text += f"; the most was {peak.supporters} on {_day(peak.day, True)}"
    return text + "."


def support_chart(
    history: Sequence[DayCount], threshold: int | None = None, ident: str = "support-chart"
) -> Markup:
    """A step chart of supporters by day, with the round's threshold as a dashed line."""
    if not history:
        return Markup("")
    top, step = nice_ceiling(max([p.supporters for p in history] + [threshold or 0]))
    start, end = history[0].day, history[-1].day
    span = max((end - start).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def x(d: date) -> float:
        return LEFT + plot_w * (d - start).days / span

    def y(n: int) -> float:
        return TOP + plot_h * (1 - n / top)

    points = [(x(p.day), y(p.supporters)) for p in history]
    if len(points) == 1:
        points.append((LEFT + plot_w, points[0][1]))
    line = f"M{_fmt(points[0][0])} {_fmt(points[0][1])}"
    for (_, py), (nx, ny) in zip(points, points[1:], strict=False):
        line += f" H{_fmt(nx)} V{_fmt(ny)}" if ny != py else f" H{_fmt(nx)}"
    area = f"{line} V{_fmt(base)} H{_fmt(points[0][0])} Z"

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" focusable="false" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">Supporters over time</title>',
        f'<desc id="{ident}-desc">{escape(describe(history))}</desc>',
    ]
    for tick in range(0, top + 1, step):
        ty = _fmt(y(tick))
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty}" y2="{ty}" '
            'stroke="currentColor" stroke-opacity="0.2"/>'
        )
        parts.append(
            f'<text class="chart-label" x="{LEFT - 6}" y="{ty}" dy="0.32em" '
            f'text-anchor="end" font-size="11" fill="currentColor">{tick}</text>'
        )
    parts.append(f'<path class="chart-area" d="{area}" fill="currentColor" fill-opacity="0.15"/>')
    parts.append(
        f'<path class="chart-line" d="{line}" fill="none" stroke="currentColor" '
        'stroke-width="2" stroke-linejoin="round"/>'
    )
    if threshold:
        ty = _fmt(y(threshold))
        parts.append(
            f'<line class="chart-threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty}" y2="{ty}" '
            'stroke="currentColor" stroke-width="1.5" stroke-dasharray="5 4"/>'
        )
        parts.append(
            f'<text class="chart-label" x="{LEFT + 4}" y="{ty}" dy="-0.4em" '
            f'font-size="11" fill="currentColor">threshold {threshold}</text>'
        )
    last_x, last_y = points[-1] if len(history) > 1 else points[0]
    parts.append(
        f'<circle class="chart-dot" cx="{_fmt(last_x)}" cy="{_fmt(last_y)}" r="3.5" '
        'fill="currentColor"/>'
    )
    label_y = HEIGHT - 8
    parts.append(
        f'<text class="chart-label" x="{LEFT}" y="{label_y}" font-size="11" '
        f'fill="currentColor">{_day(start)}</text>'
    )
    if end != start:
        parts.append(
            f'<text class="chart-label" x="{WIDTH - RIGHT}" y="{label_y}" text-anchor="end" '
            f'font-size="11" fill="currentColor">{_day(end, True)}</text>'
        )
    parts.append("</svg>")
    parts.append(data_table(history))
    # Safe: only numbers and dates formatted above, no member-written text.
    return Markup("".join(parts))  # nosec


def data_table(history: Sequence[DayCount]) -> str:
    """The chart's numbers as a table, folded under the chart."""
    rows = "".join(
        f'<tr><td><time datetime="{p.day.isoformat()}">{_day(p.day, True)}</time></td>'
        f"<td>{p.supporters}</td></tr>"
        for p in history
    )
    return (
        '<details class="chart-data"><summary>The numbers by day</summary>'
        '<table><caption class="visually-hidden">Supporters at the end of each day</caption>'
        '<thead><tr><th scope="col">Day (UTC)</th><th scope="col">Supporters</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )
