"""What the two sandboxes serve for one scenario plan, read without HTTP: the Okta log's
records and the Office 365 audit records, normalized; and the enricher of the demo's IP
lists. For tests that run detection or enrichment over the sandbox's organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from tests.sandbox.o365_conftest_helpers import signing_key

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.clock import FakeClock
from opencasb.enrich import Enricher, load_ip_ranges
from opencasb.model.activity import Activity
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path
from opencasb.sandbox.office365_sandbox import build_o365_sandbox
from opencasb.sandbox.okta import generate_rsa_keypair
from opencasb.sandbox.okta_sandbox import build_okta_sandbox
from opencasb.sandbox.scenarios import ScenarioPlan

__all__ = ["Served", "demo_enricher", "served"]


@dataclass(frozen=True, slots=True)
class Served:
    okta_records: list[dict[str, Any]]
    """The Okta System Log's records, as served."""
    okta: list[Activity]
    """``okta_records`` normalized, in the log's order."""
    o365: list[Activity]
    """The audit records normalized, once each (a record the feed serves twice counts once)."""


def served(seed: int, size: int, anchor: datetime, days: int, plan: ScenarioPlan | None) -> Served:
    """Everything both sandboxes serve over ``days`` to ``anchor`` for ``plan``."""
    okta = build_okta_sandbox(
        seed=seed, size=size, days=days, clock=FakeClock(anchor), anchor=anchor,
        oauth_key_pem=generate_rsa_keypair(), scenarios=plan,
    )  # fmt: skip
    o365 = build_o365_sandbox(
        seed=seed, size=size, days=days, clock=FakeClock(anchor), anchor=anchor,
        signing_key=signing_key(), scenarios=plan,
    )  # fmt: skip
    records = [orjson.loads(b) for b in okta.state.log.iter_blobs()]
    audit = (orjson.loads(r) for b in o365.state.blobs.all_blobs() for r in b.records)
    unique = {a.source_event_id: a for a in map(normalize_o365, audit)}
    return Served(records, [normalize_okta(r) for r in records], list(unique.values()))


def demo_enricher() -> Enricher:
    """An enricher with the IP ranges of the demo's lists (corporate, VPN, Tor, ...)."""
    return Enricher(ip_ranges=[r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))])
