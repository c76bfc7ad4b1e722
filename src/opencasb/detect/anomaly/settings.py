"""How sensitive the anomaly detectors are, and how long they learn before they speak.

One :class:`AnomalySettings` for all detectors. ``sensitivity`` picks a column of
thresholds (:class:`Thresholds`) and, for impossible travel and infrequent country, which
suppressions apply, following the commercial product's slider (mcas-features.md §3.3):
low applies system, organisation and user suppressions; medium system and user; high
system only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

__all__ = [
    "DEFAULT_DAILY_ALERT_LIMIT",
    "AnomalySettings",
    "Sensitivity",
    "Thresholds",
    "thresholds",
]

DEFAULT_DAILY_ALERT_LIMIT = 100
"""New alerts per anomaly detector and UTC day, by default."""


class Sensitivity(StrEnum):
    """Fewer alerts (low) or fewer misses (high)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers one sensitivity level uses (see :func:`thresholds`)."""

    travel_kmh: float
    """Slower than this between two sign-ins is travel a person can do."""
    travel_min_km: float
    """Nearer than this (after the jitter radii) is never impossible travel."""
    org_country_users: int
    """A country this many distinct users of the organisation sign in from is a common place."""
    user_country_signins: int
    """A country the user signed in from this many times is one of the user's usual places."""
    spray_users: int
    """Distinct users failing from one address within :attr:`AnomalySettings.spray_window`."""
    mfa_pushes: int
    """Push prompts pushed or denied within the MFA window before a success."""
    failed_floor: int
    """Fewer failed sign-ins than this in an hour never alert, whatever the baseline."""
    failed_factor: float
    """How many times the user's busiest learned hour of failures an hour must exceed."""
    download_floor: int
    """Fewer file downloads than this in an hour never alert, whatever the baseline."""
    delete_floor: int
    """Fewer file deletions than this in an hour never alert, whatever the baseline."""
    share_floor: int
    """Fewer sharing operations than this in an hour never alert, whatever the baseline."""
    admin_floor: int
    """Fewer administrative activities than this in an hour never alert."""
    ransom_files: int
    """Files renamed or uploaded to one extension new to the user within five minutes."""


_TABLE = {
    Sensitivity.LOW: Thresholds(1500.0, 800.0, 3, 3, 20, 10, 20, 3.0, 100, 60, 60, 30, 30),
    Sensitivity.MEDIUM: Thresholds(1000.0, 500.0, 3, 3, 10, 5, 10, 2.0, 50, 30, 30, 15, 20),
    Sensitivity.HIGH: Thresholds(800.0, 200.0, 5, 5, 5, 3, 5, 1.5, 30, 20, 20, 8, 10),
}


def thresholds(sensitivity: Sensitivity) -> Thresholds:
    """The thresholds of one sensitivity level."""
    return _TABLE[sensitivity]


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    """Settings shared by every anomaly detector.

    ``learning``: detectors that compare with a baseline stay silent until the user (or the
    organisation, for organisation baselines) has this much event-time history; a backfill's
    history counts, so a new install that backfills a week is ready at once.
    ``city_radius_km``/``coarse_radius_km``: how far the real place may be from the
    coordinates given (GeoIP jitter; a country centroid is far vaguer than a city).
    """

    sensitivity: Sensitivity = Sensitivity.MEDIUM
    learning: timedelta = timedelta(days=7)
    city_radius_km: float = 50.0
    coarse_radius_km: float = 500.0
    spray_window: timedelta = timedelta(hours=1)
    mfa_window: timedelta = timedelta(minutes=30)
    historical_after: timedelta = timedelta(hours=24)
    disabled: frozenset[str] = field(default_factory=frozenset)
    """Detector ids (``anomaly.impossible_travel``...) switched off."""
    daily_alert_limit: int = DEFAULT_DAILY_ALERT_LIMIT
    """New alerts per detector and UTC day (event time); the new findings over it are
    counted, not raised (:mod:`.limit`)."""

    def __post_init__(self) -> None:
        if self.daily_alert_limit < 1:
            raise ValueError("daily_alert_limit must be at least 1")

    @property
    def thresholds(self) -> Thresholds:
        return thresholds(self.sensitivity)
