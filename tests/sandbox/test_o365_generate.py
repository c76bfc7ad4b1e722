"""The synthetic Office 365 tenant: deterministic, ordered by publication, realistic in volume,
mix, hours and publication quirks, and every record normalizes."""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from opencasb.apps.office365.normalize import normalize
from opencasb.sandbox.office365 import content_type_of
from opencasb.sandbox.office365.gen_publish import MAX_LAG
from opencasb.sandbox.office365.generate import (
    generate_records,
    graph_directory,
    live_records,
    tenant_for,
)
from opencasb.sandbox.okta.generate import okta_seed_parts
from opencasb.sandbox.org import Organisation, build_org

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday; no public holiday that week
CREATION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
Records = list[tuple[dict[str, Any], datetime]]


@pytest.fixture(scope="module")
def org() -> Organisation:
    return build_org(0, 200)


@pytest.fixture(scope="module")
def week(org: Organisation) -> Records:
    return list(generate_records(org, tenant_for(org), START, START + timedelta(days=7)))


def _dump(records: Any) -> list[bytes]:
    return [orjson.dumps(r) + p.isoformat().encode() for r, p in records]


def _created(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(org: Organisation) -> None:
    tenant, end = tenant_for(org), START + timedelta(days=2)
    a = _dump(generate_records(org, tenant, START, end))
    b = _dump(generate_records(org, tenant, START, end))
    c = _dump(generate_records(org, tenant, START, end, seed=99))
    assert a == b
    assert a != c and len(a) > 1000
    other = build_org(1, 200)
    assert _dump(generate_records(other, tenant_for(other), START, end)) != a


def test_adjacent_windows_add_up_to_the_whole(org: Organisation) -> None:
    tenant = tenant_for(org)
    mid, end = START + timedelta(hours=31, minutes=7, seconds=30), START + timedelta(days=2)
    whole = _dump(generate_records(org, tenant, START, end))
    parts = _dump(live_records(org, tenant, START, mid)) + _dump(
        live_records(org, tenant, mid, end)
    )
    assert parts == whole


def test_records_come_in_publication_order_inside_the_window(week: Records) -> None:
    published = [p for _, p in week]
    assert published == sorted(published)
    assert published[0] > START and published[-1] <= START + timedelta(days=7)
    assert all(CREATION.match(r["CreationTime"]) for r, _ in week)


def test_publication_lags_30_minutes_to_hours_mostly_60_to_90(week: Records) -> None:
    lags = sorted((p - _created(r)).total_seconds() / 60 for r, p in week)
    assert lags[0] >= 30
    assert lags[-1] <= MAX_LAG / 60
    assert 60 <= lags[len(lags) // 2] <= 95
    in_band = sum(60 <= lag <= 95 for lag in lags) / len(lags)
    assert in_band > 0.7
    assert sum(lag > 180 for lag in lags) > 0  # a tail of hours


def test_blobs_hold_many_records_out_of_event_order(week: Records) -> None:
    blobs: dict[tuple[str, datetime], list[str]] = defaultdict(list)
    for record, published in week:
        blobs[(content_type_of(record), published)].append(record["CreationTime"])
    sizes = sorted(len(v) for v in blobs.values())
    assert sizes[len(sizes) // 2] >= 4  # 200 people, a week: 4-5 (travel days, leaves)
    unordered = sum(times != sorted(times) for times in blobs.values() if len(times) > 2)
    assert unordered > len(blobs) / 4
    assert {ct for ct, _ in blobs} == {
        "Audit.AzureActiveDirectory",
        "Audit.Exchange",
        "Audit.SharePoint",
        "Audit.General",
        "DLP.All",
    }


def test_a_small_share_is_published_again_later_with_the_same_bytes(week: Records) -> None:
    seen: dict[str, list[tuple[bytes, datetime]]] = defaultdict(list)
    for record, published in week:
        seen[record["Id"]].append((orjson.dumps(record), published))
    dups = [v for v in seen.values() if len(v) > 1]
    assert 0.002 < len(dups) / len(seen) < 0.02
    for (first, t1), (second, t2) in dups:
        assert first == second and t2 > t1


def test_some_numbers_are_strings_and_addresses_come_in_every_form(week: Records) -> None:
    records = [r for r, _ in week]
    stringly = [r for r in records if isinstance(r["RecordType"], str)]
    assert 0.005 < len(stringly) / len(records) < 0.05
    assert all(isinstance(r["UserType"], str) for r in stringly)
    ips = [r.get("ClientIP") or "" for r in records]
    assert any(re.fullmatch(r"\d+\.\d+\.\d+\.\d+:\d+", ip) for ip in ips)
    assert any(re.fullmatch(r"\[[0-9a-f:]+\]:\d+", ip) for ip in ips)
    assert any(re.fullmatch(r"[0-9a-f:]+", ip) and "::" in ip for ip in ips)


def test_ids_are_unique_guids_and_the_tenant_is_the_organization(
    org: Organisation, week: Records
) -> None:
    tenant = tenant_for(org)
    ids = {r["Id"] for r, _ in week}
    assert len(ids) > 0.98 * len(week)
    for record, _ in week[:2000]:
        uuid.UUID(record["Id"])
        assert record["OrganizationId"] == tenant.tenant_id


def test_mix_is_dominated_by_sign_ins_files_and_mail(week: Records) -> None:
    ops = Counter(r["Operation"] for r, _ in week)
    total = sum(ops.values())
    files = sum(n for op, n in ops.items() if op.startswith("File"))
    mail = ops["Send"] + ops["MailItemsAccessed"] + ops["MoveToDeletedItems"]
    sign_ins = ops["UserLoggedIn"] + ops["UserLoginFailed"]
    assert files > 0.3 * total
    assert mail > 0.2 * total
    assert sign_ins > 0.1 * total
    assert ops["UserLoginFailed"] < ops["UserLoggedIn"] / 5
    admin = sum(n for op, n in ops.items() if op.endswith(".") or "-" in op)
    assert 0 < admin < 0.005 * total


def test_every_workload_appears_over_a_fortnight_of_a_bigger_org() -> None:
    org = build_org(4, 800)
    end = START + timedelta(days=14)
    seen: Counter[tuple[int, str]] = Counter()
    errors: Counter[str] = Counter()
    for r, _ in generate_records(org, tenant_for(org), START, end):
        seen[(int(r["RecordType"]), r["Operation"])] += 1
        if r["Operation"] == "UserLoginFailed":
            errors[r["LogonError"]] += 1
    wanted = {
        (15, "UserLoggedIn"), (15, "UserLoginFailed"), (6, "FileAccessed"),
        (6, "FileDownloaded"), (6, "FileUploaded"), (6, "FileModified"), (6, "FileRenamed"),
        (6, "FileDeleted"), (6, "FileSyncDownloadedFull"), (14, "SharingSet"),
        (14, "AnonymousLinkCreated"), (14, "SharingInvitationCreated"),
        (14, "AddedToSecureLink"), (1, "New-InboxRule"), (1, "Set-InboxRule"),
        (1, "Set-Mailbox"), (1, "Add-MailboxPermission"), (2, "Send"), (2, "SendAs"),
        (3, "MoveToDeletedItems"), (3, "HardDelete"), (50, "MailItemsAccessed"),
        (8, "Add user."), (8, "Update user."), (8, "Add member to role."),
        (8, "Consent to application."), (25, "TeamsSessionStarted"), (25, "MessageSent"),
        (25, "MemberAdded"), (25, "TeamCreated"), (20, "ViewReport"), (21, "Retrieve"),
        (22, "GroupCreation"), (30, "EditFlow"), (66, "ViewForm"), (40, "AlertTriggered"),
        (40, "AlertEntityGenerated"), (11, "DLPRuleMatch"), (13, "DlpRuleMatch"),
    }  # fmt: skip
    assert wanted <= set(seen), sorted(wanted - set(seen))
    assert {"InvalidUserNameOrPassword", "UserStrongAuthClientAuthNRequiredInterrupt"} <= set(
        errors
    )


def test_volume_per_active_person_per_working_day(org: Organisation, week: Records) -> None:
    users, _groups, _members = graph_directory(org, tenant_for(org))
    active = sum(u["accountEnabled"] for u in users)
    tuesday = [r for r, _ in week if r["CreationTime"].startswith("2026-10-06T")]
    per_person = len(tuesday) / active
    assert 20 <= per_person <= 60, per_person


def test_people_work_in_their_own_working_hours(org: Organisation, week: Records) -> None:
    people = {p.email: p for p in org.people}
    inside = outside = weekend = weekday = 0
    for record, _ in week:
        p = people.get(record["UserId"])
        if p is None or p.travels:
            continue
        local = _created(record).astimezone(ZoneInfo(p.timezone))
        if local.weekday() >= 5:
            weekend += 1
            continue
        weekday += 1
        minutes = local.hour * 60 + local.minute
        if p.work_start - 30 <= minutes <= p.work_end + 90:
            inside += 1
        elif not 19 * 60 <= minutes <= 23 * 60:  # the evening check-in
            outside += 1
    assert outside / weekday < 0.02
    assert inside / weekday > 0.9
    assert weekend < weekday / 20


def test_graph_directory_is_the_okta_org(org: Organisation) -> None:
    tenant = tenant_for(org)
    users, groups, members = graph_directory(org, tenant)
    okta_users, *_ = okta_seed_parts(org)
    assert [u["userPrincipalName"] for u in users] == [u["profile"]["login"] for u in okta_users]
    statuses = {u["profile"]["login"]: u["status"] for u in okta_users}
    for user in users:
        uuid.UUID(user["id"])
        okta = statuses[user["userPrincipalName"]]
        assert user["accountEnabled"] == (okta not in ("SUSPENDED", "DEPROVISIONED"))
        assert user["onPremisesSyncEnabled"] in (True, None)
        assert user["userType"] in ("Member", "Guest")
    assert len({u["id"] for u in users}) == len(users)
    kinds = {p.email: p.kind for p in org.people}
    assert all((u["userType"] == "Guest") == (kinds[u["mail"]] == "guest") for u in users)
    synced = sum(u["onPremisesSyncEnabled"] is True for u in users)
    assert 0.1 * len(users) < synced < 0.8 * len(users)
    unified = [g for g in groups if g["groupTypes"] == ["Unified"]]
    security = [g for g in groups if g["securityEnabled"]]
    assert unified and security
    assert all(g["mailEnabled"] and g["mail"] for g in unified)
    ids = {u["id"] for u in users}
    assert all(set(m) <= ids for m in members.values())
    assert {g["id"] for g in groups} == set(members)
    again = graph_directory(org, tenant)
    assert orjson.dumps(again[0]) == orjson.dumps(users)


def test_records_name_the_directory_people(org: Organisation, week: Records) -> None:
    users, *_ = graph_directory(org, tenant_for(org))
    by_upn = {u["userPrincipalName"]: u for u in users}
    guest_ops: Counter[str] = Counter()
    for record, _ in week:
        user = by_upn.get(record["UserId"])
        if record["Operation"] in ("UserLoggedIn", "UserLoginFailed"):
            assert user is not None and record["UserKey"] == user["id"]
        if user is not None:
            assert user["accountEnabled"]
            if user["userType"] == "Guest":
                guest_ops[record["Workload"]] += 1
    # Guests have no mailbox and no OneDrive in the tenant.
    assert guest_ops and set(guest_ops) <= {"AzureActiveDirectory", "MicrosoftTeams", "SharePoint"}


def test_every_record_normalizes(week: Records) -> None:
    for record, _ in week:
        activity = normalize(record)
        assert activity.source_event_id == record["Id"]
