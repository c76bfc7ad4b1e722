"""Rule files and normalized sample records for the Sigma tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.detect.policy import Policy
from opencasb.detect.sigma import SigmaLoad, load_rules
from opencasb.model.activity import Activity

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"


def sample(name: str, pick: str) -> dict[str, Any]:
    """The first record of sample file ``name`` whose line contains ``pick`` (skipped when
    the shared samples are absent)."""
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"shared samples not found at {SAMPLES}")
    for line in path.read_text().splitlines():
        if pick in line:
            record: dict[str, Any] = json.loads(line)
            return record
    raise AssertionError(f"no record with {pick!r} in {name}")


def okta(record: dict[str, Any]) -> Activity:
    return normalize_okta(record)


def o365(record: dict[str, Any]) -> Activity:
    return normalize_o365(record)


def rule_text(
    detection: dict[str, Any] | str,
    *,
    product: str = "okta",
    service: str | None = None,
    title: str = "Test rule",
    rule_id: str | None = None,
    level: str = "medium",
    tags: list[str] | None = None,
) -> str:
    logsource: dict[str, str] = {"product": product}
    if service:
        logsource["service"] = service
    doc: dict[str, Any] = {
        "title": title,
        "id": rule_id or str(uuid.uuid5(uuid.NAMESPACE_URL, title)),
        "status": "test",
        "description": f"{title}, for the tests.",
        "references": ["https://example.org/ref"],
        "logsource": logsource,
        "level": level,
        "tags": tags or ["attack.persistence", "attack.t1098"],
    }
    if isinstance(detection, str):
        return yaml.safe_dump(doc, sort_keys=False) + detection
    doc["detection"] = detection
    return yaml.safe_dump(doc, sort_keys=False)


def load_one(tmp_path: Path, detection: dict[str, Any] | str, **kw: Any) -> SigmaLoad:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "rule.yml").write_text(rule_text(detection, **kw))
    return load_rules(folder)


def policy_of(tmp_path: Path, detection: dict[str, Any] | str, **kw: Any) -> Policy:
    loaded = load_one(tmp_path, detection, **kw)
    assert not loaded.problems, [str(p) for p in loaded.problems]
    (rule,) = loaded.rules
    return rule.policy
