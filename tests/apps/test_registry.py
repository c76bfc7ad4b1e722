"""The plugin contract: one function builds the connector of a stored instance, and each
app says through its class how its export files are imported."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opencasb.apps.base import FileImport, connector_for, load_app
from opencasb.apps.okta.connector import OktaConnector
from opencasb.errors import ConfigError
from opencasb.formats.exports import BadRecord
from opencasb.http.options import HttpOptions
from opencasb.model import Health, InstanceRecord

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _record(app: str, config: dict[str, str], name: str = "inst") -> InstanceRecord:
    return InstanceRecord(1, name, app, config, True, 60, T0, Health())


def test_connector_for_builds_the_instances_app_from_its_config_and_secrets() -> None:
    http = HttpOptions(max_retries=1)
    rec = _record("okta", {"domain": "acme.okta.com", "auth": "ssws"})
    connector = connector_for(rec, {"token": "t0k"}, http=http)
    try:
        assert type(connector) is OktaConnector
        assert connector.config["domain"] == "https://acme.okta.com"  # validated on the way
        assert connector.secrets == {"token": "t0k"}
        assert connector.http.max_retries == 1
    finally:
        connector.close()


def test_connector_for_refuses_an_import_only_instance() -> None:
    rec = _record("okta", {"domain": "import"}, name="history")
    with pytest.raises(ConfigError) as caught:
        connector_for(rec, {})
    assert caught.value.code == "import_only"
    assert "history holds imported history only" in str(caught.value)
    assert "opencasb connect okta --name" in caught.value.fix


def test_connector_for_names_the_installed_apps_when_the_app_is_unknown() -> None:
    with pytest.raises(ConfigError) as caught:
        connector_for(_record("nosuchapp", {}), {"token": "x"})
    assert "unknown app 'nosuchapp'" in str(caught.value)
    assert "office365" in caught.value.fix and "okta" in caught.value.fix


@pytest.mark.parametrize(
    ("app", "record", "event_id"),
    [
        (
            "okta",
            {
                "uuid": "e-1",
                "published": "2026-11-01T10:00:00.000Z",
                "eventType": "user.session.start",
                "actor": {"id": "00u1", "type": "User", "alternateId": "a@example.com"},
            },
            "e-1",
        ),
        (
            "office365",
            {
                "Id": "r-1",
                "CreationTime": "2026-11-01T10:00:00",
                "Operation": "FileAccessed",
                "RecordType": 6,
                "Workload": "SharePoint",
                "UserId": "a@example.com",
            },
            "r-1",
        ),
    ],
)
def test_each_app_imports_its_exports_through_its_class(
    tmp_path: Path, app: str, record: dict[str, object], event_id: str
) -> None:
    spec = load_app(app).IMPORT
    assert isinstance(spec, FileImport)
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress(f"{json.dumps(record)}\nnot json\n".encode()))
    good, bad = list(spec.read(path))
    assert isinstance(bad, BadRecord) and bad.line_no == 2
    assert not isinstance(good, BadRecord)
    assert spec.normalize(good).source_event_id == event_id
    assert spec.config  # the import-only instance's config
