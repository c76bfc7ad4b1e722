"""The detection stage decodes only the activities an engine looks into, on both engines
(:mod:`opencasb.store.observed`, :class:`~opencasb.store.observed.Observed`): rows stored
before migration 0016 (their detection columns NULL) give the same alerts and state as rows
with them; a damaged body no policy or detector needs does not stop the stage, and one that
an enabled policy, or a detector on a suspended user, needs stops the pass with a
StoreError naming the row, committing nothing; an Observed made from a row is the one made
from its decoded activity, enriched once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from sqlalchemy import text
from tests.conftest import KEY, PG_DSN
from tests.store.conftest import T0, make_activity, okta_instance, save_page

from opencasb.clock import FakeClock
from opencasb.detect import read_policies
from opencasb.detect.anomaly import AnomalySettings
from opencasb.detect.stage import ANOMALY_STAGE, STAGE, DetectionStage, store_policy
from opencasb.enrich import Enrichment
from opencasb.errors import StoreError
from opencasb.model.activity import Activity, Actor, Category, Outcome
from opencasb.model.inventory import Account
from opencasb.store import PageWrite, Store, open_store
from opencasb.store.codec import CORRUPT_FIX
from opencasb.store.observed import Observed

NOW = T0 + timedelta(hours=2)
DISABLED = "anomaly.disabled_user_activity"
STRASSE = Actor(id="00ust", email="Straße@Example.DE", type="User")  # key strasse@example.de
CAROL = Actor(id="00uca", email="CAROL@Example.com", type="User")
SERVICE = Actor(id="svc-7", email="", type="App")  # e-mail "": keyed by its id
NIGHTLY = Actor(name="Nightly Job")
NOBODY = Actor()
OPS = Actor(id="ops@Partner.example")  # no e-mail: an id that looks like one
EXPORT = "app.report.export"  # what no policy of _policies and no detector looks at
LAST = "lazy-13"
NULL_COLUMNS = "UPDATE activities SET category = NULL, user_key = NULL, key_is_email = NULL"


@pytest.fixture
def clock() -> FakeClock:
    """The clock of the root conftest's ``store`` (both engines), after the history."""
    return FakeClock(NOW)


@pytest.fixture
def twin(store_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    """A second store on the same engine as ``store`` (PostgreSQL: another fresh schema)."""
    schema = None
    if store_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'twin.db'}"
    else:
        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        base = PG_DSN.replace("postgresql://", "postgresql+psycopg://", 1)
        url = f"{base}?options=-csearch_path%3D{schema}"
    s = open_store(url, key=KEY, clock=clock)
    try:
        yield s
    finally:
        s.close()
        if schema is not None:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _act(n: int, actor: Actor, activity_type: str, category: Category, **over: Any) -> Activity:
    return make_activity(
        n,
        time=T0 + timedelta(minutes=n),
        source_event_id=f"lazy-{n}",
        actor=actor,
        activity_type=activity_type,
        category=category,
        **over,
    )


def _history() -> list[Activity]:
    """Failures of two users (one keyed by a case-folded e-mail, one by its id), sign-ins of
    carol, an MFA reset, and what no policy matches: carol's export, a name-only actor's
    export, an actor-less job and an export by an actor whose id looks like an e-mail."""
    failed = {"outcome": Outcome.FAILURE, "src_ip": "203.0.113.7"}
    return [
        *(_act(n, STRASSE, "user.session.start", Category.LOGON, **failed) for n in range(4)),
        _act(4, SERVICE, "user.session.start", Category.LOGON, **failed),
        _act(5, CAROL, "user.session.start", Category.LOGON),
        _act(6, CAROL, "user.session.start", Category.LOGON),
        _act(7, SERVICE, "user.mfa.factor.reset_all", Category.MFA),
        _act(8, STRASSE, "user.session.start", Category.LOGON),
        _act(9, STRASSE, "user.authentication.sso", Category.SSO),
        _act(10, CAROL, EXPORT, Category.SYSTEM),
        _act(11, NIGHTLY, EXPORT, Category.SYSTEM),
        _act(12, NOBODY, "system.job.run", Category.SYSTEM),
        _act(13, OPS, EXPORT, Category.SYSTEM),
    ]


def _policy(store: Store, pid: str, flt: str, extra: str = "", enabled: bool = True) -> None:
    (policy,) = read_policies(
        f"""
policies:
  - id: {pid}
    name: Policy {pid}
    severity: low
    category: threat_detection
    enabled: {str(enabled).lower()}
    filter: {flt}
{extra}"""
    )
    store_policy(store, policy)


def _policies(store: Store) -> None:
    failures = (
        "{all: [{field: activity_type, equals: user.session.start}, "
        "{field: outcome, equals: failure}]}"
    )
    _policy(store, "failures", failures, "    episode_gap: 0\n")
    _policy(store, "bursts", failures, "    repeated: {threshold: 3, timeframe: 5m}\n")
    _policy(store, "mfa-changes", "{field: category, equals: mfa}")


def _setup(store: Store, carol: str = "SUSPENDED") -> dict[str, int]:
    """The instance, carol's account (``carol``: its status), the policies and the history;
    the row id of each activity by event id."""
    iid = okta_instance(store)
    account = Account(id="00uca", email="carol@EXAMPLE.com", name="Carol", status=carol)
    store.replace_inventory(iid, [account], [])
    _policies(store)
    save_page(store, iid, "logs", _history(), {"n": 1})
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT source_event_id, id FROM activities")).all()
    return {str(e): int(i) for e, i in rows}


def _damage(store: Store, row_id: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE activities SET body = :b WHERE id = :id"),
            {"b": b"\x28\xb5\x2f\xfd garbage", "id": row_id},  # a zstd magic, then junk
        )


def _outcome(store: Store) -> tuple[Any, ...]:
    """Everything a pass commits: the alerts, both stage rows and the users' partitions."""
    det = store.detection
    return (
        det.list_alerts(limit=1000),
        det.get_stage(STAGE),
        det.get_stage(ANOMALY_STAGE),
        det.get_partitions(ANOMALY_STAGE),
    )


def _raised(store: Store) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    out: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for a in sorted(store.detection.list_alerts(limit=1000), key=lambda a: a.evidence):
        out.setdefault(a.policy_id, []).append((a.entity, a.evidence))
    return out


def _cursors(store: Store) -> tuple[int | None, int | None]:
    det = store.detection
    p, a = det.get_stage(STAGE), det.get_stage(ANOMALY_STAGE)
    return (p.cursor if p else None, a.cursor if a else None)


@pytest.mark.parametrize("nulled", ["all", "every other"])
def test_rows_stored_before_0016_give_the_same_alerts_and_state(
    store: Store, twin: Store, clock: FakeClock, nulled: str
) -> None:
    ids = _setup(store)
    assert _setup(twin) == ids
    step = 1 if nulled == "all" else 2
    with twin.engine.begin() as conn:
        for rid in sorted(ids.values())[::step]:
            conn.execute(text(f"{NULL_COLUMNS} WHERE id = :id"), {"id": rid})
    # small batches: several passes, each over rows of both kinds
    got = DetectionStage(store, clock).run_until_caught_up(batch=4)
    assert DetectionStage(twin, clock).run_until_caught_up(batch=4) == got
    assert got.committed and got.read == len(ids)
    assert _outcome(twin) == _outcome(store)
    # and it found what the history holds, keyed by the users' keys
    raised = _raised(store)
    assert raised["failures"] == [("strasse@example.de", (n,)) for n in (1, 2, 3, 4)] + [
        ("svc-7", (5,))
    ]
    assert raised["bursts"] == [("strasse@example.de", (1, 2, 3, 4))]  # one episode
    assert raised["mfa-changes"] == [("svc-7", (8,))]
    assert raised[DISABLED] == [("carol@example.com", (6,))]  # once a day
    assert _cursors(store) == (len(ids), len(ids))
    # the organisation's mail domains: of the actors' e-mails, never of an id or a name
    saved = store.detection.get_stage(ANOMALY_STAGE)
    assert saved is not None
    assert orjson.loads(saved.state)["anomaly"]["org"]["domains"] == {
        "example.de": 6,
        "example.com": 3,
    }


def test_damaged_rows_nothing_looks_into_change_nothing(
    store: Store, twin: Store, clock: FakeClock
) -> None:
    """Carol (active here), the name-only actor, the actor-less job and the e-mail-like id
    export and run things no policy matches and no detector acts on: their bodies are never
    decoded, so the stage commits and moves past them, finding what it finds with them
    intact."""
    ids = _setup(store, carol="ACTIVE")
    _setup(twin, carol="ACTIVE")
    for event in ("lazy-10", "lazy-11", "lazy-12", LAST):
        _damage(store, ids[event])
    with pytest.raises(StoreError):  # really damaged
        store.detection.activities_by_id([ids["lazy-11"]])
    r = DetectionStage(store, clock).run_once()
    assert (r.read, r.committed) == (len(ids), True)
    assert _cursors(store) == (ids[LAST], ids[LAST])
    assert DetectionStage(twin, clock).run_once() == r
    assert _outcome(store) == _outcome(twin)
    assert DISABLED not in _raised(store)  # carol is active
    assert not DetectionStage(store, clock).run_once().committed  # nothing new


NEEDED = {
    "a policy on its type": ("ACTIVE", f"{{field: activity_type, equals: {EXPORT}}}"),
    "a policy on its category": ("ACTIVE", "{field: category, in: [system, file]}"),
    "a detector on a suspended user": ("SUSPENDED", None),
}


@pytest.mark.parametrize("why", NEEDED)
def test_a_damaged_row_an_engine_needs_stops_the_pass_naming_it(
    store: Store, clock: FakeClock, why: str
) -> None:
    carol, flt = NEEDED[why]
    ids = _setup(store, carol=carol)
    if flt is not None:
        _policy(store, "exports", flt)
    rid = ids["lazy-10"]  # carol's export
    _damage(store, rid)
    for _ in range(2):  # every pass, until the row is dealt with
        with pytest.raises(StoreError, match=f"activities row {rid} cannot be read") as info:
            DetectionStage(store, clock).run_once()
        assert info.value.fix == CORRUPT_FIX
        # nothing of the pass is committed: not even the alerts of the rows before it
        assert _outcome(store) == ([], None, None, {})
    # as the fix says: the row deleted, the stage goes on
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM activities WHERE id = :id"), {"id": rid})
    r = DetectionStage(store, clock).run_once()
    assert (r.read, r.committed) == (len(ids) - 1, True)
    assert _cursors(store) == (ids[LAST], ids[LAST])


@pytest.mark.parametrize(
    ("carol", "disabled_policy", "anomaly"),
    [
        ("ACTIVE", False, True),  # nothing would look into it
        ("SUSPENDED", False, False),  # the detector that would is switched off
        ("ACTIVE", True, True),  # the policy that would is disabled
    ],
)
def test_a_damaged_row_only_a_switched_off_engine_needs_is_passed(
    store: Store, clock: FakeClock, carol: str, disabled_policy: bool, anomaly: bool
) -> None:
    ids = _setup(store, carol=carol)
    if disabled_policy:
        _policy(store, "exports", f"{{field: activity_type, equals: {EXPORT}}}", enabled=False)
    _damage(store, ids["lazy-10"])
    settings = AnomalySettings() if anomaly else None
    r = DetectionStage(store, clock, anomaly=settings).run_once()
    assert (r.read, r.committed) == (len(ids), True)
    assert _cursors(store) == (ids[LAST], ids[LAST] if anomaly else None)


def test_a_policy_enabled_later_stops_at_a_damaged_row_it_needs(
    store: Store, clock: FakeClock
) -> None:
    """The main pass moved past the damaged export; a policy on exports enabled afterwards
    catches up over the history, needs it, and its pass fails, committing nothing."""
    ids = _setup(store, carol="ACTIVE")
    rid = ids["lazy-11"]
    _damage(store, rid)
    assert DetectionStage(store, clock).run_once().committed
    before = _outcome(store)
    _policy(store, "exports", f"{{field: activity_type, equals: {EXPORT}}}")
    with pytest.raises(StoreError, match=f"activities row {rid} cannot be read"):
        DetectionStage(store, clock).run_once()
    assert _outcome(store) == before


def test_the_sync_loop_shows_the_damaged_row_and_goes_on(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """``run_detection`` (after each sync) logs and shows the StoreError, never raises it."""
    from opencasb.cli.alerts_cmd import run_detection

    ids = _setup(store, carol="SUSPENDED")
    rid = ids["lazy-10"]
    _damage(store, rid)
    assert run_detection(store, clock) == 0
    assert f"detection stage failed: activities row {rid} cannot be read" in caplog.text
    assert _outcome(store) == ([], None, None, {})


def test_an_observed_row_is_the_eager_one_enriched_once(store: Store) -> None:
    iid = okta_instance(store)
    acts = _history()[:10]
    save_page(store, iid, "logs", acts[:5], {"n": 1})
    # half the rows stored without an enrichment: the callback gets None for them
    store.save_pages([PageWrite.of(iid, "logs", acts[5:], {"n": 2})])
    rows = store.detection.observed_after({}, 100)
    eager_acts = store.detection.activities_by_id([r.id for r in rows])
    stored = store.stored_enrichments([r.id for r in rows])
    assert [stored[r.id] is None for r in rows] == [False] * 5 + [True] * 5
    calls: list[Enrichment | None] = []  # the stored enrichment each call was given
    enricher = store.enricher

    def enrich(a: Activity, e: Enrichment | None) -> Enrichment:
        calls.append(e)
        return enricher.enrich(a) if e is None else e

    lazy = store.detection.observed_after({}, 100, enrich=enrich)
    # the plain attributes need neither the body nor the enrichment
    heads = [
        (o.id, o.t, o.time, o.activity_type, o.category, o.user_key, o.email_key) for o in lazy
    ]
    assert calls == []
    eager = [
        Observed(r.id, eager_acts[r.id], stored[r.id] or enricher.enrich(eager_acts[r.id]))
        for r in rows
    ]
    assert heads == [
        (o.id, o.t, o.time, o.activity_type, o.category, o.user_key, o.email_key) for o in eager
    ]
    # first use of either the enrichment or the activity, then every other use: one call
    for i, o in enumerate(lazy):
        if i % 2:
            assert o.enrichment == eager[i].enrichment
        else:
            assert o.activity == eager[i].activity
        assert calls == [stored[r.id] for r in rows[: i + 1]]
        assert (o.activity, o.enrichment, o.ip_tags) == (
            eager[i].activity,
            eager[i].enrichment,
            eager[i].ip_tags,
        )
        assert o.activity is o.activity and o == eager[i]
    assert len(calls) == len(lazy)
