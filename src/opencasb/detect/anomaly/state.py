"""Anomaly detector state: per-user and per-organisation baselines, as canonical JSON.

Everything is plain dataclasses of ints, strings and lists, so that :meth:`AnomalyState.to_json`
is canonical (sorted keys, no spaces: equal states give equal text) and
:meth:`AnomalyState.from_json` reads it back to an equal state. Every collection is bounded
(the ``MAX_*`` constants), so a user's state stays small however long they are watched. Times
are microseconds since the epoch (event time).

Partitioning (to spread the work over machines later): ``users`` is keyed by the partition
key, the user (:func:`~.base.actor_key`: lower-case e-mail, else id), and holds everything
per user. ``org`` holds what is not per user: ``spray``/``spray_episode`` are keyed by
source address (a partition by address: password spray is one address against many users);
``country_users`` and ``domains`` are organisation-wide baselines that merge across
partitions (union of users, sum of counts); ``watermark`` is the maximum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

__all__ = [
    "MAX_ALERTED",
    "MAX_COUNTRIES",
    "MAX_DOMAINS",
    "MAX_EXTENSIONS",
    "MAX_FAILURES",
    "MAX_FILE_EVENTS",
    "MAX_ORG_COUNTRY_USERS",
    "MAX_PEAK_DAYS",
    "MAX_PLACES",
    "MAX_PUSHES",
    "MAX_SPRAY_EVENTS",
    "AnomalyState",
    "OrgState",
    "Place",
    "UserState",
]

MAX_COUNTRIES = 32
"""Countries remembered per user (the least used are forgotten first)."""
MAX_PLACES = 8
"""Recent sign-in places remembered per user, so that a late record meets its neighbours."""
MAX_FAILURES = 200
"""Recent failed sign-ins remembered per user."""
MAX_PEAK_DAYS = 30
"""Days of "busiest hour of failures" remembered per user."""
MAX_PUSHES = 50
"""Recent MFA push prompts remembered per user."""
MAX_ALERTED = 32
"""Recently alerted keys remembered per user (for one alert per address and day)."""
MAX_ORG_COUNTRY_USERS = 10
"""Distinct users remembered per country for the organisation (only "at least k" matters)."""
MAX_FILE_EVENTS = 300  # about 10 kB per kind at worst: the bound on a user
"""Recent file operations remembered per user and kind (download, deletion, rename)."""
MAX_EXTENSIONS = 64
"""File extensions remembered per user (the least used are forgotten first)."""
MAX_DOMAINS = 16
"""Mail domains remembered as the organisation's own."""
MAX_SPRAY_EVENTS = 500
"""Failed sign-ins remembered per source address within the spray window."""


@dataclass(slots=True)
class Place:
    """Where and when a successful interactive sign-in happened."""

    t: int
    activity_id: int
    country: str
    city: str | None
    lat: float
    lon: float
    coarse: bool
    tags: list[str] = field(default_factory=list)
    app: str = ""


@dataclass(slots=True)
class UserState:
    """One user's baseline."""

    first: int
    """Event time of the first activity seen for the user (the learning period starts here)."""
    countries: dict[str, int] = field(default_factory=dict)
    """Successful sign-ins per country code."""
    places: list[Place] = field(default_factory=list)
    """The latest successful interactive sign-ins with a place, oldest first (event time)."""
    failures: list[list[int]] = field(default_factory=list)
    """``[time, activity id]`` of recent failed sign-ins, oldest first."""
    peak: dict[str, int] = field(default_factory=dict)
    """Busiest hour of failed sign-ins, per UTC day (``YYYY-MM-DD``)."""
    pushes: list[list[int]] = field(default_factory=list)
    """``[time, activity id]`` of recent MFA push prompts and denials, oldest first."""
    alerted: dict[str, int] = field(default_factory=dict)
    """Alert key (detector and value) -> time of that alert, to alert once per key and day."""
    files: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Kind (``download``, ``delete``, ``rename``) -> recent ``[time, activity id, extension]``."""
    file_peak: dict[str, int] = field(default_factory=dict)
    """``kind:YYYY-MM-DD`` -> the busiest hour of that kind of file operation that day."""
    extensions: dict[str, int] = field(default_factory=dict)
    """File extensions the user renamed or uploaded files to, with counts."""
    episodes: dict[str, list[Any]] = field(default_factory=dict)
    """Detector -> ``[time of its last finding for this user, episode id]``."""
    disabled: list[Any] = field(default_factory=list)
    """``[time, activity id, how, by whom]`` of the suspension in force; empty when active."""
    stays: list[list[Any]] = field(default_factory=list)
    """Recent runs of untagged sign-ins from one place on one day (see :mod:`.stays`)."""
    mfa_reset: list[Any] = field(default_factory=list)
    """``[time, activity id, by whom]`` of the last reset of the user's factors by someone
    else, until a factor is enrolled after it; empty when none."""


@dataclass(slots=True)
class OrgState:
    """The organisation's baseline and the source-address windows."""

    first: int = 0
    """Event time of the first activity seen (0: none yet)."""
    country_users: dict[str, list[str]] = field(default_factory=dict)
    """Country code -> some distinct users who signed in from it (at most MAX_ORG_COUNTRY_USERS)."""
    country_regulars: dict[str, list[str]] = field(default_factory=dict)
    """Country code -> some distinct users who signed in from it at least twice (a place the
    organisation uses, not a one-off; at most MAX_ORG_COUNTRY_USERS)."""
    spray: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Source address -> ``[time, user, activity id]`` of failed sign-ins in the spray window."""
    spray_episode: dict[str, list[Any]] = field(default_factory=dict)
    """Source address -> ``[time of last finding, episode id]``."""
    domains: dict[str, int] = field(default_factory=dict)
    """The organisation's mail domains (from actors' e-mail addresses), with counts."""
    limits: dict[str, list[int]] = field(default_factory=dict)
    """Detector -> ``[day, new alerts, suppressed]``: its daily alert limit's counts for the
    UTC day (of event time) starting at ``day`` µs (see :mod:`.limit`)."""


@dataclass(slots=True)
class AnomalyState:
    """All anomaly-detector state: the organisation's, each user's, and the newest event time."""

    org: OrgState = field(default_factory=OrgState)
    users: dict[str, UserState] = field(default_factory=dict)
    watermark: int = 0
    changed: set[str] = field(default_factory=set, compare=False, repr=False)
    """Keys of the users whose state may have changed since the caller last cleared this
    (the engine adds each user it hands to a detector or learner, or first sees, or sees
    earlier than before): what a runner that stores each
    user's state apart (:meth:`user_json`) must write again. Not part of the state."""

    def copy(self) -> AnomalyState:
        """A deep copy (the engine never changes the state it is given), through JSON: the
        tree is small lists and dicts, which the json module copies far faster than
        ``copy.deepcopy``."""
        return AnomalyState.from_json(self.to_json())

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces."""
        return json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"))

    def to_data(self, *, users: bool = True) -> dict[str, Any]:
        """The JSON-ready form (shallow per dataclass: ``dataclasses.asdict`` recurses into
        every list and dict and was most of a batch's cost); without the users' part (an
        empty ``users``) when ``users`` is False."""
        org = {f.name: getattr(self.org, f.name) for f in fields(self.org)}
        kept = {key: _user_data(u) for key, u in self.users.items()} if users else {}
        return {"org": org, "users": kept, "watermark": self.watermark}

    def user_json(self, key: str) -> str:
        """The state of the user ``key`` alone, canonical JSON (what :meth:`user_from_json`
        reads back): the unit a runner stores per user (the partition key).

        Raises:
            KeyError: no such user.
        """
        user = self.users[key]
        try:  # orjson writes the dataclasses itself, several times faster
            return orjson.dumps(user, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # what only the json module writes (an integer beyond 64 bits)
            return json.dumps(_user_data(user), sort_keys=True, separators=(",", ":"))

    @staticmethod
    def user_from_json(text: str) -> UserState:
        """A user's state as :meth:`user_json` wrote it."""
        return _user_from_data(json.loads(text))

    @classmethod
    def from_json(cls, text: str) -> AnomalyState:
        """The state :meth:`to_json` wrote (``""`` gives an empty state)."""
        if not text:
            return cls()
        data = json.loads(text)
        users = {key: _user_from_data(u) for key, u in data.get("users", {}).items()}
        o = data.get("org", {})
        org = OrgState(
            first=o.get("first", 0),
            country_users={k: list(v) for k, v in o.get("country_users", {}).items()},
            country_regulars={k: list(v) for k, v in o.get("country_regulars", {}).items()},
            spray={k: [list(x) for x in v] for k, v in o.get("spray", {}).items()},
            spray_episode={k: list(v) for k, v in o.get("spray_episode", {}).items()},
            domains=dict(o.get("domains", {})),
            limits={k: list(v) for k, v in o.get("limits", {}).items()},
        )
        return cls(org=org, users=users, watermark=data.get("watermark", 0))


def _user_data(u: UserState) -> dict[str, Any]:
    data = {f.name: getattr(u, f.name) for f in fields(u)}
    data["places"] = [{f.name: getattr(p, f.name) for f in fields(p)} for p in u.places]
    return data


def _user_from_data(u: dict[str, Any]) -> UserState:
    return UserState(
        first=u["first"],
        countries=dict(u.get("countries", {})),
        places=[Place(**p) for p in u.get("places", [])],
        failures=[list(x) for x in u.get("failures", [])],
        peak=dict(u.get("peak", {})),
        pushes=[list(x) for x in u.get("pushes", [])],
        alerted=dict(u.get("alerted", {})),
        files={k: [list(x) for x in v] for k, v in u.get("files", {}).items()},
        file_peak=dict(u.get("file_peak", {})),
        extensions=dict(u.get("extensions", {})),
        disabled=list(u.get("disabled", [])),
        mfa_reset=list(u.get("mfa_reset", [])),
        stays=[list(x) for x in u.get("stays", [])],
        episodes={k: list(v) for k, v in u.get("episodes", {}).items()},
    )
