"""The enricher: built-in database, the app's own place, MaxMind files, UA parsing, caches."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from opencasb.config import Settings
from opencasb.enrich import (
    Enricher,
    builtin_database,
    parse_ip,
    parse_ip_range,
    parse_user_agent,
)
from opencasb.enrich.centroids import centroid, centroids
from opencasb.enrich.geodb import GeoDatabase
from opencasb.enrich.mmdb import MaxMindAsn, MaxMindCity
from opencasb.errors import ConfigError
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)


def _activity(**kw: object) -> Activity:
    base: dict[str, object] = {
        "time": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        "app": "okta",
        "source_event_id": "e1",
        "activity_type": "user.session.start",
        "category": Category.LOGON,
        "action": "sign in",
        "outcome": Outcome.SUCCESS,
        "actor": Actor(id="u1"),
        "raw": {},
    }
    base.update(kw)
    return Activity(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db() -> GeoDatabase:
    return builtin_database()


def test_builtin_database_knows_countries_and_as_orgs_for_both_families(db: GeoDatabase) -> None:
    hit = db.lookup(parse_ip("8.8.8.8"))  # type: ignore[arg-type]
    assert hit is not None and (hit.country_code, hit.as_org) == ("US", "GOOGLE")
    v6 = db.lookup(parse_ip("2003:c1:1234::1"))  # type: ignore[arg-type]
    assert v6 is not None and v6.country_code == "DE" and v6.as_org == "Deutsche Telekom AG"
    private = db.lookup(parse_ip("10.1.2.3"))  # type: ignore[arg-type]
    assert private is not None and private.reserved and private.country_code is None
    assert "GeoLite2" in db.source


def test_loading_the_builtin_database_changes_no_process_state() -> None:
    # geoip2fast's own module sets PYTHONWARNINGS on import; our reader must not import it.
    code = (
        "import os,sys; from opencasb.enrich import builtin_database; builtin_database(); "
        "print(os.environ.get('PYTHONWARNINGS'), 'geoip2fast.geoip2fast' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["None", "False"]


def test_every_country_of_the_database_has_a_centroid(db: GeoDatabase) -> None:
    missing = db.country_codes() - set(centroids())
    # Only the data's continents posing as countries ("Europe", "Asia") may lack one.
    assert missing <= {"EU", "ASIA", "AP"}, missing
    lat, lon = centroid("de")  # type: ignore[misc]
    assert 47 < lat < 55 and 5 < lon < 15


def test_builtin_place_is_the_country_centroid_flagged_coarse() -> None:
    e = Enricher().enrich(_activity(src_ip="91.13.4.5", user_agent=CHROME_MAC))
    assert (e.country_code, e.country, e.city, e.geo_source) == ("DE", "Germany", None, "builtin")
    assert e.coarse and (e.lat, e.lon) == centroid("DE")
    assert (e.asn, e.isp) == (None, "Deutsche Telekom AG")
    assert (e.browser, e.os, e.device_type) == ("Chrome", "Mac OS X", "desktop")


def test_the_apps_own_place_and_network_owner_win() -> None:
    geo = Geo(country="Germany", country_code="DE", city="Berlin", lat=52.517, lon=13.3889)
    a = _activity(src_ip="73.14.1.1", geo=geo, asn=3320, isp="deutsche telekom ag")
    e = Enricher().enrich(a)
    assert (e.city, e.lat, e.lon, e.coarse, e.geo_source) == (
        "Berlin",
        52.517,
        13.3889,
        False,
        "app",
    )
    assert (e.asn, e.isp) == (3320, "deutsche telekom ag")
    # The app names only a country: its centroid, coarse.
    only_country = Enricher().enrich(
        _activity(src_ip=None, geo=Geo(country="Japan", country_code="JP"))
    )
    assert only_country.coarse and (only_country.lat, only_country.lon) == centroid("JP")


def test_reserved_invalid_and_missing_addresses() -> None:
    enricher = Enricher()
    for ip in ("10.0.0.1", "198.51.100.7", "::1"):
        e = enricher.enrich(_activity(src_ip=ip))
        assert e.ip_reserved and e.country_code is None and e.lat is None, ip
    for ip in (None, "", "not-an-ip"):
        e = enricher.enrich(_activity(src_ip=ip))
        assert not e.ip_reserved and e.country_code is None


def test_ip_tags_and_replacing_the_ranges_clears_the_cache() -> None:
    enricher = Enricher(ip_ranges=[parse_ip_range("185.220.102.0/24", "tor")])
    a = _activity(src_ip="::ffff:185.220.102.9")
    assert enricher.enrich(a).ip_tags == ("tor",)
    enricher.set_ip_ranges(
        [
            parse_ip_range("185.220.0.0/16", "anonymous_proxy"),
            parse_ip_range("185.220.102.9", "tor"),
        ]
    )
    assert enricher.enrich(a).ip_tags == ("anonymous_proxy", "tor")


def test_caches_are_bounded_and_results_do_not_depend_on_them() -> None:
    enricher = Enricher(cache_size=8)
    ips = [f"73.14.{i}.1" for i in range(40)]
    first = [
        enricher.enrich(_activity(src_ip=ip, user_agent=f"curl/{i}")) for i, ip in enumerate(ips)
    ]
    info = enricher.cache_info()
    assert info["ip"].currsize == 8 and info["user_agent"].currsize == 8
    again = [
        enricher.enrich(_activity(src_ip=ip, user_agent=f"curl/{i}")) for i, ip in enumerate(ips)
    ]
    assert first == again
    enricher.clear_caches()
    assert enricher.cache_info()["ip"].currsize == 0


@pytest.mark.parametrize(
    ("ua", "browser", "os_", "kind"),
    [
        (CHROME_MAC, "Chrome", "Mac OS X", "desktop"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mobile Safari",
            "iOS",
            "mobile",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mobile Safari",
            "iOS",
            "tablet",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome Mobile",
            "Android",
            "mobile",
        ),
        ("python-requests/2.32.3", "Python Requests", None, "other"),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "Googlebot", None, "bot"),
        (
            "Microsoft SkyDriveSync 25.174.0907.0002 ship; Windows NT 10.0 (19045)",
            "Microsoft SkyDriveSync",
            "Windows",
            "desktop",
        ),
        ("", None, None, None),
    ],
)
def test_user_agents(ua: str, browser: str | None, os_: str | None, kind: str | None) -> None:
    info = parse_user_agent(ua)
    assert (info.browser, info.os, info.device_type) == (browser, os_, kind)


def test_sandbox_user_agents_all_parse_to_a_device_type() -> None:
    from opencasb.sandbox.org import build_org

    org = build_org(2, 200)
    kinds = {parse_user_agent(d.user_agent).device_type for p in org.people for d in p.devices}
    assert kinds <= {"desktop", "mobile", "tablet"} and "desktop" in kinds and "mobile" in kinds


# -- the user's own MaxMind files -------------------------------------------------------------


def _city_mmdb(path: Path) -> Path:
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City")
    w.insert_network(
        IPSet(["91.13.0.0/16"]),
        {
            "country": {"iso_code": "DE", "names": {"en": "Germany"}},
            "city": {"names": {"en": "Hamburg"}},
            "subdivisions": [{"names": {"en": "Hamburg"}}],
            "location": {"latitude": 53.55, "longitude": 9.99, "accuracy_radius": 20},
        },
    )
    w.insert_network(
        IPSet(["2a00:23c6::/32"]),
        {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}},
    )
    w.to_db_file(str(path))
    return path


def _asn_mmdb(path: Path) -> Path:
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN")
    w.insert_network(
        IPSet(["91.13.0.0/16"]),
        {"autonomous_system_number": 3320, "autonomous_system_organization": "Deutsche Telekom AG"},
    )
    w.to_db_file(str(path))
    return path


def test_maxmind_city_and_asn_files_win_over_the_builtin_database(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        geoip_city_mmdb=_city_mmdb(tmp_path / "city.mmdb"),
        geoip_asn_mmdb=_asn_mmdb(tmp_path / "asn.mmdb"),
    )
    enricher = Enricher.from_settings(settings)
    e = enricher.enrich(_activity(src_ip="91.13.200.1"))
    assert (e.country_code, e.city, e.region, e.lat, e.lon) == (
        "DE",
        "Hamburg",
        "Hamburg",
        53.55,
        9.99,
    )
    assert (e.coarse, e.geo_source, e.asn, e.isp) == (False, "mmdb", 3320, "Deutsche Telekom AG")
    # Country-only answer: the centroid, coarse; no ASN entry: the built-in AS organisation.
    gb = enricher.enrich(_activity(src_ip="2a00:23c6:1::1"))
    assert (gb.country_code, gb.city, gb.coarse, gb.geo_source) == ("GB", None, True, "mmdb")
    assert gb.asn is None and gb.isp == "British Telecommunications PLC"
    # Not in the user's files at all: the built-in database answers.
    us = enricher.enrich(_activity(src_ip="73.14.1.1"))
    assert (us.country_code, us.geo_source) == ("US", "builtin")


def test_maxmind_files_that_are_missing_broken_or_of_the_wrong_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as missing:
        MaxMindCity(tmp_path / "nope.mmdb")
    assert "geoip_city_mmdb" in missing.value.fix
    (tmp_path / "junk.mmdb").write_bytes(b"not a database")
    with pytest.raises(ConfigError, match="not a readable MaxMind database"):
        MaxMindAsn(tmp_path / "junk.mmdb")
    city = _city_mmdb(tmp_path / "city.mmdb")
    with pytest.raises(ConfigError, match="holds GeoLite2-City data, not ASN data"):
        MaxMindAsn(city)
    with pytest.raises(ConfigError):
        Enricher.from_settings(Settings(data_dir=tmp_path, geoip_asn_mmdb=tmp_path / "nope"))
