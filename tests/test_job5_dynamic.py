"""DYNAMIC_CONTENT jobs cannot resume: an interrupted file starts again from byte 0.

Fact: BITS_JOB_PROPERTY_ID (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id),
DYNAMIC_CONTENT — "BITS cannot pause and resume downloads jobs without that support. If a job with this
property enabled is interrupted for any reason, such as a temporary loss of network connectivity or the system
rebooting, BITS will restart the download from the beginning instead of resuming where it left off."
Emulator choices (docs/reference/readings.md#dynamic-restart): every connection after the interruption asks for
the whole file (no Range request); the file's progress and local bytes go back to 0 at that connection, not
before; files already transferred are kept.
"""

from __future__ import annotations

import http.server
from pathlib import Path
from typing import ClassVar

import pytest
from helpers import QuietLog, loopback_server

from emulator import BG_SIZE_UNKNOWN, BitsService, CostState, ErrorContext, Job, JobState, JobType, ManualClock
from emulator.constants import JobPropertyId as P

S = JobState
DATA = bytes(range(100))  # each offset distinguishable
BG_E_HTTP_ERROR_404 = 0x80190194

pytestmark = pytest.mark.svc(clock="manual")


def dyn_job(svc: BitsService, tmp_path: Path, *urls: str, dynamic: bool = True, name: str = "dyn") -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    if dynamic:
        job.set_property(P.DYNAMIC_CONTENT, True)
    for i, url in enumerate(urls):
        job.add_file(url, str(tmp_path / f"{name}-{i}.bin"))
    return job


def offsets(svc: BitsService, url: str) -> list[int]:
    """The first byte each request for ``url`` asked for (0: no Range request)."""
    return [r.offset for r in svc.network.requests_for(url)]


def temporary_bytes(job: Job) -> bytes:
    name = next(iter(job.enum_files())).get_temporary_name()
    assert name is not None  # the file has begun
    return Path(name).read_bytes()


def test_suspend_and_resume_restart_the_file_from_byte_0(svc: BitsService, tmp_path: Path) -> None:
    """The page: interrupted "for any reason" → "restart the download from the beginning"."""
    svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.resume()
    svc.advance(3)
    job.suspend()
    assert job.get_progress().bytes_transferred == 30  # what had arrived, until the next connection
    job.resume()
    assert job.get_state() is S.TRANSFERRING
    assert job.get_progress().bytes_transferred == 0  # restarted at the connection
    svc.advance(1)
    assert temporary_bytes(job) == DATA[:10]  # the old 30 bytes are gone, not overwritten in part
    svc.advance(9)
    assert job.get_state() is S.TRANSFERRED
    assert offsets(svc, "http://server/d") == [0, 0]  # no Range request the second time
    assert job.complete() == 0
    assert (tmp_path / "dyn-0.bin").read_bytes() == DATA


def test_without_dynamic_content_the_same_file_resumes(svc: BitsService, tmp_path: Path) -> None:
    """The contrast: an ordinary job resumes where it left off (file transfer consistency,
    https://learn.microsoft.com/en-us/windows/win32/bits/file-transfer-consistency): a Range request from byte 30."""
    svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d", dynamic=False, name="plain")
    job.resume()
    svc.advance(3)
    job.suspend()
    job.resume()
    assert job.get_progress().bytes_transferred == 30
    svc.advance(7)
    assert job.get_state() is S.TRANSFERRED
    assert offsets(svc, "http://server/d") == [0, 30]


def test_a_lost_network_restarts_the_file(svc: BitsService, tmp_path: Path) -> None:
    """The page's own example: "a temporary loss of network connectivity" (T17, T18)."""
    svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.resume()
    svc.advance(4)
    svc.network.disconnect()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_progress().bytes_transferred == 40
    svc.advance(60)
    svc.network.reconnect()
    assert job.get_state() is S.TRANSFERRING
    assert job.get_progress().bytes_transferred == 0
    svc.advance(9)
    assert job.get_progress().bytes_transferred == 90  # a full 10 s from byte 0, not 6 s from byte 40
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED
    assert offsets(svc, "http://server/d") == [0, 0]


def test_a_service_restart_restarts_the_file(svc: BitsService, tmp_path: Path) -> None:
    """The page's other example: "the system rebooting" (svc.restart())."""
    svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.resume()
    svc.advance(5)
    svc.restart()
    assert job.get_progress().bytes_transferred == 0
    svc.run_until_idle()
    assert job.complete() == 0
    assert (tmp_path / "dyn-0.bin").read_bytes() == DATA
    assert offsets(svc, "http://server/d") == [0, 0]


def test_reopening_a_file_store_restarts_the_file(tmp_path: Path) -> None:
    """A reboot: the store kept 50 bytes of a job that was waiting for the network (T17); the next service
    connects it again from byte 0 when the network is back (T18)."""
    db, out = tmp_path / "bits.db", tmp_path / "out"
    out.mkdir()
    with BitsService(database=db, clock=ManualClock()) as first:
        first.network.register("http://server/d", DATA, rate=10)
        job_id, job = first.connect().create_job("dyn", JobType.DOWNLOAD)
        job.set_property(P.DYNAMIC_CONTENT, True)
        job.add_file("http://server/d", str(out / "d.bin"))
        job.resume()
        first.advance(5)
        first.network.disconnect()
        assert job.get_progress().bytes_transferred == 50
    with BitsService(database=db, clock=ManualClock()) as second:
        second.network.register("http://server/d", DATA, rate=10)
        job = second.connect().get_job(job_id)
        assert job.get_progress().bytes_transferred == 50  # not connected yet
        second.network.reconnect()
        assert job.get_progress().bytes_transferred == 0
        second.advance(10)
        assert job.get_state() is S.TRANSFERRED
        assert offsets(second, "http://server/d") == [0]
        assert job.complete() == 0
    assert (out / "d.bin").read_bytes() == DATA


def test_content_that_changed_between_attempts_is_not_mixed(svc: BitsService, tmp_path: Path) -> None:
    """Dynamic content may differ at each request; restarting from 0 keeps the file whole: the destination holds
    exactly the second answer, never 30 bytes of the first followed by the rest of the second."""
    res = svc.network.register("http://server/d", b"A" * 100, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.resume()
    svc.advance(3)
    job.suspend()
    res.content = b"B" * 100
    job.resume()
    svc.run_until_idle()
    assert job.complete() == 0
    assert (tmp_path / "dyn-0.bin").read_bytes() == b"B" * 100


def test_an_error_keeps_the_progress_until_a_connection_succeeds(svc: BitsService, tmp_path: Path) -> None:
    """A failed connection (404: ERROR, REMOTE_FILE) restarts nothing; the progress goes back to 0 at the
    connection that starts the transfer again (reading: at that connection)."""
    res = svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.resume()
    svc.advance(3)
    job.suspend()
    res.status = 404
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_HTTP_ERROR_404)
    assert job.get_progress().bytes_transferred == 30
    res.status = 200
    job.resume()
    assert job.get_progress().bytes_transferred == 0
    svc.run_until_idle()
    assert job.complete() == 0
    assert (tmp_path / "dyn-0.bin").read_bytes() == DATA
    assert offsets(svc, "http://server/d") == [0, 0, 0]  # the failed request asked for no range either


def test_transferred_files_are_kept_only_the_interrupted_one_restarts(svc: BitsService, tmp_path: Path) -> None:
    """Only the interrupted download restarts: the job's first file, already transferred, is not fetched again."""
    svc.network.register("http://server/1", b"1" * 20, rate=10)
    svc.network.register("http://server/2", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/1", "http://server/2")
    job.resume()
    svc.advance(5)  # file 1 in 2 s, then 30 bytes of file 2
    job.suspend()
    job.resume()
    p = job.get_progress()
    assert (p.files_transferred, p.bytes_transferred) == (1, 20)
    svc.run_until_idle()
    assert job.complete() == 0
    assert offsets(svc, "http://server/1") == [0]
    assert offsets(svc, "http://server/2") == [0, 0]
    assert (tmp_path / "dyn-1.bin").read_bytes() == DATA


def test_a_file_of_unknown_size_restarts_and_stays_unknown(svc: BitsService, tmp_path: Path) -> None:
    """Content without Content-Length (the reason for DYNAMIC_CONTENT): the size stays BG_SIZE_UNKNOWN
    (docs/transfers.md) across the restart, and the finished file is exactly the content."""
    svc.network.register("http://server/d", DATA, rate=10, content_length=False)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.resume()
    svc.advance(6)
    job.suspend()
    job.resume()
    p = job.get_progress()
    assert (p.bytes_transferred, p.bytes_total) == (0, BG_SIZE_UNKNOWN)
    svc.run_until_idle()
    assert job.get_progress().bytes_total == 100
    assert job.complete() == 0
    assert (tmp_path / "dyn-0.bin").read_bytes() == DATA


def test_a_retry_after_a_transient_failure_starts_from_byte_0(svc: BitsService, tmp_path: Path) -> None:
    """An interruption ending in a retry (T15): a 503 when reconnecting, then the retry after
    MinimumRetryDelay connects from byte 0."""
    res = svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.set_minimum_retry_delay(60)
    job.resume()
    svc.advance(4)
    job.suspend()
    res.transient_failures = 1
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_progress().bytes_transferred == 40
    svc.advance(60)
    assert job.get_state() is S.TRANSFERRING
    assert job.get_progress().bytes_transferred == 0
    svc.run_until_idle()
    assert offsets(svc, "http://server/d") == [0, 0, 0]
    assert job.complete() == 0
    assert (tmp_path / "dyn-0.bin").read_bytes() == DATA


def test_replace_remote_prefix_mid_transfer_restarts_the_file(svc: BitsService, tmp_path: Path) -> None:
    """ReplaceRemotePrefix reconnects a running file, which resumes on a server with the same time stamp and
    size (https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-replaceremoteprefix,
    docs/reference/readings.md#prefix-reconnect) — except in a DYNAMIC_CONTENT job, which cannot resume."""
    svc.network.register("http://old/d", DATA, rate=10, last_modified=1.0e9)
    svc.network.register("http://new/d", DATA, rate=10, last_modified=1.0e9)
    job = dyn_job(svc, tmp_path, "http://old/d")
    job.resume()
    svc.advance(3)
    job.replace_remote_prefix("http://old", "http://new")
    assert job.get_progress().bytes_transferred == 0
    svc.run_until_idle()
    assert offsets(svc, "http://new/d") == [0]
    assert job.complete() == 0
    assert (tmp_path / "dyn-0.bin").read_bytes() == DATA


def test_a_cost_hold_is_an_interruption_too(svc: BitsService, tmp_path: Path) -> None:
    """Held by its COST_FLAGS (docs/reference/readings.md#cost-flags) and released: the file starts again."""
    svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d")
    job.set_property(P.COST_FLAGS, int(CostState.UNRESTRICTED))
    job.resume()
    svc.advance(5)
    svc.network.cost_state = CostState.ROAMING
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_progress().bytes_transferred == 50
    svc.network.cost_state = CostState.UNRESTRICTED
    assert job.get_progress().bytes_transferred == 0
    svc.run_until_idle()
    assert offsets(svc, "http://server/d") == [0, 0]


class _Dynamic(QuietLog, http.server.BaseHTTPRequestHandler):
    """Generated content that honours a Range request anyway; records each request's Range header."""

    ranges: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).ranges.append(self.headers.get("Range"))
        self.send_response(200)
        self.send_header("Content-Length", str(len(DATA)))
        self.end_headers()
        self.wfile.write(DATA)


@pytest.mark.parametrize("dynamic", [True, False])
def test_a_loopback_server_gets_no_range_request(svc: BitsService, tmp_path: Path, dynamic: bool) -> None:
    """A file interrupted on the fake network, then pointed at a loopback server (SetRemoteName while SUSPENDED):
    a DYNAMIC_CONTENT job asks that server for the whole file; an ordinary one asks from byte 30."""
    _Dynamic.ranges = []
    svc.network.register("http://server/d", DATA, rate=10)
    job = dyn_job(svc, tmp_path, "http://server/d", dynamic=dynamic)
    job.resume()
    svc.advance(3)
    job.suspend()
    with loopback_server(_Dynamic) as base:
        next(iter(job.enum_files())).set_remote_name(f"{base}/d")
        job.resume()
        svc.run_until_idle()
    assert _Dynamic.ranges == ([None] if dynamic else ["bytes=30-"])
    if dynamic:
        assert job.complete() == 0
        assert (tmp_path / "dyn-0.bin").read_bytes() == DATA


def test_a_background_dynamic_job_is_capped_by_the_bandwidth_policy_and_a_foreground_one_is_not(
    svc: BitsService, tmp_path: Path
) -> None:
    """BITS_JOB_PROPERTY_ID: BITS "cannot throttle bandwidth usage for dynamic downloads" and "will not perform
    unthrottled transfers for any job that does not have BG_JOB_PRIORITY_FOREGROUND"; what a background dynamic
    job does is not said. OUR CHOICE (docs/reference/readings.md#dynamic-throttle): it transfers, and a
    MaxInternetBandwidth of 2 kbps (250 bytes a second, group policies page) binds it; made FOREGROUND, as the page
    advises, it goes at its source's rate."""
    from emulator import BandwidthLimit, GroupPolicy, JobPriority

    svc.network.register("http://server/bg", DATA * 10, rate=1000, content_length=False)
    svc.network.register("http://server/fg", DATA * 10, rate=1000, content_length=False)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=2))
    background = dyn_job(svc, tmp_path, "http://server/bg", name="bg")
    foreground = dyn_job(svc, tmp_path, "http://server/fg", name="fg")
    foreground.set_priority(JobPriority.FOREGROUND)
    background.resume()
    foreground.resume()
    svc.advance(1)
    assert (background.get_state(), background.get_progress().bytes_transferred) == (S.TRANSFERRING, 250)
    assert foreground.get_state() is S.TRANSFERRED
    svc.advance(3)
    assert background.get_state() is S.TRANSFERRED
