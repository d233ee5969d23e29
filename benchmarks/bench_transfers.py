"""Transfer costs (issue 4), each printed as a ratio against a baseline measured in the same run.

1. A full download job life — create, add a file of the fake network, resume, transfer, complete, read the
   state — for 1,000 jobs, against raw sqlite3 performing the same writes (insert the job and its file,
   each state change and progress update, delete at Complete, one commit per API call) plus the same
   file-system writes (temporary file, rename). Target: at most 4x.
2. Bytes per second through the file sandbox for a 64 MiB local copy (``file://`` source → temporary
   file → rename on Complete) against ``shutil.copyfile``. Target: at least 0.5x the throughput.

    python benchmarks/bench_transfers.py           # full run
    python benchmarks/bench_transfers.py --quick   # smoke run (small sizes) used by the test suite
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

from emulator import BitsService, JobState, JobType, ManualClock
from emulator.store.database import schema_ddl
from emulator.store.repository import file_columns, job_columns
from emulator.store.schema import FILES, JOBS

CONTENT = b"x" * 4096


def emulator_lives(n: int, root: Path) -> tuple[float, int]:
    svc = BitsService(clock=ManualClock())
    svc.network.register("http://server/file.bin", CONTENT)
    manager = svc.connect()
    statements: list[str] = []
    t0 = time.perf_counter()
    for i in range(n):
        if i == 1:
            svc.store.conn.set_trace_callback(statements.append)
        _, job = manager.create_job("life", JobType.DOWNLOAD)
        job.add_file("http://server/file.bin", str(root / f"emu-{i}.bin"))
        job.resume()
        assert job.get_state() is JobState.TRANSFERRED
        job.complete()
        assert job.get_state() is JobState.ACKNOWLEDGED
        if i == 1:
            svc.store.conn.set_trace_callback(None)
    elapsed = time.perf_counter() - t0
    svc.close()
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    return elapsed, len(writes)


def raw_lives(n: int, root: Path, writes_per_life: int) -> float:
    conn = sqlite3.connect(":memory:")
    for statement in schema_ddl():
        conn.execute(statement)
    conn.commit()
    with BitsService() as svc:
        _, job = svc.connect().create_job("template", JobType.DOWNLOAD)
        job.add_file("http://server/file.bin", "/tmp/template.bin")
        rec = svc.queue.jobs[job.get_id()]
        job_row = job_columns(rec)
        file_row = file_columns(rec.files[0])
    job_names = [c.name for c in JOBS.columns]
    file_names = [c.name for c in FILES.columns]

    def encode(values: dict[str, object], names: list[str]) -> list[object]:
        return [json.dumps(values[k]) if isinstance(values[k], (list, dict)) else values[k] for k in names]

    insert_job = f"INSERT INTO jobs ({','.join(job_names)}) VALUES ({','.join('?' * len(job_names))})"
    insert_file = f"INSERT INTO files ({','.join(file_names)}) VALUES ({','.join('?' * len(file_names))})"
    file_id = 0
    updates = max(0, writes_per_life - 3)  # everything but the two inserts and the delete
    t0 = time.perf_counter()
    for i in range(n):
        job_id = str(uuid.uuid4())
        file_id += 1
        conn.execute(insert_job, encode(dict(job_row, id=job_id), job_names))
        conn.commit()
        conn.execute(insert_file, encode(dict(file_row, id=file_id, job_id=job_id), file_names))
        conn.commit()
        for k in range(updates):
            if k % 2:
                conn.execute("UPDATE files SET bytes_transferred=?, transferred=? WHERE id=?", (k, 1, file_id))
            else:
                conn.execute("UPDATE jobs SET state=?, modified_at=? WHERE id=?", (k % 7, time.time(), job_id))
            conn.commit()
        tmp = root / f".raw-{i}.tmp"
        tmp.write_bytes(CONTENT)
        os.replace(tmp, root / f"raw-{i}.bin")
        conn.execute("DELETE FROM jobs WHERE id=?", (job_id,))
        conn.commit()
        conn.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
    return time.perf_counter() - t0


def copy_through_sandbox(src: Path, dest_dir: Path) -> float:
    svc = BitsService(clock=ManualClock())
    _, job = svc.connect().create_job("copy", JobType.DOWNLOAD)
    job.add_file(src.as_uri(), str(dest_dir / "copy.bin"))
    t0 = time.perf_counter()
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    job.complete()
    elapsed = time.perf_counter() - t0
    svc.close()
    return elapsed


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    n = 50 if quick else 1_000
    size = (4 if quick else 64) * 2**20
    with tempfile.TemporaryDirectory(prefix="bits-bench-") as tmp:
        root = Path(tmp)
        ours, writes = emulator_lives(n, root)
        base = raw_lives(n, root, writes)
        ratio = ours / base
        print(
            f"{n:,} download job lives: {ours * 1e6 / n:8.1f} us per life ({writes} writes) vs raw sqlite3 + "
            f"file writes {base * 1e6 / n:8.1f} us -> ratio {ratio:.2f}  "
            f"(target <= 4: {'met' if ratio <= 4 else 'MISSED'})"
        )

        src = root / "source.bin"
        with open(src, "wb") as fh:
            fh.write(os.urandom(size))
        best_ours = best_base = float("inf")
        for k in range(3):
            d = root / f"dest{k}"
            d.mkdir()
            best_ours = min(best_ours, copy_through_sandbox(src, d))
            t0 = time.perf_counter()
            shutil.copyfile(src, d / "shutil.bin")
            best_base = min(best_base, time.perf_counter() - t0)
            shutil.rmtree(d)
        mib = size / 2**20
        throughput = best_base / best_ours
        print(
            f"{mib:.0f} MiB local copy: {mib / best_ours:8.1f} MiB/s through the sandbox vs shutil.copyfile "
            f"{mib / best_base:8.1f} MiB/s -> ratio {throughput:.2f}  "
            f"(target >= 0.5: {'met' if throughput >= 0.5 else 'MISSED'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
