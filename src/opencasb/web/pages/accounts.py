"""Accounts: people across apps (the Okta and Office 365 accounts of one e-mail address,
any case, are one person), with status, admin roles, groups and last sign-in, keyset-paged
by person key; one person's page adds their alerts (keyset-paged, newest first) and newest
activities.

URLs: ``/accounts?q=&admins=1&after=<token>`` and ``/accounts/person?key=<e-mail or
instance:id>&after=<token of their alerts>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opencasb.errors import NotFound
from opencasb.store import ActivityQuery
from opencasb.store.inventory_pages import AccountEntry, PersonEntry
from opencasb.web.pages.deps import missing, store_of, viewer_of
from opencasb.web.pages.render import render
from opencasb.web.paging import decode_key, decode_time_key, encode_key, encode_time_key

__all__ = ["Person", "router"]

router = APIRouter()
PAGE = 200
ALERTS_SHOWN = 100


@dataclass(frozen=True, slots=True)
class Person:
    """One person as the pages show them."""

    entry: PersonEntry

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def accounts(self) -> tuple[AccountEntry, ...]:
        return self.entry.accounts

    @property
    def email(self) -> str | None:
        return next((e.account.email for e in self.accounts if e.account.email), None)

    @property
    def name(self) -> str | None:
        return next((e.account.name for e in self.accounts if e.account.name), None)

    @property
    def last_seen(self) -> datetime | None:
        times = [e.account.last_login for e in self.accounts if e.account.last_login]
        return max(times) if times else None

    @property
    def groups(self) -> list[str]:
        return [g for e in self.accounts for g in e.groups]


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, q: str = "", admins: str = "", after: str = "") -> Response:
    viewer_of(request)
    key = str(decode_key(after, (str,))[0]) if after else None
    found = store_of(request).inventory.page_people(
        q=q.strip() or None, admins=bool(admins), limit=PAGE, after=key
    )
    return render(
        request,
        "accounts.html",
        title="Accounts",
        people=[Person(p) for p in found.items],
        total=found.total,
        q=q,
        admins=admins,
        after=after,
        next_after=encode_key([found.next]) if found.next is not None else None,
    )


@router.get("/accounts/person", response_class=HTMLResponse)
def person_page(request: Request, key: str, after: str = "") -> Response:
    viewer_of(request)
    store = store_of(request)
    try:
        person = Person(store.inventory.get_person(key))
    except NotFound as exc:
        raise missing(exc) from None
    found = store.detection.page_alerts(
        entities=person.entry.alert_entities(),
        limit=ALERTS_SHOWN,
        after=decode_time_key(after) if after else None,
    )
    user = person.email or person.accounts[0].account.id
    recent = store.query_activities(ActivityQuery(user=user, limit=20)).items
    return render(
        request,
        "person.html",
        title=person.name or person.key,
        person=person,
        alerts=found.items,
        after=after,
        next_after=encode_time_key(*found.next) if found.next else None,
        activities=recent,
        user=user,
    )
