"""The job state machine at the API: docs/reference/states.md (T1–T33, final jobs) and the method pages
https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-<method>."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from emulator import BitsError, BitsService, ErrorContext, Job, JobState, JobType

BG_E_NOT_FOUND = 0x80200001
BG_E_INVALID_STATE = 0x80200002
BG_E_EMPTY = 0x80200003
BG_E_ERROR_INFORMATION_UNAVAILABLE = 0x8020000F
BG_S_PARTIAL_COMPLETE = 0x00200017


def _job(svc: BitsService, with_file: bool = False, job_type: JobType = JobType.DOWNLOAD) -> Job:
    _, job = svc.connect().create_job("states", job_type)
    if with_file:
        job.add_file("http://example.com/f", "C:\\data\\f.bin")
    return job


def test_resume_of_empty_job_is_bg_e_empty_and_stays_suspended_bits_core_2_2(svc: BitsService) -> None:
    """T3 (docs/reference/states.md#t3), Resume page: BG_E_EMPTY 0x80200003, the job stays SUSPENDED (3)."""
    job = _job(svc)
    with pytest.raises(BitsError) as exc:
        job.resume()
    assert exc.value.hresult == BG_E_EMPTY
    assert job.get_state() == JobState.SUSPENDED


def test_resume_with_a_file_leaves_suspended_bits_core_3_3(svc: BitsService) -> None:
    """T2 (docs/reference/states.md#t2): SUSPENDED → QUEUED on Resume when the job has a file."""
    job = _job(svc, with_file=True)
    job.resume()
    assert job.get_state() not in (JobState.SUSPENDED, JobState.ACKNOWLEDGED, JobState.CANCELLED)


def test_suspend_is_idempotent_bits_core_2_2(svc: BitsService) -> None:
    """T7 (docs/reference/states.md#t7), Suspend page: suspending a suspended job is a no-op success."""
    job = _job(svc, with_file=True)
    job.suspend()
    job.suspend()
    assert job.get_state() == JobState.SUSPENDED
    job.resume()
    job.suspend()
    assert job.get_state() == JobState.SUSPENDED


def test_cancel_twice_is_invalid_state_bits_core_2_2(svc: BitsService) -> None:
    """T31, T33 (docs/reference/states.md#t31), Cancel page: Cancel → CANCELLED (8); Cancel again → 0x80200002."""
    job = _job(svc)
    assert job.cancel() == 0
    assert job.get_state() == JobState.CANCELLED and JobState.CANCELLED.value == 8
    with pytest.raises(BitsError) as exc:
        job.cancel()
    assert exc.value.hresult == BG_E_INVALID_STATE


def test_complete_download_job_bits_core_2_2(svc: BitsService) -> None:
    """T29 (docs/reference/states.md#t29), Complete page: a download job may complete any time → ACKNOWLEDGED (7); with
    files not transferred the result is BG_S_PARTIAL_COMPLETE 0x00200017 (a success code, returned)."""
    empty = _job(svc)
    assert empty.complete() == 0
    assert empty.get_state() == JobState.ACKNOWLEDGED and JobState.ACKNOWLEDGED.value == 7
    job = _job(svc, with_file=True)
    assert job.complete() == BG_S_PARTIAL_COMPLETE
    assert job.get_state() == JobState.ACKNOWLEDGED


def test_complete_upload_before_transferred_is_invalid_state_bits_core_2_2(svc: BitsService) -> None:
    """T30 (docs/reference/states.md#t30), Complete page: upload jobs complete only when TRANSFERRED → 0x80200002."""
    job = _job(svc, with_file=True, job_type=JobType.UPLOAD)
    with pytest.raises(BitsError) as exc:
        job.complete()
    assert exc.value.hresult == BG_E_INVALID_STATE
    assert job.get_state() == JobState.SUSPENDED


FINAL_SETTERS: list[tuple[str, Callable[[Job], object]]] = [
    ("suspend", lambda j: j.suspend()),
    ("resume", lambda j: j.resume()),
    ("cancel", lambda j: j.cancel()),
    ("complete", lambda j: j.complete()),
    ("set_display_name", lambda j: j.set_display_name("n")),
    ("set_description", lambda j: j.set_description("d")),
    ("set_priority", lambda j: j.set_priority(1)),
    ("set_notify_flags", lambda j: j.set_notify_flags(1)),
    ("set_notify_interface", lambda j: j.set_notify_interface(None)),
    ("set_minimum_retry_delay", lambda j: j.set_minimum_retry_delay(60)),
    ("set_no_progress_timeout", lambda j: j.set_no_progress_timeout(60)),
    ("set_proxy_settings", lambda j: j.set_proxy_settings(1)),
    ("add_file", lambda j: j.add_file("http://example.com/g", "C:\\data\\g")),
    ("add_file_set", lambda j: j.add_file_set([("http://example.com/g", "C:\\data\\g")])),
]


@pytest.mark.parametrize("final", ["cancel", "complete"])
@pytest.mark.parametrize(("name", "call"), FINAL_SETTERS, ids=[n for n, _ in FINAL_SETTERS])
def test_final_states_refuse_setters_and_state_methods_bits_core_3_6(
    svc: BitsService, final: str, name: str, call: Callable[[Job], object]
) -> None:
    """docs/reference/states.md#setter-rule and #finality (T33): every setter and state method on an ACKNOWLEDGED or
    CANCELLED job → BG_E_INVALID_STATE 0x80200002."""
    job = _job(svc, with_file=True)
    getattr(job, final)()
    with pytest.raises(BitsError) as exc:
        call(job)
    assert exc.value.hresult == BG_E_INVALID_STATE


@pytest.mark.parametrize("final", ["cancel", "complete"])
def test_get_job_of_a_final_job_is_not_found_design_7(svc: BitsService, final: str) -> None:
    """docs/reference/readings.md#final-jobs: GetJob of a final job → BG_E_NOT_FOUND 0x80200001; EnumJobs omits it."""
    mgr = svc.connect()
    job_id, job = mgr.create_job("gone", JobType.DOWNLOAD)
    getattr(job, final)()
    with pytest.raises(BitsError) as exc:
        mgr.get_job(job_id)
    assert exc.value.hresult == BG_E_NOT_FOUND
    assert job_id not in [j.get_id() for j in mgr.enum_jobs()]


def test_getters_on_a_held_final_job_keep_working_design_7(svc: BitsService) -> None:
    """docs/reference/readings.md#final-jobs: getters on a held object of a final job keep working."""
    job = _job(svc, with_file=True)
    job.set_description("kept")
    job.cancel()
    assert job.get_state() == JobState.CANCELLED
    assert job.get_description() == "kept"
    assert job.get_display_name() == "states"
    assert job.get_type() is JobType.DOWNLOAD
    assert job.get_progress().files_total == 1
    assert job.get_owner() == svc.current_session.token.user_sid
    assert job.get_error_count() == 0
    assert job.get_minimum_retry_delay() == 600
    assert len(list(job.enum_files())) == 1
    with pytest.raises(BitsError) as exc:
        job.get_error()
    assert exc.value.hresult == BG_E_ERROR_INFORMATION_UNAVAILABLE


def test_final_job_leaves_the_store_bits_core_3_6(svc: BitsService) -> None:
    """T31 (docs/reference/states.md#t31): the job is removed from the queue (and from the store)."""
    job = _job(svc, with_file=True)
    key = str(job.get_id())
    job.cancel()
    assert job.get_id() not in svc.queue.jobs
    rows = svc.store.conn.execute("SELECT count(*) FROM jobs").fetchone()
    assert rows == (0,)
    files = svc.store.conn.execute("SELECT count(*) FROM files").fetchone()
    assert files == (0,)
    assert key


def test_state_change_updates_modification_time_bits_core_4_11(svc: BitsService, clock: object) -> None:
    """docs/reference/limits.md#defaults (times), BG_JOB_TIMES page: creation = modification at creation; a change moves
    modification time."""
    from emulator import ManualClock

    assert isinstance(clock, ManualClock)
    with BitsService(clock=clock) as s:
        _, job = s.connect().create_job("t", JobType.DOWNLOAD)
        t0 = job.get_times()
        clock.advance(10)
        job.set_description("x")
        t1 = job.get_times()
        assert t1.creation_time == t0.creation_time
        assert t1.modification_time > t0.modification_time


def test_state_changes_are_published_on_the_bus_issue_2(svc: BitsService) -> None:
    """Issue 2 (event bus): every state change publishes JobStateChanged(old, new); failed calls none."""
    from emulator import JobStateChanged

    seen: list[JobStateChanged] = []
    svc.bus.subscribe(JobStateChanged, seen.append)
    empty = _job(svc)
    with pytest.raises(BitsError):
        empty.resume()
    assert seen == []
    job = _job(svc, with_file=True)
    job.resume()
    job.suspend()
    job.cancel()
    mine = [(e.old, e.new) for e in seen if e.job_id == job.get_id()]
    assert mine[0] == (JobState.SUSPENDED, JobState.QUEUED)
    assert mine[-1][1] is JobState.CANCELLED
    assert (JobState.QUEUED, JobState.SUSPENDED) in mine or mine[-2][1] is JobState.SUSPENDED


def test_close_is_idempotent_and_announced_issue_2() -> None:
    """Issue 2: BitsService is a context manager; close() publishes ServiceStopping once."""
    from emulator import ServiceStopping

    svc = BitsService()
    seen: list[object] = []
    svc.bus.subscribe(ServiceStopping, seen.append)
    svc.close()
    svc.close()
    assert len(seen) == 1


def _errored(svc: BitsService) -> Job:
    from emulator import ErrorContext
    from emulator.domain.records import ErrorRecord

    job = _job(svc, with_file=True)
    rec = svc.queue.jobs[job.get_id()]
    error = ErrorRecord(ErrorContext.REMOTE_FILE, 0x80190194, file_index=0, protocol="http")
    svc.queue.update(rec, state=JobState.ERROR, error=error, error_count=1)
    return job


def test_error_object_bits_core_2_10(svc: BitsService) -> None:
    """IBackgroundCopyError (docs/reference/return-codes.md#error-contexts): GetError → (context, code); GetFile;
    GetProtocol "http"; descriptions with LanguageId 0 → E_INVALIDARG, an unknown language → 0x80070717."""
    from emulator import ErrorContext

    job = _errored(svc)
    err = job.get_error()
    assert err.get_error() == (ErrorContext.REMOTE_FILE, 0x80190194)
    assert err.get_file().get_remote_name() == "http://example.com/f"
    assert err.get_protocol() == "http"
    assert err.get_error_description(0x0409)
    assert "remote" in err.get_error_context_description(0x0409).lower()
    for call in (err.get_error_description, err.get_error_context_description):
        with pytest.raises(BitsError) as exc:
            call(0)
        assert exc.value.hresult == 0x80070057
        with pytest.raises(BitsError) as exc:
            call(0x0407)
        assert exc.value.hresult == 0x80070717
    assert job.get_error_count() == 1


@pytest.mark.svc(clock="manual", sandbox=True)
def test_resume_from_error_keeps_the_error_until_the_job_transfers_bits_core_3_3(svc: BitsService) -> None:
    """T4 (docs/reference/states.md#t4) and the GetError page: ERROR → Resume → QUEUED (retried); the error
    object stays available until the job enters TRANSFERRING, then GetError is 0x8020000F
    (BG_E_ERROR_INFORMATION_UNAVAILABLE); ErrorCount is never reset."""
    svc.filesystem.makedirs("C:\\data")
    # 1 s of CONNECTING, then 10 s of TRANSFERRING
    svc.network.register("http://example.com/f", b"x" * 10, rate=1, latency=1)
    job = _errored(svc)
    job.suspend()
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x80190194)  # Suspend keeps it
    job.resume()
    assert job.get_state() is JobState.CONNECTING  # (QUEUED, then at once CONNECTING)
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x80190194)  # still there
    svc.advance(1)
    assert job.get_state() is JobState.TRANSFERRING
    with pytest.raises(BitsError) as exc:
        job.get_error()
    assert exc.value.hresult == BG_E_ERROR_INFORMATION_UNAVAILABLE
    assert job.get_error_count() == 1
    svc.advance(10)
    assert job.get_state() is JobState.TRANSFERRED
    with pytest.raises(BitsError) as exc:
        job.get_error()
    assert exc.value.hresult == BG_E_ERROR_INFORMATION_UNAVAILABLE


def test_an_errored_job_that_is_cancelled_has_no_error_object(svc: BitsService) -> None:
    """A final job has left the queue (emulator's reading, docs/reference/states.md#t4): GetError on a held
    pointer is 0x8020000F."""
    job = _errored(svc)
    job.cancel()
    with pytest.raises(BitsError) as exc:
        job.get_error()
    assert exc.value.hresult == BG_E_ERROR_INFORMATION_UNAVAILABLE


def test_suspend_and_cancel_from_error_bits_core_3_3(svc: BitsService) -> None:
    """T7, T31 (docs/reference/states.md#t7): Suspend of an ERROR job → SUSPENDED; Cancel from any non-final state."""
    job = _errored(svc)
    job.suspend()
    assert job.get_state() is JobState.SUSPENDED
    assert _errored(svc).cancel() == 0
