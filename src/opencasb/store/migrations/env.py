"""Alembic environment for the OpenCASB store.

Run by :func:`opencasb.store.engine.migrate` with a connection already inside a transaction
(passed in ``config.attributes["connection"]``). For authoring a new revision, build the
config with :func:`opencasb.store.engine.migration_config` and a connection, then call
``alembic.command.revision(cfg, message, autogenerate=True)``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from opencasb.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run OpenCASB migrations through opencasb.store.engine.migrate(), "
        "which supplies the database connection"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
