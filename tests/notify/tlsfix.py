"""TLS material for the receivers: a private CA and a loopback server certificate, made
fresh in the test's folder with ``cryptography`` (through the sandbox's helper)."""

from __future__ import annotations

import ssl
from pathlib import Path

from opencasb.sandbox.tls import SandboxTLS, ensure_sandbox_tls


def server_tls(folder: Path) -> tuple[SandboxTLS, ssl.SSLContext]:
    tls = ensure_sandbox_tls(folder / "tls")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls.server_cert, tls.server_key)
    return tls, ctx
