"""Opening a store: engine setup for SQLite and PostgreSQL, and migrations to head.

SQLite (the default, one file) is tuned for one process with a few threads: WAL so readers
never block the writer, ``synchronous=NORMAL`` (durable at checkpoints; a power cut can lose
the last transactions but never corrupts the file, and the runner re-fetches from the stored
cursor), foreign keys on, a 30 s busy timeout, and explicit ``BEGIN``/``BEGIN IMMEDIATE``
because pysqlite's own implicit transactions do not cover DDL or SELECT.

PostgreSQL is for larger installs: ``postgresql+psycopg://user@host/db``. A schema other
than ``public`` is chosen with ``?options=-csearch_path%3Dmyschema``.

A SQLite file and its ``-wal`` and ``-shm`` files are private to their owner (0600; SQLite
creates the latter two with the mode of the database file), in a directory created 0700. An
empty (zero-length) file is refused rather than silently made into a new, empty store: it
is what a failed copy or a full disk leaves behind, and the user's data is elsewhere.

Migrations run on every open, inside one transaction that holds the database's write lock
(``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two processes starting
together do not both migrate.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, pool
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError

from opencasb.clock import Clock, SystemClock
from opencasb.config import make_private_dir
from opencasb.crypto import Cipher
from opencasb.errors import ConfigError, StoreError
from opencasb.store._db import IMMEDIATE, Database, translate
from opencasb.store.checkpoint import Checkpointer
from opencasb.store.facade import Store
from opencasb.store.textmatch import SQLITE_FUNCTION, sqlite_text_match
from opencasb.store.url import redacted_url

__all__ = ["MIGRATIONS_DIR", "create_store_engine", "migrate", "migration_config", "open_store"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x0C45B  # any constant; identifies our advisory lock in pg_locks
_BUSY_TIMEOUT_S = 30


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"not a database URL: {url!r}",
            fix="Use sqlite:///path/to/opencasb.db or postgresql+psycopg://user@host/dbname.",
            code="bad_database_url",
        ) from exc
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed
    raise ConfigError(
        f"unsupported database {parsed.drivername!r}",
        fix="OpenCASB supports SQLite (sqlite:///file.db) and PostgreSQL "
        "(postgresql+psycopg://user@host/dbname).",
        code="bad_database_url",
    )


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite; the "begin" hook issues BEGIN itself.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # 16 KiB pages (only takes effect when the file is created): an activity row is 2-4 KiB
    # with its raw record, so 4 KiB pages hold one row each and every insert allocates a
    # page; 16 KiB pages measured ~40% faster ingest and shallower indexes.
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
    # Ingest writes megabytes per page of activities. Checkpointing every 1000 pages (the
    # default) would checkpoint -- and fsync twice -- after nearly every page and rewrite hot
    # index pages each time; every 2,500 pages (40 MB at 16 KiB) costs a bigger WAL file.
    # A store opened by open_store checkpoints on a background thread (store.checkpoint);
    # this automatic checkpoint is the backstop for when that thread falls behind.
    cur.execute("PRAGMA wal_autocheckpoint=2500")
    cur.execute("PRAGMA journal_size_limit=67108864")  # truncate the WAL back to 64 MB
    # 64 MB of page cache per connection (grown on demand): the random-key indexes (event
    # id, actor, IP) of a million-row table do not fit the 2 MB default.
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()
    # The text filter's match over the compressed body (see store.query).
    dbapi_conn.create_function(SQLITE_FUNCTION, 3, sqlite_text_match, deterministic=True)


def _on_sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_store_engine(url: str) -> Engine:
    """A configured SQLAlchemy engine for ``url`` (no migrations; see :func:`open_store`).

    Raises:
        ConfigError: the URL is malformed or names an unsupported database.
    """
    parsed = _parse(url)
    if parsed.drivername.startswith("postgresql"):
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        # One shared connection, or every pooled connection would see its own empty database.
        engine = create_engine(
            parsed, poolclass=pool.StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        make_private_dir(Path(database).expanduser().parent)
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_S}
        )
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def migration_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations (no alembic.ini needed).

    With ``connection``, env.py runs the migrations on it (inside its transaction).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to the newest schema, under a lock.

    Raises:
        StoreError: the database cannot be reached or the migration failed.
    """
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                command.upgrade(migration_config(conn), "head")
    except DBAPIError as exc:
        raise translate(exc) from exc


def _sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine, None for PostgreSQL and in-memory SQLite."""
    database = make_url(engine.url).database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        return None
    return Path(database).expanduser()


def _refuse_empty_file(path: Path) -> None:
    """Raise if ``path`` exists but is empty: SQLite would quietly start a new store in it.

    A store SQLite created writes its header at once (the WAL switch on the first
    connection), so only a damaged or hand-made file is ever empty.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(
            f"cannot read the database file {path}: {exc.strerror}",
            fix="Check the file's owner and mode (0600, owned by the user running OpenCASB).",
            code="store_unreadable",
        ) from None
    if size == 0:
        raise StoreError(
            f"the database file {path} is empty (0 bytes)",
            meaning="The file holds no store: it was truncated, or a copy or restore of it "
            "failed (a full disk, an interrupted copy). OpenCASB does not start an empty store "
            "in its place, because your activities and connected apps would look lost.",
            fix=f"Restore {path} from a backup (with its -wal file if the backup has one). "
            "To start over with an empty store instead, delete the file and run the command "
            "again; then connect your apps again.",
            code="store_empty_file",
        )


@contextmanager
def _private_umask() -> Iterator[None]:
    """Files created inside the block are readable by their owner only.

    The umask is process-wide; the block is held only while a store opens its first
    connection, which is when SQLite creates the database and its -wal and -shm files.
    """
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _make_private(path: Path) -> None:
    """Bring an existing store (made by an older version) to mode 0600, best effort."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                file.chmod(mode & 0o700)
        except OSError:  # gone meanwhile, or not ours: SQLite will say if it cannot open it
            continue


def open_store(
    url: str,
    *,
    key: bytes | str | None = None,
    clock: Clock | None = None,
    run_migrations: bool = True,
) -> Store:
    """Open (and by default migrate) the store at ``url``.

    Args:
        url: ``sqlite:///path/file.db`` (parent directories are created) or
            ``postgresql+psycopg://user@host/dbname``.
        key: the master key for connector secrets (see :func:`opencasb.crypto.generate_key`).
            Without it, everything works except storing or reading secrets.
        clock: time source for ``created_at``/``updated_at`` stamps (tests inject a fake).
        run_migrations: upgrade the schema to head before returning (default).

    Raises:
        ConfigError: malformed URL or master key.
        StoreError: the database is unreachable or could not be migrated.
    """
    cipher = Cipher(key) if key is not None else None
    engine = create_store_engine(url)
    file = _sqlite_file(engine)
    try:
        if file is None:
            if run_migrations:
                migrate(engine)
        else:
            _refuse_empty_file(file)
            try:
                with _private_umask():
                    if run_migrations:
                        migrate(engine)
                    else:
                        _first_connection(engine)
            except StoreError as exc:
                if exc.code != "store_corrupt":
                    raise
                raise StoreError(
                    f"the database file {file} is corrupt or not a database",
                    meaning=exc.meaning,
                    fix=exc.fix.replace("FILE", str(file)),
                    code=exc.code,
                ) from exc
            _make_private(file)
    except BaseException:
        engine.dispose()
        raise
    # The URL without its passwords: a PostgreSQL URL can carry them (userinfo and query).
    log.debug("store opened", extra={"url": redacted_url(engine.url.render_as_string(False))})
    return Store(
        Database(
            engine=engine,
            clock=clock or SystemClock(),
            cipher=cipher,
            checkpointer=Checkpointer(engine) if file is not None else None,
        )
    )


def _first_connection(engine: Engine) -> None:
    """Open (and so create) the database now, not at the first query."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise translate(exc) from exc
