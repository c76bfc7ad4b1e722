"""The text filter's match over a stored activity (see :mod:`opencasb.store.query`).

A case-insensitive substring of the raw record, the targets (as the JSON text of a list of
Target dicts), the description or the action, as LIKE/ILIKE over those columns matched it
before they moved into the compressed body. Case folding follows the engine: SQLite's LIKE
folds ASCII letters only, PostgreSQL's ILIKE folds Unicode.
"""

from __future__ import annotations

from opencasb.store.codec import body_description, body_plaintext_of, split_body, targets_text_of

__all__ = ["SQLITE_FUNCTION", "sqlite_text_match", "text_match"]

SQLITE_FUNCTION = "opencasb_text"
"""Name of :func:`sqlite_text_match` as registered on every SQLite connection."""

# Characters that compact JSON writes escaped (so a search of the plaintext could miss them).
_JSON_ESCAPED = frozenset('"\\') | frozenset(chr(c) for c in range(0x20))


def _fold_ascii(data: bytes) -> bytes:
    # SQLite's LIKE: ASCII letters fold, nothing else does; bytes.lower() is exactly that.
    return data.lower()


def _fold_unicode(data: bytes) -> bytes:
    # PostgreSQL's ILIKE: Unicode lower case.
    return data.decode(errors="replace").lower().encode()


def text_match(body: bytes, action: str, text: str, *, sqlite: bool) -> bool:
    """Whether ``text`` is in the activity whose ``body`` and ``action`` columns are given.

    A damaged body matches nothing (it is reported when the row is read, not searched).
    """
    fold = _fold_ascii if sqlite else _fold_unicode
    needle = fold(text.encode())
    try:
        plain = body_plaintext_of(body)
    except ValueError:
        return False
    action_bytes = fold(action.encode())
    if needle in action_bytes:
        return True
    # Fast path, nearly every row of a scan: the raw record, the targets and the description
    # are all inside the body's plaintext, so a needle absent from all of it matches none of
    # them. Only a needle that JSON escapes ('"', '\', control characters) could hide there.
    if needle not in fold(plain) and not _JSON_ESCAPED.intersection(text):
        return False
    try:
        fields, raw = split_body(plain)
        haystacks = (raw, targets_text_of(fields).encode(), body_description(fields).encode())
    except (TypeError, ValueError, IndexError):
        return False
    return any(needle in fold(h) for h in haystacks)


def sqlite_text_match(body: bytes | None, action: str | None, text: str | None) -> int:
    """:func:`text_match` as an SQLite function: 1 or 0, never an exception (SQLite would
    abort the whole statement)."""
    if body is None or action is None or not text:
        return 0
    try:
        return int(text_match(bytes(body), action, text, sqlite=True))
    except Exception:
        return 0
