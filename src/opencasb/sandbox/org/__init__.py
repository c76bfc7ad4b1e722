"""The synthetic organisation every sandbox app (Okta, Office 365, ...) draws its people from.

Nothing in this package is specific to one SaaS app: ids, statuses and wire shapes are the
business of each app's generator. Build one with :func:`build_org`.
"""

from opencasb.sandbox.org.build import APPS, App, Group, Office, Organisation, build_org
from opencasb.sandbox.org.devices import Device
from opencasb.sandbox.org.people import DEPARTMENTS, Department, Person
from opencasb.sandbox.org.places import CITIES, ISPS, City, Isp, holidays, is_holiday

__all__ = [
    "APPS",
    "CITIES",
    "DEPARTMENTS",
    "ISPS",
    "App",
    "City",
    "Department",
    "Device",
    "Group",
    "Isp",
    "Office",
    "Organisation",
    "Person",
    "build_org",
    "holidays",
    "is_holiday",
]
