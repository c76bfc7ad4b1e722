"""The audit trail of actions done with the command line.

The portal audits its own actions (:mod:`opencasb.web.auth.audit`); a change made with the
CLI goes into the same trail, so an admin reading it sees every change whichever way it was
made. The actor is ``cli:<operating-system user>`` (``cli`` when the system names none),
``detail`` says ``via: cli`` (where the portal says ``session``, ``token`` or ``page``) and
there is no source address. Secrets never go into ``detail``.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencasb.store import Store

__all__ = ["cli_actor", "record_cli"]


def cli_actor() -> str:
    """``cli:<operating-system user>``, or ``cli`` when the system names none."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        return "cli"
    return f"cli:{user}" if user else "cli"


def record_cli(
    store: Store,
    action: str,
    *,
    target: str | None = None,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry for a CLI action to the audit trail (after the action, or after a
    refused attempt with ``outcome`` failure)."""
    store.portal.audit(
        cli_actor(), action, target=target, outcome=outcome, detail={"via": "cli", **(detail or {})}
    )
