"""IBackgroundCopyFile6 (UpdateDownloadPosition, RequestFileRanges, GetFilledFileRanges) and
IBackgroundCopyCallback3::FileRangesTransferred, on the fake network and on a loopback HTTP server.

Facts:
REQ = https://learn.microsoft.com/en-us/windows/win32/api/bits10_1/nf-bits10_1-ibackgroundcopyfile6-requestfileranges
POS = https://learn.microsoft.com/en-us/windows/win32/api/bits10_1/nf-bits10_1-ibackgroundcopyfile6-updatedownloadposition
FILLED = https://learn.microsoft.com/en-us/windows/win32/api/bits10_1/nf-bits10_1-ibackgroundcopyfile6-getfilledfileranges
CB3 = https://learn.microsoft.com/en-us/windows/win32/api/bits10_1/nf-bits10_1-ibackgroundcopycallback3-filerangestransferred
PROP = https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import RANGE_DATA as DATA
from helpers import CallRecorder, RangeHandler, hresult

from emulator import (
    BG_LENGTH_TO_EOF,
    BitsError,
    BitsService,
    ErrorContext,
    FileRange,
    JobState,
    JobType,
    ManualClock,
    NotifyFlags,
)
from emulator.constants import JobPropertyId

E_INVALIDARG = 0x80070057
E_NOINTERFACE = 0x80004002
BG_E_INVALID_STATE = 0x80200002
BG_E_INVALID_RANGE = 0x8020002B
BG_E_INSUFFICIENT_RANGE_SUPPORT = 0x80200013
BG_E_RANDOM_ACCESS_NOT_SUPPORTED = 0x8020006D


pytestmark = pytest.mark.svc(clock="manual")


def R(offset: int, length: int) -> FileRange:
    return FileRange(initial_offset=offset, length=length)


class RangesCallback(CallRecorder):
    """IBackgroundCopyCallback3."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[list[tuple[int, int]]] = []

    def FileRangesTransferred(self, job: Any, file: Any, ranges: list[FileRange]) -> int:
        assert file.get_remote_name().startswith("http")
        self.ranges.append([(r.initial_offset, r.length) for r in ranges])
        self.calls.append("FileRangesTransferred")
        return 0


def _job(svc: BitsService, url: str, local: Path, *, on_demand: bool = False) -> tuple[Any, Any]:
    _, job = svc.connect().create_job("od", JobType.DOWNLOAD)
    if on_demand:
        job.set_property(JobPropertyId.ON_DEMAND_MODE, True)
    job.add_file(url, str(local))
    return job, next(iter(job.enum_files()))


# who may use the File6 methods -----------------------------------------------------------------------------------


def test_random_access_needs_an_http_download_job_without_dynamic_content(svc: BitsService, tmp_path: Path) -> None:
    """REQ/POS/FILLED: BG_E_RANDOM_ACCESS_NOT_SUPPORTED unless the job meets the ON_DEMAND_MODE requirements:
    "a DOWNLOAD job. The job must not be DYNAMIC and the server must be an HTTP or HTTPS server"."""
    src = tmp_path / "up"
    src.write_bytes(b"x")
    _, up = svc.connect().create_job("up", JobType.UPLOAD)
    up.add_file("http://server/up", str(src))
    _, dyn = svc.connect().create_job("dyn", JobType.DOWNLOAD)
    dyn.set_property(JobPropertyId.DYNAMIC_CONTENT, True)
    dyn.add_file("http://server/f", str(tmp_path / "d"))
    _, smb = svc.connect().create_job("smb", JobType.DOWNLOAD)
    smb.add_file("\\\\server\\share\\f", str(tmp_path / "s"))
    _, ranged = svc.connect().create_job("ranged", JobType.DOWNLOAD)
    ranged.add_file_with_ranges("http://server/f", str(tmp_path / "r"), [(0, 1)])  # our choice: not eligible
    for job in (up, dyn, smb, ranged):
        f = next(iter(job.enum_files()))
        for name, arguments in [
            ("request_file_ranges", ([R(0, 1)],)),
            ("update_download_position", (0,)),
            ("get_filled_file_ranges", ()),
        ]:
            with pytest.raises(BitsError) as e:
                getattr(f, name)(*arguments)
            assert hresult(e) == BG_E_RANDOM_ACCESS_NOT_SUPPORTED


@pytest.mark.parametrize("first", [JobPropertyId.DYNAMIC_CONTENT, JobPropertyId.ON_DEMAND_MODE])
def test_on_demand_mode_and_dynamic_content_together(svc: BitsService, tmp_path: Path, first: JobPropertyId) -> None:
    """PROP states the requirement ("The job must not be DYNAMIC") and no SetProperty error for it: emulator's
    choice (docs/reference/readings.md#random-access), both are accepted in either order; the job transfers as
    DYNAMIC_CONTENT, the whole file, and refuses random access (BG_E_RANDOM_ACCESS_NOT_SUPPORTED)."""
    svc.network.register("http://server/f", b"x" * 100, rate=10)
    _, job = svc.connect().create_job("both", JobType.DOWNLOAD)
    second = JobPropertyId.ON_DEMAND_MODE if first is JobPropertyId.DYNAMIC_CONTENT else JobPropertyId.DYNAMIC_CONTENT
    job.set_property(first, True)
    job.set_property(second, True)
    assert job.get_property(first) is True and job.get_property(second) is True
    job.add_file("http://server/f", str(tmp_path / "f"))
    f = next(iter(job.enum_files()))
    job.resume()
    with pytest.raises(BitsError) as e:
        f.request_file_ranges([R(0, 5)])
    assert hresult(e) == BG_E_RANDOM_ACCESS_NOT_SUPPORTED
    svc.advance(10)
    assert job.get_state() is JobState.TRANSFERRED
    assert job.get_progress().bytes_transferred == 100


def test_random_access_is_refused_to_a_job_with_a_custom_http_method(svc: BitsService, tmp_path: Path) -> None:
    """REQ/POS/FILLED: the job must meet "the requirements for BITS_JOB_PROPERTY_ON_DEMAND_MODE jobs", else
    BG_E_RANDOM_ACCESS_NOT_SUPPORTED; and "BITS doesn't allow DYNAMIC_CONTENT nor ON_DEMAND_MODE jobs with
    SetHttpMethod" (https://learn.microsoft.com/en-us/windows/win32/api/bits10_2/
    nf-bits10_2-ibackgroundcopyjobhttpoptions2-sethttpmethod). Such a job fetches its file from byte 0 at every
    connection (docs/reference/readings.md#http-method-priority), so it cannot honour ranges: before, a request
    answered S_OK, reconnected the file from byte 0 and fetched no requested range first."""
    svc.network.register("http://server/f", DATA, rate=10)
    _, job = svc.connect().create_job("verb", JobType.DOWNLOAD)
    job.set_http_method("PUT")
    job.add_file("http://server/f", str(tmp_path / "v"))
    f = next(iter(job.enum_files()))
    job.resume()
    svc.advance(1)
    for name, arguments in [
        ("request_file_ranges", ([R(50, 10)],)),
        ("update_download_position", (50,)),
        ("get_filled_file_ranges", ()),
    ]:
        with pytest.raises(BitsError) as e:
            getattr(f, name)(*arguments)
        assert hresult(e) == BG_E_RANDOM_ACCESS_NOT_SUPPORTED
    svc.advance(1)
    assert f.get_progress().bytes_transferred == 20  # the transfer went on, nothing restarted
    assert [r.offset for r in svc.network.requests] == [0]


def test_file6_needs_bits_10_1(tmp_path: Path) -> None:
    """IBackgroundCopyFile6 is BITS 10.1: E_NOINTERFACE on Windows 10 1607's BITS."""
    with BitsService(profile="win10-1607", clock=ManualClock()) as svc:
        _, f = _job(svc, "http://server/f", tmp_path / "a")
        with pytest.raises(BitsError) as e:
            f.get_filled_file_ranges()
        assert hresult(e) == E_NOINTERFACE


def test_request_argument_errors(svc: BitsService, tmp_path: Path) -> None:
    """REQ: BG_E_INVALID_RANGE "if any part of the requested range is outside the actual file size" (once the
    size is known); an InitialOffset of BG_LENGTH_TO_EOF or a zero length is no range (our choice:
    BG_E_INVALID_RANGE); no ranges: E_INVALIDARG (our choice, as AddFileWithRanges)."""
    svc.network.register("http://server/f", DATA)
    job, f = _job(svc, "http://server/f", tmp_path / "a", on_demand=True)
    for ranges, code in [
        ([], E_INVALIDARG),
        ([R(BG_LENGTH_TO_EOF, 1)], BG_E_INVALID_RANGE),
        ([R(5, 0)], BG_E_INVALID_RANGE),
    ]:
        with pytest.raises(BitsError) as e:
            f.request_file_ranges(ranges)
        assert hresult(e) == code
    job.resume()  # learns the size; nothing requested yet, so the on-demand job rests
    assert job.get_state() is JobState.SUSPENDED
    assert f.get_progress().bytes_total == len(DATA)
    with pytest.raises(BitsError) as e:
        f.request_file_ranges([R(2040, 20)])
    assert hresult(e) == BG_E_INVALID_RANGE
    f.request_file_ranges([R(2040, 8)])  # the last byte is inside
    job.cancel()
    with pytest.raises(BitsError) as e:
        f.request_file_ranges([R(0, 1)])
    assert hresult(e) == BG_E_INVALID_STATE  # emulator choice: the setter rule on final jobs


# on-demand jobs ------------------------------------------------------------------------------------------------------


def test_on_demand_job_fetches_only_requested_ranges_then_suspends(svc: BitsService, tmp_path: Path) -> None:
    """T28 (docs/reference/states.md#t28), both outcomes.
    REQ: "When all of the requested ranges have been downloaded the job state will be set to
    BG_JOB_STATE_TRANSFERRED if all of the bytes of the file have been transferred. Otherwise, the job state will
    be set to BG_JOB_STATE_SUSPENDED." FILLED: merged, ordered by offset. CB3: the ranges since the last call."""
    res = svc.network.register("http://server/f", DATA)
    job, f = _job(svc, "http://server/f", tmp_path / "a", on_demand=True)
    cb = RangesCallback()
    job.set_notify_flags(NotifyFlags.JOB_TRANSFERRED | NotifyFlags.FILE_RANGES_TRANSFERRED)
    job.set_notify_interface(cb)
    f.request_file_ranges([R(1000, 24), R(100, 50), R(150, 50)])
    job.resume()
    assert job.get_state() is JobState.SUSPENDED
    assert f.get_filled_file_ranges() == [R(100, 100), R(1000, 24)]
    assert f.get_progress().bytes_transferred == 124
    assert f.get_progress().bytes_total == len(DATA)
    assert sum(n for _, n in res.served) == 124
    assert cb.ranges == [[(100, 100), (1000, 24)]]
    # Ranges may overlap what is already there: "Ranges are automatically split into non-overlapping ranges".
    f.request_file_ranges([R(90, 20), R(2000, BG_LENGTH_TO_EOF)])
    job.resume()
    assert job.get_state() is JobState.SUSPENDED
    assert f.get_filled_file_ranges() == [R(90, 110), R(1000, 24), R(2000, 48)]
    assert cb.ranges[-1] == [(90, 10), (2000, 48)]  # no byte downloaded twice
    f.request_file_ranges([R(0, BG_LENGTH_TO_EOF)])
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    assert f.get_filled_file_ranges() == [R(0, len(DATA))]
    assert sum(n for _, n in res.served) == len(DATA)
    assert cb.calls[-1] == "JobTransferred"
    job.complete()
    assert (tmp_path / "a").read_bytes() == DATA


def test_on_demand_complete_keeps_only_whole_files(svc: BitsService, tmp_path: Path) -> None:
    """A partly filled on-demand file is not whole: Complete gives BG_S_PARTIAL_COMPLETE and no local file."""
    svc.network.register("http://server/f", DATA)
    job, f = _job(svc, "http://server/f", tmp_path / "a", on_demand=True)
    f.request_file_ranges([R(0, 10)])
    job.resume()
    assert job.get_state() is JobState.SUSPENDED
    assert job.complete() == 0x00200017
    assert not (tmp_path / "a").exists()


def test_notifications_need_the_flag(svc: BitsService, tmp_path: Path) -> None:
    """CB3 needs BG_NOTIFY_FILE_RANGES_TRANSFERRED (SetNotifyFlags); the default flags (3) do not include it."""
    svc.network.register("http://server/f", DATA)
    job, f = _job(svc, "http://server/f", tmp_path / "a", on_demand=True)
    cb = RangesCallback()
    job.set_notify_interface(cb)
    f.request_file_ranges([R(0, 10)])
    job.resume()
    assert cb.ranges == []


def test_the_plan_is_kept_across_a_service_restart(tmp_path: Path) -> None:
    """The on-demand requests and what is filled persist with the job."""
    db = tmp_path / "bits.db"
    with BitsService(database=str(db), clock=ManualClock()) as svc:
        svc.network.register("http://server/f", DATA)
        job, f = _job(svc, "http://server/f", tmp_path / "a", on_demand=True)
        job_id = job.get_id()
        f.request_file_ranges([R(500, 10)])
        job.resume()
        assert f.get_filled_file_ranges() == [R(500, 10)]
    with BitsService(database=str(db), clock=ManualClock()) as svc:
        svc.network.register("http://server/f", DATA)
        job = svc.connect().get_job(job_id)
        f = next(iter(job.enum_files()))
        assert f.get_filled_file_ranges() == [R(500, 10)]
        f.request_file_ranges([R(0, 4)])
        job.resume()
        assert f.get_filled_file_ranges() == [R(0, 4), R(500, 10)]


# prioritised ranges in an ordinary job -----------------------------------------------------------------------------


def test_requested_ranges_come_first_then_the_rest(svc: BitsService, tmp_path: Path) -> None:
    """REQ: "Adds a new set of file ranges to be prioritized for download"; without ON_DEMAND_MODE the rest of the
    file follows and the job ends TRANSFERRED."""
    svc.network.register("http://server/f", DATA, rate=100)
    job, f = _job(svc, "http://server/f", tmp_path / "a")
    job.resume()
    svc.advance(1)
    assert f.get_filled_file_ranges() == [R(0, 100)]  # FILLED of a file downloaded in order
    f.request_file_ranges([R(1500, 150)])
    svc.advance(1)
    assert f.get_filled_file_ranges() == [R(0, 100), R(1500, 100)]
    svc.advance(1)
    assert f.get_filled_file_ranges() == [R(0, 150), R(1500, 150)]
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    job.complete()
    assert (tmp_path / "a").read_bytes() == DATA


def test_update_download_position(svc: BitsService, tmp_path: Path) -> None:
    """POS: "Specifies a position to prioritize downloading missing data from" — the missing data from the
    offset on comes next, then what is missing before it."""
    svc.network.register("http://server/f", DATA, rate=100)
    job, f = _job(svc, "http://server/f", tmp_path / "a")
    job.resume()
    svc.advance(1)
    f.update_download_position(1948)
    svc.advance(1)
    assert f.get_filled_file_ranges() == [R(0, 100), R(1948, 100)]
    svc.advance(1)
    assert f.get_filled_file_ranges() == [R(0, 200), R(1948, 100)]
    svc.run_until_idle()
    job.complete()
    assert (tmp_path / "a").read_bytes() == DATA


def test_server_without_ranges(svc: BitsService, tmp_path: Path) -> None:
    """PROP: the server must meet the range requirements; a server without them fails the file with
    BG_E_INSUFFICIENT_RANGE_SUPPORT, and then REQ/FILLED answer BG_E_RANDOM_ACCESS_NOT_SUPPORTED ("the server
    loses its ability to support download ranges")."""
    svc.network.register("http://server/f", DATA, ranges=False)
    job, f = _job(svc, "http://server/f", tmp_path / "a", on_demand=True)
    f.request_file_ranges([R(0, 10)])
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_INSUFFICIENT_RANGE_SUPPORT)
    with pytest.raises(BitsError) as e:
        f.get_filled_file_ranges()
    assert hresult(e) == BG_E_RANDOM_ACCESS_NOT_SUPPORTED


def test_requested_range_outside_a_file_of_unknown_size_fails_at_connection(svc: BitsService, tmp_path: Path) -> None:
    """Requested before the size was known, a range outside the file is found when the server answers:
    BG_E_INVALID_RANGE, job in ERROR."""
    svc.network.register("http://server/f", DATA)
    job, f = _job(svc, "http://server/f", tmp_path / "a", on_demand=True)
    f.request_file_ranges([R(4000, 1)])
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_INVALID_RANGE)


# loopback HTTP server -----------------------------------------------------------------------------------------------


def test_on_demand_from_a_loopback_server(svc: BitsService, range_server: str, tmp_path: Path) -> None:
    """The same on-demand cycle against a real HTTP server: one Range request per missing span."""
    job, f = _job(svc, f"{range_server}/data", tmp_path / "a", on_demand=True)
    cb = RangesCallback()
    job.set_notify_flags(NotifyFlags.FILE_RANGES_TRANSFERRED)
    job.set_notify_interface(cb)
    f.request_file_ranges([R(300, 100), R(10, 5)])
    job.resume()
    assert job.get_state() is JobState.SUSPENDED
    assert f.get_filled_file_ranges() == [R(10, 5), R(300, 100)]
    assert "/data bytes=300-399" in RangeHandler.requests
    assert cb.ranges == [[(10, 5), (300, 100)]]
    f.request_file_ranges([R(0, BG_LENGTH_TO_EOF)])
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    job.complete()
    assert (tmp_path / "a").read_bytes() == DATA
