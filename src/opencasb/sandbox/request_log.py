"""A JSON-lines log of every request an emulator answered, to compare tools on the same data.

One line per request, in the order the answers were sent::

    {"time": "2026-11-01T12:00:00.250Z", "service": "okta", "method": "GET",
     "path": "/api/v1/logs", "query": "limit=1000&after=...", "status": 200,
     "bucket": "logs", "fault": null}

``time`` is the emulator's clock when the request arrived; ``bucket`` is the rate-limit
bucket it counted against (null when none); ``fault`` is the injected fault (``"429"``,
``"500"``, ``"503"``) or null, so a run's real throttling and injected faults can be told
apart. Headers and bodies are never logged (they carry credentials).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import orjson

from opencasb.clock import utc

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One answered request, as written to the log."""

    time: datetime
    service: str
    method: str
    path: str
    query: str
    status: int
    bucket: str | None
    fault: str | None

    def to_json(self) -> bytes:
        t = utc(self.time)
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        return orjson.dumps(
            {
                "time": stamp,
                "service": self.service,
                "method": self.method,
                "path": self.path,
                "query": self.query,
                "status": self.status,
                "bucket": self.bucket,
                "fault": self.fault,
            }
        )


class RequestLog:
    """Appends :class:`LoggedRequest` lines to a text stream, flushing each. Thread-safe.

    Also keeps the entries in memory when ``keep`` is True (for tests and benchmarks).
    """

    def __init__(self, stream: IO[str] | None = None, *, keep: bool = False) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._keep = keep
        self.entries: list[LoggedRequest] = []

    @classmethod
    def to_file(cls, path: Path) -> RequestLog:
        """A log writing to ``path`` (truncated), line-buffered."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path.open("w", encoding="utf-8", buffering=1))

    def record(self, entry: LoggedRequest) -> None:
        line = entry.to_json().decode() + "\n"
        with self._lock:
            if self._keep:
                self.entries.append(entry)
            if self._stream is not None:
                self._stream.write(line)

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
