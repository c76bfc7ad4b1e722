"""``import_file`` imports through the app's plugin: nothing in it names an app."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from opencasb.apps.base import FileImport
from opencasb.apps.okta.connector import OktaConnector
from opencasb.errors import ConfigError
from opencasb.formats.exports import BadRecord
from opencasb.ingest import file_import
from opencasb.model import Activity, Actor, Category, Outcome
from opencasb.store import Store


def _read(path: Path) -> Iterator[Mapping[str, Any] | BadRecord]:
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("#"):
            yield BadRecord(n, line, "a comment")
        else:
            yield {"id": line}


def _normalize(raw: Mapping[str, Any]) -> Activity:
    return Activity(
        time=datetime(2026, 11, 1, tzinfo=UTC),
        app="widget",
        instance="",
        source_event_id=str(raw["id"]),
        activity_type="widget.used",
        category=Category.OTHER,
        action="use",
        outcome=Outcome.SUCCESS,
        actor=Actor(id="u1"),
        description="used a widget",
        raw=dict(raw),
    )


class WidgetConnector(OktaConnector):
    """A plugin app that only matters here for its import contract."""

    NAME: ClassVar[str] = "widget"
    TITLE: ClassVar[str] = "Widget"
    IMPORT: ClassVar[FileImport | None] = FileImport(_read, _normalize, {"site": "import"})


class NoImportConnector(OktaConnector):
    NAME: ClassVar[str] = "plain"
    TITLE: ClassVar[str] = "Plain"
    IMPORT: ClassVar[FileImport | None] = None


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    apps = {"widget": WidgetConnector, "plain": NoImportConnector}
    monkeypatch.setattr(file_import, "load_app", apps.__getitem__)


@pytest.mark.usefixtures("plugins")
def test_a_plugin_apps_export_is_read_and_normalized_by_its_own_class(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "w.txt"
    path.write_text("a\n# junk\nb\n")
    done = file_import.import_file(store, "widget", path, instance="w")
    assert (done.inserted, done.duplicates, done.rejected) == (2, 0, 1)
    rec = store.get_instance("w")
    assert (rec.app, rec.config, rec.enabled) == ("widget", {"site": "import"}, False)
    assert store.activity_ids(rec.id) == {"a", "b"}
    again = file_import.import_file(store, "widget", path, instance="w")
    assert (again.inserted, again.duplicates) == (0, 2)


@pytest.mark.usefixtures("plugins")
def test_an_app_without_imports_and_a_missing_file_are_refused_before_the_store_changes(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "w.txt"
    path.write_text("a\n")
    with pytest.raises(ConfigError, match="Plain has no export files to import"):
        file_import.import_file(store, "plain", path, instance="p")
    with pytest.raises(ConfigError, match="no such file"):
        file_import.import_file(store, "widget", tmp_path / "missing", instance="w")
    assert store.list_instances() == []


@pytest.mark.usefixtures("plugins")
def test_an_instance_of_another_app_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("a\n")
    store.add_instance("plain", "p", {}, {}, enabled=False)
    with pytest.raises(ConfigError, match="p is an instance of plain, not widget"):
        file_import.import_file(store, "widget", path, instance="p")
