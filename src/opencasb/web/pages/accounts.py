"""Accounts: people across apps (the Okta and Office 365 accounts of one e-mail address,
any case, are one person), with status, admin roles, groups and last sign-in; one person's
page adds their alerts and newest activities.

URLs: ``/accounts?q=&admins=1`` and ``/accounts/person?key=<e-mail or instance:id>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opencasb.errors import NotFound
from opencasb.model.inventory import Account
from opencasb.store import ActivityQuery, InstanceRecord, Store
from opencasb.web.pages.deps import missing, store_of, viewer_of
from opencasb.web.pages.render import render

__all__ = ["Person", "people", "router"]

router = APIRouter()
PAGE = 200


@dataclass
class Person:
    """One person: the accounts sharing an e-mail address (or one account without one)."""

    key: str
    accounts: list[tuple[InstanceRecord, Account, list[str]]] = field(default_factory=list)

    @property
    def email(self) -> str | None:
        return next((a.email for _, a, _ in self.accounts if a.email), None)

    @property
    def name(self) -> str | None:
        return next((a.name for _, a, _ in self.accounts if a.name), None)

    @property
    def is_admin(self) -> bool:
        return any(a.is_admin for _, a, _ in self.accounts)

    @property
    def last_seen(self) -> datetime | None:
        times = [a.last_login for _, a, _ in self.accounts if a.last_login]
        return max(times) if times else None

    def matches(self, q: str) -> bool:
        needle = q.casefold()
        return any(
            needle in (v or "").casefold()
            for _, a, _ in self.accounts
            for v in (a.email, a.name, a.id)
        )


def people(store: Store) -> list[Person]:
    """Every person of every instance's stored inventory, sorted by key."""
    by_key: dict[str, Person] = {}
    for rec in store.list_instances():
        member_of: dict[str, list[str]] = {}
        for g in store.list_groups(rec.id):
            for m in g.member_ids:
                member_of.setdefault(m, []).append(g.name)
        for a in store.list_accounts(rec.id):
            key = (a.email or "").casefold() or f"{rec.name}:{a.id}"
            person = by_key.setdefault(key, Person(key))
            person.accounts.append((rec, a, sorted(member_of.get(a.id, []))))
    return [by_key[k] for k in sorted(by_key)]


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, q: str = "", admins: str = "", page: int = 0) -> Response:
    viewer_of(request)
    found = [p for p in people(store_of(request)) if (not q or p.matches(q))]
    if admins:
        found = [p for p in found if p.is_admin]
    start = max(page, 0) * PAGE
    return render(
        request,
        "accounts.html",
        title="Accounts",
        people=found[start : start + PAGE],
        total=len(found),
        q=q,
        admins=admins,
        page=max(page, 0),
        more=start + PAGE < len(found),
    )


@router.get("/accounts/person", response_class=HTMLResponse)
def person_page(request: Request, key: str) -> Response:
    viewer_of(request)
    store = store_of(request)
    person = next((p for p in people(store) if p.key == key), None)
    if person is None:
        raise missing(NotFound(f"no account of {key!r}", fix="the Accounts page lists them"))
    who = {v.casefold() for _, a, _ in person.accounts for v in (a.email, a.id) if v}
    alerts = [a for a in store.detection.list_alerts() if a.entity.casefold() in who]
    user = person.email or person.accounts[0][1].id
    recent = store.query_activities(ActivityQuery(user=user, limit=20)).items
    return render(
        request,
        "person.html",
        title=person.name or person.key,
        person=person,
        alerts=alerts,
        activities=recent,
        user=user,
    )
