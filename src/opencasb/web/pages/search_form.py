"""The activity log's search: the basic filters and the advanced filter from a URL's query.

The basic filters are those of :class:`~opencasb.store.ActivityQuery` (app, instance, user,
activity type, IP or CIDR, country, outcome, time range, text); the advanced filter is a
document of the filter language (:mod:`opencasb.filters`), YAML or JSON. Both apply (AND).
Times in the form are UTC (``YYYY-MM-DDTHH:MM`` as ``datetime-local`` sends them, or ISO
8601 with a zone). The search is also written back as one filter document, so that "new
policy from this search" starts from exactly what is on the screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import yaml

from opencasb.errors import ConfigError
from opencasb.filters import AllOf, AnyOf, Condition, Filter, Op, parse_filter_text, to_document
from opencasb.store import ActivityQuery

__all__ = ["BASIC", "Search", "parse_search", "parse_time"]

BASIC = ("app", "instance", "user", "type", "ip", "country", "outcome", "since", "until", "text")
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Search:
    """A parsed search: the store query, the advanced filter (or None) and the parameters
    that made them (to build links that keep the search)."""

    query: ActivityQuery
    advanced: Filter | None
    params: dict[str, str]

    def as_filter(self) -> Filter | None:
        """The search (but its time range and text) as one filter of the language."""
        p = self.params
        items: list[Filter] = []
        for key, field in (("app", "app"), ("instance", "instance"), ("type", "activity_type")):
            if p.get(key):
                items.append(Condition(field, Op.EQUALS, p[key]))
        if p.get("outcome"):
            items.append(Condition("outcome", Op.EQUALS, p["outcome"].lower()))
        if p.get("user"):
            u = p["user"].strip()
            items.append(
                AnyOf(
                    (
                        Condition("actor.email", Op.EQUALS, u.lower()),
                        Condition("actor.id", Op.EQUALS, u, ignore_case=True),
                        Condition("actor.name", Op.EQUALS, u, ignore_case=True),
                    )
                )
            )
        if p.get("ip"):
            items.append(Condition("src_ip", Op.CIDR, (p["ip"].strip(),)))
        if p.get("country"):
            c = p["country"].strip()
            if len(c) == 2:
                items.append(Condition("geo.country_code", Op.EQUALS, c.upper()))
            else:
                items.append(Condition("geo.country", Op.EQUALS, c, ignore_case=True))
        if self.advanced is not None:
            items.append(self.advanced)
        if not items:
            return None
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def as_yaml(self) -> str:
        """:meth:`as_filter` as a YAML document ('' when the search filters nothing)."""
        flt = self.as_filter()
        if flt is None:
            return ""
        return yaml.safe_dump(to_document(flt), sort_keys=False, allow_unicode=True)


def parse_time(text: str, name: str) -> datetime:
    """A UTC time from the form; ConfigError naming ``name`` otherwise."""
    value = text.strip().replace(" ", "T")
    try:
        if value.endswith("Z"):
            value = value[:-1] + "+00:00"
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(
            f"{name} is not a time: {text!r}", fix="use YYYY-MM-DD HH:MM (UTC)"
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_search(params: Mapping[str, str], *, limit: int = PAGE_SIZE) -> Search:
    """The search in ``params`` (a URL's query).

    Raises:
        ConfigError, DocumentError: a time or the advanced filter cannot be read (the
            page shows the error and the form as it was).
    """
    p = {k: params[k].strip() for k in (*BASIC, "filter", "after") if params.get(k, "").strip()}
    advanced = parse_filter_text(p["filter"]) if p.get("filter") else None
    query = ActivityQuery(
        app=p.get("app"),
        instance=p.get("instance"),
        user=p.get("user"),
        activity_type=p.get("type"),
        outcome=p.get("outcome"),
        ip=p.get("ip"),
        country=p.get("country"),
        since=parse_time(p["since"], "since") if p.get("since") else None,
        until=parse_time(p["until"], "until") if p.get("until") else None,
        text=p.get("text"),
        limit=limit,
        after=p.get("after"),
    )
    return Search(query, advanced, p)
