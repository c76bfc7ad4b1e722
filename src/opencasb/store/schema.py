"""The store's tables, in SQLAlchemy Core, shared by SQLite and PostgreSQL.

Conventions:
    * Every time column is :class:`UtcMicros`: microseconds since the Unix epoch, UTC, in a
      BIGINT. One integer type sorts and compares identically on both engines, cannot carry
      a time zone ambiguity (no naive/aware mix, no ``TIMESTAMP`` vs ``TIMESTAMPTZ``), costs
      8 bytes instead of ~32 for ISO text, and lets the hot ingest path bind plain ints.
      The price is that raw SQL shows numbers; ``to_timestamp(time / 1e6)`` in psql or
      ``datetime(time / 1e6, 'unixepoch')`` in sqlite3 shows them as dates.
    * JSON columns are TEXT written and read with orjson by the store modules (not a JSON
      column type): both engines treat them alike, and the hot path controls serialization.
    * ``activities.id`` is an INTEGER PRIMARY KEY on SQLite (so it is the rowid, and every
      secondary index already ends with it) and a BIGINT identity on PostgreSQL.

Indexes on ``activities`` all end in ``(time, id)`` so that each filter can be read newest
first straight from its index (``ORDER BY time DESC, id DESC LIMIT n`` with no sort). They
are ascending: both engines scan a B-tree backwards as cheaply as forwards, and descending
index columns are reflected unevenly, which would upset the migration/metadata comparison.

Every index is paid for on every ingested row, and indexes over random keys (event id,
IP) dirty a different B-tree page per row, so ``activities`` keeps only the ones the common
filters need: time, instance, actor and IP. Actors are interned in ``actors`` (one row per
distinct actor and instance, with lower-cased id, e-mail and name): an activity carries one
small integer ``actor_ref`` instead of three indexed text copies, and the user filter looks
up the matching actors first. Filters without an index (activity type, country, action,
outcome, text) scan the time index newest first and stop after one page.

Only what a filter, the order or the duplicate check reads is a column of ``activities``;
every other field and the raw record are one compressed ``body`` (see :mod:`opencasb.store.body`):
an Okta event is ~2 KB of JSON and its normalized fields repeat most of it, so storing them
apart cost three times the record. Old activities are removed by
:mod:`opencasb.store.retention`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from opencasb.store.micros import EPOCH, from_micros, to_micros

__all__ = [
    "EPOCH",
    "UtcMicros",
    "accounts",
    "activities",
    "actors",
    "alert_comments",
    "alert_events",
    "alerts",
    "api_tokens",
    "audit_log",
    "cursors",
    "deliveries",
    "enrichments",
    "from_micros",
    "group_members",
    "groups",
    "instances",
    "ip_tag_spans",
    "ip_tag_version",
    "ip_tags",
    "leases",
    "metadata",
    "notifiers",
    "policies",
    "rejected_records",
    "stage_partitions",
    "stage_state",
    "to_micros",
    "users",
    "web_sessions",
]


class UtcMicros(TypeDecorator[datetime]):
    """An aware UTC datetime stored as BIGINT microseconds since the epoch (see module doc)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(int(value))


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The rowid alias on SQLite must be spelled INTEGER; BIGINT would make a separate column.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


def _instance_fk() -> Column[int]:
    return Column(
        "instance_id",
        Integer,
        ForeignKey("instances.id", ondelete="CASCADE"),
        nullable=False,
    )


instances = Table(
    "instances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("app", Text, nullable=False),
    Column("config", Text, nullable=False),  # JSON object of non-secret settings
    Column("secrets_enc", Text, nullable=False),  # Fernet token of a JSON object
    Column("enabled", Boolean, nullable=False),
    Column("interval_seconds", Integer, nullable=False, server_default="60"),
    Column("created_at", UtcMicros, nullable=False),
    Column("health", Text, nullable=True),  # JSON of model.health.Health
)

cursors = Table(
    "cursors",
    metadata,
    _instance_fk(),
    Column("feed", Text, nullable=False),
    Column("cursor", Text, nullable=False),  # JSON object, opaque to the store
    Column("updated_at", UtcMicros, nullable=False),
    PrimaryKeyConstraint("instance_id", "feed"),
)

# What a connector keeps about an instance besides its feeds' cursors: the services of a
# suite seen so far, when the inventory was last fetched (see store.connector_state). Keys
# are the runner's; a feed's name never collides with them, as cursors are elsewhere.
connector_state = Table(
    "connector_state",
    metadata,
    _instance_fk(),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", UtcMicros, nullable=False),
    PrimaryKeyConstraint("instance_id", "key"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    _instance_fk(),
    Column("source_event_id", Text, nullable=False),
    Column("time", UtcMicros, nullable=False),
    Column("app", Text, nullable=False),
    Column("activity_type", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("country", Text),
    Column("country_code", Text),  # upper-cased ISO 3166 alpha-2
    # actors.id of the actor (NULL when the activity names none). No foreign key: checking
    # one per inserted row costs ingest time, and both tables go with their instance.
    Column("actor_ref", BigInteger),
    Column("ip_key", LargeBinary),  # the 16 bytes of the IPv6 form (see store.ipkey)
    # zstd frame: every other field and the raw record as received (see store.codec)
    Column("body", LargeBinary, nullable=False),
    # Where the row came from: "api:<feed>" or "import:<file name>" (NULL: stored before
    # provenance was kept). An API page replaces an imported row with the same event id;
    # an import never replaces anything (see store.activities).
    Column("origin", Text),
    # Enrichment computed at ingest (see store.enrichment): ``enrichments.id`` of the place,
    # network and client (interned: most activities share one with many others), the
    # enriched country code (indexed: the portal's country filter) and the address's IP
    # tags as ",tag,tag," (NULL: none). All NULL: not enriched yet (opencasb enrich --all).
    Column("enrich_ref", BigInteger),
    Column("enrich_cc", Text),
    Column("ip_tags", Text),
    # What the detection stage decides on without decoding the body (most activities need
    # nothing more; see store.detection.observed_after): the category's value, the actor's
    # user key (Actor.user_key) and whether that key is the actor's e-mail. NULL: stored
    # before they were kept (migration 0016); the reader then takes them from the body.
    Column("category", Text),
    Column("user_key", Text),
    Column("key_is_email", Boolean),
    UniqueConstraint("instance_id", "source_event_id"),
    Index(None, "time", "id"),
    Index(None, "enrich_cc", "time", "id"),
    Index(None, "instance_id", "time", "id"),
    # the detection stage's read: an instance's activities after its cursor, in id order
    Index(None, "instance_id", "id"),
    Index(None, "actor_ref", "time", "id"),
    Index(None, "ip_key", "time", "id"),
)

# One row per distinct enrichment (all of it but the IP tags, which are per address and
# stored on the activity): ``key`` is its canonical JSON (see store.enrichment), the other
# columns its fields, for the filters. Never deleted (rows are few and small).
enrichments = Table(
    "enrichments",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    Column("country_code", Text),
    Column("country", Text),
    Column("region", Text),
    Column("city", Text),
    Column("lat", Float),
    Column("lon", Float),
    Column("coarse", Boolean, nullable=False),
    Column("geo_source", Text),
    Column("asn", BigInteger),
    Column("isp", Text),
    Column("ip_reserved", Boolean, nullable=False),
    Column("browser", Text),
    Column("browser_version", Text),
    Column("os", Text),
    Column("os_version", Text),
    Column("device_type", Text),
)

actors = Table(
    "actors",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    _instance_fk(),
    Column("key", Text, nullable=False),  # JSON [id_lc, email, name_lc]: the identity
    Column("actor_id_lc", Text),
    Column("email", Text),  # lower-cased
    Column("name_lc", Text),
    UniqueConstraint("instance_id", "key"),
    Index(None, "actor_id_lc"),
    Index(None, "email"),
    Index(None, "name_lc"),
)

rejected_records = Table(
    "rejected_records",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    _instance_fk(),
    Column("feed", Text, nullable=False),
    Column("raw", Text, nullable=False),  # the record as received (JSON text when it parsed)
    Column("error", Text, nullable=False),
    Column("received_at", UtcMicros, nullable=False),
    # sha256 hex of ``raw``: storing the same record of the same feed again adds no row.
    Column("content_hash", Text, nullable=False, server_default=""),
    Index(None, "instance_id", "received_at"),
    Index(None, "instance_id", "feed", "content_hash", unique=True),
)

# Who is syncing an instance: one row per instance while a process holds it (see
# store.leases). ``holder`` is "pid@host"; a lease past ``expires`` may be taken over.
leases = Table(
    "leases",
    metadata,
    Column(
        "instance_id",
        Integer,
        ForeignKey("instances.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("holder", Text, nullable=False),
    Column("acquired", UtcMicros, nullable=False),
    Column("expires", UtcMicros, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    _instance_fk(),
    Column("id", Text, nullable=False),
    Column("email", Text),
    Column("name", Text),
    Column("status", Text, nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("admin_roles", Text, nullable=False),  # JSON list of strings
    Column("last_login", UtcMicros),
    Column("created", UtcMicros),
    Column("raw", Text, nullable=False),
    # The e-mail case-folded, or "<instance name>:<id>": one person's accounts share it.
    Column("person_key", Text, nullable=False),
    PrimaryKeyConstraint("instance_id", "id"),
    Index(None, "person_key"),
)

groups = Table(
    "groups",
    metadata,
    _instance_fk(),
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", Text),
    Column("description", Text),
    Column("raw", Text, nullable=False),
    PrimaryKeyConstraint("instance_id", "id"),
)

group_members = Table(
    "group_members",
    metadata,
    _instance_fk(),
    Column("group_id", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("position", Integer, nullable=False),  # keeps Group.member_ids in vendor order
    PrimaryKeyConstraint("instance_id", "group_id", "account_id"),
    Index(None, "instance_id", "account_id"),
)

# The user's activity policies (see store.detection): the YAML of one policy, and whether
# it runs; ``disabled_reason`` says why the engine switched it off, when it did.
policies = Table(
    "policies",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("definition", Text, nullable=False),  # YAML of one policy (detect.dump_policies)
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
)

# One row per stage after ingest: the last activity id it has seen and its state (JSON),
# written in the same transaction as what the stage produced.
stage_state = Table(
    "stage_state",
    metadata,
    Column("stage", Text, primary_key=True),
    Column("cursor", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
)

# The per-key parts of a stage's state (the anomaly detections' baseline of each user, keyed
# by the user: the partition key), kept apart from its ``stage_state`` row so that a pass
# writes only the keys it changed, in the transaction that moves that row.
stage_partitions = Table(
    "stage_partitions",
    metadata,
    Column("stage", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("state", Text, nullable=False),
)

# One alert per episode of a policy (its id is the engine's episode id).
alerts = Table(
    "alerts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("policy_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("tactic", Text),
    Column("entity", Text, nullable=False),
    # the entity case-folded (str.casefold, the same on both engines): a person's alerts are
    # found by it, whatever case the app wrote the actor in (migration 0017)
    Column("entity_key", Text, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON list of activity ids
    Column("first_time", UtcMicros, nullable=False),
    Column("last_time", UtcMicros, nullable=False),
    Column("historical", Boolean, nullable=False),
    Column("status", Text, nullable=False),  # open | closed
    Column("resolution", Text),  # true_positive | benign | false_positive
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
    Index("ix_alerts_status_last_time", "status", "last_time"),
    Index(None, "entity_key", "last_time", "id"),
)

alert_comments = Table(
    "alert_comments",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("alert_id", Text, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcMicros, nullable=False),
    # who wrote it: a portal user, or the OS user of the CLI; NULL before migration 0010
    Column("author", Text),
    Index("ix_alert_comments_alert_id", "alert_id"),
)


# The portal's own access control (see store.portal and web.auth): local users with argon2
# password hashes, server-side sessions and API tokens kept as SHA-256 hashes only (the
# secret itself is shown once and never stored), and the audit trail of portal actions.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),  # argon2id PHC string
    Column("role", Text, nullable=False),  # admin | analyst | read_only
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),  # sha256 hex of the cookie's value
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcMicros, nullable=False),
    Column("last_seen_at", UtcMicros, nullable=False),
    Column("expires_at", UtcMicros, nullable=False),
    Column("source_ip", Text),
    Column("user_agent", Text),
    Index(None, "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),  # sha256 hex of the token
    Column("prefix", Text, nullable=False),  # the first characters, to recognise it
    Column("role", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcMicros, nullable=False),
    Column("last_used_at", UtcMicros),
    Column("last_used_ip", Text),
    Column("revoked_at", UtcMicros),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("time", UtcMicros, nullable=False),
    Column("actor", Text, nullable=False),  # a username, "token:NAME" or "-" (anonymous)
    Column("action", Text, nullable=False),  # signin, signin.failed, app.connect ...
    Column("target", Text),
    Column("outcome", Text, nullable=False),  # success | failure | refused
    Column("source_ip", Text),
    Column("detail", Text),  # JSON object
    Index(None, "time", "id"),
    Index(None, "action", "time"),
)


# The outbox of alert changes (see store.outbox): one row per alert opened, extended, closed
# or commented on, written in the transaction that changed the alert. ``alert`` is the
# alert as it was then (JSON), so an event can be delivered (again) however the alert
# changed since; ``event_key`` (random) is what receivers deduplicate on.
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_key", Text, nullable=False, unique=True),
    Column("alert_id", Text, nullable=False),  # no FK: the snapshot makes the event whole
    Column("kind", Text, nullable=False),  # opened | extended | closed | commented
    Column("alert", Text, nullable=False),  # JSON snapshot of the alert
    Column("created_at", UtcMicros, nullable=False),
    # the outbox's pruning deletes by age: the old events, not a scan of all that are kept
    Index(None, "created_at"),
)

# Where alerts are sent (see store.notifiers): webhook, syslog (CEF) or e-mail. ``cursor`` is
# the last alert_events id queued for it; the lease keeps two processes from delivering
# for one notifier at once (order and no double sends).
notifiers = Table(
    "notifiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),  # webhook | syslog | email
    Column("config", Text, nullable=False),  # JSON object of non-secret settings
    Column("secrets_enc", Text, nullable=False),  # Fernet token of a JSON object
    Column("enabled", Boolean, nullable=False),
    Column("cursor", BigInteger, nullable=False, server_default="0"),
    Column("delivered", BigInteger, nullable=False, server_default="0"),
    Column("last_success_at", UtcMicros),
    Column("last_error", Text),
    Column("lease_holder", Text),
    Column("lease_until", UtcMicros),
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
)

# One alert event waiting to reach one notifier: pending (with its attempts and the time of
# the next one) or dead (a dead letter, kept with the last error until retried). A delivered
# event's row is deleted in the transaction that records the success.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("notifier_id", Integer, ForeignKey("notifiers.id", ondelete="CASCADE"), nullable=False),
    Column(
        "event_id", BigInteger, ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False
    ),
    Column("state", Text, nullable=False),  # pending | dead
    Column("attempts", Integer, nullable=False),
    Column("first_attempt_at", UtcMicros),
    Column("next_attempt_at", UtcMicros, nullable=False),
    Column("last_error", Text),
    Column("updated_at", UtcMicros, nullable=False),
    UniqueConstraint("notifier_id", "event_id"),
    Index(None, "notifier_id", "state", "event_id"),
    # the outbox's pruning keeps an event a delivery refers to, and deleting an event
    # cascades to its deliveries: both look deliveries up by event
    Index(None, "event_id"),
)


# The user's tagged IP ranges (see store.iptags): one row per (source, network, tag), where
# ``source`` is how it came: ``cli``, ``api:<user>``, ``file:<name>`` (an import, replaced
# whole by the next import of that name) or ``demo``. ``first_key``/``last_key`` are the
# inclusive bounds in the 16-byte form of ``activities.ip_key`` (IPv4 as ::ffff:a.b.c.d),
# so "the ranges that hold this address" is a comparison on either engine and family.
ip_tags = Table(
    "ip_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", Text, nullable=False),  # normalized: 10.0.0.0/8, 2001:db8::/32, a-b
    Column("first_key", LargeBinary, nullable=False),
    Column("last_key", LargeBinary, nullable=False),
    Column("tag", Text, nullable=False),  # enrich.iptags.normalize_tag
    Column("name", Text),
    Column("source", Text, nullable=False),
    Column("created_at", UtcMicros, nullable=False),
    Column("created_by", Text, nullable=False),
    UniqueConstraint("source", "network", "tag"),
    Index(None, "tag", "id"),
    Index(None, "first_key", "last_key"),
)

# Each tag's ranges merged (see store.iptag_spans): disjoint inclusive [lo, hi] spans of
# 16-byte keys, rewritten with every change of ``ip_tags``; a search probes them by
# (tag, lo), one index seek per address.
ip_tag_spans = Table(
    "ip_tag_spans",
    metadata,
    Column("tag", Text, primary_key=True),
    Column("lo", LargeBinary, primary_key=True),
    Column("hi", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# The version of the set of tagged ranges: one row (id 1), its number raised by every
# transaction that changes ``ip_tags``, so a long-running process (and stored enrichment)
# knows its copy of the ranges is stale by comparing one integer.
ip_tag_version = Table(
    "ip_tag_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
)
