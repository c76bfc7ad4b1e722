"""A connector's own state per instance: small JSON objects under keys, beside the cursors.

The runner keeps here what is not a feed's position: the services of a suite seen so far
(when each was first seen), when the inventory was last fetched. Cursors and state live in
separate tables, so no feed name can collide with a state key.

Contract:
    * :func:`get_state` returns the object saved under ``key``, or ``None`` if none was.
    * :func:`set_state` replaces it (one statement, its own transaction); the row goes with
      its instance.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from opencasb.store._db import Database
from opencasb.store.codec import dumps, loads_object
from opencasb.store.schema import connector_state

__all__ = ["get_state", "set_state"]


def get_state(db: Database, instance_id: int, key: str) -> dict[str, Any] | None:
    """The state saved under ``key`` for the instance, or ``None``. Raises StoreError."""
    with db.read() as conn:
        text = conn.execute(
            select(connector_state.c.value).where(
                connector_state.c.instance_id == instance_id, connector_state.c.key == key
            )
        ).scalar()
    if text is None:
        return None
    return loads_object(text, f"connector_state row ({instance_id}, {key!r})")


def set_state(db: Database, instance_id: int, key: str, value: dict[str, Any]) -> None:
    """Save ``value`` under ``key`` for the instance, replacing what was there."""
    now = db.clock.now()
    row = {"instance_id": instance_id, "key": key, "value": dumps(value), "updated_at": now}
    insert = (sqlite_insert if db.is_sqlite else pg_insert)(connector_state).values(row)
    stmt = insert.on_conflict_do_update(
        index_elements=["instance_id", "key"],
        set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
    )
    with db.write() as conn:
        conn.execute(stmt)
