"""The shared context of the store modules: engine, dialect, clock, cipher, transactions.

Write transactions on SQLite start with ``BEGIN IMMEDIATE``: taking the write lock up front
means a second writer waits (busy timeout) instead of failing with "database is locked" when
it later tries to upgrade a read lock. Driver errors are translated into
:class:`StoreError` here, at the boundary, without the SQL parameters (which may hold data).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from opencasb.clock import Clock
from opencasb.crypto import Cipher
from opencasb.errors import ConfigError, StoreError
from opencasb.store.checkpoint import Checkpointer

__all__ = ["IMMEDIATE", "ActorRefs", "Database"]

IMMEDIATE = "opencasb_sqlite_immediate"
"""Execution option read by the SQLite ``begin`` hook (see engine.py)."""


def translate(exc: DBAPIError) -> StoreError:
    """A StoreError for a driver error, naming the driver's message but not the parameters."""
    orig = exc.orig if exc.orig is not None else exc
    text = str(orig).lower()
    if "not a database" in text or "malformed" in text:
        # SQLite's words for a file that is not a SQLite database, or one whose pages are
        # damaged. Retrying or checking the network would not help.
        return StoreError(
            f"the database is corrupt or not a database: {str(orig).strip()}",
            meaning="The store's file is damaged or is not an OpenCASB (SQLite) database.",
            fix="Restore the database file from a backup. To start over with an empty store, "
            "move the file away and run the command again (then connect your apps again); "
            "`sqlite3 FILE .recover` may save some rows.",
            code="store_corrupt",
        )
    return StoreError(
        f"database error: {type(orig).__name__}: {str(orig).strip()}",
        fix="Check that the database is reachable and not full; retry the operation.",
        code="store_failed",
    )


@dataclass(slots=True)
class ActorRefs:
    """One instance's cache of committed ``actors.id`` values (see store.activities).

    ``by_key`` maps an actor key (:func:`opencasb.store.codec.actor_key`) to its id;
    ``sentinel`` is one cached id, checked once per page to detect a cache outliving its
    instance.
    """

    by_key: dict[tuple[str | None, str | None, str | None], int] = field(default_factory=dict)
    sentinel: int | None = None


@dataclass(frozen=True, slots=True)
class Database:
    """What every store module needs. Owned by :class:`~opencasb.store.Store`.

    ``actor_refs`` (per instance id) is a cache of committed rows, so losing or racing on it
    costs a look-up, never correctness. ``checkpointer`` is set for a SQLite file; the
    ingest path pokes it after each committed page.
    """

    engine: Engine
    clock: Clock
    cipher: Cipher | None
    actor_refs: dict[int, ActorRefs] = field(default_factory=dict)
    # Caches of interned enrichments (store.enrichment): key -> id, id -> parsed value.
    enrich_refs: dict[str, int] = field(default_factory=dict)
    enrich_docs: dict[int, Any] = field(default_factory=dict)
    checkpointer: Checkpointer | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def require_cipher(self) -> Cipher:
        """The cipher, or a ConfigError telling the user to configure the master key."""
        if self.cipher is None:
            raise ConfigError(
                "no master key is configured, so connector secrets cannot be stored or read",
                fix="Set the master key (OPENCASB_SECRET_KEY) and restart.",
                code="no_master_key",
            )
        return self.cipher

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        try:
            with self.engine.connect() as conn:
                if self.is_sqlite:
                    conn.execution_options(**{IMMEDIATE: True})
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            raise translate(exc) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (one snapshot per statement at least; rolled back at end)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise translate(exc) from exc
