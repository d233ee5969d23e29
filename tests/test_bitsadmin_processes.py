"""bitsadmin and bits-emulator as real processes: several on one store, a closed pipe, --version,
``python -m emulator``, and the store inspection subcommands."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

GUID = r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BITS_EMULATOR_") and k != "COLUMNS"}
    env.update({"BITS_EMULATOR_STORE": str(tmp_path / "bits.db"), "BITS_EMULATOR_USER": "alice", **extra})
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_python_m_emulator_bitsadmin_create_then_list(tmp_path: Path) -> None:
    """``python -m emulator bitsadmin …`` in two processes shares one persistent queue."""
    env = _env(tmp_path)
    created = _run(["bitsadmin", "/create", "myDownloadJob"], env)
    assert created.returncode == 0, created.stderr
    guid = re.fullmatch(rf"Created job ({GUID})\.\n", created.stdout)
    assert guid, created.stdout
    listed = _run(["bitsadmin", "/list"], env)
    assert (listed.returncode, listed.stdout) == (
        0,
        f"{guid.group(1)} myDownloadJob SUSPENDED 0 / 0 0 / 0\n\nListed 1 job(s).\n",
    )
    assert listed.stderr == ""


def test_version_and_help_have_no_rest_markup(tmp_path: Path) -> None:
    from emulator import __version__

    version = _run(["--version"], _env(tmp_path))
    assert (version.returncode, version.stdout) == (0, f"bits-emulator {__version__}\n")
    helptext = _run(["--help"], _env(tmp_path))
    assert helptext.returncode == 0
    assert "``" not in helptext.stdout and ":func:" not in helptext.stdout
    for command in ("demo", "coverage", "bitsadmin", "list", "info", "logoff"):
        assert command in helptext.stdout


def test_closed_pipe_gives_no_traceback(tmp_path: Path) -> None:
    """``bits-emulator coverage | head -1``: the reader goes away; the writer stops without a traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "coverage"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the pipe's reader is gone, as after `| head -1`
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait(timeout=120)
    assert first.startswith(b"#")
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_inspection_subcommands_and_logoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``bits-emulator list|info --store PATH`` read any user's jobs; ``logoff --as NAME`` ends the
    account's command-line session (in-process: the subcommands, not process start-up, are tested)."""
    from emulator.cli import main

    for key, value in _env(tmp_path).items():
        if key.startswith("BITS_EMULATOR_"):
            monkeypatch.setenv(key, value)
    store = str(tmp_path / "bits.db")
    assert main(["bitsadmin", "/create", "nightly"]) == 0
    guid = capsys.readouterr().out.split()[2].rstrip(".")
    monkeypatch.delenv("BITS_EMULATOR_STORE")
    assert main(["list", "--store", store]) == 0
    assert capsys.readouterr().out == f"{guid} nightly SUSPENDED 0 / 0 0 / 0 EMULATOR\\alice\n\nListed 1 job(s).\n"
    assert main(["info", "--store", store, "nightly"]) == 0
    assert capsys.readouterr().out.startswith(f"GUID: {guid} DISPLAY: nightly\n")
    assert main(["logoff", "--store", store, "--as", "alice"]) == 0
    assert re.fullmatch(r"Logged off EMULATOR\\alice \(logon session 0x[0-9a-f]+\)\.\n", capsys.readouterr().out)
    assert main(["logoff", "--store", store, "--as", "nobody"]) == 1
    assert "no account named 'nobody'" in capsys.readouterr().out
    assert main(["info", "--store", store, "nothere"]) == 1
    assert capsys.readouterr().out == "Unable to find job - 0x80200001. The requested job was not found.\n"


WORKER = """
import io, sys
from emulator.compat.bitsadmin import main
worker = sys.argv[1]
for i in range(int(sys.argv[2])):
    out = io.StringIO()
    status = main(["/create", f"w{worker}-{i}"], stdout=out)
    if status != 0 or not out.getvalue().startswith("Created job {"):
        print(f"invocation {i} of worker {worker} failed: {status} {out.getvalue()!r}", file=sys.stderr)
        sys.exit(1)
"""


def test_eight_processes_fifty_creates_each_on_one_store(tmp_path: Path) -> None:
    """Issue 10: 8 processes × 50 /create on one store lose no update and never fail. Each process runs
    its 50 bitsadmin invocations through ``main`` (a new service on the store per invocation, as a new
    bitsadmin process would open it) so the test does not pay 400 interpreter start-ups."""
    # An elevated administrator: the group-policy quotas (60 jobs per user, 300 per machine) do not
    # apply to administrators, and 400 jobs is the point here.
    env = _env(tmp_path, BITS_EMULATOR_USER="admin", BITS_EMULATOR_ELEVATED="1")
    # No store and no account yet: the eight processes race to create both, then the jobs.
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(w), "50"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    failures = []
    for proc in workers:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            failures.append(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}")
    assert not failures, failures
    with sqlite3.connect(tmp_path / "bits.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {row[0] for row in db.execute("SELECT display_name FROM jobs")}
    db.close()
    assert names == {f"w{w}-{i}" for w in range(8) for i in range(50)}
