"""The fresh machine an in-memory service starts from, built once per process and SID seed (issue 8).

Every new in-memory ``BitsService`` used to write the same rows at start — the machine's SID part and
next RID (settings) and the default user's account — and read them back. Now they are written once per
seed, by the same ``Directory`` code a service runs, into a copy of the schema template; each service
with that seed copies the result (SQLite's backup API, like the schema template itself) and is told what
the copy holds, so it starts without a single SQL statement (docs/design.md#service).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

from .domain.wstr import from_store
from .events import EventBus
from .identity.directory import Directory
from .store import database
from .store.repository import JobStore, StorePreset

MAX_MACHINES = 16  # seeds whose template is kept (each is a few pages of memory)

Accounts = tuple[tuple[str, str, str, bool], ...]  # (sid, name, kind, admin)


@dataclass(frozen=True, slots=True)
class _Machine:
    template: sqlite3.Connection
    settings: tuple[tuple[str, str], ...]
    accounts: Accounts


@dataclass(frozen=True, slots=True)
class FreshStore:
    """A new in-memory store holding a fresh machine's rows, and what it holds."""

    conn: sqlite3.Connection
    preset: StorePreset
    accounts: Accounts


_machines: OrderedDict[tuple[int, str], _Machine] = OrderedDict()
_lock = threading.Lock()  # the cache and every copy: a template is closed only when no copy is running


def open_fresh(seed: int, default_user: str) -> FreshStore:
    """A page copy (with the usual pragmas) of the fresh machine of ``seed`` whose default account is
    ``default_user``; the template is built on first use and kept for the next services."""
    key = (seed, default_user)
    with _lock:
        machine = _machines.get(key)
        if machine is None:
            machine = _machines[key] = _build(seed, default_user)
            while len(_machines) > MAX_MACHINES:
                _machines.popitem(last=False)[1].template.close()
        else:
            _machines.move_to_end(key)
        conn = database.open_memory(machine.template)
    return FreshStore(conn, StorePreset(dict(machine.settings), max_file_id=0), machine.accounts)


def _build(seed: int, default_user: str) -> _Machine:
    conn = database.open_memory()
    # What a service's start writes, written by the code that writes it (same rows, same values).
    directory = Directory(JobStore(conn), EventBus(), lambda: 0.0, seed)
    directory.add_user(default_user)
    settings = tuple((str(k), str(from_store(v))) for k, v in conn.execute("SELECT key, value FROM settings"))
    accounts = tuple(
        (str(sid), str(from_store(name)), str(kind), bool(admin))
        for sid, name, kind, admin in conn.execute("SELECT sid, name, kind, admin FROM accounts ORDER BY sid")
    )
    return _Machine(conn, settings, accounts)
