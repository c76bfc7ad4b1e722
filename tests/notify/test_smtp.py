"""E-mail over SMTP to a real local server (aiosmtpd): plain, STARTTLS with a login,
implicit TLS; a server that is down; a readable body."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from tests.notify.conftest import alert, raise_alerts
from tests.notify.receivers import free_port
from tests.notify.tlsfix import server_tls

from opencasb.clock import FakeClock
from opencasb.notify.config import EmailConfig
from opencasb.notify.stage import NotifyStage
from opencasb.store import Store

PASSWORD = "smtp-pass-7d1e0c"


@dataclass
class Inbox:
    messages: list[tuple[str, list[str], email.message.EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled: the server answers 535


@pytest.fixture
def servers() -> Iterator[list[Controller]]:
    made: list[Controller] = []
    yield made
    for c in made:
        c.stop()


def add_email(store: Store, password: str | None = None, **cfg: object) -> None:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "sender": "casb@example.com",
        "recipients": ["soc@example.com", "oncall@example.com"],
    }
    config = EmailConfig(**{**base, **cfg}).model_dump(mode="json")  # type: ignore[arg-type]
    store.notifications.add("email", "mail", config, {"password": password} if password else {})


def test_plain_relay_readable_body(
    store: Store, clock: FakeClock, servers: list[Controller]
) -> None:
    inbox = Inbox()
    port = free_port()
    servers.append(Controller(inbox, hostname="127.0.0.1", port=port))
    servers[-1].start()
    add_email(store, port=port, security="plain")
    raise_alerts(store, alert(1, title="Mass download:\r\nBcc: victim@example.com"))
    assert NotifyStage(store, clock).run_once().delivered == 1
    [(sender, rcpts, msg)] = inbox.messages
    assert sender == "casb@example.com"
    assert rcpts == ["soc@example.com", "oncall@example.com"]
    event = store.notifications.events_after(0, 10)[0]
    assert msg["Message-ID"] == f"<{event.key}@opencasb.invalid>"
    assert msg["X-OpenCASB-Event-Id"] == event.key
    # A line break in the title cannot add a header.
    assert msg["Subject"] == "[OpenCASB HIGH] alert opened: Mass download: Bcc: victim@example.com"
    assert msg["Bcc"] is None
    body = msg.get_content()
    assert "user1 downloaded 60 files in 1 minute (threshold 50)" in body
    assert "Users:        user1@example.com" in body
    assert "MITRE tactic: exfiltration" in body
    assert "opencasb alerts show alert-001" in body


def test_starttls_with_login(
    store: Store, clock: FakeClock, tmp_path: Path, servers: list[Controller]
) -> None:
    tls, ctx = server_tls(tmp_path)
    inbox = Inbox()
    port = free_port()
    servers.append(
        Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            tls_context=ctx,
            require_starttls=True,
            authenticator=inbox.authenticate,
            auth_require_tls=True,
        )
    )
    servers[-1].start()
    add_email(
        store, PASSWORD, port=port, security="starttls", username="casb", ca_file=str(tls.ca_cert)
    )
    raise_alerts(store, alert(1))
    store.detection.close_alert("alert-001", "false_positive", "a scheduled backup job")
    assert NotifyStage(store, clock).run_once().delivered == 2
    assert inbox.logins == ["casb", "casb"]
    closed = inbox.messages[1][2]
    assert closed["Subject"].startswith("[OpenCASB HIGH] alert closed:")
    body = closed.get_content()
    assert "Status:       closed (false_positive)" in body and "a scheduled backup job" in body


def test_wrong_password_and_implicit_tls(
    store: Store, clock: FakeClock, tmp_path: Path, servers: list[Controller],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    tls, ctx = server_tls(tmp_path)
    inbox = Inbox()
    port = free_port()
    servers.append(
        Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            ssl_context=ctx,
            authenticator=inbox.authenticate,
            auth_require_tls=False,
        )
    )
    servers[-1].start()
    add_email(
        store, "wrong-password-123", port=port, security="tls", username="casb",
        ca_file=str(tls.ca_cert),
    )  # fmt: skip
    raise_alerts(store, alert(1))
    stage = NotifyStage(store, clock)
    assert stage.run_once().failed == 1
    error = store.notifications.get("mail").last_error
    assert error is not None and "refused the login: 535" in error
    assert all("wrong-password-123" not in r.getMessage() for r in caplog.records)
    assert inbox.messages == []


def test_server_down_then_up(store: Store, clock: FakeClock, servers: list[Controller]) -> None:
    port = free_port()
    add_email(store, port=port, security="plain")
    raise_alerts(store, alert(1), alert(2))
    stage = NotifyStage(store, clock)
    assert stage.run_once().failed == 1
    inbox = Inbox()
    servers.append(Controller(inbox, hostname="127.0.0.1", port=port))
    servers[-1].start()
    clock.advance(30)
    assert stage.run_once().delivered == 2
    assert [m[2]["Subject"].split(": ", 1)[1] for m in inbox.messages] == [
        "Mass download: user1@example.com",
        "Mass download: user2@example.com",
    ]
