"""RFC 8288 Link headers, parsed defensively, and the guard against following them off-host.

Okta sends ``self`` and ``next`` as two ``link`` header lines; httpx joins repeated headers
with ``", "``, and URLs may themselves contain commas. We therefore scan for ``<...>``
groups instead of splitting on commas, and ignore anything we cannot parse rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from opencasb.errors import UnsafeResponse

__all__ = ["Origin", "parse_link_header", "require_same_origin", "split_url"]

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


@dataclass(frozen=True, slots=True)
class Origin:
    """The scheme, host and port of a URL, normalized (lower case, default port filled in)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"https": 443, "http": 80}[self.scheme]
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


# Characters no URL we send may hold: controls, spaces and backslashes. Parsers disagree on
# them (urlsplit strips leading blanks and NULs, httpx and browsers treat "\\" as "/"), and
# a guard and a client that read one URL two ways is how a link gets past the guard.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def split_url(url: str) -> tuple[Origin, str]:
    """The origin of an absolute http(s) URL, and its path with the query (no fragment).

    This is the one parser of URLs the HTTP layer uses: the guard below checks what it
    returns, and the client sends the URL rebuilt from it (:func:`require_same_origin`).

    Raises:
        ValueError: not an absolute http(s) URL, a character no URL may hold, credentials
            (``user:pass@``) in it, or a bad port; the message says which.
    """
    bad = _UNSAFE.search(url)
    if bad:
        raise ValueError(f"it holds the character {bad.group()!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("it is not an absolute https URL")
    if "@" in parts.netloc:
        raise ValueError("it holds credentials (user:password@); give them as secrets instead")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("it has no host")
    port = parts.port  # ValueError when not a number in 0..65535
    if port is None:
        port = 443 if scheme == "https" else 80
    path = parts.path or "/"
    return Origin(scheme, host, port), path + (f"?{parts.query}" if parts.query else "")


def require_same_origin(url: str, origin: str, *, app: str = "") -> str:
    """``url`` rebuilt from its parsed parts, if it has the scheme, host and port of ``origin``.

    A pagination link that points elsewhere would make us send the API token to another
    server (SSRF / credential leak), so it is refused, never followed. The URL returned is
    built from the same parse that was checked, so whoever sends it sends what was checked.

    Raises:
        UnsafeResponse: the link points off the configured host or cannot be parsed safely.
    """
    try:
        target, rest = split_url(url)
        same = target == split_url(origin)[0]
    except ValueError:
        same = False
    if not same:
        raise UnsafeResponse(
            f"refused to follow a link to another host: {url[:200]!r}",
            meaning="the API answered with a link (Link header, next page, content URI) that "
            "points off the configured host or is not a plain https URL",
            fix=f"check that the configured domain {origin} is the org's own domain and that no "
            "proxy rewrites responses",
            app=app,
        )
    return f"{target}{rest}"
