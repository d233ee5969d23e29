"""Concurrency: 8 threads on one service, 4 processes on one file store (issue 11).

Emulator guarantees (README "several services, one file store", docs/ARCHITECTURE.md), not facts of a
Microsoft page: calls from several threads are serialised by the service, several processes share one
queue through the file store, and nothing a call acknowledged is lost — no lost update — whatever the
interleaving. No call raises anything but a documented ``BitsError``.

The lost-update checks use appends that a stale read would drop: every thread or process adds files with
names of its own to the same shared jobs, so the shared jobs must end with every file some caller was
told was added, in a consistent order (positions 0..n-1). Each also keeps jobs of its own, renames and
cancels them; the end state must be exactly what each caller saw succeed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from model.store_check import disagreements, integrity

from emulator import (
    BitsError,
    BitsService,
    Blanket,
    Cloaking,
    IBitsTokenOptions,
    ImpersonationLevel,
    JobState,
    JobType,
    ManualClock,
)

FULL = os.environ.get("BITS_MACHINERY") == "full"
THREADS = 8
PROCESSES = 4
ROUNDS = 200 if FULL else 25  # per thread or process
SHARED = 3


def _files_of(path: Path) -> dict[str, list[tuple[int, str]]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT j.display_name, f.position, f.local_name FROM files f JOIN jobs j ON j.id = f.job_id"
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, list[tuple[int, str]]] = {}
    for name, position, local in rows:
        out.setdefault(name, []).append((position, local))
    return {k: sorted(v) for k, v in out.items()}


def _worker(
    svc: BitsService, tag: str, shared_ids: list[Any], log: dict[str, Any], start: threading.Barrier
) -> None:
    """One thread: its own jobs (create, add, rename, cancel) and appends to the shared jobs."""
    manager = svc.connect(svc.logon(svc.local_system).token)
    added: list[tuple[int, str]] = []
    own: dict[str, str] = {}
    cancelled: set[str] = set()
    errors: Counter[str] = Counter()
    start.wait()
    for i in range(ROUNDS):
        try:
            shared = manager.get_job(shared_ids[i % SHARED])
            local = f"C:\\d\\{tag}-{i}.bin"
            shared.add_file("http://server/a", local)
            added.append((i % SHARED, local))
            name = f"{tag}-own-{i}"
            _, job = manager.create_job(name, JobType.DOWNLOAD)
            job.add_file("http://server/a", f"C:\\d\\{name}.bin")
            job.set_description(f"{tag} round {i}")
            own[name] = f"{tag} round {i}"
            if i % 3 == 0 or i < ROUNDS - 10:  # stay below the 300-jobs-per-machine quota
                job.cancel()
                cancelled.add(name)
            # A state method on a job another thread may be adding to: allowed in any non-final state.
            shared.suspend()
        except BitsError as exc:
            errors[exc.name] += 1
    log[tag] = {"added": added, "own": own, "cancelled": cancelled, "errors": errors}


def test_eight_threads_one_service_no_lost_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "threads.db"
    log: dict[str, Any] = {}
    failures: list[BaseException] = []
    with BitsService(database=path, clock=ManualClock()) as svc:
        svc.filesystem.drive_root = tmp_path / "drives"
        svc.filesystem.makedirs("C:\\d")
        system = svc.connect(svc.logon(svc.local_system).token)
        shared_ids = [system.create_job(f"shared-{n}", JobType.DOWNLOAD)[0] for n in range(SHARED)]
        start = threading.Barrier(THREADS)

        def run(tag: str) -> None:
            try:
                _worker(svc, tag, shared_ids, log, start)
            except BaseException as exc:  # reported below: anything but a BitsError is a failure
                failures.append(exc)

        threads = [threading.Thread(target=run, args=(f"t{n}",)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert all(sum(e["errors"].values()) == 0 for e in log.values()), {k: v["errors"] for k, v in log.items()}
        # no lost update: every acknowledged append is there, positions dense
        for n, job_id in enumerate(shared_ids):
            names = [f.get_local_name() for f in system.get_job(job_id).enum_files()]
            expected = {local for entry in log.values() for s, local in entry["added"] if s == n}
            assert sorted(names) == sorted(expected) and len(names) == len(expected)
            assert system.get_job(job_id).get_state() is JobState.SUSPENDED
        live = {j.get_display_name(): j for j in system.enum_jobs()}
        for entry in log.values():
            for name, description in entry["own"].items():
                if name in entry["cancelled"]:
                    assert name not in live
                else:
                    assert live[name].get_description() == description
        assert disagreements(svc) == []
    assert integrity(path) == "ok"
    files = _files_of(path)
    for n in range(SHARED):
        assert [p for p, _ in files[f"shared-{n}"]] == list(range(len(files[f"shared-{n}"])))
    with capsys.disabled():
        total = sum(len(e["added"]) + len(e["own"]) * 3 + len(e["cancelled"]) for e in log.values())
        print(f"\n[threads] {THREADS} threads x {ROUNDS} rounds, {total} acknowledged writes, lost updates 0")


_PROCESS = textwrap.dedent(
    """
    import json, sys
    from emulator import BitsError, BitsService, JobType, ManualClock
    path, tag, rounds, shared = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    sys.stdin.readline()  # every process starts when the test says go
    added, own, cancelled, errors = [], {}, [], {}
    with BitsService(database=path, clock=ManualClock()) as svc:
        manager = svc.connect(svc.logon(svc.local_system).token)
        for i in range(rounds):
            try:
                job = manager.get_job(shared[i % len(shared)])
                local = f"C:\\\\d\\\\{tag}-{i}.bin"
                job.add_file("http://server/a", local)
                added.append(local)
                name = f"{tag}-own-{i}"
                _, mine = manager.create_job(name, JobType.DOWNLOAD)
                mine.set_description(f"{tag} round {i}")
                own[name] = f"{tag} round {i}"
                if i % 3 == 0 or i < rounds - 10:  # stay below the machine quota
                    mine.cancel()
                    cancelled.append(name)
            except BitsError as exc:
                errors[exc.name] = errors.get(exc.name, 0) + 1
    print(json.dumps({"added": added, "own": own, "cancelled": cancelled, "errors": errors}))
    """
)


def test_four_processes_one_store_no_lost_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "processes.db"
    with BitsService(database=path, clock=ManualClock()) as svc:
        system = svc.connect(svc.logon(svc.local_system).token)
        shared_ids = [str(system.create_job(f"shared-{n}", JobType.DOWNLOAD)[0]) for n in range(SHARED)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, str(path), f"p{n}", str(ROUNDS), json.dumps(shared_ids)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=300) for p in procs]
    logs = []
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        logs.append(json.loads(out))
    assert all(not entry["errors"] for entry in logs), [entry["errors"] for entry in logs]
    assert integrity(path) == "ok"
    files = _files_of(path)
    stored_shared = sorted(local for n in range(SHARED) for _, local in files[f"shared-{n}"])
    assert stored_shared == sorted(local for entry in logs for local in entry["added"])  # no lost update
    for n in range(SHARED):
        assert [p for p, _ in files[f"shared-{n}"]] == list(range(len(files[f"shared-{n}"])))
    conn = sqlite3.connect(path)
    try:
        descriptions = dict(conn.execute("SELECT display_name, description FROM jobs"))
    finally:
        conn.close()
    for entry in logs:
        for name, description in entry["own"].items():
            if name in entry["cancelled"]:
                assert name not in descriptions
            else:
                assert descriptions[name] == description
    # a fresh service on the store agrees with it
    with BitsService(database=path, clock=ManualClock()) as svc:
        assert disagreements(svc) == []
    with capsys.disabled():
        print(
            f"\n[processes] {PROCESSES} processes x {ROUNDS} rounds on one store, "
            f"{len(stored_shared)} shared appends, lost updates 0"
        )


def test_files_added_by_another_service_after_the_catch_up_do_not_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the 4-process test (issue 11): another service's AddFile committed between this call's
    catch-up and its write transaction made the file positions collide (StoreError, UNIQUE constraint
    failed: files.job_id, files.position). The race is made certain with a seam: the first service's
    catch-up sees nothing of the second's file. Emulator guarantee (no lost update, README "several
    services, one file store"): both files are kept, at positions 0 and 1."""
    path = tmp_path / "race.db"
    with BitsService(database=path, clock=ManualClock()) as first, BitsService(
        database=path, clock=ManualClock()
    ) as second:
        token = first.logon(first.local_system).token
        job_id, job = first.connect(token).create_job("shared", JobType.DOWNLOAD)
        theirs = second.connect(second.logon(second.local_system).token).get_job(job_id)
        monkeypatch.setattr(first.queue, "refresh", lambda: None)  # the other commit lands after it
        theirs.add_file("http://server/a", "C:\\d\\second.bin")
        job.add_file("http://server/a", "C:\\d\\first.bin")
        monkeypatch.undo()
        files = _files_of(path)["shared"]
        assert files == [(0, "C:\\d\\second.bin"), (1, "C:\\d\\first.bin")]
        assert [f.get_local_name() for f in job.enum_files()] == ["C:\\d\\second.bin", "C:\\d\\first.bin"]
        theirs.get_state()  # the second service takes in the first one's commit at its next call
        assert disagreements(first) == [] and disagreements(second) == []


def test_a_second_service_on_a_shared_store_leaves_the_first_ones_helper_token_rows(tmp_path: Path) -> None:
    """Emulator guarantee: every change is written through to the store, so memory and rows agree (README
    "Design"). Found by the machinery (issue 11): a second service opening the store cleared every
    helper-token column. Now a service that finds the store held by a live one attaches to that running
    service (store/database.py StoreHold): no restart, the tokens stay; the last one out lets the next
    opener start afresh."""
    imp = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
    path = tmp_path / "shared.db"
    with BitsService(database=path, clock=ManualClock()) as first:
        _, job = first.connect(blanket=imp).create_job("a", JobType.DOWNLOAD)
        options = job.query_interface(IBitsTokenOptions)
        options.set_helper_token()
        assert disagreements(first) == []
        with BitsService(database=path, clock=ManualClock()):
            assert options.get_helper_token_sid() == first.current_session.token.user_sid
            assert disagreements(first) == []
    with BitsService(database=path, clock=ManualClock()) as again:  # nobody holds the store: a BITS start
        (rec,) = again.queue.all_jobs()
        assert rec.helper is None and disagreements(again) == []
