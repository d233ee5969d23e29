"""The migrations work from an installed wheel, not only from a checkout (issue 2 "Project")."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import emulator
    from emulator import BitsService, JobType
    from emulator.store import database

    path = Path(sys.argv[1])
    with BitsService(database=str(path)) as svc:
        job_id, job = svc.connect().create_job("from the wheel", JobType.DOWNLOAD)
        job.set_description("installed")
    with BitsService(database=str(path)) as svc:
        job = svc.connect().get_job(job_id)
        assert job.get_display_name() == "from the wheel", job.get_display_name()
        assert job.get_description() == "installed"
    site = Path(emulator.__file__).resolve().parent.parent
    mig = database.migrations_dir().resolve()
    assert "site-packages" in str(mig), mig
    assert mig == site / "emulator" / "migrations", (mig, site)
    assert (mig / "env.py").is_file() and any((mig / "versions").glob("0001_*.py"))
    import emulator.migrations
    assert Path(emulator.migrations.__file__).resolve().is_relative_to(site)
    # The bundled scenarios ship inside the emulator package, so `bits-emulator demo` runs from the wheel.
    from emulator.scenarios import bundled_dir
    from emulator.cli import demo
    assert bundled_dir().resolve() == site / "emulator" / "fixtures", bundled_dir()
    assert any(bundled_dir().glob("scenario_*.toml"))
    out = " ".join(demo())
    assert "pre-1607" in out and "post-1607" in out and "all 3 runs passed" in out, out
    print("OK", mig)
    """
)


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
def test_wheel_installs_and_opens_a_file_store_issue_2(tmp_path: Path) -> None:
    """Issue 2: build the wheel, install it in a fresh venv, open a file store — the Alembic revisions
    ship inside the wheel as ``emulator.migrations``."""
    # Build from a copy so the build leaves no build/ or egg-info behind in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("emulator", "migrations", "fixtures"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("bits_emulator-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)])
    script = tmp_path / "check.py"
    script.write_text(SCRIPT)
    out = _run([str(py), "-I", str(script), str(tmp_path / "store.db")], cwd=tmp_path)
    assert out.startswith("OK")
    # The console scripts are installed: bitsadmin on PATH of the venv, over a store in tmp_path.
    env = {"PATH": str(venv / "bin"), "BITS_EMULATOR_STORE": str(tmp_path / "cli.db"), "BITS_EMULATOR_USER": "ci"}
    version = subprocess.run([str(venv / "bin" / "bitsadmin"), "/util", "/version"], env=env, capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    assert (version.returncode, version.stdout) == (0, "10.3\n"), version.stderr
