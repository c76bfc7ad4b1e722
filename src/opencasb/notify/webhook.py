"""Webhook notifier: the alert event as JSON, POSTed and signed with HMAC-SHA256.

Each request carries (the key is a secret shared with the receiver, stored encrypted)::

    Content-Type: application/json
    Idempotency-Key: <event_id>           the same for every retry of the event
    X-OpenCASB-Event: opened              the event kind
    X-OpenCASB-Event-Id: <event_id>
    X-OpenCASB-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + raw body)>

The receiver recomputes ``v1`` over the timestamp, a dot and the body bytes exactly as
received, compares in constant time, and rejects a ``t`` too far from its clock (a replayed
request). Any 2xx answer is a delivery; anything else (another status, a redirect, no
answer) is a failed attempt, retried by the notify stage (not before a ``Retry-After`` the
receiver sent, up to 5 minutes). Redirects are not followed: the
signed body must not travel to a host the user did not name.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx
import orjson

from opencasb import __version__
from opencasb.clock import Clock
from opencasb.errors import DeliveryFailed
from opencasb.http.client import retry_after
from opencasb.http.tls import ca_context
from opencasb.notify.base import failed, snippet
from opencasb.notify.config import WebhookConfig
from opencasb.notify.payload import Outgoing

__all__ = ["SIGNATURE_HEADER", "WebhookSender", "sign"]

SIGNATURE_HEADER = "X-OpenCASB-Signature"


def sign(key: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookSender:
    """POSTs events to one URL (see module doc). ``transport`` is for tests only."""

    def __init__(
        self,
        config: WebhookConfig,
        key: str,
        clock: Clock,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._config = config
        self._key = key
        self._clock = clock
        self._host = httpx.URL(config.url).host
        kwargs: dict[str, object] = {"timeout": config.timeout, "follow_redirects": False}
        if transport is not None:
            kwargs["transport"] = transport
        elif config.ca_file:
            kwargs["verify"] = ca_context(config.ca_file)
        self._client = httpx.Client(**kwargs)  # type: ignore[arg-type]

    def send(self, out: Outgoing) -> str:
        body = orjson.dumps(out.as_json())
        ts = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"opencasb/{__version__}",
            "Idempotency-Key": out.event.key,
            "X-OpenCASB-Event": out.kind,
            "X-OpenCASB-Event-Id": out.event.key,
            SIGNATURE_HEADER: sign(self._key, ts, body),
        }
        try:
            resp = self._client.post(self._config.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if 200 <= resp.status_code < 300:
            return f"HTTP {resp.status_code}"
        raise failed(
            f"the webhook at {self._host} answered HTTP {resp.status_code}: "
            f"{snippet(resp.text) or '(empty body)'}",
            fix="check the receiver's logs; the event is retried with backoff",
            code=f"HTTP {resp.status_code}",
            retry_after=retry_after(resp.headers),
        )

    def _unreachable(self, exc: httpx.TransportError) -> DeliveryFailed:
        text = snippet(str(exc)) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return failed(
                f"the webhook at {self._host} did not answer within {self._config.timeout:g} s",
                fix="the receiver is slow or unreachable; the event is retried with backoff",
                code="timeout",
            )
        low = text.lower()
        if "certificate" in low or "ssl" in low or "tls" in low:
            return failed(
                f"TLS failed with the webhook at {self._host}: {text}",
                fix="check the URL's host name; a private CA is trusted with --ca-file",
                code="tls",
            )
        return failed(
            f"could not reach the webhook at {self._host}: {text}",
            fix="check that the receiver runs and the URL is right; the event is retried",
            code="connect",
        )

    def close(self) -> None:
        self._client.close()
