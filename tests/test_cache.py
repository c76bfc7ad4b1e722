"""BoundedCache: bounded, typed keys, pure builds shared."""

from __future__ import annotations

from typing import Any

import pytest

from opencasb.cache import BoundedCache


def test_it_is_emptied_when_full_and_never_grows_beyond_its_limit() -> None:
    cache: BoundedCache[int, str] = BoundedCache(limit=3)
    for i in range(3):
        cache.put(i, str(i))
    assert len(cache) == 3 and cache.get(0) == "0"
    cache.put(3, "3")
    assert len(cache) == 1 and cache.get(0) is None and cache.get(3) == "3"
    with pytest.raises(ValueError):
        BoundedCache(limit=0)


def test_build_shares_equal_fields_of_the_same_types_only() -> None:
    calls: list[tuple[Any, ...]] = []

    def make(*fields: Any) -> str:
        calls.append(fields)
        return repr(fields)

    cache: BoundedCache[tuple[Any, ...], str] = BoundedCache()
    assert cache.build((1, "a"), make) == "(1, 'a')"
    assert cache.build((1, "a"), make) == "(1, 'a')"
    # equal values of other types (True == 1 == 1.0) are other entries
    assert cache.build((True, "a"), make) == "(True, 'a')"
    assert cache.build((1.0, "a"), make) == "(1.0, 'a')"
    assert calls == [(1, "a"), (True, "a"), (1.0, "a")]


def test_build_caches_none_and_builds_unhashable_fields_without_the_cache() -> None:
    calls = 0

    def make(*fields: Any) -> None:
        nonlocal calls
        calls += 1

    cache: BoundedCache[tuple[Any, ...], None] = BoundedCache()
    cache.build((None,), make)
    cache.build((None,), make)
    assert calls == 1
    cache.build(([1],), make)
    cache.build(([1],), make)
    assert calls == 3 and len(cache) == 1
