"""The local file system sandbox (docs/design.md#transfers, docs/reference/states.md#files,
docs/reference/limits.md#names): Windows paths map under a
drive root, nothing escapes it, and a refused name writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator import BitsError, BitsService, Job, JobState, JobType

E_INVALIDARG = 0x80070057
E_ACCESSDENIED = 0x80070005


pytestmark = pytest.mark.svc(clock="manual", sandbox=True)


def new_job(svc: BitsService) -> Job:
    return svc.connect().create_job("job", JobType.DOWNLOAD)[1]


def test_drive_paths_map_under_the_drive_root(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"mapped")
    svc.filesystem.makedirs("C:\\Users\\alice\\Downloads")
    job = new_job(svc)
    job.add_file("http://server/a", "C:\\Users\\alice\\Downloads\\a.bin")
    job.resume()
    job.complete()
    assert (tmp_path / "drives" / "C" / "Users" / "alice" / "Downloads" / "a.bin").read_bytes() == b"mapped"
    assert next(iter(job.enum_files())).get_local_name() == "C:\\Users\\alice\\Downloads\\a.bin"


@pytest.mark.parametrize(
    "name",
    [
        "C:\\Users\\..\\..\\etc\\passwd",
        "C:\\a\\..\\b.txt",
        "C:\\Users\\.\\a.txt",
        "C:\\Users\\CON",
        "C:\\Users\\nul.txt",
        "C:\\Users\\COM1.log",
        "C:\\Users\\LPT9",
        "\\\\server\\share\\..\\..\\x",
        "/tmp/../etc/passwd",
    ],
)
def test_escapes_and_device_names_are_invalidarg(svc: BitsService, tmp_path: Path, name: str) -> None:
    job = new_job(svc)
    with pytest.raises(BitsError) as e:
        job.add_file("http://server/a", name)
    assert e.value.hresult == E_INVALIDARG
    assert job.get_progress().files_total == 0


@pytest.mark.parametrize("name", ["C:\\Users\\a.txt:stream", "C:\\Users\\a.txt::$DATA", "C:\\dir\\", "relative\\a.txt"])
def test_streams_directories_and_relative_names_are_invalidarg(svc: BitsService, name: str) -> None:
    with pytest.raises(BitsError) as e:
        new_job(svc).add_file("http://server/a", name)
    assert e.value.hresult == E_INVALIDARG


def test_a_symlink_out_of_the_root_is_access_denied(svc: BitsService, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    drive = svc.filesystem.makedirs("C:\\Users")
    os.symlink(outside, drive / "escape")
    job = new_job(svc)
    with pytest.raises(BitsError) as e:
        job.add_file("http://server/a", "C:\\Users\\escape\\x.bin")
    assert e.value.hresult == E_ACCESSDENIED
    assert list(outside.iterdir()) == []


def test_a_link_planted_after_add_file_writes_nothing_outside(svc: BitsService, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    drive = svc.filesystem.makedirs("C:\\Users")
    svc.network.register("http://server/a", b"x")
    job = new_job(svc)
    job.add_file("http://server/a", "C:\\Users\\later\\x.bin")
    os.symlink(outside, drive / "later")
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error()[1] == E_ACCESSDENIED
    assert list(outside.iterdir()) == []


def test_unc_names_map_under_the_unc_root(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"share")
    (tmp_path / "unc" / "fs" / "pub").mkdir(parents=True)
    job = new_job(svc)
    job.add_file("http://server/a", "\\\\fs\\pub\\a.bin")
    job.resume()
    job.complete()
    assert (tmp_path / "unc" / "fs" / "pub" / "a.bin").read_bytes() == b"share"


def test_temporary_file_is_hidden_next_to_the_destination(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    d = svc.filesystem.makedirs("D:\\data")
    job = new_job(svc)
    job.add_file("http://server/a", "D:\\data\\a.bin")
    job.resume()
    svc.advance(3)
    (temp,) = list(d.iterdir())
    assert temp.name.startswith(".BIT") and temp.read_bytes() == b"x" * 30
    assert not (d / "a.bin").exists()


def test_get_temporary_name_and_response_headers(svc: BitsService) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10, headers={"ETag": '"v1"'})
    svc.filesystem.makedirs("D:\\data")
    job = new_job(svc)
    job.add_file("http://server/a", "D:\\data\\a.bin")
    (file,) = list(job.enum_files())
    assert file.get_temporary_name() is None
    job.resume()
    svc.advance(1)
    temp = file.get_temporary_name()
    assert temp is not None and temp.startswith("D:\\data\\.BIT") and temp.endswith(".tmp")
    headers = file.get_property(1)
    assert headers is not None
    assert headers.startswith("HTTP/1.1 200") and "Content-Length: 100" in headers and 'ETag: "v1"' in headers


# Case-insensitive names at any directory size -----------------------------------------------------------


def _lives(svc: BitsService, first: int, count: int) -> None:
    manager = svc.connect()
    for i in range(first, first + count):
        _, job = manager.create_job(f"f{i}", JobType.DOWNLOAD)
        job.add_file("http://server/a", f"C:\\many\\file{i}.bin")
        job.resume()
        svc.run_until_idle()
        job.complete()


def test_a_stream_of_files_into_one_directory_lists_it_a_bounded_number_of_times(
    svc: BitsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call cheap at any size: the case-insensitive match of a new name (Windows naming rules,
    https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file) reads the directory once, then
    keeps its listing current through the sandbox's own creations, renames and deletions — the number of
    directory listings per job does not grow with the files already there (it grew as O(n) per file)."""
    svc.network.register("http://server/a", b"a" * 10)
    svc.filesystem.makedirs("C:\\many")
    listings = 0
    real = os.listdir

    def counting(path: str | os.PathLike[str] = ".") -> list[str]:
        nonlocal listings
        listings += 1
        return real(path)

    monkeypatch.setattr(os, "listdir", counting)
    _lives(svc, 0, 20)
    warm = listings
    _lives(svc, 20, 200)
    assert listings - warm <= 2, listings - warm  # not one per file
    assert len(os.listdir(svc.filesystem.host_path("C:\\many"))) == 220


def test_a_name_made_behind_the_sandboxs_back_is_still_found_up_to_case(svc: BitsService) -> None:
    """The listing is trusted only while the directory's modification time is the one it was read at: a
    file a test (or another program) creates directly is matched case-insensitively by the next call."""
    svc.network.register("http://server/a", b"new")
    svc.filesystem.makedirs("C:\\out")
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    job.add_file("http://server/a", "C:\\out\\first.bin")  # the directory's listing is now known
    host = svc.filesystem.host_path("C:\\out")
    (host / "REPORT.TXT").write_bytes(b"old")
    _, other = svc.connect().create_job("k", JobType.DOWNLOAD)
    other.add_file("http://server/a", "C:\\out\\report.txt")
    other.resume()
    svc.run_until_idle()
    other.complete()
    assert sorted(p.name for p in host.iterdir() if not p.name.startswith(".")) == ["REPORT.TXT"]
    assert (host / "REPORT.TXT").read_bytes() == b"new"  # replaced, as Windows would: one name up to case


def test_the_system_drive_root_exists_in_the_sandbox_the_service_makes() -> None:
    """C:\\ exists on every Windows machine: a download straight into it transfers and completes (emulator
    choice for the sandbox's own drive root; a drive_root the test sets is left as the test made it)."""
    from emulator import BitsService, JobState, JobType, ManualClock

    with BitsService(clock=ManualClock()) as svc:
        svc.network.register("http://server/f", b"root")
        _, job = svc.connect().create_job("root", JobType.DOWNLOAD)
        job.add_file("http://server/f", "C:\\f.bin")
        job.resume()
        assert job.get_state() is JobState.TRANSFERRED
        assert job.complete() == 0
        assert svc.filesystem.host_path("C:\\f.bin").read_bytes() == b"root"


def test_host_errors_map_to_windows_codes_never_to_their_errno_read_as_win32() -> None:
    """One errno → HRESULT mapping for the sandbox and the scheduler (HRESULT_FROM_WIN32 of the Win32 error
    Windows reports; our reading for the host errors). An errno is never taken for a Win32 code: ENAMETOOLONG
    (36) is ERROR_FILENAME_EXCED_RANGE 0x800700CE, not 0x80070024 (ERROR_SHARING_BUFFER_EXCEEDED); what is
    not mapped is access denied. A LocalFileFault's errno gives its own HRESULT back."""
    import errno as e

    from emulator.transfer.localfs import LocalFileFault, fault_from_oserror, os_error_hresult

    expected = {
        e.ENOENT: 0x80070002, e.ENOTDIR: 0x80070003, e.ENOSPC: 0x80070070, e.EDQUOT: 0x80070070,
        e.ENAMETOOLONG: 0x800700CE, e.EBUSY: 0x80070020, e.ETXTBSY: 0x80070020, e.ENOMEM: 0x8007000E,
        e.EACCES: 0x80070005, e.EPERM: 0x80070005, e.EROFS: 0x80070005, e.ELOOP: 0x80070005, e.EIO: 0x80070005,
        e.EEXIST: 0x80070005, e.EISDIR: 0x80070005,
    }
    for code, hresult in expected.items():
        assert os_error_hresult(OSError(code, "x")) == hresult, e.errorcode[code]
        fault = fault_from_oserror(OSError(code, "x"), "what")
        assert fault.hresult == hresult and os_error_hresult(fault) == hresult
    assert LocalFileFault(0x800700CE).errno == e.ENAMETOOLONG
