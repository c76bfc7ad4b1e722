"""``GET /api/v1/logs``: the System Log query API (research §3).

Polling (ASCENDING without ``until``) walks persistence order and always sends a ``next``
link; when a page is short, ``next`` resumes just after the last event returned (or repeats
the request's own cursor when nothing came back). Every other query is finite and walks
published order; its last page has no ``next``.

Cursors are ``{ms}_{seq}`` (persistence ms for polling, published ms otherwise); a cursor
resumes exactly after the event it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from opencasb.sandbox.okta.errors import OktaApiError
from opencasb.sandbox.okta.http import Call, Reply, int_param, link_header, url
from opencasb.sandbox.okta.log_store import Matcher, Page
from opencasb.sandbox.okta.scim_filter import (
    FilterSyntaxError,
    Node,
    comparisons,
    evaluate,
    parse_filter,
)
from opencasb.sandbox.okta.state import epoch_ms

__all__ = ["list_logs"]

PATH = "/api/v1/logs"
_CURSOR = re.compile(r"^(\d{1,15})_(\d{1,12})$")
_LOG_FIELDS = frozenset(
    {
        "uuid",
        "published",
        "eventType",
        "version",
        "severity",
        "legacyEventType",
        "displayMessage",
        "actor",
        "client",
        "device",
        "outcome",
        "target",
        "transaction",
        "debugContext",
        "authenticationContext",
        "securityContext",
        "request",
    }
)
_NO_CONTAINS = frozenset({"debugContext.debugData.url", "debugContext.debugData.requestUri"})
_DATE_HINT = (
    "The date format in your query is not recognized. "
    "Please enter dates using ISO8601 string format."
)
_DATE_VALID = "must be a valid date-time or empty."


def _log_error(status: int, code: str, summary: str) -> OktaApiError:
    # System-Log parameter errors come without errorLink/errorCauses (research §3.6).
    return OktaApiError(status, code, summary, include_link_and_causes=False)


def _parse_time(name: str, raw: str | None) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        # An unencoded "+00:00" arrives as " 00:00"; accept it like Okta's lenient parser.
        dt = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise OktaApiError(
            400,
            "E0000001",
            f"Api validation failed: '{name}': {_DATE_HINT} '{name}': {_DATE_VALID}",
            [f"{name}: {_DATE_HINT}", f"{name}: {_DATE_VALID}"],
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _parse_cursor(raw: str | None) -> tuple[int, int] | None:
    if raw is None:
        return None
    m = _CURSOR.match(raw)
    if m is None:
        raise OktaApiError(400, "E0000029", "Invalid paging request.")
    return int(m.group(1)), int(m.group(2))


def _compile_filter(raw: str) -> Node:
    try:
        node = parse_filter(raw)
    except FilterSyntaxError as exc:
        raise _log_error(400, "E0000053", str(exc)) from None
    for path, op in comparisons(node):
        dotted = ".".join(path)
        if path[0] == "published":
            raise _log_error(
                400,
                "E0000053",
                "Invalid parameter: published cannot be used in a filter; use since and until.",
            )
        if path[0] not in _LOG_FIELDS:
            raise _log_error(400, "E0000053", f"field is not valid: {dotted}")
        if op == "co" and dotted in _NO_CONTAINS:
            raise OktaApiError(
                400,
                "E0000031",
                "The supplied combination of operator and field is not currently supported. "
                f"Operator: co, Field: {dotted}",
            )
    return node


def _keywords(raw: str) -> list[str]:
    words = raw.split()
    if len(words) > 10:
        raise OktaApiError(
            400,
            "E0000001",
            "Api validation failed: 'q': Freeform search cannot contain more than 10 items. "
            "Please shorten your search or use an advanced filter to query by specific fields.",
        )
    if any(len(w) > 40 for w in words):
        raise OktaApiError(
            400,
            "E0000001",
            "Api validation failed: 'q': Freeform search cannot contain items longer than 40 "
            "characters. Please shorten the items in your search or use an advanced filter to "
            "query by specific fields.",
        )
    return [w.lower() for w in words]


def _tokens(value: Any, out: set[str]) -> None:
    """Every searchable token of a JSON value: whole strings, words, hyphen parts."""
    if isinstance(value, dict):
        for v in value.values():
            _tokens(v, out)
    elif isinstance(value, list):
        for v in value:
            _tokens(v, out)
    elif isinstance(value, str):
        low = value.lower()
        out.add(low)
        for word in low.split():
            out.add(word)
            if "-" in word:
                out.update(word.split("-"))
    elif value is not None and not isinstance(value, bool):
        out.add(str(value))


def _matcher(node: Node | None, words: list[str]) -> Matcher | None:
    if node is None and not words:
        return None  # the fast path: serve stored bytes without parsing

    def match(blob: bytes) -> bool:
        event = orjson.loads(blob)
        if node is not None and not evaluate(node, event):
            return False
        if words:
            toks: set[str] = set()
            _tokens(event, toks)
            return all(w in toks for w in words)
        return True

    return match


@dataclass(frozen=True, slots=True)
class _Query:
    polling: bool
    descending: bool
    since: datetime | None
    until: datetime | None
    after: tuple[int, int] | None
    limit: int
    match: Matcher | None


def _query(call: Call) -> _Query:
    sort = call.param("sortOrder") or "ASCENDING"
    if sort not in ("ASCENDING", "DESCENDING"):
        raise OktaApiError(400, "E0000001", "Api validation failed: sortOrder")
    limit = int_param(call, "limit", 100, 0, 1000)
    since = _parse_time("since", call.param("since"))
    until = _parse_time("until", call.param("until"))
    after = _parse_cursor(call.param("after"))
    polling = sort == "ASCENDING" and until is None
    if polling and since is not None and after is not None:
        raise _log_error(
            400, "E0000001", "Api validation failed: 'since' and 'after' are mutually exclusive."
        )
    now = call.state.clock.now()
    if since is not None and since < now - timedelta(days=180):
        raise _log_error(
            400,
            "E0000053",
            "Invalid parameter: The since parameter is over 180 days prior to the current day.",
        )
    raw_filter = call.param("filter")
    node = _compile_filter(raw_filter) if raw_filter else None
    words = _keywords(call.param("q") or "")
    return _Query(polling, sort == "DESCENDING", since, until, after, limit, _matcher(node, words))


def list_logs(call: Call) -> Reply:
    """Handle ``GET /api/v1/logs``."""
    q = _query(call)
    state = call.state
    now = state.clock.now()
    now_ms = epoch_ms(now)
    retention_ms = epoch_ms(state.retention_start())
    page: Page
    if q.polling:
        page = state.log.poll(
            after=q.after,
            since_ms=epoch_ms(q.since or now - timedelta(days=7)),
            now_ms=now_ms,
            min_published_ms=retention_ms,
            limit=q.limit,
            match=q.match,
        )
    else:
        until = q.until or now
        since = q.since or until - timedelta(days=7)
        page = state.log.bounded(
            after=q.after,
            since_ms=max(epoch_ms(since), retention_ms),
            until_ms=epoch_ms(until),
            now_ms=now_ms,
            descending=q.descending,
            limit=q.limit,
            match=q.match,
        )
    params = call.params()
    self_url = url(call.base, PATH, params)
    reply = Reply(200, b"[" + b",".join(page.blobs) + b"]")
    reply.headers.append(link_header(self_url, "self"))
    if q.polling:
        if page.last_key is None:
            next_url = self_url  # nothing new: the next poll repeats this one
        else:
            keep = [(k, v) for k, v in params if k not in ("after", "since")]
            next_url = url(call.base, PATH, [*keep, ("after", _cursor(page.last_key))])
        reply.headers.append(link_header(next_url, "next"))
    elif page.has_more and page.last_key is not None:
        keep = [(k, v) for k, v in params if k != "after"]
        reply.headers.append(
            link_header(url(call.base, PATH, [*keep, ("after", _cursor(page.last_key))]), "next")
        )
    return reply


def _cursor(key: tuple[int, int]) -> str:
    return f"{key[0]}_{key[1]}"
