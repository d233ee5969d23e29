"""IBackgroundCopyFile2::SetRemoteName, emulated natively (pywin32's test_bits.py needs it).

Facts: https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyfile2-setremotename
(S_OK; E_INVALIDARG for an invalid URL or one over 2,200 characters; E_NOTIMPL for upload and
upload-reply jobs; BG_E_INVALID_STATE for cancelled or acknowledged jobs; serialized by the next Resume;
a new time stamp or size, or a server without checkpoint resume, restarts the file; transferred files are
not transferred again). The remote-name rules are AddFile's (https://learn.microsoft.com/en-us/windows/
win32/api/bits/ns-bits-bg_file_info).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulator import (
    BitsError,
    BitsService,
    Blanket,
    Cloaking,
    IBackgroundCopyFile2,
    ImpersonationLevel,
    JobState,
    JobType,
    ManualClock,
)

E_INVALIDARG = 0x80070057
E_NOTIMPL = 0x80004001
E_ACCESSDENIED = 0x80070005
BG_E_INVALID_STATE = 0x80200002


def _file(svc: BitsService, job_type: JobType = JobType.DOWNLOAD, url: str = "http://server/a") -> tuple[Any, Any]:
    _, job = svc.connect().create_job("j", job_type)
    local = "/x/a" if job_type is JobType.DOWNLOAD else "/x/up"
    job.add_file(url, local)
    (f,) = job.enum_files()
    return job, f.query_interface(IBackgroundCopyFile2)


def _hresult(call: Any, *args: Any) -> int:
    with pytest.raises(BitsError) as exc:
        call(*args)
    return exc.value.hresult


def test_set_remote_name_changes_the_name(svc: BitsService) -> None:
    job, f = _file(svc)
    assert f.set_remote_name("https://other.example/b?x=1") is None
    assert f.get_remote_name() == "https://other.example/b?x=1"
    (again,) = job.enum_files()
    assert again.get_remote_name() == "https://other.example/b?x=1"
    f.set_remote_name("file://server/share/c")  # SMB names are remote names too
    f.set_remote_name(r"\\server\share\c")
    assert f.get_remote_name() == r"\\server\share\c"


@pytest.mark.parametrize("job_type", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
def test_upload_jobs_give_e_notimpl(svc: BitsService, job_type: JobType) -> None:
    _, f = _file(svc, job_type, "http://server/upload")
    assert _hresult(f.set_remote_name, "http://server/other") == E_NOTIMPL
    assert f.get_remote_name() == "http://server/upload"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://server/a",  # unsupported protocol
        "http://",  # no server
        "http://server/a b",  # not a legal URL
        "http://server/" + "x" * 2200,  # over 2,200 characters
        "http://server/*.bin",  # wildcard
        "relative/name",
        "",
        None,
    ],
)
def test_invalid_urls_give_e_invalidarg(svc: BitsService, url: str | None) -> None:
    _, f = _file(svc)
    assert _hresult(f.set_remote_name, url) == E_INVALIDARG
    assert f.get_remote_name() == "http://server/a"


def test_non_strings_are_type_errors(svc: BitsService) -> None:
    _, f = _file(svc)
    with pytest.raises(TypeError):
        f.set_remote_name(b"http://server/b")


@pytest.mark.parametrize("final", ["cancel", "complete"])
def test_final_jobs_give_bg_e_invalid_state(svc: BitsService, final: str, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"abc")
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    job.add_file("http://server/a", str(tmp_path / "a"))
    (f,) = job.enum_files()
    f2 = f.query_interface(IBackgroundCopyFile2)
    if final == "complete":
        job.resume()
        svc.run_until_idle()
        job.complete()
        assert job.get_state() is JobState.ACKNOWLEDGED
    else:
        job.cancel()
    assert _hresult(f2.set_remote_name, "http://server/b") == BG_E_INVALID_STATE
    assert _hresult(f2.set_remote_name, "ftp://bad") == BG_E_INVALID_STATE  # state before values


def test_another_users_identity_gives_e_accessdenied(svc: BitsService) -> None:
    """The access check is the setter's (only the owner or an administrator changes a job): a caller
    whose dynamic cloaking presents another standard user is refused."""
    charlie = svc.logon(svc.add_user("charlie"))
    _job, f = _file(svc)
    f.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC))
    with svc.impersonate(charlie.token):
        assert _hresult(f.set_remote_name, "http://server/b") == E_ACCESSDENIED
    assert f.get_remote_name() == "http://server/a"


def test_error_then_set_remote_name_then_resume_transfers(tmp_path: Path) -> None:
    """The pattern of pywin32's test_bits.py: a 404 fails the job, the file is repointed, Resume."""
    with BitsService(clock=ManualClock()) as svc:
        svc.network.register("http://server/good", b"payload")
        svc.network.register("http://server/other", b"x")  # same host: /missing answers 404
        _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        job.add_file("http://server/missing", str(tmp_path / "a"))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.ERROR
        assert job.get_error().get_error()[1] == 0x80190194
        (f,) = job.enum_files()
        f.query_interface(IBackgroundCopyFile2).set_remote_name("http://server/good")
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.TRANSFERRED
        job.complete()
        assert (tmp_path / "a").read_bytes() == b"payload"


@pytest.mark.parametrize(
    ("same_stamp", "ranges", "restarted"),
    [(True, True, False), (False, True, True), (True, False, True)],
)
def test_restart_rule_when_the_name_changes(tmp_path: Path, same_stamp: bool, ranges: bool, restarted: bool) -> None:
    """Suspend → SetRemoteName → Resume: the transfer resumes at its position on the new server only
    when the time stamp and size match and the server resumes; otherwise the file starts again."""
    clock = ManualClock()
    with BitsService(clock=clock) as svc:
        old = svc.network.register("http://one/f", b"A" * 1000, rate=100, last_modified=1_000_000.0)
        svc.network.register(
            "http://two/f",
            b"B" * 1000,
            rate=100,
            ranges=ranges,
            last_modified=old.last_modified if same_stamp else 2_000_000.0,
        )
        _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        job.add_file("http://one/f", str(tmp_path / "f"))
        job.resume()
        svc.advance(4)
        assert job.get_progress().bytes_transferred == 400
        job.suspend()
        (f,) = job.enum_files()
        f.query_interface(IBackgroundCopyFile2).set_remote_name("http://two/f")
        job.resume()
        svc.advance(0.5)
        progress = f.get_progress().bytes_transferred
        assert progress == (50 if restarted else 450)
        svc.run_until_idle()
        job.complete()
        expected = b"B" * 1000 if restarted else b"A" * 400 + b"B" * 600
        assert (tmp_path / "f").read_bytes() == expected


def test_a_transferred_file_is_not_transferred_again(tmp_path: Path) -> None:
    with BitsService(clock=ManualClock()) as svc:
        svc.network.register("http://one/a", b"first")
        svc.network.register("http://one/b", b"second", rate=1)
        svc.network.register("http://two/a", b"other")
        _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        job.add_file("http://one/a", str(tmp_path / "a"))
        job.add_file("http://one/b", str(tmp_path / "b"))
        job.resume()
        svc.advance(1)
        first, _second = job.enum_files()
        assert first.get_progress().bytes_transferred == 5
        job.suspend()
        first.query_interface(IBackgroundCopyFile2).set_remote_name("http://two/a")
        job.resume()
        svc.run_until_idle()
        job.complete()
        assert (tmp_path / "a").read_bytes() == b"first"
        assert first.get_remote_name() == "http://two/a"


def test_the_change_is_durable_only_after_resume(tmp_path: Path) -> None:
    """ "This method does not serialize when it returns … Calling Resume serializes the change": a
    service restarted from its store before Resume has the old name, after Resume the new one."""
    db = tmp_path / "bits.db"
    with BitsService(database=db) as svc:
        svc.filesystem.drive_root = tmp_path
        job_id, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        job.add_file("http://server/old", "/x/a")
        job.add_file("http://server/old2", "/x/b")
        first, second = job.enum_files()
        first.query_interface(IBackgroundCopyFile2).set_remote_name("http://server/new")
        assert first.get_remote_name() == "http://server/new"
    with BitsService(database=db) as svc:
        job = svc.connect().get_job(job_id)
        first, second = job.enum_files()
        assert first.get_remote_name() == "http://server/old"
        first.query_interface(IBackgroundCopyFile2).set_remote_name("http://server/new")
        second.query_interface(IBackgroundCopyFile2).set_remote_name("http://server/new2")
        job.resume()
        job.suspend()
    with BitsService(database=db) as svc:
        names = [f.get_remote_name() for f in svc.connect().get_job(job_id).enum_files()]
        assert names == ["http://server/new", "http://server/new2"]
