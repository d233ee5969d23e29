"""Opening a file store safely: the path is usable, the file is a bits-emulator store (or empty), and every
SQLite/SQLAlchemy failure becomes one documented exception naming the path (issue 11).

A database of another application (tables, but no ``alembic_version``) is refused rather than migrated:
the emulator never writes its tables into a file it did not create.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from . import database
from .database import StoreError, StoreHold, StoreVersionError
from .repository import JobStore


def is_memory(db: object) -> bool:
    """``database=":memory:"`` means the in-memory store, as SQLite's own name for it does (the URL forms
    stay refused with ValueError: ``database=None`` is the documented way)."""
    return isinstance(db, str) and db == ":memory:"


def _probe(path: Path) -> None:
    """Refuse what is not a store before anything writes to it."""
    if path.is_dir():
        raise StoreError(f"the store {path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise StoreError(f"the store {path} cannot be created: {path.parent} does not exist")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"the file {path} is not a bits-emulator store ({exc})") from exc
    if tables and "alembic_version" not in tables:
        raise StoreError(f"the file {path} is an SQLite database of another application, not a bits-emulator store")


def open_file_store(db: str | Path | URL, *, restart: bool = True) -> tuple[sqlite3.Connection, Engine, StoreHold]:
    """Open a file store for a service. The first service to hold it (``StoreHold.first``) starts BITS:
    with ``restart`` (the Python API) no helper token survives. A service that finds the store held by a
    live one attaches to that running service: tokens stay. ``restart=False``: the opener attaches to a
    running service's store even when it is first (the command line, whose invocations are clients of one
    long-running service). Either way the WAL is checkpointed and truncated."""
    url = database.store_url(db)
    path = Path(url.database or "")
    _probe(path)
    hold: StoreHold | None = None
    try:
        conn, engine, hold = database.open_file(url)
        # Before anything else: no helper token survives a restart, and after an unclean stop the WAL may
        # still hold tokens (or passwords) that a purge had dropped — empty the columns, checkpoint, and
        # truncate the WAL (issue 11, "no secret lingers").
        store = JobStore(conn, engine)
        hold.restarted = restart and hold.first
        if hold.restarted:
            with store.transaction():
                store.clear_all_helper_tokens()  # logged for other services of a shared store
        store.scrub()
        hold.share()
        return conn, engine, hold
    except StoreError:
        if hold is not None:
            hold.close()
        raise
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        if hold is not None:
            hold.close()
        raise StoreError(f"cannot open the store {path}: {exc}") from exc


__all__ = ["StoreError", "StoreVersionError", "is_memory", "open_file_store"]
