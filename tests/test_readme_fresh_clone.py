"""Issue 10: the README's first command works from a fresh clone, as a new user types it.

The repository is cloned (committed files only: anything the command needs but git does not hold makes
this fail), and the README's first line of commands runs verbatim in the clone with ``bash``: a fresh
virtual environment, ``pip install -e .`` from the package registry, and ``bits-emulator demo`` on the
embedded SQLite store. The second command is the one CI runs (``.ci/run``, checked by test_docs.py);
running the whole suite again from inside the suite would recurse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _readme_first_command() -> str:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "```sh"
    return lines[3]


@pytest.mark.slow
def test_the_readme_demo_command_works_from_a_fresh_clone(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the fresh clone is CI's own")
    clone = tmp_path / "clone"
    subprocess.run([git, "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120)
    assert not (clone / ".venv").exists()
    command = _readme_first_command()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    proc = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    # What the README promises the demo shows: both rule sets side by side, and a download, on SQLite.
    assert "pre-1607" in out and "post-1607" in out, out
    assert "all 3 runs passed" in out, out
