"""Every network the sandbox draws addresses from lies, whole, in the country the generator
says it is in, according to the GeoIP database OpenCASB ships; and the demo's IP lists hold
exactly the addresses the scenarios use for Tor and the org uses for its VPN and offices."""

from __future__ import annotations

import ipaddress

import pytest

from opencasb.enrich import builtin_database, load_ip_ranges, parse_ip
from opencasb.enrich.geodb import GeoDatabase
from opencasb.enrich.iptags import IpTagMatcher
from opencasb.sandbox.demo_lists import demo_list_path
from opencasb.sandbox.okta.gen_admin import ATTACKERS, attacker
from opencasb.sandbox.org import CITIES, ISPS, build_org
from opencasb.sandbox.org.build import _PROFILES
from opencasb.sandbox.org.places import CITY_BY_KEY, EGRESS_NETS
from opencasb.sandbox.scenarios.kit import FOREIGN, TOR, foreign_loc

# The country names the generators write, as ISO codes.
_NAME_TO_CODE = (
    {c.country_name: c.country for c in CITIES}
    | {f.country_name: f.country for f in (*FOREIGN, TOR)}
    | {"Finland": "FI"}
)


@pytest.fixture(scope="module")
def db() -> GeoDatabase:
    return builtin_database()


def _prefix_network(prefix: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``a.b`` -> a.b.0.0/16, ``a.b.c`` -> a.b.c.0/24, ``2601:40`` -> 2601:40::/32."""
    if ":" in prefix:
        return ipaddress.ip_network(f"{prefix}::/32")
    parts = prefix.split(".")
    return ipaddress.ip_network(".".join(parts + ["0"] * (4 - len(parts))) + f"/{8 * len(parts)}")


def _countries(
    db: GeoDatabase, net: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> set[str | None]:
    first, last = int(net.network_address), int(net.broadcast_address)
    return {code for _, _, code in db.spans(net.version, first, last)}


def _networks() -> list[tuple[str, str, str]]:
    """(what, network prefix or CIDR, expected ISO country) for every network the sandbox uses."""
    out = []
    for city in CITIES:
        for isp, net in city.nets:
            out.append((f"{city.key} {isp}", net, city.country))
    countries_of_isp = {isp: c.country for c in CITIES for isp, _ in c.nets}
    for key, isp in ISPS.items():
        if isp.v6:
            out.append((f"{key} IPv6", isp.v6, countries_of_isp[key]))
    for f in (*FOREIGN, TOR):
        out.append((f"foreign {f.city}", f.net, f.country))
    for row in ATTACKERS:
        out.append((f"attacker {row[5]}", row[0], _NAME_TO_CODE[row[7]]))
    for country, net in EGRESS_NETS.items():
        out.append((f"egress {country}", net, country))
    return out


@pytest.mark.parametrize(("what", "prefix", "country"), _networks(), ids=lambda x: str(x))
def test_every_sandbox_network_lies_wholly_in_its_country(
    db: GeoDatabase, what: str, prefix: str, country: str
) -> None:
    assert _countries(db, _prefix_network(prefix)) == {country}, what


def test_every_isp_of_a_city_serves_only_that_country() -> None:
    # An ISP's IPv6 /32 is checked against one country: ISPs must not span countries.
    seen: dict[str, str] = {}
    for city in CITIES:
        for isp, _ in city.nets:
            assert seen.setdefault(isp, city.country) == city.country


@pytest.mark.parametrize("seed", range(len(_PROFILES)))
def test_office_and_vpn_egress_geolocate_to_their_city(db: GeoDatabase, seed: int) -> None:
    org = build_org(seed, 60)
    for office in org.offices:
        assert _countries(db, ipaddress.ip_network(office.egress)) == {office.city.country}
    for cidr in org.vpn_egress:
        assert _countries(db, ipaddress.ip_network(cidr)) == {org.vpn_city.country}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_people_home_addresses_geolocate_to_their_home(db: GeoDatabase, seed: int) -> None:
    org = build_org(seed, 300)
    for p in org.people:
        hit = db.lookup(parse_ip(p.home_ip))  # type: ignore[arg-type]
        assert hit is not None and hit.country_code == p.city.country, p.home_ip


def test_generated_okta_and_o365_addresses_geolocate_as_the_records_say(db: GeoDatabase) -> None:
    from opencasb.sandbox.office365.gen_tenant import build_tenant
    from opencasb.sandbox.office365.generate import tenant_for

    org = build_org(5, 400)
    tt = build_tenant(org, tenant_for(org))
    v6 = [p for p in tt.people if p.home6]
    assert v6, "some home lines have IPv6"
    for p in v6:
        hit = db.lookup(parse_ip(p.home6))  # type: ignore[arg-type]
        assert hit is not None and hit.country_code == p.person.city.country, p.home6


def test_attackers_and_foreign_places_geolocate_as_their_records_say(db: GeoDatabase) -> None:
    for r in range(0, 5000, 7):
        _, loc = attacker(r)
        hit = db.lookup(parse_ip(loc.ip))  # type: ignore[arg-type]
        assert loc.geo is not None
        assert hit is not None and hit.country_code == _NAME_TO_CODE[loc.geo["country"]], loc.ip
    for f in (*FOREIGN, TOR):
        for r in range(0, 1 << 16, 997):
            hit = db.lookup(parse_ip(foreign_loc(f, r).ip))  # type: ignore[arg-type]
            assert hit is not None and hit.country_code == f.country


def test_demo_lists_cover_the_scenarios_tor_and_the_orgs_vpn_and_offices() -> None:
    tor = IpTagMatcher(load_ip_ranges(demo_list_path("tor")))
    vpn = IpTagMatcher(load_ip_ranges(demo_list_path("vpn")))
    corp = IpTagMatcher(load_ip_ranges(demo_list_path("corporate")))
    for r in range(0, 1 << 16, 331):
        assert tor.tags(parse_ip(foreign_loc(TOR, r, proxy=True).ip)) == {"tor"}
    tor_attackers = [i for i, row in enumerate(ATTACKERS) if row[1] == TOR.asn]
    assert tor_attackers
    for r in range(tor_attackers[0], 50_000, len(ATTACKERS)):
        _, loc = attacker(r)
        assert tor.tags(parse_ip(loc.ip)) == {"tor"}
        assert loc.security["isProxy"] is True
    # Everyday and other attacking addresses are not on the Tor list.
    for r in range(0, 3000, 13):
        _, loc = attacker(r)
        if loc.security["isProxy"] is False:
            assert not tor.tags(parse_ip(loc.ip))
    for seed in range(len(_PROFILES)):
        org = build_org(seed, 60)
        for cidr in org.vpn_egress:
            net = ipaddress.ip_network(cidr)
            assert vpn.tags(parse_ip(str(net[1]))) == {"vpn"}
            assert not corp.tags(parse_ip(str(net[1])))
        for office in org.offices:
            net = ipaddress.ip_network(office.egress)
            assert corp.tags(parse_ip(str(net[1]))) == {"corporate"}
        for p in org.people:
            assert not (vpn.tags(parse_ip(p.home_ip)) or corp.tags(parse_ip(p.home_ip)))
    assert CITY_BY_KEY  # the cities the profiles name exist
