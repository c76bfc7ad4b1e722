"""The terminal views of activities and app instances, in a wide or a narrow layout.

A wide terminal gets one table row per item. Below :data:`WIDE` columns a table of eight
columns would squeeze each cell into a sliver of a few characters, folded mid-word; the
narrow layout instead gives each item a few full-width lines, every field whole or cut
with an ellipsis, never folded. Every value from outside passes through
:func:`~opencasb.cli.terminal.clip` (no control sequences, no 50 MB cells).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from opencasb.cli.terminal import clip
from opencasb.model import Health, HealthState
from opencasb.model.activity import Activity

__all__ = ["WIDE", "AlertRow", "AppRow", "activities_view", "alerts_view", "apps_view"]

WIDE = 140
"""Terminal width from which the views are tables with a column per field."""

_STYLE = {
    HealthState.CONNECTED: "green",
    HealthState.BACKFILLING: "cyan",
    HealthState.CONNECTING: "cyan",
    HealthState.DEGRADED: "yellow",
    HealthState.ERROR: "red",
    HealthState.DISABLED: "dim",
}


def _line(*parts: tuple[str, str]) -> Text:
    """One line that is cut with an ellipsis at the terminal's edge instead of wrapping."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for value, style in parts:
        if value:
            if text:
                text.append("  ")
            text.append(value, style=style)
    return text


# -- activities ---------------------------------------------------------------------------


def _actor(a: Activity) -> str:
    return clip(a.actor.email or a.actor.name or a.actor.id or "")


def _activity_cells(a: Activity) -> tuple[str, ...]:
    return (
        a.time.strftime("%Y-%m-%d %H:%M:%S"),
        clip(a.instance or a.app),
        clip(a.activity_type),
        a.outcome.value,
        _actor(a),
        clip(a.src_ip or ""),
        clip((a.geo.country if a.geo else None) or ""),
        clip(a.description),
    )


def activities_view(items: Sequence[Activity], width: int) -> RenderableType:
    """Activities as a table (wide), or narrow: a line of who, when and where that is cut
    at the edge, then the type and description wrapped between words."""
    if width >= WIDE:
        table = Table(show_lines=False)
        for col in ("time", "app", "type", "outcome", "actor", "ip", "country", "description"):
            table.add_column(col, overflow="fold")
        for a in items:
            # Audit data is shown as plain Text: "[...]" in it is evidence, not markup.
            table.add_row(*(Text(c) for c in _activity_cells(a)))
        return table
    blocks: list[RenderableType] = []
    for a in items:
        time, app, kind, outcome, actor, ip, country, description = _activity_cells(a)
        # The country as its code when known: the line must leave room for the actor.
        country = clip((a.geo.country_code if a.geo else None) or country)
        where = f"{ip} ({country})" if ip and country else ip or country
        blocks.append(_line((time, "bold"), (app, "cyan"), (outcome, ""), (actor, ""), (where, "")))
        # The description is prose: it wraps at full width, between words.
        what = Text(kind, style="magenta")
        if description:
            what.append("  " + description)
        blocks.append(Padding(what, (0, 0, 0, 2)))
    return Group(*blocks)


# -- alerts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertRow:
    """What the alerts view shows of one alert."""

    id: str
    last_time: datetime
    severity: str
    state: str
    title: str
    evidence: int


def alerts_view(items: Sequence[AlertRow], width: int) -> RenderableType:
    """Alerts as a table (wide), or narrow: a line of id, time, severity, state and evidence
    that is cut at the edge (never folded: the id must stay copyable), then the title wrapped
    between words."""
    if width >= WIDE:
        table = Table()
        for col in ("id", "last seen", "severity", "status", "title", "evidence"):
            table.add_column(col, overflow="fold", no_wrap=col != "title")
        for a in items:
            cells = (a.id, _when(a.last_time), a.severity, a.state, clip(a.title), str(a.evidence))
            table.add_row(*(Text(c) for c in cells))
        return table
    blocks: list[RenderableType] = []
    for a in items:
        blocks.append(
            _line(
                (a.id, "bold"),
                (_when(a.last_time), ""),
                (a.severity, "yellow"),
                (a.state, ""),
                (f"{a.evidence} evidence", "dim"),
            )
        )
        blocks.append(Padding(Text(clip(a.title)), (0, 0, 0, 2)))
    return Group(*blocks)


# -- app instances ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppRow:
    """What the apps view shows of one instance (never its secrets)."""

    name: str
    app: str
    health: Health
    services: Sequence[str]


def _when(when: datetime | None) -> str:
    return "never" if when is None else when.strftime("%Y-%m-%d %H:%M:%SZ")


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _state(h: Health) -> Text:
    text = Text(h.state.value, style=_STYLE[h.state])
    if h.state is HealthState.BACKFILLING and h.progress is not None:
        text.append(f" {h.progress:.0%}")
    return text


def _problem(h: Health) -> tuple[str, str]:
    """The last error's code and meaning, and its fix, when the state is a problem."""
    err = h.last_error
    if err is None or h.state not in (HealthState.ERROR, HealthState.DEGRADED):
        return "", ""
    return clip(f"{err.code}: {err.meaning}", 400), clip(err.fix, 400)


def apps_view(rows: Sequence[AppRow], width: int) -> RenderableType:
    """Instances as a table (wide) or a few lines each (narrow), a suite's services on a
    line of their own."""
    if width >= WIDE:
        table = Table(title="Connected apps")
        for col in ("name", "app", "state", "last poll", "newest event", "lag", "events"):
            table.add_column(col, no_wrap=col != "app")
        table.add_column("problem", overflow="fold", ratio=1, min_width=30)
        for r in rows:
            h = r.health
            problem, fix = _problem(h)
            services = f"\n({clip(', '.join(r.services), 400)})" if r.services else ""
            table.add_row(
                Text(clip(r.name)),
                Text(clip(r.app) + services),
                _state(h),
                _when(h.last_success),
                _when(h.newest_event),
                _lag(h.lag_seconds),
                f"{h.events_stored:,}",
                Text(f"{problem}\nfix: {fix}" if problem else ""),
            )
        return table
    blocks: list[RenderableType] = [Text("Connected apps", style="italic")]
    for r in rows:
        h = r.health
        head = _line((clip(r.name), "bold"), (clip(r.app), "cyan"))
        head.append("  ")
        head.append_text(_state(h))
        head.append(f"  {h.events_stored:,} events  lag {_lag(h.lag_seconds)}")
        blocks.append(head)
        polled = "last poll " + _when(h.last_success)
        detail = [_line((polled, ""), ("newest " + _when(h.newest_event), ""))]
        if r.services:
            # Wrapped at the commas between services, never inside a name.
            detail.append(Text("services: " + clip(", ".join(r.services), 400)))
        problem, fix = _problem(h)
        if problem:
            detail.append(Text(f"problem: {problem}", style=_STYLE[h.state]))
            detail.append(Text(f"fix: {fix}"))
        blocks.append(Padding(Group(*detail), (0, 0, 0, 2)))
    return Group(*blocks)
