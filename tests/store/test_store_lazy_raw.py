"""The detection stage's reads: ``raw`` parsed on first use (LazyRecord), the body's fields
decoded in one typed pass; both give exactly what the eager read gives."""

from __future__ import annotations

import json
import pickle
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencasb.errors import StoreError
from opencasb.model.activity import Geo, Target
from opencasb.store import Store, codec
from opencasb.store.lazy import LazyRecord

from .conftest import make_activity, save_page

FIX = "restore it"


def _lazy(value: Any, *, ascii_only: bool = False) -> LazyRecord:
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    return LazyRecord(text, "activities row 7", FIX, codec.loads)


def test_a_key_the_text_cannot_hold_is_answered_without_parsing() -> None:
    rec = _lazy({"eventType": "UserLoggedIn", "ClientIP": "203.0.113.9"})
    assert rec.get("securityContext") is None
    assert "securityContext" not in rec
    with pytest.raises(KeyError):
        rec["securityContext"]
    assert not rec.parsed
    assert rec.get("eventType") == "UserLoggedIn"
    assert rec.parsed


def test_a_key_named_only_in_a_value_or_nested_still_parses_and_is_absent() -> None:
    rec = _lazy({"note": "securityContext", "a": {"securityContext": 1}})
    assert rec.get("securityContext") is None
    assert rec.parsed


def test_escaped_text_is_always_parsed() -> None:
    # "\u0073ecurityContext" is the key securityContext written with an escape
    rec = LazyRecord(b'{"\\u0073ecurityContext": {"isProxy": true}}', "row", FIX, codec.loads)
    assert rec.get("securityContext") == {"isProxy": True}
    assert _lazy({"é": 1}, ascii_only=True).get("é") == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@given(
    st.dictionaries(st.text(max_size=6), json_values, max_size=6),
    st.lists(st.text(max_size=6), max_size=6),
    st.booleans(),
)
def test_lazy_record_reads_like_the_parsed_dict(
    value: dict[str, Any], probes: list[str], ascii_only: bool
) -> None:
    for key in [*probes, *value]:
        rec = _lazy(value, ascii_only=ascii_only)
        assert rec.get(key, "absent") == value.get(key, "absent")
        assert (key in rec) == (key in value)
    rec = _lazy(value, ascii_only=ascii_only)
    assert rec == value and value == rec
    assert dict(rec) == value and len(rec) == len(value) and list(rec) == list(value)
    assert pickle.loads(pickle.dumps(rec)) == value


def test_damage_is_a_store_error_naming_the_row_at_first_use() -> None:
    damaged = LazyRecord(b'{"uuid": "trunc', "activities row 7", FIX, codec.loads)
    with pytest.raises(StoreError, match="activities row 7 cannot be read") as info:
        damaged.get("uuid")
    assert info.value.fix == FIX
    with pytest.raises(StoreError, match="not a JSON object"):
        len(LazyRecord(b"[1, 2]", "activities row 8", FIX, codec.loads))


def _rows(store: Store) -> tuple[dict[int, Any], dict[int, Any]]:
    lazy = {i: a for i, _, a in store.detection.activities_after({}, 100)}
    return lazy, store.detection.activities_by_id(sorted(lazy))


def test_detection_reads_equal_the_eager_read(store: Store) -> None:
    inst = store.add_instance("okta", "acme", {}, {}).id
    acts = [
        make_activity(1),
        make_activity(
            2,
            raw={"securityContext": {"isProxy": True}, "big": 2**70, "é\u2028": "x\\y"},
            details={"param.ForwardTo": "a@b.example", "n": 2**65, "nested": {"k": [1, 2.5]}},
            targets=(Target(id="x", type="User"), Target(name="only a name")),
        ),
        make_activity(3, geo=None, targets=(), details={}, raw={}),
    ]
    save_page(store, inst, "logs", acts, {"page": 1})
    lazy, eager = _rows(store)
    assert len(lazy) == 3
    for i, a in lazy.items():
        assert isinstance(a.raw, LazyRecord) and not a.raw.parsed
        assert a == eager[i]  # field by field, raw compared as the parsed dict
        assert a.raw == eager[i].raw and isinstance(eager[i].raw, dict)
        assert all(type(t) is Target for t in a.targets)


def test_a_body_the_typed_decoder_refuses_reads_as_before() -> None:
    # a number beyond a double (only the standard library reads it) and a target whose id
    # is not text: both leave the typed pass for the general one, with the same result
    good = codec.body_plaintext(make_activity(1))
    fields = orjson.loads(good.split(b"\n", 1)[0])
    fields[19] = [{"id": 5, "type": "User", "name": None, "alternate_id": None}]
    head = orjson.dumps(fields)[:-2] + b',"huge":1e400}]'
    typed, targets, raw = codec._fields_of(head + b"\n{}")
    assert targets == (Target(id=5, type="User"),)  # type: ignore[arg-type]
    assert typed[20]["huge"] == float("inf") and raw == b"{}"
    fast, fast_targets, raw = codec._fields_of(good)
    slow, slow_raw = codec.split_body(good)
    assert isinstance(fast, tuple) and raw == slow_raw
    assert [*fast[:19], fast[20]] == [*slow[:19], slow[20]]
    assert fast_targets == tuple(Target(**t) for t in slow[19])


def test_a_detection_batch_shares_equal_actors_and_places_only(store: Store) -> None:
    """``observed_after`` builds each distinct actor and place once per batch, and every
    activity still reads as the eager read gives it."""
    inst = store.add_instance("okta", "acme", {}, {}).id
    elsewhere = Geo("Germany", "DE", "Berlin", "Berlin", 52.52, 13.4)
    acts = [make_activity(i) for i in (7, 14, 1)] + [make_activity(21, geo=elsewhere)]
    save_page(store, inst, "logs", acts, {"page": 1})
    lazy, eager = _rows(store)
    read = [lazy[i] for i in sorted(lazy)]
    assert read == [eager[i] for i in sorted(eager)]
    assert read[0].actor is read[1].actor and read[0].actor is not read[2].actor
    assert read[0].geo is read[1].geo is read[2].geo
    assert read[3].geo == elsewhere and read[3].geo is not read[0].geo
