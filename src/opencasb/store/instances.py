"""Connected app instances: their settings, encrypted secrets, schedule and health.

An :class:`InstanceRecord` never holds secrets; they are decrypted on demand by
:func:`instance_secrets`, so a record can be logged, cached or returned by the API safely.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from opencasb.errors import ConfigError, NotFound
from opencasb.model.health import Health, HealthState
from opencasb.model.instance import InstanceRecord
from opencasb.store._db import Database
from opencasb.store._secrets import open_secrets, seal_secrets
from opencasb.store.codec import dumps, loads_object
from opencasb.store.health_codec import health_from_json, health_to_json
from opencasb.store.schema import instances

__all__ = [
    "InstanceRecord",
    "add_instance",
    "get_health",
    "get_instance",
    "instance_names",
    "instance_secrets",
    "list_instances",
    "remove_instance",
    "set_health",
    "update_instance",
]


_COLUMNS = (
    instances.c.id,
    instances.c.name,
    instances.c.app,
    instances.c.config,
    instances.c.enabled,
    instances.c.interval_seconds,
    instances.c.created_at,
    instances.c.health,
)


def _record(row: Any) -> InstanceRecord:
    what = f"instances row {row.id}"
    return InstanceRecord(
        id=row.id,
        name=row.name,
        app=row.app,
        config={str(k): str(v) for k, v in loads_object(row.config, what).items()},
        enabled=bool(row.enabled),
        interval_seconds=row.interval_seconds,
        created_at=row.created_at,
        health=health_from_json(row.health, what),
    )


def _check_interval(interval_seconds: int) -> None:
    if interval_seconds < 1:
        raise ConfigError(
            f"polling interval must be at least 1 second, got {interval_seconds}",
            fix="Choose an interval of 60 seconds or more for audit APIs.",
            code="bad_interval",
        )


def _not_found(name: str) -> NotFound:
    return NotFound(
        f"no app instance named {name!r}",
        fix="List the connected instances with `opencasb apps` and use one of their names.",
        code="instance_not_found",
    )


def add_instance(
    db: Database,
    app: str,
    name: str,
    config: dict[str, str],
    secrets: dict[str, str],
    *,
    interval_seconds: int = 60,
    enabled: bool = True,
) -> InstanceRecord:
    """Create an instance; see :meth:`opencasb.store.Store.add_instance`."""
    if not name.strip():
        raise ConfigError("an instance needs a name", fix="Give the connection a short name.")
    _check_interval(interval_seconds)
    values = {
        "name": name,
        "app": app,
        "config": dumps(config),
        "secrets_enc": seal_secrets(db, secrets),
        "enabled": enabled,
        "interval_seconds": interval_seconds,
        "created_at": db.clock.now(),
        # A disabled instance (an import-only one) shows as such from the start, not as
        # "connecting" to an app it never polls.
        "health": None if enabled else health_to_json(Health(state=HealthState.DISABLED)),
    }
    with db.write() as conn:
        try:
            conn.execute(insert(instances).values(values))
        except IntegrityError as exc:  # the unique name; raising rolls the transaction back
            raise ConfigError(
                f"an app instance named {name!r} already exists",
                fix="Choose another name, or replace the existing instance with `opencasb "
                f"connect {app} --name {name} --replace` or `opencasb apps remove {name}`.",
                code="instance_exists",
            ) from exc
    return get_instance(db, name)


def get_instance(db: Database, name: str) -> InstanceRecord:
    """The instance called ``name``; raises NotFound."""
    with db.read() as conn:
        row = conn.execute(select(*_COLUMNS).where(instances.c.name == name)).first()
    if row is None:
        raise _not_found(name)
    return _record(row)


def list_instances(db: Database) -> list[InstanceRecord]:
    """All instances, by name."""
    with db.read() as conn:
        rows = conn.execute(select(*_COLUMNS).order_by(instances.c.name)).all()
    return [_record(r) for r in rows]


def update_instance(
    db: Database,
    name: str,
    *,
    config: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    enabled: bool | None = None,
    interval_seconds: int | None = None,
) -> InstanceRecord:
    """Replace the given fields of an instance; see :meth:`opencasb.store.Store.update_instance`."""
    values: dict[str, Any] = {}
    if config is not None:
        values["config"] = dumps(config)
    if secrets is not None:
        values["secrets_enc"] = seal_secrets(db, secrets)
    if enabled is not None:
        values["enabled"] = enabled
    if interval_seconds is not None:
        _check_interval(interval_seconds)
        values["interval_seconds"] = interval_seconds
    if values:
        with db.write() as conn:
            result = conn.execute(update(instances).where(instances.c.name == name).values(values))
        if result.rowcount == 0:
            raise _not_found(name)
    return get_instance(db, name)


def remove_instance(db: Database, name: str) -> None:
    """Delete an instance and, by cascade, its cursors, activities and inventory."""
    with db.write() as conn:
        result = conn.execute(
            delete(instances).where(instances.c.name == name).returning(instances.c.id)
        )
        removed = result.scalars().all()
    for instance_id in removed:  # its actors went with it (cascade)
        db.actor_refs.pop(instance_id, None)
    if not removed:
        raise _not_found(name)


def instance_secrets(db: Database, record: InstanceRecord) -> dict[str, str]:
    """Decrypt the secrets of ``record``; ConfigError if the master key changed."""
    again = "store the app's credential again with `opencasb apps edit NAME --new-secret`"
    secrets = open_secrets(db, instances, record.id, store_again=again)
    if secrets is None:
        raise _not_found(record.name)
    return secrets


def set_health(db: Database, instance_id: int, health: Health) -> None:
    """Store the health of an instance (replacing the previous one)."""
    with db.write() as conn:
        result = conn.execute(
            update(instances)
            .where(instances.c.id == instance_id)
            .values(health=health_to_json(health))
        )
    if result.rowcount == 0:
        raise _not_found(f"#{instance_id}")


def get_health(db: Database, instance_id: int) -> Health:
    """The stored health of an instance (the default Health if never set)."""
    with db.read() as conn:
        row = conn.execute(
            select(instances.c.id, instances.c.health).where(instances.c.id == instance_id)
        ).first()
    if row is None:
        raise _not_found(f"#{instance_id}")
    return health_from_json(row.health, f"instances row {instance_id}")


def instance_names(db: Database) -> dict[int, str]:
    """id -> name of every instance (a small table; read per query instead of joining)."""
    with db.read() as conn:
        return {r.id: r.name for r in conn.execute(select(instances.c.id, instances.c.name))}
