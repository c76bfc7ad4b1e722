"""Real local receivers for the notifier tests: an HTTP webhook server that checks the
HMAC signature, and syslog listeners over UDP, TCP and TLS that parse what arrives."""

from __future__ import annotations

import hashlib
import hmac
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


def verify_signature(key: str, header: str, body: bytes) -> bool:
    """What a receiver does with X-OpenCASB-Signature (the documented format)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    mac = hmac.new(key.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), parts["v1"])


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    """A webhook on 127.0.0.1: answers ``status`` to correctly signed POSTs and records
    them (in arrival order); answers 401 to a bad signature. ``stop`` closes the port; a
    later ``start`` reopens the same one."""

    key: str
    status: int = 200
    retry_after: str | None = None  # sent with an error status
    port: int = 0
    received: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sig = self.headers.get("X-OpenCASB-Signature", "")
                if not sig or not verify_signature(receiver.key, sig, body):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                status = receiver.status
                if 200 <= status < 300:
                    receiver.received.append(Received(dict(self.headers), orjson.loads(body)))
                self.send_response(status)
                if status >= 300 and receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver says no\n\x1b[2J")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> list[str]:
        return [r.body["event_id"] for r in self.received]


def free_port() -> int:
    """A TCP port nobody listens on (closed again at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """The 7 header fields and the extension of a CEF message (unescaped), as a SIEM would
    read them: header fields split on unescaped ``|``; extension keys are the words before
    an unescaped ``=``."""
    start = line.index("CEF:")
    text = line[start:]
    header: list[str] = []
    cur = ""
    i = 0
    while len(header) < 7:
        c = text[i]
        if c == "\\" and text[i + 1] in "\\|":
            cur += text[i + 1]
            i += 2
            continue
        if c == "|":
            header.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    ext = text[i:]
    pairs: dict[str, str] = {}
    key = ""
    value = ""
    j = 0
    tokens: list[tuple[str, str]] = []  # (kind, text): split at unescaped '='
    buf = ""
    while j < len(ext):
        c = ext[j]
        if c == "\\" and j + 1 < len(ext):
            buf += c + ext[j + 1]
            j += 2
            continue
        if c == "=":
            tokens.append(("eq", buf))
            buf = ""
        else:
            buf += c
        j += 1
    tokens.append(("end", buf))
    # Each chunk before '=' ends with " key"; the key is its last word.
    for n, (_, chunk) in enumerate(tokens):
        if n == 0:
            key = chunk.strip()
            continue
        if n < len(tokens) - 1:
            value, _, next_key = chunk.rpartition(" ")
        else:
            value, next_key = chunk, ""
        pairs[key] = _unescape(value)
        key = next_key
    return header, pairs


def _unescape(value: str) -> str:
    out = ""
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out += {"n": "\n", "r": "\r"}.get(nxt, nxt)
            i += 2
        else:
            out += value[i]
            i += 1
    return out


class SyslogListener:
    """Syslog over UDP, TCP or TLS on 127.0.0.1, de-framing octet counting or newlines;
    ``messages`` holds each message's text."""

    def __init__(self, protocol: str, *, tls: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.protocol = protocol
        self.messages: list[str] = []
        self.got = threading.Semaphore(0)
        listener = self

        if protocol == "udp":

            class Udp(socketserver.BaseRequestHandler):
                def handle(self) -> None:
                    listener._add(self.request[0].decode())

            self._server: socketserver.BaseServer = socketserver.ThreadingUDPServer(
                ("127.0.0.1", port), Udp
            )
        else:

            class Tcp(socketserver.StreamRequestHandler):
                def handle(self) -> None:
                    conn = self.connection
                    if tls is not None:
                        conn = tls.wrap_socket(conn, server_side=True)
                    stream = conn.makefile("rb")
                    while True:
                        first = stream.read(1)
                        if not first:
                            return
                        if first.isdigit():  # octet counting: LEN SP MSG
                            digits = first
                            while (c := stream.read(1)) != b" ":
                                digits += c
                            listener._add(stream.read(int(digits)).decode())
                        else:  # newline framing
                            listener._add((first + stream.readline()).decode().rstrip("\n"))

            socketserver.ThreadingTCPServer.allow_reuse_address = True
            self._server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = int(self._server.server_address[1])  # type: ignore[index]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _add(self, text: str) -> None:
        self.messages.append(text)
        self.got.release()

    def wait(self, n: int) -> list[str]:
        """The first ``n`` messages, waiting (bounded) for them to arrive."""
        while len(self.messages) < n:
            assert self.got.acquire(timeout=5), f"only {len(self.messages)} messages arrived"
        return self.messages[:n]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
