"""One activity in, its enrichment out: place, network owner, IP tags and client.

Precedence, field by field group:

* **Place**: the app's own geolocation when the record has a country (Okta's
  ``geographicalContext``: city and coordinates); else the user's MaxMind City file when
  configured; else the built-in country database. Coordinates are the city's when known,
  otherwise the country's centroid with ``coarse`` set: a distance from a centroid is a guess
  at the scale of the country, and a detector must widen its tolerance for it.
* **Network owner**: the app's own AS number and ISP when present; else the MaxMind ASN file;
  else the built-in database (which knows the AS organisation but not its number).
* **IP tags**: the user's ranges (:mod:`opencasb.enrich.iptags`).
* **Client**: the user-agent string parsed by ``ua-parser``.

:meth:`Enricher.enrich` is pure: the same activity gives the same enrichment for as long as
the databases and the IP ranges stay the same. Results per address and per user-agent string
are cached (bounded, least recently used); :meth:`Enricher.set_ip_ranges` clears them.

The enrichment is computed once, at ingest, and stored with the activity
(:mod:`opencasb.store.enrichment`); :data:`ENRICHMENT_VERSION` is stored with it, so that
``opencasb enrich --all`` knows which stored rows an older enricher wrote. Whatever the
store normalises in an activity (the country code upper-cased) is normalised here too, so
that an activity enriched before it is stored and the same activity read back enrich alike.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencasb.enrich.centroids import centroid
from opencasb.enrich.geodb import GeoDatabase, builtin_database
from opencasb.enrich.ipnum import parse_ip
from opencasb.enrich.iptags import IpRange, IpTagMatcher
from opencasb.enrich.mmdb import MaxMindAsn, MaxMindCity
from opencasb.enrich.useragent import UserAgentInfo, parse_user_agent
from opencasb.model.activity import Activity, Geo

if TYPE_CHECKING:
    from opencasb.config import Settings

__all__ = ["DEFAULT_CACHE_SIZE", "ENRICHMENT_VERSION", "Enricher", "EnricherSpec", "Enrichment"]

DEFAULT_CACHE_SIZE = 50_000

ENRICHMENT_VERSION = 1
"""Bump when :meth:`Enricher.enrich` gives a different result for the same activity and the
same data files (a new field, a changed precedence): stored rows of an older version are
enriched again by ``opencasb enrich --all``."""


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What enrichment adds to one activity. Every field may be None (unknown).

    ``geo_source`` is ``app``, ``mmdb`` or ``builtin``: where the place came from. ``coarse``
    is True when ``lat``/``lon`` are the country's centroid rather than the city's.
    ``ip_reserved`` is True for private, loopback and other non-routable addresses, which
    have no place. ``device_type`` is ``desktop``, ``mobile``, ``tablet``, ``bot`` or
    ``other``.
    """

    country_code: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    coarse: bool = False
    geo_source: str | None = None
    asn: int | None = None
    isp: str | None = None
    ip_tags: tuple[str, ...] = ()
    ip_reserved: bool = False
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``ip_tags`` as a list)."""
        out = asdict(self)
        out["ip_tags"] = list(self.ip_tags)
        return out


@dataclass(frozen=True, slots=True)
class _IpFacts:
    """Everything known of one address, independent of the activity that carries it."""

    country_code: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    coarse: bool = False
    geo_source: str | None = None
    asn: int | None = None
    isp: str | None = None
    tags: tuple[str, ...] = ()
    reserved: bool = False


@dataclass(frozen=True, slots=True)
class EnricherSpec:
    """What an :class:`Enricher` is made of, as plain picklable data (an ingest worker
    process builds its own enricher from it). The built-in database is implied."""

    city_mmdb: str | None = None
    asn_mmdb: str | None = None
    ip_ranges: tuple[IpRange, ...] = ()

    def build(self) -> Enricher:
        """The enricher (opens the MaxMind files; raises ConfigError as :class:`MaxMindCity`)."""
        city = MaxMindCity(Path(self.city_mmdb)) if self.city_mmdb else None
        asn = MaxMindAsn(Path(self.asn_mmdb)) if self.asn_mmdb else None
        return Enricher(city=city, asn=asn, ip_ranges=self.ip_ranges)


_NO_IP = _IpFacts()
_NO_CLIENT = parse_user_agent(None)


class Enricher:
    """Enriches activities from local data only (never the network).

    Args:
        geo: the built-in database; None loads the shared one on first use.
        city, asn: the user's MaxMind City and ASN readers, when configured.
        ip_ranges: the user's tagged IP ranges.
        cache_size: entries in each of the two caches (addresses, user-agent strings).
    """

    def __init__(
        self,
        *,
        geo: GeoDatabase | None = None,
        city: MaxMindCity | None = None,
        asn: MaxMindAsn | None = None,
        ip_ranges: Iterable[IpRange] = (),
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._geo = geo
        self._city = city
        self._asn = asn
        self._tags = IpTagMatcher(ip_ranges)
        self._tags_cached = lru_cache(maxsize=cache_size)(self._tags_of_text)
        self.cache_size = cache_size
        self._ip_cached = lru_cache(maxsize=cache_size)(self._ip_facts)
        self._ua_cached = lru_cache(maxsize=cache_size)(parse_user_agent)

    @classmethod
    def from_settings(cls, settings: Settings, ip_ranges: Iterable[IpRange] = ()) -> Enricher:
        """An enricher with the MaxMind files the settings name (if any).

        Raises:
            ConfigError: a configured MaxMind file is missing, unreadable or of the wrong kind.
        """
        return EnricherSpec(
            str(settings.geoip_city_mmdb) if settings.geoip_city_mmdb else None,
            str(settings.geoip_asn_mmdb) if settings.geoip_asn_mmdb else None,
            tuple(ip_ranges),
        ).build()

    def fingerprint(self) -> str:
        """What the stored enrichment depends on: :data:`ENRICHMENT_VERSION`, the MaxMind
        files (path, size, modification time) and the tagged ranges. Equal fingerprints
        enrich every activity alike; ``opencasb enrich --all`` starts over when it changes."""
        files: list[list[object] | None] = []
        for reader in (self._city, self._asn):
            if reader is None:
                files.append(None)
                continue
            try:
                st = Path(reader.path).stat()
                files.append([str(reader.path), st.st_size, st.st_mtime_ns])
            except OSError:
                files.append([str(reader.path), None, None])
        ranges = sorted((r.network, r.tag) for r in self._tags.ranges)
        text = json.dumps([ENRICHMENT_VERSION, files, ranges], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def spec(self) -> EnricherSpec:
        """What this enricher is made of (a custom ``geo`` database is not part of it)."""
        return EnricherSpec(
            str(self._city.path) if self._city is not None else None,
            str(self._asn.path) if self._asn is not None else None,
            self._tags.ranges,
        )

    @property
    def ip_ranges(self) -> tuple[IpRange, ...]:
        return self._tags.ranges

    def with_ip_ranges(self, ranges: Iterable[IpRange]) -> Enricher:
        """A new enricher with these ranges, sharing this one's databases (not its caches).

        Swapping in a new object is what a process with concurrent readers does when the
        ranges change: :meth:`set_ip_ranges` would race with a lookup in flight, which could
        cache an address's tags from the old ranges after the cache was cleared.
        """
        return Enricher(
            geo=self._geo,
            city=self._city,
            asn=self._asn,
            ip_ranges=ranges,
            cache_size=self.cache_size,
        )

    def set_ip_ranges(self, ranges: Iterable[IpRange]) -> None:
        """Replace the tagged ranges (after an import or an edit); clears the address cache."""
        self._tags = IpTagMatcher(ranges)
        self._ip_cached.cache_clear()
        self._tags_cached.cache_clear()

    def clear_caches(self) -> None:
        self._ip_cached.cache_clear()
        self._ua_cached.cache_clear()
        self._tags_cached.cache_clear()

    def ip_tags(self, ip: str | None) -> tuple[str, ...]:
        """The tags of ``ip`` from the current ranges (sorted; cached per address): what
        :meth:`enrich` puts in ``ip_tags``."""
        return self._tags_cached(ip) if ip else ()

    def _tags_of_text(self, text: str) -> tuple[str, ...]:
        ip = parse_ip(text)
        return tuple(sorted(self._tags.tags(ip))) if ip is not None else ()

    def cache_info(self) -> dict[str, Any]:
        """Hits, misses and sizes of both caches (for the benchmark and diagnostics)."""
        return {"ip": self._ip_cached.cache_info(), "user_agent": self._ua_cached.cache_info()}

    def enrich(self, activity: Activity) -> Enrichment:
        """The enrichment of ``activity`` (see the module docstring for the precedence)."""
        return self.enrich_fields(
            ip=activity.src_ip,
            user_agent=activity.user_agent,
            geo=activity.geo,
            asn=activity.asn,
            isp=activity.isp,
        )

    def enrich_fields(
        self,
        *,
        ip: str | None,
        user_agent: str | None = None,
        geo: Geo | None = None,
        asn: int | None = None,
        isp: str | None = None,
    ) -> Enrichment:
        """The same as :meth:`enrich`, from the fields it reads."""
        facts = self._ip_cached(ip) if ip else _NO_IP
        client: UserAgentInfo = (
            self._ua_cached(user_agent) if user_agent else parse_user_agent(None)
        )
        if geo is not None and (geo.country_code or geo.country):
            place = _place_from_app(geo)
        else:
            place = facts
        return Enrichment(
            country_code=place.country_code,
            country=place.country,
            region=place.region,
            city=place.city,
            lat=place.lat,
            lon=place.lon,
            coarse=place.coarse,
            geo_source=place.geo_source,
            asn=asn if asn is not None else facts.asn,
            isp=isp or facts.isp,
            ip_tags=facts.tags,
            ip_reserved=facts.reserved,
            browser=client.browser,
            browser_version=client.browser_version,
            os=client.os,
            os_version=client.os_version,
            device_type=client.device_type,
        )

    # -- per address ---------------------------------------------------------------------

    def _database(self) -> GeoDatabase:
        if self._geo is None:
            self._geo = builtin_database()
        return self._geo

    def _ip_facts(self, text: str) -> _IpFacts:
        ip = parse_ip(text)
        if ip is None:
            return _NO_IP
        tags = tuple(sorted(self._tags.tags(ip)))
        hit = self._database().lookup(ip)
        reserved = hit.reserved if hit is not None else not _is_global(ip)
        code = hit.country_code if hit is not None else None
        country = hit.country if hit is not None else None
        region = city = None
        lat = lon = None
        coarse = False
        source = "builtin" if code else None
        if self._city is not None:
            rec = self._city.lookup(ip)
            if rec is not None and rec.country_code:
                code, country, region, city = rec.country_code, rec.country, rec.region, rec.city
                source = "mmdb"
                if rec.city and rec.lat is not None and rec.lon is not None:
                    lat, lon = rec.lat, rec.lon
        if code and lat is None:
            point = centroid(code)
            if point is not None:
                lat, lon = point
                coarse = True
        asn: int | None = None
        isp = hit.as_org if hit is not None else None
        if self._asn is not None:
            arec = self._asn.lookup(ip)
            if arec is not None:
                asn = arec.asn
                isp = arec.as_org or isp
        return _IpFacts(
            country_code=code,
            country=country,
            region=region,
            city=city,
            lat=lat,
            lon=lon,
            coarse=coarse,
            geo_source=source,
            asn=asn,
            isp=isp,
            tags=tags,
            reserved=reserved,
        )


def _is_global(ip: tuple[int, int]) -> bool:
    """False for documentation, private and other special-purpose space the database lacks."""
    addr = ipaddress.IPv4Address(ip[1]) if ip[0] == 4 else ipaddress.IPv6Address(ip[1])
    return addr.is_global


def _place_from_app(geo: Geo) -> _IpFacts:
    """The app's own geolocation; the country's centroid (coarse) if it has no coordinates."""
    # The code upper-cased, as the store keeps it (store.codec.activity_head): the same
    # activity enriches alike before it is stored and after it is read back.
    code = geo.country_code.upper() if geo.country_code else None
    lat, lon, coarse = geo.lat, geo.lon, False
    if lat is None or lon is None:
        point = centroid(code)
        lat, lon = point if point is not None else (None, None)
        coarse = point is not None
    else:
        lat, lon = float(lat), float(lon)  # as the store reads them back
    return _IpFacts(
        country_code=code,
        country=geo.country,
        region=geo.region,
        city=geo.city,
        lat=lat,
        lon=lon,
        coarse=coarse,
        geo_source="app",
    )
