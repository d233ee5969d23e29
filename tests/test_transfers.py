"""Transfers on the fake network: the scheduler's transitions T8–T22, T29–T32 of docs/reference/states.md,
progress and times (docs/reference/interfaces.md#structures), error objects, FIFO files and priorities
(docs/reference/states.md#scheduling), file restarts (docs/reference/states.md#files).

Time moves because the test moves it: ManualClock + ``svc.advance``, or freezegun with the default clock.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from freezegun import freeze_time

from emulator import (
    BG_SIZE_UNKNOWN,
    BitsError,
    BitsService,
    ErrorContext,
    Job,
    JobPriority,
    JobState,
    JobType,
    ManualClock,
)
from emulator.constants import JobPropertyId
from emulator.identity.sessions import LogonType

S = JobState
BG_E_NETWORK_DISCONNECTED = 0x80200010
BG_E_MAXDOWNLOAD_TIMEOUT = 0x80200054
ERROR_WINHTTP_NAME_NOT_RESOLVED = 0x80072EE7
BG_S_PARTIAL_COMPLETE = 0x00200017
BG_E_INVALID_STATE = 0x80200002
BOTH_RULE_SETS = pytest.mark.parametrize("profile", ["pre-1607", "post-1607"])


pytestmark = pytest.mark.svc(clock="manual")


def new_job(svc: BitsService, tmp_path: Path, *urls: str, name: str = "job") -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    for i, url in enumerate(urls):
        job.add_file(url, str(tmp_path / f"{name}-{i}.bin"))
    return job


# the happy path: T8, T9, T12 ----------------------------------------------------------------------------


def test_T8_T9_T12_a_download_runs_to_transferred(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"a" * 1000, rate=100, latency=2)
    job = new_job(svc, tmp_path, "http://server/a")
    created = job.get_times().creation_time
    job.resume()
    assert job.get_state() is S.CONNECTING  # T8: picked at once, connecting for 2 s
    svc.advance(2)
    assert job.get_state() is S.TRANSFERRING  # T9
    svc.advance(5)
    p = job.get_progress()
    assert (p.bytes_total, p.bytes_transferred, p.files_total, p.files_transferred) == (1000, 500, 1, 0)
    svc.advance(5)
    assert job.get_state() is S.TRANSFERRED  # T12
    times = job.get_times()
    assert times.transfer_completion_time == created + dt.timedelta(seconds=12)
    assert times.modification_time == times.transfer_completion_time
    p = job.get_progress()
    assert (p.bytes_transferred, p.files_transferred) == (1000, 1)
    assert job.get_error_count() == 0


def test_unknown_size_until_the_file_is_done(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10, content_length=False)
    job = new_job(svc, tmp_path, "http://server/a")
    # Without a Content-Length only a DYNAMIC_CONTENT job downloads (tests/test_job5_transfer.py)
    job.set_property(JobPropertyId.DYNAMIC_CONTENT, True)
    job.resume()
    svc.advance(3)
    assert job.get_progress().bytes_total == BG_SIZE_UNKNOWN
    file = next(iter(job.enum_files()))
    assert file.get_progress().bytes_total == BG_SIZE_UNKNOWN
    assert file.get_progress().bytes_transferred == 30
    svc.run_until_idle()
    assert job.get_progress().bytes_total == 100


def test_files_transfer_in_fifo_order(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/1", b"1" * 100, rate=100)
    svc.network.register("http://server/2", b"2" * 100, rate=100)
    job = new_job(svc, tmp_path, "http://server/1", "http://server/2")
    job.resume()
    svc.advance(0.5)
    first, second = list(job.enum_files())
    assert (first.get_progress().bytes_transferred, second.get_progress().bytes_transferred) == (50, 0)
    svc.advance(1)
    assert first.get_progress().bytes_transferred == 100
    assert second.get_progress().bytes_transferred == 50


def test_polling_in_real_time_with_freezegun(tmp_path: Path) -> None:
    with freeze_time("2026-03-01 12:00:00") as frozen, BitsService() as svc:
        svc.network.register("http://server/a", b"z" * 300, rate=100)
        job = new_job(svc, tmp_path, "http://server/a")
        job.resume()
        polls = 0
        while job.get_state() not in (S.TRANSFERRED, S.ERROR):
            frozen.tick(dt.timedelta(seconds=1))  # what time.sleep(1) would do in a real polling loop
            polls += 1
        assert polls == 3
        assert job.get_times().transfer_completion_time == dt.datetime(2026, 3, 1, 12, 0, 3, tzinfo=dt.UTC)


# failures: T10, T13–T16 ---------------------------------------------------------------------------------


def test_T10_unregistered_host_is_a_transient_name_resolution_error(svc: BitsService, tmp_path: Path) -> None:
    job = new_job(svc, tmp_path, "http://nowhere.example/a")
    job.resume()
    assert job.get_state() is S.CONNECTING
    svc.advance(svc.network.resolve_delay)
    assert job.get_state() is S.TRANSIENT_ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.GENERAL_TRANSPORT, ERROR_WINHTTP_NAME_NOT_RESOLVED)
    assert error.get_protocol() == "http"
    assert job.get_error_count() == 1


def test_T13_404_is_fatal(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/exists", b"x")
    job = new_job(svc, tmp_path, "http://server/missing")
    job.resume()
    assert job.get_state() is S.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.REMOTE_FILE, 0x80190194)
    assert error.get_file().get_remote_name() == "http://server/missing"
    assert job.get_error_count() == 1


@pytest.mark.parametrize(
    ("status", "state"),
    [(400, S.ERROR), (401, S.ERROR), (403, S.ERROR), (404, S.ERROR), (407, S.ERROR), (410, S.ERROR),
     (501, S.ERROR), (505, S.ERROR), (408, S.TRANSIENT_ERROR), (429, S.TRANSIENT_ERROR),
     (500, S.TRANSIENT_ERROR), (502, S.TRANSIENT_ERROR), (503, S.TRANSIENT_ERROR), (504, S.TRANSIENT_ERROR)],
)
def test_http_status_split_fatal_or_transient(svc: BitsService, tmp_path: Path, status: int, state: JobState) -> None:
    """docs/reference/return-codes.md#http: BG_E_HTTP_ERROR_<status> = 0x80190000 + status; the split is the
emulator's (docs/reference/readings.md#http-statuses)."""
    svc.network.register("http://server/a", b"x", status=status)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is state
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x80190000 + status)


def test_T14_T15_transient_failures_then_success(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register("http://server/a", b"x" * 10, transient_failures=2, failure_status=503)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_minimum_retry_delay(60)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR  # T14
    assert job.get_error_count() == 1
    svc.advance(59)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(1)  # T15: retried, fails again: the count grows
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 2
    svc.advance(60)
    assert job.get_state() is S.TRANSFERRED
    assert res.requests == 3
    assert job.get_error_count() == 2


def test_T16_no_progress_timeout_turns_transient_into_error(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x", status=503)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_minimum_retry_delay(60)
    job.set_no_progress_timeout(200)
    job.resume()
    svc.advance(180)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 4  # t=0, 60, 120, 180
    svc.advance(20)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error()[1] == 0x801901F7


def test_T16_no_progress_timeout_zero_makes_the_first_error_fatal(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x", status=503)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_no_progress_timeout(0)
    job.resume()
    assert job.get_state() is S.ERROR


def test_T16_retry_delay_longer_than_timeout_means_no_retry(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register("http://server/a", b"x", status=503)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_minimum_retry_delay(600)
    job.set_no_progress_timeout(100)
    job.resume()
    svc.advance(100)
    assert job.get_state() is S.ERROR
    assert res.requests == 1


def test_progress_resets_the_no_progress_timer(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register("http://server/a", b"x" * 100, rate=1, ranges=True)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_minimum_retry_delay(60)
    job.set_no_progress_timeout(100)
    job.resume()
    svc.advance(10)
    res.status = 503
    svc.network.disconnect()
    svc.network.reconnect()  # the connection drops; the next attempt meets the 503
    assert job.get_state() is S.TRANSIENT_ERROR
    res.status = 200
    svc.advance(60)
    assert job.get_state() is S.TRANSFERRING
    assert next(iter(job.enum_files())).get_progress().bytes_transferred == 10  # resumed by range


def test_T4_resume_after_error_retries_and_the_error_object_goes(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register("http://server/a", b"x" * 10, status=404)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is S.ERROR
    res.status = 200
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    with pytest.raises(BitsError) as e:
        job.get_error()
    assert e.value.hresult == 0x8020000F  # BG_E_ERROR_INFORMATION_UNAVAILABLE


# network: T17, T18 ---------------------------------------------------------------------------------------


def test_T17_T18_network_lost_and_restored(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(3)
    svc.network.disconnect()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == BG_E_NETWORK_DISCONNECTED
    assert job.get_error_count() == 0  # not counted
    svc.advance(3600)  # not retried on the timer
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.network.reconnect()
    assert job.get_state() is S.TRANSFERRING
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_resume_while_disconnected(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x")
    svc.network.disconnect()
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == BG_E_NETWORK_DISCONNECTED
    svc.network.reconnect()
    assert job.get_state() is S.TRANSFERRED


# owner logon: T20, T21, T36 ------------------------------------------------------------------------------


def test_T20_T21_owner_logoff_requeues_and_logon_resumes(svc: BitsService, tmp_path: Path) -> None:
    alice = svc.logon(svc.add_user("alice"))
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    _, job = svc.connect(alice.token).create_job("job", JobType.DOWNLOAD)
    job.add_file("http://server/a", str(tmp_path / "a"))
    job.resume()
    svc.advance(2)
    assert job.get_state() is S.TRANSFERRING
    svc.logoff(alice)
    assert job.get_state() is S.QUEUED  # T20 (A18: QUEUED, never SUSPENDED)
    svc.advance(100)
    assert job.get_state() is S.QUEUED  # T21
    assert job.get_progress().bytes_transferred == 20
    svc.logon(svc.account("alice"))
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_T36_service_jobs_run_with_nobody_logged_on(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 10, rate=1)
    job = svc.connect(svc.logon(svc.network_service).token).create_job("job", JobType.DOWNLOAD)[1]
    job.add_file("http://server/a", str(tmp_path / "a"))
    job.resume()
    svc.logoff(svc.current_session)
    svc.advance(10)
    assert job.get_state() is S.TRANSFERRED


@BOTH_RULE_SETS
def test_security_T35_owner_logoff_requeues_without_progress_and_logon_resumes(profile: str, tmp_path: Path) -> None:
    """Security scenario T35 (docs/reference/security.md#t35), both rule sets: alice's job TRANSFERRING with no
    helper token; alice logs off → QUEUED (never SUSPENDED, A18) and no byte moves; she logs on again → it
    transfers on to TRANSFERRED. Sources: "the job transitions to the queued state" when the owner logs off
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/ne-bits-bg_job_state); "BITS resumes the job
    when the owner logs back on"
    (https://learn.microsoft.com/en-us/windows/win32/bits/users-and-network-connections)."""
    with BitsService(profile, clock=ManualClock()) as svc:
        alice = svc.logon(svc.add_user("alice"))
        svc.network.register("http://server/a", b"x" * 100, rate=10)
        _, job = svc.connect(alice.token).create_job("job", JobType.DOWNLOAD)
        job.add_file("http://server/a", str(tmp_path / "a"))
        job.resume()
        svc.advance(2)
        assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 20)
        svc.logoff(alice)
        assert job.get_state() is S.QUEUED
        svc.advance(3600)
        assert (job.get_state(), job.get_progress().bytes_transferred) == (S.QUEUED, 20)
        assert job.get_error_count() == 0
        svc.logon(svc.account("alice"))
        svc.advance(1)
        assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 30)
        svc.run_until_idle()
        assert job.get_state() is S.TRANSFERRED
        assert job.get_progress().bytes_transferred == 100


@BOTH_RULE_SETS
@pytest.mark.parametrize("account", ["local_system", "local_service", "network_service"])
def test_security_T36_service_account_jobs_keep_transferring_when_every_user_logs_off(
    profile: str, account: str, tmp_path: Path
) -> None:
    """Security scenario T36 (docs/reference/security.md#t36), both rule sets: a LocalSystem, LocalService or
    NetworkService job without a helper token keeps TRANSFERRING when every interactive user logs off — "The
    LocalSystem, LocalService, and NetworkService system accounts are always logged on; therefore, jobs
    submitted by a service using these accounts always run"
    (https://learn.microsoft.com/en-us/windows/win32/bits/users-and-network-connections,
    https://learn.microsoft.com/en-us/windows/win32/bits/service-accounts-and-bits)."""
    with BitsService(profile, clock=ManualClock()) as svc:
        bob = svc.logon(svc.add_user("bob", admin=True))
        svc.network.register("http://server/a", b"x" * 100, rate=10)
        _, job = svc.connect(svc.logon(getattr(svc, account)).token).create_job("job", JobType.DOWNLOAD)
        job.add_file("http://server/a", str(tmp_path / "a"))
        job.resume()
        svc.advance(2)
        assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 20)
        svc.logoff(bob)
        svc.logoff(svc.current_session)
        assert [s for s in svc.directory.sessions.values() if not s.account.is_service] == []
        assert job.get_state() is S.TRANSFERRING
        svc.advance(2)
        assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 40)
        svc.run_until_idle()
        assert job.get_state() is S.TRANSFERRED


@BOTH_RULE_SETS
def test_security_T37_runas_job_never_progresses(profile: str, tmp_path: Path) -> None:
    """Security scenario T37 (docs/reference/security.md#t37), both rule sets: "Running an application as
    another user (by using the RunAs command) is not an interactive logon; BITS will not run jobs associated
    with the specified user" (https://learn.microsoft.com/en-us/windows/win32/bits/users-and-network-connections).
    The RunAs process is a non-interactive logon of the account (``LogonType.NEW_CREDENTIALS``, the emulator's
    RunAs-style logon): its job stays QUEUED with no byte and no error however long it waits. Once the account
    logs on interactively it is logged on in the page's sense and the job runs."""
    with BitsService(profile, clock=ManualClock()) as svc:
        dave = svc.add_user("dave")
        runas = svc.logon(dave, logon_type=LogonType.NEW_CREDENTIALS)
        svc.network.register("http://server/a", b"x" * 100, rate=10)
        _, job = svc.connect(runas.token).create_job("job", JobType.DOWNLOAD)
        assert job.get_owner() == dave.sid
        job.add_file("http://server/a", str(tmp_path / "a"))
        job.resume()
        for _ in range(3):
            svc.advance(24 * 3600)
            assert (job.get_state(), job.get_progress().bytes_transferred) == (S.QUEUED, 0)
            assert job.get_error_count() == 0
        assert list(svc.network.requests) == []  # never even connected
        svc.logon(dave)
        svc.run_until_idle()
        assert job.get_state() is S.TRANSFERRED


# priorities: T11 -----------------------------------------------------------------------------------------


def test_T11_background_jobs_one_at_a_time_and_higher_priority_preempts(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    low = new_job(svc, tmp_path, "http://server/a", name="low")
    other = new_job(svc, tmp_path, "http://server/a", name="other")
    low.resume()
    other.resume()
    svc.advance(1)
    assert (low.get_state(), other.get_state()) == (S.TRANSFERRING, S.QUEUED)  # one background job
    high = new_job(svc, tmp_path, "http://server/a", name="high")
    high.set_priority(JobPriority.HIGH)
    high.resume()
    assert high.get_state() is S.TRANSFERRING
    assert low.get_state() is S.QUEUED  # T11: preempted
    svc.advance(10)
    assert high.get_state() is S.TRANSFERRED
    assert low.get_state() is S.TRANSFERRING  # back to the earlier job (FIFO within a priority)


def test_foreground_jobs_run_together(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    jobs = [new_job(svc, tmp_path, "http://server/a", name=f"fg{i}") for i in range(3)]
    for job in jobs:
        job.set_priority(JobPriority.FOREGROUND)
        job.resume()
    background = new_job(svc, tmp_path, "http://server/a", name="bg")
    background.resume()
    svc.advance(1)
    assert [j.get_state() for j in jobs] == [S.TRANSFERRING] * 3
    assert background.get_state() is S.TRANSFERRING  # all foreground jobs plus one background job


# limits: T22, T32 ----------------------------------------------------------------------------------------


def test_T22_maximum_download_time(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 1000, rate=1)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_maximum_download_time(30)
    job.resume()
    svc.advance(29)
    assert job.get_state() is S.TRANSFERRING
    svc.advance(1)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_MAXDOWNLOAD_TIMEOUT)
    job.resume()  # Resume resets the elapsed time
    svc.advance(29)
    assert job.get_state() is S.TRANSFERRING
    assert job.get_progress().bytes_transferred == 59


def test_T32_ninety_days_of_inactivity_cancel_the_job(svc: BitsService, tmp_path: Path) -> None:
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(89 * 86400)
    job.set_description("activity resets the timer")
    svc.advance(89 * 86400)
    assert job.get_state() is S.SUSPENDED
    svc.advance(86400)
    assert job.get_state() is S.CANCELLED
    with pytest.raises(BitsError) as e:
        svc.connect().get_job(job.get_id())
    assert e.value.hresult == 0x80200001


def test_T32_retries_alone_are_no_activity_a_long_no_progress_timeout_ends_at_the_policy_limit(
    svc: BitsService, tmp_path: Path
) -> None:
    # SetNoProgressTimeout page (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-setnoprogresstimeout):
    # "If the retry period is greater than the JobInactivityTimeout Group Policy (90 days default), BITS
    # cancels the job after the policy value is exceeded." Failures and retries are the service's own
    # state changes, not activity (group policies page: progress or a property change resets the timer).
    svc.network.register("http://server/dead", b"d", transient_failures=10**6)
    job = new_job(svc, tmp_path, "http://server/dead")
    job.set_no_progress_timeout(100 * 86400)
    job.set_minimum_retry_delay(10 * 86400)
    job.resume()
    svc.advance(1)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(90 * 86400 - 2)
    assert job.get_state() is S.TRANSIENT_ERROR  # 89 days and 86,399 s after the last property change
    assert job.get_error_count() == 9  # failed at day 0, 10, ..., 80: retried, yet no activity
    svc.advance(1)
    assert job.get_state() is S.CANCELLED  # day 90, long before the 100-day NoProgressTimeout
    with pytest.raises(BitsError) as e:
        svc.connect().get_job(job.get_id())
    assert e.value.hresult == 0x80200001  # BG_E_NOT_FOUND


def test_T32_a_retry_still_moves_modification_time(svc: BitsService, tmp_path: Path) -> None:
    # BITS_JOB_TIMES (https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_job_times):
    # ModificationTime also changes with the job's state; only the inactivity timer ignores such changes.
    svc.network.register("http://server/dead", b"d", transient_failures=10**6)
    job = new_job(svc, tmp_path, "http://server/dead")
    job.set_minimum_retry_delay(3600)
    job.resume()
    before = job.get_times().modification_time
    svc.advance(3600)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 2
    assert job.get_times().modification_time == before + dt.timedelta(seconds=3600)


def test_T32_a_property_change_during_retries_resets_the_timer(svc: BitsService, tmp_path: Path) -> None:
    # group policies page (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies): a property
    # change is activity, so the 90 days count again from it.
    svc.network.register("http://server/dead", b"d", transient_failures=10**6)
    job = new_job(svc, tmp_path, "http://server/dead")
    job.set_no_progress_timeout(200 * 86400)
    job.set_minimum_retry_delay(10 * 86400)
    job.resume()
    svc.advance(50 * 86400)
    job.set_description("still wanted")
    svc.advance(89 * 86400)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(86400)
    assert job.get_state() is S.CANCELLED


# files: docs/reference/states.md#files ------------------------------------------------------------------


def test_content_change_mid_transfer_restarts_that_file(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register(
        "http://server/a", b"old" * 100, rate=100, change_content_after=150, changed_content=b"new" * 50
    )
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(1.5)
    assert res.changes == 1
    file = next(iter(job.enum_files()))
    assert file.get_progress().bytes_transferred == 0
    assert file.get_progress().bytes_total == 150
    svc.run_until_idle()
    job.complete()
    assert (tmp_path / "job-0.bin").read_bytes() == b"new" * 50


BG_E_INSUFFICIENT_RANGE_SUPPORT = 0x80200013


@pytest.mark.parametrize("priority", [JobPriority.FOREGROUND, JobPriority.NORMAL])
@pytest.mark.parametrize("interruption", ["network loss", "owner logoff", "suspend"])
def test_an_interrupted_file_fails_on_a_server_without_ranges(
    svc: BitsService, tmp_path: Path, priority: JobPriority, interruption: str
) -> None:
    """Best practices page (https://learn.microsoft.com/en-us/windows/win32/bits/best-practices-when-using-bits):
    "if the foreground job is then interrupted due to a network disconnect or the user logging off, the job will
    fail because BITS will send a range request to try to restart the transfer from where it left off". The
    second request asks for byte 30 on: ERROR, BG_E_INSUFFICIENT_RANGE_SUPPORT, context REMOTE_FILE, the 30 bytes
    kept (docs/reference/readings.md#no-range-restart)."""
    alice = svc.logon(svc.add_user("alice"))
    res = svc.network.register("http://server/a", b"x" * 100, rate=10, ranges=False)
    _, job = svc.connect(alice.token).create_job("job", JobType.DOWNLOAD)
    job.set_priority(priority)
    job.add_file("http://server/a", str(tmp_path / "a"))
    job.resume()
    svc.advance(3)
    if interruption == "network loss":
        svc.network.disconnect()
        svc.advance(1)
        svc.network.reconnect()
    elif interruption == "owner logoff":
        svc.logoff(alice)
        svc.logon(svc.account("alice"))
    else:
        job.suspend()
        job.resume()
    svc.advance(1)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_INSUFFICIENT_RANGE_SUPPORT)
    assert job.get_progress().bytes_transferred == 30
    assert [r.offset for r in svc.network.requests] == [0, 30]
    assert res.requests == 2


def test_a_file_that_never_resumes_starts_again_on_a_server_without_ranges(svc: BitsService, tmp_path: Path) -> None:
    """DYNAMIC_CONTENT: "BITS will restart the download from the beginning instead of resuming where it left
    off" (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id): no Range
    request, so a server without ranges serves it again from byte 0."""
    res = svc.network.register("http://server/a", b"x" * 100, rate=10, ranges=False)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_property(JobPropertyId.DYNAMIC_CONTENT, True)
    job.resume()
    svc.advance(5)
    job.suspend()
    job.resume()
    assert next(iter(job.enum_files())).get_progress().bytes_transferred == 0
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert [r.offset for r in svc.network.requests] == [0, 0]
    assert res.requests == 2


def test_a_server_without_ranges_serves_an_uninterrupted_file(svc: BitsService, tmp_path: Path) -> None:
    """The Range request is made only to restart a file from where it left off: a file transferred in one go
    from byte 0 needs none (docs/reference/readings.md#no-range-restart)."""
    svc.network.register("http://server/a", b"x" * 100, rate=10, ranges=False)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_generated_content(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register(
        "http://server/big", size=3 * 2**20, generator=lambda off, n: bytes((off + i) % 251 for i in range(n))
    )
    job = new_job(svc, tmp_path, "http://server/big")
    job.resume()
    svc.run_until_idle()
    job.complete()
    data = (tmp_path / "job-0.bin").read_bytes()
    assert len(data) == 3 * 2**20
    assert data[2**20 + 7] == (2**20 + 7) % 251


# Complete / Cancel: T29, T31 -----------------------------------------------------------------------------


def test_T29_partial_complete_keeps_whole_files(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/1", b"1" * 10, rate=10)
    svc.network.register("http://server/2", b"2" * 100, rate=10)
    job = new_job(svc, tmp_path, "http://server/1", "http://server/2")
    job.resume()
    svc.advance(3)
    assert job.complete() == BG_S_PARTIAL_COMPLETE
    assert (tmp_path / "job-0.bin").read_bytes() == b"1" * 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job-0.bin"]
    assert job.get_state() is S.ACKNOWLEDGED


def test_T29_complete_replaces_an_existing_file(svc: BitsService, tmp_path: Path) -> None:
    (tmp_path / "job-0.bin").write_bytes(b"previous")
    svc.network.register("http://server/a", b"fresh")
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    assert (tmp_path / "job-0.bin").read_bytes() == b"previous"  # not visible before Complete
    assert job.complete() == 0
    assert (tmp_path / "job-0.bin").read_bytes() == b"fresh"
    assert next(iter(job.enum_files())).get_progress().completed is True


E_ACCESSDENIED = 0x80070005


def _two_files_one_blocked(svc: BitsService, tmp_path: Path) -> Job:
    """Two transferred files; a non-empty directory sits where the second one is to be renamed."""
    svc.network.register("http://server/a", b"a" * 100, rate=100)
    svc.network.register("http://server/b", b"b" * 100, rate=100)
    job = new_job(svc, tmp_path, "http://server/a", "http://server/b")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    (tmp_path / "job-1.bin").mkdir()
    (tmp_path / "job-1.bin" / "x").write_bytes(b"")
    return job


def test_T29_complete_after_a_failed_rename_succeeds_once_fixed(svc: BitsService, tmp_path: Path) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-complete:
    a failed rename leaves the job TRANSFERRED and the files already renamed available;
    once the application fixes the problem, Complete again succeeds (ACKNOWLEDGED). The second Complete
    does not rename the first file again (its temporary is gone): it renames the rest."""
    job = _two_files_one_blocked(svc, tmp_path)
    with pytest.raises(BitsError) as e:
        job.complete()
    assert e.value.hresult == E_ACCESSDENIED
    assert job.get_state() is S.TRANSFERRED
    assert (tmp_path / "job-0.bin").read_bytes() == b"a" * 100  # renamed already, available
    (tmp_path / "job-1.bin" / "x").unlink()
    (tmp_path / "job-1.bin").rmdir()
    assert job.complete() == 0
    assert job.get_state() is S.ACKNOWLEDGED
    assert (tmp_path / "job-0.bin").read_bytes() == b"a" * 100
    assert (tmp_path / "job-1.bin").read_bytes() == b"b" * 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job-0.bin", "job-1.bin"]  # no temporary left


def test_T29_the_renamed_flag_survives_a_restart_between_the_two_completes(tmp_path: Path) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-complete,
    crash safety: each file's "renamed" flag is persisted right after its rename, so a
    service that restarts between the failed Complete and the next one still skips the file renamed
    already and the second Complete succeeds."""
    db = tmp_path / "queue.db"
    out = tmp_path / "out"
    out.mkdir()
    with BitsService(database=db, clock=ManualClock()) as first:
        job = _two_files_one_blocked(first, out)
        job_id = job.get_id()
        with pytest.raises(BitsError) as e:
            job.complete()
        assert e.value.hresult == E_ACCESSDENIED
    (out / "job-1.bin" / "x").unlink()
    (out / "job-1.bin").rmdir()
    with BitsService(database=db, clock=ManualClock()) as second:
        job = second.connect().get_job(job_id)
        assert job.get_state() is S.TRANSFERRED
        assert [f.get_progress().completed for f in job.enum_files()] == [True, False]
        assert job.complete() == 0
        assert job.get_state() is S.ACKNOWLEDGED
    assert (out / "job-0.bin").read_bytes() == b"a" * 100
    assert (out / "job-1.bin").read_bytes() == b"b" * 100


def test_T31_cancel_deletes_temporary_files(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(2)
    temps = [p.name for p in tmp_path.iterdir()]
    assert len(temps) == 1 and temps[0].startswith(".BIT") and temps[0].endswith(".tmp")  # hidden
    assert job.cancel() == 0
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BitsError) as e:
        job.resume()
    assert e.value.hresult == BG_E_INVALID_STATE  # T33


def test_T31_cancel_that_cannot_delete_reports_it(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(2)
    temp = next(tmp_path.iterdir())
    temp.unlink()
    temp.mkdir()  # something the service cannot unlink now sits at the temporary's name
    (temp / "busy").write_bytes(b"")
    assert job.cancel() == 0x0020001A  # BG_S_UNABLE_TO_DELETE_FILES
    assert job.get_state() is S.CANCELLED


def test_missing_destination_directory_is_a_local_file_error(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x")
    _, job = svc.connect().create_job("job", JobType.DOWNLOAD)
    job.add_file("http://server/a", str(tmp_path / "no-such-dir" / "a"))
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, 0x80070003)


# local sources ------------------------------------------------------------------------------------------


def test_file_url_and_unc_sources_copy_real_files(svc: BitsService, tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"local bytes")
    svc.filesystem.unc_root = tmp_path / "unc"
    share = tmp_path / "unc" / "server" / "share"
    share.mkdir(parents=True)
    (share / "f.txt").write_bytes(b"from a share")
    out = tmp_path / "out"
    out.mkdir()
    _, job = svc.connect().create_job("job", JobType.DOWNLOAD)
    job.add_file(source.as_uri(), str(out / "a"))
    job.add_file("\\\\server\\share\\f.txt", str(out / "b"))
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (out / "a").read_bytes() == b"local bytes"
    assert (out / "b").read_bytes() == b"from a share"


def test_missing_local_source_is_fatal(svc: BitsService, tmp_path: Path) -> None:
    job = new_job(svc, tmp_path, (tmp_path / "absent").as_uri())
    job.resume()
    assert job.get_state() is S.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.REMOTE_FILE, 0x80070002)
    assert error.get_protocol() == "file"


def test_smb_source_in_a_missing_directory_is_path_not_found(svc: BitsService, tmp_path: Path) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyfile2-setremotename
    (SMB errors after Resume): a directory not found is HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) 0x80070003,
    a file not found HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) 0x80070002; the job goes to ERROR, context
    REMOTE_FILE — for file:// URLs and UNC paths alike."""
    svc.filesystem.unc_root = tmp_path / "unc"
    (tmp_path / "unc" / "srv" / "share").mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        ((tmp_path / "nodir" / "x").as_uri(), 0x80070003),
        ("\\\\srv\\share\\nodir\\x", 0x80070003),
        ((tmp_path / "x").as_uri(), 0x80070002),
        ("\\\\srv\\share\\x", 0x80070002),
    ]
    for i, (remote, code) in enumerate(cases):
        _, job = svc.connect().create_job(f"smb{i}", JobType.DOWNLOAD)
        job.add_file(remote, str(out / f"f{i}"))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is S.ERROR, remote
        error = job.get_error()
        assert error.get_error() == (ErrorContext.REMOTE_FILE, code), remote
        assert error.get_protocol() == "file"
        assert error.get_file().get_remote_name() == remote


def test_idle_service_runs_no_sql(svc: BitsService, tmp_path: Path) -> None:
    """An idle service's catch-up is O(1): reads touch neither the store nor the job list."""
    job = new_job(svc, tmp_path, "http://server/a")
    seen: list[str] = []
    svc.store.conn.set_trace_callback(seen.append)
    for _ in range(10):
        svc.advance(1)
        job.get_state()
    assert seen == []


# time stamps --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("high_performance", [False, True], ids=["temporary", "in place"])
def test_an_http_download_takes_the_servers_time_stamp(
    svc: BitsService, tmp_path: Path, high_performance: bool
) -> None:
    """BG_FILE_INFO (https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_file_info): "For HTTP
    downloads, BITS propagates the file's modification time stamp" (docs/reference/readings.md#time-stamps):
    the local file's modification time is the server's Last-Modified, after Complete as before it."""
    svc.network.register("http://server/a", b"x" * 100, rate=10, last_modified=1_000_000_000.0)
    _, job = svc.connect().create_job("stamped", JobType.DOWNLOAD)
    if high_performance:
        job.set_property(JobPropertyId.HIGH_PERFORMANCE, True)
    job.add_file("http://server/a", str(tmp_path / "a"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (tmp_path / "a").stat().st_mtime == 1_000_000_000.0
    assert svc.filesystem.stamp(str(tmp_path / "a")) == (100, 1_000_000_000.0)


def test_a_file_copy_keeps_the_sources_time_stamp(svc: BitsService, tmp_path: Path) -> None:
    """BG_FILE_INFO: "For SMB downloads and uploads, BITS propagates the file's time stamps": a file:// (SMB)
    source's modification time is the copy's; the source is untouched."""
    source = tmp_path / "source.bin"
    source.write_bytes(b"y" * 10)
    os.utime(source, (500_000_000.0, 500_000_000.0))
    job = new_job(svc, tmp_path, source.as_uri())
    job.resume()
    svc.run_until_idle()
    job.complete()
    assert (tmp_path / "job-0.bin").stat().st_mtime == 500_000_000.0
    assert source.stat().st_mtime == 500_000_000.0


def test_a_file_restarted_by_a_changed_server_takes_the_new_time_stamp(svc: BitsService, tmp_path: Path) -> None:
    """File-transfer consistency: the server's copy changed mid-transfer, the file started again; what it
    propagates is the time stamp of the copy it downloaded (BG_FILE_INFO)."""
    res = svc.network.register(
        "http://server/a", b"old" * 50, rate=10, last_modified=1_000_000_000.0, change_content_after=30,
        changed_content=b"new" * 50,
    )
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.run_until_idle()
    job.complete()
    assert (tmp_path / "job-0.bin").read_bytes() == b"new" * 50
    assert (tmp_path / "job-0.bin").stat().st_mtime == res.last_modified != 1_000_000_000.0


# the no-progress timer and the network (T16, T17) ----------------------------------------------------------


def test_the_no_progress_timer_stops_while_the_network_is_down(svc: BitsService, tmp_path: Path) -> None:
    """docs/reference/readings.md#t17: the no-progress timer does not run while the network is down, for a job
    already in TRANSIENT_ERROR for a 503 too. 1 s without progress before the outage, 100 s of outage, then 49 s:
    still TRANSIENT_ERROR; the 50th second of its own count ends it (T16: ERROR with the last error)."""
    svc.network.register("http://server/a", b"x" * 10, status=503)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_no_progress_timeout(50)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(1)
    svc.network.disconnect()
    svc.advance(100)
    assert job.get_state() is S.TRANSIENT_ERROR  # 101 s after the first error: the outage does not count
    svc.network.reconnect()
    svc.advance(48)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(1)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x801901F7)  # BG_E_HTTP_ERROR_503


@pytest.mark.parametrize("how", ["resume", "suspend then resume"])
def test_resume_starts_the_no_progress_count_afresh(svc: BitsService, tmp_path: Path, how: str) -> None:
    """T4 (Resume page): Resume retries the job; a Suspend first changes nothing to that (the timeout is the time
    BITS "tries to transfer the file after the first transient error occurs", SetNoProgressTimeout page, and a
    suspended job is not trying). Resumed at 40 s, the job reaches ERROR at 90 s, not 50 s."""
    svc.network.register("http://server/a", b"x" * 10, status=503)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_no_progress_timeout(50)
    job.resume()
    svc.advance(40)
    if how != "resume":
        job.suspend()
    job.resume()
    svc.advance(49)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(1)
    assert job.get_state() is S.ERROR


def test_a_clock_set_back_then_advanced_keeps_the_retry_delay(svc: BitsService, tmp_path: Path) -> None:
    """SetMinimumRetryDelay page: a clock change does not move a retry ("BITS will still retry the job in ten
    minutes"). The clock set back an hour, then advanced 599 s and 1 s: the retry comes at the 600th second of
    service time, the advance not merged into the clock change (docs/reference/readings.md#clock-forward)."""
    clock = svc.clock
    assert isinstance(clock, ManualClock)
    svc.network.register("http://server/a", b"x" * 10, transient_failures=1)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    clock.set(dt.datetime.fromtimestamp(clock.time() - 3600, dt.UTC))
    svc.advance(599)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED


def _set_clock(svc: BitsService, seconds: float) -> None:
    clock = svc.clock
    assert isinstance(clock, ManualClock)
    clock.set(dt.datetime.fromtimestamp(clock.time() + seconds, dt.UTC))


def test_a_clock_set_forward_does_not_bring_a_retry_early(svc: BitsService, tmp_path: Path) -> None:
    """SetMinimumRetryDelay page: "moving the system clock forward ten or more minutes does not mean BITS will
    retry the job early—BITS will still retry the job in ten minutes" (docs/reference/readings.md#clock-forward):
    ManualClock.set is a clock change, ``advance`` is time passing."""
    svc.network.register("http://server/a", b"x" * 10, transient_failures=1)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    _set_clock(svc, 20 * 60)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(599)
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED


def test_a_clock_set_forward_moves_no_byte_and_no_timeout(svc: BitsService, tmp_path: Path) -> None:
    """A clock change is no transfer time: a 10 B/s download has the bytes of the seconds that passed, not of the
    hour the clock was set forward by; the NoProgressTimeout of a job waiting on a 503 does not run out either."""
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    svc.network.register("http://server/b", b"x" * 10, status=503)
    job = new_job(svc, tmp_path, "http://server/a", name="a")
    waiting = new_job(svc, tmp_path, "http://server/b", name="b")
    job.set_priority(JobPriority.FOREGROUND)
    waiting.set_priority(JobPriority.FOREGROUND)
    waiting.set_no_progress_timeout(60)
    job.resume()
    waiting.resume()
    svc.advance(2)
    _set_clock(svc, 3600)
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 30
    assert waiting.get_state() is S.TRANSIENT_ERROR
    assert job.get_times().modification_time >= dt.datetime.fromtimestamp(svc.clock.time() - 1, dt.UTC)
