"""The logs of a full sandbox sync: JSON lines with the instance and feed, and no secret.

Okta (an SSWS token and an OAuth service app with a private key) and Office 365 (a client
secret) are synced in-process against their emulators at DEBUG, in JSON; then every secret
the store holds is looked for in what was logged.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from tests.sandbox.o365_conftest_helpers import signing_key

from opencasb.apps.base import (
    AppConnector,
    ConnectionCheck,
    Cursor,
    Feed,
    FormField,
    Gap,
    HttpOptions,
    Inventory,
    Page,
)
from opencasb.apps.okta.normalize import normalize as okta_normalize
from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.ingest.pipeline import IngestPipeline
from opencasb.ingest.runner import IngestRunner
from opencasb.logs import configure
from opencasb.model import Activity, HealthState
from opencasb.sandbox.office365_sandbox import build_o365_sandbox
from opencasb.sandbox.okta_sandbox import build_okta_sandbox
from opencasb.sandbox.transport import SyncASGITransport
from opencasb.store import InstanceRecord, Store, open_store

from .conftest import START

OKTA_HOST = "acme.okta.test"
O365_HOST = "o365.test"


class _Hosts(httpx.BaseTransport):
    """Sends each request to the emulator serving its host."""

    def __init__(self, routes: Mapping[str, SyncASGITransport]) -> None:
        self.routes = routes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.routes[request.url.host].handle_request(request)


@dataclass
class World:
    clock: FakeClock
    store: Store
    transport: _Hosts
    log: io.StringIO

    def runner(self, **kwargs: Any) -> IngestRunner:
        http = HttpOptions(transport=self.transport, clock=self.clock)
        return IngestRunner(self.store, http=http, **kwargs)

    def lines(self) -> list[dict[str, Any]]:
        """Every line logged so far, each parsed as JSON (fails on one that is not)."""
        return [json.loads(line) for line in self.log.getvalue().splitlines()]


@pytest.fixture
def world(tmp_path: Path, rsa_pair: tuple[str, str]) -> Iterator[World]:
    clock = FakeClock(START)
    okta = build_okta_sandbox(seed=11, size=50, days=2, clock=clock, oauth_key_pem=rsa_pair)
    o365 = build_o365_sandbox(
        seed=3, size=50, days=2, clock=clock, anchor=clock.now(), signing_key=signing_key()
    )
    routes = {OKTA_HOST: SyncASGITransport(okta.app), O365_HOST: SyncASGITransport(o365.app)}
    store = open_store(f"sqlite:///{tmp_path / 'opencasb.db'}", key=generate_key())
    domain = {"domain": OKTA_HOST, "backfill_days": "2"}
    store.add_instance("okta", "okta-token", domain, {"token": okta.credentials.token})
    store.add_instance(
        "okta",
        "okta-oauth",
        {**domain, "auth": "oauth", "client_id": okta.credentials.oauth_client_id},
        {"private_key": okta.credentials.oauth_private_key_pem},
    )
    creds = o365.credentials
    store.add_instance(
        "office365",
        "o365",
        {
            "tenant_id": creds.tenant_id,
            "client_id": creds.client_id,
            "endpoint": f"https://{O365_HOST}",
        },
        {"client_secret": creds.client_secret},
    )
    out = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure("debug", "json", stream=out)
    try:
        yield World(clock, store, _Hosts(routes), out)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        store.close()
        for transport in routes.values():
            transport.close()


def _secret_forms(value: str) -> set[str]:
    """``value`` as it could appear in a log line: as is, JSON-escaped, and (for a PEM key)
    each line of its body."""
    forms = {value, json.dumps(value)[1:-1]}
    forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)
    return {f for f in forms if not f.startswith("-----")}


def test_a_full_debug_sync_logs_json_lines_with_instance_and_feed_and_no_secret(
    world: World,
) -> None:
    runner = world.runner(workers=1, pipeline_after=50)  # the pipeline's commits are logged too
    for rec in world.store.list_instances():
        result = runner.run_once(rec.name, inventory=True)
        assert result.ok, result.error
        assert result.inserted > 0

    lines = world.lines()
    names = {rec.name for rec in world.store.list_instances()}
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    # Everything logged during a run says which instance it belongs to.
    assert {line.get("instance") for line in lines} == names
    runs = [line for line in lines if line["message"].startswith("sync run ")]
    assert [line["message"] for line in runs] == ["sync run started", "sync run finished"] * 3
    finished = [line for line in runs if line["message"] == "sync run finished"]
    assert all(line["inserted"] > 0 and line["pages"] > 0 for line in finished)
    commits = [line for line in lines if line["message"].endswith("committed")]
    assert {line["instance"] for line in commits} == names
    assert all(line["feed"] and line["records"] >= 0 for line in commits)
    assert any(line["pages"] > 1 for line in commits)  # a group from the pipeline
    # Requests are logged with the feed that made them, the inventory's too.
    requests = [line for line in lines if line["logger"] == "opencasb.http.client"]
    assert requests and all(line.get("feed") for line in requests)
    feeds = {"inventory", "system_log", "content:Audit.Exchange", "content:Audit.SharePoint"}
    assert feeds <= {line["feed"] for line in requests}
    changes = [line for line in lines if line["message"].startswith("health ")]
    assert {(c["old"], c["state"]) for c in changes} >= {("connecting", "backfilling")}
    assert all(c["instance"] in names for c in changes)

    text = world.log.getvalue()
    held = [
        value
        for rec in world.store.list_instances()
        for value in world.store.instance_secrets(rec).values()
    ]
    assert len(held) == 3
    for value in held:
        for form in _secret_forms(value):
            assert form not in text, f"a secret of the store is in the log: {form[:6]}..."


def test_an_internal_error_keeps_its_traceback_in_the_log_and_its_reference_in_health(
    world: World,
) -> None:
    def buggy(rec: InstanceRecord, secrets: Mapping[str, str]) -> AppConnector:
        connector = runner._default_factory(rec, secrets)

        def inventory() -> Any:
            raise RuntimeError("a bug in the inventory")

        connector.inventory = inventory  # type: ignore[method-assign]
        return connector

    runner = world.runner(workers=0, connector_factory=buggy)
    result = runner.run_once("okta-token", inventory=True)
    assert result.error is not None and result.error.code == "internal_error"

    (failure,) = [line for line in world.lines() if line["level"] == "error"]
    assert failure["instance"] == "okta-token"
    assert "Traceback (most recent call last)" in failure["traceback"]
    assert "RuntimeError: a bug in the inventory" in failure["traceback"]
    ref = failure["error_ref"]
    health = world.store.get_health(world.store.get_instance("okta-token").id)
    assert health.state is HealthState.ERROR
    assert health.last_error is not None and health.last_error.code == "internal_error"
    assert ref in health.last_error.meaning and ref in health.last_error.fix
    assert ref in str(result.error)
    change = [line for line in world.lines() if line["message"].startswith("health ")][-1]
    assert (change["state"], change["code"]) == ("error", "internal_error")


# -- quarantined records ---------------------------------------------------------------------

MARKER = "content-marker-7f3a"  # in a bad record, never in a log line


def _event(i: int) -> dict[str, Any]:
    return {
        "uuid": f"evt-{i:04d}",
        "published": f"2026-11-02T09:00:{i:02d}.000Z",
        "eventType": "user.session.start",
        "outcome": {"result": "SUCCESS"},
        "actor": {"id": "00u1", "type": "User", "alternateId": "user1@example.com"},
        "client": {"ipAddress": "198.51.100.7"},
    }


class _Feed(Feed):
    name = "logs"

    def __init__(self, pages: list[Page]) -> None:
        self.pages = pages

    def initial_cursor(self, now: datetime) -> Cursor:
        return {}

    def fetch(self, cursor: Cursor) -> Iterator[Page]:
        yield from self.pages


class _Connector(AppConnector):
    NAME: ClassVar[str] = "list"
    TITLE: ClassVar[str] = "List"
    FORM: ClassVar[tuple[FormField, ...]] = ()

    def __init__(self, pages: list[Page]) -> None:
        super().__init__({}, {})
        self.pages = pages

    def test(self) -> ConnectionCheck:
        return ConnectionCheck(ok=True, summary="ok")

    def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
        return [_Feed(self.pages)]

    def normalize(self, raw: Mapping[str, Any]) -> Activity:
        return okta_normalize(raw)

    def normalizer(self) -> Any:
        return okta_normalize

    def inventory(self) -> Inventory:
        return Inventory([], [])


@pytest.mark.parametrize("workers", [0, 1])
def test_each_quarantined_record_is_logged_with_its_reason_not_its_content(
    world: World, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ready(pipeline: IngestPipeline[Any]) -> bool:
        pipeline.warm_up()  # the workers are up before the second page, whatever the machine
        return True

    monkeypatch.setattr(IngestPipeline, "ready", ready)
    bad = {"uuid": "evt-bad", "published": "yesterday", "debugContext": {"note": MARKER}}
    gap = Gap("AF20051", "a content blob", "it expired", "import it from an export")
    pages = [
        Page([_event(i) for i in range(5)], {"n": 0}, progress=0.3),
        Page([_event(5), bad, f"{MARKER} not an object"], {"n": 1}, progress=0.6, gaps=(gap,)),
        Page([_event(9)], {"n": 2}, progress=1.0, caught_up=True),
    ]
    world.store.add_instance("okta", "listed", {}, {})
    runner = world.runner(
        workers=workers,
        pipeline_after=1,
        connector_factory=lambda _rec, _secrets: _Connector(pages),
    )
    result = runner.run_once("listed", inventory=False)
    assert result.ok, result.error
    assert result.rejected == 3

    quarantined = [line for line in world.lines() if line["message"].startswith("record quar")]
    assert len(quarantined) == 3
    assert all(q["instance"] == "listed" and q["feed"] == "logs" for q in quarantined)
    assert all(q["level"] == "warning" and q["reason"] for q in quarantined)
    assert any(q["reason"].startswith("AF20051") for q in quarantined)
    assert MARKER not in world.log.getvalue()
    commits = [line["pages"] for line in world.lines() if line["message"].endswith("committed")]
    assert commits == ([1, 1, 1] if workers == 0 else [3])  # the pipeline commits one group
