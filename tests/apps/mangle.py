"""The third-party sample records of an app (``shared/samples/<app>/*.jsonl``, beside the
repository; absent is allowed), and mangled records for the normalizers' property tests: a
real record with random fields at any depth deleted, set to null, or replaced by arbitrary
JSON values."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

__all__ = ["SAMPLES", "json_values", "labelled_samples", "mangled_records", "sample_records"]

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def labelled_samples(app: str) -> list[tuple[str, dict[str, Any]]]:
    """Every record of the app's samples with its place (``file-stem:line``), in file and
    line order; none when they are absent."""
    return [
        (f"{path.stem}:{n}", orjson.loads(line))
        for path in sorted((SAMPLES / app).glob("*.jsonl"))
        for n, line in enumerate(path.read_bytes().splitlines(), start=1)
        if line.strip()
    ]


def sample_records(app: str) -> list[dict[str, Any]]:
    """Every record of the app's samples; none when they are absent."""
    return [record for _, record in labelled_samples(app)]


def json_values(tricky: Sequence[str]) -> st.SearchStrategy[Any]:
    """Any JSON value, nested a little; its strings include the app's ``tricky`` ones."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | st.text(max_size=30)
        | st.sampled_from(list(tricky)),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    )


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path (dict keys and list indexes) inside ``node``."""
    found: list[tuple[Any, ...]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


@st.composite
def mangled_records(
    draw: st.DrawFn, records: Sequence[dict[str, Any]], values: st.SearchStrategy[Any]
) -> dict[str, Any]:
    """A copy of one of ``records`` with one to six of its fields mangled (values drawn
    from ``values``)."""
    record: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(list(records))))
    paths = _paths(record)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=6)):
        parent: Any = record
        try:
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict) and path[-1] not in parent:
                continue  # an ancestor was replaced by an earlier mutation
            change = draw(st.sampled_from(["delete", "null", "value"]))
            if change == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            elif change == "null":
                parent[path[-1]] = None
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # the path no longer exists after an earlier mutation
    return record
