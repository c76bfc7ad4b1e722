"""The Okta emulator as an ASGI app: routes plus the pipeline every request goes through.

Pipeline, in order: injected latency -> 411 for a POST without Content-Length -> rate-limit
bucket (429 E0000047 when over budget) -> injected faults (a 429 burst drains the bucket's
window, so it answers exactly like the exhausted window; 500, 503) -> authentication (401
E0000011) -> scope/permission (403 E0000006) -> handler. Every response, error or not, carries
``Content-Type: application/json``, ``X-Okta-Request-Id``, ``Date`` (on the emulator's clock)
and the bucket's ``X-Rate-Limit-*`` headers. Faults are drawn per endpoint (method and route
template); with a :class:`~opencasb.sandbox.request_log.RequestLog` every answer is logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from opencasb.clock import Clock
from opencasb.sandbox.okta.auth import authenticate, authorize
from opencasb.sandbox.okta.errors import OAuthError, OktaApiError, error_body, random_error_id
from opencasb.sandbox.okta.faults import FaultInjector, Faults
from opencasb.sandbox.okta.http import Call, Reply
from opencasb.sandbox.okta.oauth import issue_token
from opencasb.sandbox.okta.ratelimit import Decision, RateLimiter, RateLimits
from opencasb.sandbox.okta.routes_logs import list_logs
from opencasb.sandbox.okta.routes_roles import list_role_assignees
from opencasb.sandbox.okta.routes_users import (
    clear_user_sessions,
    get_group,
    get_user,
    list_group_users,
    list_groups,
    list_user_groups,
    list_user_roles,
    list_users,
    user_lifecycle,
)
from opencasb.sandbox.okta.state import OktaState
from opencasb.sandbox.request_log import LoggedRequest, RequestLog

__all__ = ["OktaRuntime", "create_okta_app", "runtime_of"]

Handler = Callable[[Call], Reply]
_REQ_ALPHABET = string.ascii_letters + string.digits


@dataclass
class OktaRuntime:
    """What a running emulator is made of; reach it with :func:`runtime_of` to poke it.

    Change faults at runtime through ``runtime.state.faults.faults`` (a :class:`Faults`).
    """

    state: OktaState
    limiter: RateLimiter
    ids: random.Random
    requests: RequestLog | None = None

    @property
    def clock(self) -> Clock:
        return self.state.clock

    def request_id(self) -> str:
        return "req" + "".join(self.ids.choice(_REQ_ALPHABET) for _ in range(23))


def runtime_of(app: Starlette) -> OktaRuntime:
    """The runtime behind an app made by :func:`create_okta_app`."""
    rt: OktaRuntime = app.state.okta
    return rt


def _respond(
    rt: OktaRuntime,
    request_id: str,
    status: int,
    body: bytes | None,
    rate: Decision | None,
    extra: list[tuple[str, str]] | None = None,
) -> Response:
    response = Response(body if body is not None else b"", status_code=status)
    response.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"content-type"]
    headers = [
        ("content-type", "application/json"),
        ("x-okta-request-id", request_id),
        ("date", email.utils.format_datetime(rt.clock.now(), usegmt=True)),
        ("cache-control", "no-cache, no-store"),
    ]
    if rate is not None:
        headers += [(k.lower(), v) for k, v in rate.headers().items()]
    headers += extra or []
    response.raw_headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return response


def _okta_error(
    rt: OktaRuntime, request_id: str, err: OktaApiError, rate: Decision | None
) -> Response:
    with rt.state.lock:
        error_id = random_error_id(rt.ids)
    body = orjson.dumps(error_body(err, error_id))
    return _respond(rt, request_id, err.status, body, rate, list(err.headers.items()))


def _endpoint(handler: Handler, *, bucket: str, scope: str | None) -> Callable[[Request], object]:
    """Wrap ``handler`` in the pipeline. ``scope=None`` means no authentication."""

    async def endpoint(request: Request) -> Response:
        rt = runtime_of(request.app)
        arrived = rt.clock.now()
        injected: list[str] = []  # the fault injected into this request, if any
        response = await _pipeline(rt, request, handler, bucket, scope, injected)
        if rt.requests is not None:
            rt.requests.record(
                LoggedRequest(
                    arrived,
                    "okta",
                    request.method,
                    request.url.path,
                    request.url.query,
                    response.status_code,
                    bucket,
                    injected[0] if injected else None,
                )
            )
        return response

    return endpoint


def _endpoint_key(request: Request) -> str:
    """The fault stream of a request: its method and route template."""
    route = request.scope.get("route")
    template = route.path if isinstance(route, Route) else request.url.path
    return f"{request.method} {template}"


async def _pipeline(
    rt: OktaRuntime,
    request: Request,
    handler: Handler,
    bucket: str,
    scope: str | None,
    injected: list[str],
) -> Response:
    state = rt.state
    with state.lock:
        request_id = rt.request_id()
    key = _endpoint_key(request)
    fault = state.faults.decide(key)
    if fault.latency_seconds > 0:
        if state.faults.faults.latency_mode == "real":
            await asyncio.sleep(fault.latency_seconds)
        else:
            rt.clock.sleep(fault.latency_seconds)
    rate: Decision | None = None
    try:
        if request.method == "POST" and "content-length" not in request.headers:
            raise OktaApiError(
                411,
                "E0000001",
                "Api validation failed: Content-Length",
                ["POST requests must send Content-Length (0 for no body)."],
            )
        rate = rt.limiter.take(bucket)
        if rate.allowed and state.faults.burst_due(key):
            # Another client spends the rest of the window: same headers as a real exhaustion.
            injected.append("429")
            rate = rt.limiter.drain(bucket)
        if not rate.allowed:
            raise OktaApiError(
                429, "E0000047", "API call exceeded rate limit due to too many requests."
            )
        if fault.status == 500:
            injected.append("500")
            raise OktaApiError(500, "E0000009", "Internal Server Error")
        if fault.status == 503:
            injected.append("503")
            raise OktaApiError(503, "E0000010", "Service is in read only mode")
        base = f"{request.url.scheme}://{request.url.netloc}"
        if scope is None:
            return await _token(rt, request, request_id, base, rate)
        principal = authenticate(state, request.headers.get("authorization"))
        authorize(principal, scope)
        reply = handler(Call(request, state, principal, request_id, base))
    except OktaApiError as err:
        return _okta_error(rt, request_id, err, rate)
    return _respond(rt, request_id, reply.status, reply.body, rate, reply.headers)


async def _token(
    rt: OktaRuntime, request: Request, request_id: str, base: str, rate: Decision
) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    try:
        body = issue_token(rt.state, form, f"{base}/oauth2/v1/token")
    except OAuthError as err:
        payload = {"error": err.error, "error_description": err.description}
        return _respond(rt, request_id, err.status, orjson.dumps(payload), rate)
    return _respond(rt, request_id, 200, orjson.dumps(body), rate)


def _unused(call: Call) -> Reply:  # the token endpoint is handled by _token
    raise AssertionError("unreachable")


def _not_found(call: Call) -> Reply:
    scope = call.request.scope
    for route in call.request.app.routes:
        if isinstance(route, Route) and route.path != "/{path:path}":
            match, _ = route.matches(scope)
            if match is Match.PARTIAL:
                raise OktaApiError(
                    405, "E0000022", "The endpoint does not support the provided HTTP method"
                )
    path = call.request.url.path
    raise OktaApiError(404, "E0000007", f"Not found: Resource not found: {path} (Resource)")


def create_okta_app(
    state: OktaState,
    *,
    clock: Clock | None = None,
    faults: Faults | None = None,
    rate_limits: RateLimits | None = None,
    seed: int = 0,
    request_log: RequestLog | None = None,
) -> Starlette:
    """An ASGI app emulating the Okta Management API over ``state``.

    ``clock`` replaces the state's clock when given; ``faults`` replaces its fault
    injector (late events of a history already loaded were decided by the injector the
    state was built with); ``seed`` makes request ids and errorIds reproducible;
    ``request_log`` receives one entry per answered request.
    """
    if clock is not None:
        state.clock = clock
    if faults is not None:
        state.faults = FaultInjector(faults)
    runtime = OktaRuntime(
        state,
        RateLimiter(rate_limits or RateLimits(), state.clock),
        random.Random(seed),
        request_log,
    )
    u = "/api/v1/users/{user}"
    g = "/api/v1/groups/{group}"
    routes = [
        Route("/api/v1/logs", _endpoint(list_logs, bucket="logs", scope="okta.logs.read")),
        Route("/api/v1/users", _endpoint(list_users, bucket="users", scope="okta.users.read")),
        Route(u, _endpoint(get_user, bucket="user_by_id", scope="okta.users.read")),
        Route(
            f"{u}/groups", _endpoint(list_user_groups, bucket="catch_all", scope="okta.users.read")
        ),
        Route(
            f"{u}/roles", _endpoint(list_user_roles, bucket="catch_all", scope="okta.roles.read")
        ),
        Route(
            f"{u}/lifecycle/{{op}}",
            _endpoint(user_lifecycle, bucket="users", scope="okta.users.manage"),
            methods=["POST"],
        ),
        Route(
            f"{u}/sessions",
            _endpoint(clear_user_sessions, bucket="users", scope="okta.users.manage"),
            methods=["DELETE"],
        ),
        Route(
            "/api/v1/iam/assignees/users",
            _endpoint(list_role_assignees, bucket="catch_all", scope="okta.roles.read"),
        ),
        Route("/api/v1/groups", _endpoint(list_groups, bucket="groups", scope="okta.groups.read")),
        Route(g, _endpoint(get_group, bucket="group_by_id", scope="okta.groups.read")),
        Route(
            f"{g}/users",
            _endpoint(list_group_users, bucket="group_by_id", scope="okta.groups.read"),
        ),
        Route(
            "/oauth2/v1/token", _endpoint(_unused, bucket="catch_all", scope=None), methods=["POST"]
        ),
        Route(
            "/{path:path}",
            _endpoint(_not_found, bucket="catch_all", scope="okta.orgs.read"),
            methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
        ),
    ]
    app = Starlette(routes=routes)
    app.state.okta = runtime
    return app
