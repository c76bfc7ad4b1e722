"""Plan every labelled scenario for one org, seed and window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from opencasb.clock import utc
from opencasb.sandbox.org import Organisation, build_org

from . import benign, data, identity
from .kit import Kit
from .model import Injection, ScenarioPlan

__all__ = ["SCENARIOS", "plan_scenarios", "sandbox_plan"]

# Every scenario, in planning order (victims are drawn in this order: keep it stable).
SCENARIOS: tuple[Callable[[Kit], Injection], ...] = (
    identity.impossible_travel,
    identity.infrequent_country,
    identity.tor_sign_in,
    identity.brute_force,
    identity.password_spray,
    identity.mfa_fatigue,
    data.mass_download,
    data.mass_delete,
    data.ransomware_rename,
    data.inbox_rule,
    data.mailbox_forwarding,
    identity.super_admin_grant,
    identity.api_token_created,
    identity.mfa_factor_reset,
    identity.disabled_user_activity,
    identity.okta_then_o365_other_country,
    data.oauth_consent,
    benign.real_travel,
    benign.vpn_egress_abroad,
    benign.admin_bulk_export,
)


def plan_scenarios(
    org: Organisation, start: datetime, end: datetime, seed: int | None = None
) -> ScenarioPlan:
    """Plan the attacks and benign look-alikes of :data:`SCENARIOS` inside ``[start, end)``.

    Days are working days strictly inside the window (never its first or last day), with
    room for every record to be published before ``end``. The plan is a pure function of
    ``(org, seed, the window's calendar days)``: the same arguments give byte-identical
    records; ``seed`` (default ``org.seed``) also drives the org's generators, so a
    different seed gives a different plan.

    Raises:
        ValueError: the window is too short (it needs about four days).
    """
    seed = org.seed if seed is None else seed
    kit = Kit(org, utc(start), utc(end), seed)
    return ScenarioPlan(seed, org.size, utc(start), utc(end), [s(kit) for s in SCENARIOS])


def sandbox_plan(seed: int, size: int, anchor: datetime, days: int) -> ScenarioPlan | None:
    """The plan the sandbox serves: the org of ``(seed, size)``, the ``days`` before
    ``anchor``; None when that window is too short to hold the scenarios."""
    try:
        return plan_scenarios(build_org(seed, size), anchor - timedelta(days=days), anchor, seed)
    except ValueError:
        return None
