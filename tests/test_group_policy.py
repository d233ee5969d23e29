"""BITS Group Policy settings (``svc.group_policy``): the quotas, JobInactivityTimeout, MaxDownloadTime and
MaxInternetBandwidth with its blocking interval, scenario T19 of docs/reference/states.md.

Facts: the group policies page (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies, GP
below) and the Policy CSP's value ranges (https://learn.microsoft.com/en-us/windows/client-management/mdm/policy-csp-bits,
CSP below); the emulator's choices: docs/reference/readings.md#group-policy. The manual clock starts at
2026-01-01 00:00:00 UTC, so ``svc.advance(3600)`` reaches 01:00 UTC, the hour the windows below use.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest

from emulator import (
    BandwidthLimit,
    BitsError,
    BitsService,
    ErrorContext,
    GroupPolicy,
    Job,
    JobPriority,
    JobState,
    JobType,
)
from emulator.domain.policy import bytes_per_second

S = JobState
BG_E_BLOCKED_BY_POLICY = 0x8020003E
BG_E_MAXDOWNLOAD_TIMEOUT = 0x80200054
BG_E_TOO_MANY_JOBS_PER_USER = 0x80200049
BG_E_TOO_MANY_JOBS_PER_MACHINE = 0x80200050
BG_E_TOO_MANY_FILES_IN_JOB = 0x80200051
BG_E_TOO_MANY_RANGES_IN_FILE = 0x80200052
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the manual clock's start (emulator.clock.ManualClock)
HOUR = 3600
DAY = 86400

pytestmark = pytest.mark.svc(clock="manual")


def new_job(svc: BitsService, tmp_path: Path, url: str, *, name: str = "job", token: object = None) -> Job:
    _, job = svc.connect(token).create_job(name, JobType.DOWNLOAD)  # type: ignore[arg-type]
    job.add_file(url, str(tmp_path / f"{name}.bin"))
    return job


def blocked_from_one_to_two(svc: BitsService) -> None:
    """MaxInternetBandwidth of 0 from 01:00 to 02:00 UTC, no limit at other times."""
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(1, 2, kbps=0))


# the values -------------------------------------------------------------------------------------------


def test_nothing_is_configured_by_default(svc: BitsService) -> None:
    """GP: "If the policy value is not set, BITS uses the default policy value": a new service has every
    policy unset, and the defaults apply (60 jobs per user, 90 days, 7,776,000 s)."""
    assert svc.group_policy == GroupPolicy()
    assert all(getattr(svc.group_policy, f.name) is None for f in dataclasses.fields(GroupPolicy))
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    assert job.get_maximum_download_time() == 7_776_000


def test_policies_are_frozen_values(svc: BitsService) -> None:
    """A policy is a value: changing one means assigning a new GroupPolicy to ``svc.group_policy``."""
    policy = GroupPolicy(max_jobs_per_user=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_jobs_per_user = 6  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        BandwidthLimit(8, 17, 10).kbps = 0  # type: ignore[misc]
    svc.group_policy = policy
    assert svc.group_policy is policy


@pytest.mark.parametrize(
    "make",
    [
        lambda: BandwidthLimit(8.0, 17, 10),  # type: ignore[arg-type]
        lambda: BandwidthLimit(True, 17, 10),
        lambda: BandwidthLimit(8, 17, "10"),  # type: ignore[arg-type]
        lambda: BandwidthLimit(8, 17, 10, outside_kbps=1.5),  # type: ignore[arg-type]
        lambda: GroupPolicy(max_jobs_per_user="5"),  # type: ignore[arg-type]
        lambda: GroupPolicy(job_inactivity_timeout=1.0),  # type: ignore[arg-type]
        lambda: GroupPolicy(max_internet_bandwidth=10),  # type: ignore[arg-type]
        lambda: GroupPolicy(max_internet_bandwidth=(8, 17, 10)),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_type_errors(make: object) -> None:
    """Hours, limits and counts are ints (a bool is not one); the bandwidth limit is a BandwidthLimit."""
    with pytest.raises(TypeError):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    "make",
    [
        lambda: BandwidthLimit(24, 17, 10),  # CSP: hours 0-23
        lambda: BandwidthLimit(8, -1, 10),
        lambda: BandwidthLimit(8, 17, -1),
        lambda: BandwidthLimit(8, 17, 4_294_967_201),  # CSP: BandwidthThrottlingTransferRate 0-4294967200
        lambda: BandwidthLimit(8, 17, 10, outside_kbps=-5),
        lambda: GroupPolicy(job_inactivity_timeout=0),  # CSP: JobInactivityTimeout 1-999 days
        lambda: GroupPolicy(job_inactivity_timeout=1000),
        lambda: GroupPolicy(max_download_time=0),
        lambda: GroupPolicy(max_files_per_job=-1),
        lambda: GroupPolicy(max_jobs_per_machine=2**32),
    ],
)
def test_values_out_of_range_are_value_errors(make: object) -> None:
    """The Policy CSP's ranges: hours 0..23, 0..4,294,967,200 kbps, 1..999 days; counts and seconds are DWORDs."""
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_assigning_something_else_is_a_type_error(svc: BitsService) -> None:
    """``svc.group_policy`` takes a GroupPolicy only; the policy in force stays."""
    with pytest.raises(TypeError):
        svc.group_policy = {"max_jobs_per_user": 1}  # type: ignore[assignment]
    assert svc.group_policy == GroupPolicy()


def test_kilobits_are_exact_byte_rates_and_under_two_kilobits_is_two() -> None:
    """GP: the limit is "in kilobits per second" (1,000 bits: 125 bytes a second); "BITS uses approximately
    two kilobits if you specify a value less than two kilobits"; "to prevent BITS transfers from occurring,
    specify a limit of zero"; not configured: all available bandwidth."""
    assert bytes_per_second(None) is None
    assert bytes_per_second(0) == 0
    assert bytes_per_second(1) == bytes_per_second(2) == Fraction(250)
    assert bytes_per_second(3) == Fraction(375)
    assert bytes_per_second(10) == Fraction(1250)


def test_windows_are_half_open_and_may_wrap_past_midnight() -> None:
    """The interval is [start, end) in whole hours (CSP: 8 AM to 5 PM by default; 24-hour clock); 22 → 6 is
    the night; start == end is the whole day (docs/reference/readings.md#bandwidth-window)."""
    ns = 10**9
    day = BandwidthLimit(8, 17, 10)
    assert not day.in_window(8 * HOUR * ns - 1)
    assert day.in_window(8 * HOUR * ns)
    assert day.in_window(17 * HOUR * ns - 1)
    assert not day.in_window(17 * HOUR * ns)
    assert day.next_change(0) == 8 * HOUR * ns
    assert day.next_change(8 * HOUR * ns) == 17 * HOUR * ns
    assert day.next_change(17 * HOUR * ns) == (DAY + 8 * HOUR) * ns
    night = BandwidthLimit(22, 6, 10, outside_kbps=100)
    assert night.in_window(23 * HOUR * ns) and night.in_window(5 * HOUR * ns)
    assert not night.in_window(12 * HOUR * ns)
    assert night.rate_at(12 * HOUR * ns) == 12_500
    assert night.next_change(23 * HOUR * ns) == (DAY + 6 * HOUR) * ns
    always = BandwidthLimit(3, 3, 10)
    assert always.in_window(0) and always.in_window(3 * HOUR * ns) and always.next_change(0) is None


# quotas --------------------------------------------------------------------------------------------------


def test_max_jobs_per_user_replaces_sixty(svc: BitsService) -> None:
    """GP MaxJobsPerUser (CreateJob page: BG_E_TOO_MANY_JOBS_PER_USER 0x80200049); administrators are exempt."""
    svc.group_policy = GroupPolicy(max_jobs_per_user=2)
    manager = svc.connect()
    manager.create_job("1", JobType.DOWNLOAD)
    manager.create_job("2", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as e:
        manager.create_job("3", JobType.DOWNLOAD)
    assert (e.value.hresult, e.value.name) == (BG_E_TOO_MANY_JOBS_PER_USER, "BG_E_TOO_MANY_JOBS_PER_USER")
    admin = svc.logon(svc.add_user("adm", admin=True)).elevated_token
    for i in range(3):
        svc.connect(admin).create_job(f"a{i}", JobType.DOWNLOAD)  # "does not apply to ... administrator"


def test_max_jobs_per_machine_replaces_three_hundred(svc: BitsService) -> None:
    """GP MaxJobsPerMachine: BG_E_TOO_MANY_JOBS_PER_MACHINE 0x80200050 once the machine holds that many."""
    svc.group_policy = GroupPolicy(max_jobs_per_machine=3)
    alice = svc.logon(svc.add_user("alice"))
    svc.connect().create_job("1", JobType.DOWNLOAD)
    svc.connect().create_job("2", JobType.DOWNLOAD)
    svc.connect(alice.token).create_job("3", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as e:
        svc.connect(alice.token).create_job("4", JobType.DOWNLOAD)
    assert e.value.hresult == BG_E_TOO_MANY_JOBS_PER_MACHINE


def test_max_files_per_job_replaces_two_hundred(svc: BitsService, tmp_path: Path) -> None:
    """GP MaxFilesPerJob (AddFile page: BG_E_TOO_MANY_FILES_IN_JOB 0x80200051); AddFileSet adds nothing then."""
    svc.group_policy = GroupPolicy(max_files_per_job=2)
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    job.add_file("http://server/1", str(tmp_path / "1"))
    with pytest.raises(BitsError) as e:
        job.add_file_set([("http://server/2", str(tmp_path / "2")), ("http://server/3", str(tmp_path / "3"))])
    assert e.value.hresult == BG_E_TOO_MANY_FILES_IN_JOB
    assert job.get_progress().files_total == 1
    job.add_file("http://server/2", str(tmp_path / "2"))
    with pytest.raises(BitsError) as e:
        job.add_file("http://server/3", str(tmp_path / "3"))
    assert e.value.hresult == BG_E_TOO_MANY_FILES_IN_JOB


def test_max_ranges_per_file_replaces_five_hundred(svc: BitsService, tmp_path: Path) -> None:
    """GP MaxRangesPerFile (AddFileWithRanges page: BG_E_TOO_MANY_RANGES_IN_FILE 0x80200052)."""
    svc.group_policy = GroupPolicy(max_ranges_per_file=2)
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    job.add_file_with_ranges("http://server/f", str(tmp_path / "a"), [(0, 10), (20, 10)])
    with pytest.raises(BitsError) as e:
        job.add_file_with_ranges("http://server/f", str(tmp_path / "b"), [(0, 10), (20, 10), (40, 10)])
    assert e.value.hresult == BG_E_TOO_MANY_RANGES_IN_FILE


def test_a_lowered_quota_keeps_what_exists_and_unsetting_restores_the_default(svc: BitsService) -> None:
    """docs/reference/readings.md#policy-change: jobs past a lowered quota stay; only new ones are refused.
    Back to "not configured", the default of 60 (GP) applies again."""
    manager = svc.connect()
    jobs = [manager.create_job(str(i), JobType.DOWNLOAD)[1] for i in range(3)]
    svc.group_policy = GroupPolicy(max_jobs_per_user=1)
    assert [j.get_state() for j in jobs] == [S.SUSPENDED] * 3
    with pytest.raises(BitsError) as e:
        manager.create_job("4", JobType.DOWNLOAD)
    assert e.value.hresult == BG_E_TOO_MANY_JOBS_PER_USER
    svc.group_policy = GroupPolicy()
    for i in range(57):
        manager.create_job(f"n{i}", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as e:
        manager.create_job("61", JobType.DOWNLOAD)
    assert e.value.hresult == BG_E_TOO_MANY_JOBS_PER_USER


# JobInactivityTimeout (T32) --------------------------------------------------------------------------------


def test_job_inactivity_timeout_in_days_replaces_ninety(svc: BitsService, tmp_path: Path) -> None:
    """GP JobInactivityTimeout: with no activity for the configured days BITS cancels the job (T32)."""
    svc.group_policy = GroupPolicy(job_inactivity_timeout=1)
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(DAY - 1)
    assert job.get_state() is S.SUSPENDED
    svc.advance(1)
    assert job.get_state() is S.CANCELLED


def test_a_shorter_timeout_cancels_jobs_already_inactive_that_long_at_once(svc: BitsService, tmp_path: Path) -> None:
    """docs/reference/readings.md#policy-change: the new timeout counts from each job's last activity, so a
    job idle for 3 days is cancelled as soon as a 2-day policy applies; one touched since is not."""
    idle = new_job(svc, tmp_path, "http://server/a", name="idle")
    busy = new_job(svc, tmp_path, "http://server/b", name="busy")
    svc.advance(3 * DAY)
    busy.set_description("activity")  # GP: a property change resets the timer
    svc.group_policy = GroupPolicy(job_inactivity_timeout=2)
    assert idle.get_state() is S.CANCELLED
    assert busy.get_state() is S.SUSPENDED
    svc.advance(2 * DAY - 1)
    assert busy.get_state() is S.SUSPENDED
    svc.advance(1)
    assert busy.get_state() is S.CANCELLED


def test_a_longer_timeout_keeps_jobs_past_ninety_days(svc: BitsService, tmp_path: Path) -> None:
    """GP JobInactivityTimeout of 120 days: a job idle for 90 days is not cancelled before day 120."""
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(DAY)
    svc.group_policy = GroupPolicy(job_inactivity_timeout=120)
    svc.advance(119 * DAY - 1)
    assert job.get_state() is S.SUSPENDED
    svc.advance(1)
    assert job.get_state() is S.CANCELLED


# MaxDownloadTime (T22) -----------------------------------------------------------------------------------


def test_max_download_time_is_a_new_jobs_maximum_download_time(svc: BitsService, tmp_path: Path) -> None:
    """GP MaxDownloadTime: "the length of time that BITS can spend actively transferring the files in the
    job"; past it the job is in ERROR with BG_E_MAXDOWNLOAD_TIMEOUT 0x80200054 (T22)."""
    svc.network.register("http://server/a", b"x" * 1000, rate=1)
    svc.group_policy = GroupPolicy(max_download_time=30)
    job = new_job(svc, tmp_path, "http://server/a")
    assert job.get_maximum_download_time() == 30
    job.resume()
    svc.advance(29)
    assert job.get_state() is S.TRANSFERRING
    svc.advance(1)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_MAXDOWNLOAD_TIMEOUT)


def test_set_maximum_download_time_overrides_the_policy(svc: BitsService, tmp_path: Path) -> None:
    """GP: "To override this policy for a specific job, call IBackgroundCopyJob4::SetMaximumDownloadTime"."""
    svc.network.register("http://server/a", b"x" * 100, rate=1)
    svc.group_policy = GroupPolicy(max_download_time=30)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_maximum_download_time(200)
    job.resume()
    svc.advance(100)
    assert job.get_state() is S.TRANSFERRED


def test_jobs_made_before_the_policy_keep_their_maximum_download_time(svc: BitsService, tmp_path: Path) -> None:
    """docs/reference/readings.md#policy-change: MaxDownloadTime is taken when a job is created."""
    before = new_job(svc, tmp_path, "http://server/a", name="before")
    svc.group_policy = GroupPolicy(max_download_time=30)
    after = new_job(svc, tmp_path, "http://server/a", name="after")
    assert (before.get_maximum_download_time(), after.get_maximum_download_time()) == (7_776_000, 30)


# MaxInternetBandwidth: rates --------------------------------------------------------------------------------


def test_a_two_kilobit_cap_moves_exactly_250_bytes_a_second(svc: BitsService, tmp_path: Path) -> None:
    """GP MaxInternetBandwidth "limits the network bandwidth that BITS uses for background transfers":
    2 kbps is 250 bytes per second, so a 1,000-byte file served at once takes exactly 4 s."""
    svc.network.register("http://server/a", b"x" * 1000)  # no rate of its own: instant without the policy
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=2))  # all day
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 250
    svc.advance(Fraction(2999, 1000))
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 999)
    svc.advance(Fraction(1, 1000))
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == START + dt.timedelta(seconds=4)


def test_under_two_kilobits_is_two(svc: BitsService, tmp_path: Path) -> None:
    """GP: "BITS uses approximately two kilobits if you specify a value less than two kilobits": a 1 kbps
    cap moves 250 bytes a second, not 125."""
    svc.network.register("http://server/a", b"x" * 1000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=1))
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(2)
    assert job.get_progress().bytes_transferred == 500


def test_a_cap_above_the_source_rate_changes_nothing(svc: BitsService, tmp_path: Path) -> None:
    """The cap is a ceiling: a server sending 100 bytes a second under a 10 kbps (1,250 B/s) cap still
    sends 100."""
    svc.network.register("http://server/a", b"x" * 1000, rate=100)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=10))
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(3)
    assert job.get_progress().bytes_transferred == 300


def test_foreground_jobs_are_not_capped(svc: BitsService, tmp_path: Path) -> None:
    """GP: "this policy does not affect foreground transfers"."""
    svc.network.register("http://server/a", b"x" * 1000, rate=1000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=2))
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_priority(JobPriority.FOREGROUND)
    job.resume()
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED


def test_the_cap_begins_at_the_window_start_to_the_nanosecond(svc: BitsService, tmp_path: Path) -> None:
    """A window from 01:00 UTC (docs/reference/readings.md#bandwidth-utc) at 8 kbps (1,000 B/s): a server
    sending 4,000 B/s moves 8,000 bytes in the last 2 s before it, then 1,000 a second; a 10,000-byte file
    ends at 01:00:02 exactly."""
    svc.network.register("http://server/a", b"x" * 10_000, rate=4000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(1, 2, kbps=8))
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(HOUR - 2)
    job.resume()
    svc.advance(2)
    assert job.get_progress().bytes_transferred == 8000
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 9000
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == START + dt.timedelta(hours=1, seconds=2)


def test_the_source_rate_returns_when_the_window_ends(svc: BitsService, tmp_path: Path) -> None:
    """Outside the window with no ``outside_kbps``, "use all available unused bandwidth" (GP): from 02:00 the
    file goes at the server's 4,000 B/s again."""
    svc.network.register("http://server/a", b"x" * 5000, rate=4000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(1, 2, kbps=8))
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(2 * HOUR - 1)
    job.resume()
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 1000
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == START + dt.timedelta(hours=2, seconds=1)


def test_outside_kbps_applies_at_all_other_times(svc: BitsService, tmp_path: Path) -> None:
    """GP: "Specify a limit to use during a specific time interval and a limit to use at all other times":
    at 00:00 the 01:00–02:00 window is not on, so the 4 kbps (500 B/s) outside limit holds."""
    svc.network.register("http://server/a", b"x" * 5000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(1, 2, kbps=80, outside_kbps=4))
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(2)
    assert job.get_progress().bytes_transferred == 1000


def test_a_rate_change_mid_byte_loses_no_fraction_of_a_byte(svc: BitsService, tmp_path: Path) -> None:
    """Exact arithmetic across a boundary: 3 kbps (375 B/s) until 01:00 from 00:59:59.5 is 187.5 bytes; the
    remaining 812.5 at the server's 1,000 B/s take 0.8125 s, so the file ends at 01:00:00.8125 exactly."""
    svc.network.register("http://server/a", b"x" * 1000, rate=1000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 1, kbps=3))
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(Fraction(2 * HOUR - 1, 2))
    job.resume()
    svc.advance(Fraction(1, 2))
    assert job.get_progress().bytes_transferred == 187
    svc.advance(Fraction(8125, 10000) - Fraction(1, 10**9))
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 999)
    svc.advance(Fraction(1, 10**9))
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == START + dt.timedelta(hours=1, microseconds=812_500)


# MaxInternetBandwidth of 0: T19 ------------------------------------------------------------------------------


def test_T19_a_zero_limit_puts_background_jobs_in_transient_error_until_the_interval_ends(
    svc: BitsService, tmp_path: Path
) -> None:
    """T19 (docs/reference/states.md#t19), GP MaxInternetBandwidth: "If you specify a limit of zero, BITS
    places all background jobs in a transient error state. (The error code is set to BG_E_BLOCKED_BY_POLICY.)
    BITS places the jobs in the queued state after the time interval expires." The running job and the one
    waiting behind it both: 0x8020003E, context GENERAL_QUEUE_MANAGER, not counted (GetErrorCount page: not
    incremented for bandwidth-policy blocks); the foreground job goes on."""
    svc.network.register("http://server/a", b"x" * 10_000, rate=1)
    svc.network.register("http://server/fg", b"f" * (2 * HOUR - 1), rate=1)
    blocked_from_one_to_two(svc)
    running = new_job(svc, tmp_path, "http://server/a", name="running")
    waiting = new_job(svc, tmp_path, "http://server/a", name="waiting")
    foreground = new_job(svc, tmp_path, "http://server/fg", name="fg")
    foreground.set_priority(JobPriority.FOREGROUND)
    for job in (running, waiting, foreground):
        job.resume()
    svc.advance(HOUR - 1)
    assert (running.get_state(), waiting.get_state()) == (S.TRANSFERRING, S.QUEUED)
    svc.advance(1)
    for job in (running, waiting):
        assert job.get_state() is S.TRANSIENT_ERROR
        assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY)
        assert job.get_error().get_error_description() == (
            "Group Policy settings prevent background jobs from running at this time.\r\n"
        )
        assert job.get_error_count() == 0
    assert running.get_progress().bytes_transferred == HOUR
    assert foreground.get_state() is S.TRANSFERRING
    svc.advance(HOUR - 1)  # far past the 600 s retry delay: no retry within the interval
    assert (running.get_state(), waiting.get_state()) == (S.TRANSIENT_ERROR, S.TRANSIENT_ERROR)
    assert running.get_progress().bytes_transferred == HOUR
    assert foreground.get_state() is S.TRANSFERRED
    svc.advance(1)  # 02:00: the interval is over
    assert running.get_state() is S.TRANSFERRING  # back in QUEUED, and the scheduler starts it at once
    assert waiting.get_state() is S.QUEUED
    assert svc.history.states("running")[-5:] == [
        S.TRANSFERRING, S.TRANSIENT_ERROR, S.QUEUED, S.CONNECTING, S.TRANSFERRING
    ]
    assert running.get_error_count() == 0


def test_T19_a_job_resumed_in_the_interval_is_blocked_at_once(svc: BitsService, tmp_path: Path) -> None:
    """T19: a background job that becomes QUEUED during the interval (Resume) is blocked as it would start;
    a second Resume changes nothing until the interval ends."""
    svc.network.register("http://server/a", b"x" * 10)
    blocked_from_one_to_two(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(HOUR + 60)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == BG_E_BLOCKED_BY_POLICY
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 0
    svc.advance(HOUR - 60)
    assert job.get_state() is S.TRANSFERRED


def test_T19_a_policy_set_within_the_interval_blocks_now_and_unsetting_it_releases(
    svc: BitsService, tmp_path: Path
) -> None:
    """docs/reference/readings.md#policy-change: a policy takes effect when it is assigned. Set at 01:30 the
    running background job is blocked at 01:30; the policy removed at 01:40, it is QUEUED and runs again."""
    svc.network.register("http://server/a", b"x" * 100_000, rate=1)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(HOUR + 1800)
    blocked_from_one_to_two(svc)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_progress().bytes_transferred == HOUR + 1800
    svc.advance(600)
    svc.group_policy = GroupPolicy()
    assert job.get_state() is S.TRANSFERRING
    svc.advance(10)
    assert job.get_progress().bytes_transferred == HOUR + 1810


def test_T19_a_job_made_foreground_leaves_the_block(svc: BitsService, tmp_path: Path) -> None:
    """T19 binds background jobs only (GP: foreground transfers are not affected): SetPriority(FOREGROUND)
    on a blocked job puts it back in the queue, and it runs within the interval."""
    svc.network.register("http://server/a", b"x" * 10, rate=10)
    blocked_from_one_to_two(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(HOUR)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    job.set_priority(JobPriority.FOREGROUND)
    assert job.get_state() is S.TRANSFERRING
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED


def test_T19_run_until_idle_waits_for_the_interval_to_end(svc: BitsService, tmp_path: Path) -> None:
    """A blocked job is waiting, not at rest: ``run_until_idle`` moves time to 02:00 and the job finishes."""
    svc.network.register("http://server/a", b"x" * 10)
    blocked_from_one_to_two(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(HOUR)
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == START + dt.timedelta(hours=2)


def test_T19_the_interval_comes_back_every_day(svc: BitsService, tmp_path: Path) -> None:
    """The window is a time of day: the next day at 01:00 background jobs are blocked again."""
    svc.network.register("http://server/a", b"x" * (10 * DAY), rate=1)
    blocked_from_one_to_two(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(2 * HOUR)
    job.resume()
    svc.advance(DAY - HOUR)  # 01:00 the next day
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_progress().bytes_transferred == DAY - HOUR
    svc.advance(HOUR)
    assert job.get_state() is S.TRANSFERRING


def test_T19_a_clock_moved_back_does_not_move_the_interval_until_a_restart(
    svc: BitsService, tmp_path: Path
) -> None:
    """GP: "changing the system clock does not affect the bandwidth limitation time interval ... To reflect
    the system clock change in BITS, you must restart the computer or the BITS service." The clock set back
    an hour at 00:30 shows 23:30, and the interval still begins 30 minutes later; after a restart it follows
    the clock (01:00 on it)."""
    svc.network.register("http://server/a", b"x" * 10)
    blocked_from_one_to_two(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(1800)
    svc.clock.set(START - dt.timedelta(minutes=30))  # type: ignore[attr-defined]
    assert job.get_state() is S.SUSPENDED  # the call that sees the clock 3,600 s back
    svc.advance(1799)
    job.resume()
    assert job.get_state() is S.TRANSFERRED  # 23:59:59 on the clock, 00:59:59 for the window
    job2 = new_job(svc, tmp_path, "http://server/a", name="two")
    svc.advance(1)
    job2.resume()
    assert job2.get_state() is S.TRANSIENT_ERROR  # the window's 01:00
    svc.restart()
    assert job2.get_state() is S.TRANSFERRED  # 00:00 on the clock: outside 01:00-02:00


def test_a_capped_job_made_foreground_goes_at_its_source_rate_at_once(svc: BitsService, tmp_path: Path) -> None:
    """GP: the cap binds background transfers only: SetPriority(FOREGROUND) mid-file lifts it from that
    instant, the bytes moved under the cap kept (250 B/s for 2 s, then the server's 1,000 B/s)."""
    svc.network.register("http://server/a", b"x" * 2500, rate=1000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=2))
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(2)
    assert job.get_progress().bytes_transferred == 500
    job.set_priority(JobPriority.FOREGROUND)
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 1500
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == START + dt.timedelta(seconds=4)


def test_T19_a_foreground_job_made_background_in_the_interval_is_blocked(svc: BitsService, tmp_path: Path) -> None:
    """T19: a foreground job transferring in a blocked interval is not touched, until SetPriority makes it a
    background job: then it is blocked at once, its bytes kept."""
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=0))
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_priority(JobPriority.FOREGROUND)
    job.resume()
    svc.advance(3)
    assert job.get_state() is S.TRANSFERRING
    job.set_priority(JobPriority.LOW)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY)
    assert job.get_progress().bytes_transferred == 30


def test_T19_a_zero_limit_outside_the_window_blocks_outside_it(svc: BitsService, tmp_path: Path) -> None:
    """GP: "a limit to use at all other times" may be 0 too: outside 01:00–02:00 nothing moves, inside the
    window 8 kbps (1,000 B/s)."""
    svc.network.register("http://server/a", b"x" * 1000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(1, 2, kbps=8, outside_kbps=0))
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == BG_E_BLOCKED_BY_POLICY
    svc.advance(HOUR)
    assert job.get_state() is S.TRANSFERRING
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED


def test_T19_the_block_outlives_a_restart_within_the_interval(svc: BitsService, tmp_path: Path) -> None:
    """The policy is the machine's (GP: the registry under HKLM\\Software\\Policies): a service restart within
    the interval leaves the blocked job blocked, and the interval's end releases it as before."""
    svc.network.register("http://server/a", b"x" * 10)
    blocked_from_one_to_two(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    svc.advance(HOUR)
    job.resume()
    svc.restart()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == BG_E_BLOCKED_BY_POLICY
    svc.advance(HOUR)
    assert job.get_state() is S.TRANSFERRED


def test_T19_a_service_reopening_the_store_keeps_its_policy_and_stored_blocked_jobs(tmp_path: Path) -> None:
    """GP: the policies are the machine's (its registry), not a client's. A file store keeps them
    (docs/ARCHITECTURE.md#machine): a service reopening it without a policy of its own is under the stored one,
    so a job stored blocked stays blocked; one given ``group_policy=GroupPolicy()`` (nothing configured) replaces
    it, and the job goes back to QUEUED and transfers."""
    from emulator import ManualClock

    db = tmp_path / "queue.db"
    policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=0))
    with BitsService(database=db, clock=ManualClock()) as first:
        first.network.register("http://server/a", b"x" * 10)
        first.group_policy = policy
        job = new_job(first, tmp_path, "http://server/a")
        job.resume()
        assert job.get_state() is S.TRANSIENT_ERROR
        job_id = job.get_id()
    with BitsService(database=db, clock=ManualClock()) as second:
        second.network.register("http://server/a", b"x" * 10)
        assert second.group_policy == policy
        again = second.connect().get_job(job_id)
        second.run_until_idle()
        assert (again.get_state(), again.get_error().get_error()[1]) == (S.TRANSIENT_ERROR, BG_E_BLOCKED_BY_POLICY)
    with BitsService(database=db, clock=ManualClock(), group_policy=GroupPolicy()) as third:
        third.network.register("http://server/a", b"x" * 10)
        again = third.connect().get_job(job_id)
        assert again.get_state() is S.CONNECTING  # released at the first catch-up, and running
        third.run_until_idle()
        assert again.get_state() is S.TRANSFERRED


@pytest.mark.svc(clock="manual", sandbox=True)
def test_an_smb_source_is_capped_too(svc: BitsService) -> None:
    """GP: the policy limits "the network bandwidth that BITS uses for background transfers"; a UNC (SMB)
    source is a transfer like an HTTP one (docs/reference/readings.md#bandwidth-rates): 2 kbps, 250 bytes a
    second, and the bytes on disk are the source's."""
    svc.filesystem.makedirs("\\\\server\\share")
    svc.filesystem.makedirs("C:\\out")
    source = svc.filesystem.host_path("\\\\server\\share\\a.bin")
    source.write_bytes(bytes(range(250)) * 4)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=2))
    _, job = svc.connect().create_job("smb", JobType.DOWNLOAD)
    job.add_file("\\\\server\\share\\a.bin", "C:\\out\\a.bin")
    job.resume()
    svc.advance(3)
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 750)
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert svc.filesystem.host_path("C:\\out\\a.bin").read_bytes() == bytes(range(250)) * 4


def test_T19_a_blocked_job_does_not_run_out_its_no_progress_timeout(svc: BitsService, tmp_path: Path) -> None:
    """docs/reference/readings.md#policy-blocked-states: the block is the policy's, not a failure of the
    transfer — no no-progress timer runs (as for a lost network, T17), so a 60 s NoProgressTimeout does not
    turn an hour's block into ERROR."""
    svc.network.register("http://server/a", b"x" * 10)
    blocked_from_one_to_two(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    job.set_no_progress_timeout(60)
    svc.advance(HOUR)
    job.resume()
    svc.advance(HOUR - 1)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 0
    svc.advance(1)
    assert job.get_state() is S.TRANSFERRED


def test_T19_a_job_blocked_by_a_service_sharing_the_store_is_released_at_the_interval_end(tmp_path: Path) -> None:
    """GP: "BITS places the jobs in the queued state after the time interval expires". Two services on one file
    store, the same policy on both (the machine's registry): a job the first blocked at 01:00 is, once the first
    is gone, released by the second at 02:00 and transfers — it was not left in TRANSIENT_ERROR for good."""
    from emulator import ManualClock

    db = tmp_path / "queue.db"
    clock = ManualClock()
    first, second = BitsService(database=db, clock=clock), BitsService(database=db, clock=clock)
    try:
        for svc in (first, second):
            svc.network.register("http://server/a", b"x" * 10, last_modified=0.0)
            blocked_from_one_to_two(svc)
        first.advance(HOUR)
        job = new_job(first, tmp_path, "http://server/a")
        job.resume()
        assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY)
        seen = second.connect().get_job(job.get_id())
        assert seen.get_state() is S.TRANSIENT_ERROR
        first.close()
        second.advance(HOUR - 1)
        assert seen.get_state() is S.TRANSIENT_ERROR
        second.advance(1)
        assert seen.get_state() is S.TRANSFERRED
    finally:
        first.close()
        second.close()


def test_a_policy_given_to_the_service_binds_the_stored_jobs_from_the_start(tmp_path: Path) -> None:
    """GP: the policies live in the registry (HKLM\\Software\\Policies\\Microsoft\\Windows\\BITS), so they are in
    force as the BITS service starts. ``BitsService(database, group_policy=...)`` reopening a store: the job
    stored blocked stays blocked (BG_E_BLOCKED_BY_POLICY, not counted) with no state change and no request — it
    is not QUEUED and CONNECTING first under no policy, as with a policy assigned after the service is built — and
    the policy is the service's (``svc.group_policy``). Without a MaxInternetBandwidth of 0 it runs."""
    from emulator import ManualClock

    db = tmp_path / "queue.db"
    policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=0))
    clock = ManualClock()
    with BitsService(database=db, clock=clock, group_policy=policy) as first:
        first.network.register("http://server/a", b"x" * 10, last_modified=0.0)
        assert first.group_policy is policy
        job = new_job(first, tmp_path, "http://server/a")
        job.resume()
        assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY)
        job_id = job.get_id()
    with BitsService(database=db, clock=clock, group_policy=policy) as second:
        second.network.register("http://server/a", b"x" * 10, last_modified=0.0)
        again = second.connect().get_job(job_id)
        second.advance(DAY)
        assert (again.get_state(), again.get_error().get_error()[1]) == (S.TRANSIENT_ERROR, BG_E_BLOCKED_BY_POLICY)
        assert again.get_error_count() == 0
        assert second.history.states("job") == []  # never QUEUED, CONNECTING and blocked again
        assert second.network.requests_for("http://server/a") == []
    with BitsService(database=db, clock=clock, group_policy=GroupPolicy(max_jobs_per_user=5)) as third:
        third.network.register("http://server/a", b"x" * 10, last_modified=0.0)
        third.run_until_idle()
        assert third.connect().get_job(job_id).get_state() is S.TRANSFERRED


def test_a_service_given_something_else_than_a_policy_is_a_type_error(tmp_path: Path) -> None:
    """``group_policy=`` takes a GroupPolicy (README Errors: TypeError before anything is touched)."""
    with pytest.raises(TypeError, match="group_policy must be a GroupPolicy, not dict"):
        BitsService(database=tmp_path / "queue.db", group_policy={"max_jobs_per_user": 5})  # type: ignore[arg-type]
    assert not (tmp_path / "queue.db").exists()
