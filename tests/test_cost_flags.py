"""COST_FLAGS: a job transfers only on a network whose cost state its transfer policy accepts.

Facts: BITS_JOB_PROPERTY_ID (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id)
— COST_FLAGS "may be changed while a transfer is ongoing – the new cost flags will take effect immediately";
BITS_COST_STATE (https://learn.microsoft.com/en-us/windows/win32/bits/bits-cost-state) — the state bits and the
BITS_COST_STATE_TRANSFER_* policies; BITS_JOB_TRANSFER_POLICY
(https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_transfer_policy) — what each
policy accepts; the how-to (https://learn.microsoft.com/en-us/windows/win32/bits/how-to-block-a-bits-job-from-downloading-over-an-expensive-connection)
— when the network turns expensive BITS "will suspend the job until network conditions are optimal".
Emulator choices (docs/reference/readings.md#cost-flags): held in TRANSIENT_ERROR with bitsmsg.h's
BG_E_BLOCKED_BY_COST_TRANSFER_POLICY (0x80200059), context GENERAL_TRANSPORT, no file, not counted, no retry
timer, no no-progress timeout; back to QUEUED as soon as the cost state or the flags accept the job.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import (
    BitsError,
    BitsService,
    CostState,
    ErrorContext,
    Job,
    JobPriority,
    JobState,
    JobType,
    ManualClock,
)
from emulator.constants import JobPropertyId as P

S = JobState
C = CostState
DATA = bytes(range(100))
BG_E_BLOCKED_BY_COST_TRANSFER_POLICY = 0x80200059
BG_E_NETWORK_DISCONNECTED = 0x80200010
BG_E_FILE_NOT_AVAILABLE = 0x80200004
HELD = (ErrorContext.GENERAL_TRANSPORT, BG_E_BLOCKED_BY_COST_TRANSFER_POLICY)
# BITS_COST_STATE_TRANSFER_* as the BITS_COST_STATE page composes them.
TRANSFER_ALWAYS = 0x800000FF
TRANSFER_NOT_ROAMING = 0x8000007F
TRANSFER_NO_SURCHARGE = 0x8000006F
TRANSFER_STANDARD = 0x80000067
TRANSFER_UNRESTRICTED = 0x80000021
STATES = [C.UNRESTRICTED, C.CAPPED_USAGE_UNKNOWN, C.BELOW_CAP, C.NEAR_CAP, C.OVERCAP_CHARGED, C.OVERCAP_THROTTLED,
          C.USAGE_BASED, C.ROAMING]  # fmt: skip

pytestmark = pytest.mark.svc(clock="manual")


def cost_job(svc: BitsService, out: Path, url: str, flags: int | None, *, name: str = "job") -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    if flags is not None:
        job.set_property(P.COST_FLAGS, flags)
    job.add_file(url, str(out / f"{name}.bin"))
    return job


def offsets(svc: BitsService, url: str) -> list[int]:
    return [r.offset for r in svc.network.requests_for(url)]


def test_cost_state_values_are_the_pages() -> None:
    """BITS_COST_STATE page: the values, and the BITS_COST_STATE_TRANSFER_* composites built from them (ROAMING,
    named there only inside TRANSFER_ALWAYS, is 0x80 in bits5_0.h)."""
    assert [int(s) for s in STATES] == [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80]
    assert (C.IGNORE_CONGESTION, C.RESERVED) == (0x80000000, 0x40000000)
    everything = C.IGNORE_CONGESTION
    for s in STATES:
        everything |= s
    assert everything == TRANSFER_ALWAYS
    assert TRANSFER_NOT_ROAMING == TRANSFER_ALWAYS & ~C.ROAMING
    assert TRANSFER_NO_SURCHARGE == TRANSFER_NOT_ROAMING & ~C.OVERCAP_CHARGED
    assert TRANSFER_STANDARD == TRANSFER_NO_SURCHARGE & ~C.NEAR_CAP
    assert TRANSFER_UNRESTRICTED == C.IGNORE_CONGESTION | C.OVERCAP_THROTTLED | C.UNRESTRICTED


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.name)
def test_the_default_policy_transfers_on_any_network(svc: BitsService, tmp_path: Path, state: CostState) -> None:
    """The network starts UNRESTRICTED; a job's default COST_FLAGS is TRANSFER_ALWAYS
    (docs/reference/readings.md#job5-defaults), so it transfers whatever the cost."""
    assert svc.network.cost_state is C.UNRESTRICTED
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = state
    job = cost_job(svc, tmp_path, "http://server/a", None)
    assert job.get_property(P.COST_FLAGS) == TRANSFER_ALWAYS
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_a_job_the_cost_excludes_is_held_when_it_would_start(svc: BitsService, tmp_path: Path) -> None:
    """Held, not failed: TRANSIENT_ERROR, 0x80200059, GENERAL_TRANSPORT, no file (BG_E_FILE_NOT_AVAILABLE), no
    request made, error count 0; it waits however long (no retry timer, no NoProgressTimeout, as T17)."""
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = C.ROAMING
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING)
    job.set_no_progress_timeout(60)
    job.set_minimum_retry_delay(60)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    error = job.get_error()
    assert error.get_error() == HELD
    with pytest.raises(BitsError) as exc:
        error.get_file()
    assert exc.value.hresult == BG_E_FILE_NOT_AVAILABLE
    assert job.get_error_count() == 0
    assert svc.network.requests_for("http://server/a") == []
    svc.advance(30 * 86400)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 0


def test_a_running_job_stops_at_once_and_resumes_when_the_cost_is_acceptable(svc: BitsService, tmp_path: Path) -> None:
    """"Effective immediately": the cost state changes mid-transfer and the job stops there, keeping its 30
    bytes; back on an acceptable network it goes on from byte 30 at once."""
    svc.network.register("http://server/a", DATA, rate=10)
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_STANDARD)
    job.resume()
    svc.advance(3)
    svc.network.cost_state = C.NEAR_CAP
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == HELD
    assert job.get_progress().bytes_transferred == 30
    svc.advance(100)
    assert job.get_progress().bytes_transferred == 30
    svc.network.cost_state = C.BELOW_CAP
    assert job.get_state() is S.TRANSFERRING
    svc.advance(7)
    assert job.get_state() is S.TRANSFERRED
    assert offsets(svc, "http://server/a") == [0, 30]
    assert job.get_error_count() == 0
    assert job.complete() == 0
    assert (tmp_path / "job.bin").read_bytes() == DATA


def test_the_job_goes_through_queued_when_released(svc: BitsService, tmp_path: Path) -> None:
    """Released as T18 releases a job the network held: TRANSIENT_ERROR → QUEUED, then the scheduler starts it."""
    svc.network.register("http://server/a", DATA, latency=5)
    svc.network.cost_state = C.OVERCAP_CHARGED
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NO_SURCHARGE)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    svc.network.cost_state = C.OVERCAP_THROTTLED
    assert job.get_state() is S.CONNECTING
    assert svc.history.states(job.get_id()) == [
        S.SUSPENDED, S.QUEUED, S.TRANSIENT_ERROR, S.QUEUED, S.CONNECTING,
    ]  # fmt: skip


def test_new_flags_on_a_running_job_take_effect_within_the_call(svc: BitsService, tmp_path: Path) -> None:
    """SetProperty(COST_FLAGS) while the job transfers (the page allows it "while a transfer is ongoing"): the job
    is held when the call returns."""
    svc.network.register("http://server/a", DATA, rate=10)
    svc.network.cost_state = C.USAGE_BASED
    job = cost_job(svc, tmp_path, "http://server/a", None)
    job.resume()
    svc.advance(2)
    job.set_property(P.COST_FLAGS, TRANSFER_UNRESTRICTED)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == HELD
    assert job.get_progress().bytes_transferred == 20


def test_new_flags_release_a_held_job_within_the_call(svc: BitsService, tmp_path: Path) -> None:
    """Flags that now accept the network's cost: QUEUED at once; the next call finds it connecting."""
    svc.network.register("http://server/a", DATA, latency=5)
    svc.network.cost_state = C.ROAMING
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    job.set_property(P.COST_FLAGS, TRANSFER_ALWAYS)
    assert job.get_state() is S.CONNECTING
    assert svc.history.states(job.get_id())[-3:] == [S.TRANSIENT_ERROR, S.QUEUED, S.CONNECTING]
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


@pytest.mark.parametrize(
    ("policy", "refused"),
    [
        (TRANSFER_ALWAYS, set()),
        (TRANSFER_NOT_ROAMING, {C.ROAMING}),
        (TRANSFER_NO_SURCHARGE, {C.ROAMING, C.OVERCAP_CHARGED}),
        (TRANSFER_STANDARD, {C.ROAMING, C.OVERCAP_CHARGED, C.NEAR_CAP}),
        (TRANSFER_UNRESTRICTED, set(STATES) - {C.UNRESTRICTED, C.OVERCAP_THROTTLED}),
    ],
    ids=["ALWAYS", "NOT_ROAMING", "NO_SURCHARGE", "STANDARD", "UNRESTRICTED"],
)
def test_the_transfer_policies_of_the_page(
    svc: BitsService, tmp_path: Path, policy: int, refused: set[CostState]
) -> None:
    """BITS_JOB_TRANSFER_POLICY: ALWAYS "regardless of the cost"; NOT_ROAMING "unless ... roaming surcharges";
    NO_SURCHARGE "not subject to a surcharge"; STANDARD "neither subject to a surcharge nor near exhaustion";
    UNRESTRICTED "does not impose costs or traffic limits" — each as the BITS_COST_STATE page composes it."""
    svc.network.register("http://server/a", DATA)
    for state in STATES:
        svc.network.cost_state = state
        job = cost_job(svc, tmp_path, "http://server/a", policy, name=state.name or "s")
        job.resume()
        svc.run_until_idle()
        expected = S.TRANSIENT_ERROR if state in refused else S.TRANSFERRED
        assert job.get_state() is expected, state.name


def test_a_state_of_several_bits_needs_each_of_them(svc: BitsService, tmp_path: Path) -> None:
    """Emulator choice: a roaming, usage-based network is refused by a policy that excludes roaming, accepted by
    one that takes both."""
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = C.ROAMING | C.USAGE_BASED
    not_roaming = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING, name="home")
    anywhere = cost_job(svc, tmp_path, "http://server/a", TRANSFER_ALWAYS, name="away")
    for job in (not_roaming, anywhere):
        job.set_priority(JobPriority.FOREGROUND)
        job.resume()
    svc.run_until_idle()
    assert not_roaming.get_state() is S.TRANSIENT_ERROR
    assert anywhere.get_state() is S.TRANSFERRED


@pytest.mark.parametrize("bad", [0, -1, 0x100, C.IGNORE_CONGESTION, C.RESERVED, C.ROAMING | C.IGNORE_CONGESTION])
def test_what_is_not_a_cost_state_is_a_value_error(svc: BitsService, bad: int) -> None:
    """IGNORE_CONGESTION is an option of a job's policy and RESERVED is reserved (BITS_COST_STATE page): neither
    is a state a network can be in, nor is 0 or a bit the page does not have. Nothing changes."""
    svc.network.cost_state = C.BELOW_CAP
    with pytest.raises(ValueError):
        svc.network.cost_state = bad
    assert svc.network.cost_state is C.BELOW_CAP


@pytest.mark.parametrize("bad", [True, "1", 1.0, None])
def test_a_cost_state_that_is_not_an_int_is_a_type_error(svc: BitsService, bad: object) -> None:
    with pytest.raises(TypeError):
        svc.network.cost_state = bad  # type: ignore[assignment]
    assert svc.network.cost_state is C.UNRESTRICTED


def test_a_held_job_does_not_keep_the_background_slot(svc: BitsService, tmp_path: Path) -> None:
    """Background jobs transfer one at a time (T11); the first in line, held, lets the next one run."""
    svc.network.register("http://server/a", DATA, rate=10)
    svc.network.cost_state = C.CAPPED_USAGE_UNKNOWN
    held = cost_job(svc, tmp_path, "http://server/a", TRANSFER_UNRESTRICTED, name="held")
    other = cost_job(svc, tmp_path, "http://server/a", None, name="other")
    held.resume()
    other.resume()
    svc.advance(1)
    assert held.get_state() is S.TRANSIENT_ERROR
    assert other.get_state() is S.TRANSFERRING


def test_a_network_reconnect_does_not_release_a_held_job(svc: BitsService, tmp_path: Path) -> None:
    """T18 brings back the jobs the lost network held, not those the cost holds."""
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = C.ROAMING
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING)
    job.resume()
    svc.network.disconnect()
    assert job.get_error().get_error() == HELD
    svc.network.reconnect()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == HELD


def test_released_while_the_network_is_down_it_waits_for_the_network(svc: BitsService, tmp_path: Path) -> None:
    """The cost accepts the job while there is no network: it goes on to the lost network's wait (T17), and
    transfers when the network is back (T18)."""
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = C.ROAMING
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING)
    job.resume()
    svc.network.disconnect()
    svc.network.cost_state = C.UNRESTRICTED
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, BG_E_NETWORK_DISCONNECTED)
    svc.network.reconnect()
    assert job.get_state() is S.TRANSFERRED


def test_resume_of_a_held_job_is_held_again(svc: BitsService, tmp_path: Path) -> None:
    """Resume (T4) moves the job to QUEUED; the cost still refuses it when the scheduler would start it."""
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = C.ROAMING
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING)
    job.resume()
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 0
    assert svc.history.states(job.get_id())[-3:] == [S.TRANSIENT_ERROR, S.QUEUED, S.TRANSIENT_ERROR]


def test_a_suspended_job_stays_suspended_when_the_cost_changes(svc: BitsService, tmp_path: Path) -> None:
    """SUSPENDED is the application's state (left only by Resume), whatever the network's cost."""
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = C.ROAMING
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING)
    job.resume()
    job.suspend()
    svc.network.cost_state = C.UNRESTRICTED
    assert job.get_state() is S.SUSPENDED
    job.resume()
    assert job.get_state() is S.TRANSFERRED


def test_a_custom_http_method_job_is_held_not_failed(svc: BitsService, tmp_path: Path) -> None:
    """A custom verb turns resumable errors into ERROR (T24, SetHttpMethod page); a cost hold is no transfer
    error (emulator choice): TRANSIENT_ERROR, then it transfers."""
    svc.network.register("http://server/a", DATA)
    svc.network.cost_state = C.ROAMING
    job = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING)
    job.set_http_method("PUT")
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == HELD
    svc.network.cost_state = C.USAGE_BASED
    assert job.get_state() is S.TRANSFERRED


def test_upload_jobs_are_held_too(svc: BitsService, tmp_path: Path) -> None:
    """COST_FLAGS is not a download-only property (BITS_JOB_PROPERTY_ID page): an upload waits as well."""
    svc.network.register("http://server/up", upload=True)
    src = tmp_path / "up.bin"
    src.write_bytes(DATA)
    svc.network.cost_state = C.ROAMING
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.set_property(P.COST_FLAGS, TRANSFER_NOT_ROAMING)
    job.add_file("http://server/up", str(src))
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == HELD
    svc.network.cost_state = C.UNRESTRICTED
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def _held_in_a_store(db: Path, out: Path, flags: int, state: CostState) -> object:
    """A store in which a job is held for the cost (``state``) when the service stops."""
    with BitsService(database=db, clock=ManualClock()) as svc:
        svc.network.register("http://server/a", DATA)
        svc.network.cost_state = state
        job = cost_job(svc, out, "http://server/a", flags)
        job.resume()
        assert job.get_error().get_error() == HELD
        return job.get_id()


def test_a_job_held_in_the_store_stays_held_after_a_restart(tmp_path: Path) -> None:
    """The hold is the job's state and error, stored; the network's cost state is the machine's, stored with
    it (USAGE_BASED here, which a roaming-only policy refuses: docs/ARCHITECTURE.md#machine), and the new
    service releases the job when the network is roaming."""
    db = tmp_path / "bits.db"
    job_id = _held_in_a_store(db, tmp_path, int(C.ROAMING), C.USAGE_BASED)
    with BitsService(database=db, clock=ManualClock()) as svc:
        svc.network.register("http://server/a", DATA)
        job = svc.connect().get_job(job_id)  # type: ignore[arg-type]
        assert job.get_state() is S.TRANSIENT_ERROR
        assert job.get_error().get_error() == HELD
        svc.network.cost_state = C.ROAMING
        assert job.get_state() is S.TRANSFERRED


def test_a_job_held_in_the_store_is_released_when_the_stored_network_becomes_acceptable(tmp_path: Path) -> None:
    """A new service opening the store is on the machine's network, still roaming (the cost state is stored:
    docs/ARCHITECTURE.md#machine): the job stays held until the network is UNRESTRICTED, then goes on
    ("the new cost flags will take effect immediately", BITS_JOB_PROPERTY_ID page, and so does the state)."""
    db = tmp_path / "bits.db"
    job_id = _held_in_a_store(db, tmp_path, TRANSFER_NOT_ROAMING, C.ROAMING)
    with BitsService(database=db, clock=ManualClock()) as svc:
        job = svc.connect().get_job(job_id)  # type: ignore[arg-type]
        assert svc.network.cost_state is C.ROAMING
        assert job.get_state() is S.TRANSIENT_ERROR
        assert job.get_error().get_error() == HELD
        svc.network.cost_state = C.UNRESTRICTED
        assert job.get_state() is S.CONNECTING  # (resolving the name: nothing is registered yet)
        svc.network.register("http://server/a", DATA)
        svc.run_until_idle()
        assert job.get_state() is S.TRANSFERRED
        assert job.get_error_count() == 0


def test_a_cost_change_looks_only_at_held_and_running_jobs(svc: BitsService, tmp_path: Path) -> None:
    """The rule of every call (docs/design.md): no scan of the queue. With 50 other jobs in the queue (49
    QUEUED behind the one background job that transfers), a change of the cost state asks about the one held
    job and the two running jobs only."""
    svc.network.register("http://server/a", DATA, rate=1)
    mgr = svc.connect()
    for i in range(50):
        _, idle = mgr.create_job(f"idle{i}", JobType.DOWNLOAD)
        idle.add_file("http://server/a", str(tmp_path / f"idle{i}.bin"))
        idle.resume()
    svc.network.cost_state = C.ROAMING
    held = cost_job(svc, tmp_path, "http://server/a", TRANSFER_NOT_ROAMING, name="held")
    running = cost_job(svc, tmp_path, "http://server/a", None, name="running")
    for job in (held, running):
        job.set_priority(JobPriority.FOREGROUND)
        job.resume()
    svc.advance(1)
    assert (held.get_state(), running.get_state()) == (S.TRANSIENT_ERROR, S.TRANSFERRING)
    asked: list[str] = []
    scheduler = svc.scheduler
    real = scheduler._cost_allows

    def spy(rec):  # type: ignore[no-untyped-def]
        asked.append(rec.display_name)
        return real(rec)

    scheduler._cost_allows = spy  # type: ignore[method-assign]
    svc.network.cost_state = C.USAGE_BASED | C.ROAMING
    assert sorted(asked) == ["held", "idle0", "running"]


def test_a_cost_or_network_change_waits_for_an_api_call_in_another_thread(svc: BitsService) -> None:
    """A cost change moves jobs at once (BITS_JOB_PROPERTY_ID: the new cost flags "take effect immediately"), so
    it is one step of the simulation: like every API call, ``svc.group_policy`` and ``svc.advance``, it takes
    the service's lock and never interleaves with a call another thread is making (docs/transfers.md#cost).
    While another thread holds the lock, the change waits; once the lock is free it is made."""
    import threading

    holding, release = threading.Event(), threading.Event()
    made: list[str] = []

    def api_call_in_progress() -> None:
        with svc.lock:
            holding.set()
            release.wait()

    def change(what: str) -> None:
        if what == "cost":
            svc.network.cost_state = C.ROAMING
        else:
            svc.network.disconnect()
        made.append(what)

    holder = threading.Thread(target=api_call_in_progress, daemon=True)
    holder.start()
    holding.wait()
    changers = [threading.Thread(target=change, args=(what,), daemon=True) for what in ("cost", "network")]
    try:
        for t in changers:
            t.start()
        for t in changers:
            t.join(0.05)
        waited = list(made)
    finally:
        release.set()  # (whatever happened: no thread is left waiting)
        holder.join()
        for t in changers:
            t.join()
    assert waited == []  # both waited behind the call
    assert sorted(made) == ["cost", "network"]
    assert (svc.network.cost_state, svc.network.connected) == (C.ROAMING, False)


@pytest.mark.parametrize("flags", [0, C.IGNORE_CONGESTION, C.RESERVED], ids=["0", "IGNORE_CONGESTION", "RESERVED"])
def test_flags_without_a_state_bit_are_accepted_and_hold_the_job_on_every_network(
    svc: BitsService, tmp_path: Path, flags: int
) -> None:
    """SetProperty lists S_OK only (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/nf-bits5_0-ibackgroundcopyjob5-setproperty):
    OUR CHOICE (docs/reference/readings.md#cost-flags) is to take any DWORD and read it as the set of states it
    names. Flags naming no state — 0, or only the IGNORE_CONGESTION / RESERVED options of the BITS_COST_STATE
    page — are stored as given and accept no network: the job is held even on an UNRESTRICTED one."""
    svc.network.register("http://server/a", DATA)
    job = cost_job(svc, tmp_path, "http://server/a", int(flags))
    assert job.get_property(P.COST_FLAGS) == int(flags)
    job.resume()
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD)
    job.set_property(P.COST_FLAGS, TRANSFER_UNRESTRICTED)
    svc.advance(0)
    assert job.get_state() is S.TRANSFERRED
