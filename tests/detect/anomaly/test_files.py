"""Unusual download and deletion volume against the user's baseline, and ransomware."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from tests.detect.anomaly.helpers import DAY, HOUR, T0, history, ids, run, where

from opencasb.detect.anomaly import AnomalySettings, Sensitivity
from opencasb.enrich import Enrichment
from opencasb.model.activity import Activity, Actor, Category, Outcome

LATER = 8 * DAY + 2 * HOUR


def op(at: float, operation: str, ext: str = "", email: str = "ana@example.com") -> Activity:
    """An Office 365 SharePoint/OneDrive file operation ``at`` seconds after T0."""
    details: dict[str, Any] = {"source_file_extension": "docx"}
    if ext:
        details["destination_file_extension"] = ext
    return Activity(
        time=T0 + timedelta(seconds=at), app="office365",
        source_event_id=f"{operation}-{at}", activity_type=operation, category=Category.FILE,
        action=operation, outcome=Outcome.SUCCESS,
        actor=Actor(id=email, email=email, type="User"), raw={}, src_ip="198.51.100.10",
        details=details,
    )  # fmt: skip


def burst(
    operation: str, n: int, at: float = LATER, gap: float = 5, **kw: Any
) -> list[tuple[Activity, Enrichment]]:
    tags = kw.pop("tags", ())
    return [(op(at + i * gap, operation, **kw), where("Paris", *tags)) for i in range(n)]


def test_mass_download_against_a_quiet_baseline() -> None:
    found, _ = run(history() + burst("FileDownloaded", 80))
    (f,) = [f for f in found if f.policy_id == "anomaly.mass_download"]
    assert f.count == 50
    assert f.explanation == (
        "ana@example.com downloaded 50 files within 4 min; this user's busiest hour on earlier "
        "days was 0 (alert from 50 at medium sensitivity)"
    )


def test_a_heavy_downloader_needs_more_than_twice_the_usual() -> None:
    usual = [x for d in range(8) for x in burst("FileSyncDownloadedFull", 40, at=d * DAY + HOUR)]
    assert (
        ids(run(history() + usual + burst("FileDownloaded", 80))[0], "anomaly.mass_download") == []
    )
    (f,) = [
        f for f in run(history() + usual + burst("FileDownloaded", 90))[0]
        if f.policy_id == "anomaly.mass_download"
    ]  # fmt: skip
    assert f.count == 81 and "busiest hour on earlier days was 40 (alert from 81" in f.explanation


def test_office_downloads_count_only_at_high_sensitivity() -> None:
    office = history() + burst("FileDownloaded", 80, tags=("corporate",))
    assert ids(run(office)[0], "anomaly.mass_download") == []
    high = AnomalySettings(sensitivity=Sensitivity.HIGH)
    assert len(ids(run(office, high)[0], "anomaly.mass_download")) == 1


def test_mass_deletion_once_an_hour_and_not_while_learning() -> None:
    found, _ = run(history() + burst("FileDeleted", 70))
    assert len(ids(found, "anomaly.mass_delete")) == 1
    assert ids(run(burst("FileDeleted", 70, at=0))[0], "anomaly.mass_delete") == []
    off = AnomalySettings(disabled=frozenset({"anomaly.mass_delete"}))
    assert ids(run(history() + burst("FileDeleted", 70), off)[0], "anomaly.mass_delete") == []


def test_ransomware_rename_to_a_new_extension() -> None:
    usual = burst("FileRenamed", 30, at=DAY, ext="pdf")  # a user who often saves as PDF
    found, _ = run(history() + usual + burst("FileRenamed", 40, ext="lockbit"))
    (f,) = [f for f in found if f.policy_id == "anomaly.ransomware"]
    assert f.count == 20 and f.severity == "high"
    assert (
        "renamed or uploaded 20 files to .lockbit within 2 min, an extension this user never"
        in f.explanation
    )
    assert "(usual: .pdf)" in f.explanation
    # the same burst to an extension the user has used is ordinary
    again = history() + usual + burst("FileRenamed", 40, ext="pdf")
    assert ids(run(again)[0], "anomaly.ransomware") == []
    # slower than 20 in five minutes is not the pattern
    slow = history() + burst("FileRenamed", 40, gap=30, ext="lockbit")
    assert ids(run(slow)[0], "anomaly.ransomware") == []


def test_mass_sharing_against_the_users_baseline() -> None:
    found, _ = run(history() + burst("AnonymousLinkCreated", 40))
    (f,) = [f for f in found if f.policy_id == "anomaly.mass_share"]
    assert f.count == 30 and f.explanation.startswith("ana@example.com shared 30 items within")
    usual = [x for d in range(8) for x in burst("SharingSet", 20, at=d * DAY + HOUR)]
    assert ids(run(history() + usual + burst("SharingSet", 40))[0], "anomaly.mass_share") == []


def test_unusual_administrative_activity_volume() -> None:
    def admin(at: float) -> tuple[Activity, Enrichment]:
        a = dataclasses.replace(op(at, "Add member to role."), category=Category.ADMIN)
        return a, where("Paris")

    found, _ = run(history() + [admin(LATER + i * 30) for i in range(20)])
    (f,) = [f for f in found if f.policy_id == "anomaly.unusual_admin_activity"]
    assert f.count == 15 and "performed 15 administrative actions within 7 min" in f.explanation
    assert f.tactic == "persistence"
    busy = [admin(d * DAY + i * 60) for d in range(8) for i in range(10)]
    quiet, _ = run(history() + busy + [admin(LATER + i * 30) for i in range(20)])
    assert ids(quiet, "anomaly.unusual_admin_activity") == []
