"""Operator logs: one handler on the root logger, text or JSON lines on stderr, secrets scrubbed.

Every module logs through ``logging.getLogger(__name__)`` and passes its structured fields
with ``extra=`` (``instance``, ``feed``, ``records``, ``attempt``, ``delay`` ...); this module
only decides where the lines go and what they look like. Logs go to stderr so that stdout
stays for data (``opencasb activities --format json | jq`` must keep working).

Fields that hold for a stretch of code (the ``instance`` and ``feed`` a runner is working on)
are set once with :func:`log_context` and added to every record logged inside it, so that a
retry logged deep in the HTTP client still says which instance and feed it belongs to.

A JSON line holds ``time`` (ISO 8601 UTC), ``level``, ``logger``, ``message``, every
``extra=`` field, and ``traceback`` when the record carries ``exc_info``.

Secrets: no code logs headers or credentials. As a defence in depth, :class:`SecretFilter`
replaces every secret value the process has seen (:func:`remember_secret`, fed by the store
when it decrypts an instance's secrets and by the API client) and anything shaped like a
credential (``SSWS ...``, ``Bearer ...``, PEM private keys, ``client_secret=...``) by ``***``
in the message, the fields and the traceback, before any formatter sees them.
"""

from __future__ import annotations

import logging
import re
import secrets as _random
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, ParamSpec, TextIO, TypeVar

import orjson

from opencasb.text import visible

__all__ = [
    "FORMATS",
    "LEVELS",
    "JsonFormatter",
    "SecretFilter",
    "TextFormatter",
    "carry_context",
    "configure",
    "in_context",
    "log_context",
    "new_error_ref",
    "remember_secret",
    "scrub_secrets",
]

LEVELS: Final = ("debug", "info", "warning", "error")
FORMATS: Final = ("text", "json")

# Libraries that log every request, token exchange or migration step at INFO or DEBUG; our
# own code logs what matters, without headers.
_QUIET = ("httpx", "httpcore", "alembic", "asyncio", "multipart", "msal", "urllib3")

# The attributes every LogRecord has; anything else on a record came through ``extra=``.
_STANDARD: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

_MASK = "***"
_PATTERNS: Final = (
    # Authorization header values, in any case: "SSWS 00abc", "Bearer eyJ...".
    (re.compile(r"(?i)\b(ssws|bearer)(\s+)[^\s\"',;]+"), r"\1\2" + _MASK),
    # PEM private keys (PKCS#1, PKCS#8, EC), whole.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
        ),
        _MASK,
    ),
    # Form and query fields, and JSON members, that carry a credential.
    (
        re.compile(
            r"(?i)\b(client_secret|client_assertion|access_token|refresh_token|api_token|password)"
            r"(\"?\s*[=:]\s*\"?)[^\s\"&,;}]+"
        ),
        r"\1\2" + _MASK,
    ),
)


_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar(
    "opencasb_log_context", default=MappingProxyType({})
)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every record logged inside the block (in this thread or task; work
    handed to a thread pool takes them along with :func:`carry_context`).
    A field passed with ``extra=`` wins over the same field set here."""
    token = _CONTEXT.set(MappingProxyType({**_CONTEXT.get(), **fields}))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


T = TypeVar("T")
P = ParamSpec("P")


def carry_context(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn``, run with the log context of the caller of ``carry_context`` in whatever thread
    it runs (``pool.map(carry_context(fetch), items)``: worker threads start with none)."""
    fields = _CONTEXT.get()

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        token = _CONTEXT.set(fields)
        try:
            return fn(*args, **kwargs)
        finally:
            _CONTEXT.reset(token)

    return run


def in_context(items: Iterable[T], **fields: Any) -> Iterator[T]:
    """``items``, with ``fields`` in the log context while each item is produced (a feed's
    generator logs its requests with the feed), and not while the caller handles it."""
    it = iter(items)
    while True:
        with log_context(**fields):
            try:
                item = next(it)
            except StopIteration:
                return
        yield item


class _ContextFilter(logging.Filter):
    """Copies the :func:`log_context` fields onto each record that does not set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class _Secrets:
    """The secret values this process has seen, newest last, at most ``LIMIT`` of them.

    Bounded because a long-running sync renews OAuth access tokens every hour; an expired
    token that falls out of the set can no longer be used by whoever reads a log line.
    """

    LIMIT = 1024
    SHORTEST = 6  # shorter values would mask ordinary words and numbers in every line

    def __init__(self) -> None:
        self._values: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        candidates = {value, value.strip()}
        # A PEM key may appear line by line (a traceback of a parser quoting one line).
        if "\n" in value:
            candidates.update(line.strip() for line in value.splitlines())
        with self._lock:
            for item in candidates:
                if len(item) < self.SHORTEST or item.startswith("-----"):
                    continue
                if item in self._values:
                    self._values.move_to_end(item)  # seen again (each run decrypts them)
                    continue
                self._values[item] = None
                self._pattern = None
            while len(self._values) > self.LIMIT:
                self._values.popitem(last=False)
                self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                # Longest first: a secret that contains another is masked whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, ordered)))
            return self._pattern


_KNOWN = _Secrets()


def remember_secret(value: str) -> None:
    """Mask ``value`` in every log line from now on (values under 6 characters are ignored)."""
    if value:
        _KNOWN.add(value)


def scrub_secrets(text: str) -> str:
    """``text`` with every remembered secret and every credential-shaped value masked."""
    pattern = _KNOWN.pattern()
    if pattern is not None:
        text = pattern.sub(_MASK, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


def _scrub_value(value: Any) -> Any:
    """``value`` with secrets masked in every string it holds; lists and mappings keep their
    shape (a JSON line shows them as such), anything else becomes its masked ``str``."""
    if isinstance(value, str):
        return scrub_secrets(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(v) for v in value]
    return scrub_secrets(str(value))


class SecretFilter(logging.Filter):
    """Renders a record's message and traceback, then masks secrets in them and in its fields.

    Attached to the handler, so it applies to records of every logger, ours and libraries'.
    """

    def __init__(self) -> None:
        super().__init__()
        self._render = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_secrets(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._render.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_secrets(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                setattr(record, key, _scrub_value(value))
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _traceback(record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    return record.exc_text or None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ``extra=`` fields, and
    ``traceback`` when there is one. Values JSON cannot hold are written as their ``str``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            line.setdefault(key, value)
        tb = _traceback(record)
        if tb:
            line["traceback"] = tb
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` for a person at a terminal; the traceback
    follows on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_time(record), record.levelname, f"{record.name}:", record.getMessage()]
        for key, value in _fields(record).items():
            text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
            if not text or any(c.isspace() or c in '"=' for c in text):
                text = orjson.dumps(text).decode()
            parts.append(f"{key}={text}")
        out = " ".join(parts)
        tb = _traceback(record)
        if tb:
            out += "\n" + tb
        if record.stack_info:
            out += "\n" + record.stack_info
        # A terminal reads these lines: escapes in API error text or audit data stay inert.
        return visible(out, multiline=True)


class _StderrHandler(logging.Handler):
    """Writes each line to whatever ``sys.stderr`` is when the record is emitted (a test or
    CLI runner swaps it), unless given a stream of its own."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            out = self._stream or sys.stderr
            out.write(line + "\n")
            out.flush()
        except Exception:
            self.handleError(record)


_handler: logging.Handler | None = None


def configure(
    level: str = "error", fmt: str = "text", *, stream: TextIO | None = None
) -> logging.Handler:
    """Send log records at ``level`` and above to stderr (or ``stream``) in ``fmt``.

    Idempotent: calling it again replaces the handler it installed before (and leaves any
    other handler, such as pytest's capture, alone). Returns the handler, so that a test can
    remove it again.

    Raises:
        ValueError: ``level`` is not one of :data:`LEVELS` or ``fmt`` not one of :data:`FORMATS`.
    """
    global _handler
    level, fmt = level.lower(), fmt.lower()
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = _StderrHandler(stream)
    handler.addFilter(_ContextFilter())
    handler.addFilter(SecretFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    _handler = handler
    return handler


def new_error_ref() -> str:
    """A short random id that ties an internal error's log line (with its traceback) to the
    health the user sees, e.g. ``e-3f9a1c2b7d``."""
    return "e-" + _random.token_hex(5)
