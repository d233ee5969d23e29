"""The BITS 4.0 bandwidth-throttling group policies: EnableBandwidthLimits (``GroupPolicy.work_schedule``) and
EnableMaintenanceLimits (``GroupPolicy.maintenance_schedule``).

Facts: the group policies page (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies, GP below);
what it leaves open: docs/reference/readings.md#group-policy (``schedule-days``, ``bandwidth-combined``,
``schedule-block``, ``schedules-version``, and MaxInternetBandwidth's ``bandwidth-window``, ``bandwidth-utc``,
``bandwidth-rates``). The manual clock starts on Thursday 2026-01-01 00:00:00 UTC; hours and days are read in
UTC on the service clock. A kilobit is 1,000 bits: 128 kbps is 16,000 bytes a second, 256 is 32,000, 512 is
64,000.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from helpers import recorded_steps

from emulator import (
    BandwidthLimit,
    BitsService,
    ErrorContext,
    GroupPolicy,
    Job,
    JobPriority,
    JobState,
    JobType,
    MaintenanceSchedule,
    ManualClock,
    PriorityLimits,
    Weekday,
    WorkSchedule,
)
from emulator.clock import NS
from emulator.domain.policy import BandwidthRules, weekday_at

S = JobState
P = JobPriority
W = Weekday
BG_E_BLOCKED_BY_POLICY = 0x8020003E
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # a Thursday: the manual clock's start
HOUR = 3600

pytestmark = pytest.mark.svc(clock="manual")

# The page's EnableBandwidthLimits example: "limit the network bandwidth of low priority jobs to 128 Kbps from
# 8:00 A.M. to 5:00 P.M. on Monday through Friday, and then set the limit to 512 Kbps for non-work hours".
PAGE_WORK = WorkSchedule(W.MONDAY, W.FRIDAY, 8, 17, work=PriorityLimits(low=128), non_work=PriorityLimits(low=512))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """An instant of the first days of 2026: ``day`` is the day of January."""
    return dt.datetime(2026, 1, day, hour, minute, second, tzinfo=dt.UTC)


def ns_of(when: dt.datetime) -> int:
    """``when`` on the service clock: ns since the epoch (whole seconds here)."""
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86400 + delta.seconds) * NS


def advance_to(svc: BitsService, when: dt.datetime, extra: Fraction = Fraction(0)) -> None:
    """Move the manual clock to ``when`` (+ ``extra`` seconds, exact)."""
    target = ns_of(when) + int(extra * NS)
    svc.advance(Fraction(target - svc.sim.clock_ns(), NS))


def new_job(svc: BitsService, tmp_path: Path, url: str, *, name: str = "job", priority: JobPriority = P.NORMAL) -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    job.add_file(url, str(tmp_path / f"{name}.bin"))
    job.set_priority(priority)
    return job


def assert_blocked(job: Job) -> None:
    """T19 (docs/reference/states.md#t19): TRANSIENT_ERROR, BG_E_BLOCKED_BY_POLICY, GENERAL_QUEUE_MANAGER, not
    counted."""
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY)
    assert job.get_error_count() == 0


# the page's two examples ----------------------------------------------------------------------------------


def test_page_work_schedule_example_128_kbps_until_five_pm_then_512(svc: BitsService, tmp_path: Path) -> None:
    """GP EnableBandwidthLimits' example: a low priority job resumed on Friday 2 January at 16:59 goes at 128 kbps
    (16,000 B/s) for the work schedule's last minute, 960,000 bytes, then at 512 kbps (64,000 B/s) from 17:00
    to the nanosecond; 640,064 more bytes take 10.001 s: the file ends at 17:00:10.001 exactly."""
    svc.network.register("http://server/a", size=960_000 + 640_064)  # no rate of its own: instant unlimited
    svc.group_policy = GroupPolicy(work_schedule=PAGE_WORK)
    job = new_job(svc, tmp_path, "http://server/a", priority=P.LOW)
    advance_to(svc, at(2, 16, 59))
    job.resume()
    advance_to(svc, at(2, 16, 59, 30))
    assert job.get_progress().bytes_transferred == 480_000
    advance_to(svc, at(2, 17))
    assert job.get_progress().bytes_transferred == 960_000
    advance_to(svc, at(2, 17, 0, 10))
    assert job.get_progress().bytes_transferred == 960_000 + 640_000
    advance_to(svc, at(2, 17, 0, 10), Fraction(1, 1000) - Fraction(1, NS))
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 1_600_063)
    advance_to(svc, at(2, 17, 0, 10), Fraction(1, 1000))
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == at(2, 17, 0, 10) + dt.timedelta(milliseconds=1)


def test_page_work_schedule_example_weekend_and_monday_morning(svc: BitsService, tmp_path: Path) -> None:
    """GP: "All hours and days that are not defined in a work schedule are considered non-work hours": Saturday
    noon is non-work (512 kbps), and Monday 08:00 begins the work schedule again (128 kbps) — a job resumed at
    07:59:59 moves 64,000 bytes in that second, then 16,000 a second."""
    svc.network.register("http://server/a", size=10**9)
    svc.group_policy = GroupPolicy(work_schedule=PAGE_WORK)
    job = new_job(svc, tmp_path, "http://server/a", priority=P.LOW)
    advance_to(svc, at(3, 12))  # Saturday
    assert weekday_at(svc.sim.clock_ns()) == W.SATURDAY
    job.resume()
    advance_to(svc, at(3, 12, 0, 1))
    assert job.get_progress().bytes_transferred == 64_000
    job.suspend()
    done = job.get_progress().bytes_transferred
    advance_to(svc, at(5, 7, 59, 59))  # Monday
    job.resume()
    advance_to(svc, at(5, 8))
    assert job.get_progress().bytes_transferred == done + 64_000
    advance_to(svc, at(5, 8, 0, 3))
    assert job.get_progress().bytes_transferred == done + 64_000 + 48_000


def test_page_maintenance_example_normal_blocked_from_8_to_10_then_256(svc: BitsService, tmp_path: Path) -> None:
    """GP EnableMaintenanceLimits' example: "if normal priority jobs are currently limited to 256 Kbps on a work
    schedule, you can further limit the network bandwidth of normal priority jobs to 0 Kbps from 8:00 A.M. to
    10:00 A.M. on a maintenance schedule" — with 0 read as MaxInternetBandwidth's 0
    (docs/reference/readings.md#schedule-block): at Friday 08:00 the running normal job goes to TRANSIENT_ERROR
    with BG_E_BLOCKED_BY_POLICY, context GENERAL_QUEUE_MANAGER, not counted; at 10:00 it is back, capped at 256
    kbps (32,000 B/s) though its server sends 50,000: the last 64,000 bytes end at 10:00:02 exactly."""
    svc.network.register("http://server/a", size=50_000 + 64_000, rate=50_000)
    svc.group_policy = GroupPolicy(
        work_schedule=WorkSchedule(W.MONDAY, W.FRIDAY, 8, 17, work=PriorityLimits(normal=256)),
        maintenance_schedule=MaintenanceSchedule(W.MONDAY, W.FRIDAY, 8, 10, limits=PriorityLimits(normal=0)),
    )
    job = new_job(svc, tmp_path, "http://server/a")
    advance_to(svc, at(2, 7, 59, 59))
    job.resume()
    advance_to(svc, at(2, 8))
    assert_blocked(job)
    assert job.get_progress().bytes_transferred == 50_000  # the bytes that arrived stay
    advance_to(svc, at(2, 10), -Fraction(1, NS))
    assert_blocked(job)  # far past the retry delay: no retry within the interval
    advance_to(svc, at(2, 10))
    assert job.get_state() is S.TRANSFERRING
    assert svc.history.states("job")[-3:] == [S.QUEUED, S.CONNECTING, S.TRANSFERRING]
    advance_to(svc, at(2, 10, 0, 1))
    assert job.get_progress().bytes_transferred == 50_000 + 32_000
    advance_to(svc, at(2, 10, 0, 2))
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == at(2, 10, 0, 2)
    assert job.get_error_count() == 0


def test_run_until_idle_waits_for_the_maintenance_window_to_end(svc: BitsService, tmp_path: Path) -> None:
    """A job blocked by a maintenance limit of 0 is waiting, not at rest (T19): ``run_until_idle`` moves time
    to the window's end, 10:00, and the job then finishes."""
    svc.network.register("http://server/a", b"x" * 10)
    svc.group_policy = GroupPolicy(
        maintenance_schedule=MaintenanceSchedule(W.SUNDAY, W.SATURDAY, 8, 10, limits=PriorityLimits(normal=0)),
    )
    job = new_job(svc, tmp_path, "http://server/a")
    advance_to(svc, at(1, 8))
    job.resume()
    assert_blocked(job)
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert job.get_times().transfer_completion_time == at(1, 10)


def test_the_block_outlives_a_restart_within_the_maintenance_window(svc: BitsService, tmp_path: Path) -> None:
    """T19 (docs/reference/readings.md#schedule-block) across ``svc.restart()``: the policy belongs to the
    service object and survives it (README group policy); at 09:00 the restarted service finds the job still
    blocked, and releases it at 10:00."""
    svc.network.register("http://server/a", b"x" * 10)
    svc.group_policy = GroupPolicy(
        maintenance_schedule=MaintenanceSchedule(W.THURSDAY, W.THURSDAY, 8, 10, limits=PriorityLimits(normal=0)),
    )
    job = new_job(svc, tmp_path, "http://server/a")
    advance_to(svc, at(1, 8))
    job.resume()
    assert_blocked(job)
    advance_to(svc, at(1, 9))
    svc.restart()
    job = svc.connect().get_job(job.get_id())
    assert_blocked(job)
    advance_to(svc, at(1, 10))
    assert job.get_state() is S.TRANSFERRED


# per priority, foreground ---------------------------------------------------------------------------------


def test_each_priority_has_its_own_limit(svc: BitsService, tmp_path: Path) -> None:
    """GP: the limits are for "low priority jobs", "normal priority jobs": during the maintenance window that
    blocks NORMAL, the low job waiting behind the normal one gets the background slot and transfers, not
    limited (the policy leaves LOW alone); at 10:00 the normal job is released and preempts it (T11)."""
    svc.network.register("http://server/n", size=10**9, rate=1000)
    svc.network.register("http://server/l", size=10**9, rate=1000)
    svc.group_policy = GroupPolicy(
        maintenance_schedule=MaintenanceSchedule(W.MONDAY, W.FRIDAY, 8, 10, limits=PriorityLimits(normal=0)),
    )
    normal = new_job(svc, tmp_path, "http://server/n", name="normal")
    low = new_job(svc, tmp_path, "http://server/l", name="low", priority=P.LOW)
    advance_to(svc, at(2, 7, 59))
    normal.resume()
    low.resume()
    advance_to(svc, at(2, 8))
    assert (normal.get_state(), low.get_state()) == (S.TRANSIENT_ERROR, S.TRANSFERRING)
    assert_blocked(normal)
    advance_to(svc, at(2, 9))
    assert low.get_progress().bytes_transferred == HOUR * 1000
    advance_to(svc, at(2, 10))
    assert (normal.get_state(), low.get_state()) == (S.TRANSFERRING, S.QUEUED)


def test_a_high_limit_does_not_bind_a_normal_job(svc: BitsService, tmp_path: Path) -> None:
    """Per priority: a work schedule limiting HIGH to 8 kbps leaves a NORMAL job at its server's 4,000 B/s, and
    caps a HIGH one at 1,000 B/s."""
    svc.network.register("http://server/a", size=10**9, rate=4000)
    svc.group_policy = GroupPolicy(work_schedule=WorkSchedule(0, 6, 0, 0, work=PriorityLimits(high=8)))
    normal = new_job(svc, tmp_path, "http://server/a", name="normal")
    normal.resume()
    svc.advance(2)
    assert normal.get_progress().bytes_transferred == 8000
    normal.suspend()
    high = new_job(svc, tmp_path, "http://server/a", name="high", priority=P.HIGH)
    high.resume()
    svc.advance(2)
    assert high.get_progress().bytes_transferred == 2000


def test_foreground_jobs_are_never_limited(svc: BitsService, tmp_path: Path) -> None:
    """GP: both policies limit "background transfers" / "background jobs": with every background priority
    blocked all week by the work schedule and limited by the maintenance schedule, a FOREGROUND job goes at its
    server's rate while the low job is blocked."""
    svc.network.register("http://server/a", size=10**9, rate=4000)
    zero = PriorityLimits(high=0, normal=0, low=0)
    svc.group_policy = GroupPolicy(
        work_schedule=WorkSchedule(W.SUNDAY, W.SATURDAY, 0, 0, work=zero),
        maintenance_schedule=MaintenanceSchedule(W.SUNDAY, W.SATURDAY, 0, 0, limits=PriorityLimits(2, 2, 2)),
    )
    fg = new_job(svc, tmp_path, "http://server/a", name="fg", priority=P.FOREGROUND)
    low = new_job(svc, tmp_path, "http://server/a", name="low", priority=P.LOW)
    fg.resume()
    low.resume()
    svc.advance(3)
    assert fg.get_progress().bytes_transferred == 12_000
    assert low.get_progress().bytes_transferred == 250 * 3  # the maintenance limit, 2 kbps, supersedes the 0


# days and hours -------------------------------------------------------------------------------------------


def test_a_day_range_may_wrap_past_saturday() -> None:
    """docs/reference/readings.md#schedule-days: FRIDAY..MONDAY is Friday, Saturday, Sunday and Monday; the
    hours are read on each of those days on their own (22..6 on Monday..Friday is Monday 00-06, ..., Friday
    22-24, not Saturday 00-06)."""
    wrap = WorkSchedule(W.FRIDAY, W.MONDAY, 0, 0, work=PriorityLimits(high=8))
    inside = {day: wrap.in_window(ns_of(at(day, 12))) for day in range(1, 8)}  # Thursday 1 .. Wednesday 7
    assert inside == {1: False, 2: True, 3: True, 4: True, 5: True, 6: False, 7: False}
    nights = WorkSchedule(W.MONDAY, W.FRIDAY, 22, 6, work=PriorityLimits(high=8))
    assert nights.in_window(ns_of(at(5, 2)))  # Monday 02:00
    assert nights.in_window(ns_of(at(2, 23)))  # Friday 23:00
    assert not nights.in_window(ns_of(at(3, 2)))  # Saturday 02:00
    assert not nights.in_window(ns_of(at(5, 12)))  # Monday noon


def test_a_wrapped_day_range_binds_from_friday_midnight(svc: BitsService, tmp_path: Path) -> None:
    """A FRIDAY..MONDAY whole-day work schedule of 8 kbps (1,000 B/s) for HIGH: a job resumed on Thursday at
    23:59:59 moves its server's 4,000 bytes in that second, then 1,000 a second from Friday 00:00; from
    Tuesday 00:00 it is unlimited again."""
    svc.network.register("http://server/a", size=10**12, rate=4000)
    svc.group_policy = GroupPolicy(work_schedule=WorkSchedule(W.FRIDAY, W.MONDAY, 0, 0, work=PriorityLimits(high=8)))
    job = new_job(svc, tmp_path, "http://server/a", priority=P.HIGH)
    advance_to(svc, at(1, 23, 59, 59))
    job.resume()
    advance_to(svc, at(2, 0, 0, 2))
    assert job.get_progress().bytes_transferred == 4000 + 2000
    advance_to(svc, at(5, 23, 59, 59))  # Monday
    before = job.get_progress().bytes_transferred
    advance_to(svc, at(6, 0, 0, 1))  # Tuesday 00:00:01
    assert job.get_progress().bytes_transferred == before + 1000 + 4000


def test_the_week_repeats(svc: BitsService, tmp_path: Path) -> None:
    """A weekly calendar (GP): a SUNDAY-only maintenance block of LOW jobs comes back a week later, and each
    time ends at Monday 00:00."""
    svc.network.register("http://server/a", size=10**12, rate=1000)
    svc.group_policy = GroupPolicy(
        maintenance_schedule=MaintenanceSchedule(W.SUNDAY, W.SUNDAY, 0, 0, limits=PriorityLimits(low=0)),
    )
    job = new_job(svc, tmp_path, "http://server/a", priority=P.LOW)
    job.resume()
    for sunday in (4, 11):
        advance_to(svc, at(sunday))
        assert_blocked(job)
        advance_to(svc, at(sunday + 1), -Fraction(1, NS))
        assert_blocked(job)
        advance_to(svc, at(sunday + 1))
        assert job.get_state() is S.TRANSFERRING


def test_the_next_boundary_is_the_first_hour_edge_where_the_schedule_changes() -> None:
    """The boundary the scheduler files (docs/reference/readings.md#schedule-days): for 2,000 seeded schedules
    and instants, ``next_change`` is the first whole hour after the instant whose membership differs (found by
    walking the week hour by hour), or ``None`` when none in a week does."""
    rng = random.Random(20260101)
    base = ns_of(START)
    for _ in range(2000):
        days_hours = (rng.randrange(7), rng.randrange(7), rng.randrange(24), rng.randrange(24))
        schedule = MaintenanceSchedule(*days_hours, limits=PriorityLimits())
        instant = base + rng.randrange(14 * 24 * HOUR) * NS + rng.choice((0, 1, NS - 1))
        inside = schedule.in_window(instant)
        edge, want = instant - instant % (HOUR * NS), None
        for _hour in range(7 * 24):
            edge += HOUR * NS
            if schedule.in_window(edge) != inside:
                want = edge
                break
        assert schedule.next_change(instant) == want, (days_hours, instant)


# combination with MaxInternetBandwidth, supersession -------------------------------------------------------


def test_the_lower_of_max_internet_bandwidth_and_the_schedule_binds(svc: BitsService, tmp_path: Path) -> None:
    """docs/reference/readings.md#bandwidth-combined: MaxInternetBandwidth (64 kbps, 8,000 B/s) and a work schedule
    (LOW 128 kbps) together: the lower, 8,000 B/s; with MaxInternetBandwidth at 512 kbps, the schedule's 16,000."""
    svc.network.register("http://server/a", size=10**12)
    every_day = WorkSchedule(W.SUNDAY, W.SATURDAY, 0, 0, work=PriorityLimits(low=128))
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=64), work_schedule=every_day)
    job = new_job(svc, tmp_path, "http://server/a", priority=P.LOW)
    job.resume()
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 8000
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=512), work_schedule=every_day)
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 8000 + 16_000
    # MaxInternetBandwidth binds the priorities the schedule leaves unlimited
    rules = BandwidthRules(BandwidthLimit(0, 0, kbps=64), every_day)
    assert [rules.rate_at(p, 0) for p in (1, 2, 3)] == [8000, 8000, 8000]


def test_the_maintenance_limit_supersedes_the_work_limit_even_when_higher() -> None:
    """GP: "the bandwidth limits that are set for the maintenance period supersede any limits defined for work and
    other schedules": in the window, 512 kbps for LOW replaces the work schedule's 128; a priority the maintenance
    schedule leaves unset keeps the work schedule's limit; MaxInternetBandwidth still caps the result
    (docs/reference/readings.md#bandwidth-combined)."""
    work = WorkSchedule(W.SUNDAY, W.SATURDAY, 0, 0, work=PriorityLimits(high=16, normal=32, low=128))
    maintenance = MaintenanceSchedule(W.THURSDAY, W.THURSDAY, 8, 10, limits=PriorityLimits(low=512))
    rules = BandwidthRules(None, work, maintenance)
    nine, noon = ns_of(at(1, 9)), ns_of(at(1, 12))
    assert [rules.rate_at(p, nine) for p in (1, 2, 3)] == [2000, 4000, 64_000]
    assert [rules.rate_at(p, noon) for p in (1, 2, 3)] == [2000, 4000, 16_000]
    capped = BandwidthRules(BandwidthLimit(0, 0, kbps=256), work, maintenance)
    assert capped.rate_at(3, nine) == 32_000
    blocked = BandwidthRules(BandwidthLimit(9, 10, kbps=0), work, maintenance)
    assert blocked.rate_at(3, nine) == 0
    assert rules.next_change(nine) == ns_of(at(1, 10))


def test_limits_under_two_kilobits_are_two() -> None:
    """GP (MaxInternetBandwidth, the same unit): "BITS uses approximately two kilobits if you specify a value less
    than two kilobits" — 1 kbps is 250 B/s (docs/reference/readings.md#bandwidth-rates); 0 stays 0."""
    rules = BandwidthRules(None, WorkSchedule(0, 6, 0, 0, work=PriorityLimits(1, 0, 2)))
    assert [rules.rate_at(p, 0) for p in (1, 2, 3)] == [250, 0, 250]


# BITS versions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "bytes_moved"), [("vista", 4000), ("win7", 1000)])
def test_bits_before_4_0_ignores_the_schedules(tmp_path: Path, profile: str, bytes_moved: int) -> None:
    """GP: EnableBandwidthLimits and EnableMaintenanceLimits are "BITS 4.0" policies; the vista profile (BITS
    3.0) ignores them as a registry value it never reads (docs/reference/readings.md#schedules-version), win7
    (BITS 4.0) applies them. MaxInternetBandwidth (BITS 2.0) binds both."""
    with BitsService(profile=profile, clock=ManualClock()) as svc:
        svc.network.register("http://server/a", size=10**9, rate=4000)
        policy = GroupPolicy(
            work_schedule=WorkSchedule(0, 6, 0, 0, work=PriorityLimits(normal=8)),
            maintenance_schedule=MaintenanceSchedule(0, 6, 0, 0, limits=PriorityLimits(low=0)),
        )
        svc.group_policy = policy
        assert svc.group_policy == policy  # kept as given: the profile decides what it reads
        normal = new_job(svc, tmp_path, "http://server/a", name="normal")
        low = new_job(svc, tmp_path, "http://server/a", name="low", priority=P.LOW)
        normal.resume()
        low.resume()
        svc.advance(1)
        assert normal.get_progress().bytes_transferred == bytes_moved
        assert low.get_state() is (S.QUEUED if profile == "vista" else S.TRANSIENT_ERROR)
        svc.group_policy = dataclasses.replace(policy, max_internet_bandwidth=BandwidthLimit(0, 0, kbps=16))
        svc.advance(1)
        assert normal.get_progress().bytes_transferred == bytes_moved + (2000 if profile == "vista" else 1000)


# SetPriority while transferring or blocked --------------------------------------------------------------------


def test_a_priority_change_mid_transfer_retimes_at_once(svc: BitsService, tmp_path: Path) -> None:
    """The cap is the one of the job's priority now: a LOW job at 16 kbps (2,000 B/s) made HIGH (8 kbps) goes at
    1,000 B/s from the call, made NORMAL (unlimited) at its server's 4,000 B/s, with no byte lost at either
    change."""
    svc.network.register("http://server/a", size=10**9, rate=4000)
    svc.group_policy = GroupPolicy(work_schedule=WorkSchedule(0, 6, 0, 0, work=PriorityLimits(high=8, low=16)))
    job = new_job(svc, tmp_path, "http://server/a", priority=P.LOW)
    job.resume()
    svc.advance(Fraction(3, 2))
    assert job.get_progress().bytes_transferred == 3000
    job.set_priority(P.HIGH)
    svc.advance(Fraction(1, 2))
    assert job.get_progress().bytes_transferred == 3500
    job.set_priority(P.NORMAL)
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 7500
    assert job.get_state() is S.TRANSFERRING


def test_a_priority_change_into_and_out_of_a_blocked_priority(svc: BitsService, tmp_path: Path) -> None:
    """T19 per priority: a running NORMAL job made LOW while LOW is blocked is blocked at once, its bytes kept;
    made HIGH again it leaves the block (as a blocked job made FOREGROUND does under MaxInternetBandwidth)."""
    svc.network.register("http://server/a", size=10**9, rate=1000)
    svc.group_policy = GroupPolicy(work_schedule=WorkSchedule(0, 6, 0, 0, work=PriorityLimits(low=0)))
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(2)
    job.set_priority(P.LOW)
    assert_blocked(job)
    assert job.get_progress().bytes_transferred == 2000
    svc.advance(5)
    assert_blocked(job)
    job.set_priority(P.HIGH)
    assert job.get_state() is S.TRANSFERRING
    svc.advance(1)
    assert job.get_progress().bytes_transferred == 3000


def test_a_job_resumed_in_a_blocked_interval_is_blocked_and_others_run(svc: BitsService, tmp_path: Path) -> None:
    """T19: a LOW job that becomes QUEUED while LOW is blocked goes to TRANSIENT_ERROR at once; a NORMAL job
    resumed after it runs."""
    svc.network.register("http://server/a", size=10**9, rate=1000)
    svc.group_policy = GroupPolicy(work_schedule=WorkSchedule(0, 6, 0, 0, work=PriorityLimits(low=0)))
    low = new_job(svc, tmp_path, "http://server/a", name="low", priority=P.LOW)
    normal = new_job(svc, tmp_path, "http://server/a", name="normal")
    low.resume()
    assert_blocked(low)
    normal.resume()
    assert normal.get_state() is S.TRANSFERRING
    svc.group_policy = GroupPolicy()
    assert low.get_state() is S.QUEUED  # released; waits behind the normal job


# validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: PriorityLimits(high=1.5),  # type: ignore[arg-type]
        lambda: PriorityLimits(low=True),
        lambda: PriorityLimits(normal="128"),  # type: ignore[arg-type]
        lambda: WorkSchedule("monday", 5, 8, 17, work=PriorityLimits()),  # type: ignore[arg-type]
        lambda: WorkSchedule(1, 5, 8.0, 17, work=PriorityLimits()),  # type: ignore[arg-type]
        lambda: WorkSchedule(1, 5, 8, 17, work={"low": 128}),  # type: ignore[arg-type]
        lambda: WorkSchedule(1, 5, 8, 17, work=PriorityLimits(), non_work=None),  # type: ignore[arg-type]
        lambda: MaintenanceSchedule(1, 5, 8, 10, limits=128),  # type: ignore[arg-type]
        lambda: GroupPolicy(work_schedule=MaintenanceSchedule(1, 5, 8, 10, limits=PriorityLimits())),  # type: ignore[arg-type]
        lambda: GroupPolicy(maintenance_schedule=WorkSchedule(1, 5, 8, 10, work=PriorityLimits())),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_type_errors(make: Any) -> None:
    """Limits and hours are ints (a bool is not one), days ints or Weekdays, limits PriorityLimits (README Errors)."""
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PriorityLimits(high=-1), "high must be in 0..4294967200, not -1"),
        (lambda: PriorityLimits(low=4_294_967_201), "low must be in 0..4294967200"),
        (lambda: WorkSchedule(7, 5, 8, 17, work=PriorityLimits()), "first_day must be in 0..6, not 7"),
        (lambda: WorkSchedule(1, -1, 8, 17, work=PriorityLimits()), "last_day must be in 0..6, not -1"),
        (lambda: WorkSchedule(1, 5, 24, 17, work=PriorityLimits()), "start_hour must be in 0..23, not 24"),
        (lambda: MaintenanceSchedule(1, 5, 8, 24, limits=PriorityLimits()), "end_hour must be in 0..23, not 24"),
    ],
)
def test_values_out_of_range_are_value_errors(make: Any, message: str) -> None:
    """MaxInternetBandwidth's kbps range (Policy CSP BandwidthThrottling*: 0..4,294,967,200), days 0..6,
    hours 0..23."""
    with pytest.raises(ValueError, match=message):
        make()


def test_days_are_weekdays_numbered_from_sunday() -> None:
    """Days are numbered as SYSTEMTIME.wDayOfWeek (0 Sunday .. 6 Saturday) and stored as ``Weekday``; the values
    are frozen; 2026-01-01 (the manual clock's start) is a Thursday."""
    schedule = WorkSchedule(1, 5, 8, 17, work=PriorityLimits(low=128))
    assert (schedule.first_day, schedule.last_day) == (W.MONDAY, W.FRIDAY)
    assert repr(schedule.first_day) == "<Weekday.MONDAY: 1>"
    assert weekday_at(ManualClock().time_ns()) == W.THURSDAY == START.isoweekday() % 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.start_hour = 9  # type: ignore[misc]
    assert GroupPolicy().work_schedule is None and GroupPolicy().maintenance_schedule is None


# scaling -----------------------------------------------------------------------------------------------------


def _boundary_work(
    n: int, policy: GroupPolicy, boundary: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """Steps and SQL statements at ``boundary`` with one NORMAL job transferring and ``n`` queued behind it (set up
    as benchmarks/bench_engine.py does, in one store transaction)."""
    svc = BitsService(clock=ManualClock(boundary - dt.timedelta(seconds=2)))  # (little to write before it)
    with svc:
        svc.network.register("http://server/file", size=10**12, rate=10**6)  # above every cap: each binds
        manager = svc.connect(svc.logon(svc.add_user("adm", admin=True)).elevated_token)
        svc.group_policy = policy
        with svc.lock, svc.queue.batch():
            for i in range(n + 1):
                directory = f"C:\\d\\{i // 100}"
                if i % 100 == 0:
                    svc.filesystem.makedirs(directory)
                _, job = manager.create_job(f"j{i}", JobType.DOWNLOAD)
                job.add_file("http://server/file", f"{directory}\\f{i}")
                job.resume()
        advance_to(svc, boundary, -Fraction(1))
        steps = recorded_steps(svc, monkeypatch)
        statements: list[str] = []
        svc.store.conn.set_trace_callback(statements.append)
        advance_to(svc, boundary, Fraction(1))
        svc.store.conn.set_trace_callback(None)
        monkeypatch.undo()
        return len(steps), len(statements)


@pytest.mark.parametrize(
    ("policy", "boundary", "steps"),
    [
        (GroupPolicy(work_schedule=WorkSchedule(1, 5, 8, 17, work=PriorityLimits(normal=128),
                                                non_work=PriorityLimits(normal=512))), at(2, 8), 1),
        (GroupPolicy(maintenance_schedule=MaintenanceSchedule(1, 5, 8, 10, limits=PriorityLimits(low=0, high=0))),
         at(2, 8), 0),
        (GroupPolicy(maintenance_schedule=MaintenanceSchedule(1, 5, 8, 10, limits=PriorityLimits(low=0, high=0))),
         at(2, 10), 0),
    ],
    ids=["rate change", "other priorities blocked", "other priorities released"],
)
def test_a_boundary_does_not_look_at_the_queue(
    policy: GroupPolicy, boundary: dt.datetime, steps: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted, not timed: an hour edge of a schedule with 10,000 queued NORMAL jobs costs what it costs with 10 —
    the running job is retimed (one step: 512 to 128 kbps), a priority blocked or released looks at its own jobs
    only (none here: no step)."""
    small = _boundary_work(10, policy, boundary, monkeypatch)
    large = _boundary_work(10_000, policy, boundary, monkeypatch)
    assert small[0] == steps
    assert large == small


def test_a_blocking_boundary_touches_the_blocked_jobs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the maintenance window blocks NORMAL, the work is per blocked job: the same statements per job with
    10 and 200 queued NORMAL jobs (each changes state once, T19)."""
    policy = GroupPolicy(maintenance_schedule=MaintenanceSchedule(1, 5, 8, 10, limits=PriorityLimits(normal=0)))
    small = _boundary_work(10, policy, at(2, 8), monkeypatch)
    large = _boundary_work(200, policy, at(2, 8), monkeypatch)
    assert large[1] / 201 <= small[1] / 11 * 1.05 + 1


# the pytest plugin's marker ------------------------------------------------------------------------------------


@pytest.mark.bits(clock="manual", profile="win7", group_policy=GroupPolicy(work_schedule=PAGE_WORK))
def test_the_bits_marker_takes_the_schedules(bits_service: BitsService, tmp_path: Path) -> None:
    """``@pytest.mark.bits(group_policy=GroupPolicy(work_schedule=…))`` (README pytest plugin): the schedule is in
    force from the start — the page's example on Thursday 00:00, non-work hours: a low job at 512 kbps."""
    bits_service.network.register("http://server/a", size=10**9)
    job = new_job(bits_service, tmp_path, "http://server/a", priority=P.LOW)
    job.resume()
    bits_service.advance(1)
    assert job.get_progress().bytes_transferred == 64_000


# scenarios -----------------------------------------------------------------------------------------------------

SCENARIO = """\
[scenario]
name = "s"

[[step]]
policy = {policy}
"""


def test_a_scenario_policy_step_builds_the_schedules(tmp_path: Path) -> None:
    """docs/scenarios.md ``policy``: ``work_schedule`` and ``maintenance_schedule`` tables build the same
    ``GroupPolicy`` as Python; days by name (any case) or number."""
    from emulator.scenarios import loads

    text = SCENARIO.replace("{policy}", (
        '{ work_schedule = { first_day = "Monday", last_day = 5, start_hour = 8, end_hour = 17, '
        'work = { low = 128 }, non_work = { low = 512 } }, '
        'maintenance_schedule = { first_day = "friday", last_day = "MONDAY", start_hour = 8, end_hour = 10, '
        'limits = { normal = 0 } } }'
    ))
    scenario = loads(text, tmp_path / "s.toml")
    policy = scenario.scenario.step[0].policy.group_policy()  # type: ignore[union-attr]
    assert policy == GroupPolicy(
        work_schedule=PAGE_WORK,
        maintenance_schedule=MaintenanceSchedule(W.FRIDAY, W.MONDAY, 8, 10, limits=PriorityLimits(normal=0)),
    )


@pytest.mark.parametrize(
    ("policy", "path", "message"),
    [
        ('{ work_schedule = { first_day = "funday", last_day = 5, start_hour = 8, end_hour = 17, work = {} } }',
         "step[0].policy", "unknown day 'funday'"),
        ('{ work_schedule = { first_day = 1, last_day = 7, start_hour = 8, end_hour = 17, work = {} } }',
         "step[0].policy", "last_day must be in 0..6, not 7"),
        ('{ maintenance_schedule = { first_day = 1, last_day = 5, start_hour = 8, end_hour = 10, '
         'limits = { low = -1 } } }', "step[0].policy", "low must be in 0..4294967200, not -1"),
        ('{ maintenance_schedule = { first_day = 1, last_day = 5, start_hour = 8, end_hour = 10 } }',
         "step[0].policy.maintenance_schedule.limits", "required field missing"),
        ('{ work_schedule = { first_day = 1, last_day = 5, start_hour = 8, end_hour = 17, work = { lowest = 1 } } }',
         "step[0].policy.work_schedule.work.lowest", "unknown field"),
    ],
)
def test_a_scenario_policy_step_refuses_bad_schedules(tmp_path: Path, policy: str, path: str, message: str) -> None:
    """docs/scenarios.md: a value out of range or of the wrong kind is refused with the field named, before
    anything runs (the ranges are the Python classes' own)."""
    from emulator.scenarios import ScenarioError, loads

    with pytest.raises(ScenarioError) as e:
        loads(SCENARIO.replace("{policy}", policy), tmp_path / "bad.toml")
    (problem,) = e.value.problems
    assert problem.path == path
    assert message in problem.message
