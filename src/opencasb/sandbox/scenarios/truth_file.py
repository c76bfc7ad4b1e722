"""Write a plan's ground truth as ``ground-truth.json``."""

from __future__ import annotations

import json
from pathlib import Path

from .model import ScenarioPlan

__all__ = ["GROUND_TRUTH_FILE", "write_ground_truth"]

GROUND_TRUTH_FILE = "ground-truth.json"


def write_ground_truth(directory: Path, plan: ScenarioPlan) -> Path:
    """Write ``plan``'s ground truth (seed, size, window, entries by start time) into
    ``directory``; returns the file's path. The same plan always gives the same bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / GROUND_TRUTH_FILE
    path.write_text(json.dumps(plan.to_json(), indent=2) + "\n", encoding="utf-8")
    return path
