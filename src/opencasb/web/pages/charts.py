"""Charts drawn on the server as SVG: no remote script, nothing inline to run.

Labels are escaped here (the result is Markup, inserted as is); colours are classes of the
stylesheet (``c0``..``c3`` per series, ``s-<severity>``), so no inline style is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from opencasb.text import visible

__all__ = ["hbars", "stacked_days"]

_LABEL_CHARS = 26  # what fits left of a horizontal bar


def _text(value: str) -> str:
    return str(escape(visible(value)))


def stacked_days(days: Sequence[datetime], series: dict[str, list[int]], *, title: str) -> Markup:
    """Columns per day, one stacked segment per series (classes c0..c3, cycling)."""
    width, height, left, bottom, top = 640, 220, 44, 24, 10
    plot_h = height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = max(totals, default=0) or 1
    slot = (width - left - 10) / max(len(days), 1)
    bar = slot * 0.62
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_text(title)}"><title>{_text(title)}</title>'
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7eb"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{int(peak * frac):,}</text>'
        )
    for i, day in enumerate(days):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for k, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / peak
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect class="c{k % 4}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{_text(name)} {day:%b %d}: {values[i]:,}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - 6}" text-anchor="middle">{day:%b %d}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(rows: Sequence[tuple[str, int]], *, title: str, classes: Sequence[str] = ()) -> Markup:
    """One horizontal bar per (label, count); ``classes`` colour them (default c0)."""
    width, row_h, label_w = 460, 24, 180
    height = max(len(rows), 1) * row_h + 6
    peak = max((n for _, n in rows), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_text(title)}"><title>{_text(title)}</title>'
    ]
    for i, (label, n) in enumerate(rows):
        y = 4 + i * row_h
        w = (width - label_w - 60) * n / peak
        cls = classes[i] if i < len(classes) else "c0"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_text(label)}</text>'
        )
        parts.append(
            f'<rect class="{cls}" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}"/>'
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{n:,}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
