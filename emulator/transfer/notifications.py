"""Notifications: IBackgroundCopyCallback 1–3 and command lines (spec/bits-core.md §2.3, §2.11, §9.1).

Delivered synchronously, on the thread that made the API call, while the scheduler catches up, in the
order the events happened: FileTransferred(s) before the JobTransferred/JobError they lead to. No
JobModification for a change *into* ERROR or TRANSFERRED. JobTransferred, JobError and FileTransferred
are kept until delivered: registered late, the callback still gets them once; a callback that fails
(raises, or returns a negative HRESULT) gets them again after ``RETRY_SECONDS`` — or, when a command
line is registered, the command line runs instead (never for service-account jobs). BG_NOTIFY_DISABLE
suppresses everything.

A callback is any object with the COM method names (``JobTransferred(job)``, ``JobError(job, error)``,
``JobModification(job, reserved)``, ``FileTransferred(job, file)``) or their snake_case forms.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..constants import JobState, NotifyFlags
from ..domain.records import FileRecord, JobRecord
from ..events import CallbackCalled, NotifyCommandLine

if TYPE_CHECKING:
    from ..identity.callers import Proxy
    from ..service import BitsService

# OUR CHOICE: BITS retries a failed notification "at an arbitrary interval"; the emulator waits 60 s of
# service time, so a test moves the clock to see the retry and a polling loop does not spin on it.
RETRY_SECONDS = 60.0
_REGISTRATION = frozenset({"notify_interface", "notify_registrant_sid", "modified_at", "last_activity_at"})

CommandRunner = Callable[[str, "str | None"], int]


class Kind(Enum):
    FILE_TRANSFERRED = ("FileTransferred", "file_transferred", NotifyFlags.FILE_TRANSFERRED)
    JOB_TRANSFERRED = ("JobTransferred", "job_transferred", NotifyFlags.JOB_TRANSFERRED)
    JOB_ERROR = ("JobError", "job_error", NotifyFlags.JOB_ERROR)
    JOB_MODIFICATION = ("JobModification", "job_modification", NotifyFlags.JOB_MODIFICATION)

    @property
    def com_name(self) -> str:
        return self.value[0]

    @property
    def flag(self) -> NotifyFlags:
        return self.value[2]


@dataclass(slots=True, eq=False)
class Note:
    kind: Kind
    job: JobRecord
    file: FileRecord | None = None
    not_before: float = 0.0


class Notifier:
    def __init__(self, svc: BitsService) -> None:
        self._svc = svc
        self._queue: list[Note] = []
        self._waiting: dict[uuid.UUID, list[Note]] = {}  # undelivered, for late registration or retry
        self._proxies: dict[uuid.UUID, Proxy] = {}
        self._modified: set[uuid.UUID] = set()
        self._retrying: set[uuid.UUID] = set()  # jobs with a failed notification waiting for its retry
        self.command_runner: CommandRunner | None = None
        self.delivered: list[tuple[str, uuid.UUID]] = []  # (COM name, job id), for inspection in tests

    # what happened ---------------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return bool(self._queue)

    def state_changed(self, rec: JobRecord, old: JobState, new: JobState) -> None:
        if new is JobState.TRANSFERRED:
            self._emit(Note(Kind.JOB_TRANSFERRED, rec))
        elif new is JobState.ERROR:
            self._emit(Note(Kind.JOB_ERROR, rec))
        if new in (JobState.ACKNOWLEDGED, JobState.CANCELLED):
            self._waiting.pop(rec.id, None)
            self._proxies.pop(rec.id, None)

    def file_transferred(self, rec: JobRecord, f: FileRecord) -> None:
        self._emit(Note(Kind.FILE_TRANSFERRED, rec, f))

    def modified(self, rec: JobRecord, changes: dict[str, Any] | None = None) -> None:
        """A property, progress or state change — except a change into ERROR or TRANSFERRED (§2.11)."""
        if changes is not None:
            if "state" in changes and changes["state"] in (JobState.ERROR, JobState.TRANSFERRED):
                return
            if changes.keys() <= _REGISTRATION:
                return  # registering a callback is not a change of the job
        if rec.notify_interface is None or rec.id in self._modified:
            return
        self._modified.add(rec.id)
        self._queue.append(Note(Kind.JOB_MODIFICATION, rec))

    def progress(self, rec: JobRecord) -> None:
        self.modified(rec)

    def _emit(self, note: Note) -> None:
        self._queue.append(note)

    def interface_changed(self, rec: JobRecord, proxy: Proxy | None = None) -> None:
        """SetNotifyInterface: the new callback gets what is still undelivered (at-least-once, §2.11)."""
        if proxy is not None:
            self._proxies[rec.id] = proxy
        waiting = self._waiting.pop(rec.id, [])
        for note in waiting:
            note.not_before = 0.0
        self._queue.extend(waiting)

    def forget(self, job_id: uuid.UUID) -> None:
        """The job left the queue (Complete, Cancel): nothing of it is delivered any more."""
        self._waiting.pop(job_id, None)
        self._proxies.pop(job_id, None)
        self._retrying.discard(job_id)

    def next_retry(self) -> float | None:
        if not self._retrying:
            return None
        times = [n.not_before for i in self._retrying for n in self._waiting.get(i, ()) if n.not_before]
        return min(times) if times else None

    # delivery ---------------------------------------------------------------------------------------

    def flush(self, t: float) -> None:
        for job_id in list(self._retrying):
            notes = self._waiting.get(job_id, [])
            if not any(n.not_before for n in notes):
                self._retrying.discard(job_id)
                continue
            due = [n for n in notes if n.not_before and n.not_before <= t]
            if due:
                self._waiting[job_id] = [n for n in notes if n not in due]
                if not self._waiting[job_id]:
                    del self._waiting[job_id]
                for n in due:
                    n.not_before = 0.0
                self._queue.extend(due)
        while self._queue:
            note = self._queue.pop(0)
            if note.kind is Kind.JOB_MODIFICATION:
                self._modified.discard(note.job.id)
            self._deliver(note, t)

    def _current(self, note: Note) -> bool:
        """A job event still describes the job (a JobError for a job since resumed is not sent)."""
        state = note.job.state
        if state in (JobState.ACKNOWLEDGED, JobState.CANCELLED):
            return False
        if note.kind is Kind.JOB_TRANSFERRED:
            return state is JobState.TRANSFERRED
        if note.kind is Kind.JOB_ERROR:
            return state is JobState.ERROR
        return True

    def _deliver(self, note: Note, t: float) -> None:
        rec = note.job
        flags = rec.notify_flags
        if flags & NotifyFlags.DISABLE or not flags & note.kind.flag or not self._current(note):
            return
        callback = rec.notify_interface
        durable = note.kind is not Kind.JOB_MODIFICATION
        if callback is None:
            if durable and not self._command_line(rec, note, "no callback registered"):
                self._waiting.setdefault(rec.id, []).append(note)
            return
        if self._call(callback, note, t):
            self.delivered.append((note.kind.com_name, rec.id))
            return
        if durable and not self._command_line(rec, note, "the callback failed"):
            note.not_before = t + RETRY_SECONDS
            self._waiting.setdefault(rec.id, []).append(note)
            self._retrying.add(rec.id)

    def _call(self, callback: object, note: Note, t: float) -> bool:
        method = getattr(callback, note.kind.com_name, None) or getattr(callback, note.kind.value[1], None)
        if method is None:
            return note.kind is Kind.JOB_MODIFICATION  # an object without the method: nothing to call
        from ..com.job import Job

        svc = self._svc
        rec = note.job
        proxy = self._proxies.get(rec.id)
        if proxy is None:
            from ..identity.callers import DEFAULT_BLANKET, ClientProcess
            from ..identity.callers import Proxy as ProxyClass

            proxy = ProxyClass(ClientProcess(svc.current_session.token, DEFAULT_BLANKET))
        job = Job(svc, proxy.spawn(), rec)
        try:
            if note.kind is Kind.JOB_ERROR:
                from ..com.error import CopyError

                assert rec.error is not None
                result = method(job, CopyError(svc, proxy.spawn(), rec, rec.error))
            elif note.kind is Kind.FILE_TRANSFERRED:
                from ..com.file import File

                assert note.file is not None
                result = method(job, File(svc, proxy.spawn(), rec, note.file))
            elif note.kind is Kind.JOB_MODIFICATION:
                result = method(job, 0)
            else:
                result = method(job)
        except Exception:
            result = -1  # a raising callback failed, like one returning a failure HRESULT
        ok = not (isinstance(result, int) and not isinstance(result, bool) and (result < 0 or result >= 1 << 31))
        svc.bus.publish(CallbackCalled(t, rec.id, note.kind.com_name, ok))  # svc.history, emulator.notify log
        return ok

    def _command_line(self, rec: JobRecord, note: Note, reason: str) -> bool:
        """Run (or, without an opt-in runner, record) the job's command line for TRANSFERRED/ERROR."""
        from ..identity import sids

        if note.kind not in (Kind.JOB_TRANSFERRED, Kind.JOB_ERROR) or not rec.notify_program:
            return False
        if rec.owner_sid in sids.SERVICE_ACCOUNT_SIDS:
            return False  # never for service-account jobs (setnotifycmdline page)
        svc = self._svc
        svc.bus.publish(
            NotifyCommandLine(svc.scheduler.now(), rec.id, rec.notify_program, rec.notify_parameters, reason)
        )
        if self.command_runner is not None:
            self.command_runner(rec.notify_program, rec.notify_parameters)
        self.delivered.append(("CommandLine", rec.id))
        return True
