"""Secrets at rest, as app instances and notifiers keep them: a ``secrets_enc`` column holding
a Fernet token of a JSON object of strings, sealed with the installation's master key.

Records never carry their secrets; :func:`open_secrets` decrypts them on demand and
remembers every value for the log filter, so a secret that reaches a log line by accident
is masked (defence in depth).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Table, select

from opencasb.errors import ConfigError
from opencasb.logs import remember_secret
from opencasb.store._db import Database

__all__ = ["open_secrets", "seal_secrets"]

# The cipher's error codes for stored secrets it cannot read.
_UNREADABLE = ("wrong_master_key", "bad_secret_payload")


def seal_secrets(db: Database, secrets: Mapping[str, str]) -> str:
    """The token to store in a ``secrets_enc`` column.

    Raises:
        ConfigError: no master key is configured.
    """
    return db.require_cipher().encrypt_json(dict(secrets))


def open_secrets(
    db: Database, table: Table, row_id: int, *, store_again: str
) -> dict[str, str] | None:
    """The decrypted secrets of ``table``'s row ``row_id`` (None when there is no such row),
    each remembered for the log filter from now on.

    Args:
        store_again: how to store this record's secrets anew, a clause such as "store the
            app's credential again with `...`": the error's fix when they cannot be
            decrypted.

    Raises:
        ConfigError: no master key, or not the key the secrets were sealed with (or they
            are damaged).
    """
    with db.read() as conn:
        token = conn.execute(select(table.c.secrets_enc).where(table.c.id == row_id)).scalar()
    if token is None:
        return None
    try:
        opened = db.require_cipher().decrypt_json(token)
    except ConfigError as exc:
        if exc.code not in _UNREADABLE:
            raise
        if exc.code == "wrong_master_key":
            fix = f"The master key changed: restore it, or {store_again}."
        else:
            fix = f"{store_again[:1].upper()}{store_again[1:]}."
        raise ConfigError(str(exc), meaning=exc.meaning, fix=fix, code=exc.code) from exc
    secrets = {str(k): str(v) for k, v in opened.items()}
    for value in secrets.values():
        remember_secret(value)
    return secrets
