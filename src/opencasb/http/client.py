"""A small synchronous API client: httpx plus pacing, retries and the error policy.

Retries: transient failures (5xx, timeouts, connection resets, 429) are retried with
exponential backoff and full jitter, up to ``HttpOptions.max_retries``; 429 waits for the
rate-limit window instead. Failures that need the user (401, 403, unknown 4xx) raise at once.
Every error message is scrubbed of the secrets the client knows about.
"""

from __future__ import annotations

import logging
import random
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from opencasb.errors import (
    ConfigError,
    ConnectionFailed,
    ConnectorError,
    DnsFailed,
    TlsFailed,
    UpstreamError,
)
from opencasb.formats.records import NotAnArray, RawRecords
from opencasb.http.background import current_pace
from opencasb.http.budget import RequestBudget
from opencasb.http.links import parse_link_header, require_same_origin
from opencasb.http.options import HttpOptions
from opencasb.http.policy import Action, ErrorPolicy
from opencasb.http.ratelimit import RateLimitPacer
from opencasb.logs import remember_secret

__all__ = ["ApiClient", "Auth", "Response", "connection_error", "retry_after", "scrub"]

log = logging.getLogger(__name__)


class Auth(Protocol):
    """Supplies the authorization headers; ``invalidate`` drops a cached token after a 401."""

    def headers(self) -> dict[str, str]: ...

    def invalidate(self) -> bool:
        """Forget a cached token; return True if a retry with a fresh one makes sense."""
        ...


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON.

        Raises:
            UpstreamError: the body is not JSON (a proxy's HTML page, a truncated answer).
        """
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            raise UpstreamError(
                f"the API answered HTTP {self.status} with a body that is not JSON",
                fix="check that the domain points at the API and not at a proxy or login page",
                status=self.status,
            ) from None

    def records(self, head: tuple[str, ...] = ()) -> RawRecords:
        """The body as a page of records (a JSON array), each kept as its JSON text, with
        the top-level fields ``head`` decoded (see :class:`RawRecords`).

        Raises:
            NotAnArray: the body is JSON but not an array; the caller says what it expected.
            UpstreamError: the body is not JSON, as for :meth:`json`.
        """
        try:
            return RawRecords.split(self.body, head)
        except NotAnArray:
            self.json()  # raises UpstreamError when the body is not JSON at all
            raise

    @property
    def links(self) -> dict[str, str]:
        return parse_link_header(self.headers.get_list("link"))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (Graph sends fractions, e.g. ``2.128``), capped
    at 5 minutes so a hostile value cannot park a worker; None when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, 300.0)


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every known secret in ``text`` by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def connection_error(exc: httpx.TransportError, url: str, app: str) -> ConnectorError:
    """What a transport failure of a request to ``url`` is: UpstreamError for a timeout
    (transient), TlsFailed or DnsFailed (not transient: the user must fix the trust or the
    name), else ConnectionFailed (transient)."""
    text = str(exc)
    low = text.lower()
    host = httpx.URL(url).host
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(
            f"the request to {host} timed out",
            fix="the API is slow or unreachable; it will be retried",
            app=app,
        )
    if "certificate" in low or "ssl" in low or "tls" in low:
        return TlsFailed(
            f"TLS failed when connecting to {host}: {text}",
            meaning="the server's certificate is not trusted or does not match the host name",
            fix="check the domain; if a proxy inspects TLS, give its CA with the ca_bundle option",
            code="TLS",
            app=app,
        )
    if "name or service not known" in low or "nodename" in low or "getaddrinfo" in low:
        return DnsFailed(
            f"the host {host} does not resolve (DNS)",
            meaning="there is no such host name, or DNS is unreachable from this machine",
            fix="check the spelling of the domain and this machine's DNS settings",
            code="DNS",
            app=app,
        )
    return ConnectionFailed(
        f"could not connect to {host}: {text or type(exc).__name__}",
        fix="check the network path to the API; the connection will be retried",
        code="CONNECT",
        app=app,
    )


class ApiClient:
    """One API origin with its auth, error policy and rate-limit pacer.

    Args:
        base_url: the origin, e.g. ``https://acme.okta.com``.
        app: the app name, for error context.
        auth: supplies authorization headers.
        policy: what each status code means.
        http: transport, TLS verification, timeout, clock and retry budget.
        bucket_of: maps a URL path to its rate-limit bucket.
        secrets: strings never to reveal in error text.
        rng: jitter source (seed it in tests).
        budget: a client-side request budget every request (retries too) is paced by, for
            APIs that publish a rate but send no rate-limit headers.
    """

    def __init__(
        self,
        base_url: str,
        *,
        app: str,
        auth: Auth,
        policy: ErrorPolicy,
        http: HttpOptions,
        bucket_of: Callable[[str], str] = lambda path: "default",
        secrets: list[str] | None = None,
        rng: random.Random | None = None,
        user_agent: str = "opencasb/0.1",
        budget: RequestBudget | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._auth = auth
        self._policy = policy
        self._http = http
        self._clock = http.clock
        self._bucket_of = bucket_of
        self._secrets = secrets or []
        for secret in self._secrets:
            remember_secret(secret)
        self._rng = rng or random.Random()
        self.pacer = RateLimitPacer(http.clock)
        self.budget = budget
        self.rate_limited = 0  # 429 answers seen, for benchmarks and health
        self.retries = 0
        verify: ssl.SSLContext | str | bool = http.verify
        kwargs: dict[str, Any] = {
            "timeout": http.timeout,
            "headers": {"Accept": "application/json", "User-Agent": user_agent},
            "follow_redirects": False,
        }
        if http.transport is not None:
            kwargs["transport"] = http.transport
        else:
            kwargs["verify"] = verify
        self._client = httpx.Client(**kwargs)

    def close(self) -> None:
        # An injected transport belongs to whoever injected it (tests, the demo) and outlives
        # this client; closing httpx.Client would close it too.
        if self._http.transport is None:
            self._client.close()

    def url(self, path: str) -> str:
        """The absolute URL of ``path``: an absolute path is joined to the base URL; any
        other text must be a URL on the base URL's origin, and is rebuilt from the same
        parse that checked it (see :func:`~opencasb.http.links.require_same_origin`).

        Raises:
            UnsafeResponse: ``path`` is a URL on another origin, or not a plain URL.
        """
        if path.startswith("/") and not path.startswith("//"):
            return self.base_url + path
        return require_same_origin(path, self.base_url, app=self.app)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> Response:
        """Send one request, retrying transient failures; return a 2xx response.

        Raises:
            ConnectorError: a subclass per the error policy, with the vendor code's meaning.
        """
        url = self.url(path)
        where = httpx.URL(url).path  # logged without the query: it can carry a cursor
        bucket = self._bucket_of(where)
        attempt = 0
        reauthed = False
        pace = current_pace()  # set on a thread that must give way to the feeds
        while True:
            if pace is not None:
                pace.wait_turn()
            paced = self.pacer.delay(bucket)
            if paced > 0:
                log.info(
                    "rate-limit window spent; waiting for its reset",
                    extra={"app": self.app, "bucket": bucket, "delay": round(paced, 3)},
                )
            self.pacer.before_request(bucket)
            if self.budget is not None:
                self.budget.acquire()
            headers = self._auth.headers() if authenticated else {}
            if method in ("POST", "PUT", "PATCH") and data is None:
                headers["Content-Length"] = "0"  # Okta answers 411 without it
            started = self._clock.monotonic()
            try:
                raw = self._client.request(method, url, params=params, data=data, headers=headers)
                resp = Response(raw.status_code, raw.headers, raw.read(), str(raw.url))
            except UnicodeEncodeError:
                # httpx encodes headers as ASCII: a stored credential with a non-ASCII
                # character (saved before connect checked it) fails here, for every request.
                raise ConfigError(
                    f"a credential of {self.app} holds characters an HTTP header cannot carry",
                    meaning="headers are ASCII; the stored token or secret has a non-ASCII "
                    "character, most likely from copying it (a quote or a non-breaking space)",
                    fix="store the credential again with `opencasb apps edit NAME`",
                    code="secret_not_ascii",
                ) from None
            except httpx.TransportError as exc:
                err = connection_error(exc, url, self.app)
                if err.transient and attempt < self._http.max_retries:
                    attempt += 1
                    self._backoff(attempt, method, where, err.code)
                    continue
                raise self._scrubbed(err) from None
            log.debug(
                "%s %s -> %d",
                method,
                where,
                resp.status,
                extra={
                    "app": self.app,
                    "status": resp.status,
                    "duration": round(self._clock.monotonic() - started, 3),
                },
            )
            self.pacer.observe(bucket, resp.headers)
            if resp.status < 400:
                return resp
            if resp.status == 401 and not reauthed and self._auth.invalidate():
                reauthed = True
                continue
            err, action = self._error(resp)
            if action is Action.FAIL or attempt >= self._http.max_retries:
                raise self._scrubbed(err)
            attempt += 1
            if action is Action.RATE_LIMITED:
                self.rate_limited += 1
                wait = self.pacer.reset_in(resp.headers)
                if wait is None:
                    wait = retry_after(resp.headers)
                if wait is None:
                    wait = self._jitter(attempt)
                self.retries += 1
                log.warning(
                    "rate limited (HTTP 429) on %s %s; retrying after the wait",
                    method,
                    where,
                    extra={
                        "app": self.app,
                        "bucket": bucket,
                        "attempt": attempt,
                        "delay": round(wait, 3),
                        "code": err.code,
                    },
                )
                self._clock.sleep(wait)
            else:
                self._backoff(attempt, method, where, err.code)

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Response:
        return self.request("GET", path, params=params)

    def _backoff(self, attempt: int, method: str, where: str, code: str) -> None:
        self.retries += 1
        delay = self._jitter(attempt)
        log.warning(
            "%s %s failed (%s); retrying",
            method,
            where,
            code,
            extra={"app": self.app, "attempt": attempt, "delay": round(delay, 3), "code": code},
        )
        self._clock.sleep(delay)

    def _jitter(self, attempt: int) -> float:
        # Full jitter on an exponential ceiling (1, 2, 4 ... 60 s) spreads retries of many
        # workers apart; the floor of half the ceiling keeps one worker from hammering.
        ceiling = min(60.0, 2.0 ** (attempt - 1))
        return self._rng.uniform(ceiling / 2, ceiling)

    def _error(self, resp: Response) -> tuple[ConnectorError, Action]:
        code, summary = self._policy.extract_code(resp.body)
        resolution = self._policy.resolve(resp.status, code)
        info = self._policy.catalogue.get(code)
        message = f"{resolution.message} (HTTP {resp.status}"
        message += f", {code}: {summary})" if code else ")"
        err = resolution.error(
            message,
            meaning=info.meaning if info else resolution.message,
            fix=info.fix if info else resolution.fix,
            code=code or f"HTTP {resp.status}",
            app=self.app,
            status=resp.status,
            retry_after=self.pacer.reset_in(resp.headers) or retry_after(resp.headers),
        )
        return err, resolution.action

    def _scrubbed(self, err: ConnectorError) -> ConnectorError:
        err.message = scrub(err.message, self._secrets)
        err.meaning = scrub(err.meaning, self._secrets)
        err.args = (err.message,)
        return err
