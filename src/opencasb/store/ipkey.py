"""IP addresses as fixed-width sortable keys, so that a CIDR filter is a range comparison.

Every address is mapped into the IPv6 space (IPv4 ``a.b.c.d`` becomes ``::ffff:a.b.c.d``)
and written as 32 lower-case hex digits. Fixed-width hex sorts lexicographically in numeric
order on every engine and collation, so ``ip_key BETWEEN low AND high`` selects exactly one
network, whichever the address family, with an ordinary index and no engine-specific type
(PostgreSQL's ``inet`` has no SQLite counterpart).
"""

from __future__ import annotations

import ipaddress
import socket

from opencasb.errors import ConfigError

__all__ = ["ip_key", "ip_range"]

_V4_MAPPED = 0xFFFF << 32
_V4_PREFIX = f"{0xFFFF:024x}"  # the first 12 bytes of ::ffff:a.b.c.d


def _key(value: int) -> str:
    return f"{value:032x}"


def ip_key(address: str | None) -> str | None:
    """The 32-hex-digit key of ``address``, or ``None`` when it is empty or not an address.

    A malformed source IP from a vendor is not worth rejecting an activity for; it simply
    cannot be matched by an IP filter.
    """
    if not address:
        return None
    # Fast path (this runs once per ingested activity): inet_pton is C and strict.
    try:
        return _V4_PREFIX + socket.inet_pton(socket.AF_INET, address).hex()
    except OSError:
        pass
    try:
        return socket.inet_pton(socket.AF_INET6, address).hex()
    except OSError:
        pass
    # Slow path for what inet_pton refuses but ipaddress accepts (scoped "fe80::1%eth0",
    # surrounding spaces).
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 4:
        return _key(_V4_MAPPED | int(ip))
    return _key(int(ip))


def ip_range(spec: str) -> tuple[str, str]:
    """The inclusive (low, high) key range of an address or CIDR network, v4 or v6.

    Host bits set in a CIDR are tolerated (``10.1.2.3/8`` means ``10.0.0.0/8``): users paste
    addresses with a prefix length, and the intent is clear.

    Raises:
        ConfigError: ``spec`` is neither an address nor a network.
    """
    try:
        net = ipaddress.ip_network(spec.strip(), strict=False)
    except ValueError as exc:
        raise ConfigError(
            f"not an IP address or CIDR network: {spec!r}",
            fix="Give an address such as 203.0.113.7 or 2001:db8::1, "
            "or a network such as 10.0.0.0/8 or 2001:db8::/32.",
            code="bad_ip_filter",
        ) from exc
    low, high = int(net.network_address), int(net.broadcast_address)
    if net.version == 4:
        low, high = _V4_MAPPED | low, _V4_MAPPED | high
    return _key(low), _key(high)
