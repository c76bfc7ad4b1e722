"""A page of activities encoded into store rows, away from the database.

Encoding (enum and time conversion, JSON of targets and details, IP keys, actor keys) is most
of the store's share of ingest time and needs no database, so :func:`encode_activities` can
run in a worker process while the writer stores the previous page (see
:mod:`opencasb.ingest.pipeline`). What only the writer can know is left out of the
:class:`EncodedPage`: the ``actors.id`` of each actor (the writer's cache of committed ids
fills it in). The body (the unindexed fields and the raw record, compressed) is made here, so
that the compression runs in the workers too.

Enrichment is computed here too, when an enricher is given (see
:mod:`opencasb.store.enrich_codec`): each row gets its enriched country code and IP tags,
and the page its distinct enrichment keys, which the writer interns as it does actors.

An EncodedPage is plain lists, strings and numbers, so it pickles cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from opencasb.errors import StoreError
from opencasb.model.activity import Activity, Actor
from opencasb.store.codec import ActorKey, activity_body, activity_head, actor_key
from opencasb.store.enrich_codec import enrichment_key, tags_text

if TYPE_CHECKING:
    from opencasb.enrich.enricher import Enricher, Enrichment

__all__ = ["EncodedPage", "contract_error", "encode_activities"]


@dataclass(frozen=True, slots=True)
class EncodedPage:
    """Rows of one page, ready for :meth:`opencasb.store.Store.save_pages`.

    Attributes:
        rows: one :func:`~opencasb.store.codec.activity_head` list per activity.
        positions: for each row, the index of its record in the page as fetched (so that
            the writer can pair it with the record's JSON text).
        actors: the page's distinct actor keys (``None`` for an actor naming nobody).
        actor_of_row: for each row, its actor's index in ``actors``.
        raws: the ``body`` column of each row (see
            :func:`~opencasb.store.codec.activity_body`).
        rejected: ``(position, error)`` of each record that failed normalization.
        enrichments: the page's distinct enrichment keys (empty when not enriched).
        enrichment_of_row: for each row, its key's index in ``enrichments`` (None: the
            page was encoded without an enricher; its rows are stored not enriched).
    """

    rows: list[list[Any]]
    positions: list[int]
    actors: list[ActorKey | None]
    actor_of_row: list[int]
    raws: list[bytes] | None = None
    rejected: list[tuple[int, str]] | None = None
    enrichments: list[str] | None = None
    enrichment_of_row: list[int] | None = None


def contract_error(i: int, a: Any, exc: BaseException) -> StoreError:
    """The StoreError for activity ``a`` (#``i`` of its page) breaking the Activity contract."""
    sid = getattr(a, "source_event_id", "?")
    return StoreError(
        f"activity {sid!r} (#{i} of the page) breaks the Activity contract: {exc}",
        meaning="The connector produced an activity the store cannot keep; "
        "nothing from this page was stored and the cursor did not move.",
        fix="This is a bug in the app connector's normalizer; report it with the "
        "activity's source event id.",
        code="bad_activity",
    )


_ROW_ERRORS = (TypeError, ValueError, AttributeError, KeyError)


def encode_activities(
    instance_id: int,
    activities: Sequence[Activity],
    *,
    positions: list[int] | None = None,
    texts: Sequence[str] | None = None,
    rejected: list[tuple[int, str]] | None = None,
    enricher: Enricher | None = None,
) -> EncodedPage:
    """Encode ``activities`` of one instance.

    Args:
        positions: each activity's index in the fetched page (default: its index here).
        texts: the fetched page's records as JSON text, indexed by ``positions``: the body
            keeps a record's text as fetched. Without it, each ``Activity.raw`` is serialized.
        rejected: passed through to ``EncodedPage.rejected``.
        enricher: enriches each activity (None: rows stored not enriched; their enrichment
            columns stay NULL until ``opencasb enrich --all``).

    Raises:
        StoreError: an activity breaks the Activity contract (naive time, unknown category,
            unhashable or missing actor, fields JSON cannot represent); the message names it.
    """
    rows: list[list[Any]] = []
    actor_of_row: list[int] = []
    raws: list[bytes] = []
    if positions is None:
        positions = list(range(len(activities)))
    # Distinct Actor objects first (normalizers share them), then distinct keys: two actors
    # differing only in type are one identity.
    by_actor: dict[Actor, int] = {}
    by_key: dict[ActorKey | None, int] = {}
    actors: list[ActorKey | None] = []
    keys: dict[Enrichment, int] = {}
    key_texts: list[str] = []
    enrichment_of_row: list[int] = []
    for i, a in enumerate(activities):
        try:
            head = activity_head(instance_id, a)
            if enricher is not None:
                e = enricher.enrich(a)
                head.append(e.country_code)
                head.append(tags_text(e.ip_tags))
                untagged = e if not e.ip_tags else _untagged(e)
                index = keys.get(untagged)
                if index is None:
                    index = keys[untagged] = len(key_texts)
                    key_texts.append(enrichment_key(untagged))
                enrichment_of_row.append(index)
            else:
                head.append(None)
                head.append(None)
            rows.append(head)
            actor = a.actor
            index = by_actor.get(actor)
            if index is None:
                key = actor_key(actor)
                index = by_key.get(key)
                if index is None:
                    index = by_key[key] = len(actors)
                    actors.append(key)
                by_actor[actor] = index
            actor_of_row.append(index)
            raws.append(activity_body(a, texts[positions[i]] if texts is not None else None))
        except _ROW_ERRORS as exc:
            raise contract_error(i, a, exc) from exc
    return EncodedPage(
        rows=rows,
        positions=positions,
        actors=actors,
        actor_of_row=actor_of_row,
        raws=raws,
        rejected=rejected,
        enrichments=key_texts if enricher is not None else None,
        enrichment_of_row=enrichment_of_row if enricher is not None else None,
    )


def _untagged(e: Enrichment) -> Enrichment:
    """``e`` without its tags: what is interned (the tags are a column of the row)."""
    return replace(e, ip_tags=())
