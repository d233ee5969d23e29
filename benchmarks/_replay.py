"""Like-for-like baselines: record exactly the SQLite calls the emulator makes for one operation, then
replay them on a connection opened the same way (same template copy, same pragmas, same transaction
mode). A baseline that does less or more than the emulator would make the ratio meaningless.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from emulator import BitsService
from emulator.fresh import open_fresh
from emulator.service import DEFAULT_USER

Call = tuple[str, str | None, Any]


def same_store(seed: int = 0) -> sqlite3.Connection:
    """A connection opened exactly as a fresh in-memory service opens its store: a page copy of the same
    template (the fresh machine of ``seed``: schema, settings and default account rows) with the same
    pragmas."""
    return open_fresh(seed, DEFAULT_USER).conn


class Recording:
    """Stands in for the store's sqlite3 connection and writes down every call made through it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.calls: list[Call] = []

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self.calls.append(("execute", sql, tuple(params) if isinstance(params, list) else params))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = [tuple(r) for r in rows]
        self.calls.append(("executemany", sql, rows))
        return self._conn.executemany(sql, rows)

    def commit(self) -> None:
        self.calls.append(("commit", None, None))
        self._conn.commit()

    def rollback(self) -> None:
        self.calls.append(("rollback", None, None))
        self._conn.rollback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@contextmanager
def recording(svc: BitsService) -> Iterator[Recording]:
    real = svc.store.conn
    rec = Recording(real)
    svc.store.conn = rec  # type: ignore[assignment]
    try:
        yield rec
    finally:
        svc.store.conn = real


def replayer(conn: sqlite3.Connection, calls: list[Call]) -> Callable[[], None]:
    """A function that makes exactly ``calls`` on ``conn`` (SELECTs fetched, as the emulator does)."""
    steps: list[Callable[[], Any]] = []
    for op, sql, params in calls:
        if op == "execute":
            assert sql is not None
            steps.append(lambda sql=sql, params=params: conn.execute(sql, params).fetchall())
        elif op == "executemany":
            steps.append(lambda sql=sql, params=params: conn.executemany(sql, params))
        elif op == "commit":
            steps.append(conn.commit)
        else:
            steps.append(conn.rollback)

    def replay() -> None:
        for step in steps:
            step()

    return replay


# file-system calls -----------------------------------------------------------------------------------

_OS_FUNCTIONS = (
    "open", "close", "write", "pwrite", "read", "pread", "lseek", "ftruncate", "truncate", "fsync",
    "replace", "rename", "unlink", "stat", "lstat", "fstat", "mkdir", "listdir", "scandir", "readlink",
)
FsCall = tuple[str, tuple[Any, ...], dict[str, Any], Any]
# functions whose first argument is a descriptor (stat/fstat may take one too, but the sandbox passes paths)
_FD_FIRST = frozenset({"close", "write", "pwrite", "read", "pread", "lseek", "ftruncate", "fsync", "fstat"})


@contextmanager
def recording_files() -> Iterator[list[FsCall]]:
    """Write down every call of the ``os`` functions above and of ``open()`` made inside the block, with
    the files' own read/write/seek/truncate calls."""
    import builtins
    import os

    calls: list[FsCall] = []
    saved = {name: getattr(os, name) for name in _OS_FUNCTIONS if hasattr(os, name)}
    real_open = builtins.open

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            if name == "scandir":
                result = list(result)
            calls.append((name, args, kwargs, result))
            return iter(result) if name == "scandir" else result

        return recorded

    class File:
        def __init__(self, inner: Any, index: int) -> None:
            self._inner, self._index = inner, index

        def __getattr__(self, attr: str) -> Any:
            value = getattr(self._inner, attr)
            if attr in ("write", "read", "seek", "truncate", "close", "flush"):
                def method(*args: Any) -> Any:
                    calls.append((f"file.{attr}", (self._index, *args), {}, None))
                    return value(*args)

                return method
            return value

        def __enter__(self) -> File:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    def recorded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        inner = real_open(file, mode, *args, **kwargs)
        calls.append(("builtins.open", (file, mode, *args), kwargs, None))
        return File(inner, len(calls) - 1)

    for name, fn in saved.items():
        setattr(os, name, wrap(name, fn))
    builtins.open = recorded_open
    try:
        yield calls
    finally:
        for name, fn in saved.items():
            setattr(os, name, fn)
        builtins.open = real_open


def file_replayer(calls: list[FsCall]) -> Callable[[], None]:
    """A function that makes the same file-system calls again (descriptors renumbered as they come)."""
    import os

    def replay() -> None:
        fds: dict[int, int] = {}
        files: dict[int, Any] = {}
        for index, (name, args, kwargs, result) in enumerate(calls):
            if name == "builtins.open":
                files[index] = open(*args, **kwargs)  # noqa: SIM115 (closed by its recorded close call)
                continue
            if name.startswith("file."):
                handle = files[args[0]]
                getattr(handle, name[5:])(*args[1:])
                continue
            fixed = args
            if name in _FD_FIRST and args:
                fixed = (fds.get(args[0], args[0]), *args[1:])
            fixed_kw = {k: fds.get(v, v) if k.endswith("dir_fd") else v for k, v in kwargs.items()}
            out = getattr(os, name)(*fixed, **fixed_kw)
            if name == "open":
                fds[result] = out
            elif name == "scandir":
                list(out)

    return replay
