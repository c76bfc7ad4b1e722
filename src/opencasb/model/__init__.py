"""Frozen value objects shared by every layer."""

from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.model.health import Health, HealthState
from opencasb.model.instance import InstanceRecord
from opencasb.model.inventory import Account, Group

__all__ = [
    "Account",
    "Activity",
    "Actor",
    "Category",
    "Geo",
    "Group",
    "Health",
    "HealthState",
    "InstanceRecord",
    "Outcome",
    "Target",
]
