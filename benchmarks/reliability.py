"""The figures of the "Reliability" table in benchmarks/RESULTS.md (issue 11).

    .venv/bin/python benchmarks/reliability.py            # full sizes: runs the reliability tests with
                                                          # BITS_MACHINERY=full, then the measurements below
    .venv/bin/python benchmarks/reliability.py --no-tests # only the measurements below (seconds)

The tests (tests/test_fuzz.py, test_state_machine.py, test_concurrency.py, test_crash_loop.py) print their
counts as ``[name] ...`` lines; this script shows those lines, then measures what no test counts:
helper-token and password copies left in the database, WAL and journals after purges, and the bytes kept
per finished job over 2,000 job lives. The sandbox-escape figure is the 300-race test of
tests/test_robust_sandbox.py (it asserts 0 escapes; this script runs it and reports its result).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import tracemalloc
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from emulator import (
    AuthScheme,
    AuthTarget,
    BitsService,
    Blanket,
    Cloaking,
    IBitsTokenOptions,
    ImpersonationLevel,
    JobType,
    ManualClock,
)

ROOT = Path(__file__).resolve().parent.parent
IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
PASSWORD = "hunter2-\u00e9t\u00e9-s3cr3t"


def _disk(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith("q.db") and p.is_file())


def _forms(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), json.dumps(text).encode()]


def secrets_after_purge(rounds: int = 50) -> tuple[int, int, int]:
    """Helper tokens set from ``rounds`` sessions, each purged by its logoff, and passwords set then
    removed: copies of the purged logon SIDs and of the passwords found in db + WAL + journal while the
    service is open. Returns (tokens purged, token copies, password copies)."""
    token_copies = password_copies = 0
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with BitsService("post-1607", directory / "q.db", clock=ManualClock()) as svc:
            manager = svc.connect(blanket=IMP)
            for n in range(rounds):
                session = svc.logon(svc.add_user(f"helper{n}"))
                _, job = manager.create_job(f"job{n}", JobType.DOWNLOAD)
                options = job.query_interface(IBitsTokenOptions)
                with svc.impersonate(session.token):
                    options.set_helper_token()
                secret = f"{PASSWORD}-{n}"
                job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "user", secret)
                logon_sid = next(g.sid for g in session.token.groups if g.sid.startswith("S-1-5-5-"))
                svc.logoff(session)
                job.remove_credentials(AuthTarget.SERVER, AuthScheme.BASIC)
                disk = _disk(directory)
                token_copies += sum(disk.count(f) for f in _forms(logon_sid))
                password_copies += sum(disk.count(f) for f in _forms(secret))
                job.cancel()
    return rounds, token_copies, password_copies


def bytes_per_finished_job(n: int = 2000) -> float:
    """As tests/test_engine.py: create, add, resume, transfer, complete; tracemalloc over ``n`` lives."""
    with tempfile.TemporaryDirectory() as tmp, BitsService(clock=ManualClock()) as svc:
        svc.filesystem.drive_root = Path(tmp) / "drives"
        svc.network.register("http://server/a", b"a" * 10)
        svc.filesystem.makedirs("C:\\d")
        manager = svc.connect()
        # The call history and the request log, where the service has them, are ring buffers bounded by
        # design (10,000 records); shrunk so that the warm-up fills them and what is measured is growth
        # beyond them, as tests/test_engine.py does.
        if hasattr(svc, "history"):
            svc.history.limit = 32
        if hasattr(svc.network, "requests"):
            svc.network.requests = deque(maxlen=32)

        def life() -> None:
            _, job = manager.create_job("life", JobType.DOWNLOAD)
            job.add_file("http://server/a", "C:\\d\\a")
            job.resume()
            svc.run_until_idle()
            job.complete()

        for _ in range(200):
            life()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(n):
            life()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / n


def _pytest(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tests", action="store_true", help="skip the full-size test runs")
    opts = parser.parse_args()
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, {os.cpu_count()} CPUs")
    status = 0
    if not opts.no_tests:
        env = {**os.environ, "BITS_MACHINERY": "full"}
        files = [
            "tests/test_fuzz.py",
            "tests/test_state_machine.py",
            "tests/test_concurrency.py",
            "tests/test_crash_loop.py",
        ]
        run = _pytest(files, env)
        for line in run.stdout.splitlines():
            if line.startswith("[") or line.startswith("  "):
                print(line)
        print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:])
        status |= run.returncode
    race = _pytest(["tests/test_robust_sandbox.py", "-k", "rename_race_300"], dict(os.environ))
    print(f"[sandbox] 300 rename races: {'0 escapes (test passed)' if race.returncode == 0 else 'FAILED'}")
    status |= race.returncode
    purged, tokens, passwords = secrets_after_purge()
    print(f"[secrets] {purged} helper tokens purged by logoff, {purged} passwords removed: "
          f"{tokens} token copies, {passwords} password copies on disk (db + WAL + journal)")
    print(f"[memory] bytes kept per finished job over 2,000 lives: {bytes_per_finished_job():.1f}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
