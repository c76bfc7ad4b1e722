"""Validation of the Okta org domain a user types into the connect form."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from opencasb.errors import ConfigError

__all__ = ["canonical_origin"]

# The Admin Console hosts serve the browser UI, not the API (okta-sdk-python refuses them too).
_ADMIN_HOST = re.compile(
    r"-admin\.(okta|oktapreview|okta-emea|okta-gov|okta-miltest|trex-govcloud)\.(com|mil)$|"
    r"-admin\.okta\.mil$"
)
_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def canonical_origin(domain: str) -> str:
    """Turn ``acme.okta.com`` or ``https://acme.okta.com/`` into ``https://acme.okta.com``.

    Custom domains (``login.example.com``) and loopback hosts with a port (the sandbox) are
    allowed; plain HTTP, paths, credentials in the URL and Admin Console hosts are refused.

    Raises:
        ConfigError: saying what is wrong with the domain and what a good one looks like.
    """
    text = domain.strip()
    if not text:
        raise ConfigError(
            "the Okta domain is empty", fix="give the org's domain, e.g. acme.okta.com"
        )
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(
            f"{domain!r} is not a valid Okta domain", fix="give a host name like acme.okta.com"
        ) from None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https":
        raise ConfigError(
            f"the Okta domain must use https, not {parts.scheme}",
            fix="Okta serves its API over HTTPS only; use https://" + host,
        )
    if "@" in parts.netloc:
        # Not echoed: the text before "@" may be a password.
        raise ConfigError(
            "the Okta domain holds credentials (user:password@host)",
            fix="give only the org's host name, e.g. acme.okta.com; the API token is read from "
            "$OKTA_API_TOKEN or a prompt, never from the URL",
        )
    if (parts.path not in ("", "/")) or parts.query:
        raise ConfigError(
            f"{domain!r} has more than a host name",
            fix="give only the org's host name, e.g. acme.okta.com (no path, no credentials)",
        )
    if "{" in host or "youroktadomain" in host:
        raise ConfigError("the Okta domain is a placeholder", fix="give your org's real domain")
    if _ADMIN_HOST.search(host):
        raise ConfigError(
            f"{host} is the Admin Console host, which does not serve the API",
            fix="drop '-admin' from the domain: e.g. acme.okta.com instead of acme-admin.okta.com",
        )
    bare = host.strip("[]")
    if not (_HOST.match(host) or ":" in bare):
        raise ConfigError(f"{host!r} is not a valid host name", fix="check the domain's spelling")
    netloc = f"[{bare}]" if ":" in bare else host
    return f"https://{netloc}" + (f":{port}" if port and port != 443 else "")
