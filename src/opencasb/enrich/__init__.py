"""Enrichment of activities from local data: place, network owner, IP tags and client.

Everything comes from data installed with packages (the ``geoip2fast`` country+ASN file,
``ua-parser``'s rules, a country-centroid table) or from files the user configures (MaxMind
``.mmdb`` files, IP range lists); nothing is downloaded at run time. Start at
:class:`Enricher`.
"""

from opencasb.enrich.enricher import (
    DEFAULT_CACHE_SIZE,
    ENRICHMENT_VERSION,
    Enricher,
    EnricherSpec,
    Enrichment,
)
from opencasb.enrich.geodb import GeoDatabase, GeoHit, builtin_database
from opencasb.enrich.ipnum import parse_ip
from opencasb.enrich.iptags import (
    KNOWN_TAGS,
    IpRange,
    IpTagFileError,
    IpTagMatcher,
    load_ip_ranges,
    normalize_tag,
    parse_ip_range,
    parse_ip_ranges,
)
from opencasb.enrich.useragent import UserAgentInfo, parse_user_agent

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "ENRICHMENT_VERSION",
    "KNOWN_TAGS",
    "Enricher",
    "EnricherSpec",
    "Enrichment",
    "GeoDatabase",
    "GeoHit",
    "IpRange",
    "IpTagFileError",
    "IpTagMatcher",
    "UserAgentInfo",
    "builtin_database",
    "load_ip_ranges",
    "normalize_tag",
    "parse_ip",
    "parse_ip_range",
    "parse_ip_ranges",
    "parse_user_agent",
]
