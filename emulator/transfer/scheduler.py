"""The scheduler: moves jobs forward in time, on the service clock, when an API call asks (DESIGN §5).

No threads. Every API call first calls ``catch_up()``, which replays what happened between the last
simulated instant and the clock's "now" as a sequence of discrete events (connections made, files
finished, retries due, timeouts) with bytes flowing continuously in between. When no job is in an action
state and no inactivity deadline is due, ``catch_up`` returns at once: an idle service costs O(1).

Facts: spec/bits-core.md §3.3 (transitions T1–T33), §3.4 (ordering), §3.5 (files), §5.3 (HTTP statuses).
Emulator choices where the pages are silent are written next to the code that makes them and in
docs/transfers.md.
"""

from __future__ import annotations

import heapq
import itertools
import math
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import hresults
from ..constants import ErrorContext, JobPriority, JobState, JobType, TokenFlags
from ..domain.names import RemoteKind, remote_kind
from ..domain.records import ErrorRecord, FileRecord, JobRecord
from ..domain.states import Trigger
from ..events import JobStateChanged
from ..hresults import BitsError
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from .localfs import LocalFileSystem
from .network import FakeNetwork, Resource, status_is_fatal
from .notifications import Notifier

if TYPE_CHECKING:
    from ..service import BitsService

ACTION_STATES = frozenset({JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING, JobState.TRANSIENT_ERROR})
RUNNING_STATES = frozenset({JobState.CONNECTING, JobState.TRANSFERRING})
INACTIVITY_TIMEOUT = 90 * 86400.0  # JobInactivityTimeout group-policy default (bits-core §6.4, T32)
INSTANT_CHUNK = 1 << 20  # bytes per write when a source has no rate limit
_EPS = 1e-9


@dataclass(slots=True, eq=False)
class Flow:
    """A job's connection for its current file: connecting until ``ready_at``, then bytes at ``rate``."""

    file: FileRecord
    ready_at: float
    connected: bool = False
    resource: Resource | None = None
    local_source: Any = None  # Path of a file:// / UNC / drive source
    total: int = 0
    start_t: float = 0.0
    start_bytes: int = 0
    rate: float | None = None
    tmp: Any = None  # host Path of the temporary file
    change_at: int | None = None  # byte offset at which the server's copy changes (§3.5)
    ranges_ok: bool = True  # the source can resume from an offset
    body: bytes | None = None  # a loopback HTTP response, read at connect
    body_offset: int = 0
    upload: bool = False  # bytes go to the server, not into a temporary file

    def bytes_at(self, t: float) -> int:
        if self.rate is None:
            return self.total
        return min(self.total, self.start_bytes + int((t - self.start_t) * self.rate + _EPS))

    def done_at(self) -> float:
        if self.rate is None:
            return self.start_t
        target = self.total if self.change_at is None else min(self.total, self.change_at)
        return self.start_t + max(0, target - self.start_bytes) / self.rate


@dataclass(order=True, slots=True)
class _Deadline:
    at: float
    seq: int
    job_id: uuid.UUID = field(compare=False)


class Scheduler:
    def __init__(self, svc: BitsService) -> None:
        self._svc = svc
        self.filesystem = LocalFileSystem(svc)
        self.network = FakeNetwork(self)
        self.notifier = Notifier(svc)
        self.connected = True
        self._sim = svc.clock.time()
        self._running = False
        self._active: dict[uuid.UUID, JobRecord] = {}
        self._flows: dict[uuid.UUID, Flow] = {}
        self._background: uuid.UUID | None = None
        self._inactivity: list[_Deadline] = []
        self.replies: dict[uuid.UUID, bytes] = {}  # upload-reply data, kept in memory (GetReplyData)
        self._seq = itertools.count()
        for rec in svc.queue.all_jobs():
            self._track(rec)
            self._push_inactivity(rec)
        svc.queue.observer = self
        svc.queue.clock = self
        svc.bus.subscribe(JobStateChanged, self._on_state)

    # bookkeeping ------------------------------------------------------------------------------------

    def clock_time(self) -> float:
        return self.now()

    def now(self) -> float:
        """Simulated time while catching up; otherwise the clock's time, or the simulation's when
        run_until_idle took it past a clock that does not move by itself."""
        return self._sim if self._running else max(self._sim, self._svc.clock.time())

    def time(self) -> float:
        """The queue's clock: every timestamp written during a catch-up is the simulated instant."""
        return self.now()

    def _track(self, rec: JobRecord) -> None:
        if rec.state in ACTION_STATES:
            self._active[rec.id] = rec
        else:
            self._active.pop(rec.id, None)
            self._drop_flow(rec)

    def _on_state(self, event: JobStateChanged) -> None:
        rec = self._svc.queue.jobs.get(event.job_id)
        if rec is None:
            self._active.pop(event.job_id, None)
            self._flows.pop(event.job_id, None)
            self.notifier.forget(event.job_id)
            if self._background == event.job_id:
                self._background = None
            return
        self._track(rec)
        self.notifier.state_changed(rec, event.old, event.new)

    def _push_inactivity(self, rec: JobRecord) -> None:
        heapq.heappush(self._inactivity, _Deadline(rec.last_activity_at + INACTIVITY_TIMEOUT, next(self._seq), rec.id))

    # queue observer (JobQueue calls these) ------------------------------------------------------------

    def job_created(self, rec: JobRecord) -> None:
        self._push_inactivity(rec)

    def job_modified(self, rec: JobRecord, changes: dict[str, Any]) -> None:
        self.notifier.modified(rec, changes)

    def invalidate(self) -> None:
        """The network changed under running jobs (a URL registered or replaced): nothing to redo, the
        next connection reads the new resource."""

    # the catch-up loop --------------------------------------------------------------------------------

    def catch_up(self) -> None:
        if self._running:
            return  # a callback calling back into the API during the catch-up
        now = self._svc.clock.time()
        retry = self.notifier.next_retry()
        if (
            not self._active
            and not self.notifier.pending
            and (not self._inactivity or self._inactivity[0].at > now)
            and (retry is None or retry > now)
        ):
            self._sim = max(self._sim, now)
            return
        self._running = True
        try:
            self._run(max(now, self._sim))
        finally:
            self._running = False

    def _run(self, now: float) -> None:
        while True:
            t = self._sim
            self._expire_inactive(t)
            self._process(t)
            self.notifier.flush(t)
            nxt = self._next_event(t)
            target = min(nxt, now)
            if target > t:
                self._advance_bytes(target)
                self._sim = target
            if nxt > now:
                self._sim = now
                self.notifier.flush(now)
                return

    def run_until_idle(self, max_seconds: float) -> None:
        """Run every runnable job to a resting state, moving a ManualClock forward (or only the
        simulation, with any other clock) by at most ``max_seconds``."""
        from ..clock import ManualClock

        self.catch_up()
        horizon = self._svc.clock.time() + max_seconds
        clock = self._svc.clock
        while True:
            t = max(self._sim, clock.time())
            # Jobs at rest (SUSPENDED, ERROR, TRANSFERRED) are idle: the 90-day inactivity deadline and
            # notification retries do not keep run_until_idle going.
            nxt = self._next_job_event(t)
            if math.isinf(nxt) or nxt > horizon:
                return
            if isinstance(clock, ManualClock):
                clock.advance(max(0.0, nxt - clock.time()))
                self.catch_up()
            else:
                self._running = True
                try:
                    self._run(nxt)
                finally:
                    self._running = False
            if self._sim < nxt - _EPS:
                return

    # events -------------------------------------------------------------------------------------------

    def _next_job_event(self, t: float) -> float:
        nxt = math.inf
        for rec in self._active.values():
            nxt = min(nxt, self._job_deadline(rec, t))
        return nxt

    def _next_event(self, t: float) -> float:
        nxt = self._next_job_event(t)
        if self._inactivity:
            nxt = min(nxt, self._inactivity[0].at)
        retry = self.notifier.next_retry()
        if retry is not None:
            nxt = min(nxt, retry)
        return max(nxt, t) if nxt < math.inf else nxt

    def _job_deadline(self, rec: JobRecord, t: float) -> float:
        if rec.state is JobState.TRANSIENT_ERROR:
            if rec.error is not None and rec.error.code == int(hresults.BG_E_NETWORK_DISCONNECTED):
                return math.inf  # waits for the network, not for the timer (T17)
            candidates = [rec.retry_at if rec.retry_at is not None else math.inf]
            if rec.no_progress_since is not None:
                candidates.append(rec.no_progress_since + rec.no_progress_timeout)
            return min(candidates)
        if rec.state in RUNNING_STATES:
            flow = self._flows.get(rec.id)
            left = rec.max_download_time - rec.active_seconds
            limit = t + max(0.0, left)
            if flow is None:
                return t
            if not flow.connected:
                return min(flow.ready_at, limit)
            return min(flow.done_at(), limit)
        return math.inf  # QUEUED jobs that could start did so in _process; the rest wait for an event

    def _process(self, t: float) -> None:
        """Everything due at ``t``, until nothing more is."""
        for _ in range(10_000):
            changed = False
            if not self.connected:
                changed |= self._network_lost(t)
            for rec in list(self._active.values()):
                if rec.id not in self._active:
                    continue
                changed |= self._step(rec, t)
            changed |= self._dispatch(t)
            if not changed:
                return
        raise RuntimeError("the scheduler did not settle")  # an emulator bug, never a test's fault

    def _step(self, rec: JobRecord, t: float) -> bool:
        state = rec.state
        if state is JobState.TRANSIENT_ERROR:
            if rec.error is not None and rec.error.code == int(hresults.BG_E_NETWORK_DISCONNECTED):
                return False
            deadline = rec.no_progress_since + rec.no_progress_timeout if rec.no_progress_since is not None else None
            if deadline is not None and deadline <= t + _EPS:
                # T16: no progress for NoProgressTimeout → ERROR with the last error.
                err = rec.error or ErrorRecord(ErrorContext.UNKNOWN, int(hresults.E_FAIL))
                self._svc.queue.set_error(rec, Trigger.FATAL_FAILURE, err, count=False)
                return True
            if rec.retry_at is not None and rec.retry_at <= t + _EPS:
                self._svc.queue.change_state(rec, Trigger.RETRY_DUE, touch=False, retry_at=None)  # T15
                return True
            return False
        if state in RUNNING_STATES:
            flow = self._flows.get(rec.id)
            if rec.active_seconds >= rec.max_download_time - _EPS:
                self._fail(rec, t, hresults.BG_E_MAXDOWNLOAD_TIMEOUT, ErrorContext.GENERAL_QUEUE_MANAGER, fatal=True)
                return True  # T22
            if flow is None:
                return self._open_next_file(rec, t)
            if not flow.connected:
                if flow.ready_at <= t + _EPS:
                    return self._connect(rec, flow, t)
                return False
            if flow.done_at() <= t + _EPS:
                self._advance_flow(rec, flow, t)
                return self._file_boundary(rec, flow, t)
        return False

    # dispatch: who runs now (§3.4) ---------------------------------------------------------------------

    def _may_start(self, rec: JobRecord) -> bool:
        if not self.connected:
            return True  # the attempt fails with BG_E_NETWORK_DISCONNECTED (T17)
        return self._owner_present(rec)

    def _owner_present(self, rec: JobRecord) -> bool:
        """Transfers run only while the owner is logged on; service accounts always are (T21, UNC)."""
        from ..identity import sids

        return rec.owner_sid in sids.SERVICE_ACCOUNT_SIDS or self._svc.directory.is_logged_on(rec.owner_sid)

    def _dispatch(self, t: float) -> bool:
        changed = False
        queue = self._svc.queue
        # Owner away: a running job goes back to QUEUED and waits (T20, A18).
        for rec in list(self._active.values()):
            if rec.state in RUNNING_STATES and not self._owner_present(rec):
                self._drop_flow(rec)
                queue.change_state(rec, Trigger.PREEMPTED)
                changed = True
        # Foreground jobs run together; background jobs one at a time, highest priority first, FIFO
        # within a priority (§3.4). OUR CHOICE: no round-robin time slices between equal priorities — the
        # running job keeps the slot until it rests, so runs are deterministic.
        best: JobRecord | None = None
        for rec in self._active.values():
            if rec.priority is JobPriority.FOREGROUND or rec.state not in (JobState.QUEUED, *RUNNING_STATES):
                continue
            if rec.state is JobState.QUEUED and not self._may_start(rec):
                continue
            key = (int(rec.priority), 0 if rec.id == self._background else 1, rec.seq)
            if best is None or key < (int(best.priority), 0 if best.id == self._background else 1, best.seq):
                best = rec
        for rec in list(self._active.values()):
            background = rec.priority is not JobPriority.FOREGROUND
            if background and rec.state in RUNNING_STATES and (best is None or rec.id != best.id):
                self._drop_flow(rec)
                queue.change_state(rec, Trigger.PREEMPTED)  # T11: a higher priority preempts
                changed = True
        self._background = best.id if best is not None else None
        for rec in list(self._active.values()):
            if rec.state is not JobState.QUEUED or not self._may_start(rec):
                continue
            if rec.priority is not JobPriority.FOREGROUND and rec is not best:
                continue
            changed |= self._start(rec, t)
        return changed

    def _start(self, rec: JobRecord, t: float) -> bool:
        if not self.connected:
            self._fail(rec, t, hresults.BG_E_NETWORK_DISCONNECTED, ErrorContext.GENERAL_TRANSPORT, network=True)
            return True
        if self._svc.helper_tokens.token_required(rec):
            self._svc.helper_tokens.fail_token_required(rec)  # A9, T34: flags ask for a token it lacks
            return True
        self._svc.queue.change_state(rec, Trigger.SCHEDULE, touch=False)  # T8
        return True

    def _network_lost(self, t: float) -> bool:
        changed = False
        for rec in list(self._active.values()):
            if rec.state in (JobState.QUEUED, *RUNNING_STATES):
                self._fail(rec, t, hresults.BG_E_NETWORK_DISCONNECTED, ErrorContext.GENERAL_TRANSPORT, network=True)
                changed = True
        return changed

    def set_network(self, connected: bool) -> None:
        """Network lost (T17) / re-established (T18)."""
        with self._svc.lock:
            self.catch_up()
            self.connected = connected
            self._running = True
            try:
                t = self._sim
                if connected:
                    for rec in list(self._active.values()):
                        if rec.state is JobState.TRANSIENT_ERROR:
                            self._svc.queue.change_state(rec, Trigger.NETWORK_RESTORED, touch=False, retry_at=None)
                self._process(t)
                self.notifier.flush(t)
            finally:
                self._running = False

    # files --------------------------------------------------------------------------------------------

    def _open_next_file(self, rec: JobRecord, t: float) -> bool:
        pending = next((f for f in rec.files if not f.transferred), None)
        if pending is None:
            self._svc.queue.change_state(rec, Trigger.ALL_TRANSFERRED)  # T12
            return True
        latency = self.network.latency
        try:
            kind = remote_kind(pending.remote_name, rec.job_type)
        except BitsError:
            kind = RemoteKind.HTTP
        if kind is RemoteKind.HTTP:
            if self.network.host_known(pending.remote_name):
                res = self.network.resource(pending.remote_name)
                latency = res.latency if res is not None else self.network.latency
            else:
                from .http_loopback import is_loopback

                # Loopback servers answer at once; any other unknown name takes resolve_delay to fail.
                latency = 0.0 if is_loopback(pending.remote_name) else self.network.resolve_delay
        self._flows[rec.id] = Flow(pending, ready_at=t + latency)
        return True

    def _connect(self, rec: JobRecord, flow: Flow, t: float) -> bool:
        f = flow.file
        try:
            kind = remote_kind(f.remote_name, rec.job_type)
        except BitsError as exc:
            self._fail(rec, t, exc.hresult, ErrorContext.REMOTE_FILE, fatal=True, file=f)
            return True
        if rec.job_type is not JobType.DOWNLOAD:
            from .upload import connect_upload

            done = connect_upload(self, rec, flow, t)
        elif kind is RemoteKind.SMB:
            return self._connect_local(rec, flow, t)
        else:
            done = self._connect_http(rec, flow, t)
        self.network.observe_request(rec, flow, t)  # svc.network.requests, history, log
        return done

    def _connect_local(self, rec: JobRecord, flow: Flow, t: float) -> bool:
        f = flow.file
        try:
            source = self.filesystem.source_path(f.remote_name)
        except BitsError as exc:
            self._fail(rec, t, exc.hresult, ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="file")
            return True
        if not source.is_file():
            self._fail(
                rec, t, hresults.ERROR_FILE_NOT_FOUND, ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="file"
            )
            return True
        flow.local_source = source
        flow.total = source.stat().st_size
        return self._begin_transfer(rec, flow, t, mtime=source.stat().st_mtime, headers=None)

    def _connect_http(self, rec: JobRecord, flow: Flow, t: float) -> bool:
        f = flow.file
        net = self.network
        if not net.host_known(f.remote_name):
            from . import http_loopback

            if http_loopback.is_loopback(f.remote_name):
                return http_loopback.connect(self, rec, flow, t)
            # A name nobody registered does not resolve (DESIGN §5): WinHTTP's error, transient.
            self._fail(
                rec,
                t,
                hresults.ERROR_WINHTTP_NAME_NOT_RESOLVED,
                ErrorContext.GENERAL_TRANSPORT,
                file=f,
                protocol="http",
            )
            return True
        res = net.resource(f.remote_name)
        if res is None:
            self._fail(rec, t, hresults.http_error(404), ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="http")
            return True
        res.requests += 1
        status = res.status
        if res.transient_failures > 0:
            res.transient_failures -= 1
            status = res.failure_status
        if 200 <= status < 300:
            tls = net.client_certificate_error(res, rec)
            if tls is not None:
                self._fail(rec, t, tls, ErrorContext.GENERAL_TRANSPORT, fatal=True, file=f, protocol="http")
                return True
            status = net.authenticate(res, rec, self._svc)
        if not 200 <= status < 300:
            self._fail(
                rec,
                t,
                hresults.http_error(status),
                ErrorContext.REMOTE_FILE,
                fatal=status_is_fatal(status),
                file=f,
                protocol="http",
            )
            return True
        flow.resource = res
        flow.total = res.size
        flow.rate = res.rate
        if res.change_content_after is not None:
            flow.change_at = res.change_content_after
        return self._begin_transfer(rec, flow, t, mtime=res.last_modified, headers=res.response_headers())

    def _begin_transfer(self, rec: JobRecord, flow: Flow, t: float, *, mtime: float, headers: str | None) -> bool:
        f = flow.file
        queue = self._svc.queue
        try:
            tmp, new_name = self.filesystem.prepare(rec, f)
        except BitsError as exc:
            self._fail(rec, t, exc.hresult, ErrorContext.LOCAL_FILE, fatal=True, file=f)
            return True
        flow.tmp = tmp
        start = f.bytes_transferred
        # The server's copy changed (new time stamp or size) or it cannot resume: the file restarts (§3.5).
        can_resume = flow.ranges_ok and (flow.resource is None or flow.resource.ranges)
        if start and (not can_resume or f.remote_mtime != mtime or (f.bytes_total not in (None, flow.total))):
            start = 0
            self.filesystem.truncate(tmp)
        changes: dict[str, Any] = {"remote_mtime": mtime, "bytes_transferred": start, "response_headers": headers}
        if new_name is not None:
            changes["temp_name"] = new_name
        if flow.resource is None or flow.resource.content_length:
            changes["bytes_total"] = flow.total
        queue.update_file(rec, f, **changes)
        flow.connected = True
        flow.start_t = t
        flow.start_bytes = start
        if rec.state is JobState.CONNECTING:
            queue.change_state(rec, Trigger.CONNECTED, error=None)  # T9: the error object goes (§2.10)
        if flow.rate is None:
            self._advance_flow(rec, flow, t)
        return True

    def _advance_bytes(self, target: float) -> None:
        """Move bytes of every connected flow, and account running time, up to ``target``."""
        queue = self._svc.queue
        dt = target - self._sim
        for rec in list(self._active.values()):
            if rec.state not in RUNNING_STATES:
                continue
            queue.update(rec, touch=False, active_seconds=rec.active_seconds + dt)
            flow = self._flows.get(rec.id)
            if flow is not None and flow.connected:
                self._advance_flow(rec, flow, target)

    def _advance_flow(self, rec: JobRecord, flow: Flow, t: float) -> None:
        f = flow.file
        target = flow.bytes_at(t)
        if flow.change_at is not None:
            target = min(target, flow.change_at)
        have = f.bytes_transferred
        if target <= have:
            return
        self._copy(flow, have, target)
        self._svc.queue.update_file(rec, f, bytes_transferred=target)
        # Progress is activity: ModificationTime and the inactivity timer move, the no-progress timer stops.
        self._svc.queue.update(rec, no_progress_since=None)
        self.notifier.progress(rec)

    def _copy(self, flow: Flow, start: int, end: int) -> None:
        fs = self.filesystem
        if flow.upload:
            return  # the endpoint keeps the whole file when the last fragment arrives (finish_upload)
        if flow.local_source is not None:
            if start == 0 and end == flow.total:
                fs.copy_into(flow.local_source, flow.tmp)
            else:
                with open(flow.local_source, "rb") as src:
                    src.seek(start)
                    fs.write(flow.tmp, start, src.read(end - start))
            return
        if flow.resource is not None and flow.body is None:
            res = flow.resource
            with open(flow.tmp, "r+b") as fh:
                fh.seek(start)
                pos = start
                while pos < end:
                    n = min(INSTANT_CHUNK, end - pos)
                    fh.write(res.read(pos, n))
                    pos += n
            return
        from . import http_loopback

        http_loopback.copy(flow, start, end)

    def _file_boundary(self, rec: JobRecord, flow: Flow, t: float) -> bool:
        f = flow.file
        queue = self._svc.queue
        if flow.change_at is not None and f.bytes_transferred >= flow.change_at and flow.resource is not None:
            # The content changes on the server mid-transfer: this file restarts from byte 0 (§3.5).
            flow.resource.apply_change(t)
            flow.change_at = None
            queue.update_file(rec, f, bytes_transferred=0, remote_mtime=flow.resource.last_modified)
            self.filesystem.truncate(flow.tmp)
            flow.total = flow.resource.size
            queue.update_file(rec, f, bytes_total=flow.total if flow.resource.content_length else None)
            flow.start_t, flow.start_bytes = t, 0
            if flow.rate is None:
                self._advance_flow(rec, flow, t)
            return True
        if f.bytes_transferred < flow.total:
            return False
        queue.update_file(rec, f, transferred=True, bytes_total=flow.total)
        if flow.upload:
            from .upload import finish_upload

            finish_upload(self, rec, flow)
        self._flows.pop(rec.id, None)
        self.notifier.file_transferred(rec, f)
        return True

    # failures -----------------------------------------------------------------------------------------

    def _fail(
        self,
        rec: JobRecord,
        t: float,
        code: hresults.HResult | int,
        context: ErrorContext,
        *,
        fatal: bool = False,
        network: bool = False,
        file: FileRecord | None = None,
        protocol: str | None = None,
    ) -> None:
        """One failure of ``rec`` at ``t``: TRANSIENT_ERROR with a retry timer, or ERROR (T10, T13–T17)."""
        self._drop_flow(rec)
        value = int(code)
        error = ErrorRecord(context, value, file.index if file is not None else None, protocol)
        queue = self._svc.queue
        if network:
            # T17: not counted, not retried on the timer; reconnect moves the job back to QUEUED (T18).
            queue.set_error(rec, Trigger.NETWORK_LOST, error, count=False)
            return
        if not fatal and rec.no_progress_timeout == 0:
            fatal = True  # NoProgressTimeout 0: the first error is fatal (T16)
        if fatal:
            queue.set_error(rec, Trigger.FATAL_FAILURE, error)
            return
        since = rec.no_progress_since if rec.no_progress_since is not None else t
        queue.set_error(
            rec, Trigger.TRANSIENT_FAILURE, error, retry_at=t + rec.min_retry_delay, no_progress_since=since
        )

    def _drop_flow(self, rec: JobRecord) -> None:
        self._flows.pop(rec.id, None)

    # inactivity ---------------------------------------------------------------------------------------

    def _expire_inactive(self, t: float) -> None:
        heap = self._inactivity
        queue = self._svc.queue
        while heap and heap[0].at <= t + _EPS:
            entry = heapq.heappop(heap)
            rec = queue.jobs.get(entry.job_id)
            if rec is None or rec.is_final:
                continue
            due = rec.last_activity_at + INACTIVITY_TIMEOUT
            if due > t + _EPS:
                heapq.heappush(heap, _Deadline(due, next(self._seq), rec.id))
                continue
            self.discard_files(rec)
            queue.change_state(rec, Trigger.INACTIVITY_TIMEOUT, touch=False)  # T32

    # API-driven state changes ---------------------------------------------------------------------------

    def resume(self, rec: JobRecord, caller: AccessToken) -> None:
        queue = self._svc.queue
        # Resume resets the time counted against MaximumDownloadTime (setmaximumdownloadtime page).
        if rec.state in (JobState.ERROR, JobState.TRANSIENT_ERROR):
            queue.change_state(rec, Trigger.RESUME, retry_at=None, no_progress_since=None, active_seconds=0.0)  # T4
        else:
            queue.change_state(rec, Trigger.RESUME, active_seconds=0.0)

    def suspended(self, rec: JobRecord) -> None:
        self._drop_flow(rec)

    def cancel(self, rec: JobRecord, caller: AccessToken) -> int:
        """T31: temporaries (and finished, not yet completed downloads) are deleted."""
        ok = self.discard_files(rec)
        self._drop_flow(rec)
        self._svc.queue.change_state(rec, Trigger.CANCEL)
        return int(hresults.S_OK if ok else hresults.BG_S_UNABLE_TO_DELETE_FILES)

    def complete(self, rec: JobRecord, caller: AccessToken) -> int:
        """T29/T30: whole files are renamed over their local names, partial ones deleted."""
        queue = self._svc.queue
        if rec.job_type is not JobType.DOWNLOAD and rec.state is not JobState.TRANSFERRED:
            raise BitsError(hresults.BG_E_INVALID_STATE, "uploads complete only when TRANSFERRED")
        self._drop_flow(rec)
        partial = False
        deleted = True
        if rec.job_type is JobType.DOWNLOAD:
            for f in rec.files:
                if not f.transferred:
                    partial = True
                    deleted &= self.filesystem.discard(f)
                    continue
                try:
                    self.filesystem.finalize(f)
                except OSError as exc:
                    # "If any rename fails: state stays TRANSFERRED, error returned" (T29).
                    raise BitsError(
                        hresults.hresult_from_win32(exc.errno or 5), f"cannot rename {f.temp_name}"
                    ) from None
                queue.update_file(rec, f, completed=True)
        else:
            from .upload import complete_upload

            complete_upload(self, rec)
        queue.change_state(rec, Trigger.COMPLETE)
        if not deleted:
            return int(hresults.BG_S_UNABLE_TO_DELETE_FILES)
        return int(hresults.BG_S_PARTIAL_COMPLETE if partial else hresults.S_OK)

    def discard_files(self, rec: JobRecord) -> bool:
        ok = True
        for f in rec.files:
            ok &= self.filesystem.discard(f)
        return ok

    def notify_interface_changed(self, rec: JobRecord, proxy: Proxy | None = None) -> None:
        """A callback registered after an event still receives it once (§2.11)."""
        self.notifier.interface_changed(rec, proxy)

    def state_allows_transfer(self, rec: JobRecord) -> bool:
        return rec.state in (JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING)

    def restarted(self) -> None:
        """Service restart: connections are gone; running jobs wait in QUEUED for the scheduler."""
        self._flows.clear()
        self._running = True
        try:
            for rec in list(self._active.values()):
                if rec.state in RUNNING_STATES:
                    self._svc.queue.change_state(rec, Trigger.PREEMPTED, touch=False)
        finally:
            self._running = False

    @staticmethod
    def network_identity(rec: JobRecord) -> AccessToken | str:
        """Who answers an NTLM/Negotiate challenge: the helper (BG_TOKEN_NETWORK) or the owner's SID."""
        if rec.helper is not None and rec.helper_flags & TokenFlags.NETWORK:
            return rec.helper.token
        return rec.owner_sid
