"""Identifiers and timestamps in Office 365's formats, derived deterministically from integers.

Everything here is a pure function of its arguments, so the same org always gets the same
object ids, PUIDs, SIDs and record ids. The hot ones (:func:`guid`, :func:`creation_time`)
are cheap: the generator calls them for every record.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime

from opencasb.sandbox.okta.gen_ids import mix

__all__ = [
    "creation_time",
    "derive",
    "guid",
    "mix",
    "random_guid",
    "seed_guid",
    "sid",
    "stable_guid",
]

_minutes: dict[int, str] = {}


def guid(x: int) -> str:
    """A GUID spelled from the low 128 bits of ``x`` (lower-case, dashed)."""
    h = f"{x & 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_MASK128 = (1 << 128) - 1
_ODD = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd: distinct inputs give distinct outputs


def derive(r: int, k: int) -> str:
    """A second, third, ... GUID from a record's random bits ``r`` (``k`` numbers them):
    full width, unlike shifting ``r``, and cheap (one multiplication)."""
    return guid(((r ^ k) * _ODD) & _MASK128)


def stable_guid(*parts: int) -> str:
    """A version-4-looking GUID that is a pure function of some integers (object ids)."""
    return guid(_v4(mix(*parts, 0xA) << 64 | mix(*parts, 0xB)))


def random_guid(rng: random.Random) -> str:
    """A version-4 GUID drawn from ``rng``."""
    return guid(_v4(rng.getrandbits(128)))


def _v4(x: int) -> int:
    x = (x & ~(0xF << 76)) | (4 << 76)  # version nibble
    return (x & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant


def seed_guid(seed: int, label: str) -> str:
    """A GUID derived from ``(seed, label)`` by SHA-256: tenant and client ids, which a user
    may save, so they must never change between releases."""
    digest = hashlib.sha256(f"opencasb-o365:{seed}:{label}".encode()).digest()
    x = int.from_bytes(digest[:16], "big")
    return guid(_v4(x))


def sid(*parts: int) -> str:
    """A Windows security identifier like Exchange's ``MailboxOwnerSid``."""
    h = mix(*parts, 0x51D)
    return (
        f"S-1-5-21-{h % 4_000_000_000:d}-{(h >> 20) % 4_000_000_000:d}"
        f"-{(h >> 40) % 4_000_000_000:d}-{(h >> 8) % 90_000_000 + 10_000_000:d}"
    )


def _minute_prefix(minute: int) -> str:
    if len(_minutes) > 50_000:  # bounded: clear rather than grow with the window
        _minutes.clear()
    text = _minutes[minute] = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")
    return text


def creation_time(seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` (UTC, no zone, no fraction) for Unix ``seconds``: the
    ``CreationTime`` format of every audit record (research §2.1)."""
    minute, sec = divmod(seconds, 60)
    prefix = _minutes.get(minute) or _minute_prefix(minute)
    return f"{prefix}{sec:02d}"
