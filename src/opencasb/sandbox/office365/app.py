"""The Office 365 emulator as one ASGI app serving the login host, the Management Activity
API and Microsoft Graph (point each client's base URL at it).

Pipeline per request: injected latency -> injected 5xx -> (APIs only) the request budget
(429 + ``Retry-After`` when over it; an injected 429 burst drains the budget's window, so its
``Retry-After`` is the real wait to the reset) -> Bearer token (audience
``https://manage.office.com`` or ``https://graph.microsoft.com``) -> handler. Each surface
answers errors in its own dialect (see ``errors.py``) and with its own headers; every response
carries ``Date`` on the emulator's clock (beats reads it to measure skew). Faults are drawn
per endpoint (method and route template); the sign-in endpoints have no budget, so they get
5xx faults but no 429 bursts. With a :class:`~opencasb.sandbox.request_log.RequestLog` every
answer is logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opencasb.clock import Clock
from opencasb.sandbox.office365 import routes_activity as act
from opencasb.sandbox.office365 import routes_graph as graph
from opencasb.sandbox.office365.errors import (
    AadError,
    ActivityError,
    GraphError,
    aad_body,
    activity_body,
    graph_body,
)
from opencasb.sandbox.office365.faults import FaultDecision, FaultInjector, Faults
from opencasb.sandbox.office365.http import Call, Reply
from opencasb.sandbox.office365.ratelimit import Limits, RateLimiter
from opencasb.sandbox.office365.routes_aad import AAD_ROUTES, AadRequest
from opencasb.sandbox.office365.state import GRAPH_RESOURCE, MANAGE_RESOURCE, O365State
from opencasb.sandbox.office365.tokens import InvalidToken, verify_bearer
from opencasb.sandbox.request_log import LoggedRequest, RequestLog

__all__ = ["O365Runtime", "create_o365_app", "runtime_of"]

Handler = Callable[[Call], Reply]
Endpoint = Callable[[Request], Awaitable[Response]]
_JSON = "application/json; charset=utf-8"
_GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
_NO_PUBLISHER = "00000000-0000-0000-0000-000000000000"


@dataclass
class O365Runtime:
    """What a running emulator is made of; reach it with :func:`runtime_of` to poke it."""

    state: O365State
    limits: Limits
    limiter: RateLimiter
    ids: random.Random
    requests: RequestLog | None = None

    @property
    def clock(self) -> Clock:
        return self.state.clock

    def request_id(self) -> str:
        with self.state.lock:
            return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))


def runtime_of(app: Starlette) -> O365Runtime:
    """The runtime behind an app made by :func:`create_o365_app`."""
    rt: O365Runtime = app.state.o365
    return rt


def _respond(
    rt: O365Runtime,
    status: int,
    body: bytes | None,
    content_type: str,
    headers: list[tuple[str, str]],
) -> Response:
    response = Response(body or b"", status_code=status)
    response.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"content-type"]
    if body is not None:
        headers = [("content-type", content_type), *headers]
    headers.append(("date", email.utils.format_datetime(rt.clock.now(), usegmt=True)))
    response.raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return response


@dataclass
class _Trace:
    """What the request log says about one request: its budget and its injected fault."""

    bucket: str | None = None
    fault: str | None = None


def _logged(handle: Callable[[Request, _Trace], Awaitable[Response]]) -> Endpoint:
    """Run ``handle`` and log the answer to the runtime's request log (when it has one)."""

    async def endpoint(request: Request) -> Response:
        rt = runtime_of(request.app)
        arrived = rt.clock.now()
        trace = _Trace()
        response = await handle(request, trace)
        if rt.requests is not None:
            rt.requests.record(
                LoggedRequest(
                    arrived,
                    "office365",
                    request.method,
                    request.url.path,
                    request.url.query,
                    response.status_code,
                    trace.bucket,
                    trace.fault,
                )
            )
        return response

    return endpoint


def _endpoint_key(request: Request) -> str:
    """The fault stream of a request: its method and route template."""
    route = request.scope.get("route")
    template = route.path if isinstance(route, Route) else request.url.path
    return f"{request.method} {template}"


async def _prelude(rt: O365Runtime, request: Request) -> FaultDecision:
    fault = rt.state.faults.decide(_endpoint_key(request))
    if fault.latency_seconds > 0:
        if rt.state.faults.faults.latency_mode == "real":
            await asyncio.sleep(fault.latency_seconds)
        else:
            rt.clock.sleep(fault.latency_seconds)
    return fault


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _aad_endpoint(handler: Callable[[AadRequest], dict[str, Any]]) -> Endpoint:
    async def endpoint(request: Request, log: _Trace) -> Response:
        rt = runtime_of(request.app)
        fault = await _prelude(rt, request)
        trace, corr = rt.request_id(), request.headers.get("client-request-id") or rt.request_id()
        extra = [("x-ms-request-id", trace), ("cache-control", "no-store, no-cache")]
        try:
            if fault.status in (500, 503):
                log.fault = str(fault.status)
                raise AadError(
                    "temporarily_unavailable" if fault.status == 503 else "server_error",
                    90033 if fault.status == 503 else 50000,
                    "A transient error has occurred. Please try again.",
                    fault.status,
                )
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            req = AadRequest(
                rt.state, request.path_params, dict(request.query_params), form, _base(request)
            )
            body = handler(req)
        except AadError as err:
            payload = aad_body(
                err, now=rt.clock.now(), trace_id=trace, correlation_id=corr, base=_base(request)
            )
            return _respond(rt, err.status, orjson.dumps(payload), _JSON, extra)
        return _respond(rt, 200, orjson.dumps(body), _JSON, extra)

    return _logged(endpoint)


def _activity_endpoint(handler: Handler, method: str) -> Endpoint:
    async def endpoint(request: Request, trace: _Trace) -> Response:
        rt = runtime_of(request.app)
        fault = await _prelude(rt, request)
        request_id = rt.request_id()
        # The real service's cache headers (research §1.2, FAQ capture).
        extra = [("cache-control", "no-cache"), ("pragma", "no-cache"), ("expires", "-1")]
        try:
            if request.path_params["ver"] not in ("v1", "v1.0"):
                raise ActivityError(404, "AF20050", "The requested resource does not exist.")
            if fault.status in (500, 503):
                trace.fault = str(fault.status)
                code = "AF50000" if fault.status == 500 else "AF50005"
                raise ActivityError(
                    fault.status, code, "An internal error occurred. Retry the request."
                )
            _throttle_activity(rt, request, method, trace)
            caller = verify_bearer(
                rt.state, request.headers.get("authorization"), {MANAGE_RESOURCE}
            )
            call = Call(
                request,
                rt.state,
                caller,
                request_id,
                _base(request),
                rt.limits,
                await request.body(),
            )
            reply = handler(call)
        except InvalidToken as exc:
            err = ActivityError(401, "Unauthorized", f"Authorization has been denied: {exc}")
            extra.append(("www-authenticate", 'Bearer error="invalid_token"'))
            return _respond(rt, 401, orjson.dumps(activity_body(err)), _JSON, extra)
        except ActivityError as err:
            extra += list(err.headers.items())
            return _respond(rt, err.status, orjson.dumps(activity_body(err)), _JSON, extra)
        return _respond(rt, reply.status, reply.body, _JSON, extra + reply.headers)

    return _logged(endpoint)


def _throttle_activity(rt: O365Runtime, request: Request, method: str, trace: _Trace) -> None:
    """Count the request in its pool: tenant + PublisherIdentifier, or the shared pool."""
    publisher = ""
    for key, value in request.query_params.multi_items():
        if key.lower() == "publisheridentifier":
            publisher = value.strip().lower()
    if publisher:
        bucket = f"activity:{request.path_params['tenant'].lower()}:{publisher}"
        limit = rt.limits.activity_per_minute
    else:
        bucket, limit = "activity:shared", rt.limits.shared_pool_per_minute
    trace.bucket = bucket
    window = rt.limits.activity_window_seconds
    wait = rt.limiter.take(bucket, limit, window)
    if wait is None and rt.state.faults.burst_due(_endpoint_key(request)):
        trace.fault = "429"
        wait = rt.limiter.drain(bucket, limit, window)
    if wait is not None:
        raise ActivityError(
            rt.limits.throttle_status,
            "AF429",
            f"Too many requests. Method={method}, PublisherId={publisher or _NO_PUBLISHER}",
            {"retry-after": str(wait)},
        )


def _graph_endpoint(handler: Handler) -> Endpoint:
    async def endpoint(request: Request, trace: _Trace) -> Response:
        rt = runtime_of(request.app)
        fault = await _prelude(rt, request)
        request_id = rt.request_id()
        client_request_id = request.headers.get("client-request-id") or request_id
        extra = [("request-id", request_id), ("client-request-id", client_request_id)]
        try:
            if fault.status in (500, 503):
                trace.fault = str(fault.status)
            if fault.status == 500:
                raise GraphError(500, "generalException", "General exception while processing.")
            if fault.status == 503:
                raise GraphError(
                    503, "serviceNotAvailable", "Service unavailable.", {"retry-after": "1"}
                )
            limit, window = rt.limits.graph_per_window, rt.limits.graph_window_seconds
            trace.bucket = "graph"
            wait = rt.limiter.take("graph", limit, window)
            if wait is None and rt.state.faults.burst_due(_endpoint_key(request)):
                trace.fault = "429"
                wait = rt.limiter.drain("graph", limit, window)
            if wait is not None:
                raise GraphError(
                    429,
                    "TooManyRequests",
                    "Please retry again later.",
                    {"retry-after": str(wait)},
                    {"code": "429", "message": "Please retry after", "status": "429"},
                )
            caller = verify_bearer(rt.state, request.headers.get("authorization"), {GRAPH_RESOURCE})
            call = Call(
                request,
                rt.state,
                caller,
                request_id,
                _base(request),
                rt.limits,
                await request.body(),
            )
            reply = handler(call)
        except (GraphError, InvalidToken) as exc:
            err = (
                exc
                if isinstance(exc, GraphError)
                else GraphError(401, "InvalidAuthenticationToken", str(exc))
            )
            extra += list(err.headers.items())
            body = graph_body(
                err, now=rt.clock.now(), request_id=request_id, client_request_id=client_request_id
            )
            return _respond(rt, err.status, orjson.dumps(body), _GRAPH_JSON, extra)
        return _respond(rt, reply.status, reply.body, _GRAPH_JSON, extra + reply.headers)

    return _logged(endpoint)


async def _not_found(request: Request) -> Response:
    rt = runtime_of(request.app)
    body = {"error": {"code": "NotFound", "message": f"No route for {request.url.path}."}}
    return _respond(rt, 404, orjson.dumps(body), _JSON, [])


def create_o365_app(
    state: O365State,
    *,
    clock: Clock | None = None,
    faults: Faults | None = None,
    limits: Limits | None = None,
    seed: int = 0,
    request_log: RequestLog | None = None,
) -> Starlette:
    """An ASGI app emulating Azure AD, the Management Activity API and Graph over ``state``.

    ``clock`` replaces the state's clock when given; ``faults`` replaces its fault injector;
    ``seed`` makes request, trace and correlation ids reproducible; ``request_log`` receives
    one entry per answered request.
    """
    if clock is not None:
        state.clock = clock
    if faults is not None:
        state.faults = FaultInjector(faults)
    lim = limits or Limits()
    runtime = O365Runtime(state, lim, RateLimiter(state.clock), random.Random(seed), request_log)
    feed = "/api/{ver}/{tenant}/activity/feed"
    routes = [Route(path, _aad_endpoint(h), methods=[m]) for path, m, h in AAD_ROUTES]
    routes += [
        Route(
            f"{feed}/subscriptions/start",
            _activity_endpoint(act.start_subscription, "StartSubscription"),
            methods=["POST"],
        ),
        Route(
            f"{feed}/subscriptions/stop",
            _activity_endpoint(act.stop_subscription, "StopSubscription"),
            methods=["POST"],
        ),
        Route(
            f"{feed}/subscriptions/list",
            _activity_endpoint(act.list_subscriptions, "ListSubscriptions"),
        ),
        Route(f"{feed}/subscriptions/content", _activity_endpoint(act.list_content, "ListContent")),
        Route(
            f"{feed}/subscriptions/notifications",
            _activity_endpoint(act.list_notifications, "ListNotifications"),
        ),
        Route(f"{feed}/audit/{{content_id:path}}", _activity_endpoint(act.get_blob, "GetBlob")),
        Route("/v1.0/users", _graph_endpoint(graph.list_users)),
        Route("/v1.0/users/{user}", _graph_endpoint(graph.update_user), methods=["PATCH"]),
        Route(
            "/v1.0/users/{user}/revokeSignInSessions",
            _graph_endpoint(graph.revoke_sessions),
            methods=["POST"],
        ),
        Route("/v1.0/groups", _graph_endpoint(graph.list_groups)),
        Route("/v1.0/groups/{group}/members", _graph_endpoint(graph.list_group_members)),
        Route("/{path:path}", _not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.o365 = runtime
    return app
