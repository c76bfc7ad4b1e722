"""Okta-looking identifiers, derived deterministically from integers.

Okta object ids are 20 characters: a 3-character type prefix (``00u`` user, ``00g`` group,
``0oa`` app, ...), 14 characters, and a 3-character suffix that is the same for one org
(e.g. ``...4x6``). System Log ``uuid`` values are RFC 4122 version-1 UUIDs whose timestamp is
the event's time; we build them the same way so that they sort and look like Okta's.
"""

from __future__ import annotations

import base64

__all__ = [
    "NODE_HEX",
    "UUID_EPOCH_OFFSET",
    "b62",
    "mix",
    "okta_id",
    "org_suffix",
    "session_id",
    "uuid1",
]

_MASK = (1 << 64) - 1
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
UUID_EPOCH_OFFSET = 0x01B21DD213814000
# A handful of "log servers": real uuids in one org share a few node values.
_NODES = tuple((0x1F5D113F2546 * (i + 3) * 2654435761) & 0xFFFFFFFFFFFF for i in range(24))


def mix(*parts: int) -> int:
    """A 64-bit hash of some integers (SplitMix64 steps): cheap, stable across runs."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & _MASK)) + 0x9E3779B97F4A7C15 & _MASK
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
        x ^= x >> 31
    return x


def b62(value: int, width: int) -> str:
    """``value`` in base 62, exactly ``width`` characters (higher digits dropped)."""
    out = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        out.append(_ALPHABET[digit])
    return "".join(out)


def org_suffix(seed: int) -> str:
    """The 3-character suffix every id of one org ends with."""
    return b62(mix(seed, 0x0FF1CE), 1) + str(mix(seed, 1) % 10) + b62(mix(seed, 2), 1)


def okta_id(prefix: str, seed: int, kind: int, n: int, suffix: str) -> str:
    """A 20-character id for object ``n`` of a ``kind`` (any int naming a namespace)."""
    return prefix + b62(mix(seed, kind, n) << 20 | mix(n, kind), 14) + suffix


NODE_HEX = tuple(f"-{n:012x}" for n in _NODES)
_high: dict[int, str] = {}


def uuid1(ms: int, r: int) -> str:
    """A version-1 UUID for an event at ``ms`` (Unix epoch ms) using 64 random bits ``r``."""
    t = ms * 10_000 + (r & 0x1FFF) + UUID_EPOCH_OFFSET
    hi = t >> 32  # changes every ~7 minutes: cache its text
    mid = _high.get(hi)
    if mid is None:
        if len(_high) > 50_000:
            _high.clear()
        mid = _high[hi] = f"-{hi & 0xFFFF:04x}-{(hi >> 16) & 0x0FFF | 0x1000:04x}-"
    return f"{t & 0xFFFFFFFF:08x}{mid}{0x8000 | ((r >> 13) & 0x3FFF):04x}{NODE_HEX[(r >> 27) % 24]}"


def session_id(prefix: str, r: int) -> str:
    """A 25-character session id such as ``idxAbC...`` (``prefix`` is ``idx`` or ``trs``)."""
    raw = (r & ((1 << 132) - 1)).to_bytes(17, "big")
    return prefix + base64.urlsafe_b64encode(raw).decode()[:22]
