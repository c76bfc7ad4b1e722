"""The compact activities layout (revision 0002): reads return exactly what the old layout
returned, the migration converts old rows on both engines, and every filter uses an index.

"Before" is the old layout as ``bench/old_layout.py`` keeps it (a frozen copy of the old
encoder and reader); the records are the published samples (Okta and Office 365, normalized
by the apps' own normalizers, raw text as fetched) and the suite's own activities.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from tests.conftest import sqlite_plan

from opencasb.apps.office365.normalize import normalize as o365_normalize
from opencasb.apps.okta.normalize import normalize as okta_normalize
from opencasb.model.activity import Activity, Geo, Target
from opencasb.store import ActivityQuery, PageWrite, Store, open_store
from opencasb.store.codec import dumps
from opencasb.store.engine import migration_config
from opencasb.store.pages import encode_activities
from opencasb.store.query import build_select

from .conftest import KEY, save_page

_ROOT = Path(__file__).resolve().parents[2]


def _load_old_layout() -> ModuleType:
    spec = importlib.util.spec_from_file_location("old_layout", _ROOT / "bench" / "old_layout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_layout"] = module
    spec.loader.exec_module(module)
    return module


old = _load_old_layout()


def _samples_dir() -> Path | None:
    for parent in _ROOT.parents:
        candidate = parent / "shared" / "samples"
        if candidate.is_dir():
            return candidate
    return None


def sample_activities() -> Iterator[tuple[Activity, str]]:
    """Each published sample record that its app's normalizer accepts, with its text."""
    samples = _samples_dir()
    if samples is None:
        return
    for app, normalize in (("okta", okta_normalize), ("office365", o365_normalize)):
        for path in sorted((samples / app).glob("*.jsonl")):
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                try:
                    yield normalize(orjson.loads(line)), line
                except Exception:
                    continue  # quarantined at ingest; nothing to store


def _unusual(act: Any) -> list[Activity]:
    """Activities at the edges of the fields the body keeps."""
    return [
        act(9001, source_event_id="odd-geo", geo=Geo(lat=0.0, lon=-0.5), src_ip="::1"),
        act(9002, source_event_id="no-geo", geo=None, src_ip=None, targets=(), details={}),
        act(
            9003,
            source_event_id="unicode",
            description="Ünïcode ✓ \u2028 line\nbreak",
            targets=(Target(None, None, "名前", None),),
            details={"k": [1, 2.5, None, True, {"deep": "x" * 300}]},
            raw={"big": 2**70, "s": "é\n", "list": [1.0, -0.0]},
        ),
        act(9004, source_event_id="bad-ip", src_ip="not an ip", user_agent=None),
    ]


def _all_rows(store: Store) -> list[Activity]:
    return sorted(store.iter_activities(ActivityQuery()), key=lambda a: a.source_event_id)


def _fill(store: Store, write: Any, act: Any) -> None:
    okta = store.add_instance("okta", "acme", {}, {}).id
    o365 = store.add_instance("office365", "contoso", {}, {}).id
    pairs = list(sample_activities())
    for iid, app in ((okta, "okta"), (o365, "office365")):
        mine = [(a, t) for a, t in pairs if a.app == app]
        if mine:
            write(store, iid, [a for a, _ in mine], [t for _, t in mine])
    own = [act(i) for i in range(40)] + _unusual(act)
    write(store, okta, own, None)


def _old_reads(store: Store) -> list[Activity]:
    names = {r.id: r.name for r in store.list_instances()}
    with store.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {', '.join(old.READ_COLUMNS)} FROM activities"))
        return sorted((old.old_activity(r, names) for r in rows), key=lambda a: a.source_event_id)


def _save_new(store: Store, iid: int, batch: list[Activity], texts: list[str] | None) -> None:
    if texts is None:
        save_page(store, iid, "logs", batch, {})
        return
    page = encode_activities(iid, batch, texts=texts)
    store.save_pages([PageWrite(iid, "logs", page, texts, {})])


def test_samples_are_present_or_the_comparison_is_thin() -> None:
    if _samples_dir() is None:
        pytest.skip("the shared samples folder is absent")
    apps = {a.app for a, _ in sample_activities()}
    assert apps == {"okta", "office365"}


def test_new_layout_reads_what_the_old_layout_read(
    store_url: str, tmp_path: Path, act: Any
) -> None:
    before = old.open_old_store(f"sqlite:///{tmp_path / 'old.db'}", KEY)
    try:
        _fill(before, old.save_old_page, act)
        expected = _old_reads(before)
    finally:
        before.close()
    after = open_store(store_url, key=KEY)
    try:
        _fill(after, _save_new, act)
        got = _all_rows(after)
    finally:
        after.close()
    assert len(got) == len(expected) > 40
    assert got == expected
    # exports serialize what is read: equal Activities, equal JSON (int vs float included)
    # (but for the 2**70 in one raw record, which JSON Lines of a whole Activity cannot hold)
    plain = [a for a in got if a.source_event_id != "unicode"]
    assert [dumps(a) for a in plain] == [dumps(a) for a in expected if a in plain]


def test_migration_converts_old_rows_in_batches(store_url: str, act: Any) -> None:
    before = old.open_old_store(store_url, KEY)
    try:
        _fill(before, old.save_old_page, act)
        iid = before.get_instance("acme").id
        many = [act(i, source_event_id=f"bulk-{i}") for i in range(100, 100 + 11_000)]
        for start in range(0, len(many), 2000):
            old.save_old_page(before, iid, many[start : start + 2000])
        expected = _old_reads(before)
    finally:
        before.close()
    migrated = open_store(store_url, key=KEY)  # runs 0002 on the old rows
    try:
        got = _all_rows(migrated)
        assert len(got) == len(expected)
        assert got == expected
        with migrated.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        # migrated to the head (later revisions run after 0004)
        assert version == ScriptDirectory.from_config(migration_config()).get_current_head()
        # ingest and every filter keep working on converted rows
        save_page(migrated, iid, "logs", [act(50_000, source_event_id="after")], {})
        ip_hits = migrated.query_activities(ActivityQuery(ip="198.51.100.7", limit=10_000))
        assert {a.src_ip for a in ip_hits.items} == {"198.51.100.7"}
        assert len(ip_hits.items) == sum(1 for a in expected if a.src_ip == "198.51.100.7")
        user = migrated.query_activities(ActivityQuery(user="user3@example.com", limit=5))
        assert user.items and all(a.actor.email == "user3@example.com" for a in user.items)
    finally:
        migrated.close()


NEEDLES = [
    "salesforce",
    "SALESFORCE",
    "User login",
    "alternate_id",  # a key of the targets' JSON
    '"eventType"',
    "Ünïcode",
    "üNÏCODE",  # non-ASCII case folding: SQLite's LIKE does not, PostgreSQL's ILIKE does
    "line\nbreak",
    "\u2028",
    "名前",
    "100%",
    "_",
    "x" * 50,
    "0oa1",
    "no such text anywhere",
    "\\",
]


def test_text_filter_matches_as_like_did(store_url: str, act: Any) -> None:
    """Old layout: LIKE/ILIKE in SQL. New: matched in Python over the decoded body. Same
    rows for every needle, on both engines (the old rows converted by the migration)."""
    sqlite = store_url.startswith("sqlite")
    before = old.open_old_store(store_url, KEY)
    try:
        _fill(before, old.save_old_page, act)
        like = "LIKE" if sqlite else "ILIKE"
        expected = {
            n: [
                a.source_event_id
                for a in old.old_query(before, text_filter=n, like=like, limit=10_000)
            ]
            for n in NEEDLES
        }
    finally:
        before.close()
    after = open_store(store_url, key=KEY)
    try:
        got = {
            n: [a.source_event_id for a in after.iter_activities(ActivityQuery(text=n))]
            for n in NEEDLES
        }
        paged = after.query_activities(ActivityQuery(text="salesforce", limit=3))
    finally:
        after.close()
    assert got == expected
    assert expected["salesforce"] and not expected["no such text anywhere"]
    assert [a.source_event_id for a in paged.items] == expected["salesforce"][:3]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (ActivityQuery(), "ix_activities_time_id"),
        (ActivityQuery(instance="acme"), "ix_activities_instance_id_time_id"),
        (ActivityQuery(ip="10.0.0.0/8"), "ix_activities_ip_key_time_id"),
        (ActivityQuery(ip="10.0.0.1"), "ix_activities_ip_key_time_id"),
        (ActivityQuery(user="u"), "ix_activities_actor_ref_time_id"),
        (ActivityQuery(activity_type="x"), "ix_activities_time_id"),
        (ActivityQuery(action="x", outcome="failure"), "ix_activities_time_id"),
        (ActivityQuery(country="JP"), "ix_activities_enrich_cc_time_id"),
        (ActivityQuery(country="Japan"), "ix_activities_time_id"),
        (ActivityQuery(app="okta", text="x"), "ix_activities_time_id"),
    ],
    ids=str,
)
def test_every_filter_is_served_by_an_index(
    tmp_path: Path, query: ActivityQuery, index: str
) -> None:
    """EXPLAIN QUERY PLAN on SQLite: each filter reads an index, never the whole table."""
    store = open_store(f"sqlite:///{tmp_path / 'plan.db'}", key=KEY)
    try:
        store.add_instance("okta", "acme", {}, {})
        names = {r.id: r.name for r in store.list_instances()}
        refs = [1] if query.user else None
        stmt = build_select(query, names, 101, refs, sqlite=True)
        plan = sqlite_plan(store, stmt)
    finally:
        store.close()
    text_plan = "\n".join(plan)
    assert index in text_plan, text_plan
    assert not any(step.startswith("SCAN activities") and "INDEX" not in step for step in plan)
    if query.ip is None or query.ip.endswith(".1"):
        assert "TEMP B-TREE" not in text_plan, text_plan  # read in order, no sort


def test_dataclass_equality_covers_every_field() -> None:
    """The comparisons above compare whole Activities: a field added to Activity is
    compared too (this guards the guard)."""
    names = {f.name for f in dataclasses.fields(Activity)}
    assert {"raw", "details", "targets", "geo", "description", "instance"} <= names
