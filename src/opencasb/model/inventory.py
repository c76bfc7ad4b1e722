"""App inventory: the accounts and groups an app knows about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Account", "Group"]


@dataclass(frozen=True, slots=True)
class Account:
    """A user account in one app instance. ``status`` is the vendor's (``ACTIVE``...)."""

    id: str
    email: str | None
    name: str | None
    status: str
    is_admin: bool = False
    admin_roles: tuple[str, ...] = ()
    last_login: datetime | None = None
    created: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Group:
    """A group in one app instance."""

    id: str
    name: str
    type: str | None = None
    description: str | None = None
    member_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)
