"""query_activities: every filter, CIDR v4/v6, keyset pagination, damaged rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from opencasb.errors import ConfigError, NotFound, StoreError
from opencasb.model.activity import Actor, Geo, Outcome, Target
from opencasb.store import ActivityQuery, Store
from opencasb.store.body import compress
from opencasb.store.codec import body_plaintext

from .conftest import save_page

ALICE = Actor("00uALICE", "Alice Smith", "Alice@Example.com", "User")
BOB = Actor("00uBOB", "Bob Jones", "bob@example.com", "User")
CAROL = Actor("00uCAROL", "Carol", None, "User")
US = Geo("United States", "US")
DE = Geo("Germany", "DE")
FR = Geo("France", "fr")


@pytest.fixture
def data(store: Store, act: Any) -> Store:
    """Six activities over two instances, ids e0..e5, e5 newest."""
    acme = store.add_instance("okta", "acme", {}, {}).id
    o365 = store.add_instance("office365", "contoso", {}, {}).id
    rows = [
        act(0, source_event_id="e0", actor=ALICE, src_ip="10.1.2.3", geo=US),
        act(
            1,
            source_event_id="e1",
            actor=BOB,
            src_ip="10.200.0.1",
            geo=DE,
            outcome=Outcome.FAILURE,
            activity_type="user.authentication.auth_via_mfa",
        ),
        act(
            2,
            source_event_id="e2",
            actor=CAROL,
            src_ip="2001:db8::5",
            geo=FR,
            action="Update password",
            activity_type="user.account.update_password",
            targets=(Target(id="00uX", type="User", name="Zed 100% Admin"),),
        ),
        act(
            3,
            source_event_id="e3",
            actor=ALICE,
            src_ip="192.168.1.1",
            geo=None,
            description="Login from a new device",
        ),
    ]
    save_page(store, acme, "logs", rows, {})
    save_page(
        store,
        o365,
        "Audit.General",
        [
            act(
                4,
                source_event_id="e4",
                app="office365",
                actor=ALICE,
                src_ip="2001:db8:1::1",
                geo=US,
                activity_type="FileAccessed",
            ),
            act(
                5,
                source_event_id="e5",
                app="office365",
                actor=BOB,
                src_ip=None,
                geo=None,
                activity_type="FileAccessed",
            ),
        ],
        {},
    )
    return store


def ids(store: Store, **kw: Any) -> list[str]:
    return [a.source_event_id for a in store.query_activities(ActivityQuery(**kw)).items]


def test_no_filter_newest_first(data: Store) -> None:
    page = data.query_activities(ActivityQuery())
    assert [a.source_event_id for a in page.items] == ["e5", "e4", "e3", "e2", "e1", "e0"]
    assert page.next_after is None
    assert {a.instance for a in page.items} == {"acme", "contoso"}


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"app": "office365"}, ["e5", "e4"]),
        ({"instance": "acme"}, ["e3", "e2", "e1", "e0"]),
        ({"user": "alice@example.com"}, ["e4", "e3", "e0"]),
        ({"user": "ALICE@EXAMPLE.COM"}, ["e4", "e3", "e0"]),
        ({"user": "00ubob"}, ["e5", "e1"]),
        ({"user": "carol"}, ["e2"]),
        ({"user": "alice smith", "instance": "acme"}, ["e3", "e0"]),
        ({"user": "nobody"}, []),
        ({"activity_type": "FileAccessed"}, ["e5", "e4"]),
        ({"action": "Update password"}, ["e2"]),
        ({"outcome": Outcome.FAILURE}, ["e1"]),
        ({"outcome": "SUCCESS", "app": "okta"}, ["e3", "e2", "e0"]),
        ({"ip": "10.1.2.3"}, ["e0"]),
        ({"ip": "10.0.0.0/8"}, ["e1", "e0"]),
        ({"ip": "10.128.0.0/9"}, ["e1"]),
        ({"ip": "192.168.0.0/16"}, ["e3"]),
        ({"ip": "2001:db8::/32"}, ["e4", "e2"]),
        ({"ip": "2001:db8::5"}, ["e2"]),
        ({"ip": "2001:db8:1::/48"}, ["e4"]),
        ({"ip": "::ffff:0:0/96"}, ["e3", "e1", "e0"]),  # every IPv4 address
        ({"ip": "0.0.0.0/0"}, ["e3", "e1", "e0"]),
        ({"country": "us"}, ["e4", "e0"]),
        ({"country": "FR"}, ["e2"]),
        ({"country": "germany"}, ["e1"]),
        ({"text": "NEW DEVICE"}, ["e3"]),
        ({"text": "100% admin"}, ["e2"]),
        ({"text": "100%_"}, []),  # LIKE wildcards are literal
        ({"text": "salesforce", "user": "bob@example.com"}, ["e5", "e1"]),
        ({"user": "alice@example.com", "app": "okta", "ip": "192.168.0.0/16"}, ["e3"]),
    ],
)
def test_filters(data: Store, kw: dict[str, Any], expected: list[str]) -> None:
    assert ids(data, **kw) == expected


def test_time_bounds(data: Store, act: Any) -> None:
    t0 = act(0).time
    assert ids(data, since=t0 + timedelta(seconds=2)) == ["e5", "e4", "e3", "e2"]
    assert ids(data, until=t0 + timedelta(seconds=2)) == ["e1", "e0"]
    assert ids(data, since=t0 + timedelta(seconds=1), until=t0 + timedelta(seconds=3)) == [
        "e2",
        "e1",
    ]


def test_unknown_instance(data: Store) -> None:
    with pytest.raises(NotFound):
        ids(data, instance="nope")


@pytest.mark.parametrize(
    "kw",
    [
        {"ip": "10.0.0.300"},
        {"ip": "nonsense/8"},
        {"outcome": "maybe"},
        {"limit": 0},
        {"limit": 10_001},
        {"after": "!!!"},
        {"after": "bm90LWEtdG9rZW4"},
    ],
)
def test_bad_input_is_a_config_error(data: Store, kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        data.query_activities(ActivityQuery(**kw))


def test_keyset_pagination_with_equal_timestamps(store: Store, act: Any) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    t = act(0).time
    # 25 activities on 5 distinct timestamps, stored over three pages in mixed order.
    batch = [act(i, time=t + timedelta(seconds=i % 5)) for i in range(25)]
    save_page(store, iid, "logs", batch[10:], {})
    save_page(store, iid, "logs", batch[:5], {})
    save_page(store, iid, "logs", batch[5:10], {})
    seen: list[Any] = []
    q = ActivityQuery(limit=4)
    pages = 0
    while True:
        page = store.query_activities(q)
        pages += 1
        seen += page.items
        assert len(page.items) <= 4
        if page.next_after is None:
            break
        q = ActivityQuery(limit=4, after=page.next_after)
    assert pages == 7
    assert sorted(a.source_event_id for a in seen) == sorted(a.source_event_id for a in batch)
    assert len({a.source_event_id for a in seen}) == 25
    times = [a.time for a in seen]
    assert times == sorted(times, reverse=True)


def test_pagination_with_user_filter(data: Store) -> None:
    first = data.query_activities(ActivityQuery(user="alice@example.com", limit=2))
    assert [a.source_event_id for a in first.items] == ["e4", "e3"]
    assert first.next_after is not None
    rest = data.query_activities(
        ActivityQuery(user="alice@example.com", limit=2, after=first.next_after)
    )
    assert [a.source_event_id for a in rest.items] == ["e0"]
    assert rest.next_after is None


def test_exact_page_size_has_no_empty_next_page(data: Store) -> None:
    assert data.query_activities(ActivityQuery(limit=6)).next_after is None


DAMAGE = ["not zstd", "truncated frame", "raw", "fields", "layout", "category", "details"]
DAMAGE += ["targets"]


def _damaged_bodies(act: Any) -> dict[str, bytes]:
    good = body_plaintext(act(0))
    fields, raw = good.split(b"\n", 1)
    listed = orjson.loads(fields)
    return {
        "not zstd": b"{not json",
        "truncated frame": compress("okta", good)[:-5],
        "raw": compress("okta", fields + b"\n{not json"),
        "fields": compress("okta", b"[1,{not json\n" + raw),
        "layout": compress("okta", orjson.dumps([9, *listed[1:]]) + b"\n" + raw),
        "category": compress("okta", orjson.dumps([1, "nope", *listed[2:]]) + b"\n" + raw),
        "details": compress("okta", orjson.dumps([*listed[:-1], [1]]) + b"\n" + raw),
        "targets": compress("okta", orjson.dumps([*listed[:-2], [{"x": 1}], {}]) + b"\n" + raw),
    }


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_row_names_its_id(data: Store, act: Any, damage: str) -> None:
    with data.engine.begin() as conn:
        row_id = conn.execute(
            text("SELECT id FROM activities WHERE source_event_id = 'e2'")
        ).scalar()
        conn.execute(
            text("UPDATE activities SET body = :b WHERE id = :i"),
            {"i": row_id, "b": _damaged_bodies(act)[damage]},
        )
    with pytest.raises(StoreError, match=f"activities row {row_id}"):
        data.query_activities(ActivityQuery())
    assert ids(data, user="bob@example.com") == ["e5", "e1"]  # other rows still readable
