"""Notifications: IBackgroundCopyCallback 1–3 and command lines (docs/reference/states.md#notifications).

Delivered synchronously, on the thread that made the API call, while the scheduler catches up, in the
order the events happened: FileTransferred(s) before the JobTransferred/JobError they lead to. No
JobModification for a change *into* ERROR or TRANSFERRED. JobTransferred, JobError and FileTransferred
are kept until delivered: registered late, the callback still gets them once; a callback that fails
(raises, or returns a negative HRESULT) gets them again after ``RETRY_SECONDS`` — or, when a command
line is registered, the command line runs instead (never for service-account jobs), and runs again after
MinimumRetryDelay while the runner returns a non-zero exit code. FileTransferred callbacks of a job are
serialized and come before its JobTransferred/JobError: while one waits for its retry, the job's later
FileTransferred, JobTransferred and JobError wait behind it. BG_NOTIFY_DISABLE suppresses everything.

A job's notification CLSID (IBackgroundCopyJob5 property NOTIFICATION_CLSID, BITS 5.0) names a COM server
registered on the machine (``BitsService.register_com_server``): when the job has no callback object, or
its object has disconnected (a call gives RPC_E_DISCONNECTED or RPC_S_SERVER_UNAVAILABLE: its application
ended), the server's factory makes a new callback object, used for the job's further notifications until it
disconnects or SetNotifyInterface replaces it. A CLSID no server is registered for (REGDB_E_CLASSNOTREG), or
a factory that raises, fails the notification like a failing callback.

A callback is any object with the COM method names (``JobTransferred(job)``, ``JobError(job, error)``,
``JobModification(job, reserved)``, ``FileTransferred(job, file)``, ``FileRangesTransferred(job, file,
ranges)`` with a list of FileRange) or their snake_case forms.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Protocol

from .. import hresults
from ..clock import NS, SimTime, to_ns
from ..constants import JobPropertyId, JobState, NotifyFlags
from ..domain.records import ErrorRecord, FileRecord, JobRecord
from ..domain.states import ERROR as ERROR_STATE
from ..domain.states import FINAL_STATES
from ..domain.states import TRANSFERRED as TRANSFERRED_STATE
from ..events import CallbackCalled, EventBus, NotifyCommandLine
from ..identity import sids

# OUR CHOICE: BITS retries a failed notification "at an arbitrary interval"; the emulator waits 60 s of
# service time, so a test moves the clock to see the retry and a polling loop does not spin on it.
RETRY_SECONDS = 60.0
_RETRY_NS = int(RETRY_SECONDS) * NS
_DISABLE = int(NotifyFlags.DISABLE)
DELIVERED_KEPT = 10_000  # the newest deliveries kept for inspection (bounded: nothing grows with history)


class Views(Protocol):
    """Makes the interface objects a callback receives (the composition root passes the COM facade's
    factory, so this module never imports ``com``). ``registrant`` is the proxy the job's callback was
    registered through, or None for the service's default client."""

    def job(self, rec: JobRecord, registrant: Any) -> object: ...

    def error(self, rec: JobRecord, error: ErrorRecord, registrant: Any) -> object: ...

    def file(self, rec: JobRecord, f: FileRecord, registrant: Any) -> object: ...

    def ranges(self, spans: list[tuple[int, int]]) -> object: ...
_REGISTRATION = frozenset({"notify_interface", "notify_registrant_sid", "modified_at", "last_activity_at"})

CommandRunner = Callable[[str, "str | None"], int]
# A registered out-of-process COM server: makes a new callback object at each activation.
ComServer = Callable[[], object]
_CLSID_KEY: Final = int(JobPropertyId.NOTIFICATION_CLSID)  # the key of rec.properties
_NULL_CLSID: Final = str(uuid.UUID(int=0))
# A call's outcome: delivered, failed (retried, or the command line runs), or the object is gone.
_OK: Final = 0
_FAILED: Final = 1
_GONE: Final = 2
# The HRESULTs by which a call says its object is gone — "disconnected (typically as a result of your
# application terminating)" (https://learn.microsoft.com/en-us/windows/win32/bits/registering-a-com-callback):
# the object's process has ended (RPC_S_SERVER_UNAVAILABLE) or it was disconnected (RPC_E_DISCONNECTED).
_DISCONNECTED: Final = frozenset({int(hresults.RPC_E_DISCONNECTED), int(hresults.RPC_S_SERVER_UNAVAILABLE)})


class Kind(Enum):
    FILE_TRANSFERRED = ("FileTransferred", "file_transferred", NotifyFlags.FILE_TRANSFERRED)
    JOB_TRANSFERRED = ("JobTransferred", "job_transferred", NotifyFlags.JOB_TRANSFERRED)
    JOB_ERROR = ("JobError", "job_error", NotifyFlags.JOB_ERROR)
    JOB_MODIFICATION = ("JobModification", "job_modification", NotifyFlags.JOB_MODIFICATION)
    FILE_RANGES_TRANSFERRED = ("FileRangesTransferred", "file_ranges_transferred", NotifyFlags.FILE_RANGES_TRANSFERRED)

    @property
    def com_name(self) -> str:
        return self.value[0]

    @property
    def flag(self) -> NotifyFlags:
        return self.value[2]


# Members as plain globals (read at every notification; see domain/states.QUEUED for why).
FILE_TRANSFERRED: Final = Kind.FILE_TRANSFERRED
JOB_TRANSFERRED: Final = Kind.JOB_TRANSFERRED
JOB_ERROR: Final = Kind.JOB_ERROR
JOB_MODIFICATION: Final = Kind.JOB_MODIFICATION
FILE_RANGES_TRANSFERRED: Final = Kind.FILE_RANGES_TRANSFERRED
# The kinds a failed FileTransferred holds back until it succeeds (see Notifier._blocking).
_SERIAL: Final = frozenset({FILE_TRANSFERRED, JOB_TRANSFERRED, JOB_ERROR})


@dataclass(slots=True, eq=False)
class Note:
    kind: Kind
    job: JobRecord
    file: FileRecord | None = None
    not_before: int = 0  # ns; 0 = not waiting for a retry
    ranges: list[tuple[int, int]] | None = None  # FileRangesTransferred: (offset, length) spans
    command: bool = False  # the command line ran for it and exited non-zero: the retry runs it again
    # A JobModification overtaken by the job's move into ERROR or TRANSFERRED before it was delivered: not sent
    # (docs/reference/readings.md#notifications).
    stale: bool = False


class Notifier:
    def __init__(self, bus: EventBus, sim: SimTime, views: Views) -> None:
        self._bus = bus
        self._sim = sim
        self._views = views
        self._queue: deque[Note] = deque()
        # The same deque, for the scheduler's catch-up: "anything to deliver?" without a call.
        self.outbox = self._queue
        self._waiting: dict[uuid.UUID, list[Note]] = {}  # undelivered, for late registration or retry
        # A job's FileTransferred that failed and waits for its retry, and the job's notes held behind it
        # (_SERIAL kinds): "BITS will not dispatch a callback for the next file in the job until the current
        # callback returns successfully", and FileTransferred callbacks "are dispatched before JobTransferred
        # and JobError callbacks" (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/
        # nf-bits3_0-ibackgroundcopycallback2-filetransferred).
        self._blocking: dict[uuid.UUID, Note] = {}
        self._held: dict[uuid.UUID, list[Note]] = {}
        self._proxies: dict[uuid.UUID, Any] = {}
        # The COM servers registered on the machine, by CLSID (BitsService.register_com_server), and the
        # callback object each job's notification CLSID activated, used until it disconnects or
        # SetNotifyInterface replaces it (registering-a-com-callback page).
        self.servers: dict[uuid.UUID, ComServer] = {}
        self._activated: dict[uuid.UUID, object] = {}
        # Each job's JobModification waiting in the queue (one at a time: changes before its delivery join it).
        self._modified: dict[uuid.UUID, Note] = {}
        # failed notifications waiting for their retry: (not_before, seq, note), stale once delivered
        self._retries: list[tuple[int, int, Note]] = []
        self._seq = itertools.count()
        self.command_runner: CommandRunner | None = None
        # (COM name, job id) of the newest deliveries, for inspection in tests
        self.delivered: deque[tuple[str, uuid.UUID]] = deque(maxlen=DELIVERED_KEPT)

    # what happened ---------------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return bool(self._queue)

    def state_changed(self, rec: JobRecord, old: JobState, new: JobState) -> None:
        if new is TRANSFERRED_STATE or new is ERROR_STATE:
            # "BITS does not call JobModification when the job moves into TRANSFERRED or ERROR" (JobModification
            # page): a JobModification still waiting (the changes just before: CONNECTING, the last bytes) is
            # overtaken by JobTransferred or JobError, so no JobModification finds the job in those states
            # because of the change it reports (docs/reference/readings.md#notifications).
            if self._modified:
                pending = self._modified.pop(rec.id, None)
                if pending is not None:
                    pending.stale = True
            self._emit(Note(JOB_TRANSFERRED if new is TRANSFERRED_STATE else JOB_ERROR, rec))
        if new in FINAL_STATES:
            self.forget(rec.id)

    def file_transferred(self, rec: JobRecord, f: FileRecord) -> None:
        self._emit(Note(FILE_TRANSFERRED, rec, f))

    def file_ranges_transferred(self, rec: JobRecord, f: FileRecord, spans: list[tuple[int, int]]) -> None:
        """Ranges of an on-demand file arrived (transfer/ranges.py). Like JobModification, not kept for a late
        callback nor retried (OUR CHOICE; the callback3 page warns events may be dropped under load)."""
        if rec.notify_interface is not None:
            self._queue.append(Note(FILE_RANGES_TRANSFERRED, rec, f, ranges=spans))

    def modified(self, rec: JobRecord, changes: dict[str, Any] | None = None) -> None:
        """A property, progress or state change — except a change into ERROR or TRANSFERRED (JobModification page)."""
        if rec.notify_interface is None:
            return  # no callback: nothing to queue (tested first: most jobs have none)
        if changes is not None:
            if "state" in changes and changes["state"] in (ERROR_STATE, TRANSFERRED_STATE):
                return
            if changes.keys() <= _REGISTRATION:
                return  # registering a callback is not a change of the job
        if rec.id in self._modified:
            return
        note = self._modified[rec.id] = Note(JOB_MODIFICATION, rec)
        self._queue.append(note)

    def progress(self, rec: JobRecord) -> None:
        self.modified(rec)

    def _emit(self, note: Note) -> None:
        self._queue.append(note)

    def interface_changed(self, rec: JobRecord, proxy: Any = None) -> None:
        """SetNotifyInterface (``proxy``: the pointer it was called through), SetNotifyCmdLine or a new
        notification CLSID: the new target gets what is still undelivered (at-least-once, SETNI)."""
        if proxy is not None:
            self._proxies[rec.id] = proxy
            self._activated.pop(rec.id, None)  # SetNotifyInterface replaces a CLSID-activated object
        waiting = self._waiting.pop(rec.id, [])
        for note in waiting:
            note.not_before = 0
        self._queue.extend(waiting)

    def restarted(self) -> None:
        """A service restart: the callback pointers it held (SetNotifyInterface's, the CLSID-activated objects)
        are gone; what was not delivered waits for the next registration, the CLSID or the command line."""
        self._proxies.clear()
        self._activated.clear()

    def forget(self, job_id: uuid.UUID) -> None:
        """The job left the queue (Complete, Cancel): nothing of it is delivered any more."""
        for note in self._waiting.pop(job_id, ()):
            note.not_before = 0  # its retry entry goes stale
        self._blocking.pop(job_id, None)
        self._held.pop(job_id, None)
        self._proxies.pop(job_id, None)
        self._activated.pop(job_id, None)
        self._modified.pop(job_id, None)

    def _live_retry(self) -> int | None:
        heap = self._retries
        while heap and heap[0][2].not_before != heap[0][0]:
            heapq.heappop(heap)  # delivered, forgotten or rescheduled since
        return heap[0][0] if heap else None

    def next_retry(self) -> int | None:
        """When the next failed notification is retried (ns), or None."""
        return self._live_retry()

    def retry_due(self, t: int) -> bool:
        at = self._live_retry()
        return at is not None and at <= t

    def shift(self, back: int) -> None:
        """The clock went back by ``back`` ns: retries move with it."""
        for entry in self._retries:
            if entry[2].not_before == entry[0]:
                entry[2].not_before -= back
        self._retries = [(n.not_before, s, n) for _, s, n in self._retries if n.not_before]
        heapq.heapify(self._retries)

    # delivery ---------------------------------------------------------------------------------------

    def flush(self, t: int) -> None:
        heap = self._retries
        while heap and heap[0][0] <= t:
            at, _seq, note = heapq.heappop(heap)
            if note.not_before != at:
                continue
            notes = self._waiting.get(note.job.id)
            if notes is None or note not in notes:
                continue
            notes.remove(note)
            if not notes:
                del self._waiting[note.job.id]
            note.not_before = 0
            self._queue.append(note)
        while self._queue:
            note = self._queue.popleft()
            if note.kind is JOB_MODIFICATION:
                if note.stale:
                    continue
                self._modified.pop(note.job.id, None)
            self._deliver(note, t)

    def _current(self, note: Note) -> bool:
        """A job event still describes the job (a JobError for a job since resumed is not sent)."""
        state = note.job.state
        if state in FINAL_STATES:
            return False
        if note.kind is JOB_TRANSFERRED:
            return state is TRANSFERRED_STATE
        if note.kind is JOB_ERROR:
            return state is ERROR_STATE
        return True

    def _unblock(self, job_id: uuid.UUID) -> None:
        """The job's failed FileTransferred is done with: what waited behind it goes next, in its order."""
        del self._blocking[job_id]
        held = self._held.pop(job_id, None)
        if held:
            self._queue.extendleft(reversed(held))

    def _deliver(self, note: Note, t: int) -> None:
        rec = note.job
        blocker = self._blocking.get(rec.id) if self._blocking else None
        # Plain ints: IntFlag's ``&`` (and Enum's ``value`` property) run Python code on every delivery.
        flags = int(rec.notify_flags)
        if flags & _DISABLE or not flags & int(note.kind._value_[2]) or not self._current(note):
            if note is blocker:
                self._unblock(rec.id)  # no longer to be delivered: it holds nothing back any more
            return
        if blocker is not None and note is not blocker and note.kind in _SERIAL:
            self._held.setdefault(rec.id, []).append(note)  # behind the job's failed FileTransferred
            return
        callback = rec.notify_interface
        durable = note.kind not in (JOB_MODIFICATION, FILE_RANGES_TRANSFERRED)
        if note.command and self._command_line(rec, note, "rerun: the last run exited non-zero", t):
            return  # (a callback that failed is not called again: the command line runs instead)
        if callback is None and (clsid := _clsid(rec)) is not None:
            self._by_clsid(rec, note, clsid, t, durable, blocker)
            return
        if callback is None:
            if note is blocker:
                # The callback was removed: the file's note waits for the next one (below), and what it
                # held back follows it there, or goes to the command line, in order.
                self._unblock(rec.id)
            # (``not rec.notify_program``: _command_line's own refusal, tested here without the call for the
            # usual job, which has neither a callback nor a command line)
            if durable and (not rec.notify_program or not self._command_line(rec, note, "no callback registered", t)):
                self._waiting.setdefault(rec.id, []).append(note)
            return
        outcome = self._call(callback, note, t)
        if outcome is _GONE and (clsid := _clsid(rec)) is not None:
            # "BITS will use a callback object if one exists and can still be called, and will fall back to
            # instantiating a new object based on a provided class ID if that fails"
            self._by_clsid(rec, note, clsid, t, durable, blocker)
            return
        self._outcome(rec, note, t, durable, blocker, outcome == _OK, "the callback failed")

    def _by_clsid(
        self, rec: JobRecord, note: Note, clsid: uuid.UUID, t: int, durable: bool, blocker: Note | None
    ) -> None:
        """Deliver through the job's CLSID-activated object, activating one first when it has none."""
        job_id = rec.id
        callback = self._activated.get(job_id)
        if callback is None:
            callback = self._activate(rec, clsid, t)
            if callback is None:
                self._outcome(rec, note, t, durable, blocker, False, "the notification CLSID could not be activated")
                return
        outcome = self._call(callback, note, t)
        if outcome is _GONE:
            self._activated.pop(job_id, None)  # the next notification activates a new object
        self._outcome(rec, note, t, durable, blocker, outcome == _OK, "the callback failed")

    def _activate(self, rec: JobRecord, clsid: uuid.UUID, t: int) -> object | None:
        """CoCreateInstance of the job's notification CLSID: a new object from the registered server, or None
        (REGDB_E_CLASSNOTREG, or the server's factory raised)."""
        factory = self.servers.get(clsid)
        obj: object | None = None
        if factory is not None:
            try:
                obj = factory()
            except Exception:
                obj = None
        name = f"CoCreateInstance({{{str(clsid).upper()}}})"
        self._bus.publish(CallbackCalled(t / NS, rec.id, name, obj is not None))  # history, notify log
        if obj is not None:
            self._activated[rec.id] = obj
        return obj

    def _outcome(
        self, rec: JobRecord, note: Note, t: int, durable: bool, blocker: Note | None, ok: bool, reason: str
    ) -> None:
        if ok:
            self.delivered.append((note.kind.com_name, rec.id))
            if note is blocker:
                self._unblock(rec.id)
            return
        if durable and not self._command_line(rec, note, reason, t):
            if note.kind is FILE_TRANSFERRED:
                self._blocking[rec.id] = note
            self._retry(rec, note, t + _RETRY_NS)

    def _retry(self, rec: JobRecord, note: Note, at: int) -> None:
        """Keep ``note`` for ``rec`` and deliver it again at ``at`` (ns), from the retry heap."""
        note.not_before = at
        self._waiting.setdefault(rec.id, []).append(note)
        heapq.heappush(self._retries, (at, next(self._seq), note))

    def _call(self, callback: object, note: Note, t: int) -> int:
        """Call the note's method on ``callback``: _OK, _FAILED or _GONE (disconnected)."""
        method = getattr(callback, note.kind.com_name, None) or getattr(callback, note.kind.value[1], None)
        if method is None:
            # An object without the method: nothing to call. FileTransferred (FileRangesTransferred) belongs to
            # IBackgroundCopyCallback2 (3): an object without it is an IBackgroundCopyCallback (pywin32's sink
            # is one), to which BITS cannot deliver it — so it is not retried, and it holds nothing back.
            ok = note.kind in (JOB_MODIFICATION, FILE_RANGES_TRANSFERRED, FILE_TRANSFERRED)
            return _OK if ok else _FAILED
        views = self._views
        rec = note.job
        registrant = self._proxies.get(rec.id)
        try:
            job = views.job(rec, registrant)
            if note.kind is JOB_ERROR:
                if rec.error is None:
                    return _OK  # the error was cleared before delivery: nothing left to report
                result = method(job, views.error(rec, rec.error, registrant))
            elif note.kind is FILE_TRANSFERRED:
                if note.file is None:
                    return _OK
                result = method(job, views.file(rec, note.file, registrant))
            elif note.kind is JOB_MODIFICATION:
                result = method(job, 0)
            elif note.kind is FILE_RANGES_TRANSFERRED:
                if note.file is None or note.ranges is None:
                    return _OK
                result = method(job, views.file(rec, note.file, registrant), views.ranges(note.ranges))
            else:
                result = method(job)
        except Exception as exc:
            # A raising callback failed, like one returning a failure HRESULT, whatever it carries; the
            # exception's HRESULT (a BitsError's ``hresult``, a COM error's first argument) may say its
            # object is gone.
            code = getattr(exc, "hresult", None)
            if code is None and exc.args:
                code = exc.args[0]
            self._bus.publish(CallbackCalled(t / NS, rec.id, note.kind.com_name, False))
            return _GONE if _is_disconnection(code) else _FAILED
        failed = isinstance(result, int) and not isinstance(result, bool) and (result < 0 or result >= 1 << 31)
        self._bus.publish(CallbackCalled(t / NS, rec.id, note.kind.com_name, not failed))  # history, notify log
        if not failed:
            return _OK
        return _GONE if _is_disconnection(result) else _FAILED

    def _command_line(self, rec: JobRecord, note: Note, reason: str, t: int) -> bool:
        """Run (or, without an opt-in runner, record) the job's command line for TRANSFERRED/ERROR."""
        if note.kind not in (JOB_TRANSFERRED, JOB_ERROR) or not rec.notify_program:
            return False
        if rec.owner_sid in sids.SERVICE_ACCOUNT_SIDS:
            return False  # never for service-account jobs (setnotifycmdline page)
        note_event = NotifyCommandLine(self._sim.time(), rec.id, rec.notify_program, rec.notify_parameters, reason)
        self._bus.publish(note_event)
        if self.command_runner is not None:
            code = self.command_runner(rec.notify_program, rec.notify_parameters)
            if isinstance(code, int) and code != 0:
                # SetNotifyCmdLine page (https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/
                # nf-bits1_5-ibackgroundcopyjob2-setnotifycmdline): "If the program returns a non-zero exit
                # code and has not completed or cancelled the job, BITS runs the program again after the
                # MinimumRetryDelay." The note waits in the retry heap; Complete/Cancel forget it, and a
                # job no longer in the state it reports (resumed) drops it when it comes up (_current).
                # OUR CHOICE: without a runner nothing ran, so there is no exit code and no rerun.
                note.command = True
                self._retry(rec, note, t + to_ns(rec.min_retry_delay))
        self.delivered.append(("CommandLine", rec.id))
        return True


def _clsid(rec: JobRecord) -> uuid.UUID | None:
    """The job's notification CLSID, or None when unset or GUID_NULL (which clears it)."""
    if not rec.properties:  # (most jobs set no property: no lookup for them)
        return None
    value = rec.properties.get(_CLSID_KEY)
    return None if value is None or value == _NULL_CLSID else uuid.UUID(value)


def _is_disconnection(code: object) -> bool:
    """``code`` is an HRESULT (signed or unsigned) saying the callback object is gone."""
    return isinstance(code, int) and not isinstance(code, bool) and code & 0xFFFFFFFF in _DISCONNECTED
