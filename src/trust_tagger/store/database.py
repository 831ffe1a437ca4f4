"""Opening a store's database: the URL, the driver, the first connection and the schema.

Two things used to go wrong here. A user's mistake (``--db`` mistyped, a folder that does not exist,
Postgres without its driver, a server that is down) ended in a SQLAlchemy traceback; every such case
is now a :class:`StoreError` whose one line says what, where and what to do. And two nightlies on a
fresh database both ran ``create_all`` — inspect, then ``CREATE TABLE`` — so the slower one died on
``table papers already exists`` (2 processes: 10 of 10 tries). The schema is now Alembic's
(``store/migrations``): :func:`migrate` upgrades to head under a lock held across processes (a file
lock next to a SQLite file, an advisory lock on Postgres). A database made by the old ``create_all``
(tables, no ``alembic_version``) needs no stamping: the initial revision creates only what is missing.
"""

from __future__ import annotations

import functools
import io
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from trust_tagger.errors import UserError

# Postgres session-level advisory lock id of the store's migrations ("tt-migr" in hex, any fixed int).
_PG_LOCK_ID = 0x74742D6D696772
_LOCK_TIMEOUT_SECONDS = 120  # another process migrating the same file for longer than this is stuck


class StoreError(UserError, RuntimeError):
    """The store's database cannot be opened as configured (a user's mistake or an unreachable server)."""


def open_engine(url: str, connect_listener=None) -> Engine:
    """An engine for ``url`` after checking everything a user can get wrong; StoreError otherwise.

    ``postgresql://`` without a driver means psycopg 3, which the ``postgres`` extra installs
    (SQLAlchemy's own default would be psycopg2)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"--db {url!r} is not a database URL; use e.g. sqlite:///data/trust_tagger.db "
                         "or postgresql://user@host/dbname") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().parent
        if not folder.is_dir():
            raise StoreError(f"cannot open the store {shown}: the folder {folder} does not exist; create it "
                             "or pass another --db")
    try:
        engine = create_engine(parsed)
    except NoSuchModuleError as exc:
        raise StoreError(f"--db {shown}: unknown database kind {parsed.drivername!r}; use sqlite:/// or "
                         "postgresql://") from exc
    except ModuleNotFoundError as exc:
        if parsed.get_backend_name() == "postgresql":
            raise StoreError(f"cannot open the store {shown}: the Postgres driver ({exc.name}) is not installed; "
                             "install it with: pip install 'trust-tagger[postgres]'") from exc
        raise StoreError(f"cannot open the store {shown}: its driver {exc.name} is not installed") from exc
    if connect_listener is not None:
        from sqlalchemy import event

        event.listen(engine, "connect", connect_listener)
    return engine


def describe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to Alembic's head, safely when several processes open a fresh database at once."""
    try:
        if _current_revision(engine) == _head():
            return
        with _migration_lock(engine):
            _upgrade(engine)  # re-checks under the lock: another process may have done it meanwhile
    except StoreError:
        raise
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise StoreError(f"cannot open the store {describe(engine)}: {reason}; check the --db URL and that "
                         "the database is reachable") from exc


@functools.lru_cache(maxsize=1)
def _alembic_config():
    from alembic.config import Config

    cfg = Config(stdout=io.StringIO())  # the commands' own messages are not the user's business
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


@functools.lru_cache(maxsize=1)
def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _upgrade(engine: Engine) -> None:
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "head")  # a no-op when another process got there first
        finally:
            cfg.attributes.pop("connection", None)


@contextmanager
def _migration_lock(engine: Engine):
    """Held across processes while the schema changes. SQLite cannot run DDL in one locked transaction
    through pysqlite, so a file lock next to the database file serialises the migrators; Postgres takes
    a transaction-level advisory lock inside :func:`_upgrade`; an in-memory SQLite has one user."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    from filelock import FileLock, Timeout

    lock_path = f"{Path(database).expanduser()}-migrate.lock"  # data/*.db-* is git-ignored with the WAL files
    try:
        with FileLock(lock_path, timeout=_LOCK_TIMEOUT_SECONDS):
            yield
    except Timeout as exc:
        raise StoreError(f"another process has been migrating {describe(engine)} for over "
                         f"{_LOCK_TIMEOUT_SECONDS}s (lock {lock_path}); if none is running, delete the lock file") from exc
