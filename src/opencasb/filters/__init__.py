"""One filter language for activities: ``opencasb activities --filter``, policies, Sigma
mapping and the portal.

Read a filter with :func:`parse_filter_text` (YAML or JSON text), :func:`load_filter` (a file
or inline text) or :func:`parse_filter` (already parsed data); build one in code from
:class:`Condition`, :class:`AllOf`, :class:`AnyOf` and :class:`Not` and validate it with
:func:`check`. Then:

* :func:`compile_predicate` -> ``predicate(activity, enrichment) -> bool``, for activities in
  memory (policies, detections);
* :func:`compile_sql` -> :class:`Compiled` (a WHERE clause plus a residual predicate), and
  :func:`search` / :func:`iter_matching` to run it on the store.

Both compilations accept exactly the same activities; the fields, operators and case rules
are in :mod:`opencasb.filters.fields`, the document format in :mod:`opencasb.filters.document`.
"""

from opencasb.filters.ast import AllOf, AnyOf, Condition, Filter, Not, Op
from opencasb.filters.document import (
    check,
    load_filter,
    parse_filter,
    parse_filter_text,
    to_document,
)
from opencasb.filters.fields import FIELDS
from opencasb.filters.predicate import Predicate, compile_predicate, needs_enrichment
from opencasb.filters.search import iter_matching, search
from opencasb.filters.sql import Compiled, compile_sql

__all__ = [
    "FIELDS",
    "AllOf",
    "AnyOf",
    "Compiled",
    "Condition",
    "Filter",
    "Not",
    "Op",
    "Predicate",
    "check",
    "compile_predicate",
    "compile_sql",
    "iter_matching",
    "load_filter",
    "needs_enrichment",
    "parse_filter",
    "parse_filter_text",
    "search",
    "to_document",
]
