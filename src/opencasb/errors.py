"""The one exception tree of OpenCASB.

Every error a user can meet says what happened (``str(err)``, the one-line message), what it
means (``meaning``) and what to do (``fix``); ``code`` names it for the UI and the logs, and
``transient`` says whether retrying without the user can help. Third-party exceptions are
translated at the boundary where they occur; nothing outside this tree should escape a
public function. :meth:`OpenCASBError.info` is the error as stored in an instance's health.

::

    OpenCASBError              message, meaning, fix, code; transient (a class attribute)
    ├── ConfigError            settings, config files, connect forms, unreadable import files
    │   └── DocumentError      a filter or policy document; + problems (every one, with its place)
    ├── ConnectorError         talking to a SaaS API; + app, status (HTTP), retry_after (s)
    │   ├── ConnectionFailed   no HTTP answer: TCP refused or reset          (transient)
    │   │   ├── TlsFailed      the certificate is untrusted or names another host
    │   │   └── DnsFailed      the host name does not resolve
    │   ├── AuthFailed         the credential is wrong, expired or revoked (401)
    │   ├── PermissionDenied   the credential lacks a role or scope (403)
    │   ├── RateLimited        the API said 429; retry_after when it said how long (transient)
    │   ├── UpstreamError      5xx, timeouts, a body that is not JSON           (transient)
    │   └── UnsafeResponse     a Link header we refuse to follow (another host, not https)
    ├── NormalizeError         one raw record could not be normalized (it is quarantined)
    ├── StoreError             the database failed or holds a row we cannot read
    ├── InstanceBusy           another process holds the instance's lease; + holder (transient)
    ├── DeliveryFailed         a notifier's receiver did not take an alert event   (transient)
    └── NotFound               a named thing (instance, rejected record) does not exist

Only the classes marked transient are: everything else needs the user (or is a bug) and is
not retried. The ingest runner records a transient ConnectorError as a DEGRADED instance and
any other failure as ERROR (see :mod:`opencasb.ingest.health`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AuthFailed",
    "ConfigError",
    "ConnectionFailed",
    "ConnectorError",
    "DeliveryFailed",
    "DnsFailed",
    "DocumentError",
    "ErrorInfo",
    "InstanceBusy",
    "NormalizeError",
    "NotFound",
    "OpenCASBError",
    "PermissionDenied",
    "Problem",
    "RateLimited",
    "StoreError",
    "TlsFailed",
    "UnsafeResponse",
    "UpstreamError",
]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A catalogue entry: what an error code means and how the user fixes it."""

    code: str
    meaning: str
    fix: str
    transient: bool = False


class OpenCASBError(Exception):
    """Root of the tree. ``str(err)`` is the one-line message; ``meaning``/``fix`` explain it."""

    transient: bool = False

    def __init__(self, message: str, *, meaning: str = "", fix: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.meaning = meaning or message
        self.fix = fix
        self.code = code

    def info(self) -> ErrorInfo:
        """The error as a catalogue entry, for storing in health state and showing in the UI."""
        return ErrorInfo(self.code or type(self).__name__, self.meaning, self.fix, self.transient)


class ConfigError(OpenCASBError):
    """Bad settings or connect form; the user must change them."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a document a user wrote: where it is and what is wrong.

    ``path`` is the place inside the document (``all[2].not.equals``; empty for the whole
    document); ``line`` and ``column`` (1-based) are known when it was read from text;
    ``source`` names the file (or ``--filter``) when there is one.
    """

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where += (
                f":{self.line}:{self.column}"
                if where
                else f"line {self.line}, column {self.column}"
            )
        at = f"{self.path}: " if self.path else ""
        return f"{where}: {at}{self.message}" if where else f"{at}{self.message}"


class DocumentError(ConfigError):
    """A document (filter, policy file) has problems; ``problems`` holds every one found,
    in document order, and the message lists them one a line."""

    def __init__(
        self,
        what: str,
        problems: list[Problem] | tuple[Problem, ...],
        *,
        fix: str = "",
        code: str = "",
    ) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(
            f"{what} has {count} problem{'s' if count != 1 else ''}:\n{lines}",
            fix=fix,
            code=code or "bad_document",
        )


class ConnectorError(OpenCASBError):
    """A SaaS API call failed. Carries the ``app``, the HTTP ``status`` (None before any
    answer), the vendor error ``code`` and, when the API said, ``retry_after`` seconds."""

    def __init__(
        self,
        message: str,
        *,
        meaning: str = "",
        fix: str = "",
        code: str = "",
        app: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, meaning=meaning, fix=fix, code=code)
        self.app = app
        self.status = status
        self.retry_after = retry_after


class ConnectionFailed(ConnectorError):
    """No HTTP answer: the connection was refused, reset or dropped. Transient; its
    subclasses (a certificate, a host name) are not, as retrying cannot fix them."""

    transient = True


class TlsFailed(ConnectionFailed):
    """The TLS handshake failed: the certificate is not trusted or names another host."""

    transient = False


class DnsFailed(ConnectionFailed):
    """The host name does not resolve (misspelt domain, or no DNS from this machine)."""

    transient = False


class AuthFailed(ConnectorError):
    """The credential was refused (401); retrying will not help."""


class PermissionDenied(ConnectorError):
    """The credential is valid but lacks a role or scope (403)."""


class RateLimited(ConnectorError):
    """The API throttled us (429); ``retry_after`` says how long to wait, when known."""

    transient = True


class UpstreamError(ConnectorError):
    """A server error, a timeout or an unexpected answer; usually clears on retry."""

    transient = True


class UnsafeResponse(ConnectorError):
    """A response we refuse to act on, such as a Link header pointing off the org's host.
    Not transient: the API would send it again."""


class NormalizeError(OpenCASBError):
    """A raw record could not be normalized. The record is quarantined, never dropped."""


class StoreError(OpenCASBError):
    """The store failed, or holds a row we cannot read."""


class NotFound(OpenCASBError):
    """A named object does not exist."""


class InstanceBusy(OpenCASBError):
    """Another process (``holder``, "pid@host") is syncing or importing into the instance."""

    transient = True

    def __init__(self, message: str, *, holder: str, meaning: str = "", fix: str = "") -> None:
        super().__init__(message, meaning=meaning, fix=fix, code="instance_busy")
        self.holder = holder


class DeliveryFailed(OpenCASBError):
    """A notifier's receiver (webhook, syslog, SMTP server) did not accept an alert event:
    refused, timed out, answered with an error. Transient: the notify stage retries it with
    backoff and dead-letters it after its limit. The message never holds a secret.
    ``retry_after``: seconds the receiver asked to wait (HTTP Retry-After), when it did."""

    transient = True
    retry_after: float | None = None
