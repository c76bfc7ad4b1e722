"""Reading Okta System Log export files: JSON lines, arrays, wrapped arrays, bad records."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from opencasb.apps.okta.importer import BadRecord, read_okta_export
from opencasb.errors import ConfigError


def ev(n: int) -> dict[str, Any]:
    return {
        "uuid": f"u-{n}",
        "published": "2025-01-01T00:00:00Z",
        "eventType": "user.session.start",
    }


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_lines_in_order_skipping_blank_lines(tmp_path: Path) -> None:
    lines = [json.dumps(ev(1)), "", "   ", json.dumps(ev(2)), json.dumps(ev(3))]
    path = write(tmp_path, "export.jsonl", "\n".join(lines) + "\n")
    assert list(read_okta_export(path)) == [ev(1), ev(2), ev(3)]


def test_json_lines_with_crlf_and_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(ev(1)).encode() + b"\r\n" + json.dumps(ev(2)).encode()
    )
    assert list(read_okta_export(path)) == [ev(1), ev(2)]


def test_malformed_lines_become_bad_records_and_the_rest_is_read(tmp_path: Path) -> None:
    lines = [
        json.dumps(ev(1)),
        '{"uuid": "broken", ',
        "[1, 2]",
        '"text"',
        json.dumps(ev(2)),
        "null",
    ]
    path = write(tmp_path, "export.jsonl", "\n".join(lines))
    out = list(read_okta_export(path))
    assert out[0] == ev(1) and out[4] == ev(2)
    bad = [item for item in out if isinstance(item, BadRecord)]
    assert [b.line_no for b in bad] == [2, 3, 4, 6]
    assert bad[0].text == '{"uuid": "broken", '
    assert "not valid JSON" in bad[0].error
    assert "got an array" in bad[1].error
    assert "got a string" in bad[2].error
    assert "got null" in bad[3].error


def test_a_broken_first_line_does_not_turn_json_lines_into_a_document(tmp_path: Path) -> None:
    path = write(tmp_path, "export.jsonl", '{"uuid": oops}\n' + json.dumps(ev(1)) + "\n")
    out = list(read_okta_export(path))
    assert isinstance(out[0], BadRecord) and out[0].line_no == 1
    assert out[1] == ev(1)


def test_invalid_utf8_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_bytes(json.dumps(ev(1)).encode() + b'\n{"uuid": "\xff\xfe"}\n')
    out = list(read_okta_export(path))
    assert out[0] == ev(1)
    assert isinstance(out[1], BadRecord) and out[1].line_no == 2
    assert "\ufffd" in out[1].text


def test_json_array_pretty_printed(tmp_path: Path) -> None:
    path = write(tmp_path, "export.json", json.dumps([ev(1), ev(2)], indent=2))
    assert list(read_okta_export(path)) == [ev(1), ev(2)]


def test_json_array_on_one_line_with_non_objects(tmp_path: Path) -> None:
    path = write(tmp_path, "export.json", json.dumps([ev(1), 5, None, ev(2)]))
    out = list(read_okta_export(path))
    assert out[0] == ev(1) and out[3] == ev(2)
    assert out[1] == BadRecord(2, "5", "expected a JSON object, got a number")
    assert out[2] == BadRecord(3, "null", "expected a JSON object, got null")


@pytest.mark.parametrize("key", ["events", "data", "logs", "anything"])
@pytest.mark.parametrize("indent", [None, 2])
def test_object_wrapping_an_event_array(tmp_path: Path, key: str, indent: int | None) -> None:
    document = {"exportedAt": "2025-01-02T00:00:00Z", key: [ev(1), ev(2)]}
    path = write(tmp_path, "export.json", json.dumps(document, indent=indent))
    assert list(read_okta_export(path)) == [ev(1), ev(2)]


def test_a_single_pretty_printed_event(tmp_path: Path) -> None:
    path = write(tmp_path, "event.json", json.dumps(ev(1), indent=2))
    assert list(read_okta_export(path)) == [ev(1)]


def test_a_single_event_on_one_line_is_json_lines(tmp_path: Path) -> None:
    record = dict(ev(1), target=[{"id": "t"}])  # has an array of objects, but is an event
    path = write(tmp_path, "event.json", json.dumps(record))
    assert list(read_okta_export(path)) == [record]


def test_unreadable_documents_are_one_bad_record(tmp_path: Path) -> None:
    truncated = write(tmp_path, "a.json", json.dumps([ev(1), ev(2)], indent=2)[:-10])
    [bad] = list(read_okta_export(truncated))
    assert isinstance(bad, BadRecord) and bad.line_no == 1 and "not valid JSON" in bad.error
    no_array = write(tmp_path, "b.json", json.dumps({"hello": "world"}, indent=2))
    [bad] = list(read_okta_export(no_array))
    assert isinstance(bad, BadRecord) and "no array of events" in bad.error


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_files_yield_nothing(tmp_path: Path, text: str) -> None:
    assert list(read_okta_export(write(tmp_path, "empty.jsonl", text))) == []


def test_gzip_files(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(json.dumps(ev(1)) + "\n" + json.dumps(ev(2)) + "\n")
    assert list(read_okta_export(path)) == [ev(1), ev(2)]


def test_unreadable_paths_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read Okta export"):
        list(read_okta_export(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError):
        list(read_okta_export(tmp_path))  # a directory
    not_gzip = write(tmp_path, "plain.jsonl.gz", json.dumps(ev(1)))
    with pytest.raises(ConfigError) as caught:
        list(read_okta_export(not_gzip))
    assert caught.value.fix


def _peak_while_reading(path: Path) -> int:
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_okta_export(path))
        assert count > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _jsonl(path: Path, n: int) -> Path:
    line = json.dumps(dict(ev(0), padding="x" * 400)) + "\n"
    with path.open("w", encoding="utf-8") as stream:
        stream.writelines(line for _ in range(n))
    return path


def test_json_lines_are_streamed_not_loaded(tmp_path: Path) -> None:
    small = _peak_while_reading(_jsonl(tmp_path / "small.jsonl", 200))
    large = _peak_while_reading(_jsonl(tmp_path / "large.jsonl", 20_000))  # ~9 MB on disk
    # Peak memory is that of a buffer and one record, whatever the file size.
    assert large < small + 256 * 1024


def test_reading_is_lazy(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "export.jsonl", 10)
    records = read_okta_export(path)
    first = next(records)
    assert isinstance(first, dict) and first["uuid"] == "u-0"
    records.close()  # type: ignore[attr-defined]  # it is a generator; release the file now
