"""IBackgroundCopyJob3::AddFileWithRanges and IBackgroundCopyFile2::GetFileRanges, on the fake network and on a
loopback HTTP server.

Facts:
ADD = https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-addfilewithranges
GET = https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyfile2-getfileranges
RANGE = https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/ns-bits2_0-bg_file_range
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import RANGE_DATA as DATA
from helpers import RangeHandler, hresult

from emulator import (
    BG_LENGTH_TO_EOF,
    BitsError,
    BitsService,
    ErrorContext,
    FileRange,
    Job,
    JobState,
    JobType,
    ManualClock,
)

E_INVALIDARG = 0x80070057
E_NOTIMPL = 0x80004001
BG_E_INVALID_STATE = 0x80200002
BG_E_INVALID_RANGE = 0x8020002B
BG_E_OVERLAPPING_RANGES = 0x8020002C
BG_E_TOO_MANY_RANGES_IN_FILE = 0x80200052
BG_E_INSUFFICIENT_RANGE_SUPPORT = 0x80200013
BG_E_INVALID_SERVER_RESPONSE = 0x8020001B
S_FALSE = 1


pytestmark = pytest.mark.svc(clock="manual")


def _job(svc: BitsService, job_type: JobType = JobType.DOWNLOAD) -> Job:
    return svc.connect().create_job("ranges", job_type)[1]


# AddFileWithRanges: argument checks ---------------------------------------------------------------------------


def test_zero_ranges_is_e_invalidarg_add(svc: BitsService, tmp_path: Path) -> None:
    """ADD: E_INVALIDARG — "The RangeCount parameter is zero"."""
    job = _job(svc)
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [])
    assert hresult(e) == E_INVALIDARG
    assert job.get_progress().files_total == 0


def test_initial_offset_to_eof_is_invalid_range_add(svc: BitsService, tmp_path: Path) -> None:
    """ADD: BG_E_INVALID_RANGE — "For example, InitialOffset is set to BG_LENGTH_TO_EOF"."""
    job = _job(svc)
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(BG_LENGTH_TO_EOF, 10)])
    assert hresult(e) == BG_E_INVALID_RANGE


@pytest.mark.parametrize(
    "ranges",
    [
        [(100, 5), (100, 0)],  # ADD's own example: same offset, "in reverse order"
        [(100, 10), (100, 10)],  # duplicate
        [(0, 10), (5, 10)],  # overlap
        [(50, 10), (0, 51)],  # overlap found after sorting by offset
        [(10, BG_LENGTH_TO_EOF), (500, 1)],  # a range to EOF covers everything after it
    ],
)
def test_overlapping_ranges_add(svc: BitsService, tmp_path: Path, ranges: list[tuple[int, int]]) -> None:
    """ADD: BG_E_OVERLAPPING_RANGES for duplicate or overlapping ranges (sorted by offset, not length)."""
    job = _job(svc)
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), ranges)
    assert hresult(e) == BG_E_OVERLAPPING_RANGES


def test_same_offset_zero_length_first_is_accepted_add(svc: BitsService, tmp_path: Path) -> None:
    """ADD: only the reverse order (100.5 then 100.0) is refused; 100.0 then 100.5 sorts without overlap."""
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(100, 0), (100, 5), (105, 1)])
    assert job.get_progress().files_total == 1


def test_max_ranges_per_file_add(svc: BitsService, tmp_path: Path) -> None:
    """ADD: "By default, a user can add up to 500 ranges for a file. This limit does not apply to
    administrators or service accounts." → BG_E_TOO_MANY_RANGES_IN_FILE for the 501st."""
    many = [(i * 10, 5) for i in range(501)]
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), many[:500])
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "b"), many)
    assert hresult(e) == BG_E_TOO_MANY_RANGES_IN_FILE
    admin = svc.logon(svc.add_user("root", admin=True)).elevated_token
    _, admin_job = svc.connect(admin).create_job("admin", JobType.DOWNLOAD)
    admin_job.add_file_with_ranges("http://server/f", str(tmp_path / "c"), many)
    assert admin_job.get_progress().files_total == 1


@pytest.mark.parametrize("job_type", [JobType.UPLOAD, JobType.UPLOAD_REPLY])
def test_upload_jobs_are_notimpl_add(svc: BitsService, tmp_path: Path, job_type: JobType) -> None:
    """ADD: E_NOTIMPL — "You cannot call this method for upload or upload-reply jobs"."""
    job = _job(svc, job_type)
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(0, 1)])
    assert hresult(e) == E_NOTIMPL


def test_bad_names_and_smb_are_invalidarg_add(svc: BitsService, tmp_path: Path) -> None:
    """ADD: E_INVALIDARG for an invalid name, an unsupported protocol, a relative local path; and "Starting with
    BITS 3.0, the SMB protocol is not supported for ranges" (the code: E_INVALIDARG, our reading)."""
    job = _job(svc)
    for remote, local in [
        ("ftp://server/f", str(tmp_path / "a")),
        ("http://server/f", "relative\\a"),
        ("\\\\server\\share\\f", str(tmp_path / "a")),
        ("file:///C:/data/f", str(tmp_path / "a")),
    ]:
        with pytest.raises(BitsError) as e:
            job.add_file_with_ranges(remote, local, [(0, 1)])
        assert hresult(e) == E_INVALIDARG


def test_set_remote_name_cannot_move_a_ranged_file_to_smb(svc: BitsService, tmp_path: Path) -> None:
    """ADD: "Starting with BITS 3.0, the SMB protocol is not supported for ranges"; SetRemoteName
    (https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyfile2-setremotename)
    answers E_INVALIDARG for a name it cannot use — as ReplaceRemotePrefix does for the same change (the code:
    E_INVALIDARG, docs/reference/readings.md#ranges-smb-dynamic). The file keeps its name and its ranges."""
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(0, 5), (10, 5)])
    (f,) = job.enum_files()
    for smb in ("\\\\server\\share\\f", "file:///C:/data/f"):
        with pytest.raises(BitsError) as e:
            f.set_remote_name(smb)
        assert hresult(e) == E_INVALIDARG
        with pytest.raises(BitsError) as e:
            job.replace_remote_prefix("http://server/f", smb)
        assert hresult(e) == E_INVALIDARG
    assert f.get_remote_name() == "http://server/f"
    assert f.get_file_ranges() == [FileRange(initial_offset=0, length=5), FileRange(initial_offset=10, length=5)]
    f.set_remote_name("https://other/f")  # another HTTP(S) name stays allowed
    assert f.get_remote_name() == "https://other/f"


@pytest.mark.parametrize(
    "ranges",
    [
        [(0, 2**63)],  # one byte past the largest Windows file
        [(1, 2**64 - 2)],  # ends at 2**64-1: a UINT64, but no file is that long
        [(0, 2**62), (2**62, 2**62)],  # together past 2**63-1
        [(2**63, 1)],
        [(2**63 - 1, BG_LENGTH_TO_EOF)],  # starts where no file has a byte
        [(2, 2**64 - 2)],  # past 2**64-1 (refused before too)
    ],
)
def test_ranges_past_the_largest_file_are_invalid_range(
    svc: BitsService, tmp_path: Path, ranges: list[tuple[int, int]]
) -> None:
    """ADD: BG_E_INVALID_RANGE (0x8020002B) — "One of the ranges is invalid". Emulator choice
    (docs/reference/readings.md#range-bound): Windows file sizes and offsets are signed 64-bit
    (LARGE_INTEGER), so a range reaching past 2**63-1 bytes is in no remote file and makes no local file. Before,
    such ranges escaped as SQLite's OverflowError with the file half-added."""
    job = _job(svc)
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), ranges)
    assert hresult(e) == BG_E_INVALID_RANGE
    assert job.get_progress().files_total == 0
    job.add_file_with_ranges("http://server/f", str(tmp_path / "b"), [(0, 2**63 - 1)])  # the largest file
    assert job.get_progress().bytes_total == 2**63 - 1
    svc.restart()
    (f,) = svc.connect().get_job(job.get_id()).enum_files()
    assert f.get_file_ranges() == [FileRange(initial_offset=0, length=2**63 - 1)]


def test_final_job_is_invalid_state_add(svc: BitsService, tmp_path: Path) -> None:
    """ADD: BG_E_INVALID_STATE — "The state of the job cannot be BG_JOB_STATE_CANCELLED or ACKNOWLEDGED"."""
    job = _job(svc)
    job.cancel()
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(0, 1)])
    assert hresult(e) == BG_E_INVALID_STATE


def test_argument_types(svc: BitsService, tmp_path: Path) -> None:
    """Wrong Python types: TypeError; a value that does not fit a UINT64: OverflowError (API edge)."""
    job = _job(svc)
    with pytest.raises(TypeError):
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(0, "1")])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), "0-1")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(-1, 1)])


# GetFileRanges ---------------------------------------------------------------------------------------------------


def test_get_file_ranges_in_the_given_order(svc: BitsService, tmp_path: Path) -> None:
    """GET: the ranges you want to download, as given (including BG_LENGTH_TO_EOF); S_FALSE (None here) with no
    ranges."""
    job = _job(svc)
    given = [(900, 100), (24, 17), (2000, BG_LENGTH_TO_EOF)]
    as_models = [FileRange(initial_offset=o, length=n) for o, n in given]
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), as_models)
    job.add_file("http://server/f", str(tmp_path / "b"))
    ranged, plain = list(job.enum_files())
    assert ranged.get_file_ranges() == [FileRange(initial_offset=o, length=n) for o, n in given]
    assert plain.get_file_ranges() is None  # S_FALSE: "No ranges were specified"
    # BG_FILE_PROGRESS.BytesTotal of a ranged file is the sum of its ranges; unknown while one runs to EOF.
    assert ranged.get_progress().bytes_total == 0xFFFFFFFFFFFFFFFF


def test_get_file_ranges_of_an_upload_job_is_s_false(svc: BitsService, tmp_path: Path) -> None:
    """GET: S_FALSE when "the job is an upload or upload-reply job"."""
    src = tmp_path / "up"
    src.write_bytes(b"x")
    job = _job(svc, JobType.UPLOAD)
    job.add_file("http://server/up", str(src))
    assert next(iter(job.enum_files())).get_file_ranges() is None


def test_ranges_survive_a_restart(tmp_path: Path) -> None:
    """The ranges are part of the job and persist with it (the store keeps FileRecord.ranges)."""
    db = tmp_path / "bits.db"
    with BitsService(database=str(db), clock=ManualClock()) as svc:
        job_id, job = svc.connect().create_job("keep", JobType.DOWNLOAD)
        job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(5, 5), (0, 2)])
    with BitsService(database=str(db), clock=ManualClock()) as svc:
        f = next(iter(svc.connect().get_job(job_id).enum_files()))
        assert f.get_file_ranges() == [FileRange(initial_offset=5, length=5), FileRange(initial_offset=0, length=2)]
        assert f.get_progress().bytes_total == 7


# transfers on the fake network ------------------------------------------------------------------------------------


def test_ranges_written_in_the_given_order_fake_network(svc: BitsService, tmp_path: Path) -> None:
    """ADD remarks: remote 100-199, 900-999, 400-499 → a 300-byte local file holding them in that order."""
    res = svc.network.register("http://server/f", DATA, rate=100)
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(100, 100), (900, 100), (400, 100)])
    f = next(iter(job.enum_files()))
    assert f.get_progress().bytes_total == 300
    job.resume()
    svc.advance(1.5)
    assert job.get_state() is JobState.TRANSFERRING
    assert f.get_progress().bytes_transferred == 150
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert job.complete() == 0
    assert (tmp_path / "a").read_bytes() == DATA[100:200] + DATA[900:1000] + DATA[400:500]
    assert sum(n for _, n in res.served) == 300  # only the ranges were read from the server


def test_range_to_eof_resolves_when_the_size_is_known(svc: BitsService, tmp_path: Path) -> None:
    """ADD example: (24, 17), (111, BG_LENGTH_TO_EOF), (83, 7); BytesTotal becomes the sum once the size is known."""
    svc.network.register("http://server/f", DATA)
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(24, 17), (111, BG_LENGTH_TO_EOF), (83, 7)])
    job.resume()
    f = next(iter(job.enum_files()))
    assert f.get_progress().bytes_total == 17 + (len(DATA) - 111) + 7
    job.complete()
    assert (tmp_path / "a").read_bytes() == DATA[24:41] + DATA[111:] + DATA[83:90]


def test_range_beyond_the_end_is_invalid_range_at_runtime(svc: BitsService, tmp_path: Path) -> None:
    """ADD remarks: after Resume, "One of the ranges is outside the boundaries of the remote file" →
    BG_E_INVALID_RANGE, job in ERROR (RANGE: "The range must exist in the file")."""
    svc.network.register("http://server/f", DATA)
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(0, 10), (2000, 100)])
    job.resume()
    assert job.get_state() is JobState.ERROR
    err = job.get_error()
    assert err.get_error() == (ErrorContext.REMOTE_FILE, BG_E_INVALID_RANGE)
    assert err.get_file().get_remote_name() == "http://server/f"


def test_server_without_ranges_is_insufficient_range_support(svc: BitsService, tmp_path: Path) -> None:
    """ADD remarks: "The server does not support ranges" → BG_E_INSUFFICIENT_RANGE_SUPPORT, job in ERROR."""
    svc.network.register("http://server/f", DATA, ranges=False)
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(0, 10)])
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_INSUFFICIENT_RANGE_SUPPORT)


def test_ranged_file_resumes_after_a_transient_error(svc: BitsService, tmp_path: Path) -> None:
    """A ranged file keeps its position across a reconnection, like any file (checkpoint restart)."""
    svc.network.register("http://server/f", DATA, rate=100)
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(1000, 200), (0, 100)])
    job.resume()
    svc.advance(1.5)
    svc.network.disconnect()
    assert job.get_state() is JobState.TRANSIENT_ERROR
    f = next(iter(job.enum_files()))
    assert f.get_progress().bytes_transferred == 150
    svc.network.reconnect()
    svc.run_until_idle()
    job.complete()
    assert (tmp_path / "a").read_bytes() == DATA[1000:1200] + DATA[0:100]


# transfers from a loopback HTTP server ----------------------------------------------------------------------------


def test_loopback_ranges_in_the_given_order(svc: BitsService, range_server: str, tmp_path: Path) -> None:
    """ADD remarks on a real HTTP server: each range fetched with a Range request, written in the given order."""
    job = _job(svc)
    ranges = [(100, 100), (900, 100), (2000, BG_LENGTH_TO_EOF)]
    job.add_file_with_ranges(f"{range_server}/data", str(tmp_path / "a"), ranges)
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    job.complete()
    assert (tmp_path / "a").read_bytes() == DATA[100:200] + DATA[900:1000] + DATA[2000:]
    assert "/data bytes=900-999" in RangeHandler.requests


def test_loopback_range_beyond_the_end(svc: BitsService, range_server: str, tmp_path: Path) -> None:
    """ADD remarks: BG_E_INVALID_RANGE when a range lies outside the remote file (size from Content-Range)."""
    job = _job(svc)
    job.add_file_with_ranges(f"{range_server}/data", str(tmp_path / "a"), [(2040, 20)])
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_INVALID_RANGE)


def test_loopback_server_without_ranges(svc: BitsService, range_server: str, tmp_path: Path) -> None:
    """ADD remarks: a 200 with the whole body to a Range request → BG_E_INSUFFICIENT_RANGE_SUPPORT."""
    job = _job(svc)
    job.add_file_with_ranges(f"{range_server}/norange", str(tmp_path / "a"), [(10, 10)])
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_INSUFFICIENT_RANGE_SUPPORT)


def test_loopback_server_consolidating_ranges(svc: BitsService, range_server: str, tmp_path: Path) -> None:
    """ADD remarks: "BITS does not support servers that consolidate duplicate or overlapping ranges" — an
    answer for other bytes than asked → BG_E_INVALID_SERVER_RESPONSE."""
    job = _job(svc)
    job.add_file_with_ranges(f"{range_server}/merge", str(tmp_path / "a"), [(100, 10)])
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_INVALID_SERVER_RESPONSE)


def test_ranged_file_restarts_when_the_server_copy_changes(svc: BitsService, tmp_path: Path) -> None:
    """ADD remarks: "BITS guarantees that the version of a file (based on file size and date, not content) that
    it transfers will be consistent" — the server's copy changes mid-transfer: the ranged file starts again and
    holds the ranges of the new copy only."""
    new = bytes(reversed(DATA))
    svc.network.register("http://server/f", DATA, rate=100, change_content_after=150, changed_content=new)
    job = _job(svc)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(1000, 100), (0, 100)])
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    job.complete()
    assert (tmp_path / "a").read_bytes() == new[1000:1100] + new[0:100]
