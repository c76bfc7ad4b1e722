"""The AppConnector contract and the registry of installed apps.

A connector only talks to its SaaS API and returns values: it never writes to the store and
never advances a cursor. The ingest runner owns cursors, transactions and retries.

Apps register under the entry-point group ``opencasb.apps``; the core imports none of them
directly. The plugin contract is the connector class: :func:`load_app` finds it by name,
:func:`connector_for` builds the connector of a stored instance (every caller that polls or
tests an instance goes through it), and its :attr:`AppConnector.IMPORT` says how to import
the app's export files (an import has no credentials, hence no connector).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

from opencasb.errors import ConfigError, ErrorInfo
from opencasb.formats.exports import BadRecord
from opencasb.http.options import HttpOptions
from opencasb.http.tls import ca_context
from opencasb.model import Account, Activity, Group, InstanceRecord

__all__ = [
    "AppConnector",
    "ConnectionCheck",
    "Cursor",
    "Feed",
    "FileImport",
    "FormField",
    "Gap",
    "HttpOptions",
    "Inventory",
    "Normalize",
    "Page",
    "available_apps",
    "connector_for",
    "load_app",
]

Cursor = dict[str, Any]
"""A feed's position: a small JSON-serializable dict, opaque to everyone but its feed."""

Normalize = Callable[[Mapping[str, Any]], Activity]
"""A pure function from one raw record to its Activity (see :meth:`AppConnector.normalize`)."""


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
    :class:`~opencasb.formats.records.RawRecords`, which reads the same but keeps each record's
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


@dataclass(frozen=True, slots=True)
class FileImport:
    """How an app imports its own audit-log export files (history older than its API keeps).

    Attributes:
        read: ``read(path)`` yields each record of the file as a dict, in file order, and a
            :class:`~opencasb.formats.exports.BadRecord` for each it cannot read (a bad record
            never stops an import). Raises ConfigError when the file as a whole cannot be
            read or is not an export of this app.
        normalize: a pure, module-level normalizer giving what the connector's
            :meth:`~AppConnector.normalize` gives.
        config: the config of the import-only instance an import creates when the instance
            it names does not exist (it holds history and never polls).
        conform: what ``read`` does to each record to bring it to the API's shape (keys,
            times, a derived id; see :mod:`opencasb.formats.conform`), for records
            quarantined by an import that are retried later; None: records are read as they
            are.
    """

    read: Callable[[Path], Iterable[Mapping[str, Any] | BadRecord]]
    normalize: Normalize
    config: Mapping[str, str]
    conform: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


class AppConnector(ABC):
    """One SaaS app. Subclasses declare the class attributes and implement the hooks.

    ``config`` holds the non-secret form values; ``secrets`` the secret ones (decrypted). A
    ``ca_bundle`` value in ``config`` (a TLS-inspecting proxy, the sandbox) is trusted on top
    of the system store, unless ``http`` already says what to verify.
    """

    NAME: ClassVar[str]
    TITLE: ClassVar[str]
    FORM: ClassVar[tuple[FormField, ...]]
    IMPORT: ClassVar[FileImport | None] = None
    """How ``opencasb import <app>`` reads and normalizes this app's export files; None: the
    app imports no files."""

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
        if self.config.get("ca_bundle") and self.http.verify is True:
            self.http = dataclasses.replace(self.http, verify=ca_context(self.config["ca_bundle"]))

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

    def normalizer(self) -> Normalize | None:
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


def connector_for(
    instance: InstanceRecord, secrets: Mapping[str, str], *, http: HttpOptions | None = None
) -> AppConnector:
    """The connector of a stored instance: its app's class built from its config and secrets.

    The one place a connector is built for an instance: the ingest runner, ``opencasb test``
    and whatever acts on an instance later go through it.

    Raises:
        ConfigError: the app is not installed; or its app takes credentials and the instance
            holds none (an import-only instance, made by ``opencasb import``: code
            ``import_only``); or the stored config no longer validates.
    """
    cls = load_app(instance.app)
    if not secrets and any(f.secret for f in cls.FORM):
        raise ConfigError(
            f"{instance.name} holds imported history only: it has no credentials to connect with",
            meaning="The instance was created by `opencasb import`; there is no API "
            "connection to test or poll.",
            fix=f"To poll {instance.app} as well, connect it under another name "
            f"(`opencasb connect {instance.app} --name ...`); imports can keep going here.",
            code="import_only",
        )
    return cls(instance.config, secrets, http=http)
