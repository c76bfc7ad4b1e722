"""CEF escaping: hostile alert text (pipes, equals, backslashes, line breaks, control
characters) cannot forge a header field, an extension key or a second syslog line."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.notify.receivers import parse_cef

from opencasb.notify.cef import cef_message, escape_extension, escape_header
from opencasb.notify.payload import Entities, Outgoing
from opencasb.store.outbox import AlertEvent

HOSTILE = "a|b=c\\d\ne\rf\r\ng\x00h\x1b[2Ji\x7fj\u2028k cs4=evil act=closed|CEF:0|x"
T = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _out(title: str, explanation: str, entity: str = "eve@example.com") -> Outgoing:
    a = {
        "id": "alert-1",
        "policy_id": "p=1|x",
        "title": title,
        "severity": "medium",
        "category": "threat_detection",
        "tactic": "initial_access",
        "entity": entity,
        "explanation": explanation,
        "evidence": [3, 4],
        "first_time": T.isoformat(),
        "last_time": T.isoformat(),
        "historical": True,
        "status": "open",
        "resolution": None,
    }
    event = AlertEvent(7, "k" * 32, "alert-1", "opened", a, T)
    return Outgoing(event, Entities(users=(entity,), ips=("2001:db8::1", "198.51.100.7")))


def test_escapes_per_the_spec() -> None:
    assert escape_header("a|b\\c=d") == "a\\|b\\\\c=d"
    assert escape_extension("a|b\\c=d") == "a|b\\\\c\\=d"
    assert escape_extension("x\r\ny\nz\rw") == "x\\ny\\nz\\rw"
    assert escape_header("x\ny") == "x y"
    assert escape_extension("\x00\x1b\x7f\u2028") == "    "


def test_hostile_text_stays_in_its_field() -> None:
    line = cef_message(_out(HOSTILE, HOSTILE, entity=HOSTILE))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\x00" not in line
    header, ext = parse_cef(line)
    assert len(header) == 7
    assert header[5] == HOSTILE.translate(
        {0x0A: " ", 0x0D: " ", 0x00: " ", 0x1B: " ", 0x7F: " ", 0x2028: " "}
    )
    assert header[6] == "6"
    # The forged "cs4=evil act=closed" is text inside msg, not keys of their own.
    assert ext["cs4"] == "p=1|x" and ext["act"] == "opened"
    expected = (
        HOSTILE.replace("\r\n", "\n").replace("\x00", " ").replace("\x1b", " ").replace("\x7f", " ")
    )
    assert ext["msg"] == expected.replace("\u2028", " ")
    assert ext["suser"] == ext["msg"]
    assert ext["src"] == "198.51.100.7"
    assert (ext["c6a1Label"], ext["c6a1"]) == ("Device IPv6 Address", "2001:db8::1")
    assert ext["cn2"] == "1" and ext["cs3"] == "3,4"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=60), st.text(min_size=1, max_size=60))
def test_any_text_round_trips(title: str, explanation: str) -> None:
    line = cef_message(_out(title or "t", explanation))
    assert "\n" not in line and "\r" not in line
    header, ext = parse_cef(line)
    assert len(header) == 7 and header[4] == "ALERT_CABINET_EVENT_MATCH_AUDIT"
    assert ext["externalId"] == "alert-1" and ext["cs6"] == "k" * 32
    # What a SIEM reads back is the text, with other control characters blanked.
    controls = {c: " " for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}
    for kept in (0x09, 0x0A, 0x0D):  # tabs stay; line breaks travel as \n and \r
        controls.pop(kept)
    want = explanation.replace("\r\n", "\n").translate(controls)
    assert ext["msg"] == want
