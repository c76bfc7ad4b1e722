"""The predicate's semantics on hand-picked cases, the SQL refusing enrichment, and paging
through the store with a residual."""

from __future__ import annotations

import pytest

from opencasb.enrich import Enricher, Enrichment, parse_ip_range
from opencasb.errors import ConfigError
from opencasb.filters import (
    AllOf,
    Condition,
    Not,
    Op,
    compile_predicate,
    compile_sql,
    iter_matching,
    parse_filter,
    parse_filter_text,
    search,
)
from opencasb.model.activity import Actor
from opencasb.store import ActivityQuery, PageWrite, Store

from .conftest import make_activity, save


def _match(doc: object, **over: object) -> bool:
    return compile_predicate(parse_filter(doc))(make_activity(1, **over), None)


def test_email_is_case_insensitive_other_text_exact_and_ignore_case_ascii_only() -> None:
    assert _match({"field": "actor.email", "equals": "USER1@example.COM"})
    assert not _match({"field": "actor.name", "equals": "user 1"})
    assert _match({"field": "actor.name", "equals": "user 1", "ignore_case": True})
    city = {"geo": None, "actor": Actor(name="ÉLODIE")}
    assert not _match({"field": "actor.name", "equals": "élodie", "ignore_case": True}, **city)
    assert _match({"field": "actor.name", "equals": "Élodie", "ignore_case": True}, **city)


def test_missing_fields_match_only_negative_operators() -> None:
    over = {"geo": None, "asn": None}
    assert not _match({"field": "geo.city", "equals": "x"}, **over)
    assert _match({"field": "geo.city", "not_equals": "x"}, **over)
    assert _match({"field": "geo.city", "not_in": ["x"]}, **over)
    assert _match({"field": "asn", "is_set": False}, **over)
    assert not _match({"field": "asn", "lt": 10}, **over)


def test_raw_paths_descend_lists_and_compare_by_json_type() -> None:
    raw = {
        "debugContext": {"debugData": {"behaviors": "{New Geo-Location=POSITIVE}"}},
        "target": [{"type": "User", "n": 5}, {"type": "AppInstance", "n": 7.0}],
    }
    assert _match(
        {"field": "raw.debugContext.debugData.behaviors", "contains": "=POSITIVE"}, raw=raw
    )
    assert _match({"field": "raw.target.type", "equals": "AppInstance"}, raw=raw)
    assert _match({"field": "raw.target.n", "equals": 7}, raw=raw)
    assert not _match({"field": "raw.target.n", "equals": "5"}, raw=raw)
    assert _match({"field": "raw.target.n", "gt": 6}, raw=raw)
    assert not _match({"field": "raw.nothing.here", "is_set": True}, raw=raw)


def test_cidr_matches_ipv4_ipv6_and_mapped_addresses() -> None:
    doc = {"field": "src_ip", "cidr": ["10.0.0.0/8", "2001:db8::/32"]}
    assert _match(doc, src_ip="10.9.8.7")
    assert _match(doc, src_ip="::ffff:10.9.8.7")
    assert _match(doc, src_ip="2001:db8::42")
    assert not _match(doc, src_ip="11.0.0.1")
    assert not _match(doc, src_ip="garbage")


def test_enrichment_fields_read_the_enrichment_given_and_sql_reads_it_stored() -> None:
    flt = parse_filter_text(
        "all: [{field: ip_tags, in: [tor, vpn]}, {field: enrich.coarse, equals: false}]"
    )
    pred = compile_predicate(flt)
    a = make_activity(1)
    assert pred(a, Enrichment(ip_tags=("corporate", "tor")))
    assert not pred(a, Enrichment(ip_tags=("tor",), coarse=True))
    assert not pred(a, None)
    assert compile_sql(flt).residual is None  # stored at ingest: exact SQL
    suffix = parse_filter_text("{field: enrich.city, ends_with: furt}")
    with pytest.raises(ConfigError) as info:
        compile_sql(suffix)
    assert info.value.code == "filter_field_not_stored"
    compiled = compile_sql(suffix, residual_enrichment=True)
    assert compiled.residual is not None and compiled.needs_enrichment


def test_exact_filters_need_no_residual() -> None:
    exact = parse_filter_text(
        "any: [{field: app, equals: okta}, {not: {field: src_ip, cidr: 10.0.0.0/8}}]"
    )
    assert compile_sql(exact).residual is None
    mixed = AllOf((Condition("app", Op.EQUALS, "okta"), Not(Condition("raw.x", Op.IS_SET, True))))
    assert compile_sql(mixed).residual is not None


def test_search_pages_through_a_residual_without_losing_or_repeating_rows(store: Store) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    acts = [make_activity(i, raw={"n": i, "even": i % 2 == 0}) for i in range(40)]
    save(store, iid, acts)
    flt = parse_filter_text("all: [{field: raw.even, equals: true}, {field: app, equals: okta}]")
    want = [f"evt-{i:06d}" for i in range(38, -1, -2)]  # newest first
    got: list[str] = []
    q = ActivityQuery(limit=3)
    pages = 0
    while True:
        page = search(store, flt, q)
        got += [a.source_event_id for a in page.items]
        pages += 1
        if page.next_after is None:
            break
        q = ActivityQuery(limit=3, after=page.next_after)
    assert got == want
    assert pages in (7, 8)  # 20 rows in pages of 3; the last may be empty
    assert [a.source_event_id for a in iter_matching(store, flt, batch_size=7)] == want
    # the query's own filters combine with the filter (AND)
    user = [
        a.source_event_id
        for a in iter_matching(store, flt, ActivityQuery(user="user1@example.com"))
    ]
    assert user == [f"evt-{i:06d}" for i in range(38, -1, -2) if i % 7 == 1]


def test_search_filters_on_the_ip_tags_of_the_ranges_stored_now(store: Store) -> None:
    """Tags are live: a range tagged after the activities were stored (and enriched with
    other ranges, or not at all) finds them at once, without re-enrichment, in SQL and in
    the residual; removing it makes them stop matching."""
    iid = store.add_instance("okta", "acme", {}, {}).id
    old = Enricher(ip_ranges=[parse_ip_range("198.51.100.0/24", "corporate")])
    acts = [make_activity(i) for i in range(6)]  # 198.51.100.<i>
    store.save_pages([PageWrite.of(iid, "logs", acts[:4], None, enricher=old)])
    store.save_pages([PageWrite.of(iid, "logs", acts[4:], None)])  # stored not enriched
    flt = parse_filter({"field": "ip_tags", "equals": "vpn"})
    regex = parse_filter({"field": "ip_tags", "matches": "^v.n$"})
    suffix = parse_filter({"field": "ip_tags", "ends_with": "pn"})
    stale = parse_filter({"field": "ip_tags", "equals": "corporate"})
    assert list(iter_matching(store, flt)) == []
    assert list(iter_matching(store, stale)) == []  # stored at ingest, but no range now

    r = store.ip_tags.add("198.51.100.3-198.51.100.4", "vpn", source="cli", created_by="t")
    want = ["evt-000004", "evt-000003"]
    for f in (flt, regex, suffix):
        assert [a.source_event_id for a in iter_matching(store, f)] == want, f
        assert [a.source_event_id for a in search(store, f).items] == want, f
    tagged = parse_filter({"field": "ip_tags", "is_set": True})
    assert [a.source_event_id for a in iter_matching(store, tagged)] == want
    negated = parse_filter({"field": "ip_tags", "not_equals": "vpn"})
    assert len(list(iter_matching(store, negated))) == 4

    store.ip_tags.remove(r.id)
    for f in (flt, regex, suffix, tagged):
        assert list(iter_matching(store, f)) == [], f
        assert search(store, f).items == [], f
