"""The benchmark scripts stay runnable (smoke mode, tiny sizes); timings are never asserted here.

Complexity is: the statement counts below do not depend on how many jobs the store holds.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from emulator import BitsService, JobType

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_runs_in_quick_mode(
    script: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", [str(script), "--quick"])
    monkeypatch.syspath_prepend(str(script.parent))
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(script), run_name="__main__")
    assert done.value.code == 0
    assert "ratio" in capsys.readouterr().out


def _statements_to_enumerate(others: int) -> list[str]:
    svc = BitsService()
    manager = svc.connect()
    for i in range(3):
        manager.create_job(f"mine {i}", JobType.DOWNLOAD)
    owner = svc.logon(svc.add_user("other")).token
    with svc.queue.batch():
        for i in range(others):
            svc.queue.create(f"other {i}", JobType.DOWNLOAD, owner)
    seen: list[str] = []
    svc.store.conn.set_trace_callback(seen.append)
    assert len(list(manager.enum_jobs())) == 3
    manager.get_job(next(iter(manager.enum_jobs())).get_id()).get_state()
    return seen


def test_reads_and_enumeration_run_no_sql_whatever_the_store_holds() -> None:
    """Issue 2: reads are served from the in-memory records and the owner index (docs/design.md#service)."""
    assert _statements_to_enumerate(0) == _statements_to_enumerate(500) == []
