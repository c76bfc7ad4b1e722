"""Syslog notifier: each alert event as one CEF message (:mod:`opencasb.notify.cef`).

The syslog header is RFC 5424's: ``<PRI>1 TIMESTAMP HOSTNAME opencasb PROCID alert - CEF:0|...``
where PRI is the configured facility (default local0) times 8 plus a level from the alert's
severity (high 3 error, medium 4 warning, low 5 notice, informational 6 info).

Transports:
    * ``udp`` (RFC 5426): one datagram per message. Fire and forget: a receiver that is down
      loses the message unless the kernel reports the refusal, so UDP cannot promise
      delivery; use TCP or TLS for that.
    * ``tcp`` (RFC 6587) and ``tls`` (RFC 5425, the server's certificate verified against
      the system store or ``ca_file``, and its host name checked). Framing is octet counting
      (``LEN SP MSG``, RFC 6587 3.4.1, the default) or a trailing newline (3.4.2; safe here
      because CEF escapes every line break inside the message). A message counts as
      delivered once the receiver's TCP stack took it: syslog has no acknowledgement.
      One connection serves a stage pass; a connection the receiver closed is noticed and
      replaced before the next message.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
from datetime import UTC

from opencasb.clock import Clock
from opencasb.errors import DeliveryFailed
from opencasb.http.tls import ca_context
from opencasb.notify.base import failed, snippet
from opencasb.notify.cef import cef_message
from opencasb.notify.config import SyslogConfig
from opencasb.notify.payload import Outgoing

__all__ = ["SyslogSender", "syslog_line"]

_LEVEL = {"high": 3, "medium": 4, "low": 5, "informational": 6}


def _header_token(text: str, limit: int) -> str:
    """An RFC 5424 header field: printable ASCII without spaces, or ``-``."""
    token = "".join(c for c in text if "!" <= c <= "~")[:limit]
    return token or "-"


def syslog_line(out: Outgoing, config: SyslogConfig, clock: Clock, procid: str) -> bytes:
    """The RFC 5424 message of ``out`` (no framing)."""
    level = _LEVEL.get(str(out.event.alert.get("severity")), 5)
    now = clock.now().astimezone(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    host = _header_token(config.hostname or socket.gethostname(), 255)
    head = f"<{config.facility * 8 + level}>1 {stamp} {host} opencasb {procid} alert - "
    return (head + cef_message(out)).encode("utf-8")


class SyslogSender:
    """Sends CEF over syslog to one receiver (see module doc)."""

    def __init__(self, config: SyslogConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._sock: socket.socket | None = None
        self._where = f"{config.protocol}://{config.host}:{config.port}"
        self._procid = str(os.getpid())

    def send(self, out: Outgoing) -> str:
        data = syslog_line(out, self._config, self._clock, self._procid)
        try:
            if self._config.protocol == "udp":
                self._send_udp(data)
                return f"sent {len(data)} bytes over UDP"
            framed = (
                f"{len(data)} ".encode() + data
                if self._config.framing == "octet-counting"
                else data + b"\n"
            )
            self._stream().sendall(framed)
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise failed(
                f"TLS failed with the syslog receiver {self._where}: {exc.verify_message}",
                fix="check the host name; a private CA is trusted with --ca-file",
                code="tls",
            ) from None
        except OSError as exc:
            self.close()
            raise self._oserror(exc) from None
        return f"sent {len(framed)} bytes over {self._config.protocol.upper()}"

    def _send_udp(self, data: bytes) -> None:
        if self._sock is None:
            cfg = self._config
            family, kind, proto, _, addr = socket.getaddrinfo(
                cfg.host, cfg.port, type=socket.SOCK_DGRAM
            )[0]
            sock = socket.socket(family, kind, proto)
            sock.settimeout(cfg.timeout)
            # connect() makes the kernel report an ICMP "port unreachable" on a later send.
            sock.connect(addr)
            self._sock = sock
        self._sock.send(data)

    def _stream(self) -> socket.socket:
        if self._sock is not None and not self._alive(self._sock):
            self.close()
        if self._sock is None:
            cfg = self._config
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout)
            if cfg.protocol == "tls":
                ctx = ca_context(cfg.ca_file) if cfg.ca_file else ssl.create_default_context()
                try:
                    sock = ctx.wrap_socket(sock, server_hostname=cfg.host)
                except OSError:
                    sock.close()
                    raise
            self._sock = sock
        return self._sock

    @staticmethod
    def _alive(sock: socket.socket) -> bool:
        """False when the receiver closed the connection (it is readable and says EOF):
        syslog receivers never send, so anything readable means the end."""
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        if not readable:
            return True
        try:
            return bool(sock.recv(1, socket.MSG_PEEK))
        except (OSError, ssl.SSLError):
            return False

    def _oserror(self, exc: OSError) -> DeliveryFailed:
        if isinstance(exc, TimeoutError | socket.timeout):
            return failed(
                f"the syslog receiver {self._where} did not answer within "
                f"{self._config.timeout:g} s",
                fix="the receiver is slow or unreachable; the event is retried with backoff",
                code="timeout",
            )
        if isinstance(exc, ssl.SSLError):
            return failed(
                f"TLS failed with the syslog receiver {self._where}: {snippet(str(exc))}",
                fix="check that the receiver speaks TLS on this port and trusts TLS 1.2+",
                code="tls",
            )
        reason = exc.strerror or snippet(str(exc)) or type(exc).__name__
        return failed(
            f"could not send to the syslog receiver {self._where}: {reason}",
            fix="check that the receiver runs and listens there; the event is retried",
            code="connect",
        )

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
