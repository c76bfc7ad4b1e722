"""Where a user signed in over the last days, compactly: the neighbours of a sign-in that
arrives days late.

:attr:`~.state.UserState.places` keeps the last sign-ins of about a day, enough for Office
365 records published hours late. A backfill stores one app's whole history before the
other's (the demo's sync backfills Okta's 30 days, then Office 365's 7), so an Office 365
sign-in can reach the detectors days after the Okta sign-ins around it. For those, each user
keeps *stays*: runs of consecutive untagged sign-ins from one place on one UTC day, as
``[first time, first id, last time, last id, country, city, lat, lon, coarse, app]``, for
:data:`STAY_DAYS` days. Tagged sign-ins (office, VPN, proxies) are left out: travel from or
to them is suppressed anyway. A late sign-in inside a stay's span is compared with the
stay's first and last sign-ins, which are at least as far from it in time as its true
neighbours: a stay can only make a late pair look slower than it was, never faster.
"""

from __future__ import annotations

from typing import Any

from opencasb.detect.anomaly.state import Place, UserState

__all__ = ["MAX_STAYS", "STAY_DAYS", "remember_stay", "stay_places"]

STAY_DAYS = 8
"""Days of stays kept (the Office 365 backfill reaches 7 days back)."""
MAX_STAYS = 24
"""Stays kept per user at most (a traveller's week)."""
_DAY_US = 86_400_000_000


def _same(stay: list[Any], p: Place) -> bool:
    return bool(
        stay[2] // _DAY_US == p.t // _DAY_US
        and stay[4] == p.country
        and stay[6] == p.lat
        and stay[7] == p.lon
    )


def remember_stay(user: UserState, p: Place) -> None:
    """Extend the user's last stay with sign-in ``p``, or open a new one (in event-time
    order only: a late sign-in changes nothing)."""
    if p.tags:
        return
    stays = user.stays
    if stays and p.t < stays[-1][2]:
        return
    if stays and _same(stays[-1], p):
        stays[-1][2], stays[-1][3] = p.t, p.activity_id
    else:
        row = [p.t, p.activity_id, p.t, p.activity_id, p.country, p.city, p.lat, p.lon]
        stays.append([*row, int(p.coarse), p.app])
    horizon = p.t - STAY_DAYS * _DAY_US
    if stays[0][2] < horizon or len(stays) > MAX_STAYS:  # else nothing to forget
        # (the last times only grow along the list: the ones to forget come first)
        user.stays = [s for s in stays if s[2] >= horizon][-MAX_STAYS:]


def stay_places(user: UserState) -> list[Place]:
    """The first and last sign-in of each stay, as places."""
    out = []
    for t0, id0, t1, id1, country, city, lat, lon, coarse, app in user.stays:
        for t, aid in ((t0, id0), (t1, id1)) if id1 != id0 else ((t0, id0),):
            out.append(Place(t, aid, country, city, lat, lon, bool(coarse), [], app))
    return out
