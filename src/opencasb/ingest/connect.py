"""Connecting an app instance: the one code path of ``opencasb connect``, the REST API and
the portal's dialogs.

:func:`connect_instance` validates the settings with the app's own rules, refuses a name
that is taken (unless ``replace``), tests the connection (unless ``skip_test``) and saves the
instance only if the test passed, so a typo never stores a broken instance. With
``replace`` an existing instance of the same name takes the new settings and keeps its
cursors and data (``reset`` drops them too). The callers only differ in where the values
come from and how the outcome is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from opencasb.apps.base import AppConnector, ConnectionCheck, load_app
from opencasb.errors import ConfigError, NotFound
from opencasb.http.options import HttpOptions
from opencasb.ingest.health import changed_by_user
from opencasb.store import InstanceRecord, Store

__all__ = [
    "Connected",
    "ConnectionTestFailed",
    "check_connection",
    "check_secret",
    "connect_instance",
    "refuse_existing",
    "save_instance",
]


class ConnectionTestFailed(ConfigError):
    """The connection test failed; nothing was saved. ``check`` holds the test's result."""

    def __init__(self, check: ConnectionCheck) -> None:
        e = check.error
        super().__init__(
            f"connection test failed: {check.summary}",
            meaning=e.meaning if e else "",
            fix=e.fix if e else "",
            code=e.code if e and e.code else "connection_test_failed",
        )
        self.check = check


@dataclass(frozen=True, slots=True)
class Connected:
    """What :func:`connect_instance` did: the saved record, the test's result (None when
    skipped) and, for a replaced instance, what happened to its data, in words."""

    record: InstanceRecord
    check: ConnectionCheck | None
    kept: str


def check_secret(label: str, value: str) -> str:
    """``value`` if it is printable ASCII (newlines allowed, for PEM files).

    Tokens travel in HTTP headers, which carry ASCII only (latin-1 at most); a token with a
    non-ASCII character was mangled on the way (a typographic quote, a non-breaking space, a
    look-alike letter) and would fail every request. The message names the position and the
    code point, never the secret.

    Raises:
        ConfigError: the value holds a non-ASCII or control character.
    """
    for i, ch in enumerate(value):
        if not (" " <= ch <= "~" or ch in "\r\n\t"):
            raise ConfigError(
                f"the {label} holds the character U+{ord(ch):04X} at position {i + 1}, "
                "which an HTTP header cannot carry (headers are ASCII)",
                meaning="the value was likely changed when it was copied: a typographic quote, "
                "a non-breaking space or a look-alike letter",
                fix=f"copy the {label} again from the vendor's console as plain text",
                code="secret_not_ascii",
            )
    return value


def check_connection(
    app: str, config: Mapping[str, str], secrets: Mapping[str, str]
) -> ConnectionCheck:
    """Test a connection with these settings (one try, no retries); never raises for an
    API failure (the check says what failed)."""
    connector: AppConnector = load_app(app)(config, secrets, http=HttpOptions(max_retries=1))
    try:
        return connector.test()
    finally:
        connector.close()


def refuse_existing(store: Store, app: str, name: str) -> None:
    """Raise ConfigError when an instance called ``name`` exists (before testing)."""
    try:
        store.get_instance(name)
    except NotFound:
        return
    raise ConfigError(
        f"an app instance named {name!r} already exists",
        fix=f"Choose another name with --name, or give this one new settings or credentials "
        f"with `opencasb connect {app} --name {name} --replace ...` (keeps its data) or "
        f"`opencasb apps edit {name}`.",
        code="instance_exists",
    )


def save_instance(
    store: Store,
    app: str,
    name: str,
    config: dict[str, str],
    secrets: dict[str, str],
    *,
    interval: int,
    replace: bool = False,
    reset: bool = False,
) -> tuple[InstanceRecord, str]:
    """Add the instance, or with ``replace`` give an existing one these settings and secrets.

    Returns the record and what happened to the stored data, in words.

    Raises:
        ConfigError: ``reset`` without ``replace``; the name exists (without ``replace``) or
            belongs to another app.
    """
    if reset and not replace:
        raise ConfigError(
            "--reset only applies with --replace",
            fix=f"run `opencasb connect {app} --name {name} --replace --reset ...` to start "
            "the instance over, or drop --reset",
        )
    try:
        existing = store.get_instance(name) if replace else None
    except NotFound:
        existing = None
    if existing is None:
        return store.add_instance(app, name, config, secrets, interval_seconds=interval), ""
    if existing.app != app:
        raise ConfigError(
            f"{name!r} is an instance of {existing.app}, not {app}",
            fix=f"choose another name, or remove it first with `opencasb apps remove {name}`",
        )
    if reset:
        store.remove_instance(name)
        rec = store.add_instance(app, name, config, secrets, interval_seconds=interval)
        return rec, "its stored activities, cursors and inventory were removed"
    rec = store.update_instance(
        name, config=config, secrets=secrets, enabled=True, interval_seconds=interval
    )
    store.set_health(rec.id, changed_by_user(rec.health, enabled=True))
    return store.get_instance(name), "its cursors and stored activities were kept"


def connect_instance(
    store: Store,
    app: str,
    name: str,
    config: Mapping[str, str],
    secrets: Mapping[str, str],
    *,
    interval: int = 60,
    skip_test: bool = False,
    replace: bool = False,
    reset: bool = False,
    test: Callable[[str, Mapping[str, str], Mapping[str, str]], ConnectionCheck] = check_connection,
) -> Connected:
    """Validate, test and save an app instance (see the module's contract).

    Raises:
        ConfigError: an unknown app or invalid settings (naming the field), a taken name.
        ConnectionTestFailed: the test failed; nothing was saved.
    """
    cls = load_app(app)
    valid = cls.validate_config(config)
    labels = {f.name: f.label for f in cls.FORM if f.secret}
    secrets = {k: check_secret(labels.get(k, k), v) for k, v in secrets.items()}
    if not replace:
        refuse_existing(store, app, name)
    check = None
    if not skip_test:
        check = test(app, valid, secrets)
        if not check.ok:
            raise ConnectionTestFailed(check)
    rec, kept = save_instance(
        store, app, name, valid, dict(secrets), interval=interval, replace=replace, reset=reset
    )
    return Connected(rec, check, kept)
