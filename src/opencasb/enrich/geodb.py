"""The built-in country and AS-organisation database: the data file ``geoip2fast`` ships.

The package ``geoip2fast`` installs ``geoip2fast-asn-ipv6.dat.gz`` (MaxMind GeoLite2 country
and ASN data for IPv4 and IPv6, as a gzipped pickle of sorted network lists; its date is in
:attr:`GeoDatabase.source`). We read that file ourselves instead of using the package's
``GeoIP2Fast`` class: the class keeps the loaded database in module globals (one database per
process), sets ``PYTHONWARNINGS`` for the whole process on import, and can download updates.
Nothing here touches the network. The file's ASN part carries the AS organisation's name but
not its number, so :attr:`GeoHit.asn` is never known from this database.

The file is a pickle shipped inside an installed package: it is trusted exactly as much as
that package's code is.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from opencasb.errors import ConfigError

__all__ = ["GeoDatabase", "GeoHit", "builtin_database", "builtin_database_path"]

_DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"
_V4_LIMIT = 1 << 32
_PRIVATE_SLOTS = 16  # the file's first 16 "countries" are reserved and private blocks


@dataclass(frozen=True, slots=True)
class GeoHit:
    """What the database knows of one address. ``country_code`` is None for reserved space."""

    country_code: str | None
    country: str | None
    as_org: str | None
    reserved: bool = False


@dataclass(slots=True)
class _Table:
    """Sorted, non-overlapping networks of one address family: ``[starts[i], ends[i]]``."""

    starts: list[int] | array[int]
    ends: list[int] | array[int]
    values: array[int]  # index into the names list

    def find(self, n: int) -> int:
        i = bisect_right(self.starts, n) - 1
        if i >= 0 and n <= self.ends[i]:
            return self.values[i]
        return -1


def builtin_database_path() -> Path:
    """Where the installed ``geoip2fast`` package keeps its country+ASN file.

    Found without importing the package (its import has process-wide side effects).

    Raises:
        ConfigError: the package or its data file is not installed.
    """
    spec = importlib.util.find_spec("geoip2fast")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc) / _DATA_FILE
        if path.is_file():
            return path
    raise ConfigError(
        "the built-in GeoIP database (geoip2fast) is not installed",
        fix="reinstall OpenCASB with its dependencies (pip install opencasb)",
        code="geoip_missing",
    )


class GeoDatabase:
    """Country and AS-organisation lookups over the ``geoip2fast`` data file.

    Loading takes about a second and holds the networks in compact arrays; share one instance
    per process (:func:`builtin_database`). Lookups are thread-safe (read-only).
    """

    def __init__(self, path: Path) -> None:
        try:
            with gzip.open(path, "rb") as fh:
                version, info, _total, tables = pickle.load(fh)  # package data, see above
        except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
            raise ConfigError(
                f"cannot read the GeoIP database {path}: {exc}",
                fix="reinstall the geoip2fast package",
                code="geoip_unreadable",
            ) from None
        if version not in (120, 121) or not (info.get("country") and info.get("asn")):
            raise ConfigError(
                f"{path} is not a geoip2fast country+ASN file (version {version})",
                fix="reinstall the geoip2fast package",
                code="geoip_unreadable",
            )
        (_idx, _idx_asn, country_names, asn_names, firsts, firsts_asn, ids, ids_asn, lens,
         lens_asn) = tables  # fmt: skip
        self.source: str = str(info.get("info", ""))
        self.path = path
        self._countries: list[tuple[str | None, str, bool]] = []
        for slot, item in enumerate(country_names):
            code, _, name = str(item).partition(":")
            private = slot < _PRIVATE_SLOTS
            self._countries.append((None if private else code, name, private))
        self._as_orgs: list[str | None] = [None if n == "<unknown>" else str(n) for n in asn_names]
        self._country = _split(firsts, lens, ids)
        self._asn = _split(firsts_asn, lens_asn, ids_asn)

    def lookup(self, ip: tuple[int, int]) -> GeoHit | None:
        """What the database says of ``ip`` (``(version, int)``), or None if it has no entry."""
        version, n = ip
        c_slot = self._country[version].find(n)
        a_slot = self._asn[version].find(n)
        if c_slot < 0 and a_slot < 0:
            return None
        as_org = self._as_orgs[a_slot] if a_slot >= 0 else None
        if c_slot < 0:
            return GeoHit(None, None, as_org)
        code, name, private = self._countries[c_slot]
        return GeoHit(code, None if private else name, as_org, private)

    def country_name(self, code: str) -> str | None:
        """The database's English name of the ISO country ``code``, if it lists the country."""
        for c, name, _ in self._countries:
            if c == code:
                return name
        return None

    def country_codes(self) -> set[str]:
        """Every country code the database can answer."""
        return {c for c, _, _ in self._countries if c is not None and c != "99"}

    def spans(self, version: int, first: int, last: int) -> Iterator[tuple[int, int, str | None]]:
        """The country of every part of ``[first, last]``, as ``(start, end, code)`` pieces.

        Parts the database has no network for come out with code None; reserved space comes
        out as ``"--"``. For checking that a whole network lies in one country.
        """
        table = self._country[version]
        i = max(bisect_right(table.starts, first) - 1, 0)
        pos = first
        while pos <= last:
            if i < len(table.starts) and table.starts[i] <= pos <= table.ends[i]:
                end = min(table.ends[i], last)
                code, _, private = self._countries[table.values[i]]
                yield pos, end, "--" if private else code
                pos, i = end + 1, i + 1
            elif i < len(table.starts) and table.starts[i] > pos:
                end = min(table.starts[i] - 1, last)
                yield pos, end, None
                pos = end + 1
            elif i < len(table.starts):
                i += 1
            else:
                yield pos, last, None
                pos = last + 1


def _split(firsts: Any, lens: Any, ids: Any) -> dict[int, _Table]:
    """Flatten the file's chunked lists into one table per address family."""
    bounds: dict[int, tuple[list[int], list[int], array[int]]] = {
        4: ([], [], array("I")),
        6: ([], [], array("I")),
    }
    for chunk_firsts, chunk_lens, chunk_ids in zip(firsts, lens, ids, strict=True):
        for start, length, value in zip(chunk_firsts, chunk_lens, chunk_ids, strict=True):
            version, bits = (4, 32) if start < _V4_LIMIT else (6, 128)
            starts, ends, values = bounds[version]
            starts.append(start)
            ends.append(start + (1 << (bits - length)) - 1)
            values.append(value)
    s4, e4, v4 = bounds[4]
    s6, e6, v6 = bounds[6]
    # IPv4 fits machine words: arrays hold it in a fifth of the memory of int objects.
    return {4: _Table(array("I", s4), array("I", e4), v4), 6: _Table(s6, e6, v6)}


@cache
def builtin_database() -> GeoDatabase:
    """The process's one instance of the built-in database (loaded on first use)."""
    return GeoDatabase(builtin_database_path())
