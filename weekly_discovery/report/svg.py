"""Inline SVG charts for the report page: pies, grouped bars, horizontal bars, an annotated heatmap, a trend.

Plain strings, no JavaScript, no external fonts or files, so the page opens offline from the file
system. Every piece of text that reaches a chart goes through :func:`esc` (``html.escape``), so a
track or playlist called ``<img src=x onerror=alert(1)>`` is shown as text, never parsed. Being
escaped already, a chart enters the page's templates as ``Markup`` (see :mod:`.render`), whose own
``{{ value }}`` escaping is this same :func:`esc`.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""
GROUP_COLORS = ("#1db954", "#4c78a8", "#f58518", "#b279a2", "#e45756", "#72b7b2", "#9d755d", "#54a24b")
_SEQUENTIAL = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
               "#08306b")


# C0 controls other than tab, newline and carriage return, and DEL: invalid in XML (SVG) and a parse
# error in HTML text, yet possible in a track name from the API; they are dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: object) -> str:
    """Text or attribute value, HTML/SVG-escaped (quotes too), control characters dropped."""
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def group_color(index: int) -> str:
    return GROUP_COLORS[index % len(GROUP_COLORS)]


def bin_colors(n: int) -> list[str]:
    """``n`` colours from light to dark blue (the ranges of a 0..1 feature, low to high)."""
    if n == 1:
        return [_SEQUENTIAL[4]]
    return [_interpolate(_SEQUENTIAL[1:], i / (n - 1)) for i in range(n)]


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _interpolate(palette: Sequence[str], t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(palette) - 1)
    i = min(int(t), len(palette) - 2)
    a, b = _hex(palette[i]), _hex(palette[i + 1])
    f = t - i
    return "#%02x%02x%02x" % tuple(round(x + (y - x) * f) for x, y in zip(a, b))


def _ink(color: str) -> str:
    """Dark text on a light fill, white on a dark one."""
    r, g, b = _hex(color)
    return "#222" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def diverging(r: float | None) -> str:
    """Blue (-1) .. white (0) .. red (+1); grey for an undefined correlation."""
    if r is None or not math.isfinite(r):
        return "#d9d9d9"
    if r < 0:
        return _interpolate(("#f7f7f7", "#92c5de", "#2166ac"), -r)
    return _interpolate(("#f7f7f7", "#f4a582", "#b2182b"), r)


def _svg(width: float, height: float, body: str, label: str, css_class: str) -> str:
    return (f'<svg class="{css_class}" viewBox="0 0 {width:g} {height:g}" '
            f'width="{width:g}" height="{height:g}" role="img" aria-label="{esc(label)}">'
            f"<title>{esc(label)}</title>{body}</svg>")


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def pie(shares: Sequence[float], labels: Sequence[str], title: str, *, size: int = 132) -> str:
    """A pie of ``shares`` (summing to 1) with one slice per range, light to dark; a grey disc when empty."""
    r = size / 2 - 4
    cx = cy = size / 2
    colors = bin_colors(len(shares))
    parts: list[str] = []
    labels_svg: list[str] = []
    total = sum(shares)
    if total <= 0:
        parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{r:g}" fill="#eeeeee"/>'
                     f'<text x="{cx:g}" y="{cy + 4:g}" text-anchor="middle" font-size="11" {FONT} '
                     f'fill="#666">no data</text>')
    else:
        angle = -math.pi / 2
        for share, label, color in zip(shares, labels, colors):
            if share <= 0:
                continue
            tip = f"{label}: {_pct(share)}"
            if share >= 0.999999:
                parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{r:g}" fill="{color}" stroke="#fff">'
                             f"<title>{esc(tip)}</title></circle>")
                break
            end = angle + 2 * math.pi * share
            x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x2, y2 = cx + r * math.cos(end), cy + r * math.sin(end)
            large = 1 if share > 0.5 else 0
            parts.append(f'<path d="M{cx:.2f},{cy:.2f} L{x1:.2f},{y1:.2f} A{r:.2f},{r:.2f} 0 {large} 1 '
                         f'{x2:.2f},{y2:.2f} Z" fill="{color}" stroke="#fff" stroke-width="1">'
                         f"<title>{esc(tip)}</title></path>")
            if share >= 0.12:  # label the slices big enough to hold it
                mid = (angle + end) / 2
                tx, ty = cx + 0.62 * r * math.cos(mid), cy + 0.62 * r * math.sin(mid)
                labels_svg.append(f'<text x="{tx:.1f}" y="{ty + 3.5:.1f}" text-anchor="middle" font-size="10" '
                                  f'{FONT} fill="{_ink(color)}">{_pct(share)}</text>')
            angle = end
    return _svg(size, size, "".join(parts + labels_svg), title, "chart pie")


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    *,
    width: int = 560,
    height: int = 210,
) -> str:
    """Bars side by side per category (the ranges), one colour per series (the groups), y = share in %."""
    left, right, top, bottom = 38, 8, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _, values in series for v in values] + [0.0])
    y_max = max(0.1, math.ceil(peak * 10 + 1e-9) / 10)  # next 10% above the tallest bar
    parts = []
    for k in range(0, int(round(y_max * 10)) + 1, 1 if y_max <= 0.5 else 2):
        v = k / 10
        y = top + plot_h * (1 - v / y_max)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 4}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10" {FONT} '
                     f'fill="#555">{k * 10}%</text>')
    slot = plot_w / max(len(categories), 1)
    n = max(len(series), 1)
    bar = max(1.0, (slot * 0.8) / n)
    for c, category in enumerate(categories):
        x0 = left + c * slot + slot * 0.1
        for s, (name, values) in enumerate(series):
            v = values[c] if c < len(values) else 0.0
            h = plot_h * v / y_max
            parts.append(f'<rect x="{x0 + s * bar:.2f}" y="{top + plot_h - h:.2f}" width="{bar - 0.5:.2f}" '
                         f'height="{h:.2f}" fill="{group_color(s)}"><title>{esc(name)}, {esc(category)}: '
                         f"{_pct(v)}</title></rect>")
        parts.append(f'<text x="{left + (c + 0.5) * slot:.1f}" y="{height - bottom + 13}" text-anchor="middle" '
                     f'font-size="9.5" {FONT} fill="#333">{esc(category)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="10" {FONT} '
                 f'fill="#555">range of the feature (share of each group\'s tracks)</text>')
    return _svg(width, height, "".join(parts), title, "chart bars")


def horizontal_bars(items: Sequence[tuple[str, int]], title: str, *, width: int = 560, bar_height: int = 18) -> str:
    """One labelled bar per item (e.g. tracks per artist), longest first as given."""
    label_w, right, gap = 190, 40, 4
    height = max(1, len(items)) * (bar_height + gap) + 6
    peak = max([v for _, v in items] + [1])
    parts = []
    for i, (label, value) in enumerate(items):
        y = 3 + i * (bar_height + gap)
        w = (width - label_w - right) * value / peak
        shown = label if len(label) <= 30 else label[:29] + "\u2026"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height * 0.72:.1f}" text-anchor="end" font-size="11.5" '
                     f'{FONT} fill="#222">{esc(shown)}<title>{esc(label)}</title></text>'
                     f'<rect x="{label_w}" y="{y}" width="{w:.2f}" height="{bar_height}" fill="#1db954" rx="2"/>'
                     f'<text x="{label_w + w + 4:.2f}" y="{y + bar_height * 0.72:.1f}" font-size="11" {FONT} '
                     f'fill="#333">{value}</text>')
    return _svg(width, height, "".join(parts), title, "chart hbars")


def heatmap(labels: Sequence[str], matrix: Sequence[Sequence[float | None]], title: str, *, cell: int = 46) -> str:
    """An annotated correlation heatmap: one cell per pair, coloured by r, with r written in it."""
    n = len(labels)
    left, top = 118, 96
    width, height = left + n * cell + 8, top + n * cell + 8
    parts = []
    for j, label in enumerate(labels):  # column labels, rotated
        x = left + j * cell + cell / 2
        parts.append(f'<text transform="translate({x + 4:.1f},{top - 6}) rotate(-50)" font-size="11" {FONT} '
                     f'fill="#222">{esc(label)}</text>')
    for i, label in enumerate(labels):
        y = top + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" font-size="11" {FONT} '
                     f'fill="#222">{esc(label)}</text>')
        for j in range(n):
            r = matrix[i][j] if i < len(matrix) and j < len(matrix[i]) else None
            x = left + j * cell
            text = "n/a" if r is None else f"{r:.2f}"
            ink = "#fff" if r is not None and abs(r) >= 0.6 and i != j else "#222"
            fill = "#e6e6e6" if i == j and r is not None else diverging(r)  # the diagonal is 1 by definition
            parts.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                         f'fill="{fill}"><title>{esc(labels[i])} / {esc(labels[j])}: {text}</title></rect>'
                         f'<text x="{x + cell / 2 - 0.5:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                         f'font-size="11" {FONT} fill="{ink}">{text}</text>')
    return _svg(width, height, "".join(parts), title, "chart heatmap")


def color_scale(width: int = 260) -> str:
    """The heatmap's legend: -1 .. 0 .. +1."""
    steps = 40
    parts = [f'<rect x="{10 + k * (width - 20) / steps:.2f}" y="4" width="{(width - 20) / steps + 0.5:.2f}" '
             f'height="12" fill="{diverging(-1 + 2 * k / (steps - 1))}"/>' for k in range(steps)]
    for value, anchor, x in (("-1", "start", 10), ("0", "middle", width / 2), ("+1", "end", width - 10)):
        parts.append(f'<text x="{x:g}" y="30" text-anchor="{anchor}" font-size="10" {FONT} fill="#444">{value}</text>')
    return _svg(width, 34, "".join(parts), "colour scale from -1 to +1", "chart scale")


def stacked_bar(parts_in: Sequence[tuple[str, int, str]], title: str, *, width: int = 300, height: int = 16) -> str:
    """One bar split by ``(label, count, colour)`` (coverage by feature status)."""
    total = sum(c for _, c, _ in parts_in)
    x = 0.0
    parts = []
    for label, count, color in parts_in:
        if count <= 0 or total <= 0:
            continue
        w = width * count / total
        parts.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{color}">'
                     f"<title>{esc(label)}: {count}</title></rect>")
        x += w
    if not parts:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eeeeee"/>')
    return _svg(width, height, "".join(parts), title, "chart stacked")


def trend(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    *,
    width: int = 560,
    height: int = 200,
) -> str:
    """Shares (0..1) over time, one line per series (the first drawn thickest), y in %; a gap where None.

    ``labels`` are the x positions in order (the weeks); a lone known point shows as a dot.
    """
    left, right, top, bottom = 38, 8, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _, values in series for v in values if v is not None] + [0.0])
    y_max = min(1.0, max(0.1, math.ceil(peak * 10 + 1e-9) / 10))  # next 10% above the highest point
    parts = []
    for k in range(0, int(round(y_max * 10)) + 1, 1 if y_max <= 0.5 else 2):
        y = top + plot_h * (1 - k / 10 / y_max)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 4}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10" {FONT} '
                     f'fill="#555">{k * 10}%</text>')
    n = len(labels)
    step = plot_w / n if n else plot_w

    def x_of(i: int) -> float:
        return left + step * (i + 0.5)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - min(max(v, 0.0), y_max) / y_max)

    every = max(1, math.ceil(n / 8))  # at most ~8 week labels under the axis, the latest always
    for i, label in enumerate(labels):
        if (n - 1 - i) % every == 0:
            parts.append(f'<text x="{x_of(i):.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="9.5" '
                         f'{FONT} fill="#333">{esc(label)}</text>')
    for s, (name, values) in reversed(list(enumerate(series))):  # the first series drawn last, on top
        color, stroke = group_color(s), 2.5 if s == 0 else 1.5
        run: list[str] = []
        for i, v in [*enumerate(values[:n]), (n, None)]:  # a None (or the end) closes the current line
            if v is None:
                if len(run) > 1:
                    parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{color}" '
                                 f'stroke-width="{stroke}"/>')
                run = []
                continue
            run.append(f"{x_of(i):.1f},{y_of(v):.1f}")
            parts.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="{stroke + 0.5:g}" fill="{color}">'
                         f"<title>{esc(name)}, {esc(labels[i])}: {_pct(v)}</title></circle>")
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="10" {FONT} '
                 f'fill="#555">week the songs were offered (share saved to Liked Songs since)</text>')
    return _svg(width, height, "".join(parts), title, "chart trend")
