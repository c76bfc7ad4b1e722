"""The client address of an Office 365 audit record, as Microsoft writes it.

``ClientIP`` (and ``ClientIPAddress``/``ActorIpAddress``) is not always a bare address:
Exchange appends the source port (``203.0.113.7:50412``, ``[2001:db8::1]:443``), some
workloads send IPv4-mapped IPv6 (``::ffff:203.0.113.7``), and re-exported records carry
host names (``localhost:12345``). :func:`parse_client_ip` splits all of these.

Contract: :func:`parse_client_ip` is total (any value, any type) and pure. ``ip`` is always
a canonical address string (IPv4-mapped IPv6 unwrapped to IPv4, IPv6 compressed) or None;
a value that is a host name rather than an address comes back as ``host`` and never as ``ip``,
so that enrichment (GeoIP, ranges) only ever sees addresses.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final, NamedTuple

__all__ = ["ClientAddress", "parse_client_ip"]


class ClientAddress(NamedTuple):
    """A parsed client address: at most one of ``ip``/``host`` is set."""

    ip: str | None = None
    port: int | None = None
    host: str | None = None


NONE: Final = ClientAddress()
_MAX_PORT: Final = 65535
_MAX_HOST: Final = 253  # the longest DNS name
_HOST_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
# Addresses repeat heavily (one office, one VPN exit), and parsing through ipaddress costs
# microseconds: answers are shared through a bounded memo (the input is untrusted).
_MEMO_LIMIT: Final = 8192
_memo: dict[str, ClientAddress] = {}


def parse_client_ip(value: Any) -> ClientAddress:
    """Split ``value`` into address, port and host name; :data:`NONE` when it holds neither."""
    if type(value) is not str:
        return NONE
    hit = _memo.get(value)
    if hit is not None:
        return hit
    parsed = _parse(value.strip())
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[value] = parsed
    return parsed


def _parse(text: str) -> ClientAddress:
    if not text:
        return NONE
    if text[0] == "[":  # [v6]:port, [v4]:port, [host]:port, or bracketed without a port
        inner, bracket, rest = text[1:].partition("]")
        if not bracket:
            return NONE
        port = _port(rest[1:]) if rest.startswith(":") else None
        if rest and port is None:
            return NONE
        return _address(inner, port)
    whole = _address(text, None)
    if whole is not NONE or text.count(":") != 1:
        return whole  # a bare address (v4 or v6) or a host name, or something unusable
    head, _, tail = text.partition(":")  # exactly one colon: v4:port or host:port
    port = _port(tail)
    return _address(head, port) if port is not None else NONE


def _address(text: str, port: int | None) -> ClientAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ClientAddress(None, port, text) if _is_host(text) else NONE
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return ClientAddress(str(address), port, None)


def _port(text: str) -> int | None:
    # isascii: str.isdigit() also accepts digits like "²" that int() refuses
    if text.isascii() and text.isdigit() and len(text) <= 5:
        number = int(text)
        return number if number <= _MAX_PORT else None
    return None


def _is_host(text: str) -> bool:
    return (
        len(text) <= _MAX_HOST
        and text[0] not in "-."
        and not text.replace(".", "").isdigit()  # "1.2.3.999" is a broken address, not a host
        and all(char in _HOST_CHARS for char in text)
    )
