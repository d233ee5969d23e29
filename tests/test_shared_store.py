"""One queue, many services: several services (processes) sharing one file store stay coherent (issue 8).

Real BITS has one queue that every client process sees; the emulator's equivalent is a file store opened
by several services at once (a test and the code under test, or many ``bitsadmin`` processes). Each sees
the others' committed changes at its next call; writes never fail with UNIQUE or "database is locked".
These are the emulator's guarantees (docs/ARCHITECTURE.md), not facts of a Microsoft page.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from emulator import BitsService, JobPriority, JobState, JobType, ManualClock


def _pair(path: Path) -> tuple[BitsService, BitsService]:
    first = BitsService(database=path, clock=ManualClock())
    second = BitsService(database=path, clock=ManualClock())
    return first, second


def test_two_services_see_each_others_jobs_and_changes(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    first, second = _pair(path)
    try:
        user = first.account("User")
        other_user = second.account("User")
        assert user.sid == other_user.sid  # the machine's accounts are in the store too
        a_id, a = first.connect().create_job("from first", JobType.DOWNLOAD)
        b_id, b = second.connect().create_job("from second", JobType.DOWNLOAD)
        assert a_id != b_id
        # each sees the other's job at its next call
        seen_by_second = second.connect().get_job(a_id)
        seen_by_first = first.connect().get_job(b_id)
        assert seen_by_second.get_display_name() == "from first"
        assert seen_by_first.get_display_name() == "from second"
        names = {j.get_display_name() for j in first.connect().enum_jobs()}
        assert names == {"from first", "from second"}
        # a change made by one is seen by a pointer the other already holds
        a.set_display_name("renamed")
        a.set_priority(JobPriority.HIGH)
        assert seen_by_second.get_display_name() == "renamed"
        assert seen_by_second.get_priority() is JobPriority.HIGH
        # a job cancelled by one leaves the other's queue
        seen_by_first.cancel()
        assert b.get_state() is JobState.CANCELLED
        assert {j.get_display_name() for j in second.connect().enum_jobs()} == {"renamed"}
    finally:
        first.close()
        second.close()


def test_fifo_numbers_and_file_ids_come_from_the_database(tmp_path: Path) -> None:
    """Today's failure: a second service's create_job failed with UNIQUE constraint failed: jobs.seq."""
    path = tmp_path / "queue.db"
    first, second = _pair(path)
    try:
        first.filesystem.makedirs("C:\\d")
        for i in range(5):
            for svc in (first, second):
                _, job = svc.connect().create_job(f"j{i}", JobType.DOWNLOAD)
                job.add_file("http://server/a", f"C:\\d\\{i}")
        conn = sqlite3.connect(path)
        try:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM jobs ORDER BY seq")]
            ids = [r[0] for r in conn.execute("SELECT id FROM files ORDER BY id")]
        finally:
            conn.close()
        assert seqs == list(range(1, 11))
        assert len(set(ids)) == 10
    finally:
        first.close()
        second.close()


_WORKER = textwrap.dedent(
    """
    import sys
    from emulator import BitsService, JobType
    path, tag = sys.argv[1], sys.argv[2]
    sys.stdin.readline()  # every process starts when the test says go
    with BitsService(database=path) as svc:
        manager = svc.connect(svc.logon(svc.local_system).token)
        for i in range(25):
            manager.create_job(f"{tag}-{i}", JobType.DOWNLOAD)
    print("ok")
    """
)


def test_four_processes_create_a_new_store_and_25_jobs_each(tmp_path: Path) -> None:
    """Issue 8: 4 processes open a store that does not exist yet, at once, and create 25 jobs each: all
    succeed, 100 jobs, PRAGMA integrity_check ok (3 of 4 failed before)."""
    path = tmp_path / "new.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), f"p{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT seq) FROM jobs").fetchone() == (100, 100)
        names = {r[0] for r in conn.execute("SELECT display_name FROM jobs")}
    finally:
        conn.close()
    assert names == {f"p{n}-{i}" for n in range(4) for i in range(25)}
