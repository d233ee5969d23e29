"""The sandbox under races and Windows name rules (issue 11, "The sandbox holds under races").

Facts: Windows names are case-insensitive, drop trailing dots and spaces, and take ``\\`` and ``/`` as
separators (https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file); downloads go to a
temporary renamed by Complete (https://learn.microsoft.com/en-us/windows/win32/bits/life-cycle-of-a-bits-job).
What a symlink swapped in mid-transfer gets (nothing: E_ACCESSDENIED) is the emulator's choice.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator import BitsError, BitsService, ErrorContext, Job, JobState, JobType, ManualClock
from emulator.transfer.localfs import LocalFileFault, LocalFileSystem

E_INVALIDARG = 0x80070057
E_ACCESSDENIED = 0x80070005
ERROR_PATH_NOT_FOUND = 0x80070003
S_OK = 0


pytestmark = pytest.mark.svc(clock="manual", sandbox=True)


def new_job(svc: BitsService, kind: JobType = JobType.DOWNLOAD) -> Job:
    return svc.connect().create_job("job", kind)[1]


def drive(tmp_path: Path, *parts: str) -> Path:
    return tmp_path.joinpath("drives", "C", *parts)


# symlinks swapped in mid-transfer ----------------------------------------------------------------------


def _half_done(svc: BitsService, tmp_path: Path) -> tuple[Job, Path]:
    svc.network.register("http://server/big", b"x" * 1000, rate=100)
    svc.filesystem.makedirs("C:\\out")
    job = new_job(svc)
    job.add_file("http://server/big", "C:\\out\\big.bin")
    job.resume()
    svc.advance(1)
    (temp,) = [p for p in drive(tmp_path, "out").iterdir() if p.name.startswith(".BIT")]
    assert temp.stat().st_size == 100
    return job, temp


def test_a_temporary_swapped_for_a_symlink_gets_no_byte_emulator_choice(svc: BitsService, tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_bytes(b"T" * 2000)
    job, temp = _half_done(svc, tmp_path)
    temp.unlink()
    os.symlink(target, temp)
    svc.advance(5)  # the fault fails the job, not this call
    assert target.read_bytes() == b"T" * 2000
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, E_ACCESSDENIED)
    with pytest.raises(LocalFileFault) as e:
        svc.filesystem.write(temp, 100, b"y" * 10)
    assert e.value.hresult == E_ACCESSDENIED
    assert target.read_bytes() == b"T" * 2000


def test_a_temporary_swapped_for_a_hard_link_gets_no_byte_emulator_choice(svc: BitsService, tmp_path: Path) -> None:
    target = tmp_path / "drives" / "victim"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"T" * 2000)
    _job, temp = _half_done(svc, tmp_path)
    temp.unlink()
    os.link(target, temp)
    with pytest.raises(LocalFileFault) as e:
        svc.filesystem.write(temp, 100, b"y" * 10)
    assert e.value.hresult == E_ACCESSDENIED
    assert target.read_bytes() == b"T" * 2000


def test_a_directory_swapped_for_a_symlink_mid_transfer_gets_no_byte(svc: BitsService, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    job, temp = _half_done(svc, tmp_path)
    # The attacker moves the directory away and leaves a link to a directory outside the root in its place,
    # with a file of the temporary's name there.
    (outside / temp.name).write_bytes(b"T" * 2000)
    os.rename(drive(tmp_path, "out"), drive(tmp_path, "moved"))
    os.symlink(outside, drive(tmp_path, "out"))
    with pytest.raises(BitsError) as e:
        svc.filesystem.write(temp, 100, b"y" * 10)
    assert e.value.hresult == E_ACCESSDENIED
    svc.advance(5)
    assert (outside / temp.name).read_bytes() == b"T" * 2000
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, E_ACCESSDENIED)


def test_complete_rename_race_300_attempts_no_escape(
    svc: BitsService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between Complete's check and its rename the destination directory becomes a symlink out of the
    root, every time (a seam, not a timing race): the rename is relative to the directory descriptor that
    was checked, so the file stays in the sandbox — 0 escapes in 300."""
    outside = tmp_path / "outside"
    outside.mkdir()
    swapped: list[int] = []

    def swap(self: LocalFileSystem, directory_fd: int, temp: str, dest: str) -> None:
        i = len(swapped)
        os.rename(drive(tmp_path, f"d{i}"), drive(tmp_path, f"moved{i}"))
        os.symlink(outside, drive(tmp_path, f"d{i}"))
        swapped.append(i)

    svc.network.register("http://server/a", b"payload")
    monkeypatch.setattr(LocalFileSystem, "_before_rename", swap)
    results = []
    for i in range(300):
        svc.filesystem.makedirs(f"C:\\d{i}")
        job = new_job(svc)
        job.add_file("http://server/a", f"C:\\d{i}\\a.bin")
        job.resume()
        svc.run_until_idle()
        results.append(job.complete())
    assert len(swapped) == 300
    assert results == [S_OK] * 300
    assert list(outside.iterdir()) == []  # 0 escapes
    assert all(drive(tmp_path, f"moved{i}", "a.bin").read_bytes() == b"payload" for i in range(300))


def test_complete_into_a_directory_already_swapped_is_access_denied(svc: BitsService, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    svc.network.register("http://server/a", b"payload")
    svc.filesystem.makedirs("C:\\d")
    job = new_job(svc)
    job.add_file("http://server/a", "C:\\d\\a.bin")
    job.resume()
    svc.run_until_idle()
    os.rename(drive(tmp_path, "d"), drive(tmp_path, "moved"))
    os.symlink(outside, drive(tmp_path, "d"))
    with pytest.raises(BitsError) as e:
        job.complete()
    assert e.value.hresult == E_ACCESSDENIED
    assert job.get_state() is JobState.TRANSFERRED
    assert list(outside.iterdir()) == []


def test_a_symlink_that_stays_inside_the_root_is_followed(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"inside")
    real = svc.filesystem.makedirs("C:\\real")
    os.symlink("real", drive(tmp_path, "alias"))
    job = new_job(svc)
    job.add_file("http://server/a", "C:\\alias\\a.bin")
    job.resume()
    svc.run_until_idle()
    assert job.complete() == S_OK
    assert (real / "a.bin").read_bytes() == b"inside"


# Windows name rules --------------------------------------------------------------------------------------


def _download(svc: BitsService, local: str, body: bytes = b"bytes") -> Job:
    svc.network.register("http://server/n", body)
    job = new_job(svc)
    job.add_file("http://server/n", local)
    job.resume()
    svc.run_until_idle()
    return job


def test_names_are_case_insensitive_below_the_drive_letter(svc: BitsService, tmp_path: Path) -> None:
    svc.filesystem.makedirs("C:\\Out\\Sub")
    job = _download(svc, "c:\\OUT\\sUB\\x.bin")
    assert job.get_state() is JobState.TRANSFERRED
    assert job.complete() == S_OK
    assert drive(tmp_path, "Out", "Sub", "x.bin").read_bytes() == b"bytes"
    assert sorted(p.name for p in drive(tmp_path).iterdir()) == ["Out"]
    # the existing file is matched up to case too: Complete replaces X.BIN rather than adding x.bin
    job = _download(svc, "C:\\out\\sub\\X.BIN", b"again")
    job.complete()
    assert [p.name for p in drive(tmp_path, "Out", "Sub").iterdir()] == ["x.bin"]
    assert drive(tmp_path, "Out", "Sub", "x.bin").read_bytes() == b"again"


def test_trailing_dots_and_spaces_are_dropped(svc: BitsService, tmp_path: Path) -> None:
    svc.filesystem.makedirs("C:\\data")
    job = _download(svc, "C:\\data. \\x. ")
    assert job.complete() == S_OK
    assert drive(tmp_path, "data", "x").read_bytes() == b"bytes"
    assert next(iter(job.enum_files())).get_local_name() == "C:\\data. \\x. "  # stored as given


@pytest.mark.parametrize("name", ["C:\\data\\. .", "C:\\data\\ \\x", "C:\\data\\...\\x"])
def test_a_component_of_only_dots_and_spaces_is_invalidarg(svc: BitsService, name: str) -> None:
    with pytest.raises(BitsError) as e:
        new_job(svc).add_file("http://server/n", name)
    assert e.value.hresult == E_INVALIDARG


def test_a_name_mixing_separators_is_one_path(svc: BitsService, tmp_path: Path) -> None:
    svc.filesystem.makedirs("C:\\base\\sub")
    job = _download(svc, "C:\\base/sub/x.bin")  # os.path.join("C:\\base", "sub/x.bin") on Linux
    (file,) = list(job.enum_files())
    temp = file.get_temporary_name()
    assert temp is not None and temp.startswith("C:\\base/sub/.BIT")
    assert job.complete() == S_OK
    assert job.get_state() is JobState.ACKNOWLEDGED
    assert drive(tmp_path, "base", "sub", "x.bin").read_bytes() == b"bytes"


def test_a_missing_directory_is_path_not_found(svc: BitsService) -> None:
    job = _download(svc, "C:\\nowhere\\x.bin")
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error()[1] == ERROR_PATH_NOT_FOUND


def test_a_lone_surrogate_in_a_file_name_round_trips(svc: BitsService, tmp_path: Path) -> None:
    svc.filesystem.makedirs("C:\\s")
    job = _download(svc, "C:\\s\\a\ud800b.bin")
    assert job.complete() == S_OK
    assert os.listdir(os.fsencode(drive(tmp_path, "s"))) == ["a\ud800b.bin".encode("utf-8", "surrogatepass")]
    assert next(iter(job.enum_files())).get_local_name() == "C:\\s\\a\ud800b.bin"


# POSIX paths as remote names -------------------------------------------------------------------------------


def test_an_absolute_posix_path_is_a_remote_name_emulator_choice(svc: BitsService, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"from a posix path")
    dest = tmp_path / "dest.bin"
    job = new_job(svc)
    job.add_file(str(source), str(dest))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert job.complete() == S_OK
    assert dest.read_bytes() == b"from a posix path"


def test_a_posix_remote_name_is_smb_so_not_for_upload_reply(svc: BitsService, tmp_path: Path) -> None:
    with pytest.raises(BitsError) as e:
        new_job(svc, JobType.UPLOAD_REPLY).add_file(str(tmp_path / "x"), str(tmp_path / "y"))
    assert e.value.hresult == E_INVALIDARG


@pytest.mark.parametrize("url", ["http://[::1/x", "http://[::1", "https://host:99999/x", "http://host:port/x"])
def test_a_malformed_url_is_invalidarg(svc: BitsService, url: str) -> None:
    job = new_job(svc)
    with pytest.raises(BitsError) as e:
        job.add_file(url, "C:\\x.bin")
    assert e.value.hresult == E_INVALIDARG
    assert job.get_progress().files_total == 0


# nothing left behind -----------------------------------------------------------------------------------------


def test_close_removes_the_drive_root_it_made() -> None:
    svc = BitsService(clock=ManualClock())
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    svc.filesystem.makedirs("C:\\d")
    job = new_job(svc)
    job.add_file("http://server/a", "C:\\d\\a.bin")
    job.resume()
    svc.advance(2)
    root = svc.filesystem.drive_root
    assert any(root.rglob(".BIT*.tmp"))
    svc.close()
    assert not root.exists()


def test_close_of_a_memory_store_deletes_its_temporaries_a_file_store_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for database, kept in ((None, 0), (tmp_path / "q.db", 1)):
        with BitsService(database=database, clock=ManualClock()) as svc:
            svc.network.register("http://server/a", b"x" * 100, rate=10)
            job = new_job(svc)
            job.add_file("http://server/a", str(out / "a.bin"))
            job.resume()
            svc.advance(2)
            assert len(list(out.glob(".BIT*.tmp"))) == 1
        assert len(list(out.glob(".BIT*.tmp"))) == kept


def test_a_symlink_loop_is_cant_resolve_filename(svc: BitsService, tmp_path: Path) -> None:
    """ERROR_CANT_RESOLVE_FILENAME (1921) is what Windows gives for a name with too many reparse points."""
    svc.filesystem.makedirs("C:\\loop")
    os.symlink("b", drive(tmp_path, "loop", "a"))
    os.symlink("a", drive(tmp_path, "loop", "b"))
    with pytest.raises(BitsError) as e:
        new_job(svc).add_file("http://server/n", "C:\\loop\\a\\x.bin")
    assert e.value.hresult == 0x80070781


def test_an_upload_source_swapped_for_a_symlink_sends_nothing_from_outside(svc: BitsService, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside the sandbox")
    svc.filesystem.makedirs("C:\\up")
    drive(tmp_path, "up", "report.csv").write_bytes(b"a,b")
    endpoint = svc.network.register("http://server/upload", upload=True)
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.add_file("http://server/upload", "C:\\up\\report.csv")
    drive(tmp_path, "up", "report.csv").unlink()
    os.symlink(secret, drive(tmp_path, "up", "report.csv"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error()[0] is ErrorContext.LOCAL_FILE
    assert endpoint.received is None


def test_a_drive_path_source_swapped_for_a_symlink_copies_nothing_from_outside(
    svc: BitsService, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside the sandbox")
    svc.filesystem.makedirs("D:\\share")
    svc.filesystem.makedirs("C:\\out")
    source = tmp_path / "drives" / "D" / "share" / "a.bin"
    source.write_bytes(b"inside")
    job = new_job(svc)
    job.add_file("D:\\share\\a.bin", "C:\\out\\a.bin")
    source.unlink()
    os.symlink(secret, source)
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.ERROR
    assert all(b"outside" not in p.read_bytes() for p in drive(tmp_path, "out").iterdir())
