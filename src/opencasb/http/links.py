"""RFC 8288 Link headers, parsed defensively, and the guard against following them off-host.

Okta sends ``self`` and ``next`` as two ``link`` header lines; httpx joins repeated headers
with ``", "``, and URLs may themselves contain commas. We therefore scan for ``<...>``
groups instead of splitting on commas, and ignore anything we cannot parse rather than guess.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from opencasb.errors import UnsafeResponse

__all__ = ["parse_link_header", "require_same_origin"]

_LINK = re.compile(r"<([^<>]*)>\s*((?:;\s*[^;,<>]+)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)
_MAX_HEADER = 16_384  # a Link header longer than this is hostile or broken


def parse_link_header(values: list[str]) -> dict[str, str]:
    """Map each ``rel`` to its URL, from one or more Link header values.

    The first occurrence of a rel wins. Malformed parts are skipped.

    Raises:
        UnsafeResponse: the header is absurdly long.
    """
    links: dict[str, str] = {}
    for value in values:
        if len(value) > _MAX_HEADER:
            raise UnsafeResponse(
                "the API sent a Link header longer than 16 KiB",
                fix="this is not an answer the API gives; check for a proxy rewriting responses",
            )
        for match in _LINK.finditer(value):
            url, params = match.group(1).strip(), match.group(2)
            rel_match = _REL.search(params or "")
            if not rel_match or not url:
                continue
            for rel in (rel_match.group(1) or rel_match.group(2) or "").split():
                links.setdefault(rel.lower(), url)
    return links


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def require_same_origin(url: str, origin: str, *, app: str = "") -> str:
    """Return ``url`` if it has the scheme, host and port of ``origin``.

    A pagination link that points elsewhere would make us send the API token to another
    server (SSRF / credential leak), so it is refused, never followed.

    Raises:
        UnsafeResponse: the link points off the configured host.
    """
    try:
        same = _origin(url) == _origin(origin)
    except ValueError:
        same = False
    if not same or "@" in urlsplit(url).netloc:
        raise UnsafeResponse(
            f"refused to follow a pagination link to another host: {url[:200]!r}",
            meaning="the API answered with a Link header pointing off the configured host",
            fix=f"check that the configured domain {origin} is the org's own domain and that no "
            "proxy rewrites responses",
            app=app,
        )
    return url
