"""Group membership from the stored inventory, for policy scopes that name groups.

A person's groups are the groups of their account in the activity's own app instance (the
actor's id is the account id there) and, linked by e-mail, the groups of their accounts in
every other connected instance: a scope naming the identity provider's ``Finance`` group
applies to the Office 365 activity of its members too, as in the commercial product, where
user groups come from the identity provider. A group is named by its name or its id, without
regard to case.
"""

from __future__ import annotations

from collections.abc import Iterable

from opencasb.model.activity import Activity
from opencasb.model.inventory import Account, Group
from opencasb.store import Store

__all__ = ["InventoryDirectory"]


class InventoryDirectory:
    """A :class:`~opencasb.detect.engine.Directory` over a snapshot of the inventory.

    Args:
        inventory: per instance, its name, accounts and groups.
    """

    def __init__(self, inventory: Iterable[tuple[str, list[Account], list[Group]]]) -> None:
        self._by_account: dict[tuple[str, str], set[str]] = {}
        self._by_email: dict[str, set[str]] = {}
        for instance, accounts, groups in inventory:
            emails = {a.id: (a.email or "").casefold() for a in accounts}
            for g in groups:
                names = {g.name.casefold(), g.id.casefold()}
                for member in g.member_ids:
                    self._by_account.setdefault((instance, member), set()).update(names)
                    if email := emails.get(member):
                        self._by_email.setdefault(email, set()).update(names)
        self._cache: dict[tuple[str, str, str], frozenset[str]] = {}

    @classmethod
    def from_store(cls, store: Store) -> InventoryDirectory:
        """The directory of every instance's stored accounts and groups (read now, once)."""
        return cls(
            (inst.name, store.list_accounts(inst.id), store.list_groups(inst.id))
            for inst in store.list_instances()
        )

    def groups_of(self, activity: Activity) -> frozenset[str]:
        """The lower-case names and ids of the actor's groups (see the module docstring)."""
        actor = activity.actor
        email = (actor.email or "").casefold()
        key = (activity.instance, actor.id or "", email)
        found = self._cache.get(key)
        if found is None:
            found = frozenset(
                self._by_account.get((activity.instance, actor.id or ""), set())
                | self._by_email.get(email, set())
            )
            self._cache[key] = found
        return found
