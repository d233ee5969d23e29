"""Fuzz every public COM method, generated from the method registry (issue 11, "machinery that keeps it so").

The list of methods is not written here: every module of ``emulator.com`` is imported, which fills
``emulator.com.registry.REGISTRY`` through ``@com_method``, and each entry is matched to the one interface
class (a ``ComObject`` subclass whose ``INTERFACES`` hold the entry's interface) that defines it. A new
``@com_method`` is therefore fuzzed without anyone remembering to add it, and a registered method that no
class defines fails ``test_every_registered_method_is_found``.

Arguments come from each method's signature: for every parameter, values of the annotated type chosen to
hurt (lone surrogates, NUL, 10,000 characters, ``..\\..\\`` traversal, ``\\\\?\\`` and UNC names, a
symlink out of the sandbox, malformed URLs; -1, 2**31, 2**32, 2**64, NaN, infinities; empty and
malformed sequences) mixed with values of the wrong type and None. They are applied to objects in
several states: a fresh job, a job with files, a transferring job, one in ERROR, one TRANSFERRED, a
cancelled job still held, another user's job reached through an impersonating caller, an upload job,
their files, enumerators, error objects, IBitsTokenOptions pointers and managers of several callers.

A call may return or raise one of the exceptions the README's "Errors" section documents for COM
methods: ``BitsError`` (``LocalFileFault`` is one), ``TypeError``, ``OverflowError``. Anything else fails
the test, as does a call that runs longer than ``HANG_SECONDS`` (a SIGALRM deadline, so a hang is
reported, not waited for). Afterwards the file store passes ``PRAGMA integrity_check``, its rows agree
with the service's memory, and the file outside the sandbox the symlinks point to is untouched.

CI runs a reduced size; ``BITS_MACHINERY=full`` runs ten times as many argument vectors (README
"Reliability checks"). The counts are printed whatever pytest's capture setting.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import math
import os
import random
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from model.store_check import disagreements, integrity

from emulator import (
    AuthScheme,
    AuthTarget,
    BitsError,
    BitsService,
    Blanket,
    Cast,
    Cloaking,
    FileRange,
    IBitsTokenOptions,
    ImpersonationLevel,
    JobPriority,
    JobState,
    JobType,
    ManualClock,
)
from emulator.com.base import ComObject
from emulator.com.registry import REGISTRY, MethodEntry
from emulator.coverage import load_registry

FULL = os.environ.get("BITS_MACHINERY") == "full"
VECTORS = 30 if FULL else 3  # argument vectors per (method, target object)
SEED = 20261127
HANG_SECONDS = 10
REBUILD_EVERY = 1 if FULL else 4  # methods fuzzed on one set of jobs before a fresh set is made
DOCUMENTED: tuple[type[BaseException], ...] = (BitsError, TypeError, OverflowError)  # README "Errors", COM methods


# the methods, from the registry -------------------------------------------------------------------------


def _import_faces() -> None:
    """Import every module of emulator.com, so that every @com_method has registered itself."""
    load_registry()


def _interface_classes() -> list[type[ComObject]]:
    found: list[type[ComObject]] = []
    todo: list[type[ComObject]] = [ComObject]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.INTERFACES and sub not in found:
                found.append(sub)
    return found


@dataclass(frozen=True)
class Target:
    entry: MethodEntry
    cls: type[ComObject]

    @property
    def label(self) -> str:
        return f"{self.entry.interface.name}::{self.entry.com_name}"


def _targets() -> list[Target]:
    _import_faces()
    classes = _interface_classes()
    targets = []
    for entry in REGISTRY:
        owners = [
            c for c in classes if entry.interface in c.INTERFACES and callable(getattr(c, entry.python_name, None))
        ]
        assert len(owners) == 1, f"{entry}: defined by {owners}"
        targets.append(Target(entry, owners[0]))
    return targets


TARGETS = _targets()


def test_every_registered_method_is_found() -> None:
    """Each registry entry maps to exactly one interface class (checked in _targets); the registry is not
    empty and holds every interface class's methods, so the fuzz below really covers the public surface."""
    assert len(TARGETS) == len(REGISTRY) >= 100
    assert {t.cls.__name__ for t in TARGETS} == {
        "Manager", "Job", "File", "JobEnumerator", "FileEnumerator", "CopyError", "TokenOptions"
    }


# hostile values by annotated type ----------------------------------------------------------------------


class _Raiser:
    """A callback object every method of which raises (a hostile SetNotifyInterface / certificate callback)."""

    def __getattr__(self, name: str) -> Callable[..., object]:
        def boom(*_a: object, **_k: object) -> object:
            raise RuntimeError(f"hostile callback {name}")

        return boom


def _strings(ctx: World) -> list[Any]:
    return [
        "",
        "a",
        "\ud800",
        "x\udfffy",
        "a\x00b",
        "x" * 10_000,
        "x" * 257,
        "..\\..\\..\\..\\etc\\passwd",
        "C:\\d\\..\\..\\..\\escape.bin",
        "\\\\?\\C:\\d\\long.bin",
        "\\\\?\\UNC\\server\\share\\f",
        "\\\\server\\share\\f.bin",
        "\\\\.\\pipe\\x",
        "C:\\link\\x.bin",  # a symlink out of the sandbox
        "C:\\d\\new.bin",
        "C:/d\\mixed/x.bin",
        "c:\\D\\case.bin",
        "C:\\d\\dots. .",
        "CON",
        "/etc/passwd",
        str(ctx.outside / "secret.txt"),
        "file:///etc/passwd",
        "http://[::1/x",
        "http://server/a",
        "http://server/slow",
        "http://server/up",
        "https://127.0.0.1:1/none",
        "ftp://server/a",
        "http://server/\ud800",
        "X-Header: v\r\nY: w",
        "GET",
        "\u202e\ufeff",
    ]


INTS: list[Any] = [0, 1, 2, 3, 7, 0x100, -1, -(2**31), 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64, -(2**64), True]
FLOATS: list[Any] = [math.nan, math.inf, -math.inf, 1.5, -0.0]
BYTES: list[Any] = [b"", b"\x00" * 20, bytes(range(20)), b"x" * 10_000, bytearray(b"12345678901234567890")]


def _wrong(ctx: World) -> list[Any]:
    return [None, 1.5, math.nan, object(), [], {}, (), b"x", "s", 1, -1, 2**64, _Raiser(), ctx.anything()]


def _ranges() -> list[Any]:
    return [
        [],
        [(0, 10)],
        [(0, 2**64 - 1)],
        [(-1, 5)],
        [(2**64, 1)],
        [(10, 0), (0, 10)],
        [(5, 10), (0, 10)],
        [FileRange(initial_offset=0, length=5)],
        [(0, 1)] * 600,
        [None],
        [(1,)],
        [("a", "b")],
        "abc",
        iter([(0, 1)]),
        None,
    ]


def _file_sets(ctx: World) -> list[Any]:
    s = _strings(ctx)
    return [
        [],
        [("http://server/a", "C:\\d\\set1.bin")],
        [("http://server/a", "C:\\d\\dup.bin"), ("http://server/a", "C:\\d\\dup.bin")],
        [(s[2], s[7])],
        [("http://server/a", "C:\\link\\x.bin")],
        [("http://server/a", "C:\\d\\f.bin")] * 201,
        [None],
        [("only-one",)],
        "ab",
        iter([("http://server/a", "C:\\d\\it.bin")]),
        None,
    ]


def _values(annotation: str, name: str, ctx: World, rng: random.Random) -> Any:
    """One value for a parameter: usually of its annotated type, sometimes of a wrong one."""
    if rng.random() < 0.25:
        return rng.choice(_wrong(ctx))
    a = annotation
    if "FileRange" in a:
        return rng.choice(_ranges())
    if "FileInfo" in a:
        return rng.choice(_file_sets(ctx))
    pool: list[Any] = []
    if "str" in a:
        pool += _strings(ctx)
    if "int" in a or "Flags" in a or "Id" in a or "Target" in a or "Scheme" in a:
        pool += INTS + FLOATS[:2]
        if "Target" in a:
            pool += list(AuthTarget)
        if "Scheme" in a:
            pool += list(AuthScheme)
    if "bool" in a:
        pool += [True, False, 0, 1, 2, None, "yes"]
    if "bytes" in a:
        pool += BYTES
    if "float" in a:
        pool += FLOATS + INTS
    if "object" in a or "Any" in a or not pool:
        pool += _strings(ctx)[:6] + INTS[:6] + BYTES[:2] + [_Raiser(), None, ctx.anything()]
    if "None" in a:
        pool.append(None)
    return rng.choice(pool)


def _arguments(func: Callable[..., Any], ctx: World, rng: random.Random) -> tuple[list[Any], dict[str, Any]]:
    sig = inspect.signature(func)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    params = [p for p in sig.parameters.values() if p.name != "self"]
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            args += [_values(str(p.annotation), p.name, ctx, rng) for _ in range(rng.randrange(3))]
            continue
        if p.kind is p.VAR_KEYWORD:
            continue
        if p.default is not p.empty and rng.random() < 0.3:
            continue  # leave an optional argument out
        value = _values(str(p.annotation), p.name, ctx, rng)
        if p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = value
        else:
            args.append(value)
    roll = rng.random()
    if roll < 0.05:
        args.append("one too many")
    elif roll < 0.1 and args:
        args.pop()
    return args, kwargs


# the objects the methods are called on -----------------------------------------------------------------


@dataclass
class World:
    """One file-store service with a cast, a fake network, a sandbox and a symlink out of it."""

    svc: BitsService
    cast: Cast
    outside: Path
    clock: ManualClock
    rng: random.Random
    held: list[Any] = field(default_factory=list)

    def anything(self) -> Any:
        return self.rng.choice(self.held) if self.held else object()

    def manager(self, token: Any, blanket: Blanket | None = None) -> Any:
        return self.svc.connect(token, blanket=blanket)

    def jobs(self) -> dict[str, Any]:
        """Fresh jobs in various states, as pointers of the callers named in the key."""
        c, svc = self.cast, self.svc
        alice = self.manager(c.alice.token)
        admin = self.manager(c.bob_elevated)
        out: dict[str, Any] = {}
        out["fresh"] = alice.create_job("fresh", JobType.DOWNLOAD)[1]
        with_file = alice.create_job("with-file", JobType.DOWNLOAD)[1]
        with_file.add_file("http://server/a", f"C:\\d\\w{self.rng.randrange(10**9)}.bin")
        out["with-file"] = with_file
        moving = alice.create_job("moving", JobType.DOWNLOAD)[1]
        moving.add_file("http://server/slow", f"C:\\d\\s{self.rng.randrange(10**9)}.bin")
        moving.resume()
        failed = alice.create_job("failed", JobType.DOWNLOAD)[1]
        failed.add_file("http://server/missing", f"C:\\d\\m{self.rng.randrange(10**9)}.bin")
        failed.set_priority(JobPriority.FOREGROUND)  # foreground jobs run beside the background one
        failed.resume()
        done = alice.create_job("done", JobType.DOWNLOAD)[1]
        done.add_file("http://server/a", f"C:\\d\\t{self.rng.randrange(10**9)}.bin")
        done.set_priority(JobPriority.FOREGROUND)
        done.resume()
        gone = alice.create_job("gone", JobType.DOWNLOAD)[1]
        gone.cancel()
        up = alice.create_job("up", JobType.UPLOAD_REPLY)[1]
        up.add_file("http://server/up", "C:\\d\\upload.txt")
        # Another user's job, through alice's pointer used by a thread impersonating charlie.
        theirs = alice.create_job("theirs", JobType.DOWNLOAD)[1]
        theirs.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC))
        system_job = self.manager(c.system.token).create_job("system", JobType.DOWNLOAD)[1]
        admin_view = admin.get_job(system_job.get_id())  # an elevated admin on a LocalSystem job
        svc.advance(1)
        assert moving.get_state() is JobState.TRANSFERRING
        assert failed.get_state() is JobState.ERROR
        assert done.get_state() is JobState.TRANSFERRED
        out |= {"moving": moving, "failed": failed, "done": done, "gone": gone, "upload-reply": up}
        out["charlie-on-alice"] = theirs
        out["admin-on-system"] = admin_view
        return out

    def objects(self, cls_name: str, jobs: dict[str, Any]) -> dict[str, Any]:
        c = self.cast
        if cls_name == "Job":
            return jobs
        if cls_name == "File":
            return {f"file of {k}": next(iter(j.enum_files()), None) for k, j in jobs.items()} | {
                "file of gone": self._file_of_gone(jobs)
            }
        if cls_name == "JobEnumerator":
            drained = self.manager(c.alice.token).enum_jobs()
            for _ in drained:
                pass
            return {"alice's jobs": self.manager(c.alice.token).enum_jobs(), "drained": drained,
                    "all users (admin)": self.manager(c.bob_elevated).enum_jobs(1)}
        if cls_name == "FileEnumerator":
            return {"files": jobs["with-file"].enum_files(), "no files": jobs["fresh"].enum_files()}
        if cls_name == "CopyError":
            return {"error": jobs["failed"].get_error()}
        if cls_name == "TokenOptions":
            admin_job = self.manager(c.bob_elevated).create_job("admin", JobType.DOWNLOAD)[1]
            return {
                "owner": jobs["with-file"].query_interface(IBitsTokenOptions),
                "admin": admin_job.query_interface(IBitsTokenOptions),
                "final": self._options_of_gone(),
            }
        if cls_name == "Manager":
            return {
                "alice": self.manager(c.alice.token),
                "charlie": self.manager(c.charlie.token),
                "bob filtered": self.manager(c.bob_filtered),
                "bob elevated": self.manager(c.bob_elevated),
                "system": self.manager(c.system.token),
                "network service": self.manager(c.network_service.token),
            }
        raise AssertionError(f"no objects for {cls_name}")

    def _file_of_gone(self, jobs: dict[str, Any]) -> Any:
        job = self.manager(self.cast.alice.token).create_job("file-gone", JobType.DOWNLOAD)[1]
        job.add_file("http://server/a", "C:\\d\\g.bin")
        f = next(iter(job.enum_files()))
        job.cancel()
        return f

    def _options_of_gone(self) -> Any:
        job = self.manager(self.cast.alice.token).create_job("opts-gone", JobType.DOWNLOAD)[1]
        opts = job.query_interface(IBitsTokenOptions)
        job.cancel()
        return opts

    def clear(self) -> None:
        """Cancel every job left, so no quota fills up over the run (LocalSystem can reach them all)."""
        system = self.manager(self.cast.system.token)
        for rec in list(self.svc.queue.all_jobs()):
            with contextlib.suppress(BitsError):
                system.get_job(rec.id).cancel()
        self.held.clear()


@pytest.fixture(params=["post-1607", "pre-1607"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """post-1607 (Windows 11, BITS 10.3: every interface) and pre-1607 (Windows 10 1511, BITS 5.0: the
    methods of IBackgroundCopyJob5, IBackgroundCopyFile6… are E_NOINTERFACE there, the token tables differ)."""
    clock = ManualClock()
    with BitsService(request.param, database=tmp_path / "fuzz.db", clock=clock) as svc:
        root = tmp_path / "drives"
        svc.filesystem.drive_root = root
        svc.filesystem.unc_root = tmp_path / "unc"
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_bytes(b"secret")
        svc.filesystem.makedirs("C:\\d")
        (root / "C" / "d" / "upload.txt").write_bytes(b"upload body")
        os.symlink(outside, root / "C" / "link")
        svc.network.register("http://server/a", b"a" * 100)
        svc.network.register("http://server/slow", b"s" * 100_000, rate=1000)
        svc.network.register("http://server/missing", b"", status=404)
        svc.network.register("http://server/up", upload=True, reply=b"reply")
        yield World(svc, Cast.on(svc), outside, clock, random.Random(SEED))


# the run -----------------------------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the SIGALRM deadline; a BaseException so that no `except Exception` swallows it."""


def _on_alarm(_sig: int, _frame: FrameType | None) -> None:
    raise Hang


@dataclass
class Tally:
    calls: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    undocumented: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    methods: set[str] = field(default_factory=set)
    clock_moves: int = 0


def _call(tally: Tally, label: str, func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    tally.calls += 1
    tally.methods.add(label)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        result = func(*args, **kwargs)
    except Hang:
        tally.hangs.append(f"{label}{_short(args)}")
        tally.outcomes["hang"] += 1
        return None
    except DOCUMENTED as exc:
        kind = type(exc).__name__ if not isinstance(exc, BitsError) else "BitsError"
        tally.outcomes[kind] += 1
        return None
    except Exception as exc:
        tally.outcomes[type(exc).__name__] += 1
        tally.undocumented.append(f"{label}{_short(args)} -> {type(exc).__name__}: {str(exc)[:200]}")
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    tally.outcomes["returned"] += 1
    return result


def _short(args: list[Any]) -> str:
    return "(" + ", ".join(repr(a)[:40] for a in args) + ")"


def report(capsys: pytest.CaptureFixture[str], name: str, lines: list[str]) -> None:
    """Print the counts past pytest's capture, so a CI log shows them without ``-s``."""
    with capsys.disabled():
        print("\n".join(["", f"[{name}]", *(f"  {line}" for line in lines)]))


def run_fuzz(world: World, vectors: int) -> Tally:
    tally = Tally()
    rng = world.rng
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        jobs: dict[str, Any] = {}
        for n, target in enumerate(TARGETS):
            if n % REBUILD_EVERY == 0:
                world.clear()  # fresh jobs in every state, now and then (each build commits ~10 jobs)
                jobs = world.jobs()
            objects = world.objects(target.cls.__name__, jobs)
            world.held.extend(o for o in objects.values() if o is not None)
            for where, obj in objects.items():
                if obj is None:
                    continue
                bound = getattr(obj, target.entry.python_name)
                for _ in range(vectors):
                    args, kwargs = _arguments(bound, world, rng)
                    if where == "charlie-on-alice":
                        with world.svc.impersonate(world.cast.charlie.token):
                            result = _call(tally, f"{target.label}@{where}", bound, args, kwargs)
                    else:
                        result = _call(tally, f"{target.label}@{where}", bound, args, kwargs)
                    if result is not None and rng.random() < 0.2:
                        world.held.append(result)
                # time moves between objects, so transfers, retries and callbacks run in between
                world.svc.advance(rng.choice([0, 1, 7, 3600]))
                tally.clock_moves += 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return tally


def test_fuzz_every_public_method(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11: no exception outside the documented set, no hang, the store intact and in agreement with
    memory, nothing written outside the sandbox — over every registered method."""
    tally = run_fuzz(world, VECTORS)
    problems = disagreements(world.svc)
    fuzzed = {m.split("@")[0] for m in tally.methods}
    report(
        capsys,
        f"fuzz {world.svc.profile.name}",
        [
            f"methods fuzzed: {len(fuzzed)} of {len(TARGETS)} registered",
            f"calls: {tally.calls} (and {tally.clock_moves} clock moves between objects)",
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.outcomes.items())),
            f"undocumented exceptions: {len(tally.undocumented)}; hangs: {len(tally.hangs)}",
        ],
    )
    assert tally.undocumented == [], "\n".join(tally.undocumented[:30])
    assert tally.hangs == []
    assert fuzzed == {t.label for t in TARGETS}  # every registered method was called
    assert integrity(tmp_path / "fuzz.db") == "ok"
    assert problems == []
    assert sorted(p.name for p in world.outside.iterdir()) == ["secret.txt"]
    assert (world.outside / "secret.txt").read_bytes() == b"secret"
