"""A user name and password embedded in a URL: "It's possible to embed the user name and password in the URL"
(https://learn.microsoft.com/en-us/windows/win32/bits/authentication), read in
docs/reference/readings.md#url-credentials: the URL names the resource registered without them, and the pair
counts as Basic server credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import AuthScheme, AuthTarget, BitsService, ErrorContext, Job, JobState, JobType

pytestmark = pytest.mark.svc(clock="manual", sandbox=True)

BG_E_HTTP_ERROR_401 = 0x80190191


def _download(svc: BitsService, url: str) -> Job:
    svc.filesystem.makedirs("C:\\data")
    _, job = svc.connect().create_job("creds", JobType.DOWNLOAD)
    job.add_file(url, "C:\\data\\f")
    job.resume()
    return job


@pytest.mark.parametrize("url", ["http://u:pw@plain/f", "http://u@plain/f", "http://U:P%40ss@PLAIN/f"])
def test_a_url_with_credentials_names_the_resource_without_them(svc: BitsService, url: str) -> None:
    """The user name and password are not part of the resource: the file registered as ``http://plain/f`` is
    served (no 404), and the request is counted against it."""
    res = svc.network.register("http://plain/f", b"data")
    job = _download(svc, url)
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert res.requests == 1
    svc.network.assert_all_requested()
    assert [(r.url, r.registered) for r in svc.network.requests] == [(url, True)]  # the name as given
    assert next(iter(job.enum_files())).get_remote_name() == url
    assert job.complete() == 0
    assert svc.filesystem.host_path("C:\\data\\f").read_bytes() == b"data"


@pytest.mark.parametrize(
    ("url", "state"),
    [
        ("http://alice:s3cret@plain/f", JobState.TRANSFERRED),
        ("http://alice:p%40ss@plain/g", JobState.TRANSFERRED),  # percent-decoded: "p@ss"
        ("http://alice:wrong@plain/f", JobState.ERROR),
        ("http://bob:s3cret@plain/f", JobState.ERROR),
        ("http://alice@plain/f", JobState.ERROR),
        ("http://plain/f", JobState.ERROR),
    ],
)
def test_embedded_credentials_count_as_basic_server_credentials(
    svc: BitsService, url: str, state: JobState
) -> None:
    """The page names embedded credentials in its paragraph on Basic authentication: against a server that
    asks for Basic credentials, the pair in the URL is tried as SetCredentials(SERVER, BASIC) would be; a
    wrong or missing pair is the fatal BG_E_HTTP_ERROR_401 of missing credentials (SetCredentials page:
    https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setcredentials)."""
    svc.network.register("http://plain/f", b"data", auth="basic", users={"alice": "s3cret"})
    svc.network.register("http://plain/g", b"data", auth="basic", users={"alice": "p@ss"})
    job = _download(svc, url)
    svc.run_until_idle()
    assert job.get_state() is state
    if state is JobState.ERROR:
        assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_HTTP_ERROR_401)


def test_the_jobs_own_credentials_still_count_beside_a_wrong_embedded_pair(svc: BitsService) -> None:
    """OUR CHOICE (docs/reference/readings.md#url-credentials): the embedded pair stands beside the job's Basic
    server credentials; the server accepts the job when either is right."""
    svc.network.register("http://plain/f", b"data", auth="basic", users={"alice": "s3cret"})
    svc.filesystem.makedirs("C:\\data")
    _, job = svc.connect().create_job("creds", JobType.DOWNLOAD)
    job.add_file("http://alice:wrong@plain/f", "C:\\data\\f")
    job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "alice", "s3cret")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED


def test_embedded_credentials_are_not_ntlm_credentials(svc: BitsService) -> None:
    """OUR CHOICE (docs/reference/readings.md#url-credentials): the pair is a Basic credential only; a server
    that asks for NTLM wants SetCredentials, and answers 401 without it."""
    svc.network.register("http://plain/f", b"data", auth="ntlm", users={"alice": "s3cret"})
    job = _download(svc, "http://alice:s3cret@plain/f")
    svc.run_until_idle()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_HTTP_ERROR_401)


def test_an_upload_to_a_url_with_credentials(svc: BitsService, tmp_path: Path) -> None:
    """Uploads reach the endpoint the same way, and Basic authentication takes the embedded pair."""
    endpoint = svc.network.register("http://plain/up", upload=True, auth="basic", users={"alice": "s3cret"})
    src = tmp_path / "up.txt"
    src.write_bytes(b"d" * 10)
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.add_file("http://alice:s3cret@plain/up", str(src))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert endpoint.received == b"d" * 10
