"""IP range tags the user manages: the model, a fast matcher and the file importer.

A tag says what a network *is* to this organisation: its ``corporate`` offices, its ``vpn``
egress, a ``cloud_provider``, an ``anonymous_proxy`` or ``tor`` exit, a ``threat_intel``
indicator, or a label of the user's own (``[a-z][a-z0-9_]*``). Ranges may overlap; an address
carries the tags of every range that contains it.

Files are plain text, one range a line, in either shape (``#`` starts a comment)::

    185.220.102.0/24                 # one column: the tag comes from the caller (--tag tor)
    203.0.113.0/28,vpn,Berlin VPN    # CSV: network, tag, optional name (a header row is skipped)

A network is a CIDR (``10.0.0.0/8``, ``2001:db8::/32``), a single address, or an inclusive
``first-last`` span. Every problem of a file is reported, each with its file and line.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opencasb.enrich.ipnum import parse_ip
from opencasb.errors import ConfigError

__all__ = [
    "KNOWN_TAGS",
    "IpRange",
    "IpTagFileError",
    "IpTagMatcher",
    "load_ip_ranges",
    "normalize_tag",
    "parse_ip_range",
    "parse_ip_ranges",
]

KNOWN_TAGS: dict[str, str] = {
    "corporate": "the organisation's own offices and data centres",
    "vpn": "the organisation's VPN egress",
    "cloud_provider": "a public cloud or hosting provider",
    "anonymous_proxy": "an anonymising proxy or commercial VPN service",
    "tor": "a Tor exit relay",
    "threat_intel": "an address a threat-intelligence feed lists as malicious",
}
_ALIASES = {
    "corp": "corporate",
    "office": "corporate",
    "cloud": "cloud_provider",
    "hosting": "cloud_provider",
    "proxy": "anonymous_proxy",
    "anonymous": "anonymous_proxy",
    "threat": "threat_intel",
    "threat_intelligence": "threat_intel",
    "ti": "threat_intel",
}
_TAG_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_HEADER_WORDS = {"cidr", "network", "range", "ip", "address", "prefix"}
_MAX_PROBLEMS = 50  # a file of a million bad lines needs no million-line message


def normalize_tag(text: str) -> str:
    """The canonical tag for ``text`` (case, blanks and dashes folded; aliases resolved).

    Raises:
        ValueError: not a valid tag.
    """
    tag = re.sub(r"[\s-]+", "_", text.strip().lower())
    tag = _ALIASES.get(tag, tag)
    if not _TAG_RE.fullmatch(tag):
        raise ValueError(
            f"{text.strip()!r} is not a tag: use one of {', '.join(KNOWN_TAGS)} or a label "
            "of letters, digits and _ that starts with a letter"
        )
    return tag


@dataclass(frozen=True, slots=True)
class IpRange:
    """One tagged network. ``first``/``last`` are the inclusive bounds as integers.

    Build one with :func:`parse_ip_range`; ``network`` is the normalized spelling
    (``10.0.0.0/8``, ``2001:db8::/32``, ``192.0.2.10-192.0.2.20``).
    """

    network: str
    tag: str
    version: int
    first: int
    last: int
    name: str = ""
    source: str = field(default="", compare=False)


def parse_ip_range(text: str, tag: str, *, name: str = "", source: str = "") -> IpRange:
    """Parse ``text`` as a CIDR, a single address or a ``first-last`` span, tagged ``tag``.

    Raises:
        ValueError: with a message that says what is wrong and what would be right.
    """
    text = text.strip()
    canonical_tag = normalize_tag(tag)
    if not text:
        raise ValueError("the network is empty")
    if "-" in text and "/" not in text:
        lo_text, _, hi_text = text.partition("-")
        lo, hi = parse_ip(lo_text), parse_ip(hi_text)
        if lo is None or hi is None:
            bad = lo_text if lo is None else hi_text
            raise ValueError(f"{bad.strip()!r} in {text!r} is not an IP address")
        if lo[0] != hi[0]:
            raise ValueError(f"{text!r} mixes an IPv4 and an IPv6 address")
        if lo[1] > hi[1]:
            raise ValueError(f"{text!r} ends before it starts")
        spelled = f"{_spell(lo)}-{_spell(hi)}"
        return IpRange(spelled, canonical_tag, lo[0], lo[1], hi[1], name.strip(), source)
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(text, strict=False)
            raise ValueError(
                f"{text!r} has host bits set: the network is {loose} (or write the single "
                f"address {text.partition('/')[0]})"
            ) from None
        raise ValueError(
            f"{text!r} is not a network: write a CIDR such as 203.0.113.0/24 or "
            "2001:db8::/32, an address, or a span such as 192.0.2.10-192.0.2.20"
        ) from None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:  # ::ffff:a.b.c.d/n is an IPv4 network in disguise
            v4 = ipaddress.IPv4Network(f"{mapped}/{net.prefixlen - 96}", strict=False)
            return IpRange(str(v4), canonical_tag, 4, int(v4[0]), int(v4[-1]), name.strip(), source)
    first, last = int(net.network_address), int(net.broadcast_address)
    return IpRange(str(net), canonical_tag, net.version, first, last, name.strip(), source)


def _spell(ip: tuple[int, int]) -> str:
    return str(ipaddress.IPv4Address(ip[1]) if ip[0] == 4 else ipaddress.IPv6Address(ip[1]))


class IpTagFileError(ConfigError):
    """A tag file has problems; ``problems`` lists every one as ``file:line: message``, and
    ``lines`` the same as ``(line number or None, message)`` pairs (for an API's answer)."""

    def __init__(
        self,
        path: Path | str,
        problems: Sequence[str],
        lines: Sequence[tuple[int | None, str]] = (),
    ) -> None:
        shown = list(problems[:_MAX_PROBLEMS])
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more" if more else "")
        super().__init__(
            f"{path}: {len(problems)} problem(s) in the IP range file:\n{text}",
            meaning=f"the IP range file {path} has lines that are not tagged networks",
            fix="correct or remove the lines named; nothing from the file was imported",
            code="iptags_file_invalid",
        )
        self.path = path
        self.problems = tuple(problems)
        self.lines = tuple(lines) or tuple((None, p) for p in problems)


def load_ip_ranges(path: Path, *, tag: str | None = None) -> list[IpRange]:
    """Every range in the file at ``path``, in file order, duplicates dropped.

    ``tag`` is the tag of lines that name none (the one-column shape); a line's own tag wins.
    All or nothing: if any line is bad, nothing is returned.

    Raises:
        IpTagFileError: one or more lines are bad (each named with its line number).
        ConfigError: the file cannot be read, or ``tag`` is not a valid tag.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror or exc}", fix="check the path and its mode"
        ) from None
    return parse_ip_ranges(data, str(path), tag=tag)


def parse_ip_ranges(data: bytes | str, where: str, *, tag: str | None = None) -> list[IpRange]:
    """The ranges of a file's contents (``data``; ``where`` names it in every problem), as
    :func:`load_ip_ranges` reads them: the same shapes, order, duplicates and all-or-nothing.

    Raises:
        IpTagFileError: one or more lines are bad, or the bytes are not UTF-8 text.
        ConfigError: ``tag`` is not a valid tag.
    """
    if tag is not None:
        try:
            tag = normalize_tag(tag)
        except ValueError as exc:
            raise ConfigError(str(exc), fix="give a valid --tag") from None
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = f"not UTF-8 text ({exc.reason})"
            raise IpTagFileError(where, [f"{where}: {message}"], [(None, message)]) from None
    else:
        text = data.removeprefix("\ufeff")
    ranges: list[IpRange] = []
    seen: set[tuple[str, str]] = set()
    problems: list[tuple[int, str]] = []
    first_data_line = True
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw_line)
        if not line:
            continue
        fields = [f.strip() for f in next(csv.reader([line], skipinitialspace=True))]
        if first_data_line:
            first_data_line = False
            if fields[0].lower() in _HEADER_WORDS:
                continue
        if len(fields) > 3:
            problems.append((number, f"{len(fields)} columns; expected network[,tag[,name]]"))
            continue
        line_tag = fields[1] if len(fields) > 1 and fields[1] else tag
        if line_tag is None:
            problems.append((number, "no tag: add one (network,tag) or import with --tag"))
            continue
        try:
            item = parse_ip_range(
                fields[0],
                line_tag,
                name=fields[2] if len(fields) > 2 else "",
                source=f"{where}:{number}",
            )
        except ValueError as exc:
            problems.append((number, str(exc)))
            continue
        key = (item.network, item.tag)
        if key not in seen:
            seen.add(key)
            ranges.append(item)
    if problems:
        texts = [f"{where}:{n}: {m}" for n, m in problems]
        raise IpTagFileError(where, texts, problems)
    return ranges


def _strip_comment(line: str) -> str:
    line = line.strip()
    if line.startswith("#"):
        return ""
    cut = re.search(r"\s#", line)
    return line[: cut.start()].rstrip() if cut else line


@dataclass(frozen=True, slots=True)
class _Family:
    starts: list[int]  # start of each elementary segment, ascending
    slots: list[int]  # index into the matcher's interned results, per segment


class IpTagMatcher:
    """Answers "which tags does this address carry" in O(log n) for any number of ranges.

    Overlapping ranges are cut into elementary segments once (a sweep over their bounds);
    each segment points at one interned result, so a lookup is one bisection.
    """

    def __init__(self, ranges: Iterable[IpRange]) -> None:
        self.ranges: tuple[IpRange, ...] = tuple(ranges)
        self._results: list[tuple[frozenset[str], tuple[IpRange, ...]]] = [(frozenset(), ())]
        self._families = {v: self._build(v) for v in (4, 6)}

    def __len__(self) -> int:
        return len(self.ranges)

    def _build(self, version: int) -> _Family:
        events: dict[int, list[int]] = {}
        for i, r in enumerate(self.ranges):
            if r.version == version:
                events.setdefault(r.first, []).append(i + 1)  # +i+1: opens range i
                events.setdefault(r.last + 1, []).append(-(i + 1))  # closes it
        interned: dict[frozenset[int], int] = {frozenset(): 0}
        active: dict[int, int] = {}
        starts: list[int] = []
        slots: list[int] = []
        for point in sorted(events):
            for ev in events[point]:
                idx = abs(ev) - 1
                active[idx] = active.get(idx, 0) + (1 if ev > 0 else -1)
                if active[idx] == 0:
                    del active[idx]
            key = frozenset(active)
            slot = interned.get(key)
            if slot is None:
                members = tuple(self.ranges[i] for i in sorted(key))
                slot = interned[key] = len(self._results)
                self._results.append((frozenset(r.tag for r in members), members))
            if slots and slots[-1] == slot:
                continue  # same answer as the segment before: merge
            starts.append(point)
            slots.append(slot)
        return _Family(starts, slots)

    def _slot(self, ip: tuple[int, int] | None) -> int:
        if ip is None:
            return 0
        fam = self._families[ip[0]]
        i = bisect_right(fam.starts, ip[1]) - 1
        return fam.slots[i] if i >= 0 else 0

    def tags(self, ip: tuple[int, int] | None) -> frozenset[str]:
        """The tags of ``ip`` (from :func:`~opencasb.enrich.ipnum.parse_ip`); empty if none."""
        return self._results[self._slot(ip)][0]

    def matching(self, ip: tuple[int, int] | None) -> tuple[IpRange, ...]:
        """The ranges that contain ``ip``, in the order they were given."""
        return self._results[self._slot(ip)][1]
