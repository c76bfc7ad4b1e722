"""Sign-in throttling, per account and per source address, read from the audit trail.

An account with :data:`ACCOUNT_LIMIT` failed sign-ins in the last :data:`WINDOW` (since its
last successful one), or an address with :data:`ADDRESS_LIMIT`, is refused further attempts
until the window has passed: the password is not even checked, so guessing stops. Counting
the audit trail (not memory) keeps the limits across restarts and between processes.
"""

from __future__ import annotations

from datetime import timedelta

from opencasb.web.context import WebContext
from opencasb.web.problems import ApiProblem

__all__ = ["ACCOUNT_LIMIT", "ADDRESS_LIMIT", "WINDOW", "check_throttle"]

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def check_throttle(ctx: WebContext, username: str, source_ip: str | None) -> None:
    """Raise a 429 problem when the account or the address is throttled."""
    since = ctx.clock.now() - WINDOW
    portal = ctx.store.portal
    too_many = portal.count_failed_signins(since, username=username) >= ACCOUNT_LIMIT or (
        source_ip is not None
        and portal.count_failed_signins(since, source_ip=source_ip) >= ADDRESS_LIMIT
    )
    if too_many:
        raise ApiProblem(
            429,
            "too many failed sign-ins: try again later",
            code="signin_throttled",
            fix=f"wait {int(WINDOW.total_seconds() // 60)} minutes, or ask an admin to set a "
            "new password with `opencasb users set-password`",
            headers={"Retry-After": str(int(WINDOW.total_seconds()))},
        )
