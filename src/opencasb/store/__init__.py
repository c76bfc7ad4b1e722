"""The store: SQLite or PostgreSQL behind one :class:`Store` facade.

Open it with :func:`open_store`; the schema is migrated to head on open. Tables are in
:mod:`opencasb.store.schema`; migrations in ``store/migrations``.
"""

from opencasb.store.activities import PageWrite, SaveResult
from opencasb.store.engine import open_store
from opencasb.store.facade import Store
from opencasb.store.instances import InstanceRecord
from opencasb.store.pages import EncodedPage
from opencasb.store.query import ActivityPage, ActivityQuery

__all__ = [
    "ActivityPage",
    "ActivityQuery",
    "EncodedPage",
    "InstanceRecord",
    "PageWrite",
    "SaveResult",
    "Store",
    "open_store",
]
