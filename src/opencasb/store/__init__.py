"""The store: SQLite or PostgreSQL behind one :class:`Store` facade.

Open it with :func:`open_store`; the schema is migrated to head on open. Tables are in
:mod:`opencasb.store.schema`; migrations in ``store/migrations``.

The names below are imported when first used, not with the package: an ingest worker
imports :mod:`opencasb.store.pages` (the row encoder) and must not pay for SQLAlchemy and
Alembic, which it never uses (tens of MiB resident in every worker).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencasb.store.activities import PageWrite, SaveResult
    from opencasb.store.engine import open_store
    from opencasb.store.facade import Store
    from opencasb.store.instances import InstanceRecord
    from opencasb.store.pages import EncodedPage
    from opencasb.store.query import ActivityPage, ActivityQuery
    from opencasb.store.rejected import RejectedRecord

_HOMES = {
    "PageWrite": "activities",
    "SaveResult": "activities",
    "open_store": "engine",
    "Store": "facade",
    "InstanceRecord": "instances",
    "EncodedPage": "pages",
    "ActivityPage": "query",
    "ActivityQuery": "query",
    "RejectedRecord": "rejected",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


__all__ = [
    "ActivityPage",
    "ActivityQuery",
    "EncodedPage",
    "InstanceRecord",
    "PageWrite",
    "RejectedRecord",
    "SaveResult",
    "Store",
    "open_store",
]
