"""Job5 properties and server sizes at transfer time: MAX_DOWNLOAD_SIZE and a missing Content-Length.

Facts: BITS_JOB_PROPERTY_ID (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id)
— MAX_DOWNLOAD_SIZE is "the maximum number of bytes a BITS job will be allowed to download in total";
DYNAMIC_CONTENT opts in to content without "the Content-Length header". HTTP requirements for BITS downloads
(https://learn.microsoft.com/en-us/windows/win32/bits/http-requirements-for-bits-downloads): BITS "generates an
error if you try to transfer dynamic content". The codes, by their names in bitsmsg.h (BITS return values,
https://learn.microsoft.com/en-us/windows/win32/bits/bits-return-values): BG_E_MISSING_FILE_SIZE "The server did
not return the file size ... The Content-Length header is not available in the server's HTTP reply", and
BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED "The download reached the maximum download size limit set on the job".
Emulator choices (docs/reference/readings.md#job5-size-checks): both are fatal (ERROR); the size checks run
when the file connects.
"""

from __future__ import annotations

import http.server
from pathlib import Path

import pytest
from helpers import QuietLog, loopback_server

from emulator import BitsService, ErrorContext, Job, JobState, JobType
from emulator.constants import JobPropertyId as P

S = JobState
BG_E_MISSING_FILE_SIZE = 0x80200011
BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED = 0x80200064

pytestmark = pytest.mark.svc(clock="manual")


def new_job(svc: BitsService, tmp_path: Path, *urls: str) -> Job:
    _, job = svc.connect().create_job("job", JobType.DOWNLOAD)
    for i, url in enumerate(urls):
        job.add_file(url, str(tmp_path / f"{i}.bin"))
    return job


# MAX_DOWNLOAD_SIZE ------------------------------------------------------------------------------------------


def test_a_file_larger_than_the_maximum_fails_the_job_before_any_byte(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"a" * 100, rate=100)
    job = new_job(svc, tmp_path)
    job.set_property(P.MAX_DOWNLOAD_SIZE, 50)
    job.add_file("http://server/a", str(tmp_path / "a.bin"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED)
    assert error.get_file().get_remote_name() == "http://server/a"
    assert job.get_progress().bytes_transferred == 0
    assert job.get_error_count() == 1
    svc.advance(86400)
    assert job.get_state() is S.ERROR  # fatal: no retry


def test_a_file_of_exactly_the_maximum_transfers(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"a" * 100)
    job = new_job(svc, tmp_path)
    job.set_property(P.MAX_DOWNLOAD_SIZE, 100)
    job.add_file("http://server/a", str(tmp_path / "a.bin"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_the_maximum_counts_the_whole_job(svc: BitsService, tmp_path: Path) -> None:
    # "in total": the second 60-byte file would take the job to 120 bytes
    svc.network.register("http://server/1", b"1" * 60)
    svc.network.register("http://server/2", b"2" * 60)
    job = new_job(svc, tmp_path)
    job.set_property(P.MAX_DOWNLOAD_SIZE, 100)
    job.add_file("http://server/1", str(tmp_path / "1.bin"))
    job.add_file("http://server/2", str(tmp_path / "2.bin"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED)
    assert error.get_file().get_remote_name() == "http://server/2"
    p = job.get_progress()
    assert (p.bytes_transferred, p.files_transferred) == (60, 1)


def test_dynamic_content_of_unknown_size_stops_at_the_maximum(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/dyn", b"d" * 100, rate=10, content_length=False)
    job = new_job(svc, tmp_path)
    job.set_property(P.DYNAMIC_CONTENT, True)
    job.set_property(P.MAX_DOWNLOAD_SIZE, 50)
    job.add_file("http://server/dyn", str(tmp_path / "d.bin"))
    job.resume()
    svc.advance(4)
    assert job.get_state() is S.TRANSFERRING
    assert job.get_progress().bytes_transferred == 40
    svc.advance(1)  # the 50th byte is in and the server has more
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED)
    assert job.get_progress().bytes_transferred == 50


def test_dynamic_content_within_the_maximum_transfers(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/dyn", b"d" * 100, rate=10, content_length=False)
    job = new_job(svc, tmp_path)
    job.set_property(P.DYNAMIC_CONTENT, True)
    job.set_property(P.MAX_DOWNLOAD_SIZE, 100)
    job.add_file("http://server/dyn", str(tmp_path / "d.bin"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (tmp_path / "d.bin").read_bytes() == b"d" * 100


# no Content-Length ------------------------------------------------------------------------------------------


def test_no_content_length_without_dynamic_content_fails(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/nolen", b"n" * 100, rate=10, content_length=False)
    job = new_job(svc, tmp_path, "http://server/nolen")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.REMOTE_FILE, BG_E_MISSING_FILE_SIZE)
    assert error.get_protocol() == "http"
    assert job.get_progress().bytes_transferred == 0
    svc.advance(86400)
    assert job.get_state() is S.ERROR  # fatal: the server's answer will not change on a retry


class _NoLength(QuietLog, http.server.BaseHTTPRequestHandler):
    """HTTP/1.0, the body delimited by the end of the connection: no Content-Length, as dynamic content."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"generated")


def test_a_loopback_server_without_content_length(svc: BitsService, tmp_path: Path) -> None:
    with loopback_server(_NoLength) as base:
        plain = new_job(svc, tmp_path, f"{base}/page")
        plain.resume()
        svc.run_until_idle()
        assert plain.get_state() is S.ERROR
        assert plain.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_MISSING_FILE_SIZE)

        _, dyn = svc.connect().create_job("dyn", JobType.DOWNLOAD)
        dyn.set_property(P.DYNAMIC_CONTENT, True)
        dyn.add_file(f"{base}/page", str(tmp_path / "dyn.bin"))
        dyn.resume()
        svc.run_until_idle()
        assert dyn.get_state() is S.TRANSFERRED
        dyn.complete()
        assert (tmp_path / "dyn.bin").read_bytes() == b"generated"
