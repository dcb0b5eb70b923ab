"""The trend chart of a profile: a small inline SVG written by hand.

One chart per indicator: every year of the warehouse on the horizontal axis, the territory and
each of its references on one vertical scale (the same range for all of them, so that lines
can be compared). Written as plain SVG text, without a plotting library: a profile holds a
chart per indicator and a national batch thousands of profiles, so each chart stays a few
hundred bytes, takes no time to draw and is identical from one run to the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from reports._i18n import Lang, format_number

WIDTH, HEIGHT = 280, 140
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 22
ACCENT, CI = "#1b6e3a", "#a1d99b"
# The references' lines: colours apart for colour-blind readers, and dashes apart in grey print.
REFERENCE_STYLES: tuple[tuple[str, str], ...] = (
    ("#2b6cb0", "5 3"), ("#b7791f", "2 2"), ("#6b46c1", "7 2 2 2"), ("#c53030", "1 3"),
    ("#4a5568", "9 3"), ("#2c7a7b", "4 2 1 2"))


@dataclass(frozen=True)
class Point:
    """A value of one year: ``low`` marks a low-reliability value (a hollow dot)."""

    year: int
    value: float
    low: bool = False
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]


def reference_style(n: int) -> tuple[str, str]:
    """Colour and dash pattern of the ``n``-th reference (0-based)."""
    return REFERENCE_STYLES[n % len(REFERENCE_STYLES)]


def swatch(n: int | None) -> str:
    """A short line in the style of the territory (``None``) or of the ``n``-th reference,
    to name a line of the chart in a table."""
    colour, dash, width = (ACCENT, "", 3) if n is None else (*reference_style(n), 2)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<svg class="lci-swatch" width="22" height="8" viewBox="0 0 22 8" '
            f'aria-hidden="true"><line x1="1" y1="4" x2="21" y2="4" stroke="{colour}" '
            f'stroke-width="{width}"{dashed}/></svg>')


MIN_SPAN = 0.2
"""The vertical axis spans at least this share of the largest value shown, so that a
difference of a tenth of a point does not fill the chart."""
INSET = 14  # the first and last years stand this far inside the plot


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering ``low``–``high`` (steps of 1, 2 or 5 times a power of 10),
    over at least :data:`MIN_SPAN` of the largest magnitude."""
    span = max(abs(low), abs(high)) * MIN_SPAN or 1.0
    if high - low < span:
        middle = (low + high) / 2
        floor = 0.0 if low >= 0 else -math.inf  # values never negative: the axis neither
        low = max(middle - span / 2, floor)
        high = low + span
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(ticks[-1] + step)
    return [round(t, 10) for t in ticks]


def trend_chart(chart_id: str, label: str, years: Sequence[int], territory: Series,
                references: Sequence[Series], decimals: int, lang: Lang) -> str:
    """The SVG of one indicator's trend, its accessible name ``label`` (every value said)."""
    values = [v for s in (territory, *references) for p in s.points
              for v in (p.value, p.ci_low, p.ci_high) if v is not None]
    if not values or not years:
        return ""
    ticks = nice_ticks(min(values), max(values))
    bottom, top = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(year: int) -> float:
        if len(years) == 1:
            return LEFT + plot_w / 2
        return LEFT + INSET + (plot_w - 2 * INSET) * years.index(year) / (len(years) - 1)

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / (top - bottom)

    tick_decimals = max(0, -math.floor(math.log10(ticks[1] - ticks[0]))) if len(ticks) > 1 \
        else decimals
    parts = [f'<svg class="lci-trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-title" font-family="DejaVu Sans, Arial, sans-serif" '
             f'font-size="9">',
             f'<title id="{chart_id}-title">{escape(label)}</title>']
    for tick in ticks:
        parts.append(f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y(tick):.1f}" stroke="#e5e5e5" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(tick) + 3:.1f}" text-anchor="end" '
                     f'fill="#595959">{escape(format_number(tick, tick_decimals, lang))}</text>')
    for year in years:
        parts.append(f'<text x="{x(year):.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                     f'fill="#595959">{year}</text>')
    for n, series in reversed(list(enumerate(references))):
        colour, dash = reference_style(n)
        parts += _series(series, years, x, y, colour, dash, 1.6, 2.6)
    for point in territory.points:
        if point.ci_low is not None and point.ci_high is not None:
            parts.append(f'<line x1="{x(point.year):.1f}" y1="{y(point.ci_low):.1f}" '
                         f'x2="{x(point.year):.1f}" y2="{y(point.ci_high):.1f}" '
                         f'stroke="{CI}" stroke-width="5"/>')
    parts += _series(territory, years, x, y, ACCENT, "", 2.8, 3.6)
    parts.append("</svg>")
    return "".join(parts)


def _series(series: Series, years: Sequence[int], x: Callable[[int], float],
            y: Callable[[float], float], colour: str, dash: str, width: float,
            radius: float) -> list[str]:
    """A line through consecutive years with a value (a year without one breaks the line),
    and a dot per value, hollow when of low reliability."""
    parts: list[str] = []
    by_year = {p.year: p for p in series.points}
    run: list[Point] = []
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    for year in [*years, None]:
        point = by_year.get(year) if year is not None else None
        if point is not None:
            run.append(point)
            continue
        if len(run) > 1:
            coords = " ".join(f"{x(p.year):.1f},{y(p.value):.1f}" for p in run)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                         f'stroke-width="{width}"{dashed}/>')
        run = []
    for point in series.points:
        fill = "#ffffff" if point.low else colour
        parts.append(f'<circle cx="{x(point.year):.1f}" cy="{y(point.value):.1f}" '
                     f'r="{radius}" fill="{fill}" stroke="{colour}" stroke-width="1.4"/>')
    return parts
