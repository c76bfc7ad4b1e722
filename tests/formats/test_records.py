"""RawRecords: a page kept as record texts reads exactly like the parsed page."""

from __future__ import annotations

import orjson
import pytest

from opencasb.formats.records import (
    NotAnArray,
    ParsedRecords,
    RawRecords,
    parse_record,
    records_of,
)

PAGE = [
    {"uuid": "a", "published": "2026-03-02T10:00:00.000Z", "n": 1, "deep": {"x": [1, 2]}},
    {"uuid": "b", "published": "2026-03-02T10:00:01.000Z", "n": "2"},
    {"uuid": "c"},
]


def test_split_reads_like_the_parsed_page_and_keeps_each_text() -> None:
    body = orjson.dumps(PAGE)
    records = RawRecords.split(body, ("published", "uuid"))
    assert len(records) == 3
    assert list(records) == PAGE
    assert records[1] == PAGE[1]
    assert [orjson.loads(t) for t in records.texts] == PAGE
    assert records.head(0) == {"published": "2026-03-02T10:00:00.000Z", "uuid": "a"}
    assert records.head(2) == {"published": None, "uuid": "c"}


def test_texts_are_the_bytes_the_api_sent() -> None:
    body = b'[ {"b": 1,  "a": "\\u00e9"} ,{"x":null}]'
    records = RawRecords.split(body)
    assert records.texts == ['{"b": 1,  "a": "\\u00e9"}', '{"x":null}']


def test_a_record_that_is_not_an_object_is_kept_and_has_no_head() -> None:
    records = RawRecords.split(b'[{"uuid": "a"}, 7, "text", null]', ("uuid",))
    assert len(records) == 4
    assert records.head(0) == {"uuid": "a"}
    assert [records.head(i) for i in (1, 2, 3)] == [None, None, None]
    assert list(records) == [{"uuid": "a"}, 7, "text", None]


def test_integers_beyond_64_bits_are_read() -> None:
    big = 2**70 + 1  # not exact as a double, which orjson would round it to
    records = RawRecords.split(f'[{{"n": {big}}}]'.encode(), ("n",))
    assert records[0] == {"n": big}
    assert records.head(0) == {"n": big}
    assert parse_record("not json") == "not json"


@pytest.mark.parametrize(
    "body",
    [
        b'{"errorCode": "E0000011"}',
        b"<html>",
        b"",
        b"[1, 2",
        b'[{"name": "Ren\xe9"}]',  # Latin-1, not UTF-8
        b"[" * 5000 + b"]" * 5000,  # deeper than any parser recurses
    ],
)
def test_anything_but_a_json_array_is_refused(body: bytes) -> None:
    with pytest.raises(NotAnArray):
        RawRecords.split(body)


def test_concat_and_select_keep_order_texts_and_heads() -> None:
    a = RawRecords.split(orjson.dumps(PAGE[:2]), ("uuid",))
    b = RawRecords.split(orjson.dumps(PAGE[2:]), ("uuid",))
    both = RawRecords.concat([a, b])
    assert list(both) == PAGE
    kept = both.select([True, False, True])
    assert list(kept) == [PAGE[0], PAGE[2]]
    assert [kept.head(i) for i in range(2)] == [{"uuid": "a"}, {"uuid": "c"}]
    assert len(RawRecords.concat([])) == 0


def test_without_heads_the_head_is_the_parsed_record() -> None:
    records = RawRecords([orjson.dumps(PAGE[0]).decode(), "[1]"])
    assert records.head(0) == PAGE[0]
    assert records.head(1) is None


def test_a_column_outside_the_heads_is_read_from_the_records() -> None:
    records = RawRecords.split(orjson.dumps([*PAGE, [1]]), ("uuid",))
    assert records.column("uuid") == ["a", "b", "c", None]
    assert records.column("n") == [1, "2", None, None]
    assert RawRecords.concat([records]).column("n") == [1, "2", None, None]
    assert records.select([True, False, True, True]).column("published") == [
        "2026-03-02T10:00:00.000Z",
        None,
        None,
    ]


def test_parsed_records_travel_as_text_only_when_it_parses_back_to_them() -> None:
    plain = records_of([{"a": 1}, [2]])
    assert isinstance(plain, ParsedRecords)
    assert plain.wire() == ['{"a":1}', "[2]"]
    assert plain.as_fetched(0) == {"a": 1} and plain[1] == [2] and len(plain) == 2
    assert records_of([{1: "integer key"}]).wire() is None  # JSON would change the key
    raw = RawRecords.split(b'[{"a": 1}]')
    assert records_of(raw) is raw
    assert raw.wire() == ['{"a": 1}'] and raw.as_fetched(0) == '{"a": 1}'
