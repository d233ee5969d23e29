"""IBackgroundCopyFile3 validation and peer flag, IBackgroundCopyFile4 peer statistics, IBackgroundCopyFile5
SetProperty, and two deviations from Windows fixed (GetNotifyCmdLine, file://C:\\ remote names).

Facts:
SETVAL = https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-setvalidationstate
GETVAL = https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-getvalidationstate
PEER = https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-isdownloadedfrompeer
STATS = https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibackgroundcopyfile4-getpeerdownloadstats
FPROP = https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/nf-bits5_0-ibackgroundcopyfile5-setproperty
CMDLINE = https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-getnotifycmdline
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import CallRecorder, hresult

from emulator import BitsError, BitsService, ErrorContext, JobState, JobType, ManualClock, NotifyFlags

E_PENDING = 0x8000000A
BG_E_INVALID_STATE = 0x80200002
BG_E_VALIDATION_FAILED = 0x80200053
BG_E_UNKNOWN_PROPERTY_ID = 0x80200057
BG_E_READ_ONLY_PROPERTY = 0x80200058
E_NOINTERFACE = 0x80004002


pytestmark = pytest.mark.svc(clock="manual")


# validation state ---------------------------------------------------------------------------------------------


def test_validation_needs_a_transferred_file(svc: BitsService, tmp_path: Path) -> None:
    """SETVAL: E_PENDING — "You cannot validate the file until the download is complete"; GETVAL: FALSE "may
    mean the SetValidationState has not been called"."""
    svc.network.register("http://server/f", b"x" * 100, rate=10)
    _, job = svc.connect().create_job("v", JobType.DOWNLOAD)
    job.add_file("http://server/f", str(tmp_path / "a"))
    f = next(iter(job.enum_files()))
    assert f.get_validation_state() is False
    with pytest.raises(BitsError) as e:
        f.set_validation_state(True)
    assert hresult(e) == E_PENDING
    job.resume()
    svc.advance(5)
    with pytest.raises(BitsError) as e:
        f.set_validation_state(True)
    assert hresult(e) == E_PENDING
    svc.run_until_idle()
    f.set_validation_state(True)
    assert f.get_validation_state() is True
    assert job.complete() == 0


def test_invalid_file_from_the_origin_fails_the_job_and_resume_downloads_it_again(
    svc: BitsService, tmp_path: Path
) -> None:
    """T23 (docs/reference/states.md#t23), job TRANSFERRED.
    SETVAL: FALSE for a file from the origin server → "the job moves to the error state with an error code of
    BG_E_VALIDATION_FAILED and the file progress is set to zero. You can then call Resume to download the
    file again." JobError is delivered as for any move into ERROR."""
    res = svc.network.register("http://server/f", b"payload")
    _, job = svc.connect().create_job("v", JobType.DOWNLOAD)
    job.add_file("http://server/f", str(tmp_path / "a"))
    cb = CallRecorder()
    job.set_notify_interface(cb)
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    f = next(iter(job.enum_files()))
    f.set_validation_state(False)
    assert job.get_state() is JobState.ERROR
    err = job.get_error()
    assert err.get_error() == (ErrorContext.REMOTE_FILE, BG_E_VALIDATION_FAILED)
    assert err.get_file().get_remote_name() == "http://server/f"
    assert f.get_progress().bytes_transferred == 0
    assert f.get_validation_state() is False
    assert cb.calls == ["JobTransferred", "JobError"]
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    assert res.requests == 2
    job.complete()
    assert (tmp_path / "a").read_bytes() == b"payload"
    assert f.get_validation_state() is True  # SETVAL: "Calling Complete implicitly validates the file"


@pytest.mark.parametrize("pause", [False, True], ids=["transferring", "suspended"])
def test_T23_invalid_file_fails_the_job_in_any_state(svc: BitsService, tmp_path: Path, pause: bool) -> None:
    """T23 (docs/reference/states.md#t23): "(file done, job any)" — the first file is done while the job is still
    TRANSFERRING the second, or SUSPENDED; SetValidationState(FALSE) on it → job ERROR, BG_E_VALIDATION_FAILED
    0x80200053 (context REMOTE_FILE), that file's progress 0, the other file's bytes kept; Resume downloads the
    first again (SETVAL: content from the origin server — the emulator has no peers)."""
    svc.network.register("http://server/a", b"a" * 10)
    svc.network.register("http://server/b", b"b" * 100, rate=10)
    _, job = svc.connect().create_job("v", JobType.DOWNLOAD)
    job.add_file("http://server/a", str(tmp_path / "a"))
    job.add_file("http://server/b", str(tmp_path / "b"))
    job.resume()
    svc.advance(2)
    first, second = list(job.enum_files())
    assert (first.get_progress().bytes_transferred, second.get_progress().bytes_transferred) == (10, 20)
    if pause:
        job.suspend()
    assert job.get_state() is (JobState.SUSPENDED if pause else JobState.TRANSFERRING)
    first.set_validation_state(False)
    assert job.get_state() is JobState.ERROR
    err = job.get_error()
    assert err.get_error() == (ErrorContext.REMOTE_FILE, BG_E_VALIDATION_FAILED)
    assert err.get_file().get_remote_name() == "http://server/a"
    assert (first.get_progress().bytes_transferred, second.get_progress().bytes_transferred) == (0, 20)
    svc.advance(5)
    assert second.get_progress().bytes_transferred == 20  # ERROR: nothing moves
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert job.complete() == 0
    assert (tmp_path / "a").read_bytes() == b"a" * 10


def test_validating_from_the_file_transferred_callback(svc: BitsService, tmp_path: Path) -> None:
    """SETVAL: "To receive notification when the transfer is complete, implement
    IBackgroundCopyCallback2::FileTransferred" — rejecting the file there puts the job in ERROR instead of
    TRANSFERRED: JobError is delivered, JobTransferred is not."""
    svc.network.register("http://server/f", b"corrupt")

    class Validator(CallRecorder):
        def FileTransferred(self, job: object, file: Any) -> int:
            self.calls.append("FileTransferred")
            file.set_validation_state(False)
            return 0

    _, job = svc.connect().create_job("v", JobType.DOWNLOAD)
    job.add_file("http://server/f", str(tmp_path / "a"))
    job.set_notify_flags(NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR | NotifyFlags.FILE_TRANSFERRED)
    cb = Validator()
    job.set_notify_interface(cb)
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert cb.calls == ["FileTransferred", "JobError"]
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_VALIDATION_FAILED)
    assert not list(tmp_path.iterdir())  # the rejected temporary file is gone


def test_validation_on_a_final_job_is_invalid_state(svc: BitsService, tmp_path: Path) -> None:
    """Emulator choice (the page is silent): like every setter, BG_E_INVALID_STATE once the job is final."""
    svc.network.register("http://server/f", b"x")
    _, job = svc.connect().create_job("v", JobType.DOWNLOAD)
    job.add_file("http://server/f", str(tmp_path / "a"))
    job.resume()
    f = next(iter(job.enum_files()))
    job.complete()
    with pytest.raises(BitsError) as e:
        f.set_validation_state(False)
    assert hresult(e) == BG_E_INVALID_STATE


@pytest.mark.parametrize("kind", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
def test_validation_of_an_uploaded_file_is_only_recorded(svc: BitsService, tmp_path: Path, kind: JobType) -> None:
    """SetValidationState (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/
    nf-bits3_0-ibackgroundcopyfile3-setvalidationstate) speaks of downloads only: E_PENDING "until the download is
    complete"; FALSE puts the job in ERROR "and the file progress is set to zero", Resume downloads "the file
    again". Emulator choice for an upload's file (docs/reference/readings.md#validation): E_PENDING before it is
    uploaded; then FALSE is recorded (S_OK) and the TRANSFERRED job, its file's progress (Completed TRUE, all
    bytes) and its error object are untouched. Before, the job went to ERROR with BG_E_VALIDATION_FAILED and its
    file showed 0 bytes yet Completed."""
    svc.network.register("http://server/up", upload=True, reply=b"R")
    (tmp_path / "up.txt").write_bytes(b"d" * 10)
    _, job = svc.connect().create_job("v", kind)
    job.add_file("http://server/up", str(tmp_path / "up.txt"))
    f = next(iter(job.enum_files()))
    with pytest.raises(BitsError) as e:
        f.set_validation_state(False)
    assert hresult(e) == E_PENDING
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    f.set_validation_state(False)
    assert f.get_validation_state() is False
    assert job.get_state() is JobState.TRANSFERRED
    progress = f.get_progress()
    assert (progress.bytes_total, progress.bytes_transferred, progress.completed) == (10, 10, True)
    assert job.get_error_count() == 0
    f.set_validation_state(True)
    assert f.get_validation_state() is True
    assert job.complete() == 0


def test_validation_argument_type(svc: BitsService, tmp_path: Path) -> None:
    _, job = svc.connect().create_job("v", JobType.DOWNLOAD)
    job.add_file("http://server/f", str(tmp_path / "a"))
    with pytest.raises(TypeError):
        next(iter(job.enum_files())).set_validation_state("yes")  # type: ignore[arg-type]


# peers (peer caching is not emulated: what Windows answers for content that came from the origin) ------------


def test_not_downloaded_from_a_peer_and_all_bytes_from_the_origin(svc: BitsService, tmp_path: Path) -> None:
    """PEER: TRUE "if any part of the file was downloaded from a peer" — never here; STATS: bytes from the origin
    server and from peers."""
    svc.network.register("http://server/f", b"x" * 100, rate=10)
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://server/f", str(tmp_path / "a"))
    f = next(iter(job.enum_files()))
    assert f.is_downloaded_from_peer() is False
    assert f.get_peer_download_stats() == (0, 0)
    job.resume()
    svc.advance(4)
    assert f.get_peer_download_stats() == (40, 0)
    svc.run_until_idle()
    assert f.get_peer_download_stats() == (100, 0)
    assert f.is_downloaded_from_peer() is False


def test_file4_needs_bits_4(tmp_path: Path) -> None:
    """IBackgroundCopyFile4 is BITS 4.0: a BITS 3.0 (Vista) profile answers E_NOINTERFACE."""
    with BitsService(profile="vista", clock=ManualClock()) as svc:
        _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
        job.add_file("http://server/f", str(tmp_path / "a"))
        f = next(iter(job.enum_files()))
        assert f.is_downloaded_from_peer() is False
        with pytest.raises(BitsError) as e:
            f.get_peer_download_stats()
        assert hresult(e) == E_NOINTERFACE


# IBackgroundCopyFile5::SetProperty ----------------------------------------------------------------------------


def test_file_set_property(svc: BitsService, tmp_path: Path) -> None:
    """FPROP documents no codes; the only id, HTTP_RESPONSE_HEADERS, is what the server sent: emulator choice
    BG_E_READ_ONLY_PROPERTY; another id: BG_E_UNKNOWN_PROPERTY_ID (bitsmsg.h names), for Get too."""
    svc.network.register("http://server/f", b"x")
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://server/f", str(tmp_path / "a"))
    f = next(iter(job.enum_files()))
    with pytest.raises(BitsError) as e:
        f.set_property(1, "X-Whatever: 1")
    assert hresult(e) == BG_E_READ_ONLY_PROPERTY
    calls: list[Callable[[], object]] = [lambda: f.set_property(2, "x"), lambda: f.get_property(2)]
    for call in calls:
        with pytest.raises(BitsError) as e:
            call()
        assert hresult(e) == BG_E_UNKNOWN_PROPERTY_ID
    with pytest.raises(TypeError):
        f.set_property(1, 5)  # type: ignore[arg-type]


# deviations fixed -----------------------------------------------------------------------------------------------


def test_get_notify_cmd_line_never_set_is_two_empty_strings(svc: BitsService) -> None:
    """CMDLINE: "sets pProgram and pParameters to an empty string (L"") if SetNotifyCmdLine has not been
    called"."""
    _, job = svc.connect().create_job("c", JobType.DOWNLOAD)
    assert job.get_notify_cmd_line() == ("", "")
    job.set_notify_cmd_line("C:\\Tools\\done.exe", None)
    assert job.get_notify_cmd_line() == ("C:\\Tools\\done.exe", "")


@pytest.mark.parametrize(
    "url", ["file://C:\\data\\src.bin", "file://C:/data/src.bin", "file:///C:/data/src.bin", "file://localhost/C:/data/src.bin"]
)
def test_file_url_with_a_drive_path_transfers_the_local_file(svc: BitsService, tmp_path: Path, url: str) -> None:
    """A file:// URL followed by a drive path (backslashes or slashes) names that local file: Windows transfers
    it (behaviour recorded by Wine's qmgr conformance tests; the emulator used to fail with 0x80070002)."""
    svc.filesystem.drive_root = tmp_path
    svc.filesystem.makedirs("C:\\data")
    (tmp_path / "C" / "data" / "src.bin").write_bytes(b"local bytes")
    svc.filesystem.makedirs("C:\\out")
    _, job = svc.connect().create_job("f", JobType.DOWNLOAD)
    job.set_notify_flags(NotifyFlags.JOB_TRANSFERRED)
    job.add_file(url, "C:\\out\\dst.bin")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    job.complete()
    assert (tmp_path / "C" / "out" / "dst.bin").read_bytes() == b"local bytes"
