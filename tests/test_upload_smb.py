"""Uploads to an SMB name (docs/reference/readings.md#smb-upload).

BG_FILE_INFO (https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_file_info): "You can use SMB to
express the remote name of the file to download or upload; there is no SMB support for upload-reply jobs", and
"For SMB downloads and uploads, BITS propagates the file's time stamps".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import BitsError, BitsService, ErrorContext, JobState, JobType, ManualClock

S = JobState
ERROR_PATH_NOT_FOUND = 0x80070003
E_INVALIDARG = 0x80070057
LOCAL = "C:\\dl\\u.txt"


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[BitsService]:
    with BitsService(clock=ManualClock(), root=tmp_path) as service:
        service.filesystem.makedirs("C:\\dl")
        service.filesystem.makedirs("\\\\server\\share\\in")
        service.filesystem.put(LOCAL, b"upload me", mtime=500_000_000.0)
        yield service


@pytest.mark.parametrize("remote", ["\\\\server\\share\\in\\u.txt", "file://server/share/in/u.txt"])
def test_an_upload_to_a_share_lands_there_with_the_local_files_time_stamp(svc: BitsService, remote: str) -> None:
    """The file is on the share once the job is TRANSFERRED (an upload's file is the server's when its last
    byte is in), with the local file's modification time; Complete leaves it there, ACKNOWLEDGED."""
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.add_file(remote, LOCAL)
    job.resume()
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED
    assert (job.get_progress().bytes_transferred, job.get_progress().files_transferred) == (9, 1)
    landed = Path(svc.filesystem.host_path("\\\\server\\share\\in\\u.txt"))
    assert landed.read_bytes() == b"upload me"
    assert os.stat(landed).st_mtime == 500_000_000.0
    assert svc.network.requests == type(svc.network.requests)()  # no HTTP request was made
    job.complete()
    assert job.get_state() is S.ACKNOWLEDGED
    assert landed.read_bytes() == b"upload me"


def test_an_upload_to_a_share_directory_that_does_not_exist_fails(svc: BitsService) -> None:
    """As an SMB source whose directory is missing: ERROR, ERROR_PATH_NOT_FOUND, context REMOTE_FILE."""
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.add_file("\\\\server\\share\\missing\\u.txt", LOCAL)
    job.resume()
    svc.advance(1)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, ERROR_PATH_NOT_FOUND)


def test_an_upload_reply_job_takes_no_smb_name(svc: BitsService) -> None:
    """"there is no SMB support for upload-reply jobs": AddFile refuses the name (E_INVALIDARG)."""
    _, job = svc.connect().create_job("reply", JobType.UPLOAD_REPLY)
    with pytest.raises(BitsError) as caught:
        job.add_file("\\\\server\\share\\in\\u.txt", LOCAL)
    assert caught.value.hresult == E_INVALIDARG
