"""The emulated org: users, groups, memberships, admin roles, credentials and the System Log.

Build one from plain data with :meth:`OktaState.from_seed` (the synthetic-org generator
produces an :class:`OktaSeed`; tests build small ones by hand). The state is shared by the
ASGI app and by whoever drives it (lifecycle actions, a live trickle of new events), so
mutations take ``state.lock``.
"""

from __future__ import annotations

import random
import string
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from opencasb.clock import Clock, utc
from opencasb.sandbox.okta.faults import FaultInjector
from opencasb.sandbox.okta.keys import load_public_key
from opencasb.sandbox.okta.log_store import LogStore

__all__ = [
    "AccessToken",
    "ApiToken",
    "OAuthClient",
    "OktaSeed",
    "OktaState",
    "Permission",
    "epoch_ms",
    "iso_ms",
]

Permission = Literal["super_admin", "read_only"]
_ALNUM = string.ascii_letters + string.digits


@dataclass
class OktaSeed:
    """Plain data for a whole org (the seam with the synthetic-org generator).

    ``users``/``groups`` are Okta API objects without ``_links`` (the emulator adds links per
    state and per request host). ``events`` are ``(LogEvent dict, persisted_at)`` pairs in any
    order; an event persisted after the clock's "now" becomes visible when the clock gets there.
    The state's fault injector may persist some of them later still (``late_fraction``).
    """

    users: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    memberships: dict[str, list[str]]  # group id -> user ids
    admin_roles: dict[str, list[str]]  # user id -> role types
    events: Iterable[tuple[dict[str, Any], datetime]]


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An SSWS token: its secret, its id (``00T...``), its owner and its privilege level."""

    secret: str
    token_id: str
    owner_user_id: str
    permission: Permission
    name: str = "opencasb"


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A service app allowed to use private_key_jwt; ``scopes`` are the granted Okta scopes."""

    client_id: str
    public_key: Any  # a cryptography public key object
    scopes: frozenset[str]
    name: str = "OpenCASB service app"


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An issued Bearer token."""

    token: str
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime


def epoch_ms(dt: datetime) -> int:
    """Milliseconds since the epoch, floored, computed exactly (no float rounding)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # A whole-second timestamp is an exact float; the milliseconds come from the integer field.
    return int(dt.replace(microsecond=0).timestamp()) * 1000 + dt.microsecond // 1000


def iso_ms(dt: datetime) -> str:
    """Okta's timestamp format: ``2024-08-13T15:58:20.353Z``."""
    dt = utc(dt)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_published(value: str) -> datetime:
    """A LogEvent ``published`` string as an aware datetime."""
    return utc(datetime.fromisoformat(value))


@dataclass
class _Credentials:
    api_tokens: dict[str, ApiToken] = field(default_factory=dict)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    used_jtis: dict[str, datetime] = field(default_factory=dict)  # jti -> its expiry


class OktaState:
    """Everything the emulator knows. Create with :meth:`from_seed` or empty and fill in."""

    def __init__(self, *, clock: Clock, faults: FaultInjector | None = None, seed: int = 0):
        self.clock = clock
        self.faults = faults or FaultInjector()
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.group_members: dict[str, list[str]] = {}
        self.user_groups: dict[str, list[str]] = {}
        self.admin_roles: dict[str, list[str]] = {}
        self.log = LogStore()
        self.creds = _Credentials()
        self._logins: dict[str, str] = {}

    @classmethod
    def from_seed(
        cls,
        seed: OktaSeed,
        *,
        clock: Clock,
        faults: FaultInjector | None = None,
        rng_seed: int = 0,
    ) -> OktaState:
        """An org holding ``seed``'s objects and events (events are serialized once, here)."""
        state = cls(clock=clock, faults=faults, seed=rng_seed)
        for user in seed.users:
            state.add_user(user)
        for group in seed.groups:
            state.groups[group["id"]] = dict(group)
            state.group_members.setdefault(group["id"], [])
        for gid, uids in seed.memberships.items():
            for uid in uids:
                state.add_member(gid, uid)
        state.admin_roles = {uid: list(roles) for uid, roles in seed.admin_roles.items()}
        state.log.load(_serialize(seed.events, state.faults))
        return state

    # --- directory -------------------------------------------------------------------------

    def add_user(self, user: dict[str, Any]) -> None:
        """Add (or replace) a user object; its ``profile.login`` becomes addressable."""
        with self.lock:
            clean = {k: v for k, v in user.items() if k != "_links"}
            self.users[clean["id"]] = clean
            login = clean.get("profile", {}).get("login")
            if login:
                self._logins[str(login).lower()] = clean["id"]
            self.user_groups.setdefault(clean["id"], [])

    def add_member(self, group_id: str, user_id: str) -> None:
        """Put ``user_id`` in ``group_id`` (both must exist)."""
        with self.lock:
            members = self.group_members.setdefault(group_id, [])
            if user_id not in members:
                members.append(user_id)
                self.user_groups.setdefault(user_id, []).append(group_id)

    def find_user(self, id_or_login: str) -> dict[str, Any] | None:
        """A user by id, by login (case-insensitive) or by unambiguous login short name."""
        user = self.users.get(id_or_login)
        if user is not None:
            return user
        uid = self._logins.get(id_or_login.lower())
        if uid is None and "@" not in id_or_login:
            short = [
                u for login, u in self._logins.items() if login.split("@")[0] == id_or_login.lower()
            ]
            uid = short[0] if len(short) == 1 else None
        return self.users.get(uid) if uid else None

    def new_id(self, prefix: str) -> str:
        """An Okta-shaped 20-character id such as ``00u...`` or ``00T...``."""
        with self.lock:
            return prefix + "".join(self.rng.choice(_ALNUM) for _ in range(20 - len(prefix)))

    def new_uuid(self) -> str:
        """A version-1-shaped event uuid drawn from the seeded generator."""
        with self.lock:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=1))

    # --- credentials -----------------------------------------------------------------------

    def add_api_token(
        self,
        secret: str,
        *,
        owner_user_id: str,
        permission: Permission = "super_admin",
        token_id: str | None = None,
        name: str = "opencasb",
    ) -> ApiToken:
        """Register an SSWS token. ``read_only`` may read; only ``super_admin`` may act."""
        tok = ApiToken(secret, token_id or self.new_id("00T"), owner_user_id, permission, name)
        with self.lock:
            self.creds.api_tokens[secret] = tok
        return tok

    def add_oauth_client(
        self,
        client_id: str,
        public_key: str | bytes | dict[str, Any],
        scopes: Iterable[str],
        *,
        name: str = "OpenCASB service app",
    ) -> OAuthClient:
        """Register a service app by its public key (PEM text/bytes or a JWK dict)."""
        client = OAuthClient(client_id, load_public_key(public_key), frozenset(scopes), name)
        with self.lock:
            self.creds.oauth_clients[client_id] = client
        return client

    # --- System Log ------------------------------------------------------------------------

    def append_event(self, event: dict[str, Any], persisted_at: datetime | None = None) -> int:
        """Store one new event; returns its sequence number.

        ``persisted_at`` is when the event would normally reach the log (default: its
        ``published`` time); the fault injector may make it later (``late_fraction``). A
        persistence time already in the past is moved to "now": a client may have polled
        past it, and real Okta persists new events at commit time, never retroactively.
        """
        published_ms = epoch_ms(parse_published(event["published"]))
        when_ms = epoch_ms(persisted_at) if persisted_at is not None else published_ms
        when_ms += self.faults.late_ms(str(event.get("uuid", "")))
        persisted_ms = max(when_ms, epoch_ms(self.clock.now()))
        return self.log.append(orjson.dumps(event), published_ms, persisted_ms)

    def events(self) -> Iterator[dict[str, Any]]:
        """Every stored event (visible or not), parsed, in persistence order."""
        for blob in self.log.iter_blobs():
            yield orjson.loads(blob)

    def retention_start(self) -> datetime:
        """Events published before this are gone (90-day retention)."""
        return self.clock.now() - timedelta(days=90)


def _serialize(
    events: Iterable[tuple[dict[str, Any], datetime]], faults: FaultInjector
) -> Iterator[tuple[bytes, int, int]]:
    dumps = orjson.dumps
    late = faults.late_ms if faults.stores_late else None
    for event, persisted_at in events:
        published = parse_published(event["published"])
        persisted_ms = epoch_ms(persisted_at)
        if late is not None:
            persisted_ms += late(str(event.get("uuid", "")))
        yield dumps(event), epoch_ms(published), persisted_ms
