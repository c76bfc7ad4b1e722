"""The SQL compilation (plus its residual) and the in-memory predicate accept the same
activities: random filters over random activities stored in a real store, on SQLite and on
PostgreSQL.

Values come from small pools so that filters and activities collide often, and the pools
hold what engines disagree on when nobody is careful: letters whose case only Unicode folds
(É/é, ß), LIKE wildcards, IPv4-mapped IPv6 addresses, malformed addresses, numbers that are
equal across int and float, empty e-mails and country codes (which the store keeps as
NULL). Each example stores its activities under a fresh instance and compares the two sets
of event ids; it also checks the predicate on the activities as read back from the store.

Activities are enriched at ingest (IP ranges tag the pool's addresses; places come from the
drawn geo) and filters read ``enrich.*`` and ``ip_tags`` too: SQL reads the stored
enrichment, and the current tags of the ranges stored in the store's ``ip_tags`` table (the
same ranges); the predicate gets the enrichment computed from the activity.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencasb.enrich import Enricher, parse_ip_range
from opencasb.errors import DocumentError
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
)
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import ActivityQuery, PageWrite, Store

from .conftest import T0, save

TEXTS = ["a", "A", "ab", "Ab", "b", "é", "É", "ß", "SS", "x%_\\", "okta", "a b"]
EMAILS = ["Ann@Example.com", "ann@example.com", "ÉVA@x.org", "éva@x.org", "", None]
CODES = ["US", "us", "Us", "ß", "SS", "", None]
IPS = ["10.1.2.3", "10.200.0.1", "::ffff:10.1.2.3", "2001:db8::1", "2001:db9::1", "192.0.2.7"]
IPS_ALL = [*IPS, "not-an-ip", "", None]
NETWORKS = ["10.0.0.0/8", "10.1.2.0/24", "2001:db8::/32", "192.0.2.7", "::/0", "0.0.0.0/0"]
RAW_SCALARS: list[Any] = ["a", "A", "ab", "10.1.2.3", 1, 1.0, 2, True, False, None,
                          "SMTP:bob@EXAMPLE.com", "eve@evil.test; ann@example.com"]  # fmt: skip
ADDRESSES = ["bob@example.com", "smtp:Eve@Evil.test", "x.org", "a@x.org, b@y.org"]
NUMBERS = [0, 1, 65000, -1.5, 2.25]

_counter = itertools.count()

RANGES = [
    parse_ip_range(network, tag)
    for network, tag in [
        ("10.0.0.0/8", "corporate"),
        ("10.1.2.0/24", "vpn"),
        ("2001:db8::/32", "anonymous_proxy"),
        ("192.0.2.7", "tor"),
        ("192.0.2.0/24", "threat_intel"),
    ]
]
ENRICHER = Enricher(ip_ranges=RANGES)


def _store_ranges(store: Store) -> None:
    """The ENRICHER's ranges in the store too (SQL reads the live ranges); idempotent."""
    store.ip_tags.import_ranges("file:agreement.csv", RANGES, created_by="test")


ENRICH_TEXT_FIELDS = [
    "enrich.country_code",
    "enrich.country",
    "enrich.city",
    "enrich.geo_source",
    "enrich.isp",
    "enrich.browser",
    "enrich.device_type",
    "ip_tags",
]
ENRICH_VALUES = ["US", "us", "SS", "ß", "a", "A", "É", "app", "App", "Other", "other", "corporate",
                 "Corporate", "vpn", "anonymous_proxy", "anon", "proxy", "_", "x%_\\", ",",
                 "a,b", "tor", "or"]  # fmt: skip

TEXT_FIELDS = [
    "app",
    "instance",
    "activity_type",
    "action",
    "outcome_detail",
    "actor.id",
    "actor.name",
    "actor.email",
    "actor.type",
    "src_ip",
    "geo.country",
    "geo.country_code",
    "geo.city",
    "isp",
    "user_agent",
    "device",
    "severity",
    "description",
    "targets.name",
    "targets.id",
]
DYNAMIC_FIELDS = ["raw.a.b", "raw.l", "raw.missing", "details.a.b", "raw.l.b"]

maybe_text = st.sampled_from([*TEXTS, None])
maybe_address = st.sampled_from([*TEXTS, *ADDRESSES, None])


@st.composite
def activities(draw: st.DrawFn, instance: str) -> list[Activity]:
    n = draw(st.integers(0, 8))
    out = []
    for i in range(n):
        geo = draw(
            st.one_of(
                st.none(),
                st.builds(
                    Geo,
                    country=maybe_text,
                    country_code=st.sampled_from(CODES),
                    city=maybe_text,
                    lat=st.sampled_from([None, -1.5, 0.0, 2.25]),
                ),
            )
        )
        raw_value = st.one_of(
            st.sampled_from(RAW_SCALARS),
            st.lists(st.sampled_from(RAW_SCALARS), max_size=3),
            st.fixed_dictionaries({"b": st.sampled_from(RAW_SCALARS)}),
        )
        raw = draw(
            st.fixed_dictionaries(
                {"a": st.fixed_dictionaries({"b": raw_value})},
                optional={"l": st.lists(raw_value, max_size=3)},
            )
        )
        out.append(
            Activity(
                time=T0
                + timedelta(
                    seconds=draw(st.integers(0, 3)), microseconds=draw(st.sampled_from([0, 1]))
                ),
                app=draw(st.sampled_from(["okta", "office365", "a"])),
                source_event_id=f"e{i}",
                activity_type=draw(st.sampled_from(TEXTS)),
                category=draw(st.sampled_from(list(Category))),
                action=draw(st.sampled_from(TEXTS)),
                outcome=draw(st.sampled_from(list(Outcome))),
                outcome_detail=draw(maybe_text),
                actor=Actor(
                    id=draw(maybe_address),
                    name=draw(maybe_address),
                    email=draw(st.sampled_from(EMAILS)),
                    type=draw(maybe_text),
                ),
                raw=raw,
                instance=instance,
                targets=tuple(
                    draw(st.lists(st.builds(Target, id=maybe_text, name=maybe_address), max_size=2))
                ),
                src_ip=draw(st.sampled_from(IPS_ALL)),
                geo=geo,
                asn=draw(st.sampled_from([None, 0, 1, 65000])),
                isp=draw(maybe_text),
                user_agent=draw(maybe_text),
                device=draw(maybe_text),
                severity=draw(maybe_text),
                description=draw(st.sampled_from(TEXTS)),
                details=draw(
                    st.fixed_dictionaries(
                        {}, optional={"a": st.fixed_dictionaries({"b": raw_value})}
                    )
                ),
            )
        )
    return out


def _text_condition() -> st.SearchStrategy[Condition]:
    string_ops = [Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH]
    single = st.builds(
        Condition,
        field=st.sampled_from(TEXT_FIELDS),
        op=st.sampled_from(string_ops),
        value=st.sampled_from([t for t in [*TEXTS, *EMAILS, *CODES, *IPS, "inst", "okta"] if t]),
        ignore_case=st.booleans(),
    )
    listed = st.builds(
        Condition,
        field=st.sampled_from(TEXT_FIELDS),
        op=st.sampled_from([Op.IN, Op.NOT_IN]),
        value=st.lists(st.sampled_from([*TEXTS, *EMAILS[:4], "US"]), min_size=1, max_size=3).map(
            tuple
        ),
        ignore_case=st.booleans(),
    )
    is_set = st.builds(
        Condition,
        field=st.sampled_from([*TEXT_FIELDS, "asn", "geo.lat", "time", *DYNAMIC_FIELDS]),
        op=st.just(Op.IS_SET),
        value=st.booleans(),
    )
    return st.one_of(single, listed, is_set)


def _other_condition() -> st.SearchStrategy[Condition]:
    cidr = st.builds(
        Condition,
        field=st.sampled_from(["src_ip", "raw.a.b", "raw.l"]),
        op=st.just(Op.CIDR),
        value=st.lists(st.sampled_from(NETWORKS), min_size=1, max_size=2).map(tuple),
    )
    numeric = st.builds(
        Condition,
        field=st.sampled_from(["asn", "geo.lat", "raw.a.b", "raw.l"]),
        op=st.sampled_from([Op.EQUALS, Op.NOT_EQUALS, Op.GT, Op.GTE, Op.LT, Op.LTE]),
        value=st.sampled_from(NUMBERS),
    )
    times = st.builds(
        Condition,
        field=st.just("time"),
        op=st.sampled_from([Op.EQUALS, Op.NOT_EQUALS, Op.GT, Op.GTE, Op.LT, Op.LTE]),
        value=st.sampled_from(
            [T0 + timedelta(seconds=s, microseconds=m) for s in range(4) for m in (0, 1)]
        ),
    )
    choices = st.one_of(
        st.builds(
            Condition,
            field=st.just("category"),
            op=st.sampled_from([Op.EQUALS, Op.NOT_EQUALS]),
            value=st.sampled_from([c.value for c in Category][:4]),
        ),
        st.builds(
            Condition,
            field=st.just("outcome"),
            op=st.sampled_from([Op.IN, Op.NOT_IN]),
            value=st.lists(st.sampled_from([o.value for o in Outcome]), min_size=1, max_size=2).map(
                tuple
            ),
        ),
    )
    dynamic = st.builds(
        Condition,
        field=st.sampled_from(DYNAMIC_FIELDS),
        op=st.sampled_from(
            [Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.IN]
        ),
        value=st.sampled_from([v for v in RAW_SCALARS if v is not None]),
        ignore_case=st.booleans(),
    ).map(
        lambda c: Condition(c.field, c.op, (c.value,) if c.op is Op.IN else c.value, c.ignore_case)
    )
    external = st.builds(
        Condition,
        field=st.sampled_from(["raw.a.b", "raw.l", "details.a.b", "targets.name", "actor.id"]),
        op=st.just(Op.EXTERNAL_ADDRESS),
        value=st.booleans(),
    )
    return st.one_of(cidr, numeric, times, choices, dynamic, external)


def _enrichment_condition() -> st.SearchStrategy[Condition]:
    string_ops = [Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH]
    single = st.builds(
        Condition,
        field=st.sampled_from(ENRICH_TEXT_FIELDS),
        op=st.sampled_from(string_ops),
        value=st.sampled_from(ENRICH_VALUES),
        ignore_case=st.booleans(),
    )
    listed = st.builds(
        Condition,
        field=st.sampled_from(ENRICH_TEXT_FIELDS),
        op=st.sampled_from([Op.IN, Op.NOT_IN]),
        value=st.lists(st.sampled_from(ENRICH_VALUES), min_size=1, max_size=3).map(tuple),
        ignore_case=st.booleans(),
    )
    is_set = st.builds(
        Condition,
        field=st.sampled_from(
            [*ENRICH_TEXT_FIELDS, "enrich.lat", "enrich.asn", "enrich.coarse", "enrich.ip_reserved"]
        ),
        op=st.just(Op.IS_SET),
        value=st.booleans(),
    )
    numeric = st.builds(
        Condition,
        field=st.sampled_from(["enrich.lat", "enrich.lon", "enrich.asn"]),
        op=st.sampled_from([Op.EQUALS, Op.NOT_EQUALS, Op.GT, Op.GTE, Op.LT, Op.LTE]),
        value=st.sampled_from(NUMBERS),
    )
    flags = st.builds(
        Condition,
        field=st.sampled_from(["enrich.coarse", "enrich.ip_reserved"]),
        op=st.sampled_from([Op.EQUALS, Op.NOT_EQUALS]),
        value=st.booleans(),
    )
    return st.one_of(single, listed, is_set, numeric, flags)


def _valid(c: Condition) -> Condition | None:
    try:
        checked = check(c)
    except DocumentError:
        return None
    assert isinstance(checked, Condition)
    return checked


leaves = (
    st.one_of(_text_condition(), _other_condition(), _enrichment_condition())
    .map(_valid)
    .filter(lambda c: c is not None)
)
enrichment_leaves = _enrichment_condition().map(_valid).filter(lambda c: c is not None)


def _tree(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    group = st.lists(children, max_size=3).map(tuple)
    return st.one_of(group.map(AllOf), group.map(AnyOf), children.map(Not))


filters: st.SearchStrategy[Filter] = st.recursive(leaves, _tree, max_leaves=6)  # type: ignore[arg-type]
enrichment_filters: st.SearchStrategy[Filter] = st.recursive(
    enrichment_leaves,  # type: ignore[arg-type]
    _tree,
    max_leaves=4,
)


def _examples(n: int) -> settings:
    """The agreement tests' Hypothesis settings: ``n`` derandomized examples (the same ones
    every run), no deadline or example database, and the store fixture shared by examples."""
    return settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
    )


@pytest.mark.parametrize("ignored", [None])
@_examples(60)
@given(data=st.data())
def test_sql_and_predicate_select_the_same_activities(
    store: Store, data: st.DataObject, ignored: None
) -> None:
    _agree(store, data, filters)


@pytest.mark.parametrize("ignored", [None])
@_examples(40)
@given(data=st.data())
def test_sql_and_predicate_agree_on_stored_enrichment(
    store: Store, data: st.DataObject, ignored: None
) -> None:
    _agree(store, data, enrichment_filters)


def _agree(store: Store, data: st.DataObject, strategy: st.SearchStrategy[Filter]) -> None:
    name = f"inst{next(_counter)}"
    rec = store.add_instance("okta", name, {}, {})
    acts = data.draw(activities(name), label="activities")
    flt = data.draw(strategy, label="filter")
    _store_ranges(store)
    if acts:
        store.save_pages([PageWrite.of(rec.id, "logs", acts, None, enricher=ENRICHER)])
    predicate = compile_predicate(flt)
    expected = {a.source_event_id for a in acts if predicate(a, ENRICHER.enrich(a))}
    found = list(iter_matching(store, flt, ActivityQuery(instance=name), batch_size=3))
    assert {a.source_event_id for a in found} == expected
    assert len(found) == len(expected)
    # the predicate agrees with itself on the activities as the store gives them back
    stored = list(store.iter_activities(ActivityQuery(instance=name)))
    assert {a.source_event_id for a in stored if predicate(a, ENRICHER.enrich(a))} == expected


CASE_WORDS = ["É", "é", "E", "e", "ß", "SS", "ss", "İ", "i", "Σ", "σ", "ς", "Ab", "aB"]


def test_case_folding_agrees_on_every_pair_of_tricky_letters(store: Store) -> None:
    """Exhaustive where random search is thin: every word against every word, exact and
    with ignore_case, for each text operator, on a plain column (actor.type), one held
    lower-cased (actor.email) and one upper-cased (geo.country_code)."""
    name = f"inst{next(_counter)}"
    rec = store.add_instance("okta", name, {}, {})
    acts = [
        Activity(
            time=T0,
            app="okta",
            source_event_id=f"w{i}",
            activity_type="t",
            category=Category.LOGON,
            action="a",
            outcome=Outcome.SUCCESS,
            actor=Actor(type=w, email=w + "@x.org"),
            raw={},
            instance=name,
            geo=Geo(country_code=w),
        )
        for i, w in enumerate(CASE_WORDS)
    ]
    save(store, rec.id, acts)
    q = ActivityQuery(instance=name)
    for field in ("actor.type", "actor.email", "geo.country_code"):
        for word in CASE_WORDS:
            for op in (Op.EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.IN):
                for ignore_case in (False, True):
                    value = (word,) if op is Op.IN else word
                    flt = check(Condition(field, op, value, ignore_case))
                    pred = compile_predicate(flt)
                    want = {a.source_event_id for a in acts if pred(a, None)}
                    got = {a.source_event_id for a in iter_matching(store, flt, q)}
                    assert got == want, (field, op, word, ignore_case)


CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def test_every_enrichment_condition_agrees_on_a_grid(store: Store) -> None:
    """Exhaustive where random search is thin: every enrichment field, operator and pool
    value, exact and with ignore_case, over activities covering every address of the pool
    (tagged by one range, two or none), app places of each code and case, and clients."""
    name = f"inst{next(_counter)}"
    rec = store.add_instance("okta", name, {}, {})
    geos = [
        None,
        Geo(country="United States", country_code="us", city="a", lat=2.25, lon=-1.5),
        Geo(country_code="ß"),
        Geo(country="É"),
    ]
    acts = [
        Activity(
            time=T0,
            app="okta",
            source_event_id=f"g{i}",
            activity_type="t",
            category=Category.LOGON,
            action="a",
            outcome=Outcome.SUCCESS,
            actor=Actor(id="u"),
            raw={},
            instance=name,
            src_ip=ip,
            geo=geo,
            user_agent=ua,
            asn=[None, 1, 65000][i % 3],
            isp=TEXTS[i % len(TEXTS)],
        )
        for i, (ip, geo, ua) in enumerate(itertools.product(IPS_ALL, geos, [None, CHROME, "a"]))
    ]
    _store_ranges(store)
    store.save_pages([PageWrite.of(rec.id, "logs", acts, None, enricher=ENRICHER)])
    enriched = [(a, ENRICHER.enrich(a)) for a in acts]
    assert {t for _, e in enriched for t in e.ip_tags} == {
        "corporate", "vpn", "anonymous_proxy", "tor", "threat_intel"
    }  # fmt: skip
    q = ActivityQuery(instance=name)
    conditions: list[Condition] = []
    for field in ENRICH_TEXT_FIELDS:
        for value in ENRICH_VALUES:
            for op in (Op.EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.IN, Op.NOT_IN):
                for ignore_case in (False, True):
                    given = (value,) if op in (Op.IN, Op.NOT_IN) else value
                    conditions.append(Condition(field, op, given, ignore_case))
        conditions += [Condition(field, Op.IS_SET, b) for b in (True, False)]
    for field in ("enrich.lat", "enrich.lon", "enrich.asn"):
        for op in (Op.EQUALS, Op.NOT_EQUALS, Op.GT, Op.LTE):
            conditions += [Condition(field, op, n) for n in NUMBERS]
    for field in ("enrich.coarse", "enrich.ip_reserved"):
        conditions += [Condition(field, Op.EQUALS, b) for b in (True, False)]
    compared = matched = 0
    for c in conditions:
        flt = _valid(c)
        if flt is None:
            continue
        pred = compile_predicate(flt)
        want = {a.source_event_id for a, e in enriched if pred(a, e)}
        got = {a.source_event_id for a in iter_matching(store, flt, q)}
        assert got == want, c
        compared += 1
        matched += bool(want) and len(want) < len(acts)
    assert compared > 1000 and matched > 300  # the grid discriminates, not all-or-nothing


def test_external_address_agrees_and_discriminates(store: Store) -> None:
    """external_address has no SQL form: the residual decides, on text columns, targets and
    vendor data alike, and it tells addresses of the actor's domain from the others
    (``smtp:`` prefix, case, several addresses in one value, no actor e-mail)."""
    name = f"inst{next(_counter)}"
    rec = store.add_instance("okta", name, {}, {})
    values: list[Any] = [
        "SMTP:Bob@EXAMPLE.com",  # own domain, other case
        "smtp:eve@evil.test",
        "bob@example.com; eve@evil.test",  # one of two outside
        "example.com",  # not an address
        ["bob@example.com", "x@y.org"],
        True,
        None,
    ]
    acts = [
        Activity(
            time=T0,
            app="okta",
            source_event_id=f"x{i}{j}",
            activity_type="t",
            category=Category.LOGON,
            action="a",
            outcome=Outcome.SUCCESS,
            actor=Actor(email=email, name="Ann@Example.com" if email is None else None),
            raw={"a": {"b": v}},
            instance=name,
            description=v if isinstance(v, str) else None,
            targets=(Target(name=v),) if isinstance(v, str) else (),
            details={"param.ForwardTo": v} if v is not None else {},
        )
        for i, v in enumerate(values)
        for j, email in enumerate(["ann@example.com", None, "eve@evil.test"])
    ]
    save(store, rec.id, acts)
    q = ActivityQuery(instance=name)
    fields = ["raw.a.b", "details.param.ForwardTo", "description", "targets.name"]
    for field in fields:
        for want in (True, False):
            flt = check(Condition(field, Op.EXTERNAL_ADDRESS, want))
            pred = compile_predicate(flt)
            expected = {a.source_event_id for a in acts if pred(a, None)}
            got = {a.source_event_id for a in iter_matching(store, flt, q)}
            assert got == expected, (field, want)
    pred = compile_predicate(check(Condition("raw.a.b", Op.EXTERNAL_ADDRESS, True)))
    hits = {a.source_event_id for a in acts if pred(a, None)}
    # actor at example.com (e-mail, or name when no e-mail): evil.test and y.org are outside
    assert {"x10", "x11", "x20", "x21", "x40", "x41"} <= hits
    assert not {"x00", "x01", "x30", "x50", "x60"} & hits
    # an actor at evil.test: example.com is outside, evil.test is not
    assert {"x02", "x22", "x42"} <= hits and "x12" not in hits
