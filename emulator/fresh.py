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
from collections.abc import Mapping
from dataclasses import dataclass

from .domain.wstr import from_store
from .events import EventBus
from .identity.directory import Directory
from .store import database
from .store.repository import JobStore, StorePreset

MAX_MACHINES = 16  # seeds whose template is kept (each is a few pages of memory)


@dataclass(frozen=True, slots=True)
class FreshMachine:
    """A template database holding a fresh machine's rows, and what it holds."""

    template: sqlite3.Connection
    settings: Mapping[str, str]
    accounts: tuple[tuple[str, str, str, bool], ...]  # (sid, name, kind, admin)

    def open(self) -> tuple[sqlite3.Connection, StorePreset]:
        """A new in-memory store with these rows (a page copy and the usual pragmas), and its contents."""
        return database.open_memory(self.template), StorePreset(dict(self.settings), max_file_id=0)


_machines: OrderedDict[tuple[int, str], FreshMachine] = OrderedDict()
_lock = threading.Lock()


def fresh_machine(seed: int, default_user: str) -> FreshMachine:
    """The fresh machine of ``seed`` with the account ``default_user`` (built on first use, then kept)."""
    key = (seed, default_user)
    with _lock:
        machine = _machines.get(key)
        if machine is not None:
            _machines.move_to_end(key)
            return machine
        machine = _build(seed, default_user)
        _machines[key] = machine
        while len(_machines) > MAX_MACHINES:
            _, old = _machines.popitem(last=False)
            old.template.close()
        return machine


def _build(seed: int, default_user: str) -> FreshMachine:
    conn = database.open_memory()
    # What a service's start writes, written by the code that writes it (same rows, same values).
    directory = Directory(JobStore(conn), EventBus(), lambda: 0.0, seed)
    directory.add_user(default_user)
    settings = {str(k): str(from_store(v)) for k, v in conn.execute("SELECT key, value FROM settings")}
    accounts = tuple(
        (str(sid), str(from_store(name)), str(kind), bool(admin))
        for sid, name, kind, admin in conn.execute("SELECT sid, name, kind, admin FROM accounts ORDER BY sid")
    )
    return FreshMachine(conn, settings, accounts)
