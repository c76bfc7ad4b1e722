"""A database URL made safe to show: in an answer, on a page, in a log line.

A PostgreSQL URL can carry a password in two places: its userinfo
(``postgresql://u:secret@h/db``) and its query (``?password=secret``, libpq's
``sslpassword``, or the path of a key or password file). SQLAlchemy's
``render_as_string(hide_password=True)`` masks the first only.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["MASK", "redacted_url"]

MASK = "***"
# Query keys whose values are secrets or say where one is; compared in lower case, by
# substring, so that a driver's variant (``sslpassword``, ``passfile``) is caught too.
_SECRET_PARTS = ("pass", "secret", "token", "key", "cred")


def _secret_key(name: str) -> bool:
    low = name.lower()
    return any(part in low for part in _SECRET_PARTS)


def redacted_url(url: str) -> str:
    """``url`` with its userinfo password and every secret-looking query value replaced by
    ``***``; a URL that does not parse is not shown at all (it may be a secret mistyped)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "(unreadable database URL)"
    # render_as_string would percent-encode the mask; the query is written here instead.
    base = parsed.set(query={}).render_as_string(hide_password=True)
    pairs: list[str] = []
    for name, value in sorted(parsed.query.items()):
        values = (value,) if isinstance(value, str) else value
        for v in values:
            shown = MASK if _secret_key(name) else quote(v, safe="/:,")
            pairs.append(f"{quote(name)}={shown}")
    return f"{base}?{'&'.join(pairs)}" if pairs else base
