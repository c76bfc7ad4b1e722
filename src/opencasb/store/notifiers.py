"""Configured notifiers: their settings, encrypted secrets, cursor, counters and lease.

A :class:`NotifierRecord` never holds secrets; :func:`notifier_secrets` decrypts them on
demand (with the installation's master key, as for app instances), so a record can be
logged or listed safely.

The lease: one process at a time delivers for a notifier (:func:`acquire_lease`), so events
go out in order and are not sent twice by two processes at once. A lease past its time may
be taken over (its holder crashed); every delivery outcome is committed only while the
lease is held (see :mod:`opencasb.store.deliveries`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from opencasb.errors import ConfigError, NotFound
from opencasb.store._db import Database
from opencasb.store._secrets import open_secrets, seal_secrets
from opencasb.store.codec import dumps, loads_object
from opencasb.store.outbox import last_event_id
from opencasb.store.schema import notifiers

__all__ = [
    "NOTIFIER_KINDS",
    "NotifierRecord",
    "acquire_lease",
    "add_notifier",
    "get_notifier",
    "list_notifiers",
    "notifier_secrets",
    "release_lease",
    "remove_notifier",
    "set_notifier_enabled",
]

NOTIFIER_KINDS = ("webhook", "syslog", "email")


@dataclass(frozen=True, slots=True)
class NotifierRecord:
    """A stored notifier without its secrets. ``cursor`` is the last outbox event queued
    for it; ``delivered`` counts the events it accepted."""

    id: int
    name: str
    kind: str
    config: dict[str, Any]
    enabled: bool
    cursor: int
    delivered: int
    last_success_at: datetime | None
    last_error: str | None
    created_at: datetime


_COLUMNS = (
    notifiers.c.id,
    notifiers.c.name,
    notifiers.c.kind,
    notifiers.c.config,
    notifiers.c.enabled,
    notifiers.c.cursor,
    notifiers.c.delivered,
    notifiers.c.last_success_at,
    notifiers.c.last_error,
    notifiers.c.created_at,
)


def _record(r: Any) -> NotifierRecord:
    return NotifierRecord(
        id=int(r.id),
        name=r.name,
        kind=r.kind,
        config=loads_object(r.config, f"notifiers row {r.id}"),
        enabled=bool(r.enabled),
        cursor=int(r.cursor),
        delivered=int(r.delivered),
        last_success_at=r.last_success_at,
        last_error=r.last_error,
        created_at=r.created_at,
    )


def _not_found(name: str) -> NotFound:
    return NotFound(
        f"no notifier named {name!r}",
        fix="'opencasb notifiers list' shows the configured notifiers.",
        code="notifier_not_found",
    )


def add_notifier(
    db: Database,
    kind: str,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    *,
    replay: bool = False,
) -> NotifierRecord:
    """Store a new notifier. It receives the alert events written from now on, or every
    stored one with ``replay``.

    Raises:
        ConfigError: unknown kind, empty or taken name, or no master key.
    """
    if kind not in NOTIFIER_KINDS:
        raise ConfigError(f"unknown notifier kind {kind!r}", fix="use webhook, syslog or email")
    if not name.strip():
        raise ConfigError("a notifier needs a name", fix="give it a short name")
    now = db.clock.now()
    values = {
        "name": name,
        "kind": kind,
        "config": dumps(config),
        "secrets_enc": seal_secrets(db, secrets),
        "enabled": True,
        "cursor": 0 if replay else last_event_id(db),
        "delivered": 0,
        "created_at": now,
        "updated_at": now,
    }
    with db.write() as conn:
        try:
            conn.execute(insert(notifiers).values(values))
        except IntegrityError as exc:
            raise ConfigError(
                f"a notifier named {name!r} already exists",
                fix=f"choose another name, or remove it first: opencasb notifiers remove {name}",
                code="notifier_exists",
            ) from exc
    return get_notifier(db, name)


def get_notifier(db: Database, name: str) -> NotifierRecord:
    """The notifier called ``name``. Raises NotFound."""
    with db.read() as conn:
        row = conn.execute(select(*_COLUMNS).where(notifiers.c.name == name)).first()
    if row is None:
        raise _not_found(name)
    return _record(row)


def list_notifiers(db: Database) -> list[NotifierRecord]:
    """Every notifier, by name."""
    with db.read() as conn:
        return [_record(r) for r in conn.execute(select(*_COLUMNS).order_by(notifiers.c.name))]


def set_notifier_enabled(db: Database, name: str, enabled: bool) -> None:
    """Switch a notifier on or off (a disabled one keeps its queue; events still queue up
    for it when it is enabled again, from its cursor). Raises NotFound."""
    with db.write() as conn:
        done = conn.execute(
            update(notifiers)
            .where(notifiers.c.name == name)
            .values(enabled=enabled, updated_at=db.clock.now())
        ).rowcount
    if not done:
        raise _not_found(name)


def remove_notifier(db: Database, name: str) -> None:
    """Delete a notifier with its queue and dead letters. Raises NotFound."""
    with db.write() as conn:
        done = conn.execute(delete(notifiers).where(notifiers.c.name == name)).rowcount
    if not done:
        raise _not_found(name)


def notifier_secrets(db: Database, record: NotifierRecord) -> dict[str, str]:
    """Decrypt the notifier's secrets; ConfigError if the master key changed."""
    again = f"remove the notifier (`opencasb notifiers remove {record.name}`) and add it again"
    secrets = open_secrets(db, notifiers, record.id, store_again=again)
    if secrets is None:
        raise _not_found(record.name)
    return secrets


def acquire_lease(
    db: Database, notifier_id: int, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take (or renew) the notifier's delivery lease for ``holder`` until ``now + ttl``:
    True when it is free, expired or already ``holder``'s."""
    with db.write() as conn:
        done = conn.execute(
            update(notifiers)
            .where(
                notifiers.c.id == notifier_id,
                or_(
                    notifiers.c.lease_holder.is_(None),
                    notifiers.c.lease_holder == holder,
                    notifiers.c.lease_until < now,
                ),
            )
            .values(lease_holder=holder, lease_until=now + ttl)
        ).rowcount
    return bool(done)


def release_lease(db: Database, notifier_id: int, holder: str) -> None:
    """Drop ``holder``'s lease (another holder's is left alone)."""
    with db.write() as conn:
        conn.execute(
            update(notifiers)
            .where(notifiers.c.id == notifier_id, notifiers.c.lease_holder == holder)
            .values(lease_holder=None, lease_until=None)
        )
