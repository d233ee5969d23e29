"""Does a service's memory agree with its file store?

Every change is written through to SQLite in the same call (README "Design"), so at any moment between
calls the rows of the ``jobs`` and ``files`` tables must say exactly what the in-memory records say, the
database must pass ``PRAGMA integrity_check``, and no row may belong to a job the service no longer holds.
The rows are read back through the store's own loader on a fresh ORM session (it opens no new state) and,
for the helper-token columns the loader deliberately drops, with plain SQL.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from emulator import BitsService
from emulator.store.repository import file_columns, helper_columns, job_columns

# Not persisted on purpose (docs/reference/states.md#persistence): the callback pointers; the helper token
# is compared through its own columns below.
_HELPER = tuple(helper_columns(None))


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def disagreements(svc: BitsService) -> list[str]:
    """What differs between ``svc.queue`` and the rows of its file store ([] when they agree)."""
    assert svc.store.engine is not None, "needs a file store"
    problems: list[str] = []
    _, loaded = svc.store.load()
    stored = {rec.key: rec for rec in loaded}
    memory = {rec.key: rec for rec in svc.queue.all_jobs()}
    if set(stored) != set(memory):
        only_stored, only_memory = set(stored) - set(memory), set(memory) - set(stored)
        problems.append(f"job ids differ: only stored {only_stored}, only memory {only_memory}")
    helpers = {
        row[0]: dict(zip(_HELPER, row[1:], strict=True))
        for row in svc.store.conn.execute(f"SELECT id, {', '.join(_HELPER)} FROM jobs")
    }
    for key in set(stored) & set(memory):
        mem, row = job_columns(memory[key]), job_columns(stored[key])
        for name in _HELPER:
            row[name] = helpers[key][name]
        mem["helper_groups"] = _normal(mem["helper_groups"])
        row["helper_groups"] = _normal(row["helper_groups"])
        diff = {k: (mem[k], row[k]) for k in mem if mem[k] != row[k]}
        if diff:
            problems.append(f"job {key}: memory vs store {diff}")
        mem_files = [file_columns(f) for f in memory[key].files]
        row_files = [file_columns(f) for f in stored[key].files]
        if mem_files != row_files:
            problems.append(f"job {key} files: memory {mem_files} vs store {row_files}")
    return problems


def _normal(groups: Any) -> Any:
    """JSON gives lists back where memory may hold tuples."""
    if isinstance(groups, str):
        import json

        groups = json.loads(groups)
    return [list(g) for g in groups] if groups is not None else None
