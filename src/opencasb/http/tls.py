"""TLS trust for connectors: the system store plus an optional CA bundle."""

from __future__ import annotations

import ssl

from opencasb.errors import ConfigError

__all__ = ["ca_context"]


def ca_context(path: str) -> ssl.SSLContext:
    """Trust the system store plus the CA bundle at ``path`` (a TLS-inspecting proxy, the sandbox).

    Raises:
        ConfigError: the bundle is missing or not PEM.
    """
    try:
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load the CA bundle {path}: {exc}",
            fix="give a readable PEM file with the CA certificate, or drop the ca_bundle option",
        ) from None
    return ctx
