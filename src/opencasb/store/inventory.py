"""App inventory (accounts and groups) per instance, replaced wholesale at each sync.

A sync reads the app's full user and group lists, so the stored inventory is replaced in one
transaction: readers see the old inventory or the new one, never a mix, and accounts deleted
in the app disappear here too. Group membership is a table (``group_members``) so that
"which groups is this account in" is an indexed query; ``position`` keeps the vendor order.
Each account row also stores its :func:`person_key`, which links one person's accounts
across apps (the people pages of :mod:`opencasb.store.inventory_pages`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import delete, insert, select

from opencasb.errors import StoreError
from opencasb.model.inventory import Account, Group
from opencasb.store._db import Database
from opencasb.store.codec import dumps, loads_object
from opencasb.store.schema import accounts, group_members, groups, instances

__all__ = ["account_from_row", "list_accounts", "list_groups", "person_key", "replace_inventory"]


def person_key(instance: str, account: Account) -> str:
    """The key that links one person's accounts across apps: the e-mail address
    case-folded, or ``<instance name>:<account id>`` for an account without one."""
    return account.email.casefold() if account.email else f"{instance}:{account.id}"


def replace_inventory(
    db: Database, instance_id: int, accts: Sequence[Account], grps: Sequence[Group]
) -> None:
    """Replace the inventory of an instance; see :meth:`opencasb.store.Store.replace_inventory`."""
    with db.read() as conn:
        name = conn.execute(select(instances.c.name).where(instances.c.id == instance_id)).scalar()
    if name is None:  # removed while its inventory was fetched (as a foreign key would say)
        raise StoreError(f"no app instance with id {instance_id}: its inventory was not stored")
    account_rows = [
        {
            "instance_id": instance_id,
            "id": a.id,
            "email": a.email,
            "name": a.name,
            "status": a.status,
            "is_admin": a.is_admin,
            "admin_roles": dumps(list(a.admin_roles)),
            "last_login": a.last_login,
            "created": a.created,
            "raw": dumps(a.raw),
            "person_key": person_key(name, a),
        }
        for a in accts
    ]
    group_rows = [
        {
            "instance_id": instance_id,
            "id": g.id,
            "name": g.name,
            "type": g.type,
            "description": g.description,
            "raw": dumps(g.raw),
        }
        for g in grps
    ]
    member_rows = [
        {"instance_id": instance_id, "group_id": g.id, "account_id": m, "position": i}
        for g in grps
        for i, m in enumerate(dict.fromkeys(g.member_ids))  # a member listed twice counts once
    ]
    with db.write() as conn:
        for table in (group_members, groups, accounts):
            conn.execute(delete(table).where(table.c.instance_id == instance_id))
        if account_rows:
            conn.execute(insert(accounts), account_rows)
        if group_rows:
            conn.execute(insert(groups), group_rows)
        if member_rows:
            conn.execute(insert(group_members), member_rows)


def _roles(text: str, what: str) -> tuple[str, ...]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"{what} holds invalid JSON in admin_roles: {exc}") from exc
    return tuple(str(v) for v in value)


def list_accounts(db: Database, instance_id: int) -> list[Account]:
    """The accounts of an instance, ordered by id."""
    with db.read() as conn:
        rows = conn.execute(
            select(accounts).where(accounts.c.instance_id == instance_id).order_by(accounts.c.id)
        ).all()
    return [account_from_row(r) for r in rows]


def account_from_row(r: Any) -> Account:
    """The Account of an ``accounts`` row; StoreError names a damaged row."""
    what = f"accounts row ({r.instance_id}, {r.id!r})"
    return Account(
        id=r.id,
        email=r.email,
        name=r.name,
        status=r.status,
        is_admin=bool(r.is_admin),
        admin_roles=_roles(r.admin_roles, what),
        last_login=r.last_login,
        created=r.created,
        raw=loads_object(r.raw, what),
    )


def list_groups(db: Database, instance_id: int) -> list[Group]:
    """The groups of an instance with their member ids, ordered by group id."""
    with db.read() as conn:
        rows = conn.execute(
            select(groups).where(groups.c.instance_id == instance_id).order_by(groups.c.id)
        ).all()
        members: dict[str, list[Any]] = {}
        for m in conn.execute(
            select(group_members.c.group_id, group_members.c.account_id)
            .where(group_members.c.instance_id == instance_id)
            .order_by(group_members.c.group_id, group_members.c.position)
        ):
            members.setdefault(m.group_id, []).append(m.account_id)
    return [
        Group(
            id=r.id,
            name=r.name,
            type=r.type,
            description=r.description,
            member_ids=tuple(members.get(r.id, ())),
            raw=loads_object(r.raw, f"groups row ({instance_id}, {r.id!r})"),
        )
        for r in rows
    ]
