"""Pages of the stored inventory (accounts, people, groups), keyset-paged in SQL.

Contract:
    * Each ``page_*`` function returns at most ``limit`` items in a fixed order and the
      position of the last one when more follow (``next``, else None); passing that position
      back as ``after`` returns the items after it. Paging through to the end returns every
      matching item exactly once, whatever ``limit`` is (the order is a unique key).
    * Orders: accounts and groups by (instance id, vendor id); people by person key (the
      e-mail case-folded, or ``<instance>:<id>``; :func:`opencasb.store.inventory.person_key`).
    * ``q`` is a case-insensitive substring of an account's e-mail, name or id. Case folding
      follows the engine, as the activity log's text filter does: SQLite folds ASCII letters
      only, PostgreSQL folds Unicode. A person matches when any of their accounts does; a
      person is an admin when any of their accounts is.
    * ``total`` counts every match (all pages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select, tuple_

from opencasb.errors import NotFound
from opencasb.model.inventory import Account, Group
from opencasb.store._db import Database
from opencasb.store.codec import loads_object
from opencasb.store.inventory import account_from_row
from opencasb.store.schema import accounts, group_members, groups, instances

__all__ = [
    "AccountEntry",
    "GroupEntry",
    "InventoryPage",
    "InventoryPages",
    "PersonEntry",
    "get_person",
    "page_accounts",
    "page_groups",
    "page_people",
]

T = TypeVar("T")
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """An account with its instance and the names of its groups (sorted)."""

    instance_id: int
    instance: str
    app: str
    account: Account
    groups: tuple[str, ...]
    person_key: str


@dataclass(frozen=True, slots=True)
class GroupEntry:
    instance_id: int
    instance: str
    app: str
    group: Group


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """One person: the accounts that share a person key, by (instance id, id)."""

    key: str
    accounts: tuple[AccountEntry, ...]

    def alert_entities(self) -> list[str]:
        """The entities an alert about this person may name, case-folded and sorted: each
        account's e-mail and id. An alert's entity is the actor's e-mail or id as the app
        wrote it, in any case; :func:`opencasb.store.alerts.page_alerts` compares entities
        case-folded."""
        values = {v for e in self.accounts for v in (e.account.email, e.account.id) if v}
        return sorted({v.casefold() for v in values})


@dataclass(frozen=True, slots=True)
class InventoryPage(Generic[T, P]):
    items: list[T]
    next: P | None
    total: int


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _account_filter(q: str | None, admins: bool) -> list[Any]:
    where: list[Any] = []
    if q:
        pat = _like(q)
        cols = (accounts.c.email, accounts.c.name, accounts.c.id)
        where.append(or_(*(c.ilike(pat, escape="\\") for c in cols)))
    if admins:
        where.append(accounts.c.is_admin.is_(True))
    return where


def _with_instance(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(instances, instances.c.id == accounts.c.instance_id)


def _entries(db: Database, where: Any) -> list[AccountEntry]:
    """The accounts matching ``where`` with their instance and groups, by (instance, id)."""
    with db.read() as conn:
        rows = conn.execute(
            _with_instance(
                select(accounts, instances.c.name.label("instance_name"), instances.c.app)
            )
            .where(where)
            .order_by(accounts.c.instance_id, accounts.c.id)
        ).all()
        keys = [(r.instance_id, r.id) for r in rows]
        member_of: dict[tuple[int, str], list[str]] = {}
        for start in range(0, len(keys), 500):
            for m in conn.execute(
                select(group_members.c.instance_id, group_members.c.account_id, groups.c.name)
                .join(
                    groups,
                    and_(
                        groups.c.instance_id == group_members.c.instance_id,
                        groups.c.id == group_members.c.group_id,
                    ),
                )
                .where(
                    tuple_(group_members.c.instance_id, group_members.c.account_id).in_(
                        keys[start : start + 500]
                    )
                )
            ):
                member_of.setdefault((m.instance_id, m.account_id), []).append(m.name)
    return [
        AccountEntry(
            r.instance_id,
            r.instance_name,
            r.app,
            account_from_row(r),
            tuple(sorted(member_of.get((r.instance_id, r.id), []))),
            r.person_key,
        )
        for r in rows
    ]


def _count(db: Database, stmt: Select[Any]) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar() or 0)


def page_accounts(
    db: Database,
    *,
    instance_id: int | None = None,
    q: str | None = None,
    admins: bool = False,
    limit: int = 100,
    after: tuple[int, str] | None = None,
) -> InventoryPage[AccountEntry, tuple[int, str]]:
    """Accounts by (instance id, id), after ``after``; see the module's contract."""
    where = _account_filter(q, admins)
    if instance_id is not None:
        where.append(accounts.c.instance_id == instance_id)
    total = _count(db, select(accounts.c.id).where(*where))
    if after is not None:
        where.append(tuple_(accounts.c.instance_id, accounts.c.id) > tuple_(*after))
    with db.read() as conn:
        keys = conn.execute(
            select(accounts.c.instance_id, accounts.c.id)
            .where(*where)
            .order_by(accounts.c.instance_id, accounts.c.id)
            .limit(limit + 1)
        ).all()
    chunk = [(k.instance_id, k.id) for k in keys[:limit]]
    items = _entries(db, tuple_(accounts.c.instance_id, accounts.c.id).in_(chunk)) if chunk else []
    return InventoryPage(items, chunk[-1] if len(keys) > limit else None, total)


def _people_keys(q: str | None, admins: bool) -> Select[Any]:
    """The person keys of every person with an account matching ``q`` and, when ``admins``,
    with an admin account (not necessarily the same one)."""
    stmt = select(accounts.c.person_key).distinct()
    if q:
        stmt = stmt.where(*_account_filter(q, False))
    if admins:
        stmt = stmt.where(
            accounts.c.person_key.in_(
                select(accounts.c.person_key).where(accounts.c.is_admin.is_(True))
            )
        )
    return stmt


def _people(entries: Sequence[AccountEntry]) -> list[PersonEntry]:
    by_key: dict[str, list[AccountEntry]] = {}
    for e in entries:
        by_key.setdefault(e.person_key, []).append(e)
    return [PersonEntry(k, tuple(v)) for k, v in sorted(by_key.items())]


def page_people(
    db: Database,
    *,
    q: str | None = None,
    admins: bool = False,
    limit: int = 100,
    after: str | None = None,
) -> InventoryPage[PersonEntry, str]:
    """People by person key, after ``after``; see the module's contract."""
    stmt = _people_keys(q, admins)
    total = _count(db, stmt)
    if after is not None:
        stmt = stmt.where(accounts.c.person_key > after)
    with db.read() as conn:
        keys = list(conn.execute(stmt.order_by(accounts.c.person_key).limit(limit + 1)).scalars())
    chunk = keys[:limit]
    found = _people(_entries(db, accounts.c.person_key.in_(chunk))) if chunk else []
    # The order of the keys as the engine compares them (its collation), not Python's.
    rank = {k: i for i, k in enumerate(chunk)}
    found.sort(key=lambda p: rank[p.key])
    return InventoryPage(found, chunk[-1] if len(keys) > limit else None, total)


def get_person(db: Database, key: str) -> PersonEntry:
    """The person of ``key``; raises NotFound when no account has it."""
    found = _people(_entries(db, accounts.c.person_key == key))
    if not found:
        raise NotFound(f"no account of {key!r}", fix="the Accounts page lists them")
    return found[0]


def page_groups(
    db: Database,
    *,
    instance_id: int | None = None,
    limit: int = 100,
    after: tuple[int, str] | None = None,
) -> InventoryPage[GroupEntry, tuple[int, str]]:
    """Groups by (instance id, id) with their members in vendor order; see the contract."""
    where: list[Any] = []
    if instance_id is not None:
        where.append(groups.c.instance_id == instance_id)
    total = _count(db, select(groups.c.id).where(*where))
    if after is not None:
        where.append(tuple_(groups.c.instance_id, groups.c.id) > tuple_(*after))
    with db.read() as conn:
        rows = conn.execute(
            select(groups, instances.c.name.label("instance_name"), instances.c.app)
            .join(instances, instances.c.id == groups.c.instance_id)
            .where(*where)
            .order_by(groups.c.instance_id, groups.c.id)
            .limit(limit + 1)
        ).all()
        chunk = rows[:limit]
        members: dict[tuple[int, str], list[str]] = {}
        keys = [(r.instance_id, r.id) for r in chunk]
        gm = group_members.c
        if keys:
            for m in conn.execute(
                select(gm.instance_id, gm.group_id, gm.account_id)
                .where(tuple_(gm.instance_id, gm.group_id).in_(keys))
                .order_by(gm.instance_id, gm.group_id, gm.position)
            ):
                members.setdefault((m.instance_id, m.group_id), []).append(m.account_id)
    items = [
        GroupEntry(
            r.instance_id,
            r.instance_name,
            r.app,
            Group(
                id=r.id,
                name=r.name,
                type=r.type,
                description=r.description,
                member_ids=tuple(members.get((r.instance_id, r.id), ())),
                raw=loads_object(r.raw, f"groups row ({r.instance_id}, {r.id!r})"),
            ),
        )
        for r in chunk
    ]
    last = (chunk[-1].instance_id, chunk[-1].id) if len(rows) > limit else None
    return InventoryPage(items, last, total)


class InventoryPages:
    """The functions of this module bound to one store: ``store.inventory``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def page_accounts(
        self,
        *,
        instance_id: int | None = None,
        q: str | None = None,
        admins: bool = False,
        limit: int = 100,
        after: tuple[int, str] | None = None,
    ) -> InventoryPage[AccountEntry, tuple[int, str]]:
        return page_accounts(
            self._db, instance_id=instance_id, q=q, admins=admins, limit=limit, after=after
        )

    def page_people(
        self,
        *,
        q: str | None = None,
        admins: bool = False,
        limit: int = 100,
        after: str | None = None,
    ) -> InventoryPage[PersonEntry, str]:
        return page_people(self._db, q=q, admins=admins, limit=limit, after=after)

    def get_person(self, key: str) -> PersonEntry:
        return get_person(self._db, key)

    def page_groups(
        self,
        *,
        instance_id: int | None = None,
        limit: int = 100,
        after: tuple[int, str] | None = None,
    ) -> InventoryPage[GroupEntry, tuple[int, str]]:
        return page_groups(self._db, instance_id=instance_id, limit=limit, after=after)
