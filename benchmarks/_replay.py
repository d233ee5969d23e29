"""Like-for-like baselines: record exactly the SQLite calls the emulator makes for one operation, then
replay them on a connection opened the same way (same template copy, same pragmas, same transaction
mode). A baseline that does less or more than the emulator would make the ratio meaningless.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
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

    def __init__(self, conn: sqlite3.Connection, order: list[tuple[str, int]] | None = None) -> None:
        self._conn = conn
        self.calls: list[Call] = []
        self._order = order

    def _add(self, call: Call) -> None:
        self.calls.append(call)
        if self._order is not None:
            self._order.append(("sql", len(self.calls) - 1))

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self._add(("execute", sql, tuple(params) if isinstance(params, list) else params))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = [tuple(r) for r in rows]
        self._add(("executemany", sql, rows))
        return self._conn.executemany(sql, rows)

    def commit(self) -> None:
        self._add(("commit", None, None))
        self._conn.commit()

    def rollback(self) -> None:
        self._add(("rollback", None, None))
        self._conn.rollback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@contextmanager
def recording(svc: BitsService, order: list[tuple[str, int]] | None = None) -> Iterator[Recording]:
    """Record the store's SQLite calls; with ``order``, also note each call's place among the file-system
    calls ``recording_files(order)`` records at the same time."""
    real = svc.store.conn
    rec = Recording(real, order)
    svc.store.conn = rec  # type: ignore[assignment]
    try:
        yield rec
    finally:
        svc.store.conn = real


class Timing:
    """Stands in for the store's sqlite3 connection and adds up the time spent inside its calls (the
    emulator's SQLite time, measured where it runs: between the emulator's own Python). Each call is
    timed with ``perf_counter_ns`` (a clock read without a system call: the CPU-time clock costs one, which
    would weigh on calls of a few microseconds)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.ns = 0

    def timed(self, fn: Callable[..., Any], *args: Any) -> Any:
        t = time.perf_counter_ns()
        try:
            return fn(*args)
        finally:
            self.ns += time.perf_counter_ns() - t

    def execute(self, sql: str, params: Any = ()) -> _TimedCursor:
        return _TimedCursor(self.timed(self._conn.execute, sql, params), self)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.timed(self._conn.executemany, sql, rows)
        return cursor

    def commit(self) -> None:
        self.timed(self._conn.commit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _TimedCursor:
    def __init__(self, cur: sqlite3.Cursor, timing: Timing) -> None:
        self._cur, self._timing = cur, timing

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._timing.timed(self._cur.fetchall)
        return rows

    def fetchone(self) -> Any:
        return self._timing.timed(self._cur.fetchone)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


@contextmanager
def timing(svc: BitsService) -> Iterator[Timing]:
    real = svc.store.conn
    timed = Timing(real)
    svc.store.conn = timed  # type: ignore[assignment]
    try:
        yield timed
    finally:
        svc.store.conn = real


def replayer(conn: sqlite3.Connection, calls: list[Call]) -> Callable[[], None]:
    """A function that makes exactly ``calls`` on ``conn`` (SELECTs fetched, as the emulator does)."""
    steps = _sql_steps(conn, calls)

    def replay() -> None:
        for step in steps:
            step()

    return replay


def _execute(conn: sqlite3.Connection, sql: str, params: Any) -> None:
    conn.execute(sql, params).fetchall()


def _sql_steps(conn: sqlite3.Connection, calls: list[Call]) -> list[Callable[[], Any]]:
    steps: list[Callable[[], Any]] = []
    for op, sql, params in calls:
        if op == "execute":
            assert sql is not None
            steps.append(partial(_execute, conn, sql, params))
        elif op == "executemany":
            assert sql is not None
            steps.append(partial(conn.executemany, sql, params))
        elif op == "commit":
            steps.append(conn.commit)
        else:
            steps.append(conn.rollback)
    return steps


# file-system calls -----------------------------------------------------------------------------------

_OS_FUNCTIONS = (
    "open", "close", "write", "pwrite", "read", "pread", "lseek", "ftruncate", "truncate", "fsync",
    "replace", "rename", "unlink", "stat", "lstat", "fstat", "mkdir", "listdir", "scandir", "readlink", "utime",
)
FsCall = tuple[str, tuple[Any, ...], dict[str, Any], Any]
# functions whose first argument is a descriptor (stat/fstat may take one too, but the sandbox passes paths)
_FD_FIRST = frozenset({"close", "write", "pwrite", "read", "pread", "lseek", "ftruncate", "fsync", "fstat", "utime"})


class _FsLog(list[FsCall]):
    """The recorded file-system calls; with an ``order`` log, each call's place among the SQLite calls."""

    def __init__(self, order: list[tuple[str, int]] | None) -> None:
        super().__init__()
        self._order = order

    def append(self, call: FsCall) -> None:
        super().append(call)
        if self._order is not None:
            self._order.append(("fs", len(self) - 1))


@contextmanager
def recording_files(order: list[tuple[str, int]] | None = None) -> Iterator[list[FsCall]]:
    """Write down every call of the ``os`` functions above and of ``open()`` made inside the block, with
    the files' own read/write/seek/truncate calls (and, with ``order``, their place among the SQLite calls
    ``recording(svc, order)`` records at the same time)."""
    import builtins
    import os

    calls: list[FsCall] = _FsLog(order)
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
    reset, steps = _fs_steps(calls)

    def replay() -> None:
        reset()
        for step in steps:
            step()

    return replay


def _fs_steps(calls: list[FsCall]) -> tuple[Callable[[], None], list[Callable[[], None]]]:
    """One function per recorded file-system call, and the function that starts a replay afresh (the
    descriptors of the recording map to those the replay gets, as they come)."""
    import os

    fds: dict[int, int] = {}
    files: dict[int, Any] = {}

    def reset() -> None:
        fds.clear()
        files.clear()

    def step(index: int, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        if name == "builtins.open":
            files[index] = open(*args, **kwargs)  # noqa: SIM115 (closed by its recorded close call)
            return
        if name.startswith("file."):
            handle = files[args[0]]
            getattr(handle, name[5:])(*args[1:])
            return
        fixed = args
        if name in _FD_FIRST and args:
            fixed = (fds.get(args[0], args[0]), *args[1:])
        fixed_kw = {k: fds.get(v, v) if k.endswith("dir_fd") else v for k, v in kwargs.items()}
        out = getattr(os, name)(*fixed, **fixed_kw)
        if name == "open":
            fds[result] = out
        elif name == "scandir":
            list(out)

    steps: list[Callable[[], None]] = [partial(step, i, *c) for i, c in enumerate(calls)]
    return reset, steps


def in_order_replayer(
    conn: sqlite3.Connection, sql_calls: list[Call], fs_calls: list[FsCall], order: list[tuple[str, int]]
) -> Callable[[], None]:
    """The SQLite and file-system calls replayed in the order the emulator made them, interleaved as they
    ran: the same work as replaying each list on its own, and also the same sequence (statements that run
    right after a file-system call run after one here too)."""
    sql_steps = _sql_steps(conn, sql_calls)
    reset, fs_steps = _fs_steps(fs_calls)
    steps = [sql_steps[i] if kind == "sql" else fs_steps[i] for kind, i in order]

    def replay() -> None:
        reset()
        for step in steps:
            step()

    return replay
