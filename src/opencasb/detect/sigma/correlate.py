"""Sigma correlation rules as repeated-activity policies (:class:`~.policy.Repeated`).

Supported: ``event_count`` and ``value_count`` over rules of this folder, with ``gt`` or
``gte`` (the engine raises when a count goes above a threshold), ``group-by`` one field that
is the user (Okta ``actor.alternateId``/``actor.id``, Microsoft 365 ``UserId``/``UserKey``)
or the source address (``client.ipAddress``, ``ClientIP``), and a ``timespan``. The rest is
reported with its reason: ``temporal`` and ``temporal_ordered`` need several rules in order,
which the engine does not track; ``value_sum``/``avg``/``percentile``/``median`` need
arithmetic over field values; ``lt``/``lte``/``eq``/``neq`` need counts that stay low, i.e.
the absence of events.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)

from opencasb.detect.distinct import getter
from opencasb.detect.policy import GroupBy, Policy, Repeated
from opencasb.detect.sigma.build import make_policy
from opencasb.detect.sigma.fields import UNKNOWN_PREFIX, m365_field, okta_field
from opencasb.filters import AnyOf, Filter

__all__ = ["correlation_policy"]

_USER: Final = frozenset(
    {"raw.actor.alternateId", "raw.actor.id", "raw.UserId", "raw.UserKey", "actor.email"}
)
_SOURCE: Final = frozenset({"raw.client.ipAddress", "src_ip"})
_MAPPERS: Final = {"okta": okta_field, "m365": m365_field}


def _mapped(name: str, products: set[str]) -> str | None:
    """``name`` mapped the same way for every product, or None."""
    out = {_MAPPERS[p](name) for p in products}
    if len(out) != 1:
        return None
    only = out.pop()
    return None if only.startswith(UNKNOWN_PREFIX) else only


def correlation_policy(
    rule: SigmaCorrelationRule, file: str, filters: dict[str, tuple[Filter, str]]
) -> tuple[Policy | None, str]:
    """The policy of a correlation rule, or None and why not. ``filters``: the converted
    rules of the folder by id and name, with their product (okta or m365)."""
    kind = rule.type
    if kind not in (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.VALUE_COUNT):
        return None, (
            f"unsupported correlation type {kind}: OpenCASB counts events (event_count) or "
            "distinct values (value_count) per user or source address; temporal correlations "
            "and sums or averages are not evaluated"
        )
    cond = rule.condition
    if not isinstance(cond, SigmaCorrelationCondition):
        return None, "unsupported correlation condition: an expression over several rules"
    parts: list[Filter] = []
    products: set[str] = set()
    for ref in rule.rules or []:
        found = filters.get(ref.reference)
        if found is None:
            return None, (
                f"it correlates rule {ref.reference!r}, which is not evaluated (see that "
                "rule's problem) or not in this folder"
            )
        parts.append(found[0])
        products.add(found[1])
    if not parts:
        return None, "it names no rules to correlate"
    threshold = _threshold(cond)
    if isinstance(threshold, str):
        return None, threshold
    group = rule.group_by or []
    if len(group) != 1:
        return None, (
            f"group-by {group or 'nothing'}: OpenCASB groups by one field, the user or the "
            "source address"
        )
    mapped = _mapped(group[0], products)
    if mapped in _USER:
        by = GroupBy.USER if len(products) == 1 else GroupBy.USER_ACROSS_APPS
    elif mapped in _SOURCE:
        by = GroupBy.SOURCE_IP
    else:
        return None, (
            f"group-by {group[0]!r}: OpenCASB groups by the user (actor.alternateId, UserId) "
            "or the source address (client.ipAddress, ClientIP)"
        )
    distinct: str | None = None
    if kind is SigmaCorrelationType.VALUE_COUNT:
        fieldref = cond.fieldref
        name = fieldref if isinstance(fieldref, str) else None
        if isinstance(fieldref, list) and len(fieldref) == 1:
            name = fieldref[0]
        distinct = _mapped(name, products) if name else None
        if distinct is None or getter(distinct) is None:
            return None, f"value_count field {fieldref!r} is not a field OpenCASB can count"
    flt = parts[0] if len(parts) == 1 else AnyOf(tuple(parts))
    repeated = None
    if threshold:
        label = "distinct values" if distinct else "matching activities"
        repeated = Repeated(
            threshold=threshold,
            timeframe=timedelta(seconds=rule.timespan.seconds),
            group_by=by,
            distinct=distinct,
            label=label,
        )
    return make_policy(rule, file, flt, repeated), ""


def _threshold(cond: SigmaCorrelationCondition) -> int | str:
    """The engine's threshold (more than it raises; 0: every match), or why there is none."""
    op = cond.op
    count = int(cond.count)
    if count != cond.count:
        return f"the condition's count {cond.count} is not a whole number"
    if op is SigmaCorrelationConditionOperator.GT:
        return max(count, 0)
    if op is SigmaCorrelationConditionOperator.GTE:
        return max(count - 1, 0)
    return (
        f"condition {op.name.lower()} {count}: OpenCASB raises when a count goes above a "
        "threshold (gt, gte), not on counts that stay low"
    )
