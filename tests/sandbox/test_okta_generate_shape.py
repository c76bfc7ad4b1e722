"""Generated System Log events have the shape of real ones (the published samples).

For each eventType found both in the samples and in generated events, every field path that
all samples of that type carry must be in every generated event, with a value type seen in the
samples (null is accepted where Okta documents it; free-form maps are not descended into).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from opencasb.sandbox.okta.generate import generate_events
from opencasb.sandbox.org import build_org

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples" / "okta"
FREE_FORM = {"debugData", "detailEntry", "changeDetails", "detail"}


def _paths(value: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}"
            out[path] = type(item).__name__
            if key not in FREE_FORM:
                out.update(_paths(item, path))
    elif isinstance(value, list):
        for item in value:
            out.update(_paths(item, prefix + "[]"))
    return out


def _by_type(events: Any, cap: int = 10**9) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for event in events:
        group = grouped[event["eventType"]]
        if len(group) < cap:
            group.append(_paths(event))
    return grouped


@pytest.fixture(scope="module")
def samples() -> list[dict[str, Any]]:
    if not SAMPLES.is_dir():
        pytest.skip("the shared samples folder is absent")
    events = []
    for file in sorted(SAMPLES.glob("*.jsonl")):
        events += [orjson.loads(line) for line in file.read_bytes().splitlines() if line.strip()]
    return events


def test_generated_events_carry_every_field_the_samples_always_have(
    samples: list[dict[str, Any]],
) -> None:
    org = build_org(4, 300)
    start = datetime(2026, 10, 5, tzinfo=UTC)
    events = generate_events(org, start, start + timedelta(days=10))
    generated = _by_type((e for e, _ in events), cap=300)
    real = _by_type(samples)
    common = set(real) & set(generated)
    assert len(common) >= 8, sorted(common)
    problems = []
    for event_type in sorted(common):
        always = set.intersection(*(set(p) for p in real[event_type]))
        seen: dict[str, set[str]] = defaultdict(set)
        for paths in real[event_type]:
            for path, kind in paths.items():
                seen[path].add(kind)
        for paths in generated[event_type]:
            missing = always - set(paths)
            if missing:
                problems.append(f"{event_type}: missing {sorted(missing)}")
                break
            for path in always:
                kinds = seen[path] - {"NoneType"}
                if kinds and paths[path] not in kinds | {"NoneType"}:
                    problems.append(f"{event_type}: {path} is {paths[path]}, samples {kinds}")
                    break
    assert not problems, "\n".join(problems)


def test_display_messages_and_legacy_types_match_the_samples(
    samples: list[dict[str, Any]],
) -> None:
    org = build_org(4, 300)
    start = datetime(2026, 10, 5, tzinfo=UTC)
    real: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    for event in samples:
        real[event["eventType"]].add((event["displayMessage"], event["legacyEventType"]))
    for event, _ in generate_events(org, start, start + timedelta(days=3)):
        options = real.get(event["eventType"])
        if options is None or event["outcome"]["result"] == "FAILURE":
            continue
        messages = {m for m, _ in options}
        assert event["displayMessage"] in messages, event["eventType"]
        legacies = {legacy for _, legacy in options}
        assert event["legacyEventType"] in legacies, event["eventType"]
