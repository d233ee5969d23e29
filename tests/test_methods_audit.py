"""Method-by-method audit: facts of the method pages that the emulator already honoured but no test pinned.

Each test names its page. Pages: https://learn.microsoft.com/en-us/windows/win32/api/bits/ (IBackgroundCopyJob,
IBackgroundCopyError), .../api/bits1_5/ (IBackgroundCopyJob2), .../api/bits2_0/ (IBackgroundCopyJob3),
.../api/bits3_0/ (IBackgroundCopyJob4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import (
    BitsError,
    BitsService,
    ErrorContext,
    Job,
    JobState,
    JobType,
    NotifyFlags,
)

pytestmark = pytest.mark.svc(clock="manual", sandbox=True)

BG_E_FILE_NOT_AVAILABLE = 0x80200004
BG_E_PROTOCOL_NOT_AVAILABLE = 0x80200005
BG_E_NETWORK_DISCONNECTED = 0x80200010
BG_E_MAXDOWNLOAD_TIMEOUT = 0x80200054
E_INVALIDARG = 0x80070057

API = "https://learn.microsoft.com/en-us/windows/win32/api"


def _download(svc: BitsService, url: str, name: str = "a.bin") -> Job:
    svc.filesystem.makedirs("C:\\data")
    _, job = svc.connect().create_job("audit", JobType.DOWNLOAD)
    job.add_file(url, f"C:\\data\\{name}")
    return job


def test_resume_retries_a_transient_error_before_the_retry_delay(svc: BitsService) -> None:
    """SetMinimumRetryDelay (API/bits/nf-bits-ibackgroundcopyjob-setminimumretrydelay): "To start the job before
    the minimum retry period expires, call the IBackgroundCopyJob::Resume method." A job in TRANSIENT_ERROR with
    a delay of 600 s connects again at Resume (QUEUED, then CONNECTING at once), and the failed retry counts."""
    svc.network.register("http://server/busy", b"", status=503, latency=2)
    job = _download(svc, "http://server/busy")
    job.resume()
    svc.advance(5)
    assert job.get_state() is JobState.TRANSIENT_ERROR
    assert job.get_minimum_retry_delay() == 600
    assert job.get_error_count() == 1
    job.resume()
    assert job.get_state() is JobState.CONNECTING  # not waiting out the 600 s
    svc.advance(2)
    assert job.get_state() is JobState.TRANSIENT_ERROR
    assert job.get_error_count() == 2


def test_error_not_tied_to_a_file_or_protocol(svc: BitsService) -> None:
    """IBackgroundCopyError::GetFile (API/bits/nf-bits-ibackgroundcopyerror-getfile): BG_E_FILE_NOT_AVAILABLE
    (0x80200004) when the error is not associated with a file; GetProtocol
    (API/bits/nf-bits-ibackgroundcopyerror-getprotocol): BG_E_PROTOCOL_NOT_AVAILABLE (0x80200005) when it is not
    related to the transfer protocol. A lost network is neither: BG_E_NETWORK_DISCONNECTED, context
    GENERAL_TRANSPORT (docs/reference/return-codes.md), not counted by GetErrorCount."""
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    job = _download(svc, "http://server/a")
    job.resume()
    svc.advance(1)
    svc.network.disconnect()
    svc.advance(1)
    assert job.get_state() is JobState.TRANSIENT_ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.GENERAL_TRANSPORT, BG_E_NETWORK_DISCONNECTED)
    with pytest.raises(BitsError) as exc:
        error.get_file()
    assert exc.value.hresult == BG_E_FILE_NOT_AVAILABLE
    with pytest.raises(BitsError) as exc:
        error.get_protocol()
    assert exc.value.hresult == BG_E_PROTOCOL_NOT_AVAILABLE
    assert job.get_error_count() == 0
    svc.network.reconnect()


@pytest.mark.parametrize("kind", [JobType.UPLOAD, JobType.UPLOAD_REPLY, JobType.DOWNLOAD])
def test_file_ranges_transferred_flag_is_accepted_for_any_job(svc: BitsService, kind: JobType) -> None:
    """SetNotifyFlags (API/bits/nf-bits-ibackgroundcopyjob-setnotifyflags): BG_NOTIFY_FILE_RANGES_TRANSFERRED:
    "The flag can be specified for any job, but you will only get notifications for jobs that meet the
    requirements for a BITS_JOB_PROPERTY_ON_DEMAND_MODE job." An upload, upload-reply or plain download job takes
    the flag (S_OK) and returns it."""
    _, job = svc.connect().create_job("flags", kind)
    flags = NotifyFlags.JOB_TRANSFERRED | NotifyFlags.FILE_RANGES_TRANSFERRED
    job.set_notify_flags(flags)
    assert job.get_notify_flags() == flags


@pytest.mark.parametrize(
    ("flags", "runs"),
    [
        (NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR, 1),
        (NotifyFlags.JOB_TRANSFERRED | NotifyFlags.DISABLE, 0),  # DISABLE: the other bits are ignored
        (NotifyFlags.JOB_ERROR, 0),  # no JOB_TRANSFERRED: nothing on TRANSFERRED
        (NotifyFlags.JOB_MODIFICATION | NotifyFlags.FILE_TRANSFERRED, 0),  # ignored for the command line
    ],
)
def test_notify_command_line_follows_the_notify_flags(svc: BitsService, flags: NotifyFlags, runs: int) -> None:
    """SetNotifyCmdLine (API/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setnotifycmdline): the program runs when the
    job is TRANSFERRED if BG_NOTIFY_JOB_TRANSFERRED is set (ERROR with BG_NOTIFY_JOB_ERROR); JOB_MODIFICATION and
    FILE_TRANSFERRED do not apply to it; SetNotifyFlags (API/bits/nf-bits-ibackgroundcopyjob-setnotifyflags):
    BG_NOTIFY_DISABLE makes BITS ignore the other flags."""
    ran: list[tuple[str, str | None]] = []

    def runner(program: str, parameters: str | None) -> int:
        ran.append((program, parameters))
        return 0

    svc.notifications.command_runner = runner
    svc.network.register("http://server/a", b"x" * 10)
    job = _download(svc, "http://server/a")
    job.set_notify_flags(flags)
    job.set_notify_cmd_line("C:\\tools\\done.exe", "C:\\tools\\done.exe job")
    job.resume()
    svc.run_until_idle()
    svc.advance(1000)  # past any rerun delay
    assert job.get_state() is JobState.TRANSFERRED
    assert len(ran) == runs


def test_maximum_download_time_does_not_count_transient_error_time(svc: BitsService) -> None:
    """SetMaximumDownloadTime (API/bits3_0/nf-bits3_0-ibackgroundcopyjob4-setmaximumdownloadtime): the time
    counted is spent in CONNECTING and TRANSFERRING; time in QUEUED and TRANSIENT_ERROR is not. A job of 8 s that
    waits 30 s in TRANSIENT_ERROR still transfers; it fails with BG_E_MAXDOWNLOAD_TIMEOUT (0x80200054) once
    8 s of connecting and transferring have passed."""
    svc.network.register("http://server/a", b"x" * 100, rate=10, transient_failures=1, latency=1)
    job = _download(svc, "http://server/a")
    job.set_minimum_retry_delay(30)
    job.set_maximum_download_time(8)
    job.resume()
    svc.advance(2)  # 1 s connecting, then the transient failure
    assert job.get_state() is JobState.TRANSIENT_ERROR
    svc.advance(30)  # 30 s in TRANSIENT_ERROR, then the retry connects (1 s)
    assert job.get_state() is JobState.TRANSFERRING
    svc.advance(5)
    assert job.get_state() is JobState.TRANSFERRING
    assert job.get_progress().bytes_transferred == 50
    svc.advance(10)
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_MAXDOWNLOAD_TIMEOUT)


def test_replace_remote_prefix_result_limit_is_2200_characters(svc: BitsService) -> None:
    """ReplaceRemotePrefix (API/bits2_0/nf-bits2_0-ibackgroundcopyjob3-replaceremoteprefix): E_INVALIDARG when
    the new remote name would be longer than 2,200 characters; nothing changes. A new name of exactly 2,200
    characters is accepted (S_OK)."""
    url = "http://server/" + "/".join(["a" * 200] * 10)  # each segment within MAX_PATH
    job = _download(svc, url)
    room = 2200 - len(url) - 1  # one more segment of this many characters, and its "/"
    with pytest.raises(BitsError) as exc:
        job.replace_remote_prefix("http://server/", "http://server/" + "c" * (room + 1) + "/")
    assert exc.value.hresult == E_INVALIDARG
    (f,) = job.enum_files()
    assert f.get_remote_name() == url
    assert job.replace_remote_prefix("http://server/", "http://server/" + "b" * room + "/") == 0
    assert len(f.get_remote_name()) == 2200


def test_reply_file_name_may_change_while_the_upload_part_transfers(svc: BitsService, tmp_path: Path) -> None:
    """SetReplyFileName (API/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setreplyfilename): BG_E_INVALID_STATE only
    once the reply transfer has begun ("the state is BG_JOB_STATE_TRANSFERRING and the BytesTotal member of
    BG_JOB_REPLY_PROGRESS is not BG_SIZE_UNKNOWN"). While the upload itself transfers, the reply's size is still
    unknown and the name may change; the reply is written to the new name."""
    svc.network.register("http://server/up", upload=True, reply=b"REPLY", rate=10)
    (tmp_path / "up.txt").write_bytes(b"d" * 100)
    _, job = svc.connect().create_job("ur", JobType.UPLOAD_REPLY)
    job.add_file("http://server/up", str(tmp_path / "up.txt"))
    job.resume()
    svc.advance(3)
    assert job.get_state() is JobState.TRANSFERRING
    assert job.get_reply_progress().bytes_total == 2**64 - 1  # BG_SIZE_UNKNOWN: the reply has not begun
    job.set_reply_file_name(str(tmp_path / "reply.txt"))
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert job.complete() == 0
    assert (tmp_path / "reply.txt").read_bytes() == b"REPLY"


BG_SIZE_UNKNOWN = 2**64 - 1


@pytest.mark.parametrize(("status", "state"), [(500, JobState.TRANSIENT_ERROR), (404, JobState.ERROR)])
def test_failing_server_application_is_context_remote_application(
    svc: BitsService, tmp_path: Path, status: int, state: JobState
) -> None:
    """IBackgroundCopyError::GetError (API/bits/nf-bits-ibackgroundcopyerror-geterror): for an upload-reply job,
    context BG_ERROR_CONTEXT_REMOTE_APPLICATION (7) means the server application failed (BG_ERROR_CONTEXT page:
    "the server application that processed an upload"). The fake network's ``application_status`` plays that
    application (docs/reference/readings.md#server-application): BG_E_HTTP_ERROR_<status>, the file named,
    protocol "http", counted, transient or fatal as the status; the reply has not begun (BG_SIZE_UNKNOWN). Once
    the application answers 200, Resume completes the job: the next connection asks the application again."""
    res = svc.network.register("http://server/up", upload=True, reply=b"REPLY", application_status=status)
    (tmp_path / "up.txt").write_bytes(b"d" * 100)
    _, job = svc.connect().create_job("ur", JobType.UPLOAD_REPLY)
    job.add_file("http://server/up", str(tmp_path / "up.txt"))
    job.resume()
    svc.advance(1)
    assert job.get_state() is state
    error = job.get_error()
    assert error.get_error() == (ErrorContext.REMOTE_APPLICATION, 0x80190000 + status)
    assert error.get_file().get_remote_name() == "http://server/up"
    assert error.get_protocol() == "http"
    assert "remote server" in error.get_error_context_description(0x0409)
    assert job.get_error_count() == 1
    assert job.get_progress().files_transferred == 0
    assert job.get_reply_progress().bytes_total == BG_SIZE_UNKNOWN
    res.application_status = 200
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert res.requests == 2  # one connection per attempt
    assert job.get_reply_data() == b"REPLY"
