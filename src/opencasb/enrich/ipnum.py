"""IP addresses as ``(version, integer)``: the one form every lookup table here is keyed on.

IPv4-mapped IPv6 (``::ffff:192.0.2.1``) is the IPv4 address it carries: Office 365 writes some
clients that way, and a tag or a country must not depend on the spelling.
"""

from __future__ import annotations

import ipaddress

__all__ = ["IPV4_MAX", "IPV6_MAX", "parse_ip"]

IPV4_MAX = (1 << 32) - 1
IPV6_MAX = (1 << 128) - 1


def parse_ip(text: str | None) -> tuple[int, int] | None:
    """``(4 or 6, address as int)`` for an address, or None if ``text`` is not one.

    Blanks around the address are ignored; a zone (``fe80::1%eth0``) is dropped.
    """
    if not text:
        return None
    text = text.strip()
    if "%" in text:
        text = text.partition("%")[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped
        if mapped is not None:
            return 4, int(mapped)
        return 6, int(addr)
    return 4, int(addr)
