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
# microseconds: answers are shared through bounded memos (the input is untrusted). Whole values
# first; then the address alone, port-less, since Exchange appends the client's source port,
# different on almost every record, so there the whole values do not repeat but addresses do.
_MEMO_LIMIT: Final = 8192
_memo: dict[str, ClientAddress] = {}
_address_memo: dict[str, ClientAddress] = {}


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
    if text.count(":") != 1:
        return _address(text, None)  # a bare address (v4 or v6) or a host name, or unusable
    # Exactly one colon: v4:port or host:port. No address has a single colon (IPv6 has two or
    # more) and no host name has one, so the whole text is not tried as either.
    head, _, tail = text.partition(":")
    port = _port(tail)
    return _address(head, port) if port is not None else NONE


def _address(text: str, port: int | None) -> ClientAddress:
    """``text`` as an address or a host name, with ``port``; NONE when it is neither."""
    found = _address_memo.get(text)
    if found is None:
        found = _parse_address(text)
        if len(_address_memo) >= _MEMO_LIMIT:
            _address_memo.clear()
        _address_memo[text] = found
    if port is None or found is NONE:
        return found
    return ClientAddress(found.ip, port, found.host)


def _parse_address(text: str) -> ClientAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ClientAddress(None, None, text) if _is_host(text) else NONE
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return ClientAddress(str(address), None, None)


def _port(text: str) -> int | None:
    # isascii: str.isdigit() also accepts digits like "²" that int() refuses
    if text.isascii() and text.isdigit() and len(text) <= 5:
        number = int(text)
        return number if number <= _MAX_PORT else None
    return None


def _is_host(text: str) -> bool:
    return (
        0 < len(text) <= _MAX_HOST  # ("[]" and ":80" leave no text at all)
        and text[0] not in "-."
        and not text.replace(".", "").isdigit()  # "1.2.3.999" is a broken address, not a host
        and all(char in _HOST_CHARS for char in text)
    )
