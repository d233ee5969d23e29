"""The scheduler: moves jobs forward in time, on the service clock, when an API call asks.

No threads. Every API call first calls ``catch_up()``, which replays what happened between the last
simulated instant and the clock's "now" as discrete events (connections made, files finished, retries
due, timeouts), with bytes flowing continuously in between. The design keeps every call cheap at any
queue size (docs/design.md):

* **Exact time.** Simulated time is integer nanoseconds (``SimTime``) and rates are fractions, so the
  instant a file ends and its byte count at that instant agree exactly (``flow.py``).
* **A heap of per-job deadlines with lazy invalidation.** Each job in a scheduled state has at most one
  live deadline (its next connect, file end, retry, no-progress or download-time limit). A catch-up with
  nothing due looks at the heap's top only: O(1) whatever the number of jobs; each event costs O(log n).
* **Dispatch without scanning.** Queued background jobs wait in a heap ordered by (priority, FIFO);
  queued foreground jobs in a set that is emptied as they start; jobs whose owner is logged off are
  parked under the owner and come back at logon.
* **Lazy flows.** A running job's bytes are computed from its start and rate: written when its own
  event fires, when it stops, or when a caller reads its progress — never at other jobs' events.
* **One transaction per instant.** Everything that happens at one simulated instant is one store
  transaction.

Facts: the job life cycle (https://learn.microsoft.com/en-us/windows/win32/bits/life-cycle-of-a-bits-job),
the transition rows T1–T33 of docs/reference/states.md, HTTP statuses (docs/transfers.md). Emulator
choices where the pages are silent are written next to the code that makes them and in docs/transfers.md.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import Any, Final, Protocol, TypeVar

from .. import hresults
from ..clock import NS, ManualClock, SimTime, exact, to_ns
from ..constants import CostState, ErrorContext, JobPriority, JobState, JobType
from ..domain.limits import JOB_INACTIVITY_TIMEOUT
from ..domain.policy import BandwidthRules, GroupPolicy, policy_from_json, policy_to_json
from ..domain.properties import cost_allows, cost_flags, writes_in_place
from ..domain.records import ErrorRecord, FileRecord, JobRecord
from ..domain.states import (
    ACKNOWLEDGED,
    ACTIVE_STATES,
    ALL_TRANSFERRED,
    CANCEL,
    COMPLETE,
    CONNECTED,
    CONNECTING,
    ERROR,
    FATAL_FAILURE,
    FINAL_STATES,
    INACTIVITY_TIMEOUT,
    NETWORK_LOST,
    NETWORK_RESTORED,
    POLICY_BLOCKED,
    POLICY_UNBLOCKED,
    PREEMPTED,
    QUEUED,
    RESUME,
    RETRY_DUE,
    RUNNING_STATES,
    SCHEDULE,
    SCHEDULED_STATES,
    SUSPEND,
    TRANSFERRED,
    TRANSFERRING,
    TRANSIENT_ERROR,
    TRANSIENT_FAILURE,
)
from ..events import (
    EventBus,
    JobCreated,
    JobLoaded,
    JobModified,
    JobStateChanged,
    Logoff,
    Logon,
    NetworkChanged,
    NetworkCostChanged,
)
from ..hresults import BitsError
from ..identity import sids
from ..queue import JobQueue
from ..store.repository import MACHINE_CONDITIONS
from . import connectors, inplace, ranges, upload
from .bandwidth import BACKGROUND, BandwidthWindow, Rates
from .certificates import ServerCertificates
from .flow import Failure, Flow, local_file_failure
from .localfs import LocalFileSystem, os_error_hresult
from .network import FakeNetwork, resumes
from .notifications import Notifier

log = logging.getLogger("emulator.scheduler")
_T = TypeVar("_T")

INACTIVITY_TIMEOUT_NS = JOB_INACTIVITY_TIMEOUT * NS  # JobInactivityTimeout group-policy default (T32)
DAY = 24 * 3600
KEPT_REPLIES = 32  # acknowledged upload-reply jobs whose reply GetReplyData still returns (emulator choice)
_NEVER = 1 << 126  # a deadline that never comes (ints compare faster than mixing in math.inf)
FOREGROUND: Final = JobPriority.FOREGROUND  # (read at every step: a global, see domain/states.QUEUED)
DOWNLOAD: Final = JobType.DOWNLOAD
UPLOAD: Final = JobType.UPLOAD
# Properties whose change moves a job's deadline or its place in the dispatch order.
_RESCHEDULE = frozenset({"priority", "no_progress_timeout", "max_download_time"})
_BLOCKED_BY_POLICY = int(hresults.BG_E_BLOCKED_BY_POLICY)
# Cancel's results as plain ints, converted once (HResult's __int__ is Python code).
_S_OK = int(hresults.S_OK)
_S_UNABLE_TO_DELETE_FILES = int(hresults.BG_S_UNABLE_TO_DELETE_FILES)
_NETWORK_DISCONNECTED = int(hresults.BG_E_NETWORK_DISCONNECTED)
_BLOCKED_BY_COST = int(hresults.BG_E_BLOCKED_BY_COST_TRANSFER_POLICY)
# TRANSIENT_ERROR jobs that wait for the network (its return, T18, or a cost state their COST_FLAGS accept)
# or for the end of a MaxInternetBandwidth interval of 0 (T19), not for the retry timer, and whose
# NoProgressTimeout does not run (T17).
_WAITS = frozenset({_NETWORK_DISCONNECTED, _BLOCKED_BY_COST, _BLOCKED_BY_POLICY})


class Presence(Protocol):
    """Who is logged on (the identity directory)."""

    def is_logged_on(self, sid: str) -> bool: ...


class TokenPolicy(Protocol):
    """What the helper-token subsystem says about a job that is about to run."""

    def token_required(self, rec: JobRecord) -> bool: ...

    def fail_token_required(self, rec: JobRecord) -> None: ...


def _is_zero(rate: Fraction | None) -> bool:
    """A cap of 0: the priority is blocked (T19)."""
    return rate is not None and not rate


class Scheduler:
    def __init__(
        self,
        *,
        queue: JobQueue,
        sim: SimTime,
        bus: EventBus,
        presence: Presence,
        tokens: TokenPolicy,
        filesystem: LocalFileSystem,
        network: FakeNetwork,
        notifier: Notifier,
        certificates: ServerCertificates,
        bits_version: tuple[int, int],
    ) -> None:
        self._queue = queue
        self._bits_version = bits_version  # which bandwidth policies apply: BandwidthRules.of reads it
        self._shared = queue.store.shared
        self._sim = sim
        self._presence = presence
        self._tokens = tokens
        self.filesystem = filesystem
        self.network = network
        self.notifier = notifier
        self.certificates = certificates  # the server-certificate validation callbacks (T25)
        self.connected = network.connected
        # When the network went down (ns), while it is down: the no-progress timer does not run meanwhile (T17,
        # docs/reference/readings.md#t17), so the outage is taken off each waiting job's count when it returns.
        self._down_since: int | None = None if self.connected else sim.sim_ns
        # The service layer's part of a group policy another service sharing the file store set (the quotas
        # and new jobs' MaxDownloadTime): the composition root sets it, and clears it when the service closes.
        self.policy_adopted: Callable[[GroupPolicy], None] | None = None
        self.replies: dict[uuid.UUID, bytes] = {}  # upload-reply data, kept in memory (GetReplyData)
        # The replies of the last KEPT_REPLIES acknowledged upload-reply jobs: GetReplyData still answers
        # after Complete (getreplydata page), which does not say for how long; the job's last interface
        # pointer, the latest bound, is not visible here. Emulator choice: keep the newest ones, oldest dropped
        # first, so memory stays bounded however many jobs finish (docs/reference/readings.md#kept-replies).
        self.acknowledged_replies: dict[uuid.UUID, bytes] = {}
        # Jobs in SCHEDULED_STATES by id: events name jobs by id. The per-job structures of the hot path
        # below are keyed by the record itself: JobRecord hashes by identity, in C, where every lookup
        # by uuid.UUID runs UUID.__hash__ (Python code) — a catch-up step made some 60 of them.
        self._active: dict[uuid.UUID, JobRecord] = {}
        self._live: set[JobRecord] = set()  # the same jobs, by record
        self._flows: dict[JobRecord, Flow] = {}
        self._run_start: dict[JobRecord, int] = {}  # when a running job's download-time counter resumed
        # per-job deadlines: heap of (at, seq, job); the live one is _deadline[job] == (at, seq)
        self._heap: list[tuple[int, int, JobRecord]] = []
        self._deadline: dict[JobRecord, tuple[int, int]] = {}
        self._dirty: dict[JobRecord, None] = {}  # jobs to step at the current instant (ordered: FIFO)
        # dispatch: queued foreground jobs; queued background jobs by (priority, seq); owner-away jobs
        self._fg_queued: dict[uuid.UUID, JobRecord] = {}
        self._bg_heap: list[tuple[int, int, uuid.UUID]] = []
        self._bg_queued: dict[uuid.UUID, JobRecord] = {}
        # The same candidates by priority (index: BG_JOB_PRIORITY; 0 unused), keyed by record (an identity hash,
        # not UUID.__hash__): a bandwidth interval that blocks one priority looks at that priority's jobs only.
        self._bg_by_priority: tuple[dict[JobRecord, None], ...] = ({}, {}, {}, {})
        self._parked: dict[str, dict[uuid.UUID, JobRecord]] = {}
        self._running_bg: dict[JobRecord, JobRecord] = {}
        self._background: uuid.UUID | None = None  # the job holding the background slot (or that last did)
        self._dispatch_due = False
        # Jobs held in TRANSIENT_ERROR by their COST_FLAGS (BG_E_BLOCKED_BY_COST_TRANSFER_POLICY): a cost
        # change looks at these and at the running jobs only, never at the whole queue. Entries may be stale
        # (the job was resumed, say): each is checked when looked at.
        self._cost_blocked: dict[JobRecord, None] = {}
        # inactivity (T32): (last activity, seq, id), checked against the job's last activity when it comes
        # up. Keyed by the activity, not the due instant: every job has the same timeout, so the order is the
        # same, and a new JobInactivityTimeout policy changes no entry (due = key + _inactivity_ns).
        self._inactivity: list[tuple[int, int, uuid.UUID]] = []
        self._inactivity_ns = INACTIVITY_TIMEOUT_NS
        self._policy = GroupPolicy()  # the group policy in force (the one configuring nothing by default)
        # The bandwidth policies (T19): each background priority's cap, and the background jobs a cap of 0 blocked
        self._bandwidth = BandwidthWindow()
        self._blocked: dict[JobRecord, None] = {}
        # Background jobs that became QUEUED at a priority a cap of 0 blocks: the next dispatch blocks them (T19).
        # Never candidates, so a dispatch while one priority is blocked looks at these, not at the whole queue.
        self._to_block: dict[JobRecord, None] = {}
        self._seq = itertools.count()
        self._last_clock = sim.clock_ns()
        # A ManualClock says how far ``set`` moved it (a clock change, told from time passing); other clocks
        # cannot tell (the wall clock, freezegun: a move forward is time passing, readings.md#clock-forward).
        self._manual = sim.clock if isinstance(sim.clock, ManualClock) else None
        self._jumps = self._manual.jumps_ns if self._manual is not None else 0  # the changes catch_up took in
        # The earliest instant anything may be due: a catch-up before it has nothing to do, and it is
        # called on every API call, so that case is one comparison (plus the notifier's outbox, which
        # other parts fill too). Kept at or before the real next event: set when a run ends, lowered by
        # every push of a deadline or inactivity entry (notification retries are pushed only inside a
        # run), 0 (at once) whenever a job becomes dirty or a dispatch is due. Early is harmless: a run
        # then finds nothing and sets it again.
        self._wake = 0
        self._outbox = notifier.outbox
        for rec in queue.all_jobs():
            self._push_inactivity(rec)
            if rec.state in SCHEDULED_STATES:
                self._enter(rec, None)
        bus.subscribe(JobStateChanged, self._on_state)
        bus.subscribe(JobCreated, self._on_created)
        bus.subscribe(JobLoaded, self._on_loaded)
        bus.subscribe(JobModified, self._on_modified)
        bus.subscribe(Logon, self._on_logon)
        bus.subscribe(Logoff, lambda e: self.owner_logged_off(e.user_sid))
        bus.subscribe(NetworkChanged, lambda e: self.set_network(e.connected))
        bus.subscribe(NetworkCostChanged, lambda e: self.cost_state_changed())

    # time -------------------------------------------------------------------------------------------

    def now(self) -> float:
        """The simulation's "now" in seconds (for timestamps)."""
        return self._sim.time()

    # bookkeeping: which structure a job is in ---------------------------------------------------------

    def _enter(self, rec: JobRecord, old: JobState | None) -> None:
        """``rec`` is now in ``rec.state``: file it where the scheduler will find it."""
        state = rec.state
        if rec not in self._live:  # (a running job changing state is filed already: no UUID hash again)
            self._active[rec.id] = rec
            self._live.add(rec)
        self._dirty[rec] = None
        self._wake = 0
        if state is QUEUED:
            self._candidate(rec)
        if state in RUNNING_STATES and rec.priority is not FOREGROUND:
            self._running_bg[rec] = rec
        if old is None or (old in ACTIVE_STATES) != (state in ACTIVE_STATES) or state is QUEUED:
            self._dispatch_due = True

    def _candidate(self, rec: JobRecord) -> None:
        if rec.priority is FOREGROUND:
            self._fg_queued[rec.id] = rec
        elif self._bandwidth.any_blocked and self._bandwidth.blocks(rec.priority):
            self._to_block[rec] = None  # T19: blocked by the dispatch this sets due
        else:
            self._bg_candidate(rec)
        self._dispatch_due = True
        self._wake = 0

    def _bg_candidate(self, rec: JobRecord) -> None:
        self._bg_queued[rec.id] = rec
        self._bg_by_priority[rec.priority][rec] = None
        heapq.heappush(self._bg_heap, (int(rec.priority), rec.seq, rec.id))
        self._compact_bg()

    def _leave_candidates(self, jid: uuid.UUID) -> None:
        self._fg_queued.pop(jid, None)
        rec = self._bg_queued.pop(jid, None)  # its heap entry goes stale
        if rec is not None:
            # (from each priority's: the job's priority may have changed since it was filed)
            by_priority = self._bg_by_priority
            by_priority[1].pop(rec, None)
            by_priority[2].pop(rec, None)
            by_priority[3].pop(rec, None)
        for parked in self._parked.values():
            parked.pop(jid, None)

    def _compact_bg(self) -> None:
        if len(self._bg_heap) > 2 * len(self._bg_queued) + 64:
            self._bg_heap = [(int(r.priority), r.seq, r.id) for r in self._bg_queued.values()]
            heapq.heapify(self._bg_heap)

    def _forget(self, jid: uuid.UUID) -> None:
        """The job left the scheduled states (or the queue): drop every trace of it."""
        rec = self._active.pop(jid, None)
        if rec is not None:  # (only a job in _active is in the structures keyed by record)
            self._live.discard(rec)
            self._flows.pop(rec, None)
            self._run_start.pop(rec, None)
            self._deadline.pop(rec, None)
            self._dirty.pop(rec, None)
            self._running_bg.pop(rec, None)
            self._blocked.pop(rec, None)
            self._to_block.pop(rec, None)
            self._cost_blocked.pop(rec, None)
        self._leave_candidates(jid)
        if len(self._heap) > 2 * len(self._deadline) + 64:
            self._heap = [(at, seq, r) for r, (at, seq) in self._deadline.items()]
            heapq.heapify(self._heap)

    def _on_state(self, event: JobStateChanged) -> None:
        jid = event.job_id
        old, new = event.old, event.new
        job = event.job
        if job is None:
            rec = self._active.get(jid) or self._queue.jobs.get(jid)
        else:
            # The record the event carries, known here when it is in the scheduler's structures or still in
            # the queue — which a record is exactly while its state is not final (it leaves the queue when
            # it becomes final, and only then): no GUID lookup (UUID.__hash__ is Python code).
            rec = job if job in self._live or new not in FINAL_STATES else None
        if old in RUNNING_STATES and new not in RUNNING_STATES:
            if rec is not None:  # (a job no longer known holds no flow, timer or slot here)
                now = self._sim.now_ns()
                flow = self._flows.get(rec)
                if flow is not None and new not in FINAL_STATES:
                    self._keep_bytes(rec, flow, now)
                self._flows.pop(rec, None)
                self._running_bg.pop(rec, None)
                start = self._run_start.pop(rec, None)
                if start is not None and new not in FINAL_STATES:
                    ran = max(0, now - start)
                    self._queue.update(rec, touch=False, active_seconds=rec.active_seconds + ran / NS)
            bg = self._background  # (identity first: the slot holds this very rec.id; == runs Python code)
            if bg is not None and (bg is jid or bg == jid):
                self._dispatch_due = True
        if rec is None or new not in SCHEDULED_STATES or (event.elsewhere and new in RUNNING_STATES):
            # (A job another service sharing the store started is that service's to move forward.)
            if job is None or job in self._live:  # (a job outside _live is in none of the structures)
                self._forget(jid)
            if new in FINAL_STATES:
                if rec is None:  # (state_changed below forgets a known job: once is enough)
                    self.notifier.forget(jid)
                if self.replies:
                    reply = self.replies.pop(jid, None)
                    if reply is not None and new is ACKNOWLEDGED:
                        kept = self.acknowledged_replies
                        kept[jid] = reply
                        if len(kept) > KEPT_REPLIES:
                            del kept[next(iter(kept))]  # (dicts keep insertion order: the oldest goes)
                # (None first: ``None == jid`` would run UUID.__eq__, Python code, for nothing)
                bg = self._background
                if bg is not None and (bg is jid or bg == jid):
                    self._background = None
        else:
            if new in RUNNING_STATES and old not in RUNNING_STATES:
                self._run_start[rec] = self._sim.now_ns()
            if old is QUEUED:
                self._leave_candidates(jid)
            self._enter(rec, old)
        if old in ACTIVE_STATES:
            self._dispatch_due = True
        if self._dispatch_due:
            self._wake = 0
        if rec is not None:
            self.notifier.state_changed(rec, old, new)

    def _on_loaded(self, event: JobLoaded) -> None:
        """Another service sharing the store created ``job``: schedule it like our own, unless that
        service is already running it."""
        rec = event.job
        self._push_inactivity(rec)
        if rec.state in SCHEDULED_STATES and rec.state not in RUNNING_STATES:
            self._enter(rec, None)

    def _on_modified(self, event: JobModified) -> None:
        rec = event.job
        changes = event.changes
        if rec.notify_interface is not None:  # (the notifier's own first test, without the call)
            self.notifier.modified(rec, changes)
        if not changes.keys().isdisjoint(_RESCHEDULE) and rec in self._live:
            if "priority" in changes:
                if rec.state is QUEUED:
                    self._leave_candidates(rec.id)
                    self._candidate(rec)
                elif rec.state in RUNNING_STATES:
                    if rec.priority is FOREGROUND:
                        self._running_bg.pop(rec, None)
                        if self._background == rec.id:
                            self._background = None
                    else:
                        self._running_bg[rec] = rec
                    if self._bandwidth.capped:
                        self._retime_now(rec)  # each background priority has its own cap; foreground has none
                self._dispatch_due = True
            self._dirty[rec] = None
            self._wake = 0

    def _on_logon(self, event: Logon) -> None:
        parked = self._parked.pop(event.user_sid, None)
        if parked:
            for rec in parked.values():
                if rec.state is QUEUED:
                    self._candidate(rec)
        self._kick()

    def owner_logged_off(self, user_sid: str) -> None:
        """The owner's last session ended: its running jobs go back to QUEUED and wait (T20, A18)."""
        if self._owner_present_sid(user_sid):
            return
        self.catch_up()
        with self._queue.batch():
            for rec in self._queue.owned_by(user_sid):
                if rec.state in RUNNING_STATES:
                    self._stop(rec, self._sim.now_ns())
                    self._queue.change_state(rec, PREEMPTED)
        self._kick()

    # deadlines -------------------------------------------------------------------------------------

    def _schedule(self, rec: JobRecord, t: int) -> None:
        at = self._job_deadline(rec, t)
        live = self._deadline.get(rec)
        if live is not None and live[0] == at:
            return
        if at >= _NEVER:
            self._deadline.pop(rec, None)
            return
        seq = next(self._seq)
        self._deadline[rec] = (at, seq)
        heapq.heappush(self._heap, (at, seq, rec))  # seq is unique: records are never compared
        if at < self._wake:
            self._wake = at

    def _job_deadline(self, rec: JobRecord, t: int) -> int:
        state = rec.state
        if state is TRANSIENT_ERROR:
            if rec.error is not None and rec.error.code in _WAITS:
                return _NEVER  # waits for the network or its cost (T17), or the end of the blocking interval (T19)
            at = to_ns(rec.retry_at) if rec.retry_at is not None else _NEVER
            if rec.no_progress_since is not None and self.connected:  # (stopped while the network is down: T17)
                at = min(at, to_ns(rec.no_progress_since) + rec.no_progress_timeout * NS)
            return at
        if state in RUNNING_STATES:
            limit = self._download_limit(rec, t)
            flow = self._flows.get(rec)
            if flow is None:
                return t
            if not flow.connected:
                return min(flow.ready_at, limit)
            return min(flow.done_at(), limit)
        return _NEVER  # QUEUED jobs wait for dispatch; the rest wait for an API call

    def _download_limit(self, rec: JobRecord, t: int) -> int:
        """When the job's MaximumDownloadTime runs out, counting only time spent running (T22)."""
        limit, active = rec.max_download_time, rec.active_seconds
        # Nothing counted yet (the usual case): whole seconds, no float conversion.
        left = limit * NS if not active and type(limit) is int else to_ns(max(0.0, limit - active))
        return self._run_start.get(rec, t) + left

    def _pop_due(self, t: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= t:
            at, seq, rec = heapq.heappop(heap)
            if self._deadline.get(rec) == (at, seq):
                del self._deadline[rec]
                if rec in self._live:
                    self._dirty[rec] = None
                    self._wake = 0

    def _next_at(self) -> int:
        """The next instant anything is due (stale heap tops may make it early: they are popped then)."""
        nxt = _NEVER
        if self._heap:
            nxt = self._heap[0][0]
        if self._inactivity and self._inactivity[0][0] + self._inactivity_ns < nxt:
            nxt = self._inactivity[0][0] + self._inactivity_ns
        if self._bandwidth.next_at < nxt:
            nxt = self._bandwidth.next_at
        retry = self.notifier.next_retry()
        if retry is not None and retry < nxt:
            nxt = retry
        return nxt

    # the catch-up loop -------------------------------------------------------------------------------

    def catch_up(self) -> None:
        sim = self._sim
        if sim.running:
            return  # a callback calling back into the API during the catch-up
        if self._shared:
            machine = self._queue.refresh()  # what other services sharing the file store committed
            if machine:
                self.adopt_machine(machine)  # the machine's conditions they set, in force before anything moves
        clock_now = sim.clock_ns()
        manual = self._manual
        jumps = manual.jumps_ns if manual is not None else 0
        expected = self._last_clock
        if jumps != self._jumps:
            # The clock was set (ManualClock.set): a clock change, told from the time that passed besides it
            changed, self._jumps = jumps - self._jumps, jumps
            expected += changed
            self._clock_changed(changed, clock_now)
        if clock_now < expected:
            self._clock_changed(clock_now - expected, clock_now)  # set back by hand or freezegun: told by the drop
        self._last_clock = clock_now
        now = clock_now if clock_now > sim.sim_ns else sim.sim_ns  # run_until_idle may have run ahead
        if now < self._wake and not self._outbox:
            sim.sim_ns = now  # nothing due (see ``_wake``)
            return
        self._run(now)

    def _run(self, until: int) -> None:
        sim = self._sim
        sim.running = True
        try:
            while True:
                t = sim.sim_ns
                with self._queue.batch():
                    self._settle(t)
                    self.notifier.flush(t)
                nxt = self._next_at()
                if nxt > until:
                    sim.sim_ns = max(t, until)
                    # (A callback the flush called may have made a job dirty or a dispatch due.)
                    self._wake = 0 if self._dirty or self._dispatch_due else nxt
                    return
                sim.sim_ns = max(t, nxt)
        finally:
            sim.running = False

    def _settle(self, t: int) -> None:
        """Everything due at ``t``, until nothing more is."""
        inactivity = self._inactivity
        if inactivity and inactivity[0][0] + self._inactivity_ns <= t:  # (no call when nothing expired)
            self._expire_inactive(t)
        if self._bandwidth.next_at <= t:
            self._bandwidth_boundary(t)
        budget = 1000 + 50 * (len(self._active) + len(self._heap))
        while budget > 0:
            budget -= 1
            self._pop_due(t)
            if self._dirty:
                rec = next(iter(self._dirty))
                del self._dirty[rec]
                if rec in self._live:
                    self._step(rec, t)
                    if rec in self._live and rec not in self._dirty:
                        self._schedule(rec, t)
                continue
            if self._dispatch_due:
                self._dispatch_due = False
                self._dispatch(t)
                continue
            return
        raise RuntimeError("the scheduler did not settle")  # an emulator bug, never a test's fault

    def _kick(self) -> None:
        """Something outside a catch-up (logon, network) made work due now: do it now."""
        if not self._sim.running:
            self._run(self._sim.sim_ns)

    def run_until_idle(self, max_seconds: float | int) -> None:
        """Run every runnable job to a resting state, moving a ManualClock forward (or only the
        simulation, with any other clock) by at most ``max_seconds``."""
        self.catch_up()
        sim = self._sim
        horizon = max(sim.sim_ns, sim.clock_ns()) + to_ns(exact(max_seconds))
        clock = sim.clock
        while True:
            # Jobs at rest (SUSPENDED, ERROR, TRANSFERRED) are idle: the 90-day inactivity deadline and
            # notification retries do not keep run_until_idle going.
            nxt = self._next_job_event()
            if nxt > horizon:
                return
            if isinstance(clock, ManualClock):
                clock.advance(exact(max(0, nxt - clock.time_ns())) / NS)
                self.catch_up()
            else:
                self._run(max(nxt, sim.sim_ns))

    def _next_job_event(self) -> int:
        heap = self._heap
        while heap and self._deadline.get(heap[0][2]) != (heap[0][0], heap[0][1]):
            heapq.heappop(heap)  # stale: drop it so it cannot count as work
        if self._dirty or self._dispatch_due:
            return self._sim.sim_ns
        nxt = heap[0][0] if heap else _NEVER
        if self._blocked and self._bandwidth.next_at < nxt:
            nxt = self._bandwidth.next_at  # jobs blocked by the policy wait for the interval's end (T19)
        return nxt

    def _clock_changed(self, by: int, clock_now: int) -> None:
        """The system clock was changed by ``by`` ns (set back — freezegun to a past date, ``ManualClock.set`` —
        or set forward with ``ManualClock.set``): jobs go on from the new "now", and every pending timer and flow
        moves by the same amount, so each retry delay and timeout keeps what remained of it ("moving the system
        clock forward ten or more minutes does not mean BITS will retry the job early", SetMinimumRetryDelay
        page; docs/reference/readings.md#clock-forward) and no job stalls waiting for a moment now years away;
        a warning names the change."""
        sim = self._sim
        back = -by
        log.warning("the clock went %s %.3f s; jobs continue from the new time",
                    "back" if by < 0 else "forward", abs(by) / NS)
        for flow in self._flows.values():
            flow.ready_at -= back
            flow.start_t -= back
        for rec in self._run_start:
            self._run_start[rec] -= back
        with self._queue.batch():
            for rec in list(self._active.values()):
                changes: dict[str, Any] = {}
                if rec.retry_at is not None:
                    changes["retry_at"] = rec.retry_at - back / NS
                if rec.no_progress_since is not None:
                    changes["no_progress_since"] = rec.no_progress_since - back / NS
                if changes:
                    self._queue.update(rec, touch=False, **changes)
        self._heap = []
        self._deadline.clear()
        for rec in self._active.values():
            self._dirty[rec] = None
        self.notifier.shift(back)
        self._bandwidth.clock_went_back(back)
        if by < 0:
            sim.sim_ns -= back
        else:
            # (never past the clock: a write since the change may already have taken "now" to it)
            sim.sim_ns = min(sim.sim_ns + by, max(sim.sim_ns, clock_now))
        self._wake = 0  # timers, inactivity deadlines and retries all moved: look at everything again

    # one job at one instant ---------------------------------------------------------------------------

    def _step(self, rec: JobRecord, t: int) -> None:
        """Whatever is due for ``rec`` at ``t``. A local fault fails this job, never the caller."""
        # (The body is inline, not a call of its own: every step of every job comes through here.)
        try:
            state = rec.state
            if state is TRANSIENT_ERROR:
                self._step_waiting(rec, t)
                return
            if state is not CONNECTING and state is not TRANSFERRING:  # RUNNING_STATES
                return
            if self._download_limit(rec, t) <= t:
                self._fail(rec, t, Failure(int(hresults.BG_E_MAXDOWNLOAD_TIMEOUT),
                                           ErrorContext.GENERAL_QUEUE_MANAGER, fatal=True))  # T22
                return
            flow = self._flows.get(rec)
            if flow is None:
                flow = self._open_next_file(rec, t)
                heap = self._heap
                if flow is None or flow.ready_at > t or self._dirty or (heap and heap[0][0] <= t):
                    return
                # The source answers at once (no latency) and nothing else is due at ``t``: the loop would
                # file a deadline at ``t``, pop it and step this job again next, with the same download-time
                # check. Connecting now is that next step, without the round trip through the heap; the
                # deadline it would have replaced is dropped as that round trip would have.
                self._deadline.pop(rec, None)
            if not flow.connected:
                if flow.ready_at <= t:
                    self._connect(rec, flow, t)
            elif flow.done_at() <= t:
                self._materialize(rec, flow, t)
                self._file_boundary(rec, flow, t)
        except (BitsError, OSError) as exc:  # a refused path (a symlink planted mid-transfer), a lost file
            self._fail(rec, t, local_file_failure(exc, self._file_of(rec)))

    def _file_of(self, rec: JobRecord) -> FileRecord | None:
        flow = self._flows.get(rec)
        return flow.file if flow is not None else None

    def _step_waiting(self, rec: JobRecord, t: int) -> None:
        """A TRANSIENT_ERROR job's step: its no-progress limit (T16) or its retry (T15)."""
        if rec.error is not None and rec.error.code in _WAITS:
            if rec.error.code == _BLOCKED_BY_POLICY:
                if not self._blocks(rec):
                    self._blocked.pop(rec, None)
                    self._queue.change_state(rec, POLICY_UNBLOCKED, touch=False)  # T19: the interval is over
                else:
                    # Still blocked: filed with the jobs the interval's end releases, wherever the block came
                    # from — this scheduler, or a service sharing the store (a job it only learned of).
                    self._blocked[rec] = None
            elif rec.error.code == _BLOCKED_BY_COST:
                self._release_if_allowed(rec)  # (a job loaded held, or held a moment ago)
            return
        if (
            rec.no_progress_since is not None
            and self.connected  # the timer stops while the network is down (T17)
            and to_ns(rec.no_progress_since) + rec.no_progress_timeout * NS <= t
        ):
            # T16: no progress for NoProgressTimeout → ERROR with the last error.
            err = rec.error or ErrorRecord(ErrorContext.UNKNOWN, int(hresults.E_FAIL))
            self._queue.set_error(rec, FATAL_FAILURE, err, count=False)
            return
        if rec.retry_at is not None and to_ns(rec.retry_at) <= t:
            self._queue.change_state(rec, RETRY_DUE, touch=False, retry_at=None)  # T15

    # dispatch: who runs now ------------------------------------------------------------------------

    def _owner_present_sid(self, sid: str) -> bool:
        """Transfers run only while the owner is logged on; service accounts always are (T21, UNC)."""
        return sid in sids.SERVICE_ACCOUNT_SIDS or self._presence.is_logged_on(sid)

    def _may_start(self, rec: JobRecord) -> bool:
        if not self.connected:
            return True  # the attempt fails at once with BG_E_NETWORK_DISCONNECTED (T17)
        if self._owner_present_sid(rec.owner_sid):
            return True
        self._leave_candidates(rec.id)
        self._parked.setdefault(rec.owner_sid, {})[rec.id] = rec
        return False

    def _best_background(self) -> JobRecord | None:
        heap = self._bg_heap
        while heap:
            prio, _seq, jid = heap[0]
            rec = self._bg_queued.get(jid)
            if rec is None or rec.state is not QUEUED or int(rec.priority) != prio:
                heapq.heappop(heap)
                continue
            if not self._may_start(rec):
                heapq.heappop(heap)
                continue
            return rec
        return None

    @staticmethod
    def _key(rec: JobRecord, holder: uuid.UUID | None) -> tuple[int, int, int]:
        return (int(rec.priority), 0 if rec.id == holder else 1, rec.seq)

    def _dispatch(self, t: int) -> None:
        # Foreground jobs run together; background jobs one at a time, highest priority first, FIFO
        # within a priority (https://learn.microsoft.com/en-us/windows/win32/bits/best-practices-when-using-bits).
        # OUR CHOICE: no round-robin time slices between equal priorities — the running job keeps the
        # slot until it rests, so runs are deterministic.
        if not self._fg_queued and not self._bg_queued and not self._running_bg and not self._to_block:
            # Nobody waits and no background job runs (a job just rested, the usual case): what the full
            # pass below comes to — every heap entry is stale, no job keeps or gets the slot.
            self._bg_heap.clear()
            self._background = None
            return
        for rec in list(self._fg_queued.values()):
            if rec.state is QUEUED and rec.priority is FOREGROUND and self._may_start(rec):
                self._start(rec, t)
        if self._to_block or self._bandwidth.any_blocked:
            self._block_arrivals(t)  # T19: no background job of a blocked priority may run in this interval
        holder = self._background
        running = list(self._running_bg.values())
        keep: JobRecord | None = min(running, key=lambda r: self._key(r, holder)) if running else None
        for rec in running:
            if rec is not keep:
                self._preempt(rec, t)  # T11: only one background job transfers
        best = self._best_background()
        if keep is not None:
            if best is not None and best.priority < keep.priority:
                self._preempt(keep, t)  # T11: a higher priority preempts
                keep = None
            else:
                self._background = keep.id
                return
        if keep is None:
            previous = self._bg_queued.get(holder) if holder is not None else None
            if (
                previous is not None
                and previous.state is QUEUED
                and (best is None or previous.priority <= best.priority)
                and self._may_start(previous)
            ):
                best = previous  # the job that held the slot gets it back first
            self._background = best.id if best is not None else None
            if best is not None:
                self._start(best, t)

    def _preempt(self, rec: JobRecord, t: int) -> None:
        self._stop(rec, t)
        self._queue.change_state(rec, PREEMPTED)

    def _start(self, rec: JobRecord, t: int) -> None:
        # Every way out below moves the job out of QUEUED (CONNECTING, TRANSIENT_ERROR or ERROR), and
        # ``_on_state`` takes a job leaving QUEUED out of the candidates: no _leave_candidates call here.
        if not self.connected:
            self._fail(rec, t, Failure(int(hresults.BG_E_NETWORK_DISCONNECTED), ErrorContext.GENERAL_TRANSPORT,
                                       network=True))
            return
        if not self._cost_allows(rec):
            self._hold_for_cost(rec, t)
            return
        if self._tokens.token_required(rec):
            self._tokens.fail_token_required(rec)  # A9, T34: flags ask for a token it lacks
            return
        self._queue.change_state(rec, SCHEDULE, touch=False)  # T8

    def set_network(self, connected: bool) -> None:
        """Network lost (T17) / re-established (T18)."""
        self.catch_up()
        self._network_changed(connected, save=True)

    def _network_changed(self, connected: bool, *, save: bool) -> None:
        """T17 / T18 at the simulation's now; ``save``: a file store keeps it for the machine, in the same
        transaction (docs/ARCHITECTURE.md#machine)."""
        self.connected = connected
        t = self._sim.sim_ns
        down_since, self._down_since = self._down_since, (None if connected else t)
        outage = (t - down_since) / NS if connected and down_since is not None else 0.0
        was = self._sim.running
        self._sim.running = True
        try:
            with self._queue.batch():
                if save and self._shared:
                    self._queue.store.set_machine_condition("connected", "1" if connected else "0")
                for rec in list(self._active.values()):
                    if connected and rec.state is TRANSIENT_ERROR and not self._waits_for_more(rec):
                        # The outage does not count against NoProgressTimeout (T17: the timer stops)
                        since = rec.no_progress_since
                        shifted = {"no_progress_since": since + outage} if outage and since is not None else {}
                        self._queue.change_state(rec, NETWORK_RESTORED, touch=False, retry_at=None, **shifted)
                    elif not connected and rec.state in ACTIVE_STATES:
                        self._fail(rec, t, Failure(int(hresults.BG_E_NETWORK_DISCONNECTED),
                                                   ErrorContext.GENERAL_TRANSPORT, network=True))
        finally:
            self._sim.running = was
        self._kick()

    def _waits_for_more(self, rec: JobRecord) -> bool:
        """A TRANSIENT_ERROR job the network's return does not release (T18): one held by its COST_FLAGS (a
        reconnect changes no cost state), or blocked by a MaxInternetBandwidth of 0 whose interval goes on (the
        group policies page: BITS puts the jobs in QUEUED "after the time interval expires", not before). Without
        this the blocked job would go to QUEUED and straight back to TRANSIENT_ERROR, two state changes and a
        JobModification for nothing (docs/reference/readings.md#policy-blocked-states)."""
        if self._held_for_cost(rec):
            return True
        return rec.error is not None and rec.error.code == _BLOCKED_BY_POLICY and self._blocks(rec)

    # the network's cost (COST_FLAGS) ---------------------------------------------------------------------

    def _cost_allows(self, rec: JobRecord) -> bool:
        return cost_allows(cost_flags(rec.properties), self.network.cost_state)

    @staticmethod
    def _held_for_cost(rec: JobRecord) -> bool:
        return rec.state is TRANSIENT_ERROR and rec.error is not None and rec.error.code == _BLOCKED_BY_COST

    def _hold_for_cost(self, rec: JobRecord, t: int) -> None:
        """The job may not transfer on the network's current cost: it keeps what arrived and waits in
        TRANSIENT_ERROR, as for a lost network (T17: not counted, no retry timer, no NoProgressTimeout), until
        the cost state or its flags accept it. BITS "will suspend the job until network conditions are
        optimal" (https://learn.microsoft.com/en-us/windows/win32/bits/how-to-block-a-bits-job-from-downloading-over-an-expensive-connection);
        the state and code are OUR CHOICE, with the header's code for it (docs/reference/readings.md#cost-flags).
        Every job alike, a custom HTTP method's included (it is no transfer error, so T24 does not apply)."""
        self._stop(rec, t)
        error = ErrorRecord(ErrorContext.GENERAL_TRANSPORT, _BLOCKED_BY_COST, None, None)
        self._queue.set_error(rec, NETWORK_LOST, error, count=False, retry_at=None)
        self._cost_blocked[rec] = None

    def _release_if_allowed(self, rec: JobRecord) -> None:
        """A held job whose cost is now acceptable goes back to QUEUED (as T18); one still refused stays held."""
        if not self._held_for_cost(rec) or rec not in self._live:
            self._cost_blocked.pop(rec, None)  # (stale: resumed, suspended, cancelled…)
            return
        if not self._cost_allows(rec):
            self._cost_blocked[rec] = None
            return
        self._cost_blocked.pop(rec, None)
        self._queue.change_state(rec, NETWORK_RESTORED, touch=False, retry_at=None)

    def _recheck_cost(self, recs: list[JobRecord], *, save: bool = False) -> None:
        """"Changeable any time, effective immediately" (BITS_JOB_PROPERTY_ID page): held jobs now accepted
        return to QUEUED, running jobs now refused stop. ``save``: a file store keeps the network's cost state
        for the machine, in the same transaction (docs/ARCHITECTURE.md#machine)."""
        with self._api_step() as t:
            if save and self._shared:
                self._queue.store.set_machine_condition("cost_state", str(int(self.network.cost_state)))
            for rec in recs:
                if rec.state in RUNNING_STATES and rec in self._live and not self._cost_allows(rec):
                    self._hold_for_cost(rec, t)
                elif rec.state is TRANSIENT_ERROR:
                    self._release_if_allowed(rec)

    def cost_state_changed(self) -> None:
        """``svc.network.cost_state`` changed: only the held jobs and the running ones are looked at."""
        self.catch_up()
        self._recheck_cost(list(dict.fromkeys([*self._cost_blocked, *self._flows])), save=True)  # (once each)
        self._kick()

    # the machine's conditions, shared by the services of a file store (docs/ARCHITECTURE.md#machine) -----------

    def adopt_machine(self, names: Iterable[str] = MACHINE_CONDITIONS, *, starting: bool = False) -> None:
        """Take in the machine's conditions ``names`` (of ``MACHINE_CONDITIONS``) as the file store holds them:
        another service sharing it set them (its commit is being taken in, at the start of a catch-up), or a
        reopened store holds them (``starting``: before any job of it moves). Each one that differs from this
        service's is applied as if set here — running jobs held or stopped, held jobs released, the policy's
        intervals — at this service's simulated now, before its simulation moves on, and is not written back
        (no ping-pong between services). Every value is in force before any effect runs, so no job is released
        under a condition the same commit replaced (docs/reference/readings.md#machine-conditions)."""
        cost = self._stored("cost_state", names, lambda text: CostState(int(text)))
        connected = self._stored("connected", names, lambda text: {"1": True, "0": False}[text])
        policy = self._stored("group_policy", names, policy_from_json)
        if cost is not None and cost == self.network.cost_state:
            cost = None
        if connected is not None and connected == self.connected:
            connected = None
        self.network.adopt(cost_state=cost, connected=connected)
        if connected is not None:
            self.connected = connected
        # The effects only: what they make due runs in the catch-up that follows (or, for a service being built,
        # in its first one, once its sessions and network are set up), not from inside them.
        sim = self._sim
        was = sim.running
        sim.running = True
        try:
            if policy is not None and policy != self._policy:
                if self.policy_adopted is not None:
                    self.policy_adopted(policy)  # quotas and MaxDownloadTime (the service layer)
                self._apply_policy(policy, save=False)
            if cost is not None:
                recs = [*self._cost_blocked, *self._flows]
                if starting:  # jobs a stopped service left running have no flow here yet
                    recs += [r for r in self._active.values() if r.state in RUNNING_STATES]
                self._recheck_cost(list(dict.fromkeys(recs)))
            if connected is not None:
                self._network_changed(connected, save=False)
        finally:
            sim.running = was
        self._wake = 0  # (whatever the effects, the run that follows looks at everything due)

    def cost_flags_changed(self, rec: JobRecord) -> None:
        """SetProperty(COST_FLAGS) on ``rec``, inside the API call (the next catch-up dispatches)."""
        self._recheck_cost([rec])

    # files ----------------------------------------------------------------------------------------

    def _open_next_file(self, rec: JobRecord, t: int) -> Flow | None:
        """The flow of the job's next file, or None when every file is in (the job is TRANSFERRED)."""
        for f in rec.files:
            if not f.transferred:
                flow = self._flows[rec] = connectors.open_flow(self.network, rec, f, t)
                return flow
        self._queue.change_state(rec, ALL_TRANSFERRED)  # T12
        return None

    def _connect(self, rec: JobRecord, flow: Flow, t: int) -> None:
        flow.check_certificate = self.certificates.bind(rec, flow.file, t)  # T25 (None: no callback required)
        failure = connectors.connect(self.network, self.filesystem, rec, flow, t)
        if flow.redirected_to is not None:
            # The redirect policy renames the file: ALLOW_REPORT to the final URL, DISALLOW to the URL it
            # was redirected to (setsecurityflags page).
            self._queue.update_file(rec, flow.file, remote_name=flow.redirected_to)
        if failure is None:
            failure = connectors.size_failure(rec, flow)  # no Content-Length, MAX_DOWNLOAD_SIZE
        if failure is not None:
            self._fail(rec, t, failure)
            return
        self._begin_transfer(rec, flow, t)

    def _begin_transfer(self, rec: JobRecord, flow: Flow, t: int) -> None:
        f = flow.file
        queue = self._queue
        if flow.upload:
            # The local file's size and time stamp as the upload starts: a change fails it (upload.py).
            changes: dict[str, Any] = {
                "bytes_total": flow.total, "bytes_transferred": flow.start_bytes, "remote_mtime": flow.mtime
            }
        else:
            try:
                tmp, new_name = self.filesystem.prepare(rec, f)
            except BitsError as exc:
                self._fail(rec, t, local_file_failure(exc, f))
                return
            flow.tmp = tmp
            start = f.bytes_transferred
            # The server's copy changed (new time stamp or size) or it cannot resume: the file restarts.
            # A custom HTTP method: Resume "restarts the job from the beginning" (sethttpmethod page, T24).
            # DYNAMIC_CONTENT: an interrupted file starts again from byte 0 (network.never_resumes).
            can_resume = resumes(rec, flow)
            if start and (
                new_name is not None  # the temporary was lost (deleted by a cleanup, say): start again
                or not can_resume
                or f.remote_mtime != flow.mtime
                or (f.bytes_total not in (None, flow.total))
            ):
                start = 0
                self.filesystem.truncate(tmp)
            flow.start_bytes = start
            changes = {"remote_mtime": flow.mtime, "bytes_transferred": start, "response_headers": flow.headers}
            if new_name is not None:
                changes["temp_name"] = new_name
            if flow.resource is None or flow.resource.content_length:
                changes["bytes_total"] = flow.total
            if flow.layout is not None:  # (only a ranged / on-demand file has a plan to save)
                ranges.save_plan(queue, rec, flow)
        queue.update_file(rec, f, **changes)
        flow.source_rate = flow.rate
        window = self._bandwidth
        if window.capped and rec.priority is not FOREGROUND:
            if window.blocks(rec.priority):  # (made a blocked priority while connecting, in a blocked interval)
                self._block(rec, t)
                return
            # The bandwidth policies bind background jobs — DYNAMIC_CONTENT ones too, though the property's page
            # says BITS "cannot throttle" them: OUR CHOICE (docs/reference/readings.md#dynamic-throttle); the cap
            # of the job's priority (docs/reference/readings.md#bandwidth-combined)
            flow.rate = window.cap(rec.priority, flow.rate)
        flow.connected = True
        flow.start_t = t
        if rec.state is CONNECTING:
            queue.change_state(rec, CONNECTED)  # T9 (change_state drops the error object on TRANSFERRING)
        if flow.rate is None:
            self._materialize(rec, flow, t)

    def _materialize(self, rec: JobRecord, flow: Flow, t: int) -> None:
        """Write the bytes the flow has delivered by ``t`` into the temporary file and the record."""
        f = flow.file
        target = flow.bytes_at(t)
        have = f.bytes_transferred
        if target <= have:
            return
        connectors.copy(self.filesystem, flow, have, target)
        self._queue.update_file(rec, f, bytes_transferred=target)
        # Progress is activity: ModificationTime and the inactivity timer move, the no-progress timer stops.
        self._queue.update(rec, no_progress_since=None)
        if flow.layout is not None:
            ranges.progressed(self.notifier, rec, flow)  # FileRangesTransferred

    @contextlib.contextmanager
    def _api_step(self) -> Iterator[int]:
        """Work an API call or a control-plane change does on the simulation, done as one step of it: at the
        simulation's now (yielded), in one store transaction, with the catch-up held off meanwhile (a step
        that moves no time must not run the scheduler inside itself)."""
        sim = self._sim
        was = sim.running
        sim.running = True
        try:
            with self._queue.batch():
                yield sim.sim_ns
        finally:
            sim.running = was

    def sync_progress(self, rec: JobRecord) -> None:
        """A caller reads ``rec``'s progress: bring its running file up to the simulation's now."""
        flow = self._flows.get(rec)
        # (An upload too: BytesTransferred is what was sent so far, bg_job_progress page; its "copy" writes nothing.)
        if flow is not None and flow.connected and flow.rate is not None:
            sim = self._sim
            was = sim.running
            sim.running = True
            try:
                with self._queue.batch():
                    self._materialize(rec, flow, sim.sim_ns)
            except OSError as exc:
                with self._queue.batch():
                    self._fail(rec, sim.sim_ns, local_file_failure(exc, flow.file))
            finally:
                sim.running = was

    def sync_all(self) -> None:
        """The test moved time itself (``svc.advance``, ``run_until_idle``): put every running file's bytes
        on disk, so what a test reads from the sandbox matches the simulation. API calls never do this:
        they stay O(1) and compute a running job's bytes when its progress is read."""
        for rec in list(self._flows):
            if rec in self._live:
                self.sync_progress(rec)

    def _file_boundary(self, rec: JobRecord, flow: Flow, t: int) -> None:
        f = flow.file
        queue = self._queue
        if flow.change_at is not None and f.bytes_transferred >= flow.change_at and flow.resource is not None:
            # The content changes on the server mid-transfer: this file restarts from byte 0.
            flow.resource.apply_change(t / NS)
            flow.change_at = None
            self.filesystem.truncate(flow.tmp)
            flow.total = flow.resource.size
            flow.mtime = flow.resource.last_modified  # (the time stamp the whole file will take)
            if flow.layout is not None:
                failure = ranges.prepare(rec, flow, flow.total, flow.resource.ranges)
                if failure is not None:
                    self._fail(rec, t, failure)
                    return
            queue.update_file(
                rec,
                f,
                bytes_transferred=0,
                remote_mtime=flow.resource.last_modified,
                bytes_total=flow.total if flow.resource.content_length else None,
            )
            flow.start_t, flow.start_bytes, flow.carry = t, 0, 0
            if flow.rate is None:
                self._materialize(rec, flow, t)
            self._dirty[rec] = None
            self._wake = 0
            return
        if flow.layout is not None and ranges.paused(flow):  # on demand: the requested ranges are in, not the file
            ranges.progressed(self.notifier, rec, flow)
            self._flows.pop(rec, None)
            queue.change_state(rec, SUSPEND)
            return
        if f.bytes_transferred < flow.total:
            if flow.limit_at is not None and f.bytes_transferred >= flow.limit_at:
                self._fail(rec, t, connectors.limit_failure(f))  # MAX_DOWNLOAD_SIZE reached, more to come
            return
        if flow.upload:
            changed = upload.changed_since_start(self.filesystem, flow)  # BG_E_LOCAL_FILE_CHANGED
            if changed is not None:
                self._fail(rec, t, changed)
                return
            refused = upload.application_failure(flow)  # the server application failed: REMOTE_APPLICATION
            if refused is None:
                refused = upload.write_to_share(self.filesystem, flow)  # an SMB upload: the share keeps the file
            if refused is not None:
                self._fail(rec, t, refused)
                return
        else:
            if rec.file_acl_flags:
                denied = connectors.acl_failure(rec, flow)  # T26: the owner/ACL copy needs a privilege
                if denied is not None:
                    self._fail(rec, t, denied)
                    return
            if flow.mtime:  # (0: a loopback answer without Last-Modified gives no time stamp to propagate)
                try:
                    self.filesystem.set_time_stamp(flow.tmp, flow.mtime)  # the source's time stamp (BG_FILE_INFO page)
                except BitsError as exc:
                    self._fail(rec, t, local_file_failure(exc, f))
                    return
        queue.update_file(rec, f, transferred=True, bytes_total=flow.total)
        if flow.upload:
            upload.finish_upload(self.filesystem, self.replies, self._queue, rec, flow)
        self._flows.pop(rec, None)
        if rec.job_type is not UPLOAD:
            # "The FileTransferred callback is for download jobs or the reply portion of an upload-reply job"
            # (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopycallback2-filetransferred).
            self.notifier.file_transferred(rec, f)
        self._dirty[rec] = None  # the next file opens at the same instant
        self._wake = 0

    # failures -------------------------------------------------------------------------------------

    def _stop(self, rec: JobRecord, t: int) -> None:
        """The job's connection ends at ``t``: keep what arrived, drop the flow."""
        flow = self._flows.pop(rec, None)
        if flow is not None:
            self._keep_bytes(rec, flow, t)

    def _keep_bytes(self, rec: JobRecord, flow: Flow, t: int) -> None:
        """A connection ends: keep the bytes that arrived before it did."""
        if flow.connected:
            with contextlib.suppress(OSError):  # the temporary is gone: the file restarts when the job next runs
                self._materialize(rec, flow, t)

    def _fail(self, rec: JobRecord, t: int, failure: Failure) -> None:
        """One failure of ``rec`` at ``t``: TRANSIENT_ERROR with a retry timer, or ERROR (T10, T13–T17)."""
        self._stop(rec, t)
        f = failure.file
        error = ErrorRecord(failure.context, int(failure.code), f.index if f is not None else None, failure.protocol)
        queue = self._queue
        # T24: with a custom HTTP method "an error that would ordinarily be resumable (such as loss of
        # connectivity) transitions the job to an ERROR state" (sethttpmethod page).
        custom = rec.http_method is not None
        if failure.network and not custom:
            # T17: not counted, not retried on the timer; reconnect moves the job back to QUEUED (T18).
            queue.set_error(rec, NETWORK_LOST, error, count=False)
            return
        # NoProgressTimeout 0: the first error is fatal.
        fatal = failure.fatal or custom or rec.no_progress_timeout == 0
        if fatal:
            queue.set_error(rec, FATAL_FAILURE, error)
            return
        now = t / NS
        since = rec.no_progress_since if rec.no_progress_since is not None else now
        queue.set_error(
            rec, TRANSIENT_FAILURE, error, retry_at=now + rec.min_retry_delay, no_progress_since=since
        )

    # inactivity -----------------------------------------------------------------------------------

    def _on_created(self, event: JobCreated) -> None:
        self._push_inactivity(event.job)

    def _push_inactivity(self, rec: JobRecord) -> None:
        active = to_ns(rec.last_activity_at)
        heapq.heappush(self._inactivity, (active, next(self._seq), rec.id))
        if active + self._inactivity_ns < self._wake:
            self._wake = active + self._inactivity_ns
        if len(self._inactivity) > 2 * len(self._queue.jobs) + 64:
            # finished jobs' entries are dropped in bulk, so the heap does not grow with history
            self._inactivity = [
                (to_ns(r.last_activity_at), next(self._seq), r.id) for r in self._queue.jobs.values()
            ]
            heapq.heapify(self._inactivity)

    def _expire_inactive(self, t: int) -> None:
        heap = self._inactivity
        queue = self._queue
        timeout = self._inactivity_ns
        while heap and heap[0][0] + timeout <= t:
            _active, _seq, jid = heapq.heappop(heap)
            rec = queue.jobs.get(jid)
            if rec is None or rec.is_final:
                continue
            active = to_ns(rec.last_activity_at)
            if active + timeout > t:
                heapq.heappush(heap, (active, next(self._seq), rec.id))
                if active + timeout < self._wake:
                    self._wake = active + timeout
                continue
            self.discard_files(rec)
            queue.change_state(rec, INACTIVITY_TIMEOUT, touch=False)  # T32

    # group policy (docs/reference/limits.md#group-policy) -------------------------------------------

    def _stored(self, name: str, names: Iterable[str], decode: Callable[[str], _T]) -> _T | None:
        """The stored value of the condition ``name`` if it is among ``names``; None when it is not, was never
        set, or holds what no bits-emulator wrote (a hand-edited store: the condition stays as it is, with a
        warning)."""
        if name not in names:
            return None
        text = self._queue.store.machine_condition(name)
        if text is None:
            return None
        try:
            return decode(text)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("the store's machine condition %s cannot be read (%s); this service keeps its own", name, exc)
            return None

    def set_policy(self, policy: GroupPolicy) -> None:
        """A new group policy takes effect now: JobInactivityTimeout for every job, measured from its last
        activity, and the bandwidth policies the service's BITS version reads for the transfers in flight
        (docs/reference/readings.md#policy-change). Call after a catch-up, so the old policy governed the time
        before now. A file store keeps it for the machine, in the same transaction as its effects
        (docs/ARCHITECTURE.md#machine)."""
        self._apply_policy(policy, save=True)

    def _apply_policy(self, policy: GroupPolicy, *, save: bool) -> None:
        self._policy = policy
        days = policy.job_inactivity_timeout
        self._inactivity_ns = (days * DAY if days is not None else JOB_INACTIVITY_TIMEOUT) * NS
        self._wake = 0  # the inactivity heap's due instants moved with the timeout: look at its top again
        with self._api_step() as t:
            if save and self._shared:
                self._queue.store.set_machine_condition("group_policy", policy_to_json(policy))
            old = self._bandwidth.configure(BandwidthRules.of(policy, self._bits_version), t)
            self._bandwidth_changed(t, old)
        self._kick()

    def _bandwidth_boundary(self, t: int) -> None:
        """A bandwidth interval begins or ends at ``t`` — MaxInternetBandwidth's, a work or maintenance
        schedule's hour or day edge (an event, filed as ``_bandwidth.next_at``)."""
        old = self._bandwidth.update(t)
        self._bandwidth_changed(t, old)

    def _bandwidth_changed(self, t: int, old: Rates) -> None:
        """The caps on background transfers went from ``old`` to the window's current ones at ``t``. Only the
        jobs the change concerns are looked at: the running background jobs (retimed), the queued ones when a
        priority becomes blocked, the blocked ones when a priority is released."""
        window = self._bandwidth
        if window.next_at < self._wake:
            self._wake = window.next_at
        new = window.rates
        if new == old:
            return
        newly_blocked = [p for p in BACKGROUND if window.blocks(p) and not _is_zero(old[p])]
        if newly_blocked:
            self._block_priorities(t, newly_blocked)
        for rec in list(self._running_bg):
            self._retime(rec, t)
        if any(_is_zero(old[p]) and not window.blocks(p) for p in BACKGROUND):
            for rec in self._blocked:
                if not self._blocks(rec):  # (a job of a priority still blocked waits on: no step)
                    self._dirty[rec] = None  # it goes back to QUEUED at its step (_step_waiting)
            self._wake = 0

    def _blocks(self, rec: JobRecord) -> bool:
        """Whether the bandwidth policies keep ``rec`` from transferring now: a cap of 0 for its background
        priority (T19)."""
        return rec.priority is not FOREGROUND and self._bandwidth.blocks(rec.priority)

    def _retime(self, rec: JobRecord, t: int) -> None:
        """``rec``'s transfer goes on at the rate the cap now allows it, from ``t``."""
        flow = self._flows.get(rec)
        if flow is None or not flow.connected or self._blocks(rec):
            return  # the cap is applied when its transfer begins (_begin_transfer); a block stops it (T19)
        rate = flow.source_rate if rec.priority is FOREGROUND else self._bandwidth.cap(rec.priority, flow.source_rate)
        if rate == flow.rate:
            return
        try:
            self._materialize(rec, flow, t)  # the bytes of the old rate are in before the new one starts
        except OSError as exc:
            self._fail(rec, t, local_file_failure(exc, flow.file))
            return
        flow.retime(t, rate)
        self._dirty[rec] = None  # its file ends at another instant
        self._wake = 0

    def _retime_now(self, rec: JobRecord) -> None:
        """``_retime`` from an API call (SetPriority of a running job), as one step of the simulation."""
        with self._api_step() as t:
            self._retime(rec, t)

    def _block_priorities(self, t: int, priorities: list[int]) -> None:
        """T19 as an interval begins: every background job of a priority just blocked that waits for or holds a
        connection — running, QUEUED, or QUEUED waiting for its owner's logon — goes to TRANSIENT_ERROR."""
        for rec in list(self._running_bg):
            if rec.priority in priorities:
                self._block(rec, t)
        for priority in priorities:
            for rec in list(self._bg_by_priority[priority]):
                if rec.state is QUEUED and rec.priority == priority:
                    self._block(rec, t)
        if not self._bg_queued:
            self._bg_heap.clear()
        for parked in self._parked.values():
            for rec in list(parked.values()):
                if rec.priority in priorities and rec.state is QUEUED:
                    self._block(rec, t)

    def _block_arrivals(self, t: int) -> None:
        """T19 within an interval: the background jobs that became QUEUED at a blocked priority, and a running
        one whose priority became a blocked one (SetPriority)."""
        arrivals = self._to_block
        if arrivals:
            for rec in list(arrivals):
                if rec.state is not QUEUED or rec not in self._live:
                    continue  # (stale: it left QUEUED, or the queue, since)
                if self._blocks(rec):
                    self._block(rec, t)
                elif rec.priority is not FOREGROUND and rec.id not in self._bg_queued:
                    # (its priority's interval ended before this dispatch: an ordinary candidate after all)
                    self._bg_candidate(rec)
            arrivals.clear()
        for rec in list(self._running_bg):
            if self._blocks(rec):
                self._block(rec, t)

    def _block(self, rec: JobRecord, t: int) -> None:
        """``rec`` may not transfer in this interval: TRANSIENT_ERROR with BG_E_BLOCKED_BY_POLICY, not counted
        (GetErrorCount is not incremented for bandwidth-policy blocks, geterrorcount page), no retry timer: the
        interval's end puts it back in QUEUED (group policies page)."""
        self._stop(rec, t)
        error = ErrorRecord(ErrorContext.GENERAL_QUEUE_MANAGER, _BLOCKED_BY_POLICY)
        self._queue.set_error(rec, POLICY_BLOCKED, error, count=False, retry_at=None)
        self._blocked[rec] = None
        bg = self._background
        if bg is not None and bg == rec.id:
            self._background = None  # the slot is free for a job of a priority that is not blocked

    # API-driven state changes ---------------------------------------------------------------------

    def resume(self, rec: JobRecord) -> None:
        queue = self._queue
        # Resume resets the time counted against MaximumDownloadTime (setmaximumdownloadtime page).
        if rec in self._run_start:
            self._run_start[rec] = self._sim.now_ns()
        if rec.state in (ERROR, TRANSIENT_ERROR) or rec.no_progress_since is not None:
            # T4; a job suspended while in TRANSIENT_ERROR starts its no-progress count afresh too
            queue.change_state(rec, RESUME, retry_at=None, no_progress_since=None, active_seconds=0.0)
        else:
            queue.change_state(rec, RESUME, active_seconds=0.0)
        if rec in self._live:
            self._dirty[rec] = None  # its download-time limit moved
            self._wake = 0

    def cancel(self, rec: JobRecord) -> int:
        """T31: temporaries (and finished, not yet completed downloads) are deleted."""
        self._flows.pop(rec, None)
        ok = self.discard_files(rec)
        self._queue.change_state(rec, CANCEL)
        return _S_OK if ok else _S_UNABLE_TO_DELETE_FILES

    def complete(self, rec: JobRecord, caller_sid: str | None = None) -> int:
        """T29/T30: whole files are renamed over their local names, partial ones deleted. The files made
        available belong to ``caller_sid``, the caller of Complete (Complete page: an administrator who
        completes another user's job owns the files; BITS 1.2 and earlier gave them to the job owner, a
        version no profile has)."""
        queue = self._queue
        if rec.job_type is not DOWNLOAD and rec.state is not TRANSFERRED:
            raise BitsError(hresults.BG_E_INVALID_STATE, "uploads complete only when TRANSFERRED")
        self._flows.pop(rec, None)
        partial = False
        deleted = True
        if rec.job_type is DOWNLOAD:
            files = rec.files
            # Each file renamed is marked completed in the store at once, so that a Complete that fails (or a
            # service that stops) after some renames never renames those files again; the last rename's mark
            # goes with the job's end instead, in the same transaction (one file: one transaction).
            last = len(files)
            for i in range(len(files) - 1, -1, -1):
                if files[i].transferred and not files[i].completed:
                    last = i
                    break
            for f in files[:last]:
                partial, deleted = self._complete_file(rec, f, caller_sid, partial, deleted)
            with queue.batch():
                for f in files[last:]:
                    partial, deleted = self._complete_file(rec, f, caller_sid, partial, deleted)
                queue.change_state(rec, COMPLETE)
        else:
            with queue.batch():
                upload.complete_upload(self.filesystem, self.replies, rec)
                if caller_sid is not None and rec.job_type is JobType.UPLOAD_REPLY:
                    self.filesystem.set_owner(upload.reply_path(rec), caller_sid)
                queue.change_state(rec, COMPLETE)
        if not deleted:
            return int(hresults.BG_S_UNABLE_TO_DELETE_FILES)
        return int(hresults.BG_S_PARTIAL_COMPLETE if partial else hresults.S_OK)

    def _complete_file(
        self, rec: JobRecord, f: FileRecord, caller_sid: str | None, partial: bool, deleted: bool
    ) -> tuple[bool, bool]:
        """One file of a Complete: a partial one's temporary deleted, a whole one renamed over its local name
        and marked completed. Returns (some file was partial, every temporary could be deleted)."""
        if writes_in_place(rec):
            return inplace.complete_file(self._queue, self.filesystem, rec, f, caller_sid, partial, deleted)
        if not f.transferred:
            return True, self.filesystem.discard(f) and deleted
        if f.completed:
            # Renamed by an earlier Complete whose later rename failed: the file is available already and
            # its temporary is gone, so this Complete goes on with the rest (T29,
            # https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-complete).
            return partial, deleted
        try:
            self.filesystem.finalize(f, caller_sid)
        except OSError as exc:
            # "If any rename fails: state stays TRANSFERRED, error returned" (T29).
            raise BitsError(os_error_hresult(exc), f"cannot rename {f.temp_name}") from None
        self._queue.update_file(rec, f, completed=True)
        return partial, deleted

    def discard_files(self, rec: JobRecord) -> bool:
        if writes_in_place(rec):
            return True  # no temporaries: the partial destinations are the caller's (inplace.py)
        ok = True
        for f in rec.files:
            ok &= self.filesystem.discard(f)
        return ok

    def reconnect(self, rec: JobRecord) -> None:
        """A running file's remote name or range plan changed (ReplaceRemotePrefix, IBackgroundCopyFile6): keep
        the bytes that arrived, drop the connection; the job connects again at once (transfer/ranges.py)."""
        if rec not in self._flows:
            return
        with self._api_step() as t:
            self._stop(rec, t)
        self._dirty[rec] = None
        self._wake = 0

    def notify_interface_changed(self, rec: JobRecord, proxy: Any = None) -> None:
        """A callback registered after an event still receives it once."""
        self.notifier.interface_changed(rec, proxy)

    def restarted(self) -> None:
        """Service restart: connections are gone; running jobs wait in QUEUED for the scheduler."""
        sim = self._sim
        sim.running = True
        try:
            with self._queue.batch():
                for rec in list(self._active.values()):
                    if rec.state in RUNNING_STATES:
                        self._stop(rec, sim.sim_ns)
                        self._queue.change_state(rec, PREEMPTED, touch=False)
                inplace.lose_unsaved_progress(self._queue, self._queue.all_jobs())  # HIGH_PERFORMANCE jobs
                # the callback and validation pointers, unserialized remote names (states.md#persistence)
                self._queue.forget_service_memory()
                self.notifier.restarted()
                self.certificates.restarted()
                # MaxInternetBandwidth's interval takes the clock as it is now (group policies page)
                self._bandwidth_changed(sim.sim_ns, self._bandwidth.restarted(sim.sim_ns))
        finally:
            sim.running = False
        self._kick()

