"""Syslog CEF over UDP, TCP (both framings) and TLS to real local listeners."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.notify.conftest import alert, raise_alerts
from tests.notify.receivers import SyslogListener, free_port, parse_cef
from tests.notify.tlsfix import server_tls

from opencasb.clock import FakeClock
from opencasb.notify.config import SyslogConfig
from opencasb.notify.stage import NotifyStage
from opencasb.store import Store

RFC5424 = re.compile(
    r"^<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) opencasb (\d+) alert - (CEF:0\|.*)$",
    re.S,
)


def add_syslog(store: Store, **cfg: object) -> None:
    config = SyslogConfig(**cfg).model_dump(mode="json")  # type: ignore[arg-type]
    store.notifications.add("syslog", "siem", config, {})


@pytest.fixture
def listeners(request: pytest.FixtureRequest) -> Iterator[list[SyslogListener]]:
    made: list[SyslogListener] = []
    yield made
    for listener in made:
        listener.stop()


@pytest.mark.parametrize(
    ("protocol", "framing"),
    [("udp", "octet-counting"), ("tcp", "octet-counting"), ("tcp", "newline")],
)
def test_cef_over_udp_and_tcp(
    store: Store,
    clock: FakeClock,
    listeners: list[SyslogListener],
    protocol: str,
    framing: str,
) -> None:
    listener = SyslogListener(protocol)
    listeners.append(listener)
    add_syslog(
        store, host="127.0.0.1", port=listener.port, protocol=protocol, framing=framing,
        hostname="casb-1", facility=10,
    )  # fmt: skip
    raise_alerts(store, alert(1), alert(2, severity="low"))
    result = NotifyStage(store, clock).run_once()
    assert result.delivered == 2
    first, second = listener.wait(2)
    m = RFC5424.match(first)
    assert m is not None, first
    assert int(m.group(1)) == 10 * 8 + 3  # authpriv, error (a high alert)
    assert m.group(2) == "2026-11-01T12:00:00.000Z" and m.group(3) == "casb-1"
    header, ext = parse_cef(m.group(5))
    assert header == [
        "CEF:0", "OpenCASB", "OpenCASB", "0.1.0", "ALERT_CABINET_EVENT_MATCH_AUDIT",
        "Mass download: user1@example.com", "8",
    ]  # fmt: skip
    event = store.notifications.events_after(0, 10)[0]
    assert ext["externalId"] == "alert-001"
    assert ext["act"] == "opened" and ext["cat"] == "threat_detection"
    assert ext["suser"] == "user1@example.com"
    assert ext["msg"] == "user1 downloaded 60 files in 1 minute (threshold 50)"
    assert ext["start"] == str(int(event.created_at.timestamp() * 1000) + 60_000)
    assert ext["rt"] == str(int(event.created_at.timestamp() * 1000))
    assert (ext["cs3Label"], ext["cs3"]) == ("relatedAudits", "1")
    assert (ext["cs4Label"], ext["cs4"]) == ("policyIDs", "tpl.mass_download")
    assert (ext["cs5Label"], ext["cs5"]) == ("mitreTactic", "exfiltration")
    assert (ext["cs6Label"], ext["cs6"]) == ("eventId", event.key)
    assert (ext["cn2Label"], ext["cn2"]) == ("historical", "0")
    assert RFC5424.match(second) is not None
    assert parse_cef(second[second.index("CEF:") :])[0][6] == "3"  # low


def test_tcp_receiver_down_then_up(store: Store, clock: FakeClock) -> None:
    port = free_port()
    add_syslog(store, host="127.0.0.1", port=port, protocol="tcp")
    raise_alerts(store, alert(1), alert(2))
    stage = NotifyStage(store, clock)
    result = stage.run_once()
    assert (result.failed, result.delivered) == (1, 0)
    rec = store.notifications.get("siem")
    assert rec.last_error is not None and "Connection refused" in rec.last_error
    clock.advance(30)
    listener = SyslogListener("tcp", port=port)  # back, on its port
    try:
        assert stage.run_once().delivered == 2
        first, second = listener.wait(2)
        assert parse_cef(first)[1]["externalId"] == "alert-001"
        assert parse_cef(second)[1]["externalId"] == "alert-002"
        assert stage.run_once().delivered == 0
    finally:
        listener.stop()
    assert len(listener.messages) == 2


def test_tls_verifies_the_server(
    store: Store, clock: FakeClock, tmp_path: Path, listeners: list[SyslogListener]
) -> None:
    tls, ctx = server_tls(tmp_path)
    listener = SyslogListener("tcp", tls=ctx)
    listeners.append(listener)
    add_syslog(
        store, host="127.0.0.1", port=listener.port, protocol="tls", ca_file=str(tls.ca_cert)
    )
    raise_alerts(store, alert(1))
    assert NotifyStage(store, clock).run_once().delivered == 1
    [message] = listener.wait(1)
    assert parse_cef(message)[1]["externalId"] == "alert-001"


def test_tls_refuses_an_untrusted_server(
    store: Store, clock: FakeClock, tmp_path: Path, listeners: list[SyslogListener]
) -> None:
    _, ctx = server_tls(tmp_path)
    listener = SyslogListener("tcp", tls=ctx)
    listeners.append(listener)
    add_syslog(store, host="127.0.0.1", port=listener.port, protocol="tls")  # system CAs only
    raise_alerts(store, alert(1))
    assert NotifyStage(store, clock).run_once().failed == 1
    error = store.notifications.get("siem").last_error
    assert error is not None and "TLS failed" in error and "certificate" in error
    assert listener.messages == []
