"""The machine's conditions on a file store: the network's cost state, its connectivity and the group policy.

On Windows they belong to the machine, not to a client: every client of the one BITS service sees the same
network cost (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_transfer_policy,
https://learn.microsoft.com/en-us/windows/win32/bits/bits-cost-state), the same connection, and the same group
policies, read from the machine's registry (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies).
A file store shared by several services (processes: a test and ``bitsadmin``) therefore keeps them; when a
service sees another's change is the emulator's choice (docs/reference/readings.md#machine-conditions,
docs/ARCHITECTURE.md#machine).
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import (
    BandwidthLimit,
    BitsError,
    BitsService,
    CostState,
    ErrorContext,
    GroupPolicy,
    JobPriority,
    JobPropertyId,
    JobState,
    JobType,
    MaintenanceSchedule,
    ManualClock,
    PriorityLimits,
    Weekday,
    WorkSchedule,
)
from emulator.com.job import Job
from emulator.compat.bitsadmin import main
from emulator.domain.policy import policy_from_json, policy_to_json

S = JobState
BLOCKED_BY_COST = 0x80200059  # BG_E_BLOCKED_BY_COST_TRANSFER_POLICY
BLOCKED_BY_POLICY = 0x8020003E  # BG_E_BLOCKED_BY_POLICY
NETWORK_DISCONNECTED = 0x80200010  # BG_E_NETWORK_DISCONNECTED
TOO_MANY_JOBS_PER_USER = 0x80200049  # BG_E_TOO_MANY_JOBS_PER_USER
HELD_FOR_COST = (ErrorContext.GENERAL_TRANSPORT, BLOCKED_BY_COST)
HELD_BY_POLICY = (ErrorContext.GENERAL_QUEUE_MANAGER, BLOCKED_BY_POLICY)
HELD_DISCONNECTED = (ErrorContext.GENERAL_TRANSPORT, NETWORK_DISCONNECTED)
URL = "http://files.example.com/now.bin"
SLOW = "http://files.example.com/slow.bin"
BLOCK_ALL_DAY = GroupPolicy(max_internet_bandwidth=BandwidthLimit(0, 0, kbps=0))


def _service(path: Path, **kwargs: object) -> BitsService:
    svc = BitsService(database=path, clock=ManualClock(), root=path.parent, **kwargs)  # type: ignore[arg-type]
    svc.network.register(URL, b"instant")
    svc.network.register(SLOW, b"x" * 100, rate=10)
    return svc


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[BitsService, BitsService]]:
    """Two services (two processes) on one file store."""
    path = tmp_path / "bits.db"
    first = _service(path)
    second = _service(path)
    first.filesystem.makedirs("C:\\dl")
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _job(svc: BitsService, name: str = "job", url: str = SLOW, *, cost_flags: int | None = None) -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    if cost_flags is not None:
        job.set_property(JobPropertyId.COST_FLAGS, cost_flags)
    job.add_file(url, f"C:\\dl\\{name}.bin")
    return job


def _cost(svc: BitsService) -> CostState:
    return svc.network.cost_state


def _statements(svc: BitsService) -> list[str]:
    seen: list[str] = []
    svc.store.conn.set_trace_callback(seen.append)
    return seen


# two services on one file store ------------------------------------------------------------------------------


def test_a_cost_state_set_on_one_service_holds_the_running_job_of_another(
    pair: tuple[BitsService, BitsService],
) -> None:
    """BITS_JOB_TRANSFER_POLICY / BITS_COST_STATE pages: the cost is the machine's network's. The second service's
    transfer, whose COST_FLAGS accept only an unrestricted network, is held at its next call after the first
    set ROAMING (TRANSIENT_ERROR, BG_E_BLOCKED_BY_COST_TRANSFER_POLICY, GENERAL_TRANSPORT, not counted), with
    the bytes it had; UNRESTRICTED again on the first releases it, and it finishes."""
    first, second = pair
    job = _job(second, cost_flags=int(CostState.UNRESTRICTED))
    job.resume()
    second.advance(3)
    assert (job.get_state(), job.get_progress().bytes_transferred) == (S.TRANSFERRING, 30)
    first.network.cost_state = CostState.ROAMING
    assert _cost(second) is CostState.UNRESTRICTED  # (not called yet)
    assert job.get_state() is S.TRANSIENT_ERROR  # its next call
    assert _cost(second) is CostState.ROAMING
    assert job.get_error().get_error() == HELD_FOR_COST
    assert (job.get_error_count(), job.get_progress().bytes_transferred) == (0, 30)
    seen = first.connect().get_job(job.get_id())
    assert (seen.get_state(), seen.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_FOR_COST)
    second.advance(60)
    assert job.get_state() is S.TRANSIENT_ERROR  # no retry timer: held until the cost changes
    first.network.cost_state = CostState.UNRESTRICTED  # released by the first, which runs it from byte 30
    assert seen.get_state() is S.TRANSFERRING
    first.advance(7)
    assert job.get_state() is S.TRANSFERRED
    assert second.network.cost_state is CostState.UNRESTRICTED


def test_a_job_the_other_service_held_for_its_cost_is_not_released_or_started_here(
    pair: tuple[BitsService, BitsService],
) -> None:
    """The defect this fixes: a service that did not know the network was ROAMING released a job another held,
    and started it. The first holds it as it would start; the second's next calls (a read, a Resume) keep it
    held (BITS_JOB_TRANSFER_POLICY page), with no state change and no request on the second."""
    first, second = pair
    first.network.cost_state = CostState.ROAMING
    job = _job(first, url=URL, cost_flags=int(CostState.UNRESTRICTED))
    job.resume()
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_FOR_COST)
    seen = second.connect().get_job(job.get_id())
    assert (seen.get_state(), seen.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_FOR_COST)
    seen.resume()
    second.run_until_idle()
    assert (seen.get_state(), seen.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_FOR_COST)
    assert second.network.requests_for(URL) == []
    # (the first's hold, seen at the second's first call; then the Resume, and held again at once)
    assert second.history.states("job") == [S.TRANSIENT_ERROR, S.QUEUED, S.TRANSIENT_ERROR]


def test_a_disconnect_on_one_service_stops_the_other_services_transfer(pair: tuple[BitsService, BitsService]) -> None:
    """T17/T18 (docs/reference/states.md): the network is the machine's. The first's disconnect puts the
    second's transfer in TRANSIENT_ERROR with BG_E_NETWORK_DISCONNECTED at the second's next call, not counted;
    a Resume there fails again at once; the first's reconnect lets it go on."""
    first, second = pair
    job = _job(second)
    job.resume()
    second.advance(2)
    first.network.disconnect()
    assert second.network.connected is True  # (not called yet)
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_DISCONNECTED)
    assert second.network.connected is False
    assert (job.get_error_count(), job.get_progress().bytes_transferred) == (0, 20)
    job.resume()
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_DISCONNECTED)
    first.network.reconnect()
    assert job.get_state() in (S.QUEUED, S.CONNECTING, S.TRANSFERRING)
    assert second.network.connected is True
    first.run_until_idle()
    second.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_a_policy_set_on_one_service_binds_the_other(pair: tuple[BitsService, BitsService]) -> None:
    """Group policies page: the policies are the machine's (its registry). Set on the first: the second's
    ``group_policy`` is it at its next call; its quota refuses the second's CreateJob
    (BG_E_TOO_MANY_JOBS_PER_USER); a MaxInternetBandwidth of 0 puts the second's running background job in
    TRANSIENT_ERROR with BG_E_BLOCKED_BY_POLICY, context GENERAL_QUEUE_MANAGER, not counted (T19). The second's
    change back to no policy is the first's at its next call."""
    first, second = pair
    job = _job(second)
    job.resume()
    second.advance(1)
    policy = GroupPolicy(max_jobs_per_user=1, max_internet_bandwidth=BandwidthLimit(0, 0, kbps=0))
    first.group_policy = policy
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_BY_POLICY)
    assert second.group_policy == policy
    assert job.get_error_count() == 0
    with pytest.raises(BitsError) as caught:
        second.connect().create_job("one too many", JobType.DOWNLOAD)
    assert caught.value.hresult == TOO_MANY_JOBS_PER_USER
    second.advance(3600)
    assert job.get_state() is S.TRANSIENT_ERROR  # blocked all day
    second.group_policy = GroupPolicy()  # and the other way round: the first sees the second's change
    assert job.get_state() is S.TRANSFERRING
    first.connect().enum_jobs()
    assert first.group_policy == GroupPolicy()
    assert first.connect().create_job("now allowed", JobType.DOWNLOAD)[1].get_state() is S.SUSPENDED


def test_a_maintenance_schedule_set_on_one_service_blocks_that_priority_on_the_other(
    pair: tuple[BitsService, BitsService],
) -> None:
    """Group policies page, EnableMaintenanceLimits (BITS 4.0): a limit of 0 for NORMAL all week holds the
    second service's running NORMAL job in TRANSIENT_ERROR with BG_E_BLOCKED_BY_POLICY, context
    GENERAL_QUEUE_MANAGER (docs/reference/readings.md#schedule-block), while its HIGH job transfers; the
    schedule is the machine's, so the second's ``group_policy`` is the first's, Weekday days included."""
    first, second = pair
    normal = _job(second, "normal")
    normal.resume()
    second.advance(1)
    assert normal.get_state() is S.TRANSFERRING
    policy = GroupPolicy(
        maintenance_schedule=MaintenanceSchedule(Weekday.SUNDAY, Weekday.SATURDAY, 0, 0, PriorityLimits(normal=0))
    )
    first.group_policy = policy
    high = _job(second, "high")
    high.set_priority(JobPriority.HIGH)
    high.resume()
    assert (normal.get_state(), normal.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_BY_POLICY)
    assert second.group_policy == policy
    second.advance(10)
    assert high.get_state() is S.TRANSFERRED
    assert normal.get_state() is S.TRANSIENT_ERROR


def test_a_foreground_job_is_not_blocked_by_the_other_services_policy(pair: tuple[BitsService, BitsService]) -> None:
    """Group policies page: MaxInternetBandwidth limits background transfers; a FOREGROUND job of the second
    service goes on under the first's 0 limit."""
    first, second = pair
    job = _job(second)
    job.set_priority(JobPriority.FOREGROUND)
    job.resume()
    assert job.get_state() is S.TRANSFERRING  # (the second runs it: a queued job goes to whoever calls first)
    first.group_policy = BLOCK_ALL_DAY
    second.advance(10)
    assert job.get_state() is S.TRANSFERRED


def test_the_adopting_service_writes_nothing_back(pair: tuple[BitsService, BitsService]) -> None:
    """Emulator's choice (docs/reference/readings.md#machine-conditions): a change another service made is
    applied, not written again, so the first's next call reads no condition back (no ping-pong); the second
    reads just the condition that changed, once."""
    first, second = pair
    second.connect().enum_jobs()
    first.network.cost_state = CostState.ROAMING
    seen = _statements(second)
    second.connect().enum_jobs()
    second.store.conn.set_trace_callback(None)
    assert second.network.cost_state is CostState.ROAMING
    assert [s for s in seen if "settings" in s] == ["SELECT value FROM settings WHERE key='machine.cost_state'"]
    seen = _statements(first)
    first.connect().enum_jobs()
    first.store.conn.set_trace_callback(None)
    assert not [s for s in seen if "settings" in s]


def test_a_service_that_polls_after_the_log_was_trimmed_reads_every_condition_again(
    pair: tuple[BitsService, BitsService],
) -> None:
    """Emulator's choice (docs/ARCHITECTURE.md#machine): when the change log no longer holds what a service
    missed (it is trimmed as it grows), the service reloads every job and reads every condition again, so a
    change whose entry went with the trimmed rows still reaches it."""
    first, second = pair
    _job(first, "j0", URL)
    second.connect().enum_jobs()  # (seen up to here)
    first.network.cost_state = CostState.ROAMING
    _job(first, "j1", URL)
    _job(first, "j2", URL)
    conn = sqlite3.connect(first.store.engine.url.database)  # type: ignore[union-attr,arg-type]
    try:
        conn.execute("DELETE FROM job_changes WHERE seq < (SELECT MAX(seq) FROM job_changes)")
        conn.commit()
    finally:
        conn.close()
    names = {job.get_display_name() for job in second.connect().enum_jobs()}
    assert names == {"j0", "j1", "j2"}
    assert _cost(second) is CostState.ROAMING


def test_the_change_is_written_in_the_transaction_of_its_effects(pair: tuple[BitsService, BitsService]) -> None:
    """Emulator's choice (docs/ARCHITECTURE.md#machine): the cost state, the hold of the job it refuses and the
    change-log entry go to the store in one COMMIT."""
    first, _ = pair
    job = _job(first, cost_flags=int(CostState.UNRESTRICTED))
    job.resume()
    first.advance(1)
    seen = _statements(first)
    first.network.cost_state = CostState.ROAMING
    first.store.conn.set_trace_callback(None)
    assert job.get_state() is S.TRANSIENT_ERROR
    begin = seen.index("BEGIN IMMEDIATE")
    commit = seen.index("COMMIT", begin)
    block = seen[begin : commit + 1]
    assert any(s.startswith("INSERT INTO settings") and "machine.cost_state" in s for s in block)
    assert any(s.startswith("UPDATE jobs") for s in block)
    assert any("machine.cost_state" in s for s in block if s.startswith("INSERT INTO job_changes"))


# opening a store --------------------------------------------------------------------------------------------


def test_a_service_opening_the_store_adopts_its_conditions_before_any_job_moves(tmp_path: Path) -> None:
    """Group policies page (policies are read from the machine's registry as BITS starts) and the cost page:
    a service reopening the store is on the stored network (ROAMING, disconnected) under the stored policy; the
    jobs held by each stay held, with no state change and no request."""
    path = tmp_path / "bits.db"
    with _service(path) as first:
        first.filesystem.makedirs("C:\\dl")
        first.network.cost_state = CostState.ROAMING
        first.group_policy = BLOCK_ALL_DAY
        held = _job(first, "cost", URL, cost_flags=int(CostState.UNRESTRICTED))
        held.set_priority(JobPriority.FOREGROUND)  # (no policy block: held by the cost alone)
        held.resume()
        blocked = _job(first, "policy", URL)
        blocked.resume()
        first.network.disconnect()
        first.network.reconnect()
        first.network.disconnect()
        offline = _job(first, "offline", URL)
        offline.set_priority(JobPriority.FOREGROUND)  # (no policy block: held by the network alone)
        offline.resume()
        ids = {name: job.get_id() for name, job in (("cost", held), ("policy", blocked), ("offline", offline))}
    with _service(path) as second:
        assert second.network.cost_state is CostState.ROAMING
        assert second.network.connected is False
        assert second.group_policy == BLOCK_ALL_DAY
        second.run_until_idle()
        mgr = second.connect()
        assert mgr.get_job(ids["cost"]).get_error().get_error() == HELD_FOR_COST
        assert mgr.get_job(ids["policy"]).get_error().get_error() == HELD_BY_POLICY
        assert mgr.get_job(ids["offline"]).get_error().get_error() == HELD_DISCONNECTED
        assert {mgr.get_job(i).get_state() for i in ids.values()} == {S.TRANSIENT_ERROR}
        assert second.history.states("cost") == second.history.states("offline") == []
        assert second.network.requests_for(URL) == []


def test_a_policy_given_to_the_constructor_wins_and_is_stored(tmp_path: Path) -> None:
    """Group policies page: the policy in force is the machine's last configured one. ``BitsService(database,
    group_policy=…)`` replaces the stored policy (the cost state is still adopted); a service open on the store
    sees the new one at its next call, and a later opener adopts it."""
    path = tmp_path / "bits.db"
    first = _service(path)
    try:
        first.group_policy = GroupPolicy(max_jobs_per_user=1)
        first.network.cost_state = CostState.USAGE_BASED
        given = GroupPolicy(max_jobs_per_user=7, max_internet_bandwidth=BandwidthLimit(22, 6, kbps=64))
        with _service(path, group_policy=given) as second:
            assert second.group_policy is given
            assert second.network.cost_state is CostState.USAGE_BASED
        first.connect().enum_jobs()
        assert first.group_policy == given
    finally:
        first.close()
    with _service(path) as third:
        assert third.group_policy == given


def test_a_store_where_nothing_was_set_starts_with_todays_defaults(tmp_path: Path) -> None:
    """Emulator's choice (docs/reference/readings.md#machine-conditions): a store that holds no condition (a new
    one, or one an older bits-emulator wrote) gives UNRESTRICTED, connected, no policy."""
    path = tmp_path / "bits.db"
    _service(path).close()
    with _service(path) as svc:
        assert svc.network.cost_state is CostState.UNRESTRICTED
        assert svc.network.connected is True
        assert svc.group_policy == GroupPolicy()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM settings WHERE key LIKE 'machine.%'").fetchone() == (0,)
    finally:
        conn.close()


def test_an_unreadable_stored_condition_leaves_the_service_as_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Emulator's choice: a value no bits-emulator wrote (a hand-edited store) is not applied; a warning names
    the problem, and the service keeps its default for that condition (the others are adopted)."""
    path = tmp_path / "bits.db"
    _service(path).close()
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO settings (key, value) VALUES ('machine.group_policy', '{\"max_jobs_per_user\": -1}')")
        conn.execute("INSERT INTO settings (key, value) VALUES ('machine.cost_state', 'ROAMING')")
        conn.execute("INSERT INTO settings (key, value) VALUES ('machine.connected', '0')")
        conn.commit()
    finally:
        conn.close()
    with caplog.at_level("WARNING", logger="emulator.scheduler"), _service(path) as svc:
        assert svc.group_policy == GroupPolicy()
        assert svc.network.cost_state is CostState.UNRESTRICTED
        assert svc.network.connected is False
    assert "machine condition group_policy cannot be read" in caplog.text
    assert "machine condition cost_state cannot be read" in caplog.text


# bitsadmin -------------------------------------------------------------------------------------------------

NETWORK = f"""
["{URL}"]
text = "instant"
"""


@pytest.fixture
def store(tmp_path: Path) -> Path:
    network = tmp_path / "net.toml"
    network.write_text(NETWORK)
    return tmp_path / "bits.db"


def _bitsadmin(store: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    env = {
        "BITS_EMULATOR_STORE": str(store),
        "BITS_EMULATOR_USER": "alice",
        "BITS_EMULATOR_NETWORK": str(store.parent / "net.toml"),
        "BITS_EMULATOR_DRIVES": str(store.parent / "drives"),
    }
    status = main(list(argv), stdout=out, env=env, clock=ManualClock())
    return status, out.getvalue()


def _held_for_bitsadmin(store: Path, condition: str) -> tuple[BitsService, Job, tuple[ErrorContext, int]]:
    """A Python service on the store holding alice's job in TRANSIENT_ERROR under ``condition``."""
    svc = BitsService(database=store, clock=ManualClock(), root=store.parent)
    svc.network.register(URL, b"instant")
    svc.filesystem.makedirs("C:\\dl")
    mgr = svc.connect(svc.logon(svc.add_user("alice")).token)
    _, job = mgr.create_job("held", JobType.DOWNLOAD)
    job.add_file(URL, "C:\\dl\\held.bin")
    if condition == "cost":
        job.set_property(JobPropertyId.COST_FLAGS, int(CostState.UNRESTRICTED))
        svc.network.cost_state = CostState.ROAMING
        expected = HELD_FOR_COST
    elif condition == "policy":
        svc.group_policy = BLOCK_ALL_DAY
        expected = HELD_BY_POLICY
    else:
        svc.network.disconnect()
        expected = HELD_DISCONNECTED
    job.resume()
    assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, expected)
    return svc, job, expected


@pytest.mark.parametrize("condition", ["cost", "policy", "disconnect"])
@pytest.mark.parametrize("open_meanwhile", [True, False], ids=["service open", "service closed"])
def test_a_held_job_stays_held_across_bitsadmin_list_info_and_resume(
    store: Path, condition: str, open_meanwhile: bool
) -> None:
    """The cost page, the group policies page and T17: the conditions are the machine's, and every bitsadmin
    invocation runs on it (docs/bitsadmin.md#machine). A job a test holds for the network's cost (ROAMING, flags
    UNRESTRICTED only), a MaxInternetBandwidth of 0 or a lost network stays in TRANSIENT_ERROR with its HRESULT
    through /list, /info and /resume — whether the test's service is still open or closed — and is neither
    transferred nor counted; lifting the condition releases it."""
    svc, job, expected = _held_for_bitsadmin(store, condition)
    job_id = job.get_id()
    guid = "{" + str(job_id).upper() + "}"
    if not open_meanwhile:
        svc.close()
    try:
        status, out = _bitsadmin(store, "/list")
        assert status == 0
        assert re.search(rf"{re.escape(guid)} held TRANSIENT_ERROR 0 / 1 0 / UNKNOWN", out), out
        status, out = _bitsadmin(store, "/info", guid, "/verbose")
        assert status == 0
        assert "STATE: TRANSIENT_ERROR" in out
        assert re.search(rf"ERROR CODE: +0x{expected[1]:08x} - ", out), out
        assert "ERROR COUNT: 0" in out
        status, out = _bitsadmin(store, "/resume", guid)
        assert (status, out) == (0, "Job resumed.\n")
        status, out = _bitsadmin(store, "/rawreturn", "/getstate", guid)
        assert (status, out) == (0, "TRANSIENT_ERROR")
        status, out = _bitsadmin(store, "/rawreturn", "/geterrorcount", guid)
        assert (status, out) == (0, "0")
        if not open_meanwhile:
            svc = BitsService(database=store, clock=ManualClock(), root=store.parent)
            svc.network.register(URL, b"instant")
            job = svc.connect(svc.logon(svc.account("alice")).token).get_job(job_id)
        assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, expected)
        assert svc.network.requests_for(URL) == []
        if condition == "cost":
            svc.network.cost_state = CostState.UNRESTRICTED
        elif condition == "policy":
            svc.group_policy = GroupPolicy()
        else:
            svc.network.reconnect()
        svc.run_until_idle()
        assert job.get_state() is S.TRANSFERRED
    finally:
        svc.close()
    status, out = _bitsadmin(store, "/rawreturn", "/getstate", guid)
    assert (status, out) == (0, "TRANSFERRED")


def test_bitsadmin_transfer_on_a_disconnected_machine_stops_with_the_job_held(store: Path) -> None:
    """T17 (docs/reference/states.md): the invocation's machine is the store's, disconnected by a test's service;
    /transfer's job goes to TRANSIENT_ERROR with BG_E_NETWORK_DISCONNECTED and, as nothing can move it, the
    command stops with the job left in the queue (docs/bitsadmin.md), instead of transferring."""
    with BitsService(database=store, clock=ManualClock(), root=store.parent) as svc:
        svc.network.disconnect()
        (store.parent / "drives" / "C" / "dl").mkdir(parents=True)
        status, out = _bitsadmin(store, "/transfer", "now", URL, "C:\\dl\\now.bin")
        assert status == 1
        assert out.splitlines()[-1] == "The job is TRANSIENT_ERROR and cannot make progress; it stays in the queue."
        (job,) = svc.connect(svc.logon(svc.account("alice")).token).enum_jobs()
        assert (job.get_state(), job.get_error().get_error()) == (S.TRANSIENT_ERROR, HELD_DISCONNECTED)


def test_bitsadmin_on_a_store_where_nothing_was_set_is_unrestricted_and_connected(store: Path) -> None:
    """Emulator's choice (docs/reference/readings.md#machine-conditions): with nothing stored, an invocation's
    machine is today's default — its /transfer of an instant resource completes."""
    (store.parent / "drives" / "C" / "dl").mkdir(parents=True)
    status, out = _bitsadmin(store, "/transfer", "now", URL, "C:\\dl\\now.bin")
    assert status == 0, out
    assert out.endswith("Transfer complete.\n")


# memory stores, cost of a call, encoding ----------------------------------------------------------------------


def test_memory_services_keep_their_own_conditions() -> None:
    """Emulator's choice (docs/reference/readings.md#machine-conditions): two in-memory services are two machines;
    setting the cost, the connection or the policy on one changes nothing on the other and writes no setting."""
    with BitsService() as first, BitsService() as second:
        seen = _statements(first)
        first.network.cost_state = CostState.ROAMING
        first.network.disconnect()
        first.group_policy = BLOCK_ALL_DAY
        first.store.conn.set_trace_callback(None)
        assert not [s for s in seen if "settings" in s or "job_changes" in s]
        assert second.network.cost_state is CostState.UNRESTRICTED
        assert second.network.connected is True
        assert second.group_policy == GroupPolicy()


@pytest.mark.parametrize("jobs", [5, 200])
def test_a_call_with_nothing_changed_is_one_pragma_whatever_the_queue(tmp_path: Path, jobs: int) -> None:
    """The rule of every call (docs/design.md: O(1) when nothing is due): with conditions set (cost, policy,
    network) and other services on the store, a call that finds nothing new runs one statement,
    ``PRAGMA data_version``, for 5 jobs as for 200."""
    path = tmp_path / "bits.db"
    with _service(path) as first, _service(path) as second:
        first.filesystem.makedirs("C:\\dl")
        first.network.cost_state = CostState.ROAMING
        first.group_policy = GroupPolicy(max_jobs_per_user=1000, max_internet_bandwidth=BandwidthLimit(0, 0, kbps=0))
        first.network.disconnect()
        for i in range(jobs):
            _job(first, f"j{i}", URL).resume()
        job = second.connect().get_job(_job(first, "last", URL).get_id())
        assert second.network.cost_state is CostState.ROAMING
        seen = _statements(second)
        for _ in range(20):
            assert job.get_state() is S.SUSPENDED
        second.store.conn.set_trace_callback(None)
        assert seen == ["PRAGMA data_version"] * 20


@pytest.mark.parametrize(
    "policy",
    [
        GroupPolicy(),
        GroupPolicy(max_jobs_per_user=0, max_jobs_per_machine=0xFFFF_FFFF, max_files_per_job=3, max_ranges_per_file=4),
        GroupPolicy(job_inactivity_timeout=999, max_download_time=1),
        GroupPolicy(max_internet_bandwidth=BandwidthLimit(8, 17, kbps=64)),
        GroupPolicy(max_internet_bandwidth=BandwidthLimit(22, 6, kbps=0, outside_kbps=4_294_967_200)),
        GroupPolicy(max_internet_bandwidth=BandwidthLimit(5, 5, kbps=1, outside_kbps=0), job_inactivity_timeout=1),
        GroupPolicy(work_schedule=WorkSchedule(Weekday.MONDAY, Weekday.FRIDAY, 8, 17, PriorityLimits(normal=128))),
        GroupPolicy(
            max_internet_bandwidth=BandwidthLimit(22, 6, kbps=64),
            work_schedule=WorkSchedule(5, 1, 0, 0, PriorityLimits(0, 1, None), PriorityLimits(low=4_294_967_200)),
            maintenance_schedule=MaintenanceSchedule(Weekday.SATURDAY, Weekday.SUNDAY, 22, 6, PriorityLimits(0, 0, 0)),
        ),
    ],
)
def test_the_policy_encoding_round_trips(policy: GroupPolicy) -> None:
    """Emulator's choice (domain/policy.py, the one encoding): the stored JSON names the configured fields only
    and reads back as the same policy, BandwidthLimit windows and the BITS 4.0 schedules (days as Weekday)
    included."""
    text = policy_to_json(policy)
    assert policy_from_json(text) == policy
    configured = {k for k, v in json.loads(text).items() if v is not None}
    assert configured == {k for k in GroupPolicy.__dataclass_fields__ if getattr(policy, k) is not None}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[]", ValueError),
        ('{"max_jobs": 1}', ValueError),
        ('{"job_inactivity_timeout": 0}', ValueError),
        ('{"max_jobs_per_user": "1"}', TypeError),
        ('{"max_internet_bandwidth": {"start_hour": 1, "end_hour": 2}}', TypeError),
        ('{"max_internet_bandwidth": {"start_hour": 1, "end_hour": 2, "kbps": 0, "x": 1}}', ValueError),
        ('{"max_internet_bandwidth": {"start_hour": 24, "end_hour": 2, "kbps": 0}}', ValueError),
        ('{"work_schedule": {"first_day": 1, "last_day": 5, "start_hour": 8, "end_hour": 17}}', TypeError),
        ('{"work_schedule": {"first_day": 7, "last_day": 5, "start_hour": 8, "end_hour": 17, "work": {}}}', ValueError),
        ('{"maintenance_schedule": {"first_day": 0, "last_day": 6, "start_hour": 0, "end_hour": 0, '
         '"limits": {"normal": -1}}}', ValueError),
        ('{"maintenance_schedule": {"first_day": 0, "last_day": 6, "start_hour": 0, "end_hour": 0, '
         '"limits": {"medium": 1}}}', ValueError),
        ('{"work_schedule": []}', ValueError),
    ],
)
def test_a_stored_policy_that_is_no_policy_is_refused(text: str, error: type[Exception]) -> None:
    """Reading back goes through GroupPolicy's and BandwidthLimit's own checks (README Errors)."""
    with pytest.raises(error):
        policy_from_json(text)
