"""Business trips: which week-long trip a travelling person is on, and its travel days.

Both apps' generators draw a person's days one at a time; this pure function of ``(seed,
person, local day)`` keeps them in agreement. A trip lasts seven days from a weekday that
depends on the person (so that trips start on every day of the week across the
organisation); its first day is the flight out and its last the flight home, on which the
generators write nothing, so that consecutive sign-ins are never faster apart than a flight.
"""

from __future__ import annotations

from opencasb.sandbox.org.leave import mix64
from opencasb.sandbox.org.people import Person
from opencasb.sandbox.org.places import CITIES, City

__all__ = ["TRIP_PERCENT", "travel_day", "trip_city"]

TRIP_PERCENT = 18
"""Of a traveller's weeks, the share spent on a trip."""


def _week(person: Person, day: int) -> tuple[int, int]:
    """The person's trip week of ``day`` and the day's place in it (0: first)."""
    return divmod(day - 1 - person.index % 7, 7)


def trip_city(seed: int, person: Person, day: int) -> City | None:
    """The city a travelling ``person`` is in on local day ``day`` (an ordinal), or None at
    home."""
    if not person.travels:
        return None
    h = mix64(seed, person.index, _week(person, day)[0], 0x7219)
    if h % 100 >= TRIP_PERCENT:
        return None
    trip = CITIES[(h >> 8) % len(CITIES)]
    return None if trip is person.city else trip


def travel_day(seed: int, person: Person, day: int) -> bool:
    """Is ``day`` the first or last day of one of the person's trips (in the air)?"""
    return _week(person, day)[1] in (0, 6) and trip_city(seed, person, day) is not None
