"""IP keys: fixed width, family-independent ordering, CIDR ranges."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencasb.errors import ConfigError
from opencasb.store.ipkey import ip_key, ip_range


def test_v4_is_mapped_into_v6() -> None:
    assert ip_key("1.2.3.4") == ip_key("::ffff:1.2.3.4") == "00000000000000000000ffff01020304"
    assert ip_key("2001:db8::1") == "20010db8000000000000000000000001"
    assert ip_key("fe80::1%eth0") == "fe800000000000000000000000000001"
    assert ip_key(" 10.0.0.1 ") == ip_key("10.0.0.1")


@pytest.mark.parametrize("bad", [None, "", "bad", "1.2.3", "300.1.1.1", "01.2.3.4"])
def test_not_an_address(bad: str | None) -> None:
    assert ip_key(bad) is None


@pytest.mark.parametrize("bad", ["", "10.0.0.0/33", "nope", "1.2.3.4/x"])
def test_bad_filter(bad: str) -> None:
    with pytest.raises(ConfigError):
        ip_range(bad)


addresses = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda i: str(ipaddress.IPv4Address(i))),
    st.integers(0, 2**128 - 1).map(lambda i: str(ipaddress.IPv6Address(i))),
)


def _v6(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    if isinstance(ip, ipaddress.IPv4Address):
        return ipaddress.IPv6Address((0xFFFF << 32) | int(ip))
    return ip


@given(addresses, addresses, st.integers(0, 128))
def test_range_matches_membership_and_keys_sort_numerically(a: str, b: str, plen: int) -> None:
    ka, kb = ip_key(a), ip_key(b)
    assert ka is not None and kb is not None and len(ka) == 32
    ia, ib = ipaddress.ip_address(a), ipaddress.ip_address(b)
    va, vb = _v6(ia), _v6(ib)
    assert (ka < kb) == (int(va) < int(vb))
    net = ipaddress.ip_network(f"{a}/{min(plen, ia.max_prefixlen)}", strict=False)
    low, high = ip_range(str(net))
    mapped_net = (
        ipaddress.ip_network(f"::ffff:{net.network_address}/{96 + net.prefixlen}")
        if net.version == 4
        else net
    )
    assert (low <= kb <= high) == (vb in mapped_net)
