"""What the Connected apps page does to an instance, on the same path as the CLI.

Connecting validates the settings with the app's own ``validate_config``, tests the
connection and saves the instance only if the test passed (``opencasb connect``); disable,
enable, edit and remove change the stored instance and its health as ``opencasb apps`` does.
Secrets come from the form and go to the store encrypted; they are never put back into a
page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opencasb.apps.base import ConnectionCheck, load_app
from opencasb.errors import ConfigError, ConnectorError
from opencasb.ingest.connect import check_connection, connect_instance
from opencasb.ingest.health import changed_by_user
from opencasb.ingest.runner import SERVICES_STATE
from opencasb.store import InstanceRecord, Store

__all__ = [
    "Problem",
    "connect",
    "disable",
    "enable",
    "problem_of",
    "remove",
    "services_seen",
    "test_instance",
    "update",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """An error as the pages show it: what happened, what it means, how to fix it."""

    message: str
    meaning: str = ""
    fix: str = ""


def problem_of(exc: Exception) -> Problem:
    return Problem(str(exc), getattr(exc, "meaning", ""), getattr(exc, "fix", ""))


def _failed(check: ConnectionCheck) -> ConnectorError:
    e = check.error
    return ConnectorError(
        check.summary,
        meaning=e.meaning if e else "",
        fix=(e.fix if e else "") or "correct the settings and try again; nothing was saved",
        code=e.code if e else "",
    )


def connect(
    store: Store,
    app: str,
    name: str,
    settings: Mapping[str, str],
    secrets: Mapping[str, str],
    *,
    interval: int = 60,
) -> tuple[InstanceRecord, ConnectionCheck | None]:
    """Validate, test and save a new instance through
    :func:`~opencasb.ingest.connect.connect_instance` (as the CLI and the API do); nothing
    is saved when anything fails.

    Raises:
        ConfigError: a setting is invalid, a credential is missing or the name is taken;
            ConnectionTestFailed (a ConfigError) when the test failed.
    """
    name = name.strip()
    if not name:
        raise ConfigError("the instance needs a name", fix="e.g. okta or office365-contoso")
    kept = {k: v for k, v in secrets.items() if v.strip()}
    if not kept:
        wanted = ", ".join(f.label for f in load_app(app).FORM if f.secret)
        raise ConfigError("no credential was given", fix=f"fill in one of: {wanted}")
    done = connect_instance(store, app, name, settings, kept, interval=interval)
    return done.record, done.check


def test_instance(store: Store, name: str) -> ConnectionCheck:
    """Test a stored instance's connection with its stored settings and secrets."""
    rec = store.get_instance(name)
    return check_connection(rec.app, rec.config, store.instance_secrets(rec))


def update(
    store: Store, name: str, settings: Mapping[str, str], secrets: Mapping[str, str]
) -> tuple[InstanceRecord, ConnectionCheck]:
    """Change an instance's settings (and a secret, when one is given); tested before it is
    saved (the passed test is returned with the record), cursors and stored activities kept.

    Raises:
        ConfigError, ConnectorError: as :func:`connect`. NotFound.
    """
    rec = store.get_instance(name)
    cls = load_app(rec.app)
    config = cls.validate_config({**rec.config, **settings})
    new = {k: v for k, v in secrets.items() if v.strip()}
    kept = new or store.instance_secrets(rec)
    check = check_connection(rec.app, config, kept)
    if not check.ok:
        raise _failed(check)
    rec = store.update_instance(name, config=config, secrets=new or None)
    store.set_health(rec.id, changed_by_user(rec.health, enabled=rec.enabled))
    return store.get_instance(name), check


def disable(store: Store, name: str) -> None:
    """Stop polling; the instance's data stays searchable."""
    rec = store.update_instance(name, enabled=False)
    store.set_health(rec.id, changed_by_user(rec.health, enabled=False))


def enable(store: Store, name: str) -> None:
    """Poll again from where it stopped."""
    rec = store.update_instance(name, enabled=True)
    store.set_health(rec.id, changed_by_user(rec.health, enabled=True))


def remove(store: Store, name: str) -> None:
    """Delete the instance with its cursors, activities and inventory."""
    store.remove_instance(name)


def services_seen(store: Store, rec: InstanceRecord) -> list[str]:
    """The services of a suite seen so far (Exchange, SharePoint, Teams ...), sorted."""
    return sorted(store.get_state(rec.id, SERVICES_STATE) or {})
