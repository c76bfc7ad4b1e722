"""The REST API under ``/api/v1``: one router per resource (see :func:`routers`).

Conventions: JSON; lists are ``{"items": [...], "next": URL | null}`` with keyset paging
(follow ``next``); times are ISO 8601 in UTC; every error is an RFC 9457 problem
(:mod:`opencasb.web.problems`); reads need any role; triage, policies and IP tags the
analyst role; apps, users and tokens the admin role (:mod:`opencasb.web.auth`). No answer
holds a stored secret.
"""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    """Every resource router, in the order the docs list them."""
    from opencasb.web.api import (
        activities,
        alerts,
        apps,
        detection_settings,
        inventory,
        iptags,
        policies,
    )

    return [
        apps.router,
        activities.router,
        alerts.router,
        policies.router,
        iptags.router,
        inventory.router,
        detection_settings.router,
    ]
