"""The user's own MaxMind databases (GeoIP2/GeoLite2 City and ASN ``.mmdb`` files).

Configured by path (settings ``geoip_city_mmdb`` and ``geoip_asn_mmdb``); read with the
``maxminddb`` package, memory-mapped. OpenCASB never downloads them: the user keeps them
current (MaxMind's ``geoipupdate``). When configured they win over the built-in database for
the fields they have: city and coordinates from City, the AS number from ASN.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

from opencasb.errors import ConfigError

__all__ = ["AsnRecord", "CityRecord", "MaxMindAsn", "MaxMindCity"]


@dataclass(frozen=True, slots=True)
class CityRecord:
    """The City database's answer. ``lat``/``lon`` are None when it has no location."""

    country_code: str | None
    country: str | None
    region: str | None
    city: str | None
    lat: float | None
    lon: float | None
    accuracy_km: int | None


@dataclass(frozen=True, slots=True)
class AsnRecord:
    asn: int | None
    as_org: str | None


def _open(path: Path, kind: str, setting: str, accept: tuple[str, ...]) -> maxminddb.Reader:
    try:
        reader = maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
    except FileNotFoundError:
        raise ConfigError(
            f"the MaxMind {kind} database {path} does not exist",
            fix=f"correct the path in the setting {setting} or remove the setting",
            code="mmdb_missing",
        ) from None
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise ConfigError(
            f"{path} is not a readable MaxMind database: {exc}",
            fix=f"download the {kind} database again, or remove the setting {setting}",
            code="mmdb_invalid",
        ) from None
    db_type = str(reader.metadata().database_type)
    if not any(word.lower() in db_type.lower() for word in accept):
        reader.close()
        raise ConfigError(
            f"{path} holds {db_type} data, not {kind} data",
            fix=f"point {setting} at a GeoIP2 or GeoLite2 {kind} .mmdb file",
            code="mmdb_wrong_kind",
        )
    return reader


def _get(reader: maxminddb.Reader, ip: tuple[int, int]) -> dict[str, Any] | None:
    addr = ipaddress.IPv4Address(ip[1]) if ip[0] == 4 else ipaddress.IPv6Address(ip[1])
    try:
        record = reader.get(addr)
    except ValueError:  # an IPv6 address in an IPv4-only database
        return None
    return record if isinstance(record, dict) else None


def _name(obj: Any) -> str | None:
    if isinstance(obj, dict):
        names = obj.get("names")
        if isinstance(names, dict) and isinstance(names.get("en"), str):
            return str(names["en"])
    return None


class MaxMindCity:
    """A GeoIP2/GeoLite2 City (or Country) database.

    Raises:
        ConfigError: the file is missing, unreadable or not a City/Country database.
    """

    def __init__(self, path: Path, *, setting: str = "geoip_city_mmdb") -> None:
        self.path = path
        self._reader = _open(path, "City", setting, ("City", "Country"))

    def close(self) -> None:
        self._reader.close()

    def lookup(self, ip: tuple[int, int]) -> CityRecord | None:
        rec = _get(self._reader, ip)
        if rec is None:
            return None
        country = rec.get("country") or rec.get("registered_country") or {}
        loc = rec.get("location") or {}
        subdivisions = rec.get("subdivisions") or [{}]
        lat, lon = loc.get("latitude"), loc.get("longitude")
        code = country.get("iso_code") if isinstance(country, dict) else None
        return CityRecord(
            country_code=str(code) if code else None,
            country=_name(country),
            region=_name(subdivisions[0]),
            city=_name(rec.get("city")),
            lat=float(lat) if isinstance(lat, int | float) else None,
            lon=float(lon) if isinstance(lon, int | float) else None,
            accuracy_km=loc.get("accuracy_radius") if isinstance(loc, dict) else None,
        )


class MaxMindAsn:
    """A GeoIP2/GeoLite2 ASN database.

    Raises:
        ConfigError: the file is missing, unreadable or not an ASN database.
    """

    def __init__(self, path: Path, *, setting: str = "geoip_asn_mmdb") -> None:
        self.path = path
        self._reader = _open(path, "ASN", setting, ("ASN",))

    def close(self) -> None:
        self._reader.close()

    def lookup(self, ip: tuple[int, int]) -> AsnRecord | None:
        rec = _get(self._reader, ip)
        if rec is None:
            return None
        number = rec.get("autonomous_system_number")
        org = rec.get("autonomous_system_organization")
        return AsnRecord(
            asn=number if isinstance(number, int) else None,
            as_org=str(org) if isinstance(org, str) and org else None,
        )
