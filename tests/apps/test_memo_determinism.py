"""The normalizers' memos never make a record's activity depend on what its process
normalized before (each worker process has memos of its own)."""

from __future__ import annotations

from typing import Any

import pytest

from opencasb.apps.office365 import normalize as o365
from opencasb.apps.okta import normalize as okta
from opencasb.cache import BoundedCache

OKTA = {
    "uuid": "e1",
    "published": "2026-03-02T10:00:00.000Z",
    "eventType": "user.session.start",
    "actor": {"id": "00u1", "type": "User", "alternateId": "a@example.com"},
    "client": {"geographicalContext": {"country": "France", "geolocation": {"lat": 1, "lon": 2}}},
    "target": [{"id": "0oa1", "type": "AppInstance", "displayName": 1}],
}
O365 = {
    "Id": "a",
    "CreationTime": "2021-02-05T09:08:12",
    "Operation": "FileAccessed",
    "UserKey": "K",
    "UserId": "u@x.com",
    "UserType": 0,
}


def _with(record: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``record`` (dicts and lists copied along ``path``) with the value at
    ``path`` replaced."""
    if not path:
        return value
    copy = list(record) if isinstance(record, list) else dict(record)
    copy[path[0]] = _with(record[path[0]], path[1:], value)
    return copy


@pytest.mark.parametrize(
    ("module", "record", "path", "twin"),
    [
        (o365, O365, ("UserType",), False),
        (okta, OKTA, ("target", 0, "displayName"), True),
        (okta, OKTA, ("client", "geographicalContext", "geolocation", "lat"), True),
        (okta, OKTA, ("actor", "id"), 1),
    ],
)
def test_an_equal_value_of_another_type_seen_before_changes_nothing(
    module: Any, record: dict[str, Any], path: tuple[Any, ...], twin: Any
) -> None:
    if path == ("actor", "id"):
        record = _with(record, path, True)
    other = _with(record, path, twin)  # an equal value (True == 1 == 1.0, 0 == False)
    _forget(module)
    fresh = repr(module.normalize(other))
    _forget(module)
    module.normalize(record)
    assert repr(module.normalize(other)) == fresh


def _forget(module: Any) -> None:
    for value in vars(module).values():
        if isinstance(value, BoundedCache):
            value.clear()
