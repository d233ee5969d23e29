"""benchmarks/reliability.py stays runnable: its own measurements at tiny sizes (the full-size figures are
in benchmarks/RESULTS.md, "Reliability"). No timing is asserted."""

from __future__ import annotations

import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reliability.py"


def test_secrets_and_memory_measurements_run_small() -> None:
    ns = runpy.run_path(str(SCRIPT), run_name="reliability")
    assert ns["secrets_after_purge"](3) == (3, 0, 0)  # 3 purges: no token or password copy on disk
    assert ns["bytes_per_finished_job"](50) < 1024
