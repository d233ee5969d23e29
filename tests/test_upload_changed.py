"""An upload whose local file changes fails with BG_E_LOCAL_FILE_CHANGED.

"For uploads, if the file size or time stamp changes during the file transfer, BITS generates an error and
the job is in the BG_JOB_STATE_ERROR state"
(https://learn.microsoft.com/en-us/windows/win32/bits/file-transfer-consistency); the code is
BG_E_LOCAL_FILE_CHANGED 0x8020001D, "The local file was changed during the transfer"
(https://learn.microsoft.com/en-us/windows/win32/bits/bits-return-values); T13 of docs/reference/states.md.
The size and last-write time are recorded when the upload starts (docs/reference/states.md#files).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator import BitsService, ErrorContext, Job, JobState, JobType, ManualClock

pytestmark = pytest.mark.svc(clock="manual")

BG_E_LOCAL_FILE_CHANGED = 0x8020001D
URL = "http://srv/up"


def _source(tmp_path: Path, data: bytes, mtime: int = 1_700_000_000) -> Path:
    src = tmp_path / "src"
    src.write_bytes(data)
    os.utime(src, (mtime, mtime))
    return src


def _upload(svc: BitsService, src: Path) -> Job:
    _, job = svc.connect().create_job("u", JobType.UPLOAD)
    job.add_file(URL, str(src))
    job.resume()
    return job


def _assert_changed(job: Job) -> None:
    assert job.get_state() is JobState.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.LOCAL_FILE, BG_E_LOCAL_FILE_CHANGED)
    assert error.get_file().get_local_name().endswith("src")
    assert job.get_error_count() == 1


def test_rewritten_while_suspended(svc: BitsService, tmp_path: Path) -> None:
    """Suspended at 50 of 100 bytes, the source rewritten with 300 bytes, resumed: ERROR, nothing re-sent."""
    endpoint = svc.network.register(URL, upload=True, rate=10)
    src = _source(tmp_path, b"y" * 100)
    job = _upload(svc, src)
    svc.advance(5)
    job.suspend()
    assert job.get_progress().bytes_transferred == 50
    src.write_bytes(b"Q" * 300)
    job.resume()
    svc.run_until_idle()
    _assert_changed(job)
    assert (job.get_progress().bytes_total, job.get_progress().bytes_transferred) == (100, 50)
    assert endpoint.received is None
    assert endpoint.requests == 1  # the second connection stopped at the local check


def test_same_size_new_time_stamp(svc: BitsService, tmp_path: Path) -> None:
    """The time stamp alone is enough (file-transfer-consistency page: "size or time stamp")."""
    endpoint = svc.network.register(URL, upload=True, rate=10)
    src = _source(tmp_path, b"y" * 100)
    job = _upload(svc, src)
    svc.advance(5)
    job.suspend()
    os.utime(src, (1_700_000_100, 1_700_000_100))
    job.resume()
    svc.run_until_idle()
    _assert_changed(job)
    assert endpoint.received is None


def test_changed_without_a_reconnection(svc: BitsService, tmp_path: Path) -> None:
    """A change while the bytes flow (no suspend) is found before the last fragment is sent."""
    endpoint = svc.network.register(URL, upload=True, rate=10)
    src = _source(tmp_path, b"y" * 100)
    job = _upload(svc, src)
    svc.advance(5)
    _source(tmp_path, b"z" * 100, mtime=1_700_000_200)
    svc.run_until_idle()
    _assert_changed(job)
    assert endpoint.received is None


def test_unchanged_file_resumes_and_uploads(svc: BitsService, tmp_path: Path) -> None:
    """Control: suspend and resume with the same file finish the upload (T12)."""
    endpoint = svc.network.register(URL, upload=True, rate=10)
    src = _source(tmp_path, b"y" * 100)
    job = _upload(svc, src)
    svc.advance(5)
    job.suspend()
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert endpoint.received == b"y" * 100


def test_resume_after_the_error_keeps_failing(svc: BitsService, tmp_path: Path) -> None:
    """The recorded size and time stamp stay those of the upload's start: Resume (T4) fails again —
    "Recreate the job, and then try to transfer it again" (the code's message)."""
    svc.network.register(URL, upload=True, rate=10)
    src = _source(tmp_path, b"y" * 100)
    job = _upload(svc, src)
    svc.advance(5)
    job.suspend()
    src.write_bytes(b"Q" * 300)
    job.resume()
    svc.run_until_idle()
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, BG_E_LOCAL_FILE_CHANGED)
    assert job.get_error_count() == 2


def test_the_record_survives_a_service_restart(tmp_path: Path) -> None:
    """The size and time stamp are stored with the file (docs/reference/states.md#persistence): a change
    made while the service was down is found after the restart."""
    db = tmp_path / "queue.db"
    src = _source(tmp_path, b"y" * 100)
    with BitsService(database=db, clock=ManualClock()) as svc:
        svc.network.register(URL, upload=True, rate=10)
        job = _upload(svc, src)
        svc.advance(5)
        job_id = job.get_id()
    src.write_bytes(b"Q" * 300)
    with BitsService(database=db, clock=ManualClock()) as svc:
        endpoint = svc.network.register(URL, upload=True, rate=10)
        job = svc.connect().get_job(job_id)
        job.resume()
        svc.run_until_idle()
        _assert_changed(job)
        assert endpoint.received is None
