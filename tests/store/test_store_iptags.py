"""Tagged IP ranges in the store, on both engines: add, list, look up, remove, import with
replacement, export, and the tag-set version that every change (and only a change) raises."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.store.conftest import make_activity, save_page

from opencasb.clock import FakeClock
from opencasb.enrich import IpTagMatcher, load_ip_ranges, parse_ip, parse_ip_range
from opencasb.errors import ConfigError, NotFound, StoreError
from opencasb.store import Store
from opencasb.store.ipkey import ip_key
from opencasb.store.iptags import file_source, holds
from opencasb.store.schema import activities, ip_tags


def test_add_list_and_version(store: Store, clock: FakeClock) -> None:
    tags = store.ip_tags
    assert tags.version() == 0 and tags.records() == []
    a = tags.add(" 203.0.113.0/28 ", "VPN", name="Berlin VPN", source="cli", created_by="ana")
    assert (a.network, a.tag, a.name, a.source, a.created_by) == (
        "203.0.113.0/28", "vpn", "Berlin VPN", "cli", "ana"
    )  # fmt: skip
    assert a.created_at == clock.now() and tags.version() == 1
    clock.advance(5)
    b = tags.add("2001:db8::/32", "cloud", source="api:bob", created_by="bob")
    c = tags.add("192.0.2.10-192.0.2.20", "tor", source="cli", created_by="ana")
    assert tags.version() == 3
    assert tags.counts() == {"cloud_provider": 1, "tor": 1, "vpn": 1}
    assert [r.id for r in tags.records()] == [a.id, b.id, c.id]
    assert tags.get(b.id) == b
    assert [r.network for r in tags.records(tag="cloud_provider")] == ["2001:db8::/32"]
    assert [r.id for r in tags.records(after=a.id, limit=1)] == [b.id]
    ranges, version = tags.ranges()
    assert version == 3
    assert ranges == [a.range, b.range, c.range]
    assert ranges[1] == parse_ip_range("2001:db8::/32", "cloud_provider")
    assert ranges[2].last - ranges[2].first == 10


def test_add_refuses_bad_input_and_duplicates_without_changing_anything(store: Store) -> None:
    tags = store.ip_tags
    tags.add("10.0.0.0/8", "corporate", source="cli", created_by="ana")
    for network, tag, name, says in [
        ("10.0.0.5/24", "vpn", "", "host bits set"),
        ("banana", "vpn", "", "is not a network"),
        ("10.0.0.0/8", "9lives", "", "is not a tag"),
        ("10.0.0.0/8", "corporate", "", "already tagged corporate (id 1, from cli)"),
        ("10.9.0.0/16", "vpn", "line\nbreak", "one line"),
        ("10.9.0.0/16", "vpn", "x" * 201, "at most 200"),
    ]:
        with pytest.raises(ConfigError, match=None) as info:
            tags.add(network, tag, name=name, source="api:bob", created_by="bob")
        assert says in str(info.value)
    assert tags.version() == 1 and len(tags.records()) == 1
    # the same network with another tag is another range
    tags.add("10.0.0.0/8", "vpn", source="cli", created_by="ana")
    assert tags.version() == 2


def test_lookup_finds_every_range_that_holds_an_address(store: Store) -> None:
    tags = store.ip_tags
    wide = tags.add("10.0.0.0/8", "corporate", source="cli", created_by="a")
    narrow = tags.add("10.1.2.0/24", "vpn", source="cli", created_by="a")
    tags.add("11.0.0.0/8", "tor", source="cli", created_by="a")
    v6 = tags.add("2001:db8::/32", "cloud", source="cli", created_by="a")
    every = tags.add("::/0", "threat_intel", source="cli", created_by="a")
    assert [r.id for r in tags.lookup("10.1.2.3")] == [wide.id, narrow.id]
    assert [r.id for r in tags.lookup("10.200.0.1")] == [wide.id]
    assert [r.id for r in tags.lookup("::ffff:10.1.2.3")] == [wide.id, narrow.id]
    assert [r.id for r in tags.lookup("2001:db8::7")] == [v6.id, every.id]
    assert tags.lookup("192.0.2.1") == []
    with pytest.raises(ConfigError, match="not an IP address"):
        tags.lookup("10.0.0.0/8")


def test_stored_keys_compare_with_activity_ip_keys(store: Store) -> None:
    """The bounds are activities.ip_key's form: SQL can join ranges to activities."""
    rec = store.ip_tags.add("198.51.100.0/24", "vpn", source="cli", created_by="a")
    with store.engine.connect() as conn:
        row = conn.execute(select(ip_tags).where(ip_tags.c.id == rec.id)).one()
    inside, outside = ip_key("198.51.100.77"), ip_key("198.51.101.0")
    assert inside is not None and outside is not None
    assert bytes(row.first_key) <= bytes.fromhex(inside) <= bytes(row.last_key)
    assert not bytes(row.first_key) <= bytes.fromhex(outside) <= bytes(row.last_key)


def test_holds_joins_ranges_to_stored_activities_as_the_matcher_does(store: Store) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    ips = ["198.51.100.7", "198.51.101.7", "2001:db8::1", "::ffff:198.51.100.9", None]
    acts = [make_activity(i, src_ip=ip) for i, ip in enumerate(ips)]
    save_page(store, iid, "logs", acts, {"n": 1})
    tags = store.ip_tags
    tags.add("198.51.100.0/24", "vpn", source="cli", created_by="a")
    tags.add("::/0", "threat_intel", source="cli", created_by="a")
    tags.add("2001:db8::/32", "cloud", source="cli", created_by="a")
    q = (
        select(activities.c.source_event_id, ip_tags.c.tag)
        .join(ip_tags, holds(activities.c.ip_key))
        .order_by(activities.c.source_event_id, ip_tags.c.tag)
    )
    with store.engine.connect() as conn:
        pairs = [tuple(r) for r in conn.execute(q)]
    matcher = IpTagMatcher(tags.ranges()[0])
    expected = sorted(
        (a.source_event_id, t) for a in acts for t in matcher.tags(parse_ip(a.src_ip))
    )
    assert pairs == expected
    assert ("evt-000000", "vpn") in pairs and ("evt-000003", "vpn") in pairs
    assert {t for e, t in pairs if e == "evt-000002"} == {"cloud_provider", "threat_intel"}


def test_remove_by_id_by_network_and_by_tag(store: Store) -> None:
    tags = store.ip_tags
    a = tags.add("192.0.2.7", "tor", source="cli", created_by="a")
    tags.add("192.0.2.7/32", "threat_intel", source="api:bob", created_by="bob")
    c = tags.add("198.51.100.0/24", "vpn", source="cli", created_by="a")
    v = tags.version()
    assert [r.tag for r in tags.remove("192.0.2.7/32", tag="threat")] == ["threat_intel"]
    assert tags.version() == v + 1
    assert [r.id for r in tags.remove("192.0.2.7")] == [a.id]  # any spelling of the network
    assert [r.id for r in tags.remove(str(c.id))] == [c.id]
    assert tags.records() == [] and tags.version() == v + 3
    with pytest.raises(NotFound, match="no stored range"):
        tags.remove("198.51.100.0/24")
    with pytest.raises(NotFound):
        tags.remove("12345")
    with pytest.raises(ConfigError, match="host bits"):
        tags.remove("198.51.100.1/24")
    assert tags.version() == v + 3


def test_import_replaces_the_files_previous_ranges_and_keeps_the_others(
    store: Store, clock: FakeClock
) -> None:
    tags = store.ip_tags
    mine = tags.add("203.0.113.0/24", "tor", source="cli", created_by="ana")
    first = [
        parse_ip_range("185.220.102.0/24", "tor", name="exits"),
        parse_ip_range("185.220.103.0/24", "tor"),
        parse_ip_range("185.220.103.0/24", "tor"),  # a duplicate counts once
    ]
    done = tags.import_ranges("file:tor.txt", first, created_by="ana")
    assert (done.added, done.removed, done.unchanged) == (2, 0, 0) and done.version == 2
    before = {r.network: r for r in tags.records() if r.source == "file:tor.txt"}
    clock.advance(3600)
    second = [
        parse_ip_range("185.220.102.0/24", "tor", name="exit relays"),
        parse_ip_range("185.220.104.0/24", "tor"),
    ]
    done = tags.import_ranges("file:tor.txt", second, created_by="bob")
    assert (done.added, done.removed, done.unchanged) == (1, 1, 1) and done.version == 3
    now = {r.network: r for r in tags.records() if r.source == "file:tor.txt"}
    assert sorted(now) == ["185.220.102.0/24", "185.220.104.0/24"]
    kept = now["185.220.102.0/24"]
    assert kept.id == before["185.220.102.0/24"].id and kept.name == "exit relays"
    assert kept.created_at == before["185.220.102.0/24"].created_at
    assert now["185.220.104.0/24"].created_by == "bob"
    assert tags.records()[0] == mine  # another source's range of the same tag stays
    # the same file again changes nothing, so the version stays
    again = tags.import_ranges("file:tor.txt", second, created_by="bob")
    assert (again.added, again.removed, again.unchanged, again.version) == (0, 0, 2, 3)
    assert tags.version() == 3


def test_import_with_replace_tags_becomes_the_whole_list_for_them(store: Store) -> None:
    tags = store.ip_tags
    tags.add("203.0.113.0/24", "tor", source="cli", created_by="a")
    keep = tags.add("198.51.100.0/24", "vpn", source="cli", created_by="a")
    tags.import_ranges("file:old.txt", [parse_ip_range("192.0.2.0/24", "tor")], created_by="a")
    done = tags.import_ranges(
        "file:new.txt",
        [parse_ip_range("185.220.102.0/24", "tor")],
        created_by="a",
        replace_tags=["TOR"],
    )
    assert (done.added, done.removed) == (1, 2)
    assert [(r.network, r.source) for r in tags.records()] == [
        (keep.network, "cli"),
        ("185.220.102.0/24", "file:new.txt"),
    ]
    with pytest.raises(ConfigError, match="is not a tag"):
        tags.import_ranges("file:x", [], created_by="a", replace_tags=["9"])


def test_import_is_atomic(store: Store) -> None:
    """A failure half-way (here: the database refuses a row) leaves the old ranges whole."""
    tags = store.ip_tags
    tags.import_ranges("file:a.txt", [parse_ip_range("192.0.2.0/24", "tor")], created_by="a")
    before, version = tags.records(), tags.version()
    broken = parse_ip_range("198.51.100.0/24", "tor")
    object.__setattr__(broken, "tag", None)  # NOT NULL: the insert fails after the delete
    with pytest.raises(StoreError, match=r"(?i)null"):
        tags.import_ranges("file:a.txt", [broken], created_by="a")
    assert tags.records() == before and tags.version() == version


def test_export_reads_back_as_the_same_ranges(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tags = store.ip_tags
    tags.add("2001:db8::/32", "cloud", name="Acme, Inc. #1 cloud", source="cli", created_by="a")
    tags.add("10.0.0.0/8", "corporate", name="HQ", source="cli", created_by="a")
    tags.import_ranges("file:x", [parse_ip_range("10.0.0.0/8", "corporate")], created_by="a")
    tags.add("9.0.0.0/8", "corporate", source="cli", created_by="a")
    tags.add("8.8.8.0/24", "dns", name="=HYPERLINK(1)", source="cli", created_by="a")
    assert tags.export_csv(tag="dns").splitlines()[1] == "8.8.8.0/24,dns,'=HYPERLINK(1)"
    tags.remove("8.8.8.0/24")
    text = tags.export_csv()
    assert text.splitlines()[0] == "network,tag,name"
    assert text.splitlines()[1:] == [
        '2001:db8::/32,cloud_provider,"Acme, Inc. 1 cloud"',
        "9.0.0.0/8,corporate,",
        "10.0.0.0/8,corporate,HQ",
    ]
    path = tmp_path / "out.csv"
    path.write_text(text)
    back = load_ip_ranges(path)
    assert {(r.network, r.tag) for r in back} == {(r.network, r.tag) for r in tags.ranges()[0]}
    assert tags.export_csv(tag="cloud").splitlines()[1:] == [text.splitlines()[1]]
    matcher = IpTagMatcher(back)
    assert matcher.tags(parse_ip("10.1.1.1")) == {"corporate"}


def test_file_source_is_the_base_name() -> None:
    assert file_source("/etc/opencasb/tor.txt") == "file:tor.txt"
    assert file_source("C:\\lists\\vpn.csv") == "file:vpn.csv"
    with pytest.raises(ConfigError):
        file_source("dir/")


def test_concurrent_imports_of_one_file_both_succeed(store: Store) -> None:
    """Two processes importing the same file at once run one after the other (the tag-set
    row's lock), so neither fails on the unique key and the rows are the file's, once."""
    import threading

    ranges = [parse_ip_range(f"10.{i}.0.0/16", "vpn") for i in range(200)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            store.ip_tags.import_ranges("file:vpn.txt", ranges, created_by="a")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(store.ip_tags.records()) == 200 and store.ip_tags.version() == 1
