"""T27: an application that opens a job's temporary file (docs/reference/states.md#t27).

IBackgroundCopyFile3::GetTemporaryName page
(https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-gettemporaryname):
"Open the file for shared write access (FILE_SHARE_WRITE)"; "Do not open the file for reading until BITS
begins transferring the file; otherwise, the job will go into the transient error state"; "You must release
your handle to the temporary file before calling the Complete or Cancel method". The sandbox plays such an application
with ``svc.filesystem.hold_open``; what the page leaves open is docs/reference/readings.md#temporary-in-use (emulator
choice).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import (
    BitsError,
    BitsService,
    ErrorContext,
    IBackgroundCopyFile3,
    Job,
    JobState,
    JobType,
    ManualClock,
)

S = JobState
ERROR_SHARING_VIOLATION = 0x80070020
BG_S_UNABLE_TO_DELETE_FILES = 0x0020001A
CONTENT = b"t" * 1000


@pytest.fixture
def svc() -> Iterator[BitsService]:
    with BitsService(clock=ManualClock()) as service:
        service.network.register("http://server/a.bin", CONTENT, rate=100)
        yield service


def interrupted(svc: BitsService, tmp_path: Path) -> tuple[Job, str]:
    """A job suspended after 300 of its 1,000 bytes, and its temporary file's name."""
    _, job = svc.connect().create_job("t27", JobType.DOWNLOAD)
    job.add_file("http://server/a.bin", str(tmp_path / "a.bin"))
    job.resume()
    svc.advance(3)
    job.suspend()
    f = next(iter(job.enum_files())).query_interface(IBackgroundCopyFile3)
    name = f.get_temporary_name()
    assert name is not None  # the transfer has begun
    assert Path(name).read_bytes() == CONTENT[:300]
    return job, name


@pytest.mark.parametrize("share_write", [False, True])
def test_a_temporary_opened_before_the_transfer_begins_stops_it_transiently(
    svc: BitsService, tmp_path: Path, share_write: bool
) -> None:
    """Whatever the share mode: the reader was there before BITS began transferring the file."""
    job, name = interrupted(svc, tmp_path)
    handle = svc.filesystem.hold_open(name, share_write=share_write)
    job.resume()
    svc.advance(1)
    assert job.get_state() is S.TRANSIENT_ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.LOCAL_FILE, ERROR_SHARING_VIOLATION)
    assert error.get_error_description() == (
        "The process cannot access the file because it is being used by another process.\r\n"
    )
    assert error.get_file().get_local_name() == str(tmp_path / "a.bin")
    assert job.get_error_count() == 1
    assert job.get_progress().bytes_transferred == 300  # nothing written while it is held

    svc.advance(job.get_minimum_retry_delay())  # still held at the retry: fails again
    assert (job.get_state(), job.get_error_count()) == (S.TRANSIENT_ERROR, 2)
    handle.close()
    svc.advance(job.get_minimum_retry_delay())  # released: the retry goes on from byte 300
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (tmp_path / "a.bin").read_bytes() == CONTENT


def test_a_reader_that_shares_write_during_the_transfer_does_not_disturb_it(svc: BitsService, tmp_path: Path) -> None:
    job, name = interrupted(svc, tmp_path)
    job.resume()
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRING  # BITS has begun transferring the file
    with svc.filesystem.hold_open(name, share_write=True) as reader:
        assert Path(name).read_bytes() == CONTENT[: job.get_progress().bytes_transferred]
        svc.run_until_idle()
        assert job.get_state() is S.TRANSFERRED
        assert job.get_error_count() == 0
        assert reader.share_write


def test_a_reader_without_share_write_during_the_transfer_fails_its_next_write(
    svc: BitsService, tmp_path: Path
) -> None:
    """(On Windows the reader's own open would fail, BITS holding the file; the emulator lets the reader in
    and fails BITS's next write: readings.md#temporary-in-use.)"""
    job, name = interrupted(svc, tmp_path)
    job.resume()
    svc.advance(1)
    with svc.filesystem.hold_open(name):
        svc.advance(1)
        assert job.get_state() is S.TRANSIENT_ERROR
        assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, ERROR_SHARING_VIOLATION)


@pytest.mark.parametrize("share_write", [False, True])
def test_complete_while_held_fails_and_the_job_stays_transferred(
    svc: BitsService, tmp_path: Path, share_write: bool
) -> None:
    """No FILE_SHARE_DELETE: the rename fails, and T29's rule for a failed rename applies."""
    job, name = interrupted(svc, tmp_path)
    job.resume()
    svc.run_until_idle()
    with svc.filesystem.hold_open(name, share_write=share_write):
        with pytest.raises(BitsError) as exc:
            job.complete()
        assert exc.value.hresult == ERROR_SHARING_VIOLATION
        assert job.get_state() is S.TRANSFERRED
        assert not (tmp_path / "a.bin").exists()
    assert job.complete() == 0  # closed: Complete succeeds
    assert (tmp_path / "a.bin").read_bytes() == CONTENT


def test_cancel_while_held_cancels_but_cannot_delete_the_temporary(svc: BitsService, tmp_path: Path) -> None:
    job, name = interrupted(svc, tmp_path)
    with svc.filesystem.hold_open(name):
        assert job.cancel() == BG_S_UNABLE_TO_DELETE_FILES
        assert job.get_state() is S.CANCELLED
    assert Path(name).exists()  # left where it was, as Windows leaves a file it could not delete
    Path(name).unlink()


def test_handles_count_and_close_once(svc: BitsService, tmp_path: Path) -> None:
    """Two readers: the file is free only when both are gone; close() twice releases once."""
    job, name = interrupted(svc, tmp_path)
    job.resume()
    svc.advance(1)
    first = svc.filesystem.hold_open(name)
    second = svc.filesystem.hold_open(name, share_write=True)
    first.close()
    first.close()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED  # only a share-write reader left, opened after BITS began
    with pytest.raises(BitsError):
        job.complete()
    second.close()
    assert job.complete() == 0


def test_bad_input(svc: BitsService, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        svc.filesystem.hold_open(tmp_path / "missing.tmp")
    (tmp_path / "x").write_bytes(b"x")
    with pytest.raises(TypeError):
        svc.filesystem.hold_open(tmp_path / "x", share_write=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        svc.filesystem.hold_open(42)  # type: ignore[arg-type]
    with pytest.raises(IsADirectoryError):
        svc.filesystem.hold_open(tmp_path)
