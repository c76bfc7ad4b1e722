"""Each tag's merged spans (store.iptag_spans): the merge, their upkeep by every change of
the ranges, and migration 0014, which computes them for ranges stored before it."""

from __future__ import annotations

import contextlib
import ipaddress
import random

import sqlalchemy as sa
from alembic import command

from opencasb.enrich import parse_ip_range
from opencasb.errors import ConfigError, NotFound
from opencasb.store import Store, open_store
from opencasb.store.engine import migration_config
from opencasb.store.iptag_spans import merge_spans
from opencasb.store.schema import ip_tag_spans, ip_tags

V4 = bytes(10) + b"\xff\xff"


def _key(address: str) -> bytes:
    ip = ipaddress.ip_address(address)
    return V4 + ip.packed if ip.version == 4 else ip.packed


def _spans(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = merge_spans((_key(a), _key(b)) for a, b in pairs)
    return [(_text(lo), _text(hi)) for lo, hi in out]


def _text(key: bytes) -> str:
    if key[:12] == V4:
        return str(ipaddress.IPv4Address(key[12:]))
    return str(ipaddress.IPv6Address(key))


def test_overlapping_and_adjacent_ranges_merge_and_gaps_stay() -> None:
    assert _spans([("10.1.0.0", "10.1.255.255"), ("10.0.0.0", "10.255.255.255"),
                   ("11.0.0.0", "11.0.0.255"), ("11.0.1.1", "11.0.1.1")]) == [
        ("10.0.0.0", "11.0.0.255"), ("11.0.1.1", "11.0.1.1")
    ]  # fmt: skip
    assert _spans([]) == []


def test_an_ipv6_range_leaves_out_the_ipv4_mapped_block() -> None:
    everything = _spans([("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")])
    assert everything == [
        ("::", "::fffe:ffff:ffff"),
        ("::1:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ]
    # with an IPv4 range of the same tag, the block's part is the IPv4 range's alone
    assert _spans([("::", "::1:0:0:0"), ("10.0.0.0", "10.0.0.255")]) == [
        ("::", "::fffe:ffff:ffff"), ("10.0.0.0", "10.0.0.255"), ("::1:0:0:0", "::1:0:0:0")
    ]  # fmt: skip


def _stored(store: Store) -> dict[str, list[tuple[bytes, bytes]]]:
    out: dict[str, list[tuple[bytes, bytes]]] = {}
    with store.engine.connect() as conn:
        s = ip_tag_spans.c
        for tag, lo, hi in conn.execute(sa.select(s.tag, s.lo, s.hi).order_by(s.tag, s.lo)):
            out.setdefault(tag, []).append((bytes(lo), bytes(hi)))
    return out


def _expected(store: Store) -> dict[str, list[tuple[bytes, bytes]]]:
    by_tag: dict[str, list[tuple[bytes, bytes]]] = {}
    with store.engine.connect() as conn:
        t = ip_tags.c
        for tag, first, last in conn.execute(sa.select(t.tag, t.first_key, t.last_key)):
            by_tag.setdefault(tag, []).append((bytes(first), bytes(last)))
    return {tag: merge_spans(b) for tag, b in by_tag.items()}


NETWORKS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "11.0.0.0/8", "192.0.2.7", "192.0.2.8",
            "::/0", "2001:db8::/32", "2001:db8:1::/48", "::fffe:0:0/95"]  # fmt: skip
TAGS = ["corporate", "vpn", "tor"]


def test_every_change_of_the_ranges_rewrites_the_spans_of_its_tags(store: Store) -> None:
    rng = random.Random(13)
    for step in range(40):
        kind = rng.choice(["add", "remove", "import", "replace"])
        network, tag = rng.choice(NETWORKS), rng.choice(TAGS)
        if kind == "add":
            with contextlib.suppress(ConfigError):  # already tagged: the walk goes on
                store.ip_tags.add(network, tag, source="cli", created_by="t")
        elif kind == "remove":
            with contextlib.suppress(NotFound):  # nothing stored there
                store.ip_tags.remove(network, tag=rng.choice([tag, None]))
        else:
            ranges = [parse_ip_range(rng.choice(NETWORKS), rng.choice(TAGS)) for _ in range(3)]
            store.ip_tags.import_ranges(
                f"file:{rng.choice('ab')}.csv",
                ranges,
                created_by="t",
                replace_tags=[tag] if kind == "replace" else [],
            )
        assert _stored(store) == _expected(store), step
    assert _stored(store)  # the walk ends with ranges stored


def test_migration_computes_the_spans_of_ranges_stored_before_it(store_url: str) -> None:
    store = open_store(store_url)
    store.ip_tags.add("10.0.0.0/8", "corporate", source="cli", created_by="t")
    ranges = [parse_ip_range(n, "corporate") for n in ("10.1.0.0/16", "11.0.0.0/8")]
    store.ip_tags.import_ranges("file:a.csv", [*ranges, parse_ip_range("::/0", "v6")],
                                created_by="t")  # fmt: skip
    want = _stored(store)
    assert len(want["corporate"]) == 1 and len(want["v6"]) == 2
    engine = store.engine
    with engine.begin() as conn:
        command.downgrade(migration_config(conn), "0013")
    with engine.connect() as conn:
        assert "ip_tag_spans" not in sa.inspect(conn).get_table_names()
    store.close()
    again = open_store(store_url)  # migrates to head
    try:
        assert _stored(again) == want == _expected(again)
    finally:
        again.close()
