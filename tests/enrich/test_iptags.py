"""IP range tags: parsing, file import with every problem named, and the interval matcher."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencasb.enrich import (
    IpRange,
    IpTagFileError,
    IpTagMatcher,
    load_ip_ranges,
    normalize_tag,
    parse_ip,
    parse_ip_range,
)
from opencasb.errors import ConfigError


def test_parse_cidr_address_span_and_mapped_ipv6() -> None:
    r = parse_ip_range(" 203.0.113.0/28 ", "VPN", name=" Berlin ")
    assert (r.network, r.tag, r.version, r.name) == ("203.0.113.0/28", "vpn", 4, "Berlin")
    assert r.last - r.first == 15
    assert parse_ip_range("192.0.2.7", "tor").network == "192.0.2.7/32"
    span = parse_ip_range("192.0.2.10-192.0.2.20", "threat intel")
    assert (span.tag, span.last - span.first) == ("threat_intel", 10)
    assert parse_ip_range("2001:db8::/32", "cloud").tag == "cloud_provider"
    mapped = parse_ip_range("::ffff:198.51.100.0/120", "corporate")
    assert (mapped.version, mapped.network) == (4, "198.51.100.0/24")


@pytest.mark.parametrize(
    ("text", "tag", "says"),
    [
        ("10.0.0.5/24", "vpn", "host bits set: the network is 10.0.0.0/24"),
        ("10.0.0.0/33", "vpn", "is not a network"),
        ("banana", "vpn", "is not a network"),
        ("10.0.0.9-10.0.0.1", "vpn", "ends before it starts"),
        ("10.0.0.1-2001:db8::1", "vpn", "mixes an IPv4 and an IPv6"),
        ("10.0.0.1-x", "vpn", "'x' in '10.0.0.1-x' is not an IP address"),
        ("", "vpn", "empty"),
        ("10.0.0.0/8", "9lives", "is not a tag"),
        ("10.0.0.0/8", "", "is not a tag"),
    ],
)
def test_bad_ranges_say_what_is_wrong(text: str, tag: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        parse_ip_range(text, tag)
    assert says in str(info.value)


def test_tags_are_normalized_and_custom_labels_allowed() -> None:
    assert normalize_tag("Anonymous Proxy") == "anonymous_proxy"
    assert normalize_tag("TOR") == "tor"
    assert normalize_tag("partner-net") == "partner_net"


def test_file_in_both_shapes_with_comments_header_and_duplicates(tmp_path: Path) -> None:
    f = tmp_path / "ranges.csv"
    f.write_text(
        "\ufeffcidr,tag,name\n"
        "# offices\n"
        "198.51.100.0/28,corporate,HQ   # trailing comment\n"
        "\n"
        "198.51.100.0/28,corporate,HQ again\n"  # duplicate network+tag: dropped
        "185.220.102.0/24\n"  # no tag: the default
        '2001:db8::/48,vpn,"Berlin, DE"\n',
        encoding="utf-8",
    )
    ranges = load_ip_ranges(f, tag="tor")
    assert [(r.network, r.tag, r.name) for r in ranges] == [
        ("198.51.100.0/28", "corporate", "HQ"),
        ("185.220.102.0/24", "tor", ""),
        ("2001:db8::/48", "vpn", "Berlin, DE"),
    ]
    assert ranges[1].source == f"{f}:6"


def test_every_problem_of_a_file_is_reported_with_its_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("10.0.0.0/8,corporate\n10.0.0.1/8,corporate\nnope\n1.2.3.4,vpn,a,b\n1.2.3.5,!!\n")
    with pytest.raises(IpTagFileError) as info:
        load_ip_ranges(f)
    problems = info.value.problems
    assert [p.split(": ")[0] for p in problems] == [f"{f}:{n}" for n in (2, 3, 4, 5)]
    assert "host bits set" in problems[0]
    assert "no tag" in problems[1]
    assert "4 columns" in problems[2]
    assert "is not a tag" in problems[3]
    assert isinstance(info.value, ConfigError) and f"{f}:3" in str(info.value)


def test_unreadable_file_and_bad_default_tag_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_ip_ranges(tmp_path / "missing.txt", tag="vpn")
    (tmp_path / "ok.txt").write_text("10.0.0.0/8\n")
    with pytest.raises(ConfigError, match="is not a tag"):
        load_ip_ranges(tmp_path / "ok.txt", tag="?")
    (tmp_path / "latin1.txt").write_bytes(b"10.0.0.0/8,caf\xe9\n")
    with pytest.raises(IpTagFileError, match="not UTF-8"):
        load_ip_ranges(tmp_path / "latin1.txt")


def test_matcher_overlaps_nesting_ipv6_and_mapped_addresses() -> None:
    m = IpTagMatcher(
        [
            parse_ip_range("10.0.0.0/8", "corporate"),
            parse_ip_range("10.1.0.0/16", "vpn"),
            parse_ip_range("10.1.2.0/24", "vpn"),  # nested, same tag
            parse_ip_range("2001:db8::/32", "tor"),
            parse_ip_range("255.255.255.255", "threat_intel"),
        ]
    )
    assert m.tags(parse_ip("10.200.0.1")) == {"corporate"}
    assert m.tags(parse_ip("10.1.2.3")) == {"corporate", "vpn"}
    assert len(m.matching(parse_ip("10.1.2.3"))) == 3
    assert m.tags(parse_ip("10.1.3.3")) == {"corporate", "vpn"}
    assert m.tags(parse_ip("11.0.0.0")) == frozenset()
    assert m.tags(parse_ip("9.255.255.255")) == frozenset()
    assert m.tags(parse_ip("::ffff:10.0.0.1")) == {"corporate"}
    assert m.tags(parse_ip("2001:db8:ffff::1")) == {"tor"}
    assert m.tags(parse_ip("2001:db9::")) == frozenset()
    assert m.tags(parse_ip("255.255.255.255")) == {"threat_intel"}
    assert m.tags(None) == frozenset()
    # An IPv4 integer must not match an IPv6 range of the same integer value.
    assert IpTagMatcher([parse_ip_range("::/96", "x")]).tags(parse_ip("0.0.0.5")) == frozenset()


_v4_net = st.builds(
    lambda addr, plen: ipaddress.IPv4Network((addr, plen), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)


@settings(max_examples=150, deadline=None)
@given(
    nets=st.lists(st.tuples(_v4_net, st.sampled_from(["a", "b", "c"])), max_size=25),
    probes=st.lists(st.integers(0, 2**32 - 1), max_size=30),
)
def test_matcher_agrees_with_brute_force(
    nets: list[tuple[ipaddress.IPv4Network, str]], probes: list[int]
) -> None:
    ranges = [parse_ip_range(str(n), t) for n, t in nets]
    m = IpTagMatcher(ranges)
    edges = [e for r in ranges for e in (r.first - 1, r.first, r.last, r.last + 1)]
    for n in probes + [e for e in edges if 0 <= e < 2**32]:
        want = {r.tag for r in ranges if r.first <= n <= r.last}
        assert m.tags((4, n)) == want


def test_matcher_is_fast_for_many_ranges() -> None:
    ranges = [IpRange(f"r{i}", "threat_intel", 4, i * 1024, i * 1024 + 511) for i in range(100_000)]
    m = IpTagMatcher(ranges)
    assert m.tags((4, 1024 * 500 + 7)) == {"threat_intel"}
    assert m.tags((4, 1024 * 500 + 700)) == frozenset()
