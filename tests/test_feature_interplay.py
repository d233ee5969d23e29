"""Where the features merged on separate branches meet: MaxInternetBandwidth (T19), COST_FLAGS, HIGH_PERFORMANCE,
DYNAMIC_CONTENT, and the network's loss and return (T17, T18).

Facts: the group policies page (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies, GP below),
BITS_JOB_PROPERTY_ID (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id,
PROP below), the IBackgroundCopyCallback pages; the emulator's choices: docs/reference/readings.md. The manual
clock starts at 2026-01-01 00:00:00 UTC.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import (
    BandwidthLimit,
    BitsService,
    CopyError,
    CostState,
    ErrorContext,
    GroupPolicy,
    Job,
    JobPriority,
    JobState,
    JobType,
    NotifyFlags,
)
from emulator.constants import JobPropertyId as P

S = JobState
BG_E_BLOCKED_BY_POLICY = 0x8020003E
BG_E_BLOCKED_BY_COST_TRANSFER_POLICY = 0x80200059
BG_E_NETWORK_DISCONNECTED = 0x80200010
TRANSFER_NOT_ROAMING = 0x8000007F
HOUR = 3600

pytestmark = pytest.mark.svc(clock="manual")


class Recorder:
    """An IBackgroundCopyCallback that notes each call with the job's state at that moment."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def JobTransferred(self, job: Job) -> int:
        self.calls.append(("JobTransferred", job.get_state()))
        return 0

    def JobError(self, job: Job, error: CopyError) -> int:
        self.calls.append(("JobError", error.get_error()[1]))
        return 0

    def JobModification(self, job: Job, reserved: int) -> int:
        self.calls.append(("JobModification", job.get_state()))
        return 0


def new_job(svc: BitsService, tmp_path: Path, url: str, *, name: str = "job", flags: int | None = None) -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    if flags is not None:
        job.set_property(P.COST_FLAGS, flags)
    job.add_file(url, str(tmp_path / f"{name}.bin"))
    return job


def always_blocked(svc: BitsService) -> None:
    """MaxInternetBandwidth of 0 all day (equal hours: docs/reference/readings.md#bandwidth-window)."""
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=0))


# T19 and the network (T17, T18) -----------------------------------------------------------------------------


def test_T19_a_network_return_does_not_release_a_policy_blocked_job(svc: BitsService, tmp_path: Path) -> None:
    """GP: BITS places the blocked jobs "in the queued state after the time interval expires" — not when the
    network comes back (T18 is for jobs the lost network stopped). A reconnect within the interval leaves the
    blocked job as it is: no QUEUED and back, no JobModification, no JobError (a transient error never is one,
    JobError page), error still BG_E_BLOCKED_BY_POLICY, not counted."""
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    always_blocked(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    cb = Recorder()
    job.set_notify_interface(cb)
    job.set_notify_flags(NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR | NotifyFlags.JOB_MODIFICATION)
    job.resume()
    svc.advance(1)
    assert job.get_state() is S.TRANSIENT_ERROR
    before = list(svc.history.states("job"))
    cb.calls.clear()
    svc.network.disconnect()
    svc.network.reconnect()
    svc.advance(1)
    assert svc.history.states("job") == before
    assert cb.calls == []
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY)
    assert job.get_error_count() == 0
    svc.group_policy = GroupPolicy()  # the interval is over: QUEUED, and the job runs
    svc.advance(10)
    assert job.get_state() is S.TRANSFERRED


def test_T19_a_foreground_job_blocked_once_is_released_by_the_network_as_any_other(
    svc: BitsService, tmp_path: Path
) -> None:
    """The block binds background jobs only (GP: "this policy does not affect foreground transfers"): a job
    blocked while NORMAL, then made FOREGROUND while the network is down, fails with BG_E_NETWORK_DISCONNECTED
    (T17) and is released by the network's return (T18), within the interval."""
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    always_blocked(svc)
    job = new_job(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_error().get_error()[1] == BG_E_BLOCKED_BY_POLICY
    svc.network.disconnect()
    job.set_priority(JobPriority.FOREGROUND)
    svc.advance(1)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == BG_E_NETWORK_DISCONNECTED
    svc.network.reconnect()
    svc.advance(10)
    assert job.get_state() is S.TRANSFERRED


# COST_FLAGS and T19 ----------------------------------------------------------------------------------------


def test_a_cost_held_job_released_within_a_zero_interval_is_blocked_by_policy_then_held_again_after_it(
    svc: BitsService, tmp_path: Path
) -> None:
    """Two reasons to wait, one error at a time: a job held by its COST_FLAGS (PROP: "the new cost flags will
    take effect immediately"; docs/reference/readings.md#cost-flags) stays held when a MaxInternetBandwidth of
    0 begins; the network made unrestricted within the interval, it goes to QUEUED and is blocked by the
    policy (GP: BG_E_BLOCKED_BY_POLICY, context GENERAL_QUEUE_MANAGER); roaming again, it keeps the policy's
    error; when the interval ends it is QUEUED, and held by its cost flags as it would start
    (BG_E_BLOCKED_BY_COST_TRANSFER_POLICY, GENERAL_TRANSPORT). Neither is counted; the bytes stay."""
    svc.network.register("http://server/a", b"x" * 1000, rate=10)
    job = new_job(svc, tmp_path, "http://server/a", flags=TRANSFER_NOT_ROAMING)
    job.resume()
    svc.advance(10)
    svc.network.cost_state = CostState.ROAMING
    cost = (ErrorContext.GENERAL_TRANSPORT, BG_E_BLOCKED_BY_COST_TRANSFER_POLICY)
    policy = (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY)
    assert job.get_error().get_error() == cost
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(1, 2, kbps=0))
    svc.advance(HOUR)  # 01:00: the interval begins
    assert job.get_error().get_error() == cost
    svc.network.cost_state = CostState.UNRESTRICTED
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, policy)
    svc.network.cost_state = CostState.ROAMING
    assert job.get_error().get_error() == policy
    svc.advance(HOUR)  # 02:00: the interval is over
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, cost)
    assert (job.get_progress().bytes_transferred, job.get_error_count()) == (100, 0)
    svc.network.cost_state = CostState.UNRESTRICTED
    svc.advance(1)
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 110)


def test_held_jobs_get_modifications_never_job_error(svc: BitsService, tmp_path: Path) -> None:
    """JobError is for the ERROR state (IBackgroundCopyCallback::JobError page; docs/transfers.md#notifications:
    "a transient error is a modification, never a JobError"): a job held by its cost flags and then blocked by
    the policy gets JobModification calls in TRANSIENT_ERROR, and no JobError."""
    svc.network.register("http://server/a", b"x" * 1000, rate=10)
    job = new_job(svc, tmp_path, "http://server/a", flags=TRANSFER_NOT_ROAMING)
    cb = Recorder()
    job.set_notify_interface(cb)
    job.set_notify_flags(NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR | NotifyFlags.JOB_MODIFICATION)
    job.resume()
    svc.advance(1)
    cb.calls.clear()
    svc.network.cost_state = CostState.ROAMING
    svc.advance(1)
    always_blocked(svc)
    svc.network.cost_state = CostState.UNRESTRICTED
    svc.advance(1)
    assert ("JobModification", S.TRANSIENT_ERROR) in cb.calls
    assert [name for name, _ in cb.calls if name != "JobModification"] == []
    assert job.get_error().get_error()[1] == BG_E_BLOCKED_BY_POLICY


# HIGH_PERFORMANCE, DYNAMIC_CONTENT and the rest -------------------------------------------------------------


@pytest.mark.parametrize("interruption", ["network", "cost", "policy", "suspend", "restart"])
def test_high_performance_dynamic_content_restarts_in_an_emptied_destination(
    svc: BitsService, tmp_path: Path, interruption: str
) -> None:
    """PROP, DYNAMIC_CONTENT: an interrupted job "will restart the download from the beginning"; HIGH_PERFORMANCE:
    BITS downloads "directly into the destination file". Together: after a lost network, a cost hold, a
    policy block, Suspend/Resume or a service restart, the next connection asks for the whole file (no Range),
    the destination holds only the new bytes (never the old ones followed by a second copy), and ends equal
    to the content."""
    data = bytes(range(200)) * 5
    svc.network.register("http://server/a", data, rate=10, content_length=False)
    _, job = svc.connect().create_job("job", JobType.DOWNLOAD)
    job.set_property(P.HIGH_PERFORMANCE, True)
    job.set_property(P.DYNAMIC_CONTENT, True)
    job.set_property(P.COST_FLAGS, TRANSFER_NOT_ROAMING)
    dest = tmp_path / "out.bin"
    job.add_file("http://server/a", str(dest))
    job.resume()
    svc.advance(30)
    assert dest.read_bytes() == data[:300]
    if interruption == "network":
        svc.network.disconnect()
        svc.advance(5)
        svc.network.reconnect()
    elif interruption == "cost":
        svc.network.cost_state = CostState.ROAMING
        svc.advance(5)
        svc.network.cost_state = CostState.UNRESTRICTED
    elif interruption == "policy":
        always_blocked(svc)
        svc.advance(5)
        svc.group_policy = GroupPolicy()
    elif interruption == "suspend":
        job.suspend()
        svc.advance(5)
        job.resume()
    else:
        svc.restart()
    svc.advance(5)
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 50)
    assert dest.read_bytes() == data[:50]
    assert [r.offset for r in svc.network.requests_for("http://server/a")] == [0, 0]
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert dest.read_bytes() == data


def test_high_performance_under_a_bandwidth_cap_writes_the_capped_bytes_in_place(
    svc: BitsService, tmp_path: Path
) -> None:
    """GP MaxInternetBandwidth caps background transfers (2 kbps: 250 bytes a second,
    docs/reference/readings.md#bandwidth-rates); PROP HIGH_PERFORMANCE writes into the destination: after 1 s
    the destination itself holds exactly the first 250 bytes, and GetTemporaryName names it."""
    data = bytes(range(250)) * 4
    svc.network.register("http://server/a", data, rate=1000)
    svc.group_policy = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=2))
    _, job = svc.connect().create_job("job", JobType.DOWNLOAD)
    job.set_property(P.HIGH_PERFORMANCE, True)
    dest = tmp_path / "out.bin"
    job.add_file("http://server/a", str(dest))
    job.resume()
    svc.advance(1)
    f = job.enum_files().next(1)[0]
    assert f.get_temporary_name() == str(dest)
    assert dest.read_bytes() == data[:250]
    svc.advance(3)
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert dest.read_bytes() == data
