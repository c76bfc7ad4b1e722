"""What every record builder shares: the session a record happens in, and record kinds.

A builder is ``(sess, ts, x, r) -> dict``: ``ts`` is the event time (Unix seconds), ``sess``
says who acts from which device and address, ``x`` is the builder's own argument and ``r``
is 128 random bits drawn when the event was scheduled (so building never touches a random
generator and does not depend on which other records get built). A :class:`Kind` pairs a
builder with the content type its records are published under.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opencasb.sandbox.office365.gen_ids import guid
from opencasb.sandbox.office365.gen_tenant import DevT, PersonT, TenantT

__all__ = [
    "AAD",
    "DLP",
    "EXCHANGE",
    "GENERAL",
    "SHAREPOINT",
    "Builder",
    "Kind",
    "Sess",
    "client_ip",
    "correlation",
]

# Content types, as offsets (seconds) added to publication times: blobs of different content
# types are cut at slightly different instants, as the real service's are.
AAD, EXCHANGE, SHAREPOINT, GENERAL, DLP = 11, 29, 47, 83, 131

Builder = Callable[["Sess", int, Any, int], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Kind:
    """A record builder and its content type (one of the offsets above)."""

    name: str
    build: Builder
    content: int


class Sess:
    """Who acts (``pt``; None for the org's own services), on which device, from where.

    ``ip`` is an IPv4 address; ``ip6`` an IPv6 one the same line also has (home broadband),
    which a share of records show instead. ``session_id`` is Azure AD's session id.
    """

    __slots__ = ("_devprops", "corr", "dev", "ip", "ip6", "pt", "session_id", "tt")

    def __init__(
        self,
        tt: TenantT,
        pt: PersonT | None,
        dev: DevT | None,
        ip: str,
        ip6: str | None,
        session_bits: int,
    ) -> None:
        self.tt, self.pt, self.dev, self.ip, self.ip6 = tt, pt, dev, ip, ip6
        self.session_id = guid(session_bits)
        # Correlation ids of one session's requests share their first 24 characters
        # (cheaper than a fresh GUID per record); records add 12 hex digits of their own.
        self.corr = guid(session_bits >> 3 ^ 0x5EC0FFEE)[:24]
        self._devprops: list[dict[str, str]] | None = None

    def device_properties(self) -> list[dict[str, str]]:
        """Azure AD's ``DeviceProperties`` for this session (built once, shared)."""
        props = self._devprops
        if props is None:
            dev = self.dev
            props = []
            if dev is not None:
                if dev.managed:
                    props += [
                        {"Name": "Id", "Value": dev.device_id},
                        {"Name": "DisplayName", "Value": dev.name},
                    ]
                props += [
                    {"Name": "OS", "Value": dev.os},
                    {"Name": "BrowserType", "Value": dev.browser},
                ]
                if dev.managed:
                    props.append({"Name": "TrustType", "Value": "1"})
                props.append({"Name": "IsCompliantAndManaged", "Value": str(dev.managed)})
            props.append({"Name": "SessionId", "Value": self.session_id})
            self._devprops = props
        return props


def correlation(sess: Sess, r: int) -> str:
    """A correlation id for one request of the session (``r``: the record's bits)."""
    return f"{sess.corr}{r >> 9 & 0xFFFFFFFFFFFF:012x}"


def client_ip(sess: Sess, r: int, ports: bool) -> str:
    """The session's address as a record shows it: IPv6 for about a third of the records of
    a dual-stack line; with ``ports`` (Exchange, Yammer) often ``ip:port`` / ``[v6]:port``
    (research §2.1, edgecase-beats-ip-formats)."""
    ip6 = sess.ip6
    use6 = ip6 is not None and (r >> 40) % 3 == 0
    if ports and (r >> 44) % 4 != 0:
        port = 1024 + (r >> 48) % 64000
        return f"[{ip6}]:{port}" if use6 else f"{sess.ip}:{port}"
    return ip6 if use6 and ip6 is not None else sess.ip
