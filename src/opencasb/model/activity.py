"""The normalized activity: one audited event of one SaaS app, in one shape for all apps.

Field names follow OCSF where one fits (actor, src_endpoint → ``src_ip``/``geo``, outcome as
``status``-like ``Outcome``). The vendor's record is kept whole in ``raw`` so that nothing the
normalizer did not understand is ever lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Activity", "Actor", "Category", "Geo", "Outcome", "Target"]


class Category(StrEnum):
    """What kind of thing happened; coarse, for filtering and detections."""

    LOGON = "logon"  # sign-in, sign-out, session events
    SSO = "sso"  # single sign-on into another application
    MFA = "mfa"  # factor challenges, enrolments and resets
    USER_MANAGEMENT = "user_management"  # lifecycle, profile, password, group membership
    ADMIN = "admin"  # privilege grants, policy, configuration, tokens
    APP = "app"  # application lifecycle and assignment
    FILE = "file"
    SHARING = "sharing"
    MAIL = "mail"
    SECURITY = "security"  # threat detections, blocked requests, risk
    SYSTEM = "system"  # rate limits, org events, jobs
    OTHER = "other"


class Outcome(StrEnum):
    """Did it work. Vendor detail (``CHALLENGE``, ``RATE_LIMIT``) stays in ``outcome_detail``."""

    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it. ``type`` is the vendor's (``User``, ``SystemPrincipal``, ``IP address``...)."""

    id: str | None = None
    name: str | None = None
    email: str | None = None
    type: str | None = None

    @property
    def user_key(self) -> str:
        """The user this actor is, as detection keys its baselines: the e-mail case-folded (so
        that Okta and Office 365 activities of one person share a key), else the id, else the
        name; ``""`` for none. The store keeps it with each activity (``activities.user_key``)."""
        return Actor.key_of(self.id, self.name, self.email)

    @staticmethod
    def key_of(id: str | None, name: str | None, email: str | None) -> str:
        """:attr:`user_key` of an actor with these fields, without building one."""
        return (email or "").casefold() or id or name or ""


@dataclass(frozen=True, slots=True)
class Target:
    """What it was done to."""

    id: str | None = None
    type: str | None = None
    name: str | None = None
    alternate_id: str | None = None


@dataclass(frozen=True, slots=True)
class Geo:
    """Where the request came from. ``country`` is the name the vendor gives, as given."""

    country: str | None = None
    country_code: str | None = None
    region: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """One normalized activity.

    Contract:
        * ``time`` is timezone-aware UTC.
        * (``instance``, ``source_event_id``) is unique in the store; ``instance`` is empty when
          the activity comes straight from a normalizer and is filled by the store on read.
        * ``raw`` is the vendor record exactly as received (parsed JSON).
        * ``details`` holds flattened vendor context worth filtering on (auth context, security
          context, debug data); it never replaces ``raw``.
    """

    time: datetime
    app: str
    source_event_id: str
    activity_type: str
    category: Category
    action: str
    outcome: Outcome
    actor: Actor
    raw: Mapping[str, Any]
    instance: str = ""
    outcome_detail: str | None = None
    outcome_reason: str | None = None
    targets: tuple[Target, ...] = ()
    src_ip: str | None = None
    geo: Geo | None = None
    asn: int | None = None
    isp: str | None = None
    user_agent: str | None = None
    device: str | None = None
    severity: str | None = None
    description: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
