"""Property: whatever happens to a real record's fields, normalize raises only NormalizeError.

Records are the third-party samples when present (else the hand-written event of
``test_normalize``), with random fields at any depth deleted, set to null, or replaced by
arbitrary JSON values. Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import copy
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencasb.apps.okta.normalize import normalize
from opencasb.errors import NormalizeError
from opencasb.model import Activity

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "samples" / "okta"


def _records() -> list[dict[str, Any]]:
    found = [
        orjson.loads(line)
        for path in sorted(SAMPLES.glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]
    if found:
        return found
    from tests.apps.okta.test_normalize import EVENT  # hand-written, when samples are absent

    return [EVENT]


RECORDS = _records()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["null", "", "unknown", "1.5", "AS12", "2020-01-01T00:00:00Z", "{}", "[1]"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
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
def mangled_records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(RECORDS)))
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
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # the path no longer exists after an earlier mutation
    return record


@settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mangled_records())
def test_normalize_raises_nothing_but_normalize_error(record: dict[str, Any]) -> None:
    snapshot = copy.deepcopy(record)
    try:
        activity = normalize(record)
    except NormalizeError as exc:
        assert "uuid" in str(exc) or "published" in str(exc)
        return
    assert isinstance(activity, Activity)
    assert activity.time.tzinfo is UTC
    assert activity.raw is record
    assert isinstance(activity.action, str) and activity.action
    assert all(value is not None for value in activity.details.values())
    assert record == snapshot  # the record is left unchanged
