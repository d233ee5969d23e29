"""IBackgroundCopyJob3::ReplaceRemotePrefix, with the file-restart rule of the consistency page.

Facts:
PREFIX = https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-replaceremoteprefix
CONSISTENCY = https://learn.microsoft.com/en-us/windows/win32/bits/file-transfer-consistency
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import hresult

from emulator import BitsError, BitsService, JobState, JobType

E_INVALIDARG = 0x80070057
E_NOTIMPL = 0x80004001
BG_E_INVALID_STATE = 0x80200002
S_OK, S_FALSE = 0, 1


pytestmark = pytest.mark.svc(clock="manual")


def test_replaces_the_prefix_of_every_matching_name(svc: BitsService, tmp_path: Path) -> None:
    """PREFIX: "http://Server/Path/File.ext" → "http://NewServerName/Path/File.ext" with OldPrefix "http://Server";
    names that do not start with OldPrefix are left alone; S_OK."""
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://Server/Path/File.ext", str(tmp_path / "a"))
    job.add_file("http://Server/Path/Two.ext", str(tmp_path / "b"))
    job.add_file("http://Other/Server/File.ext", str(tmp_path / "c"))
    assert job.replace_remote_prefix("http://Server", "http://NewServerName") == S_OK
    assert [f.get_remote_name() for f in job.enum_files()] == [
        "http://NewServerName/Path/File.ext",
        "http://NewServerName/Path/Two.ext",
        "http://Other/Server/File.ext",
    ]


def test_no_match_is_s_false_and_the_match_is_case_sensitive(svc: BitsService, tmp_path: Path) -> None:
    """PREFIX: S_FALSE "No matches found"; "performs a case-sensitive search"."""
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://Server/f", str(tmp_path / "a"))
    assert job.replace_remote_prefix("http://server", "http://x") == S_FALSE
    assert job.replace_remote_prefix("/f", "/g") == S_FALSE  # the text must start at the beginning
    assert next(iter(job.enum_files())).get_remote_name() == "http://Server/f"


@pytest.mark.parametrize(("old", "new"), [("", "http://x"), ("http://Server", "")])
def test_empty_prefix_is_invalidarg(svc: BitsService, tmp_path: Path, old: str, new: str) -> None:
    """PREFIX: E_INVALIDARG "if the OldPrefix or NewPrefix is an empty string"."""
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://Server/f", str(tmp_path / "a"))
    with pytest.raises(BitsError) as e:
        job.replace_remote_prefix(old, new)
    assert hresult(e) == E_INVALIDARG


def test_invalid_or_too_long_result_is_invalidarg_and_changes_nothing(svc: BitsService, tmp_path: Path) -> None:
    """PREFIX: E_INVALIDARG when the new URL is invalid or "the URL cannot exceed 2,200 characters"; the
    emulator checks every new name before changing any."""
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://Server/short", str(tmp_path / "a"))
    job.add_file("http://Server/" + "x" * 200 + "/" + "y" * 200, str(tmp_path / "b"))
    long_prefix = "http://NewServer/" + "/".join(["z" * 200] * 10)  # 2,026 characters
    with pytest.raises(BitsError) as e:
        job.replace_remote_prefix("http://Server", long_prefix)
    assert hresult(e) == E_INVALIDARG
    with pytest.raises(BitsError) as e:
        job.replace_remote_prefix("http://Server", "gopher://x")
    assert hresult(e) == E_INVALIDARG
    assert [f.get_remote_name()[:14] for f in job.enum_files()] == ["http://Server/"] * 2


@pytest.mark.parametrize("job_type", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
def test_upload_jobs_are_notimpl(svc: BitsService, tmp_path: Path, job_type: JobType) -> None:
    """PREFIX: E_NOTIMPL — "You cannot call this method for upload or upload-reply jobs"."""
    _, job = svc.connect().create_job("p", job_type)
    with pytest.raises(BitsError) as e:
        job.replace_remote_prefix("http://a", "http://b")
    assert hresult(e) == E_NOTIMPL


def test_final_jobs_are_invalid_state(svc: BitsService, tmp_path: Path) -> None:
    """PREFIX: BG_E_INVALID_STATE — "The state of the job cannot be BG_JOB_STATE_CANCELLED or ACKNOWLEDGED"."""
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://a/f", str(tmp_path / "a"))
    job.cancel()
    with pytest.raises(BitsError) as e:
        job.replace_remote_prefix("http://a", "http://b")
    assert hresult(e) == BG_E_INVALID_STATE


def test_same_file_on_the_new_server_resumes_where_it_was(svc: BitsService, tmp_path: Path) -> None:
    """PREFIX: with the same time stamp and size "the transfer resumes from the same position on the new
    server"."""
    data = bytes(range(200)) * 5
    svc.network.register("http://old/f", data, rate=100, last_modified=1_000_000.0)
    new = svc.network.register("http://new/f", data, rate=100, last_modified=1_000_000.0)
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://old/f", str(tmp_path / "a"))
    job.resume()
    svc.advance(4)
    f = next(iter(job.enum_files()))
    assert f.get_progress().bytes_transferred == 400
    assert job.replace_remote_prefix("http://old", "http://new") == S_OK
    svc.advance(1)
    assert f.get_progress().bytes_transferred == 500  # went on from 400
    assert new.requests == 1
    svc.run_until_idle()
    job.complete()
    assert (tmp_path / "a").read_bytes() == data


def test_changed_file_on_the_new_server_restarts(svc: BitsService, tmp_path: Path) -> None:
    """PREFIX / CONSISTENCY: "If the time stamp or file size of the new remote name is different ... BITS
    restarts the download"; "BITS does not restart already transferred files"."""
    svc.network.register("http://old/done", b"first file")
    svc.network.register("http://old/f", b"a" * 1000, rate=100, last_modified=1_000_000.0)
    svc.network.register("http://new/done", b"other content")
    svc.network.register("http://new/f", b"b" * 600, rate=100, last_modified=2_000_000.0)
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://old/done", str(tmp_path / "done"))
    job.add_file("http://old/f", str(tmp_path / "f"))
    job.resume()
    svc.advance(3)
    done, f = list(job.enum_files())
    assert f.get_progress().bytes_transferred == 300
    assert job.replace_remote_prefix("http://old", "http://new") == S_OK
    assert done.get_remote_name() == "http://new/done"
    svc.advance(1)
    assert f.get_progress().bytes_transferred == 100  # restarted from 0 on the new server
    assert f.get_progress().bytes_total == 600
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    job.complete()
    assert (tmp_path / "done").read_bytes() == b"first file"  # not downloaded again
    assert (tmp_path / "f").read_bytes() == b"b" * 600


def test_replace_then_resume_after_an_error(svc: BitsService, tmp_path: Path) -> None:
    """The typical use (PREFIX remarks: "the server is unavailable"): a 404 on the old server, new prefix,
    Resume → TRANSFERRED from the new server."""
    svc.network.register("http://mirror/pkg", b"package")
    svc.network.register("http://origin/other", b"")  # origin resolves, the file is missing: 404
    _, job = svc.connect().create_job("p", JobType.DOWNLOAD)
    job.add_file("http://origin/pkg", str(tmp_path / "pkg"))
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.replace_remote_prefix("http://origin/", "http://mirror/") == S_OK
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
