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
    BitsError,
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


# state methods on held jobs ---------------------------------------------------------------------------------


def hold(svc: BitsService, why: str) -> None:
    if why == "cost":
        svc.network.cost_state = CostState.ROAMING
    else:
        always_blocked(svc)


HELD_BY = {
    "cost": (ErrorContext.GENERAL_TRANSPORT, BG_E_BLOCKED_BY_COST_TRANSFER_POLICY),
    "policy": (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_BLOCKED_BY_POLICY),
}
BG_S_PARTIAL_COMPLETE = 0x00200017
BG_E_FILE_NOT_AVAILABLE = 0x80200004


@pytest.mark.parametrize("why", ["cost", "policy"])
def test_the_held_error_names_no_file_and_describes_itself(svc: BitsService, tmp_path: Path, why: str) -> None:
    """GetError on a held job (docs/reference/readings.md#cost-flags, #policy-blocked-states): the job-level
    error — IBackgroundCopyError::GetFile gives BG_E_FILE_NOT_AVAILABLE (GetFile page: "the error is not
    associated with a local or remote file") — and GetErrorDescription the text of bitsmsg.h."""
    svc.network.register("http://server/a", b"x" * 100, rate=10)
    job = new_job(svc, tmp_path, "http://server/a", flags=TRANSFER_NOT_ROAMING)
    job.resume()
    svc.advance(1)
    hold(svc, why)
    error = job.get_error()
    assert error.get_error() == HELD_BY[why]
    with pytest.raises(BitsError) as e:
        error.get_file()
    assert e.value.hresult == BG_E_FILE_NOT_AVAILABLE
    assert error.get_error_description() == {
        "cost": "The job's cost transfer policy settings prevent the job from transferring at this time.\r\n",
        "policy": "Group Policy settings prevent background jobs from running at this time.\r\n",
    }[why]


@pytest.mark.parametrize("why", ["cost", "policy"])
@pytest.mark.parametrize("high_performance", [False, True], ids=["temporary", "in-place"])
def test_complete_cancel_and_suspend_of_a_held_job(
    svc: BitsService, tmp_path: Path, why: str, high_performance: bool
) -> None:
    """A held job is in TRANSIENT_ERROR, a state Complete, Cancel and Suspend accept (Complete page: "BITS
    deletes the temporary files of files not transferred" and returns BG_S_PARTIAL_COMPLETE; Cancel page;
    Suspend page). With HIGH_PERFORMANCE there is no temporary: the partial destination stays (BITS_JOB_PROPERTY_ID:
    "BITS will not clean up any partially downloaded content if a job is cancelled";
    docs/reference/readings.md#high-performance)."""
    outcomes = {}
    for op in ("complete", "cancel", "suspend"):
        svc.network.register(f"http://server/{op}", b"x" * 1000, rate=10)
        _, job = svc.connect().create_job(op, JobType.DOWNLOAD)
        if high_performance:
            job.set_property(P.HIGH_PERFORMANCE, True)
        job.set_property(P.COST_FLAGS, TRANSFER_NOT_ROAMING)
        dest = tmp_path / f"{op}.bin"
        job.add_file(f"http://server/{op}", str(dest))
        job.resume()
        svc.advance(10)
        temporary = Path(job.enum_files().next(1)[0].get_temporary_name() or "")
        hold(svc, why)
        assert job.get_error().get_error() == HELD_BY[why]
        returned = getattr(job, op)()
        svc.advance(1)
        on_disk = dest.read_bytes() if dest.exists() else None
        outcomes[op] = (returned, job.get_state(), temporary.exists(), on_disk)
        svc.network.cost_state = CostState.UNRESTRICTED
        svc.group_policy = GroupPolicy()
    partial = b"x" * 100 if high_performance else None
    assert outcomes == {
        "complete": (BG_S_PARTIAL_COMPLETE, S.ACKNOWLEDGED, high_performance, partial),
        "cancel": (0, S.CANCELLED, high_performance, partial),
        "suspend": (None, S.SUSPENDED, True, partial),
    }


@pytest.mark.parametrize("why", ["cost", "policy"])
def test_time_held_does_not_count_against_the_maximum_download_time(
    svc: BitsService, tmp_path: Path, why: str
) -> None:
    """GP MaxDownloadTime: "the length of time that BITS can spend actively transferring the files in the job";
    SetMaximumDownloadTime page: "Time spent in the QUEUED or TRANSIENT_ERROR state does not count against the
    timeout value" (T22). A held job is in TRANSIENT_ERROR: a job with 25 s of it runs 10 s, is held an hour, and
    fails with BG_E_MAXDOWNLOAD_TIMEOUT 15 s after its release, not at once."""
    svc.network.register("http://server/a", b"x" * 1000, rate=10)
    svc.group_policy = GroupPolicy(max_download_time=25)
    job = new_job(svc, tmp_path, "http://server/a", flags=TRANSFER_NOT_ROAMING)
    job.resume()
    svc.advance(10)
    hold(svc, why)
    svc.advance(HOUR)
    svc.network.cost_state = CostState.UNRESTRICTED
    svc.group_policy = GroupPolicy(max_download_time=25)
    svc.advance(14)
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 240)
    svc.advance(1)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, 0x80200054)


def test_foreground_escapes_the_policy_but_not_the_cost_flags(svc: BitsService, tmp_path: Path) -> None:
    """GP: MaxInternetBandwidth "does not affect foreground transfers"; COST_FLAGS binds every job
    (BITS_JOB_TRANSFER_POLICY: the job "will be transferred only when" the connectivity suits its policy). A
    cost-held job made FOREGROUND within a blocked interval stays held by its cost flags (not QUEUED); when the
    network stops roaming it runs within the interval; made NORMAL again it is blocked by the policy."""
    svc.network.register("http://server/a", b"x" * 1000, rate=10)
    always_blocked(svc)
    job = new_job(svc, tmp_path, "http://server/a", flags=TRANSFER_NOT_ROAMING)
    job.set_priority(JobPriority.FOREGROUND)
    job.resume()
    svc.advance(10)
    svc.network.cost_state = CostState.ROAMING
    job.set_priority(JobPriority.NORMAL)
    assert job.get_error().get_error() == HELD_BY["cost"]
    job.set_priority(JobPriority.FOREGROUND)
    svc.advance(1)
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_BY["cost"])
    svc.network.cost_state = CostState.UNRESTRICTED
    svc.advance(1)
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 110)
    job.set_priority(JobPriority.NORMAL)
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_BY["policy"])
    assert job.get_error_count() == 0


@pytest.mark.parametrize("why", ["cost", "policy"])
def test_bitsadmin_shows_the_held_error_without_a_file(svc: BitsService, tmp_path: Path, why: str) -> None:
    """bitsadmin /info /verbose and /geterror print ERROR FILE only for an error about a file (bitsadmin examples
    page, https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-examples);
    a hold is the job's: ERROR CODE and ERROR CONTEXT with bitsmsg.h's texts, and /list shows TRANSIENT_ERROR."""
    from emulator.compat import bitsadmin

    svc.network.register("http://server/a", b"x" * 100, rate=10)
    job = new_job(svc, tmp_path, "http://server/a", flags=TRANSFER_NOT_ROAMING)
    job.resume()
    svc.advance(1)
    hold(svc, why)
    assert bitsadmin.error_lines(job) == {
        "cost": [
            "ERROR CODE:    0x80200059 - The job's cost transfer policy settings prevent the job from transferring "
            "at this time.",
            "ERROR CONTEXT: 0x00000006 - The error occurred in the transport layer. The client could not connect to "
            "the server.",
        ],
        "policy": [
            "ERROR CODE:    0x8020003e - Group Policy settings prevent background jobs from running at this time.",
            "ERROR CONTEXT: 0x00000002 - The error occurred in the Background Intelligent Transfer Service (BITS) "
            "queue manager.",
        ],
    }[why]
    assert " TRANSIENT_ERROR 0 / 1 10 / 100" in bitsadmin.list_line(job)
