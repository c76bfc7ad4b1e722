"""Provenance: each row keeps its origin; the API's record wins over an imported one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from opencasb.store import SaveResult, Store

from .conftest import save_page


@pytest.fixture
def iid(store: Store) -> int:
    return store.add_instance("okta", "acme", {}, {}).id


def _rows(store: Store) -> dict[str, tuple[str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT source_event_id, origin, action FROM activities"))
        return {r[0]: (r[1], r[2]) for r in rows}


def test_origin_names_the_feed_or_the_file(store: Store, iid: int, act: Any) -> None:
    save_page(store, iid, "logs", [act(1)], {})
    save_page(store, iid, "import:okta-2025.json", [act(2)], {"line": 1})
    assert _rows(store) == {
        "evt-000001": ("api:logs", "User login to Okta"),
        "evt-000002": ("import:okta-2025.json", "User login to Okta"),
    }


def test_an_import_never_replaces_the_api_and_says_so(store: Store, iid: int, act: Any) -> None:
    save_page(store, iid, "logs", [act(1), act(2)], {})
    res = save_page(
        store, iid, "import:x.json", [act(1, action="edited"), act(2), act(3)], {"line": 3}
    )
    assert res == SaveResult(inserted=1, duplicates=2, replaced=0, from_api=2)
    rows = _rows(store)
    assert rows["evt-000001"] == ("api:logs", "User login to Okta")
    assert rows["evt-000003"][0] == "import:x.json"
    # Importing again: all three present, two of them from the API.
    again = save_page(store, iid, "import:x.json", [act(1), act(2), act(3)], {"line": 3})
    assert again == SaveResult(inserted=0, duplicates=3, replaced=0, from_api=2)


def test_the_api_replaces_an_imported_row(store: Store, iid: int, act: Any) -> None:
    save_page(store, iid, "import:x.json", [act(1, action="imported"), act(2)], {"line": 2})
    page = [act(1, action="from api", actor=act(9).actor), act(1, action="second"), act(4)]
    res = save_page(store, iid, "logs", page, {"after": "x"})
    assert res == SaveResult(inserted=1, duplicates=1, replaced=1, from_api=0)
    rows = _rows(store)
    assert rows["evt-000001"] == ("api:logs", "from api")  # the first of the page's copies
    assert rows["evt-000002"] == ("import:x.json", "User login to Okta")
    assert store.count_activities(iid) == 3
    # The replaced row's actor follows the API's record (the user filter finds it).
    from opencasb.store import ActivityQuery

    found = store.query_activities(ActivityQuery(user=act(9).actor.email))
    assert "evt-000001" in {a.source_event_id for a in found.items}
    # An API row is never replaced, not even by the API.
    res = save_page(store, iid, "logs", [act(1, action="later")], {"after": "y"})
    assert res == SaveResult(inserted=0, duplicates=1)
    assert _rows(store)["evt-000001"] == ("api:logs", "from api")


def test_another_instance_imports_do_not_count(store: Store, iid: int, act: Any) -> None:
    other = store.add_instance("okta", "other", {}, {}).id
    save_page(store, other, "import:x.json", [act(1, action="imported")], {"line": 1})
    save_page(store, iid, "import:x.json", [act(1, action="imported")], {"line": 1})
    res = save_page(store, other, "logs", [act(1)], {})
    assert res.replaced == 1
    with store.engine.connect() as conn:
        origins = conn.execute(
            text("SELECT instance_id, origin FROM activities ORDER BY instance_id")
        ).all()
    assert sorted(origins) == sorted([(iid, "import:x.json"), (other, "api:logs")])


def test_quarantine_keeps_one_row_per_record_and_feed(store: Store, iid: int) -> None:
    bad = [("{not json", "line 1: not valid JSON"), ({"a": 1}, "no id")]
    save_page(store, iid, "import:x.json", [], {"line": 2}, rejected=bad)
    save_page(store, iid, "import:x.json", [], {"line": 2}, rejected=bad)
    assert store.count_rejected(iid) == 2
    save_page(store, iid, "import:y.json", [], {"line": 2}, rejected=bad[:1])
    assert store.count_rejected(iid) == 3
