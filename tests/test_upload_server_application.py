"""The server application that processes an upload, and the TLS client certificate of uploads.

Statuses: https://learn.microsoft.com/en-us/windows/win32/bits/handling-server-application-errors ("All 3xx error
codes are transient errors except 300 - 305 and 307, which are fatal errors. All 4xx error codes are fatal errors
except for 408 and 409, which are transient errors. All 5xx error codes are transient errors except 501 and 505,
which are fatal errors. All other HTTP codes are considered transient errors. Note that a 403 error code is the
only error code that prevents BITS from posting the upload file to the server application again."), read in
docs/reference/readings.md#server-application. Client certificates:
https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/nf-bits2_5-ibackgroundcopyjobhttpoptions-setclientcertificatebyid
("You can specify a certificate for all job types")."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import (
    BitsService,
    Blanket,
    Cloaking,
    ErrorContext,
    IBitsTokenOptions,
    ImpersonationLevel,
    Job,
    JobState,
    JobType,
    ManualClock,
    TokenFlags,
)

pytestmark = pytest.mark.svc(clock="manual")

URL = "http://server/up"
BG_E_HTTP_ERROR_403 = 0x80190193
ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED = 0x80072F0C
ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY = 0x80072F9A
TLS_URL = "https://cc/up"
IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)

FATAL = [300, 301, 302, 303, 304, 305, 307, 400, 401, 403, 404, 410, 429, 499, 501, 505]
TRANSIENT = [100, 199, 201, 204, 299, 306, 308, 399, 408, 409, 500, 502, 503, 504, 506, 599]


def _upload(svc: BitsService, tmp_path: Path, job_type: JobType = JobType.UPLOAD_REPLY, url: str = URL) -> Job:
    src = tmp_path / "up.txt"
    src.write_bytes(b"d" * 100)
    _, job = svc.connect().create_job("up", job_type)
    job.add_file(url, str(src))
    job.resume()
    return job


@pytest.mark.parametrize("job_type", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
@pytest.mark.parametrize(
    ("status", "state"),
    [(s, JobState.ERROR) for s in FATAL] + [(s, JobState.TRANSIENT_ERROR) for s in TRANSIENT],
)
def test_the_server_application_page_splits_its_statuses(
    svc: BitsService, tmp_path: Path, job_type: JobType, status: int, state: JobState
) -> None:
    """The page's split, its own and not the download table (docs/reference/readings.md#http-statuses: 429 is
    transient for a download, 409 fatal): BG_E_HTTP_ERROR_<status>, context REMOTE_APPLICATION. Only 200 is a
    success ("If the application does not return 200"): a 1xx or another 2xx is one of "all other HTTP codes",
    transient."""
    endpoint = svc.network.register(URL, upload=True, reply=b"R", application_status=status)
    job = _upload(svc, tmp_path, job_type)
    svc.advance(1)
    assert job.get_state() is state
    assert job.get_error().get_error() == (ErrorContext.REMOTE_APPLICATION, 0x80190000 + status)
    assert job.get_error_count() == 1
    assert endpoint.received is None


def test_the_download_table_is_unchanged(svc: BitsService) -> None:
    """The page governs the server application of an upload only: a download's 409 stays fatal and its 429
    transient (docs/reference/readings.md#http-statuses)."""
    svc.filesystem.makedirs("C:\\data")
    svc.network.register("http://server/a", b"x", status=409)
    svc.network.register("http://server/b", b"x", status=429)
    states = []
    for name in ("a", "b"):
        _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
        job.add_file(f"http://server/{name}", f"C:\\data\\{name}")
        job.resume()
        svc.advance(1)
        states.append(job.get_state())
    assert states == [JobState.ERROR, JobState.TRANSIENT_ERROR]


def test_a_transient_application_error_posts_the_file_again(svc: BitsService, tmp_path: Path) -> None:
    """409 is transient: the retry asks the application again, without sending the bytes again; once it
    answers 200 the job transfers (docs/reference/readings.md#server-application)."""
    endpoint = svc.network.register(URL, upload=True, reply=b"R", application_status=409)
    job = _upload(svc, tmp_path)
    svc.advance(1)
    assert job.get_state() is JobState.TRANSIENT_ERROR
    endpoint.application_status = 200
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert endpoint.received == b"d" * 100
    assert job.get_reply_data() == b"R"


def test_a_fatal_application_error_other_than_403_posts_the_file_again_at_resume(
    svc: BitsService, tmp_path: Path
) -> None:
    """404 is fatal, but 403 is "the only error code that prevents BITS from posting the upload file to the
    server application again": Resume asks the application again."""
    endpoint = svc.network.register(URL, upload=True, reply=b"R", application_status=404)
    job = _upload(svc, tmp_path)
    svc.advance(1)
    assert job.get_state() is JobState.ERROR
    endpoint.application_status = 200
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert endpoint.requests == 2


@pytest.mark.parametrize("job_type", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
def test_after_a_403_the_file_is_never_posted_to_the_application_again(
    svc: BitsService, tmp_path: Path, job_type: JobType
) -> None:
    """403: "the only error code that prevents BITS from posting the upload file to the server application
    again". OUR CHOICE (docs/reference/readings.md#server-application): each later Resume fails again at once
    — ERROR, BG_E_HTTP_ERROR_403, context REMOTE_APPLICATION, counted — with no request, even when the
    application would now answer 200."""
    endpoint = svc.network.register(URL, upload=True, reply=b"R", application_status=403)
    job = _upload(svc, tmp_path, job_type)
    svc.advance(1)
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_APPLICATION, BG_E_HTTP_ERROR_403)
    endpoint.application_status = 200
    for count in (2, 3):
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.ERROR
        error = job.get_error()
        assert error.get_error() == (ErrorContext.REMOTE_APPLICATION, BG_E_HTTP_ERROR_403)
        assert error.get_file().get_remote_name() == URL
        assert error.get_protocol() == "http"
        assert job.get_error_count() == count
    assert endpoint.requests == 1
    assert endpoint.received is None
    assert job.get_progress().files_transferred == 0


def test_the_403_refusal_survives_a_service_restart(tmp_path: Path) -> None:
    """The job's error object is stored with it (docs/reference/states.md#persistence): after a restart, Resume
    still does not post the file again."""
    db = tmp_path / "queue.db"
    with BitsService(database=db, clock=ManualClock()) as svc:
        svc.network.register(URL, upload=True, application_status=403)
        job = _upload(svc, tmp_path, JobType.UPLOAD)
        svc.advance(1)
        assert job.get_state() is JobState.ERROR
        job_id = job.get_id()
    with BitsService(database=db, clock=ManualClock()) as svc:
        endpoint = svc.network.register(URL, upload=True)
        job = svc.connect().get_job(job_id)
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.ERROR
        assert job.get_error().get_error() == (ErrorContext.REMOTE_APPLICATION, BG_E_HTTP_ERROR_403)
        assert endpoint.requests == 0


# client certificates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("job_type", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
def test_an_upload_without_the_certificate_the_server_asks_for_fails(
    svc: BitsService, tmp_path: Path, job_type: JobType
) -> None:
    """"When a website accepts but does not require an SSL client certificate, and the BITS job does not
    specify a client certificate, the job will fail with ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED (0x80072f0c)";
    "You can specify a certificate for all job types" (SetClientCertificateByID page): as a download, ERROR,
    context GENERAL_TRANSPORT, before anything is sent."""
    endpoint = svc.network.register(TLS_URL, upload=True, reply=b"R", client_certificate=True)
    job = _upload(svc, tmp_path, job_type, TLS_URL)
    svc.run_until_idle()
    assert job.get_state() is JobState.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.GENERAL_TRANSPORT, ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED)
    assert error.get_file().get_remote_name() == TLS_URL
    assert job.get_progress().bytes_transferred == 0
    assert endpoint.received is None


@pytest.mark.parametrize("job_type", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
def test_an_upload_with_a_client_certificate_transfers(svc: BitsService, tmp_path: Path, job_type: JobType) -> None:
    """SetClientCertificateByName on an upload job: the server's request is met, the upload transfers."""
    endpoint = svc.network.register(TLS_URL, upload=True, reply=b"R", client_certificate=True)
    src = tmp_path / "up.txt"
    src.write_bytes(b"d" * 100)
    _, job = svc.connect().create_job("up", job_type)
    job.add_file(TLS_URL, str(src))
    job.set_client_certificate_by_name(1, "MY", "CN=client")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert endpoint.received == b"d" * 100


def test_T49_applies_to_uploads(tmp_path: Path) -> None:
    """T49 (docs/reference/security.md#t49): a client certificate with BG_TOKEN_NETWORK on a job not owned by
    LocalSystem fails with 0x80072F9A
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags);
    an upload's certificate is read in the same context as a download's."""
    with BitsService("post-1607", clock=ManualClock()) as svc:
        helper = svc.logon(svc.add_user("hU"))
        alice = svc.logon(svc.add_user("alice"))
        svc.network.register(TLS_URL, upload=True, client_certificate=True)
        src = tmp_path / "up.txt"
        src.write_bytes(b"d" * 100)
        _, job = svc.connect(alice.token, blanket=IMP).create_job("up", JobType.UPLOAD)
        job.add_file(TLS_URL, str(src))
        job.set_client_certificate_by_name(1, "MY", "CN=client")
        opts = job.query_interface(IBitsTokenOptions)
        with svc.impersonate(helper.token):
            opts.set_helper_token()
        opts.set_helper_token_flags(TokenFlags.NETWORK)
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.ERROR
        assert job.get_error().get_error() == (
            ErrorContext.GENERAL_TRANSPORT, ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY
        )
