"""pywin32's own BITS scripts, run unmodified against the emulator (issue 9 acceptance).

The scripts come from the pywin32 312 Windows wheel, downloaded once with pip into the user's cache
(never into the repository) and read from the wheel at test time; without the wheel (no network, no pip)
these tests are skipped with the reason. The wheel's ``bits.pyd`` also tells which names the real
``bits`` module has.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import BitsService, JobType, ManualClock
from emulator.compat.pywin32 import installed

WHEEL_GLOB = "pywin32-312-*win_amd64.whl"
SCRIPTS = ("win32comext/bits/test/test_bits.py", "win32comext/bits/test/show_all_jobs.py")
BITS_PYD = "win32comext/bits/bits.pyd"
FAVICON = "https://www.python.org/favicon.ico"
ICON = bytes.fromhex("00000100010010100000010020006804") + bytes(range(256)) * 4


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bits-emulator" / "pywin32-312"


def _wheel() -> Path:
    cache = _cache_dir()
    found = sorted(cache.glob(WHEEL_GLOB))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "pywin32==312", "--platform", "win_amd64",
        "--python-version", "3.12", "--only-binary=:all:", "--no-deps", "-d", str(cache),
    ]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot download the pywin32 312 wheel: {exc}")
    found = sorted(cache.glob(WHEEL_GLOB))
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"cannot download the pywin32 312 wheel (pip exit {done.returncode}): {tail[0]}")
    return found[0]


@pytest.fixture(scope="module")
def wheel() -> Iterator[dict[str, Path | bytes]]:
    """The two scripts (extracted next to the cached wheel) and bits.pyd's bytes."""
    path = _wheel()
    out = path.parent / "extracted"
    files: dict[str, Path | bytes] = {}
    with zipfile.ZipFile(path) as zf:
        for name in SCRIPTS:
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(name))
            files[name] = target
        files[BITS_PYD] = zf.read(BITS_PYD)
    yield files


def _script(wheel: dict[str, Path | bytes], name: str) -> str:
    path = wheel[name]
    assert isinstance(path, Path)
    return str(path)


def _bounded_waits(layer: Any, monkeypatch: pytest.MonkeyPatch, limit: int = 1000) -> None:
    """The script loops until its callback sets an event: a regression must fail, not hang."""
    calls = 0
    real = layer.process.msg_wait

    def msg_wait(*args: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > limit:
            raise AssertionError(f"the script's message loop waited {limit} times without finishing")
        return int(real(*args))

    monkeypatch.setattr(layer.process, "msg_wait", msg_wait)


@pytest.mark.parametrize("where", ["posix-temp", "windows-temp"])
@pytest.mark.parametrize("clock", ["manual", "system"])
def test_test_bits_script_runs_unmodified(
    wheel: dict[str, Path | bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
    clock: str,
) -> None:
    """pywin32's test_bits.py: the 404 of missing-favicon.ico reaches JobError (context REMOTE_FILE,
    BG_E_HTTP_ERROR_404 unsigned), the callback repoints the file with SetRemoteName and resumes,
    JobTransferred completes the job and stops the message loop; both files hold the icon."""
    with BitsService(clock=ManualClock() if clock == "manual" else None) as svc:
        svc.network.register(FAVICON, ICON)  # missing-favicon.ico, same host: 404
        svc.filesystem.drive_root = tmp_path / "drives"
        if where == "windows-temp":
            # On Windows tempfile.gettempdir() is the user's Temp folder: a drive path in the sandbox.
            temp = r"C:\Users\User\AppData\Local\Temp"
            svc.filesystem.makedirs(temp)
        else:
            temp = str(tmp_path / "Temp")
            os.mkdir(temp)
        monkeypatch.setattr(tempfile, "tempdir", temp)
        with installed(svc) as layer:
            _bounded_waits(layer, monkeypatch)
            runpy.run_path(_script(wheel, SCRIPTS[0]), run_name="__main__")
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert "Downloading https://www.python.org/missing-favicon.ico" in lines
        assert "While downloading https://www.python.org/missing-favicon.ico" in lines
        assert "Context=0x5, hresult=0x80190194 ()" in lines  # FormatMessage knows no BITS text
        assert "Changing to point to correct file" in lines
        assert (
            "Changing RemoteName from https://www.python.org/missing-favicon.ico to "
            "https://www.python.org/favicon.ico" in lines
        )
        transferred = [line for line in lines if line.startswith("Job Transferred ")]
        assert len(transferred) == 1
        assert re.fullmatch(
            r"Job Transferred <PyIBackgroundCopyJob at 0x[0-9A-F]+ with obj at 0x[0-9A-F]+>", transferred[0]
        )
        assert out.index("Changing RemoteName") < out.index("Job Transferred")
        for name in ("bits-favicon.ico", "bits-missing-favicon.ico"):
            local = os.path.join(temp, name)
            assert svc.filesystem.host_path(local).read_bytes() == ICON
        assert svc.connect().enum_jobs(0).get_count() == 0  # completed: gone from the queue


def test_show_all_jobs_standard_user_falls_back_to_her_jobs(
    wheel: dict[str, Path | bytes], svc: BitsService, capsys: pytest.CaptureFixture[str]
) -> None:
    """EnumJobs(BG_JOB_ENUM_ALL_USERS) needs an administrator: com_error E_ACCESSDENIED, which the
    script catches as pythoncom.error before listing the user's own jobs (enumjobs page)."""
    alice = svc.logon(svc.add_user("alice"))
    _, mine = svc.connect().create_job("mine", JobType.DOWNLOAD)
    mine.add_file("http://server/a.bin", "/nowhere/a.bin")
    svc.connect(alice.token).create_job("alices", JobType.UPLOAD)
    with installed(svc):
        runpy.run_path(_script(wheel, SCRIPTS[1]), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Failed to get jobs for all users - trying for current user"
    assert "Job: mine" in lines and "Job: alices" not in lines
    assert "State: SUSPENDED" in lines and "Type: DOWNLOAD" in lines
    assert "Created/Modified/Finished times: " in "\n".join(lines)
    assert any(line.endswith(", 'None']") for line in lines)  # no transfer completion time yet
    assert "Bytes: 0 complete of -1 total" in lines  # BG_SIZE_UNKNOWN through PyLong_FromLongLong
    assert "  Remote: http://server/a.bin" in lines


def test_show_all_jobs_elevated_administrator_lists_everyones(
    wheel: dict[str, Path | bytes], svc: BitsService, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = svc.logon(svc.add_user("bob", admin=True))
    alice = svc.logon(svc.add_user("alice"))
    svc.connect().create_job("users", JobType.DOWNLOAD)
    svc.connect(alice.token).create_job("alices", JobType.UPLOAD)
    with installed(svc, admin.elevated_token):
        runpy.run_path(_script(wheel, SCRIPTS[1]), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert "Failed to get jobs for all users - trying for current user" not in lines
    assert {"Job: users", "Job: alices"} <= set(lines)
    assert "Type: UPLOAD" in lines
    assert f"Owner: {alice.token.user_sid}" in lines


def _pyd_names(pyd: bytes) -> set[str]:
    found = re.findall(rb"(?<![A-Za-z0-9_])((?:BG|IID|CLSID)_[A-Za-z0-9_]+)(?![A-Za-z0-9_])", pyd)
    return {name.decode() for name in found}


def test_bits_module_names_are_those_of_the_wheels_bits_pyd(wheel: dict[str, Path | bytes], svc: BitsService) -> None:
    """Every BG_*, IID_* and CLSID_* string of pywin32 312's bits.pyd, and no other such name."""
    pyd = wheel[BITS_PYD]
    assert isinstance(pyd, bytes)
    with installed(svc) as layer:
        bits = layer.modules["win32comext.bits.bits"]
        ours = {name for name in vars(bits) if name.startswith(("BG_", "IID_", "CLSID_"))}
    assert ours == _pyd_names(pyd)
    assert b"A module, encapsulating the Background Intelligent Transfer Service (bits)" in pyd


def test_wrapper_types_and_methods_are_those_of_the_wheels_bits_pyd(
    wheel: dict[str, Path | bytes], svc: BitsService
) -> None:
    """The type names and every PascalCase method of the layer's BITS wrappers appear in bits.pyd's
    method tables (QueryInterface comes from PyIUnknown in pythoncom)."""
    from emulator.compat.pywin32 import _wrappers as w

    pyd = wheel[BITS_PYD]
    assert isinstance(pyd, bytes)
    strings = set(re.findall(rb"[A-Za-z][A-Za-z0-9]{2,}", pyd))
    for cls in w.WRAPPER_TYPES:
        if not cls.__name__.startswith(("PyIBackgroundCopy", "PyIEnumBackgroundCopy")):
            continue
        assert cls.__name__.encode() in strings
        methods = {n for n in dir(cls) if n[0].isupper() and callable(getattr(cls, n))} - {
            "QueryInterface",
            "IID",
            "ITEM",
        }
        assert methods and all(m.encode() in strings for m in methods), cls.__name__
