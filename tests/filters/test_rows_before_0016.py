"""Searches over rows stored before migration 0016, on both engines: that migration added an
``activities.category`` column for detection, NULL on the older rows; a filter on the
category still finds what the bodies say (it read the column, and missed them)."""

from __future__ import annotations

from sqlalchemy import text

from opencasb.filters import iter_matching, parse_filter_text, search
from opencasb.model.activity import Category
from opencasb.store import Store

from .conftest import make_activity, save


def test_a_category_filter_finds_the_rows_stored_before_the_column(store: Store) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    categories = [Category.LOGON, Category.MFA, Category.LOGON, Category.FILE]
    save(store, iid, [make_activity(i, category=c) for i, c in enumerate(categories)])
    with store.engine.begin() as conn:  # rows 1 and 2 as a version before 0016 left them
        conn.execute(
            text(
                "UPDATE activities SET category = NULL, user_key = NULL, key_is_email = NULL "
                "WHERE source_event_id IN ('evt-000001', 'evt-000002')"
            )
        )
    cases = {
        "{field: category, equals: logon}": ["evt-000002", "evt-000000"],
        "{not: {field: category, equals: logon}}": ["evt-000003", "evt-000001"],
        "{field: category, in: [mfa, file]}": ["evt-000003", "evt-000001"],
        "{field: category, is_set: true}": ["evt-000003", "evt-000002", "evt-000001", "evt-000000"],
    }
    for doc, want in cases.items():
        flt = parse_filter_text(doc)
        assert [a.source_event_id for a in search(store, flt).items] == want, doc
        assert [a.source_event_id for a in iter_matching(store, flt)] == want, doc
