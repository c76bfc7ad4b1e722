"""``ip_tags`` conditions in SQL select exactly what the in-memory predicate does, in each
form the activity query may give them (store.iptag_spans): the ids of a sparse tag's
activities, a span probe per row for a dense tag, and the unresolved condition; and a
change of the stored ranges is seen by the very next search.

The ranges overlap within a tag and come from several sources; IPv6 ranges include
``::/0``, which must not hold IPv4 addresses (nor IPv4-mapped IPv6 ones); activities
include ones without an address and with text that is no address.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from opencasb.enrich import Enricher, parse_ip_range
from opencasb.filters import (
    AllOf,
    AnyOf,
    Condition,
    Filter,
    Not,
    Op,
    check,
    compile_predicate,
    iter_matching,
    search,
)
from opencasb.model.activity import Activity
from opencasb.store import ActivityQuery, Store, iptag_spans
from opencasb.store import query as store_query

from .conftest import make_activity, save

_counter = itertools.count()

# (source, network, tag): corporate from two files and the CLI, overlapping and adjacent;
# IPv6 everywhere (::/0) and a /32; a tag nothing carries
RANGES = [
    ("file:a.csv", "10.0.0.0/8", "corporate"),
    ("file:b.csv", "10.1.0.0/16", "corporate"),
    ("file:b.csv", "11.0.0.0/8", "corporate"),  # adjacent to 10.0.0.0/8: one span
    ("cli", "10.1.2.0/24", "vpn"),
    ("cli", "10.1.2.0/24", "corporate"),
    ("file:a.csv", "::/0", "anywhere6"),
    ("file:b.csv", "2001:db8::/32", "vpn"),
    ("file:b.csv", "2001:db8:1::/48", "vpn"),
    ("cli", "192.0.2.7", "tor"),
    ("cli", "192.0.2.9", "tor"),
    ("cli", "203.0.113.0/24", "unseen"),
]
ADDRESSES = ["10.1.2.3", "10.200.0.1", "11.5.5.5", "12.0.0.1", "::ffff:10.1.2.3", "2001:db8::1",
             "2001:db8:1::5", "2001:db9::1", "::1", "192.0.2.7", "192.0.2.8", "192.0.2.9",
             "not-an-ip", None]  # fmt: skip
VALUES = ["corporate", "Corporate", "vpn", "tor", "anywhere6", "unseen", "nothing", "or", "_",
          "any", "n", "6", "x%"]  # fmt: skip


def _store_ranges(store: Store) -> None:
    by_source: dict[str, list[tuple[str, str]]] = {}
    for source, network, tag in RANGES:
        by_source.setdefault(source, []).append((network, tag))
    for source, pairs in by_source.items():
        if source == "cli":
            for network, tag in pairs:
                store.ip_tags.add(network, tag, source="cli", created_by="test")
        else:
            ranges = [parse_ip_range(n, t) for n, t in pairs]
            store.ip_tags.import_ranges(source, ranges, created_by="test")


def _activities(store: Store) -> tuple[str, list[Activity]]:
    name = f"inst{next(_counter)}"
    rec = store.add_instance("okta", name, {}, {})
    acts = [
        make_activity(i, src_ip=ip, instance=name, source_event_id=f"e{i}")
        for i, ip in enumerate(ADDRESSES * 2)
    ]
    save(store, rec.id, acts)
    return name, acts


def _conditions() -> Iterator[Filter]:
    for value in VALUES:
        for op in (Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH):
            for ignore_case in (False, True):
                yield Condition("ip_tags", op, value, ignore_case)
    for values in [("vpn", "tor"), ("corporate", "nothing"), ("Tor",)]:
        for op in (Op.IN, Op.NOT_IN):
            yield Condition("ip_tags", op, values, True)
            yield Condition("ip_tags", op, values)
    for b in (True, False):
        yield Condition("ip_tags", Op.IS_SET, b)
    corporate = Condition("ip_tags", Op.EQUALS, "corporate")
    vpn = Condition("ip_tags", Op.EQUALS, "vpn")
    yield AllOf((Not(corporate), Condition("ip_tags", Op.IS_SET, True)))
    yield AnyOf((vpn, Condition("src_ip", Op.CIDR, "192.0.2.0/24")))
    yield AllOf((corporate, Not(vpn)))


@pytest.fixture(params=["sparse", "dense", "unresolved"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which form the query gives ip_tags conditions: as chosen for a small store (the
    ids), a probe per row (every tag is dense), or the condition as compiled."""
    if request.param == "dense":
        monkeypatch.setattr(iptag_spans, "DENSE_TAG_ROWS", 0)
    elif request.param == "unresolved":
        monkeypatch.setattr(store_query, "resolve_live_tags", lambda conn, where: where)
    return str(request.param)


def test_every_tag_condition_agrees_with_the_predicate(store: Store, mode: str) -> None:
    _store_ranges(store)
    name, acts = _activities(store)
    ranges, _ = store.ip_tags.ranges()
    enricher = Enricher(ip_ranges=ranges)
    enriched = [(a, enricher.enrich(a)) for a in acts]
    assert {t for _, e in enriched for t in e.ip_tags} == {"corporate", "vpn", "anywhere6", "tor"}
    for a, e in enriched:  # the tags the API and the portal show, from the spans
        assert store.ip_tags.tags_of(a.src_ip) == tuple(sorted(e.ip_tags)), a.src_ip
    q = ActivityQuery(instance=name)
    compared = discriminating = 0
    for c in _conditions():
        flt = check(c)
        pred = compile_predicate(flt)
        want = {a.source_event_id for a, e in enriched if pred(a, e)}
        got = [a.source_event_id for a in iter_matching(store, flt, q, batch_size=3)]
        assert sorted(got) == sorted(want), (mode, c)
        compared += 1
        discriminating += 0 < len(want) < len(acts)
    assert compared > 100 and discriminating > 40


def test_the_ipv6_catch_all_holds_no_ipv4_address(store: Store, mode: str) -> None:
    _store_ranges(store)
    name, _ = _activities(store)
    flt = check(Condition("ip_tags", Op.EQUALS, "anywhere6"))
    found = {a.src_ip for a in iter_matching(store, flt, ActivityQuery(instance=name))}
    assert found == {"2001:db8::1", "2001:db8:1::5", "2001:db9::1", "::1"}


def test_a_change_of_the_ranges_is_seen_by_the_next_search(store: Store, mode: str) -> None:
    name, _ = _activities(store)
    q = ActivityQuery(instance=name, limit=50)
    flt = check(Condition("ip_tags", Op.EQUALS, "lab"))
    not_lab = check(Condition("ip_tags", Op.NOT_EQUALS, "lab"))

    def found(f: Filter = flt) -> set[str | None]:
        return {a.src_ip for a in search(store, f, q).items}

    assert found() == set()
    assert store.ip_tags.tags_of("192.0.2.8") == ()  # the spans now in memory
    store.ip_tags.add("192.0.2.0/30", "lab", source="cli", created_by="test")
    assert found() == set()  # 192.0.2.0-3: no activity there
    store.ip_tags.add("192.0.2.8/30", "lab", source="cli", created_by="test")
    assert found() == {"192.0.2.8", "192.0.2.9"}
    assert store.ip_tags.tags_of("192.0.2.8") == ("lab",)  # not the spans held before
    store.ip_tags.import_ranges("file:lab.csv", [parse_ip_range("10.1.2.3", "lab")],
                                created_by="test")  # fmt: skip
    mapped = "::ffff:10.1.2.3"  # the same address
    assert found() == {"192.0.2.8", "192.0.2.9", "10.1.2.3", mapped}
    assert "10.1.2.3" not in found(not_lab) and "10.200.0.1" in found(not_lab)
    store.ip_tags.remove("192.0.2.8/30", tag="lab")
    assert store.ip_tags.tags_of("192.0.2.8") == ()
    assert found() == {"10.1.2.3", mapped}
    store.ip_tags.import_ranges("file:lab.csv", [], created_by="test")
    assert found() == set()
    assert None in found(not_lab)  # no address: no tag, so "not lab"
