"""The AppConnector contract and the registry of installed apps.

A connector only talks to its SaaS API and returns values: it never writes to the store and
never advances a cursor. The ingest runner owns cursors, transactions and retries.

Apps register under the entry-point group ``opencasb.apps``; the core imports none of them
directly (see :func:`load_app`).
"""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, ClassVar

import httpx

from opencasb.clock import Clock, SystemClock
from opencasb.errors import ConfigError, ErrorInfo
from opencasb.model import Account, Activity, Group

__all__ = [
    "AppConnector",
    "ConnectionCheck",
    "Cursor",
    "Feed",
    "FormField",
    "Gap",
    "HttpOptions",
    "Inventory",
    "Page",
    "available_apps",
    "load_app",
]

Cursor = dict[str, Any]
"""A feed's position: a small JSON-serializable dict, opaque to everyone but its feed."""


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of an app's connect form."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""
    default: str | None = None
    env_var: str | None = None  # where the CLI may read it from, for secrets


@dataclass(frozen=True, slots=True)
class Gap:
    """Events the API can no longer deliver (a content blob expired, a period fell out of
    retention). A feed reports a gap instead of skipping it silently; the runner keeps it
    where the user sees it (the quarantine and the instance's health)."""

    code: str  # the vendor's code, e.g. "AF20051"
    what: str  # what is missing, e.g. "Audit.SharePoint content blob ...", "2026-11-01..03"
    meaning: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of raw events and the cursor that follows it.

    ``raw_events`` holds the records as parsed JSON, or -- from the app feeds -- a
    :class:`~opencasb.apps.records.RawRecords`, which reads the same but keeps each record's
    JSON text and parses it only when it is read (the ingest pipeline never does).

    Contract: storing ``raw_events`` and then ``next_cursor`` in one transaction is safe;
    re-fetching from ``next_cursor`` never misses an event that this page did not contain.
    ``progress`` (0..1) and ``newest_time`` are hints for health and progress bars.
    ``caught_up`` is true on the page that ends a poll cycle (nothing more to fetch now).
    ``gaps`` lists what the API could not deliver before this cursor.
    """

    raw_events: Sequence[Any]
    next_cursor: Cursor
    progress: float | None = None
    newest_time: datetime | None = None
    caught_up: bool = False
    gaps: tuple[Gap, ...] = ()


class Feed(ABC):
    """A stream of raw events with a cursor. ``fetch`` yields pages and writes nothing."""

    name: str  # the cursor's key; unique among one connector's feeds

    @abstractmethod
    def initial_cursor(self, now: datetime) -> Cursor:
        """The cursor of a feed that has never run (it encodes the backfill start)."""

    @abstractmethod
    def fetch(self, cursor: Cursor) -> Iterator[Page]:
        """Yield pages from ``cursor`` until caught up for now.

        Raises:
            ConnectorError: a subclass saying whether the failure is transient.
        """


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """The result of :meth:`AppConnector.test`."""

    ok: bool
    summary: str
    error: ErrorInfo | None = None
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inventory:
    """Accounts and groups of one app instance."""

    accounts: list[Account]
    groups: list[Group]


@dataclass(frozen=True)
class HttpOptions:
    """How a connector reaches its API. Tests inject a transport and a fake clock.

    ``verify`` is an ``ssl.SSLContext``, a CA bundle path, or ``True`` for the system store.
    """

    transport: httpx.BaseTransport | None = None
    verify: ssl.SSLContext | str | bool = True
    timeout: float = 30.0
    clock: Clock = field(default_factory=SystemClock)
    max_retries: int = 6


class AppConnector(ABC):
    """One SaaS app. Subclasses declare the class attributes and implement the hooks.

    ``config`` holds the non-secret form values; ``secrets`` the secret ones (decrypted).
    """

    NAME: ClassVar[str]
    TITLE: ClassVar[str]
    FORM: ClassVar[tuple[FormField, ...]]

    def __init__(
        self,
        config: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        http: HttpOptions | None = None,
    ) -> None:
        self.config = dict(config)
        self.secrets = dict(secrets)
        self.http = http or HttpOptions()

    @classmethod
    def validate_config(cls, config: Mapping[str, str]) -> dict[str, str]:
        """Check and canonicalize the non-secret form values.

        Raises:
            ConfigError: naming the field and what a valid value looks like.
        """
        return dict(config)

    @abstractmethod
    def test(self) -> ConnectionCheck:
        """Probe the API with the given credentials; never raises for API failures."""

    @abstractmethod
    def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
        """The feeds to ingest, in the order they should run."""

    @abstractmethod
    def normalize(self, raw: Mapping[str, Any]) -> Activity:
        """Turn one raw record into an Activity (pure).

        Raises:
            NormalizeError: the record lacks what every activity needs (id, time).
        """

    def normalizer(self) -> Callable[[Mapping[str, Any]], Activity] | None:
        """:meth:`normalize` as a module-level function, for worker processes; or ``None``.

        Backfills normalize in worker processes, which import the function by its qualified
        name (it is pickled by reference), so it must be a module-level function, pure, and
        give exactly what :meth:`normalize` gives. ``None`` (the default) means normalizing
        needs this connector's state, and every page is normalized in the sync's process.
        """
        return None

    @abstractmethod
    def inventory(self) -> Inventory:
        """Fetch the app's accounts and groups."""

    @classmethod
    def services(cls, raw_events: Sequence[Any]) -> set[str]:
        """The apps inside this app that ``raw_events`` come from (Office 365: Exchange,
        SharePoint, Teams ...), so the apps list can show each once its first activity is
        seen; empty for an app that is one service. A class method: an import, which has no
        credentials and so no connector, asks it too."""
        return set()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release HTTP connections."""


def available_apps() -> dict[str, type[AppConnector]]:
    """All connectors registered under the ``opencasb.apps`` entry-point group."""
    apps: dict[str, type[AppConnector]] = {}
    for ep in entry_points(group="opencasb.apps"):
        cls = ep.load()
        apps[ep.name] = cls
    return apps


def load_app(name: str) -> type[AppConnector]:
    """The connector class registered as ``name``.

    Raises:
        ConfigError: no such app is installed.
    """
    apps = available_apps()
    try:
        return apps[name]
    except KeyError:
        known = ", ".join(sorted(apps)) or "none"
        raise ConfigError(
            f"unknown app {name!r}",
            fix=f"use one of the installed apps: {known}",
        ) from None
