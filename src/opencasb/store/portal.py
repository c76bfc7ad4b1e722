"""What the web portal keeps about its own access: users, sessions, API tokens, the audit trail.

Contract:
    * Secrets are never stored: a password as its argon2 hash (made by the caller, see
      :mod:`opencasb.web.auth.passwords`), a session cookie and an API token as the SHA-256
      hex of their value. The records returned here hold no secret except
      :attr:`UserRecord.password_hash`, which the API never returns.
    * Usernames are unique as given (the caller folds case before storing).
    * The audit trail only grows; :func:`PortalStore.list_audit` reads it newest first with
      keyset paging on ``(time, id)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, delete, func, insert, select, tuple_, type_coerce, update
from sqlalchemy.exc import IntegrityError

from opencasb.errors import ConfigError, NotFound
from opencasb.store._db import Database
from opencasb.store.codec import dumps, loads_object
from opencasb.store.micros import to_micros
from opencasb.store.schema import api_tokens, audit_log, users, web_sessions

__all__ = ["AuditRecord", "PortalStore", "SessionRecord", "TokenRecord", "UserRecord"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: str
    password_hash: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A signed-in browser: ``token_hash`` is the SHA-256 hex of its cookie."""

    token_hash: str
    user: UserRecord
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    source_ip: str | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token without its value; ``prefix`` is its first characters, for recognising it."""

    id: int
    name: str
    prefix: str
    role: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    time: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    source_ip: str | None
    detail: dict[str, Any]


def _user(r: Any) -> UserRecord:
    return UserRecord(r.id, r.username, r.role, r.password_hash, r.created_at, r.updated_at)


def _token(r: Any) -> TokenRecord:
    return TokenRecord(
        r.id,
        r.name,
        r.prefix,
        r.role,
        r.created_by,
        r.created_at,
        r.last_used_at,
        r.last_used_ip,
        r.revoked_at,
    )


class PortalStore:
    """The portal's tables of one store: ``store.portal``. Every method raises StoreError
    when the database fails."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- users ------------------------------------------------------------------------

    def add_user(self, username: str, password_hash: str, role: str) -> UserRecord:
        """Add a user. Raises ConfigError when the name is taken."""
        now = self._db.clock.now()
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(users).values(
                        username=username,
                        password_hash=password_hash,
                        role=role,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            raise ConfigError(
                f"a user named {username!r} already exists",
                fix="choose another name, or change that user's password or role",
                code="user_exists",
            ) from None
        return self.get_user(username)

    def get_user(self, username: str) -> UserRecord:
        """The user called ``username``. Raises NotFound."""
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise NotFound(f"no user {username!r}", code="user_not_found")
        return _user(row)

    def list_users(self) -> list[UserRecord]:
        with self._db.read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def count_users(self, role: str | None = None) -> int:
        stmt = select(func.count()).select_from(users)
        if role is not None:
            stmt = stmt.where(users.c.role == role)
        with self._db.read() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def update_user(
        self, username: str, *, password_hash: str | None = None, role: str | None = None
    ) -> UserRecord:
        """Change a user's password hash or role. A new password ends the user's sessions.
        Raises NotFound."""
        values: dict[str, Any] = {"updated_at": self._db.clock.now()}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if role is not None:
            values["role"] = role
        with self._db.write() as conn:
            row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
            if row is None:
                raise NotFound(f"no user {username!r}", code="user_not_found")
            conn.execute(update(users).where(users.c.id == row.id).values(**values))
            if password_hash is not None or role is not None:
                # A changed password or role takes effect now, not at the next sign-in.
                conn.execute(delete(web_sessions).where(web_sessions.c.user_id == row.id))
        return self.get_user(username)

    def remove_user(self, username: str) -> None:
        """Delete a user and their sessions. Raises NotFound."""
        with self._db.write() as conn:
            done = conn.execute(delete(users).where(users.c.username == username)).rowcount
        if not done:
            raise NotFound(f"no user {username!r}", code="user_not_found")

    # -- sessions ---------------------------------------------------------------------

    def add_session(
        self,
        token_hash: str,
        user_id: int,
        expires_at: datetime,
        source_ip: str | None,
        user_agent: str | None,
    ) -> None:
        now = self._db.clock.now()
        with self._db.write() as conn:
            # Expired sessions are dropped as new ones start: the table stays small.
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
            conn.execute(
                insert(web_sessions).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                    source_ip=source_ip,
                    user_agent=(user_agent or "")[:400],
                )
            )

    def get_session(self, token_hash: str) -> SessionRecord | None:
        """The unexpired session with this hash, with its user; None otherwise."""
        now = self._db.clock.now()
        s = web_sessions.c
        stmt = (
            select(
                users, s.created_at.label("s_created"), s.last_seen_at, s.expires_at, s.source_ip
            )
            .join(users, users.c.id == s.user_id)
            .where(s.token_hash == token_hash, s.expires_at > now)
        )
        with self._db.read() as conn:
            r = conn.execute(stmt).first()
        if r is None:
            return None
        return SessionRecord(
            token_hash, _user(r), r.s_created, r.last_seen_at, r.expires_at, r.source_ip
        )

    def touch_session(self, token_hash: str, expires_at: datetime) -> None:
        """Record activity on a session and slide its idle expiry."""
        now = self._db.clock.now()
        with self._db.write() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.token_hash == token_hash)
                .values(last_seen_at=now, expires_at=expires_at)
            )

    def delete_session(self, token_hash: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))

    # -- API tokens -------------------------------------------------------------------

    def add_token(
        self, name: str, token_hash: str, prefix: str, role: str, created_by: str
    ) -> TokenRecord:
        now = self._db.clock.now()
        with self._db.write() as conn:
            new_id = conn.execute(
                insert(api_tokens)
                .values(
                    name=name,
                    token_hash=token_hash,
                    prefix=prefix,
                    role=role,
                    created_by=created_by,
                    created_at=now,
                )
                .returning(api_tokens.c.id)
            ).scalar_one()
        return self.get_token(int(new_id))

    def get_token(self, token_id: int) -> TokenRecord:
        """The token ``token_id`` (revoked or not). Raises NotFound."""
        with self._db.read() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"no API token {token_id}", code="token_not_found")
        return _token(row)

    def find_token(self, token_hash: str) -> TokenRecord | None:
        """The unrevoked token with this hash, or None."""
        t = api_tokens.c
        with self._db.read() as conn:
            row = conn.execute(
                select(api_tokens).where(t.token_hash == token_hash, t.revoked_at.is_(None))
            ).first()
        return None if row is None else _token(row)

    def list_tokens(self) -> list[TokenRecord]:
        with self._db.read() as conn:
            return [_token(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id))]

    def touch_token(self, token_id: int, source_ip: str | None) -> None:
        now = self._db.clock.now()
        with self._db.write() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id)
                .values(last_used_at=now, last_used_ip=source_ip)
            )

    def revoke_token(self, token_id: int) -> TokenRecord:
        """Revoke a token (it stops working at once; the row stays for the record).
        Raises NotFound."""
        now = self._db.clock.now()
        with self._db.write() as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
        rec = self.get_token(token_id)
        if not done and rec.revoked_at is None:
            raise NotFound(f"no API token {token_id}", code="token_not_found")
        return rec

    # -- audit --------------------------------------------------------------------------

    def audit(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        outcome: str = "success",
        source_ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry to the audit trail, stamped with the store's clock."""
        with self._db.write() as conn:
            conn.execute(
                insert(audit_log).values(
                    time=self._db.clock.now(),
                    actor=actor,
                    action=action,
                    target=target,
                    outcome=outcome,
                    source_ip=source_ip,
                    detail=dumps(detail or {}),
                )
            )

    def list_audit(
        self,
        *,
        limit: int = 100,
        before: tuple[datetime, int] | None = None,
        action: str | None = None,
        actor: str | None = None,
    ) -> list[AuditRecord]:
        """Audit entries newest first (time, then id), after the position ``before``."""
        a = audit_log.c
        stmt = select(audit_log)
        if before is not None:
            # compared as the stored integers: a datetime inside tuple_() is not converted
            raw_time = type_coerce(a.time, BigInteger)
            stmt = stmt.where(tuple_(raw_time, a.id) < tuple_(to_micros(before[0]), before[1]))
        if action is not None:
            stmt = stmt.where(a.action == action)
        if actor is not None:
            stmt = stmt.where(a.actor == actor)
        stmt = stmt.order_by(a.time.desc(), a.id.desc()).limit(limit)
        with self._db.read() as conn:
            return [
                AuditRecord(
                    int(r.id),
                    r.time,
                    r.actor,
                    r.action,
                    r.target,
                    r.outcome,
                    r.source_ip,
                    loads_object(r.detail or "{}", f"audit_log row {r.id}"),
                )
                for r in conn.execute(stmt)
            ]

    def count_failed_signins(
        self, since: datetime, *, username: str | None = None, source_ip: str | None = None
    ) -> int:
        """Failed sign-ins since ``since`` for an account (after its last successful one)
        or from a source address (see :mod:`opencasb.web.auth.throttle`)."""
        a = audit_log.c
        with self._db.read() as conn:
            if username is not None:
                last_ok = conn.execute(
                    select(func.max(a.time)).where(
                        a.action == "signin", a.actor == username, a.outcome == "success"
                    )
                ).scalar()
                if last_ok is not None:
                    since = max(since, last_ok)
            stmt = select(func.count()).where(
                a.action == "signin.failed", a.outcome == "failure", a.time > since
            )
            if username is not None:
                stmt = stmt.where(a.target == username)
            if source_ip is not None:
                stmt = stmt.where(a.source_ip == source_ip)
            return int(conn.execute(stmt).scalar() or 0)
