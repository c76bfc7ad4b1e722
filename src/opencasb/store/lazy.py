"""A vendor record read from the store and parsed only when something looks into it.

The detection stage reads every new activity, but its engines look at ``Activity.raw`` only
for the few activity types a ``raw.*`` condition names; parsing every record's JSON was a
third of the cost of reading a row. :class:`LazyRecord` keeps the text and parses it on first
use, once, and answers "is this key there" without parsing when the text shows it cannot
be (``raw.securityContext.isProxy`` on an Office 365 record).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from opencasb.errors import StoreError

__all__ = ["LazyRecord"]


class LazyRecord(Mapping[str, Any]):
    """A JSON object kept as its text and parsed on first use; then a read-only mapping
    equal to the parsed dict (``==`` compares the contents, either way round).

    Raises (on first use, from any mapping method):
        StoreError: the text is not a JSON object; the message names ``what`` (the row) and
            the error carries ``fix``.
    """

    __slots__ = ("_fix", "_parse", "_text", "_value", "_what")

    def __init__(self, text: bytes, what: str, fix: str, parse: Callable[[bytes], Any]) -> None:
        # ``parse`` is the store's JSON reader (codec.loads), given rather than imported:
        # codec builds these records, and the store's modules must not import in a cycle.
        self._text = text
        self._parse = parse
        self._what = what
        self._fix = fix
        self._value: dict[str, Any] | None = None

    @property
    def value(self) -> dict[str, Any]:
        """The parsed record (parsed now if it was not yet)."""
        value = self._value
        if value is None:
            try:
                parsed = self._parse(self._text)
            except ValueError as exc:
                raise StoreError(f"{self._what} cannot be read: {exc}", fix=self._fix) from exc
            if not isinstance(parsed, dict):
                raise StoreError(
                    f"{self._what} cannot be read: its raw record is not a JSON object",
                    fix=self._fix,
                )
            value = self._value = parsed
        return value

    @property
    def parsed(self) -> bool:
        """Whether the text has been parsed yet (for tests and diagnostics)."""
        return self._value is not None

    def _absent(self, key: object) -> bool:
        """True when ``key`` is certainly not a key of the record, known without parsing:
        a text without a backslash writes every string literally, so a key that is there
        appears as ``"key"`` in it (anywhere: the test may say "maybe" for a nested key or a
        value, never "absent" for a key that is there)."""
        if self._value is not None or type(key) is not str:
            return False
        quoted = _literal(key)
        return quoted is not None and quoted not in self._text and b"\\" not in self._text

    def __getitem__(self, key: str) -> Any:
        if self._absent(key):
            raise KeyError(key)
        return self.value[key]

    def get(self, key: str, default: Any = None) -> Any:
        if self._absent(key):
            return default
        return self.value.get(key, default)

    def __contains__(self, key: object) -> bool:
        if self._absent(key):
            return False
        return key in self.value

    def __iter__(self) -> Iterator[str]:
        return iter(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyRecord):
            return self.value == other.value
        if isinstance(other, Mapping):
            return self.value == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mapping, like dict

    def __repr__(self) -> str:
        return f"LazyRecord({self.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled (sent to another process) as the plain dict it stands for
        return (dict, (self.value,))


@lru_cache(maxsize=1024)
def _literal(key: str) -> bytes | None:
    """``key`` as JSON writes it without escapes (``b'"key"'``); None when it needs one."""
    if any(c in '"\\' or c < " " for c in key):
        return None
    try:
        return b'"' + key.encode() + b'"'
    except UnicodeEncodeError:  # a lone surrogate: only an escape can write it
        return None
