"""The ``activities.body`` column: an activity's unindexed fields and raw record, zstd-compressed.

An audit record is highly repetitive across records (the same keys, event types, user agents,
app names) but each one alone is too small for a compressor to learn that. So each app has a
zstd *dictionary*, trained offline on its sandbox generator's output
(``scripts/train_dicts.py``) and shipped in ``store/dicts/``: a compressed body is a few
hundred bytes where the JSON is two kilobytes, and still one row, readable alone.

Versioning: a dictionary is identified by the id written into every frame header it
compressed (zstd's own ``dictID`` field), so a row names the dictionary it needs. Ids are
never reused: a retrained dictionary ships under a new id beside the old files, and rows
written with an old one stay readable. A frame without a dictionary id (an app without a
dictionary) is plain zstd.

Compressors and decompressors are per thread (zstd contexts are not thread-safe) and per
process (ingest workers compress; they are forked before first use).
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources

import zstandard

__all__ = ["DICTIONARIES", "compress", "current_dict_id", "decompress"]

DICTIONARIES: dict[int, tuple[str, str]] = {
    1: ("okta", "okta-1.zdict"),
    2: ("office365", "office365-2.zdict"),
}
"""Every dictionary ever shipped: id -> (app, file in ``store/dicts``). Append only."""

_CURRENT: dict[str, int] = {"okta": 1, "office365": 2}
"""The dictionary new rows of each app are compressed with (its newest)."""

# Level 3 (zstd's default): measured on Okta bodies with the dictionary, level 9 saves ~3%
# of the bytes for twice the CPU, which ingest would pay on every record.
_LEVEL = 3


def current_dict_id(app: str) -> int:
    """The dictionary id new rows of ``app`` are written with; 0 for none."""
    return _CURRENT.get(app, 0)


@cache
def _dictionary(dict_id: int) -> zstandard.ZstdCompressionDict:
    _app, filename = DICTIONARIES[dict_id]
    data = resources.files("opencasb.store").joinpath("dicts", filename).read_bytes()
    d = zstandard.ZstdCompressionDict(data)
    if d.dict_id() != dict_id:
        raise RuntimeError(f"{filename} holds dictionary {d.dict_id()}, expected {dict_id}")
    # Digest it for compression once; otherwise every compress() call loads it again.
    d.precompute_compress(level=_LEVEL)
    return d


class _Contexts(threading.local):
    def __init__(self) -> None:
        self.compressors: dict[int, zstandard.ZstdCompressor] = {}
        self.decompressors: dict[int, zstandard.ZstdDecompressor] = {}


_contexts = _Contexts()


def _compressor(dict_id: int) -> zstandard.ZstdCompressor:
    c = _contexts.compressors.get(dict_id)
    if c is None:
        d = _dictionary(dict_id) if dict_id else None
        c = zstandard.ZstdCompressor(
            level=_LEVEL, dict_data=d, write_checksum=False, write_content_size=True
        )
        _contexts.compressors[dict_id] = c
    return c


def _decompressor(dict_id: int) -> zstandard.ZstdDecompressor:
    d = _contexts.decompressors.get(dict_id)
    if d is None:
        d = zstandard.ZstdDecompressor(dict_data=_dictionary(dict_id) if dict_id else None)
        _contexts.decompressors[dict_id] = d
    return d


def compress(app: str, data: bytes) -> bytes:
    """``data`` as one zstd frame, with ``app``'s current dictionary when it has one."""
    return _compressor(_CURRENT.get(app, 0)).compress(data)


def decompress(blob: bytes) -> bytes:
    """Inverse of :func:`compress`, whichever dictionary the frame names.

    Raises:
        ValueError: not a zstd frame of ours (damaged, or a dictionary id never shipped).
    """
    try:
        dict_id = zstandard.get_frame_parameters(blob).dict_id
        if dict_id and dict_id not in DICTIONARIES:
            raise ValueError(f"unknown compression dictionary {dict_id}")
        return _decompressor(dict_id).decompress(blob)
    except zstandard.ZstdError as exc:
        raise ValueError(f"damaged compressed body: {exc}") from None
