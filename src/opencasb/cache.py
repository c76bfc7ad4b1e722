"""A small bounded memo for pure functions of a few raw fields (the normalizers' hot path).

Normalizers build the same actors, targets and places over and over from the same raw
fields, so they build each once per distinct fields and share it (the values are frozen).
Two rules make that safe on untrusted input:

* **Bounded**: a cache holds at most ``limit`` entries and is emptied when full (a flood of
  distinct values costs a rebuild, never memory).
* **Typed keys**: :meth:`BoundedCache.build` keys an entry by the fields *and their types*,
  because ``1``, ``1.0`` and ``True`` are equal dict keys but may build different values; what
  a record gets must never depend on what its process happened to normalize before. Fields
  that cannot be hashed (a list where a string belongs) are built without the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["BoundedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A dict of at most ``limit`` entries, emptied when full.

    ``get`` is the dict's own ``get`` (as fast as a dict on a hit); :meth:`put` stores an
    entry; :meth:`build` looks fields up under a typed key and builds what is missing.
    """

    __slots__ = ("_data", "get", "limit")

    def __init__(self, limit: int = 4096) -> None:
        if limit < 1:
            raise ValueError("a bounded cache holds at least one entry")
        self.limit = limit
        self._data: dict[K, V] = {}
        self.get = self._data.get

    def put(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` (emptying the cache first when full); return it."""
        data = self._data
        if len(data) >= self.limit:
            data.clear()
        data[key] = value
        return value

    def build(self, fields: tuple[Any, ...], make: Callable[..., V]) -> V:
        """``make(*fields)``, shared with earlier calls whose fields were equal and of the
        same types (``make`` must be pure)."""
        key: Any = (*fields, *map(type, fields))
        try:  # a hit is the usual case: no exception, and no call but this one
            return self._data[key]
        except KeyError:
            return self.put(key, make(*fields))
        except TypeError:  # an unhashable field: build without the cache
            return make(*fields)

    def clear(self) -> None:
        """Forget every entry."""
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
