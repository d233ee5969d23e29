"""The redirect policy of SetSecurityFlags for real HTTP on the loopback interface
(IBackgroundCopyJobHttpOptions::SetSecurityFlags,
https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/nf-bits2_5-ibackgroundcopyjobhttpoptions-setsecurityflags):

* BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT (0, the default) follows redirects, the remote name unchanged;
* BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT (0x100) follows them and "BITS updates the remote name with the final URL";
* BG_HTTP_REDIRECT_POLICY_DISALLOW (0x200) "places the job in the fatal error state" with
  HRESULT_FROM_WIN32(HTTP_STATUS_AMBIGUOUS / _MOVED / _REDIRECT / _REDIRECT_METHOD / _REDIRECT_KEEP_VERB), and
  "BITS updates the remote name with the redirected URL" (T13, docs/reference/states.md#t13).
"""

from __future__ import annotations

import http.server
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from helpers import RANGE_DATA, HandlerFactory, QuietLog, RangeHandler

from emulator import BitsService, ErrorContext, Job, JobState, JobType, ManualClock

pytestmark = pytest.mark.svc(clock="manual")

ALLOW_SILENT, ALLOW_REPORT, DISALLOW = 0x0000, 0x0100, 0x0200


class _Redirects(QuietLog, http.server.BaseHTTPRequestHandler):
    """``/s<status>/<path>`` answers <status> with ``Location: /<path>``; anything else 200 with its path."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # http.server's name
        type(self).seen.append(self.path)
        head, _, rest = self.path[1:].partition("/")
        if head.startswith("s") and head[1:].isdigit():
            self.send_response(int(head[1:]))
            self.send_header("Location", f"/{rest}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _RangesBehindARedirect(RangeHandler):
    """``/r/<path>`` redirects (302) to ``/<path>``, which RangeHandler serves with byte ranges."""

    def do_GET(self) -> None:
        if self.path.startswith("/r/"):
            self.send_response(302)
            self.send_header("Location", self.path[2:])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture
def base(loopback: Callable[[HandlerFactory], str]) -> str:
    _Redirects.seen = []
    return loopback(_Redirects)


def _download(svc: BitsService, url: str, local: Path, flags: int) -> Job:
    _, job = svc.connect().create_job(local.name, JobType.DOWNLOAD)
    job.set_security_flags(flags)
    job.add_file(url, str(local))
    job.resume()
    svc.run_until_idle()
    return job


def test_allow_silent_follows_and_keeps_the_name(svc: BitsService, base: str, tmp_path: Path) -> None:
    """ALLOW_SILENT, the default: "Allows the server to redirect your request to another server"."""
    job = _download(svc, f"{base}/s302/new", tmp_path / "silent", ALLOW_SILENT)
    assert job.get_state() is JobState.TRANSFERRED
    assert next(iter(job.enum_files())).get_remote_name() == f"{base}/s302/new"
    job.complete()
    assert (tmp_path / "silent").read_bytes() == b"/new"
    assert _Redirects.seen == ["/s302/new", "/new"]


def test_allow_report_renames_the_file_to_the_final_url(svc: BitsService, base: str, tmp_path: Path) -> None:
    """ALLOW_REPORT: "BITS updates the remote name with the final URL" — the last of a chain of redirects."""
    job = _download(svc, f"{base}/s301/s307/final", tmp_path / "report", ALLOW_REPORT)
    assert job.get_state() is JobState.TRANSFERRED
    assert next(iter(job.enum_files())).get_remote_name() == f"{base}/final"
    assert _Redirects.seen == ["/s301/s307/final", "/s307/final", "/final"]
    # The request record keeps the URL the job asked for.
    assert [r.url for r in svc.network.requests] == [f"{base}/s301/s307/final"]


def test_allow_report_without_a_redirect_keeps_the_name(svc: BitsService, base: str, tmp_path: Path) -> None:
    job = _download(svc, f"{base}/plain", tmp_path / "plain", ALLOW_REPORT)
    assert job.get_state() is JobState.TRANSFERRED
    assert next(iter(job.enum_files())).get_remote_name() == f"{base}/plain"


@pytest.mark.parametrize(
    ("status", "hresult"),
    [
        (300, 0x8007012C),  # HRESULT_FROM_WIN32(HTTP_STATUS_AMBIGUOUS)
        (301, 0x8007012D),  # HRESULT_FROM_WIN32(HTTP_STATUS_MOVED)
        (302, 0x8007012E),  # HRESULT_FROM_WIN32(HTTP_STATUS_REDIRECT)
        (303, 0x8007012F),  # HRESULT_FROM_WIN32(HTTP_STATUS_REDIRECT_METHOD)
        (307, 0x80070133),  # HRESULT_FROM_WIN32(HTTP_STATUS_REDIRECT_KEEP_VERB)
        (308, 0x80070134),  # not listed by the page: emulator choice, HRESULT_FROM_WIN32(308)
    ],
)
def test_disallow_is_a_fatal_error_and_renames_the_file(
    svc: BitsService, base: str, tmp_path: Path, status: int, hresult: int
) -> None:
    """DISALLOW: fatal ERROR with HRESULT_FROM_WIN32(status), context REMOTE_FILE (emulator choice), the remote
    name becomes the redirected URL; the redirect is not followed."""
    job = _download(svc, f"{base}/s{status}/new", tmp_path / "disallow", DISALLOW)
    assert job.get_state() is JobState.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.REMOTE_FILE, hresult)
    assert error.get_file().get_remote_name() == f"{base}/new"
    assert job.get_error_count() == 1
    assert _Redirects.seen == [f"/s{status}/new"]
    assert not (tmp_path / "disallow").exists()


def test_disallow_then_resume_fetches_the_redirected_url(svc: BitsService, base: str, tmp_path: Path) -> None:
    """After the fatal error the file's remote name is the redirected URL: Resume (T4) asks for it directly."""
    job = _download(svc, f"{base}/s302/new", tmp_path / "again", DISALLOW)
    assert job.get_state() is JobState.ERROR
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert _Redirects.seen == ["/s302/new", "/new"]
    job.complete()
    assert (tmp_path / "again").read_bytes() == b"/new"


def test_the_new_name_survives_a_restart(tmp_path: Path, loopback: Callable[[HandlerFactory], str]) -> None:
    """The renamed remote name is stored like any other file property (docs/reference/states.md#persistence)."""
    _Redirects.seen = []
    url = loopback(_Redirects)
    store = tmp_path / "queue.db"
    with BitsService(database=store, clock=ManualClock()) as svc:
        job = _download(svc, f"{url}/s302/moved", tmp_path / "p", ALLOW_REPORT)
        job_id = job.get_id()
    with BitsService(database=store, clock=ManualClock()) as svc:
        again = svc.connect().get_job(job_id)
        assert next(iter(again.enum_files())).get_remote_name() == f"{url}/moved"


def test_ranged_files_follow_the_policy_too(
    svc: BitsService, loopback: Callable[[HandlerFactory], str], tmp_path: Path
) -> None:
    """Ranged files (AddFileWithRanges) are download files: ALLOW_REPORT renames them as well."""
    RangeHandler.requests = []
    url = loopback(_RangesBehindARedirect)
    _, job = svc.connect().create_job("ranged", JobType.DOWNLOAD)
    job.set_security_flags(ALLOW_REPORT)
    job.add_file_with_ranges(f"{url}/r/data", str(tmp_path / "parts"), [(10, 5)])
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert next(iter(job.enum_files())).get_remote_name() == f"{url}/data"
    job.complete()
    assert (tmp_path / "parts").read_bytes() == RANGE_DATA[10:15]
