"""WAL checkpoints for a SQLite store, run on a background thread, off the ingest path.

In WAL mode every commit appends pages to the ``-wal`` file and a *checkpoint* later copies
them into the database file and fsyncs both. SQLite's automatic checkpoint runs inside the
commit that crosses the threshold, so the ingest thread periodically stalls on megabytes of
writes and two fsyncs (measured: about a third of ingest time). Here a thread of its own, on
its own connection, runs a PASSIVE checkpoint whenever a page has been committed. sqlite3
releases the GIL while it works, so that I/O overlaps with normalizing the next page on the
other core.

This changes no guarantee: a checkpoint only moves committed data between two files SQLite
already keeps consistent, a crash mid-checkpoint is recovered by SQLite, and the automatic
checkpoint (``wal_autocheckpoint``) stays on as the backstop when the thread lags or is gone.
PASSIVE never waits for locks and never blocks the writer; a failed attempt is simply
retried after the next commit.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine

__all__ = ["Checkpointer"]


class Checkpointer:
    """Background WAL checkpoints for one SQLite engine; :meth:`poke` after each commit."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def poke(self) -> None:
        """Ask for a checkpoint soon (starts the thread on first use). Never blocks."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(
                        target=self._run, name="opencasb-wal-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (after the checkpoint in progress, if any) and release its
        connection. Idempotent."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        conn: Any = self._engine.raw_connection()
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                try:
                    conn.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # advisory work: the automatic checkpoint backstops it
                    continue
        finally:
            conn.close()
