"""Helper-token costs (issue 3), each printed as a ratio against a baseline measured in the same run.

1. Logoff purge of one session's tokens with 1,000 and with 100,000 jobs in the store, 1,000 logon sessions
   supplying tokens. The purged session supplied the same number of tokens in both stores, so the ratio
   shows what the queue's size adds. Target: the 100,000-job purge costs at most 2x the 1,000-job purge.
2. SetHelperToken (QI view, impersonation, decision table, write-through) against a raw sqlite3 UPDATE
   of the same helper-token columns, committed, on an in-memory database with the same schema.

    python benchmarks/bench_tokens.py           # full run
    python benchmarks/bench_tokens.py --quick   # smoke run (small sizes) used by the test suite
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import time
import uuid

from sqlalchemy import create_engine
from sqlalchemy.schema import CreateIndex, CreateTable

from emulator import AccessToken, BitsService, Blanket, Cloaking, IBitsTokenOptions, ImpersonationLevel, JobType
from emulator.domain.records import HelperToken
from emulator.store.schema import JOBS, Base

IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
SESSIONS = 1_000
TOKENS_PER_PURGED_SESSION = 10
PROBES = 41  # sessions logged off one by one; the first is a warm-up (statement preparation)


def build(jobs: int, sessions: int) -> tuple[BitsService, list[int]]:
    """A store of ``jobs`` NetworkService jobs whose helper tokens come from ``sessions`` user sessions.

    Set-up goes through the queue (one transaction), not the COM face, so that 100,000 jobs take seconds;
    what is measured afterwards is the public ``svc.logoff``.
    """
    svc = BitsService("post-1607")
    owner = svc.logon(svc.network_service).token
    users = [svc.logon(svc.add_user(f"u{i}")) for i in range(sessions)]
    probes = users[:PROBES]
    with svc.queue.batch():
        for i in range(jobs):
            rec = svc.queue.create(f"j{i}", JobType.DOWNLOAD, owner)
            if i < len(probes) * TOKENS_PER_PURGED_SESSION:
                session = probes[i // TOKENS_PER_PURGED_SESSION]
            else:
                session = users[len(probes) + i % (sessions - len(probes))]
            svc.queue.update(rec, touch=False, helper=HelperToken(session.token, session.id), helper_flags=1)
    return svc, [s.id for s in probes]


def time_purges(sizes: tuple[int, ...], sessions: int) -> list[float]:
    """Median logoff cost per store size. Both stores are built first and their logoffs interleaved, so
    that process warm-up (allocator, caches) weighs on every size alike."""
    built = [build(jobs, sessions) for jobs in sizes]
    samples: list[list[float]] = [[] for _ in sizes]
    for probe in range(PROBES):
        for k, (svc, probe_ids) in enumerate(built):
            session = svc.directory.sessions[probe_ids[probe]]
            t0 = time.perf_counter()
            svc.logoff(session)
            samples[k].append(time.perf_counter() - t0)
    for svc, _ in built:
        svc.close()
    return [statistics.median(s[1:]) for s in samples]


def raw_schema() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    dialect = create_engine("sqlite://").dialect
    for table in Base.metadata.sorted_tables:
        conn.execute(str(CreateTable(table).compile(dialect=dialect)))
        for index in table.indexes:
            conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
    return conn


def time_raw_update(token: AccessToken, n: int) -> float:
    conn = raw_schema()
    job_id = str(uuid.uuid4())
    cols = [c.name for c in JOBS.columns]
    values: list[object] = []
    for c in JOBS.columns:
        values.append(job_id if c.name == "id" else (0 if not c.nullable else None))
    conn.execute(f"INSERT INTO jobs ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", values)
    groups = json.dumps([[g.sid, int(g.attributes)] for g in token.groups])
    sql = (
        "UPDATE jobs SET helper_sid=?, helper_groups=?, helper_elevation=?, helper_integrity=?, "
        "helper_session_id=?, modified_at=?, last_activity_at=? WHERE id=?"
    )
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            now = time.time()
            conn.execute("BEGIN")
            conn.execute(
                sql,
                (
                    token.user_sid,
                    groups,
                    int(token.elevation_type),
                    int(token.integrity),
                    token.logon_session_id,
                    now,
                    now,
                    job_id,
                ),
            )
            conn.execute("COMMIT")
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def time_set_helper_token(n: int) -> tuple[float, AccessToken]:
    svc = BitsService("post-1607")
    helper = svc.logon(svc.add_user("helper")).token
    _, job = svc.connect(blanket=IMP).create_job("job", JobType.DOWNLOAD)
    opts = job.query_interface(IBitsTokenOptions)
    best = float("inf")
    with svc.impersonate(helper):
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                opts.set_helper_token()
            best = min(best, (time.perf_counter() - t0) / n)
    svc.close()
    return best, helper


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    small, large = (500, 2_000) if quick else (1_000, 100_000)
    sessions = 50 if quick else SESSIONS
    n = 200 if quick else 5_000

    t_small, t_large = time_purges((small, large), sessions)
    print(f"logoff purge, {TOKENS_PER_PURGED_SESSION} tokens of one of {sessions} sessions:")
    print(f"  {small:>7,} jobs: {t_small * 1e6:9.1f} us")
    print(f"  {large:>7,} jobs: {t_large * 1e6:9.1f} us")
    ratio = t_large / t_small
    print(f"  ratio {large:,}/{small:,} = {ratio:.2f}  (target <= 2.0: {'met' if ratio <= 2.0 else 'MISSED'})")

    t_set, helper = time_set_helper_token(n)
    t_raw = time_raw_update(helper, n)
    print("SetHelperToken round trip vs raw sqlite3 UPDATE of the helper columns (+ commit):")
    print(f"  emulator {t_set * 1e6:7.2f} us   raw {t_raw * 1e6:7.2f} us   ratio {t_set / t_raw:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
