"""Retry quarantined records: normalize them again (after a fix, e.g. a new version) and
store the ones that now pass.

Contract:
    * :func:`retry_rejected` reads the quarantined records of one instance (or all, or only
      the given ids), parses each kept text as JSON, brings a record quarantined by a file
      import to the API's shape again (the app's ``FileImport.conform``: imports made by
      older versions were not conformed), and normalizes it with the app's normalizer.
    * The records that now normalize are stored under their feed (so their origin is the
      feed's) and leave the quarantine in the same transaction, per batch; the others stay,
      untouched. An activity already stored counts as a duplicate and its record leaves the
      quarantine all the same.
    * It holds each instance's lease while it works (as a sync and an import do), waiting for
      a running sync's run to end, and then sets the instance's health counts from the
      committed rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from opencasb.apps.base import Normalize, connector_for, load_app
from opencasb.clock import Clock, SystemClock
from opencasb.errors import InstanceBusy, NotFound, StoreError
from opencasb.ingest.lease import hold
from opencasb.ingest.normalizing import normalize_record
from opencasb.model import Activity
from opencasb.store.activities import IMPORT_PREFIX, PageWrite
from opencasb.store.pages import encode_activities

if TYPE_CHECKING:
    from opencasb.store import InstanceRecord, RejectedRecord, Store

__all__ = ["RETRY_BATCH", "RetryResult", "retry_rejected"]

RETRY_BATCH = 500


@dataclass(slots=True)
class RetryResult:
    """What a retry did: records tried, stored as new activities, already stored, and
    still rejected (with their current reason in ``still``: id -> error)."""

    tried: int = 0
    stored: int = 0
    duplicates: int = 0
    still: dict[int, str] = dataclasses.field(default_factory=dict)


def retry_rejected(
    store: Store,
    *,
    instance: str | None = None,
    ids: Sequence[int] = (),
    clock: Clock | None = None,
    on_wait: Callable[[InstanceBusy], None] | None = None,
    batch: int = RETRY_BATCH,
) -> RetryResult:
    """Retry the quarantined records of ``instance`` (all instances when None), or only
    those with the given ``ids``.

    Raises:
        NotFound: ``instance`` or one of ``ids`` does not exist (or the id is of another
            instance than the one named).
        ConfigError: the instance's app is not installed, or (an app without file imports)
            its connector cannot be built.
        StoreError: the store failed; batches already committed stay.
    """
    wanted = sorted(set(ids))
    if wanted:
        records = [store.get_rejected(i) for i in wanted]  # NotFound for an unknown id
        if instance is not None:
            rec = store.get_instance(instance)
            for r in records:
                if r.instance_id != rec.id:
                    raise _other_instance(r, instance)
        names = sorted({r.instance for r in records})
        targets = [store.get_instance(n) for n in names]
    else:
        targets = [store.get_instance(instance)] if instance else store.list_instances()
    result = RetryResult()
    for rec in targets:
        lease = hold(
            store, rec.id, rec.name, clock=clock or SystemClock(), wait=True, on_wait=on_wait
        )
        with lease:
            _retry_instance(store, rec, wanted, batch, result)
    return result


def _other_instance(r: RejectedRecord, instance: str) -> NotFound:
    return NotFound(
        f"rejected record #{r.id} belongs to {r.instance}, not {instance}",
        fix="Leave out --instance, or give ids listed by `opencasb rejected --instance ...`.",
        code="rejected_not_found",
    )


def _retry_instance(
    store: Store, rec: InstanceRecord, ids: Sequence[int], batch: int, result: RetryResult
) -> None:
    normalize, conform = _normalizer(store, rec)
    before = None
    while rows := store.list_rejected(instance_id=rec.id, ids=ids, limit=batch, before=before):
        before = (rows[-1].received_at, rows[-1].id)
        by_feed: dict[str, tuple[list[Activity], list[int]]] = {}
        for row in rows:
            result.tried += 1
            outcome = _renormalize(row, normalize, conform, rec.id)
            if isinstance(outcome, str):
                result.still[row.id] = outcome
                continue
            acts, resolved = by_feed.setdefault(row.feed, ([], []))
            acts.append(outcome)
            resolved.append(row.id)
        # Each feed's recovered activities are stored under it (their origin) and their
        # records leave the quarantine in the same transaction; the cursors stay.
        writes = [
            PageWrite.of(rec.id, feed, acts, None, resolved=resolved, enricher=store.enricher)
            for feed, (acts, resolved) in by_feed.items()
        ]
        for saved in store.save_pages(writes) if writes else ():
            result.stored += saved.inserted
            result.duplicates += saved.duplicates + saved.replaced
    health = store.get_health(rec.id)
    newest = store.newest_activity_time(rec.id)
    store.set_health(
        rec.id,
        dataclasses.replace(
            health,
            events_stored=store.count_activities(rec.id),
            rejected=store.count_rejected(rec.id),
            newest_event=newest if newest is not None else health.newest_event,
        ),
    )


def _normalizer(
    store: Store, rec: InstanceRecord
) -> tuple[Normalize, Callable[[Mapping[str, Any]], Mapping[str, Any]] | None]:
    spec = load_app(rec.app).IMPORT
    if spec is not None:
        return spec.normalize, spec.conform
    connector = connector_for(rec, store.instance_secrets(rec))
    return connector.normalize, None


def _renormalize(
    row: RejectedRecord,
    normalize: Normalize,
    conform: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None,
    instance_id: int,
) -> Activity | str:
    """The activity ``row`` now gives, or why it still gives none."""
    try:
        record = orjson.loads(row.raw)
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON: {exc}"
    if isinstance(record, dict) and conform is not None and row.feed.startswith(IMPORT_PREFIX):
        record = conform(record)
    outcome = normalize_record(normalize, record)
    if isinstance(outcome, str):
        return outcome
    try:
        encode_activities(instance_id, [outcome])  # the store's contract, one record at a time
    except StoreError as exc:
        return str(exc)
    return outcome
