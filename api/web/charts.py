"""Charts drawn on the server as SVG (no JavaScript, nothing downloaded): stacked bars
per row of a report and a trend over the last periods. Each chart carries a title and a
description for screen readers; the pages show the same numbers in a table beside it.
Colours come from classes in static/isoflow.css (c-early, c-on_time, ...)."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True)
class Segment:
    value: int
    css: str  # colour class
    label: str  # for the tooltip and the legend


def _text(x: float, y: float, content: str, *, anchor: str = "start", css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{cls}>{escape(content)}</text>'


def stacked_bars(title: str, rows: list[tuple[str, list[Segment]]], *, width: int = 720) -> Markup:
    """One horizontal bar per row, its segments stacked, scaled to the longest bar."""
    label_w, bar_h, gap, top = 190, 18, 8, 8
    legend = _legend_rows([(s.css, s.label) for s in (rows[0][1] if rows else [])], label_w, width)
    height = top + len(rows) * (bar_h + gap) + 12 + 18 * len(legend)
    most = max((sum(s.value for s in segs) for _, segs in rows), default=0) or 1
    scale = (width - label_w - 60) / most
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, segs) in enumerate(rows):
        y = top + i * (bar_h + gap)
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(_text(label_w - 6, y + bar_h - 4, short, anchor="end"))
        x = float(label_w)
        for s in segs:
            if s.value:
                w = s.value * scale
                parts.append(f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}">'
                             f'<title>{escape(label)}: {escape(s.label)} {s.value}</title></rect>')
                x += w
        parts.append(_text(x + 4, y + bar_h - 4, str(sum(s.value for s in segs)), css="n"))
    y = top + len(rows) * (bar_h + gap) + 4
    for line in legend:
        for x, css, label in line:
            parts.append(f'<rect class="{escape(css)}" x="{x:.1f}" y="{y}" width="12" height="12"></rect>')
            parts.append(_text(x + 16, y + 11, label))
        y += 18
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend_rows(items: list[tuple[str, str]], left: float, width: int) -> list[list[tuple[float, str, str]]]:
    """Legend entries laid out in lines that fit the width (about 6.5 px per character)."""
    lines: list[list[tuple[float, str, str]]] = [[]]
    x = left
    for css, label in items:
        w = 28 + 6.5 * len(label)
        if lines[-1] and x + w > width:
            lines.append([])
            x = left
        lines[-1].append((x, css, label))
        x += w
    return lines if lines[0] else []


def trend_chart(title: str, points: list[tuple[str, int, float | None]], bar_label: str, line_label: str,
                *, width: int = 720, height: int = 220) -> Markup:
    """Bars (a count, left scale) and a line (a percentage, 0-100, right scale) per period."""
    left, right, top, bottom = 40, 40, 12, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(points), 1)
    step = plot_w / n
    most = max((c for _, c, _ in points), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"></line>',
             _text(left - 4, top + 10, str(most), anchor="end", css="n"),
             _text(left + plot_w + 4, top + 10, "100%", css="n")]
    line = []
    for i, (label, count, percent) in enumerate(points):
        x = left + i * step
        h = count / most * plot_h
        parts.append(f'<rect class="c-received" x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
                     f'width="{step * 0.7:.1f}" height="{h:.1f}"><title>{escape(label)}: {escape(bar_label)} '
                     f'{count}</title></rect>')
        parts.append(_text(x + step / 2, top + plot_h + 14, label, anchor="middle", css="tick"))
        if percent is not None:
            line.append((x + step / 2, top + plot_h - percent / 100 * plot_h, label, percent))
    if len(line) > 1:
        parts.append('<polyline class="trend" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in line) + '"></polyline>')
    for x, y, label, percent in line:
        parts.append(f'<circle class="trend-dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>{escape(label)}: '
                     f'{escape(line_label)} {percent:g}%</title></circle>')
    y = height - 14
    parts.append(f'<rect class="c-received" x="{left}" y="{y - 10}" width="12" height="12"></rect>')
    parts.append(_text(left + 16, y, bar_label))
    x2 = left + 40 + 7 * len(bar_label)
    parts.append(f'<line class="trend" x1="{x2}" y1="{y - 4}" x2="{x2 + 16}" y2="{y - 4}"></line>')
    parts.append(_text(x2 + 20, y, line_label))
    parts.append("</svg>")
    return Markup("".join(parts))
