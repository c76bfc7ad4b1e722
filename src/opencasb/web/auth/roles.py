"""Roles and the principal of a request.

``admin`` manages everything (users, API tokens, connected apps, settings); ``analyst``
triages (alerts, policies, searches, exports) but manages neither users nor apps;
``read_only`` reads and changes nothing. A role includes every role below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opencasb.errors import ConfigError

__all__ = ["Principal", "Role", "parse_role"]


class Role(StrEnum):
    READ_ONLY = "read_only"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: Role) -> bool:
        """Whether this role may do what ``other`` may."""
        return self.rank >= other.rank


_RANKS = {Role.READ_ONLY: 0, Role.ANALYST: 1, Role.ADMIN: 2}


def parse_role(value: str) -> Role:
    """The role named ``value`` (``read-only`` is accepted for ``read_only``).

    Raises:
        ConfigError: no such role.
    """
    try:
        return Role(value.strip().lower().replace("-", "_"))
    except ValueError:
        raise ConfigError(
            f"unknown role {value!r}",
            fix=f"use one of: {', '.join(r.value for r in Role)}",
            code="bad_role",
        ) from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a signed-in user (``via="session"``) or a script (``via="token"``).

    ``name`` is the username, or ``token:NAME`` for a token (as the audit trail shows it).
    ``csrf_token`` is the session's CSRF token (empty for a token, which needs none: a
    bearer header is never sent by a browser on its own). ``session_hash`` or ``token_id``
    identify the credential.
    """

    name: str
    role: Role
    via: str
    csrf_token: str = ""
    session_hash: str = ""
    token_id: int | None = None
    user_id: int | None = None

    def may(self, role: Role) -> bool:
        return self.role.includes(role)
