"""The emulated tenant: directory (Graph users and groups), app registrations, subscriptions
and the published audit content.

Build one from plain data with :meth:`O365State.from_seed`. The state is shared by the ASGI
app and whoever drives it (tests flipping tenant switches, a live trickle of records), so
mutations take ``state.lock``.

Tenant switches: ``licensed`` (False: every Management Activity call answers AF20012),
``auditing_enabled`` (False: unified audit logging is off — starting a subscription fails with
the "Tenant ... does not exist" dump and listing content answers AF20023) and
``onprem_sync_writes`` (``"reject"``: changing ``accountEnabled`` of a user synced from
on-premises AD answers Graph's 400 ``Request_BadRequest``; ``"accept"``: the cloud write
succeeds — the research doc leaves open which one the real service does).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from opencasb.clock import Clock, utc
from opencasb.sandbox.office365.blobs import BlobStore, content_type_of
from opencasb.sandbox.office365.faults import FaultInjector

__all__ = ["AppRegistration", "ClientSecret", "O365Seed", "O365State", "Subscription"]

MANAGE_RESOURCE = "https://manage.office.com"
GRAPH_RESOURCE = "https://graph.microsoft.com"


@dataclass
class O365Seed:
    """Plain data for a whole tenant (the seam with the synthetic-org generator).

    ``users``/``groups`` are Graph objects. ``records`` are ``(audit record, publication
    time)`` pairs; records of one content type with the same publication time form one blob,
    which becomes listable when the clock reaches that time. ``subscriptions`` are content
    types already subscribed before the history began (they list all of it); a subscription
    started later only lists content published after its start, as the real API does.
    """

    tenant_id: str
    domain: str
    users: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    records: Iterable[tuple[dict[str, Any], datetime]]
    subscriptions: Iterable[str] = ()
    display_name: str = "Contoso"
    memberships: Mapping[str, list[str]] = field(default_factory=dict)  # group id -> user ids


@dataclass(frozen=True, slots=True)
class ClientSecret:
    """A client secret value and when it stops working."""

    value: str
    expires_at: datetime


@dataclass
class AppRegistration:
    """An app registration with admin-consented application permissions.

    ``roles`` maps a resource (``https://manage.office.com``, ``https://graph.microsoft.com``)
    to the app roles granted on it; they become the access token's ``roles`` claim.
    ``certificates`` maps a certificate's SHA-1 and SHA-256 thumbprints (lower-case hex) to
    its public key.
    """

    client_id: str
    name: str
    roles: dict[str, frozenset[str]]
    secrets: list[ClientSecret] = field(default_factory=list)
    certificates: dict[str, Any] = field(default_factory=dict)
    service_principal_id: str = ""


@dataclass
class Subscription:
    """One content type's subscription; ``since`` bounds what its listings can return."""

    content_type: str
    status: Literal["enabled", "disabled"]
    since: datetime
    webhook: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        return {"contentType": self.content_type, "status": self.status, "webhook": self.webhook}


def certificate_thumbprints(cert_pem: str | bytes) -> tuple[str, str, Any]:
    """``(sha1_hex, sha256_hex, public_key)`` of a PEM certificate."""
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    cert = x509.load_pem_x509_certificate(data)
    der = cert.public_bytes(Encoding.DER)
    sha1 = hashes.Hash(hashes.SHA1())
    sha1.update(der)
    sha256 = hashes.Hash(hashes.SHA256())
    sha256.update(der)
    return sha1.finalize().hex(), sha256.finalize().hex(), cert.public_key()


class O365State:
    """Everything the emulator knows about one tenant."""

    def __init__(
        self,
        *,
        tenant_id: str,
        domain: str,
        clock: Clock,
        faults: FaultInjector | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        seed: int = 0,
        display_name: str = "Contoso",
    ) -> None:
        self.tenant_id = tenant_id.lower()
        self.domain = domain.lower()
        self.display_name = display_name
        self.clock = clock
        self.faults = faults or FaultInjector()
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.licensed = True
        self.auditing_enabled = True
        self.onprem_sync_writes: Literal["reject", "accept"] = "reject"
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}  # group id -> member user ids
        self.blobs = BlobStore()
        self.subscriptions: dict[str, Subscription] = {}
        self.apps: dict[str, AppRegistration] = {}
        self.used_jtis: dict[str, float] = {}  # jti -> its exp (epoch seconds)
        self._upns: dict[str, str] = {}
        # One RSA key signs every access token; tests pass a shared one (keygen is slow).
        self.signing_key = signing_key or rsa.generate_private_key(65537, 2048)
        self.key_id = f"emu{self.rng.getrandbits(64):016x}"

    @classmethod
    def from_seed(
        cls,
        seed: O365Seed,
        *,
        clock: Clock,
        faults: FaultInjector | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        rng_seed: int = 0,
    ) -> O365State:
        """A tenant holding ``seed``'s directory, content and subscriptions."""
        state = cls(
            tenant_id=seed.tenant_id,
            domain=seed.domain,
            clock=clock,
            faults=faults,
            signing_key=signing_key,
            seed=rng_seed,
            display_name=seed.display_name,
        )
        for user in seed.users:
            state.add_user(user)
        for group in seed.groups:
            state.groups[group["id"]] = dict(group)
        state.members = {gid: list(ids) for gid, ids in seed.memberships.items()}
        state.blobs.load(seed.records)
        origin = utc(datetime(1970, 1, 1))
        for content_type in seed.subscriptions:
            state.subscriptions[content_type] = Subscription(content_type, "enabled", origin)
        return state

    # --- tenant and directory --------------------------------------------------------------

    def is_tenant(self, name: str) -> bool:
        """True for this tenant's GUID or its verified domain (both case-insensitive)."""
        return name.lower() in (self.tenant_id, self.domain)

    def add_user(self, user: dict[str, Any]) -> None:
        """Add (or replace) a Graph user object; its ``userPrincipalName`` is addressable."""
        with self.lock:
            self.users[user["id"]] = dict(user)
            upn = user.get("userPrincipalName")
            if upn:
                self._upns[str(upn).lower()] = user["id"]

    def find_user(self, id_or_upn: str) -> dict[str, Any] | None:
        """A user by object id or by userPrincipalName (case-insensitive)."""
        user = self.users.get(id_or_upn)
        if user is None:
            uid = self._upns.get(id_or_upn.lower())
            user = self.users.get(uid) if uid else None
        return user

    def new_guid(self) -> str:
        """A random-looking GUID drawn from the seeded generator."""
        with self.lock:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # --- app registrations -----------------------------------------------------------------

    def register_app(
        self,
        client_id: str,
        *,
        roles: Mapping[str, Iterable[str]],
        secrets: Iterable[tuple[str, datetime]] = (),
        certificates: Iterable[str | bytes] = (),
        name: str = "OpenCASB",
    ) -> AppRegistration:
        """Register an app with its granted roles per resource, secrets and certificates."""
        app = AppRegistration(
            client_id,
            name,
            {res.rstrip("/"): frozenset(r) for res, r in roles.items()},
            [ClientSecret(v, utc(exp)) for v, exp in secrets],
            service_principal_id=self.new_guid(),
        )
        for pem in certificates:
            sha1, sha256, key = certificate_thumbprints(pem)
            app.certificates[sha1] = key
            app.certificates[sha256] = key
        with self.lock:
            self.apps[client_id] = app
        return app

    # --- audit content ---------------------------------------------------------------------

    def append_record(
        self, record: dict[str, Any], published_at: datetime | None = None
    ) -> list[datetime]:
        """Publish one new record; returns when it becomes listable (more than one time when
        the fault injector duplicates it into a second blob).

        Without ``published_at`` the injector draws the delay after the record's
        ``CreationTime``. A time already past is moved to "now": a client may have listed
        past it, and the real service never publishes into the past.
        """
        if published_at is not None:
            times = [published_at]
        else:
            created = utc(datetime.fromisoformat(str(record["CreationTime"])))
            times = self.faults.publication(created)
        now = self.clock.now()
        data = orjson.dumps(record)
        out = []
        for when in times:
            blob = self.blobs.publish(content_type_of(record), max(utc(when), now), [data])
            out.append(blob.created)
        return out
