"""When each audit record is published, and in which order records are served.

A scheduled record is a tuple ``(key, pub, ts, kind, sess, x, r)``: ``key`` orders records by
publication time (``pub``, Unix seconds) and then by random bits, so records inside one blob
are not in event order; ``ts`` is the event time and the rest is what the builder needs.

Publication follows research §2.6: 30 minutes to hours after the event (most 60-90 min),
rounded up to the next 5-minute blob of the record's content type, and about one record in
128 published again in a later blob (same record, same ``Id``). With :class:`Late` (the
emulator's ``Faults.late_fraction``), a share of the records is published hours later
still: content blobs that become available late, holding events older than those of blobs
published before them (research §5 "Out-of-order / late").
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from opencasb.sandbox.office365.gen_core import Kind, Sess

__all__ = ["BUCKET", "MAX_LAG", "MIN_LAG", "Ev", "Late", "Spec", "schedule"]

Spec = tuple[int, int, int, Kind, Sess, Any, int]
Ev = tuple[int, Kind, Sess, Any]  # (event time, kind, session, builder argument)

BUCKET = 300  # blobs are cut every 5 minutes per content type
MIN_LAG = 1800  # nothing is published sooner than 30 minutes after it happened
# The latest a record can be published: 8 h tail + a bucket + offsets + a 2 h duplicate.
MAX_LAG = 8 * 3600 + BUCKET + 200 + 24 * BUCKET


def _lags() -> tuple[int, ...]:
    """4,096 publication delays (seconds) to draw from: 8% within 30-60 min, 80% within
    60-90 min, 10.5% within 1.5-4 h, 1.5% within 4-8 h."""
    out = []
    for i in range(4096):
        f = (i * 2654435761 % 4096) / 4096  # spread each band over the whole range
        if i < 328:
            out.append(MIN_LAG + int(f * 1800))
        elif i < 3604:
            out.append(3600 + int(f * 1800))
        elif i < 4035:
            out.append(5400 + int(f * 9000))
        else:
            out.append(14_400 + int(f * 14_400))
    return tuple(out)


_LAG = _lags()
_UNIT = float(1 << 64)


@dataclass(frozen=True, slots=True)
class Late:
    """Records published late on purpose: about ``fraction`` of them, each by a uniform
    extra delay of up to ``max_seconds`` on top of its normal lag.

    Which records and by how much is a pure function of ``(seed, the record's random
    bits)``, never of the window asked for, so the history and a live trickle publish the
    same record at the same time, and adjacent windows still add up to the whole.
    """

    fraction: float
    max_seconds: int
    seed: int = 0

    @property
    def active(self) -> bool:
        return self.fraction > 0 and self.max_seconds > 0

    def extra(self, r: int) -> int:
        """Extra seconds before the record with random bits ``r`` is published (0 for most)."""
        digest = hashlib.blake2b(
            r.to_bytes(16, "big"), digest_size=16, key=b"o365-late:%d" % self.seed
        ).digest()
        if int.from_bytes(digest[:8], "big") / _UNIT >= self.fraction:
            return 0
        return int(int.from_bytes(digest[8:], "big") / _UNIT * self.max_seconds)


def schedule(
    who: int,
    day: int,
    ev: list[Ev],
    rng: random.Random,
    out: list[Spec],
    late: Late | None = None,
) -> None:
    """Draw each event's random bits and publication time and append it to ``out`` (twice
    for the records the service publishes again in a later blob; hours later for the
    records ``late`` picks).

    ``who`` (person index, < 2**15) and ``day`` (an ordinal) make keys unique: one person-day
    holds at most 2,047 events.
    """
    tie0 = (who << 19) | ((day & 0x7F) << 12)
    bits = rng.getrandbits
    append = out.append
    lags = _LAG
    extra = late.extra if late is not None and late.active else None
    for k, (ts, kind, sess, x) in enumerate(ev[:2047]):
        r = bits(128)
        lag = lags[r >> 116] + (extra(r) if extra is not None else 0)
        pub = ((ts + lag) // BUCKET + 1) * BUCKET + kind.content
        tie = tie0 | k | ((r >> 86) & 0x3FF) << 34
        append((pub << 44 | tie, pub, ts, kind, sess, x, r))
        if (r >> 78) & 0xFF < 2:  # about 0.8%: published again, 5 min to 2 h later
            pub2 = pub + BUCKET * (1 + (r >> 70) % 24)
            append((pub2 << 44 | tie | 2048, pub2, ts, kind, sess, x, r))
