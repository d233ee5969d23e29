"""Opening a store: SQLite connections, pragmas, the schema template and Alembic upgrades.

In-memory services copy a template database built once per process from the models (SQLite's backup
API), so a fresh service costs a page copy, not DDL and not a migration replay (docs/design.md#service). File stores
are created and upgraded by the Alembic revisions in ``migrations/`` at open; a store stamped with a
revision this version does not know was written by a newer emulator and is refused.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable

from .schema import Base

HEAD_REVISION = "0002"
BUSY_TIMEOUT_MS = 60_000


class StoreError(RuntimeError):
    """The store cannot be used: a database path that cannot be opened or written, a file that is not a
    bits-emulator store, or an SQLite failure (disk full, locked) during a call. The message names the path;
    the SQLite or SQLAlchemy error is chained as ``__cause__``."""


class StoreVersionError(StoreError):
    """The store was written by a newer schema than this emulator knows."""


def migrations_dir() -> Path:
    """The Alembic script directory: inside the installed package, or ``migrations/`` of a checkout."""
    try:
        module = importlib.import_module("emulator.migrations")
    except ModuleNotFoundError:
        module = None
    if module is not None and module.__file__ is not None:
        return Path(module.__file__).parent
    checkout = Path(__file__).resolve().parents[2] / "migrations"
    if (checkout / "env.py").is_file():
        return checkout
    raise RuntimeError("the emulator's migrations are missing from this installation")


def _apply_pragmas(conn: sqlite3.Connection, *, file_backed: bool) -> None:
    conn.execute("PRAGMA foreign_keys=ON")
    # Purged helper-token data must not linger in free pages (docs/design.md#service, secure_delete test).
    conn.execute("PRAGMA secure_delete=ON")
    if file_backed:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Several services (processes) may share the file: writers wait for each other's short
        # transactions rather than fail with "database is locked".
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _connect(database: str) -> sqlite3.Connection:
    # Legacy transaction control: DML opens a transaction implicitly and the repository commits once
    # per API call. check_same_thread=False because the service lock serialises every use.
    return sqlite3.connect(database, check_same_thread=False, isolation_level="DEFERRED")


_template: sqlite3.Connection | None = None
_template_lock = threading.Lock()


def schema_ddl() -> list[str]:
    dialect = sqlite_dialect.dialect()
    statements: list[str] = []
    for table in Base.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    statements.append(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD_REVISION}')")
    return statements


def _template_db() -> sqlite3.Connection:
    global _template
    with _template_lock:
        if _template is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            for statement in schema_ddl():
                conn.execute(statement)
            _template = conn
        return _template


def open_memory(template: sqlite3.Connection | None = None) -> sqlite3.Connection:
    """A new in-memory store: a page copy of ``template`` (by default the empty schema) with the pragmas."""
    conn = _connect(":memory:")
    source = template if template is not None else _template_db()
    with _template_lock:
        source.backup(conn)
    _apply_pragmas(conn, file_backed=False)
    return conn


def store_url(database: str | Path | URL) -> URL:
    if isinstance(database, URL):
        url = database
    elif isinstance(database, Path) or "://" not in database:
        url = URL.create("sqlite", database=str(Path(database).expanduser().resolve()))
    else:
        url = make_url(database)
    if url.get_backend_name() != "sqlite":
        raise ValueError(
            f"unsupported store {url.render_as_string(hide_password=True)!r}: the emulator's store is "
            "SQLite (a file path or a sqlite:/// URL)"
        )
    if not url.database or url.database == ":memory:":
        raise ValueError("use database=None for an in-memory store")
    return url


def make_engine(url: URL) -> Engine:
    engine = create_engine(url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA secure_delete=ON")
        dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    return engine


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations_dir()))
    return {rev.revision for rev in script.walk_revisions()}


def upgrade(engine: Engine) -> None:
    """Create or upgrade the file store's schema with the Alembic revisions, refusing newer stores."""
    from alembic import command
    from alembic.config import Config

    with engine.connect() as conn:
        if inspect(conn).has_table("alembic_version"):
            current = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
            unknown = current - known_revisions()
            if unknown:
                raise StoreVersionError(
                    f"the store {engine.url.database} was written by a newer bits-emulator (schema "
                    f"revision {', '.join(sorted(unknown))}; this version knows up to {HEAD_REVISION}); "
                    "upgrade bits-emulator to open it"
                )
            if current == {HEAD_REVISION}:
                return  # already current: skip loading the migration scripts (each bitsadmin call opens the store)
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


class StoreHold:
    """A service's hold on its file store, for as long as the service is open: a shared advisory lock
    (``flock``) on the database file, independent of SQLite's own locks. The first opener — nobody else
    holds the store — takes it exclusively, creates or upgrades the schema and runs the start-up steps of
    a BITS service start (``first``), then shares it; an opener that finds the store held attaches to the
    running service instead (no restart: other services' helper tokens stay). The kernel drops the lock
    when a process dies, so after an unclean stop the next opener is first again."""

    def __init__(self, fd: int, first: bool) -> None:
        self._fd = fd
        self.first = first
        self.restarted = False  # set by the opener: this open is a BITS service start (tokens dropped)

    def share(self) -> None:
        """The start-up steps are done: let other services attach."""
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1


def open_file(url: URL) -> tuple[sqlite3.Connection, Engine, StoreHold]:
    """Open (creating or upgrading) a file store. Several processes opening one new store at the same
    moment: the first creates it while the others wait on its lock, then find the schema at head."""
    engine = make_engine(url)
    assert url.database is not None
    fd = os.open(url.database, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            first = True
        except BlockingIOError:
            first = False
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a first opener creates, upgrades or starts
        upgrade(engine)  # for an attaching opener the schema is at head already: one version read
        conn = _connect(url.database)
        _apply_pragmas(conn, file_backed=True)
    except BaseException:
        os.close(fd)
        raise
    return conn, engine, StoreHold(fd, first)


def engine_over(conn: sqlite3.Connection) -> Engine:
    """An SQLAlchemy engine that uses the service's own connection (for ORM reads of a memory store)."""
    from sqlalchemy.pool import StaticPool

    return create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)
