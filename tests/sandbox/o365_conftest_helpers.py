"""Shared pieces for the Office 365 emulator tests: a small hand-made tenant and a harness.

Import from test modules (``from tests.sandbox.o365_conftest_helpers import ...``); the
sandbox ``conftest.py`` belongs to the Okta emulator. The tenant: a dozen users (one synced
from on-premises AD, one disabled, one guest), three groups (one Microsoft 365 group) and a
few hundred audit records shaped like the samples, spread over the last 6.5 days, published
30 minutes to 4 hours after their events in 15-minute batches (so records sit out of order
inside blobs), with some records duplicated into a second blob, a few numbers sent as
strings and ``ClientIP`` in the port/IPv6 forms of the samples.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from opencasb.clock import FakeClock
from opencasb.sandbox.office365 import (
    GRAPH_RESOURCE,
    MANAGE_RESOURCE,
    O365Seed,
    O365State,
    create_o365_app,
)
from opencasb.sandbox.transport import SyncASGITransport

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BASE = "https://o365.test"
TENANT_ID = "7c1e4a52-3b9d-4f0e-9a61-2f8d5c3e1b07"
DOMAIN = "contoso.onmicrosoft.com"
CLIENT_ID = "3f6a2b1c-8d4e-4f7a-9b0c-1d2e3f4a5b6c"
SECRET = "Xy8Q~emulator-secret-value"
EXPIRED_SECRET = "Ab1Q~old-secret-value"
PUBLISHER = TENANT_ID
FEED = f"/api/v1.0/{TENANT_ID}/activity/feed"
ROLES = {
    MANAGE_RESOURCE: ["ActivityFeed.Read", "ActivityFeed.ReadDlp"],
    GRAPH_RESOURCE: ["User.Read.All", "User.ReadWrite.All", "Group.Read.All"],
}
_NAMES = [
    "Alex Wilber", "Megan Bowen", "Lee Gu", "Diego Siciliani", "Grady Archie", "Irvin Sayers",
    "Isaiah Langer", "Johanna Lorenz", "Lidia Holloway", "Lynne Robbins", "Nestor Wilke",
    "Pradeep Gupta",
]  # fmt: skip
_IPS = [
    "203.0.113.17", "203.0.113.77:50412", "[2001:db8::abcd]:12345", "2001:db8::1f",
    "198.51.100.23", "::ffff:198.51.100.9",
]  # fmt: skip


@cache
def signing_key() -> rsa.RSAPrivateKey:
    """One token-signing key for every test state (RSA key generation is slow)."""
    return rsa.generate_private_key(65537, 2048)


def make_user(n: int, name: str) -> dict[str, Any]:
    given, surname = name.split(" ", 1)
    upn = f"{given.lower()}.{surname.lower()}@{DOMAIN}"
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "userPrincipalName": upn,
        "displayName": name,
        "givenName": given,
        "surname": surname,
        "mail": upn,
        "jobTitle": "Analyst",
        "officeLocation": "Paris",
        "mobilePhone": None,
        "businessPhones": [],
        "preferredLanguage": "en-US",
        "accountEnabled": n != 11,
        "onPremisesSyncEnabled": True if n == 3 else None,
        "userType": "Guest" if n == 12 else "Member",
        "createdDateTime": "2025-01-01T00:00:00Z",
        "department": "Finance" if n % 2 else "Sales",
    }


def make_groups(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def group(n: int, name: str, unified: bool) -> dict[str, Any]:
        nick = name.lower().replace(" ", "")
        return {
            "id": f"10000000-0000-4000-8000-{n:012d}",
            "displayName": name,
            "description": f"{name} team",
            "groupTypes": ["Unified"] if unified else [],
            "mail": f"{nick}@{DOMAIN}" if unified else None,
            "mailEnabled": unified,
            "mailNickname": nick,
            "securityEnabled": not unified,
            "onPremisesSyncEnabled": None,
            "visibility": "Private" if unified else None,
            "proxyAddresses": [f"SMTP:{nick}@{DOMAIN}"] if unified else [],
            "createdDateTime": "2025-01-01T00:00:00Z",
        }

    return [group(1, "Finance", False), group(2, "Project Falcon", True), group(3, "Admins", False)]


def _common(rng: random.Random, when: datetime, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "CreationTime": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": f"{rng.getrandbits(128):032x}"[:8]
        + "-0000-4000-8000-"
        + f"{rng.getrandbits(48):012x}",
        "OrganizationId": TENANT_ID,
        "UserId": user["userPrincipalName"],
        "UserKey": f"1003200{rng.getrandbits(36):09X}",
        "UserType": 0,
        "Version": 1,
        "ClientIP": rng.choice(_IPS),
    }


def _record(rng: random.Random, kind: int, when: datetime, user: dict[str, Any]) -> dict[str, Any]:
    rec = _common(rng, when, user)
    upn = user["userPrincipalName"]
    site = f"https://contoso-my.sharepoint.com/personal/{upn.replace('.', '_').replace('@', '_')}/"
    if kind in (0, 1):
        failed = kind == 1
        rec.update(
            RecordType=15, Workload="AzureActiveDirectory", AzureActiveDirectoryEventType=1,
            Operation="UserLoginFailed" if failed else "UserLoggedIn",
            ResultStatus="Failed" if failed else "Succeeded",
            ObjectId="00000003-0000-0ff1-ce00-000000000000",
            ErrorNumber="50126" if failed else "0",
            ExtendedProperties=[
                {"Name": "UserAgent", "Value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},
                {"Name": "RequestType", "Value": "OAuth2:Authorize"},
                {"Name": "ResultStatusDetail", "Value": "UserError" if failed else "Success"},
            ],
            Actor=[{"ID": user["id"], "Type": 0}, {"ID": upn, "Type": 5}],
            ActorContextId=TENANT_ID, InterSystemsId=user["id"], SupportTicketId="",
        )  # fmt: skip
        if failed:
            rec["LogonError"] = "InvalidUserNameOrPassword"
        rec["ActorIpAddress"] = rec["ClientIP"]
    elif kind in (2, 3, 4, 5):
        op = ["FileAccessed", "FileDownloaded", "SharingSet", "AnonymousLinkCreated"][kind - 2]
        name = f"Report {rng.randrange(100)}.xlsx"
        rec.update(
            RecordType=6 if kind < 4 else 14, Workload="OneDrive", Operation=op,
            EventSource="SharePoint", ItemType="File", SiteUrl=site,
            SourceRelativeUrl="Documents", SourceFileName=name, SourceFileExtension="xlsx",
            ObjectId=f"{site}Documents/{name}", UserAgent="Microsoft SkyDriveSync",
        )  # fmt: skip
        if op == "SharingSet":
            rec.update(TargetUserOrGroupName="OUTSIDER@EXTERNAL.IO", TargetUserOrGroupType="Guest")
            rec["EventData"] = (
                "<Type>Edit</Type><MembersCanShareApplied>False</MembersCanShareApplied>"
            )
    elif kind in (6, 7):
        if kind == 6:
            params = [
                {"Name": "Name", "Value": "Move GitHub emails"},
                {"Name": "ForwardTo", "Value": "drop@evil.example"},
                {"Name": "StopProcessingRules", "Value": "True"},
            ]
        else:
            params = [
                {"Name": "Identity", "Value": upn},
                {"Name": "ForwardingSmtpAddress", "Value": "smtp:someone@external.io"},
                {"Name": "DeliverToMailboxAndForward", "Value": "False"},
            ]
        rec.update(
            RecordType=1, Workload="Exchange",
            Operation="New-InboxRule" if kind == 6 else "Set-Mailbox",
            ResultStatus="True", ObjectId=upn, Parameters=params, ExternalAccess=False,
            OrganizationName=DOMAIN, OriginatingServer="AM6PR01MB4535 (15.20.225.32)\n",
        )  # fmt: skip
    elif kind == 8:
        rec.update(
            RecordType=50, Workload="Exchange", Operation="MailItemsAccessed",
            ResultStatus="Succeeded", ClientIPAddress=rec["ClientIP"], MailboxOwnerUPN=upn,
            ClientInfoString="Client=OWA;Action=ViaProxy", LogonType=0, OperationCount=2,
            OperationProperties=[{"Name": "MailAccessType", "Value": "Bind"}],
            Folders=[{"Id": "LgAAAA", "Path": "\\Inbox", "FolderItems": [{"SizeInBytes": 4821}]}],
        )  # fmt: skip
    elif kind == 9:
        rec.update(
            RecordType=25, Workload="MicrosoftTeams", Operation="MemberAdded",
            TeamName="Project Falcon", Members=[{"UPN": upn, "Role": 1}],
        )  # fmt: skip
    else:
        rec.update(
            RecordType=11, Workload="SharePoint", Operation="DLPRuleMatch", UserType=4,
            SensitiveInfoDetectionIsIncluded=True, IncidentId=rec["Id"],
            PolicyDetails=[{"PolicyName": "U.S. Financial Data", "Rules": [{
                "RuleName": "High volume", "Severity": "High",
                "ConditionsMatched": {"SensitiveInformation": [{
                    "Count": 2, "Confidence": 85, "SensitiveType": "cb353f78",
                    "SensitiveInformationDetections": {"Detections": [{"Value": "4111 1111"}]},
                }]},
            }]}],
        )  # fmt: skip
    if rng.random() < 0.1:  # numbers as strings, as some producers send them
        rec["RecordType"] = str(rec["RecordType"])
        rec["UserType"] = str(rec["UserType"])
    return rec


def build_seed(n_records: int = 400, *, now: datetime = NOW, seed: int = 7) -> O365Seed:
    """The small tenant: records every ~23 minutes over the 6.5 days before ``now``; some
    are published after ``now`` (they appear as the clock advances)."""
    rng = random.Random(seed)
    users = [make_user(n, name) for n, name in enumerate(_NAMES, start=1)]
    records: list[tuple[dict[str, Any], datetime]] = []
    start = now - timedelta(days=6, hours=12)
    step = timedelta(days=6, hours=12) / n_records
    for i in range(n_records):
        when = start + step * i + timedelta(seconds=rng.randrange(60))
        rec = _record(rng, i % 11, when, rng.choice(users))
        delay = timedelta(minutes=rng.uniform(30, 240))
        published = _batch(when + delay)
        records.append((rec, published))
        if rng.random() < 0.05:  # the same record again, in a later blob
            records.append((dict(rec), published + timedelta(minutes=15 * rng.randint(1, 8))))
    rng.shuffle(records)  # records inside a blob are not in event order (research §2.6)
    return O365Seed(
        TENANT_ID, DOMAIN, users, make_groups(users), records,
        subscriptions=["Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint",
                       "Audit.General", "DLP.All"],
    )  # fmt: skip


def _batch(when: datetime) -> datetime:
    # Blobs are cut on the hour.
    return when.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


@dataclass
class Tenant:
    """A running in-process emulator and a client for it."""

    clock: FakeClock
    state: O365State
    app: Any
    client: httpx.Client

    def token(self, resource: str = MANAGE_RESOURCE) -> str:
        r = self.client.post(
            f"/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "grant_type": "client_credentials",
                "scope": f"{resource}/.default",
            },
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def feed(
        self, method: str, path: str, token: str | None = None, **params: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        return self.client.request(method, f"{FEED}/{path}", params=params, headers=headers)

    def graph(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token(GRAPH_RESOURCE)}"}
        return self.client.request(method, f"/v1.0/{path}", headers=headers, **kw)


def make_tenant(seed: O365Seed | None = None, **app_kwargs: Any) -> Iterator[Tenant]:
    clock = FakeClock(NOW)
    state = O365State.from_seed(seed or build_seed(), clock=clock, signing_key=signing_key())
    state.register_app(
        CLIENT_ID,
        roles=ROLES,
        secrets=[(SECRET, NOW + timedelta(days=365)), (EXPIRED_SECRET, NOW - timedelta(days=1))],
        name="OpenCASB",
    )
    app = create_o365_app(state, **app_kwargs)
    with httpx.Client(transport=SyncASGITransport(app), base_url=BASE) as client:
        yield Tenant(clock, state, app, client)
