"""Management Activity API handlers: ``/api/v1.0/{tenant}/activity/feed/...`` (research §1.2).

Every handler first runs :func:`gate`: the tenant in the URL must be a GUID (AF20013) and the
token's (AF20010), the token must carry ``ActivityFeed.Read`` (AF10001) and the tenant must
be licensed (AF20012). ``/api/v1/`` is accepted as well as ``/api/v1.0/`` because the docs'
own ``NextPageUri`` example uses it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson

from opencasb.clock import utc
from opencasb.sandbox.office365.blobs import (
    CONTENT_TYPES,
    Blob,
    format_page_token,
    parse_page_token,
    valid_content_id,
)
from opencasb.sandbox.office365.errors import ActivityError, tenant_not_found
from opencasb.sandbox.office365.http import Call, Reply
from opencasb.sandbox.office365.state import Subscription

__all__ = [
    "get_blob",
    "list_content",
    "list_notifications",
    "list_subscriptions",
    "start_subscription",
    "stop_subscription",
]

_WINDOW = timedelta(hours=24)
_LOOKBACK = timedelta(days=7)
_LOOKBACK_GRACE = timedelta(hours=1)  # beats: the server fails only past retention + 1 h
_WINDOW_RULES = (
    "Start time and end time must both be specified (or both omitted) and must be less than "
    "or equal to 24 hours apart"
)


def _bad(code: str, message: str, status: int = 400) -> ActivityError:
    return ActivityError(status, code, message)


def gate(call: Call) -> str:
    """Check tenant, token and licence; returns the tenant id."""
    tenant = call.path_param("tenant")
    try:
        uuid.UUID(tenant)
    except ValueError:
        msg = f"The tenant ID passed in the URL ({tenant}) is not a valid GUID."
        raise _bad("AF20013", msg) from None
    if tenant.lower() != call.caller.tenant_id:
        raise _bad(
            "AF20010",
            f"The tenant ID passed in the URL ({tenant}) does not match the tenant ID passed "
            f"in the access token ({call.caller.tenant_id}).",
            401,
        )
    if "ActivityFeed.Read" not in call.caller.roles:
        roles = ",".join(sorted(call.caller.roles))
        raise _bad(
            "AF10001",
            f"The permission set ({roles}) sent in the request did not include the expected "
            "permission ActivityFeed.Read.",
            403,
        )
    if not call.state.licensed:
        raise _bad(
            "AF20012", f"Specified tenant ID ({tenant}) is incorrectly configured in the system."
        )
    return tenant


def _content_type(call: Call) -> str:
    value = call.param("contentType")
    if not value:
        raise _bad("AF20001", "Missing parameter: contentType.")
    if value not in CONTENT_TYPES:  # exact spelling only (research §1.3)
        raise _bad("AF20020", "The specified content type is not valid.")
    return value


def _enabled(call: Call, content_type: str) -> Subscription:
    if not call.state.auditing_enabled:
        raise _bad("AF20023", "The subscription was disabled by a tenant admin.")
    sub = call.state.subscriptions.get(content_type)
    if sub is None or sub.status != "enabled":
        raise _bad("AF20022", "No subscription found for the specified content type.")
    return sub


def _webhook(call: Call, now: datetime) -> dict[str, Any] | None:
    if not call.body.strip():
        return None
    try:
        body = orjson.loads(call.body)
    except orjson.JSONDecodeError:
        raise _bad("AF20002", "Invalid parameter type: body. Expected type: JSON") from None
    hook = body.get("webhook") if isinstance(body, dict) else None
    if not isinstance(hook, dict):
        return None
    address = str(hook.get("address") or "")
    if not address.lower().startswith("https://"):
        raise _bad(
            "AF20021",
            f"The webhook endpoint {{{address}}} could not be validated. The address must "
            "begin with HTTPS.",
        )
    expiration = hook.get("expiration") or None
    if expiration and utc(datetime.fromisoformat(str(expiration))) <= now:
        raise _bad("AF20003", f"Expiration {expiration} provided is set to past date and time.")
    # The emulator never calls out, so the validation POST is taken as answered 200.
    return {
        "status": "enabled",
        "address": address,
        "authId": hook.get("authId"),
        "expiration": expiration,
    }


def start_subscription(call: Call) -> Reply:
    """``POST subscriptions/start``: 200 with the subscription, or 400 AF20024 when it is
    already enabled with the same webhook."""
    gate(call)
    content_type = _content_type(call)
    state = call.state
    if not state.auditing_enabled:
        raise tenant_not_found(state.tenant_id, content_type, call.caller.app_id, call.request_id)
    now = state.clock.now()
    webhook = _webhook(call, now)
    with state.lock:
        sub = state.subscriptions.get(content_type)
        if sub is not None and sub.status == "enabled":
            if sub.webhook == webhook:
                raise _bad("AF20024", "The subscription is already enabled. No property change.")
            sub.webhook = webhook
        else:
            # A (re)started subscription only ever sees content published from now on.
            sub = Subscription(content_type, "enabled", now, webhook)
            state.subscriptions[content_type] = sub
        return Reply.json(sub.view())


def stop_subscription(call: Call) -> Reply:
    """``POST subscriptions/stop``: 200 with an empty body."""
    gate(call)
    content_type = _content_type(call)
    with call.state.lock:
        sub = call.state.subscriptions.get(content_type)
        if sub is None or sub.status != "enabled":
            raise _bad("AF20022", "No subscription found for the specified content type.")
        sub.status = "disabled"
    return Reply(200, None)


def list_subscriptions(call: Call) -> Reply:
    """``GET subscriptions/list``: every subscription ever started, with its status."""
    gate(call)
    with call.state.lock:
        return Reply.json([s.view() for s in call.state.subscriptions.values()])


def _parse_time(call: Call, name: str) -> datetime | None:
    raw = call.param(name)
    if raw is None or raw == "":
        return None
    try:
        return utc(datetime.fromisoformat(raw))
    except ValueError:
        raise _bad("AF20002", f"Invalid parameter type: {name}. Expected type: DateTime") from None


def _window(call: Call, now: datetime) -> tuple[datetime, datetime]:
    start, end = _parse_time(call, "startTime"), _parse_time(call, "endTime")
    if start is None and end is None:
        return now - _WINDOW, now
    if start is None or end is None:
        raise _bad(
            "AF20030",
            f"{_WINDOW_RULES}, with the start time no more than 7 days in the past.",
        )
    if not start < end <= start + _WINDOW or start < now - _LOOKBACK - _LOOKBACK_GRACE:
        raise _bad(
            "AF20055",
            f"{_WINDOW_RULES}, with the start time prior to end time and start time no more "
            "than 7 days in the past.",
        )
    return start, end


def _entry(call: Call, tenant: str, blob: Blob) -> dict[str, Any]:
    return {
        "contentType": blob.content_type,
        "contentId": blob.content_id,
        "contentUri": f"{call.base}/api/v1.0/{tenant}/activity/feed/audit/{blob.content_id}",
        "contentCreated": _iso_ms(blob.created),
        "contentExpiration": _iso_ms(blob.expiration),
    }


def _iso_ms(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _fmt_window(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def list_content(call: Call) -> Reply:
    """``GET subscriptions/content``: one page of available blobs, ``NextPageUri`` when more.

    Lists blobs with ``startTime <= contentCreated < endTime``, ``contentCreated <= now`` and
    published since the subscription started.
    """
    tenant = gate(call)
    content_type = _content_type(call)
    sub = _enabled(call, content_type)
    state = call.state
    now = state.clock.now()
    start, end = _window(call, now)
    after = None
    raw_page = call.param("nextPage")
    if raw_page:
        after = parse_page_token(raw_page)
        if after is None:
            raise _bad("AF20031", f"Invalid nextPage Input: {raw_page}.")
    page, nxt = state.blobs.listing(
        content_type,
        start=max(start, sub.since),
        end=end,
        now=now,
        after=after,
        limit=call.limits.content_page_size,
    )
    reply = Reply.json([_entry(call, tenant, b) for b in page])
    if nxt is not None:
        params = [(k, v) for k, v in call.params() if k.lower() not in _WINDOW_PARAMS]
        # Omitted times mean "the 24 hours before the original request": pin them.
        params += [("startTime", call.param("startTime") or _fmt_window(start))]
        params += [("endTime", call.param("endTime") or _fmt_window(end))]
        params += [("nextPage", format_page_token(nxt))]
        uri = f"{call.base}/api/v1.0/{tenant}/activity/feed/subscriptions/content"
        reply.headers.append(("NextPageUri", f"{uri}?{urlencode(params)}"))
    return reply


_WINDOW_PARAMS = frozenset({"starttime", "endtime", "nextpage"})


def list_notifications(call: Call) -> Reply:
    """``GET subscriptions/notifications``: the emulator sends no webhooks, so always ``[]``
    (after the same checks as a content listing)."""
    gate(call)
    _enabled(call, _content_type(call))
    _window(call, call.state.clock.now())
    return Reply.json([])


def _strip_dlp_detections(record: dict[str, Any]) -> dict[str, Any]:
    # Without ActivityFeed.ReadDlp the sensitive values themselves are withheld.
    for policy in record.get("PolicyDetails") or []:
        for rule in policy.get("Rules") or []:
            matched = rule.get("ConditionsMatched") or {}
            for info in matched.get("SensitiveInformation") or []:
                info.pop("SensitiveInformationDetections", None)
    if "SensitiveInfoDetectionIsIncluded" in record:
        record["SensitiveInfoDetectionIsIncluded"] = False
    return record


def get_blob(call: Call) -> Reply:
    """``GET audit/{contentId}``: the blob's records as a JSON array."""
    gate(call)
    content_id = call.path_param("content_id")
    if not valid_content_id(content_id):
        raise _bad("AF20052", f"Content ID {content_id} in the URL is invalid.")
    now = call.state.clock.now()
    blob = call.state.blobs.get(content_id)
    if blob is None or blob.created > now:
        raise _bad("AF20050", f"The specified content ({content_id}) does not exist.", 404)
    if blob.expiration <= now:
        raise _bad(
            "AF20051",
            f"Content requested with the key {content_id} has already expired. Content older "
            "than 7 days cannot be retrieved.",
        )
    if blob.content_type == "DLP.All" and "ActivityFeed.ReadDlp" not in call.caller.roles:
        records = [_strip_dlp_detections(orjson.loads(r)) for r in blob.records]
        return Reply.json(records)
    return Reply(200, blob.body())
