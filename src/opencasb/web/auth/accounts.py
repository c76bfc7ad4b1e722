"""Managing portal users, for the API and ``opencasb users``: names, roles, passwords, and
the first admin.

Rules: a username is 1-64 characters of ``a-z 0-9 . _ @ -`` (lower-cased as given); a
password meets :func:`~opencasb.web.auth.passwords.check_password_policy`; the last admin
can be neither demoted nor removed (nobody could manage users afterwards).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher

from opencasb.errors import ConfigError
from opencasb.store import Store
from opencasb.store.portal import UserRecord
from opencasb.web.auth.passwords import hash_password, random_password
from opencasb.web.auth.roles import Role, parse_role

__all__ = [
    "FIRST_ADMIN",
    "add_user",
    "ensure_first_admin",
    "normalize_username",
    "remove_user",
    "set_password",
    "set_role",
]

FIRST_ADMIN = "admin"
_NAME = re.compile(r"[a-z0-9._@-]{1,64}")


def normalize_username(username: str) -> str:
    """``username`` lower-cased and checked. Raises ConfigError."""
    name = username.strip().lower()
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{username!r} is not a valid username",
            fix="use 1-64 characters: letters, digits and . _ @ -",
            code="bad_username",
        )
    return name


def add_user(
    store: Store, hasher: PasswordHasher, username: str, password: str, role: Role | str
) -> UserRecord:
    """Create a user. Raises ConfigError (bad name, weak password, name taken, bad role)."""
    name = normalize_username(username)
    r = role if isinstance(role, Role) else parse_role(role)
    return store.portal.add_user(name, hash_password(hasher, password), r.value)


def set_password(store: Store, hasher: PasswordHasher, username: str, password: str) -> UserRecord:
    """Give a user a new password; their sessions end. Raises NotFound, ConfigError."""
    name = normalize_username(username)
    store.portal.get_user(name)
    return store.portal.update_user(name, password_hash=hash_password(hasher, password))


def _refuse_last_admin(store: Store, user: UserRecord, what: str) -> None:
    if user.role == Role.ADMIN.value and store.portal.count_users(Role.ADMIN.value) <= 1:
        raise ConfigError(
            f"cannot {what} {user.username}: it is the last admin",
            fix="make another user admin first",
            code="last_admin",
        )


def set_role(store: Store, username: str, role: Role | str) -> UserRecord:
    """Change a user's role; their sessions end. Raises NotFound, ConfigError."""
    r = role if isinstance(role, Role) else parse_role(role)
    user = store.portal.get_user(normalize_username(username))
    if r != Role.ADMIN:
        _refuse_last_admin(store, user, "demote")
    return store.portal.update_user(user.username, role=r.value)


def remove_user(store: Store, username: str) -> None:
    """Delete a user (and their sessions). Raises NotFound, ConfigError (last admin)."""
    user = store.portal.get_user(normalize_username(username))
    _refuse_last_admin(store, user, "remove")
    store.portal.remove_user(user.username)


def ensure_first_admin(store: Store, hasher: PasswordHasher) -> tuple[str, str] | None:
    """On first run (no user at all), create ``admin`` with a random password and return
    ``(username, password)`` to be shown once; otherwise None."""
    if store.portal.count_users() > 0:
        return None
    password = random_password()
    add_user(store, hasher, FIRST_ADMIN, password, Role.ADMIN)
    return FIRST_ADMIN, password
