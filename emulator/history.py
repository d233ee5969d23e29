"""``svc.history``: what happened to the jobs, as typed records on the service's virtual clock.

Four record types, all frozen dataclasses with ``at`` (seconds since the Unix epoch on the service clock:
a ``ManualClock``, freezegun, or the wall clock), ``job_id`` and ``job_name`` (the display name when the
record was made):

* ``Creation``     — CreateJob succeeded (the job starts SUSPENDED);
* ``StateChange``  — ``old`` → ``new`` (every transition the state machine made, API-driven or not);
* ``Request``      — a connection to a remote server: URL, range, request headers, HTTP status, HRESULT;
* ``Notification`` — a notification delivered to IBackgroundCopyCallback (or that failed), or a command
  line run instead (``method == "CommandLine"``).

The history is **bounded** (emulator choice, so that a long-running service does not grow with its
past): a ring buffer that keeps the last ``DEFAULT_LIMIT`` (10,000) records and drops the oldest;
``svc.history.limit = n`` changes the bound (``None``: unbounded, for a short test that wants
everything), ``svc.history.dropped`` counts what was dropped, ``clear()`` empties it. It is fed by the
service's event bus, so it costs nothing per API call: one small record per state change, request or
callback. ``save(path)`` writes it as JSON, ``load(path)`` reads it back, ``timeline(path)`` draws it
(see ``emulator.timeline``). Guide: docs/observability.md.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from . import events
from .clock import to_datetime
from .constants import JobState, JobType
from .events import CallbackCalled, JobStateChanged, NotifyCommandLine, RequestMade, quick_init
from .logs import cached_answer

if TYPE_CHECKING:
    from .domain.records import JobRecord
    from .events import EventBus

DEFAULT_LIMIT = 10_000

JOBS_LOG = logging.getLogger("emulator.jobs")
NETWORK_LOG = logging.getLogger("emulator.network")
NOTIFY_LOG = logging.getLogger("emulator.notify")
# Each handler reads its logger's cached answer before asking it (emulator/logs.py, FAST_CHECK).
_jobs_cached = cached_answer(JOBS_LOG)
_network_cached = cached_answer(NETWORK_LOG)
_notify_cached = cached_answer(NOTIFY_LOG)
_INFO = logging.INFO
_WARNING = logging.WARNING


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    at: float
    job_id: uuid.UUID
    job_name: str

    KIND: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.KIND
        data["job_id"] = str(self.job_id)
        if not isinstance(self.at, (int, float)):
            data["at"] = str(self.at)  # an exact time (Fraction) stays exact: "p/q"
        return data


@dataclass(frozen=True, slots=True)
class Creation(HistoryRecord):
    job_type: JobType
    owner_sid: str

    KIND: ClassVar[str] = "created"

    def to_json(self) -> dict[str, Any]:
        data = HistoryRecord.to_json(self)
        data["job_type"] = self.job_type.name
        return data


@dataclass(frozen=True, slots=True)
class StateChange(HistoryRecord):
    old: JobState
    new: JobState

    KIND: ClassVar[str] = "state"

    def to_json(self) -> dict[str, Any]:
        data = HistoryRecord.to_json(self)
        data["old"], data["new"] = self.old.name, self.new.name
        return data


@dataclass(frozen=True, slots=True)
class Request(HistoryRecord):
    url: str
    offset: int
    length: int | None
    headers: tuple[tuple[str, str], ...]
    status: int | None
    hresult: int
    registered: bool
    method: str = "GET"  # the HTTP verb: GET, BITS_POST for uploads, or the job's SetHttpMethod verb

    KIND: ClassVar[str] = "request"

    @property
    def result(self) -> str:
        """``"200"``-style status when the server answered and the transfer started, else the HRESULT name."""
        from . import hresults

        if self.hresult == 0:
            return f"HTTP {self.status}" if self.status is not None else "S_OK"
        entry = hresults.lookup(self.hresult)
        return entry.name if entry is not None else f"0x{self.hresult:08X}"

    def to_json(self) -> dict[str, Any]:
        data = HistoryRecord.to_json(self)
        data["headers"] = [list(h) for h in self.headers]
        return data


@dataclass(frozen=True, slots=True)
class Notification(HistoryRecord):
    method: str  # JobTransferred, JobError, JobModification, FileTransferred, CommandLine, ValidateServerCertificate
    succeeded: bool

    KIND: ClassVar[str] = "callback"


RECORD_TYPES: dict[str, type[HistoryRecord]] = {t.KIND: t for t in (Creation, StateChange, Request, Notification)}


def record_from_json(data: dict[str, Any]) -> HistoryRecord:
    """One record from its ``to_json()`` form; ``ValueError`` names what is wrong."""
    try:
        kind = RECORD_TYPES[data["kind"]]
        values: dict[str, Any] = {}
        for f in fields(kind):
            if f.name not in data and f.default is not MISSING:
                continue  # a field added later (Request.method): a file saved before it keeps loading
            raw = data[f.name]
            if f.name == "job_id":
                raw = uuid.UUID(raw)
            elif f.name == "at" and isinstance(raw, str):
                raw = Fraction(raw)
            elif f.name in ("old", "new"):
                raw = JobState[raw]
            elif f.name == "job_type":
                raw = JobType[raw]
            elif f.name == "headers":
                raw = tuple((str(k), str(v)) for k, v in raw)
            values[f.name] = raw
        return kind(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a history record ({type(exc).__name__}: {exc}): {data!r}") from None


def load(path: str | os.PathLike[str]) -> list[HistoryRecord]:
    """Records saved by ``History.save`` (a JSON list, or an object with a ``records`` list)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("records")
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of history records")
    return [record_from_json(item) for item in data]


def _stamp(at: float) -> str:
    return to_datetime(float(at)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Built through their slots' descriptors (events.quick_init): same dataclass, half the cost to build.
for _cls in (Creation, StateChange, Request, Notification):
    quick_init(_cls)


class History:
    """The bounded record of one service's jobs (see the module docstring)."""

    def __init__(
        self,
        bus: EventBus,
        jobs: Mapping[uuid.UUID, JobRecord],
        profile_name: str,
        strict: Callable[[], bool],
        limit: int | None = DEFAULT_LIMIT,
    ) -> None:
        # Narrow dependencies: the live jobs (for names), the profile's name (for titles) and whether the
        # fake network is strict (a request to an unregistered host is then logged as a warning).
        self._jobs = jobs
        self._profile_name = profile_name
        self._strict = strict
        # Records are kept as (record class, field values) when they happen and made into their frozen
        # record objects when first read: the history is fed on every state change of every job and read
        # rarely, and building a frozen dataclass costs about as much as the rest of the feeding.
        self._records: deque[HistoryRecord | tuple[type[HistoryRecord], tuple[Any, ...]]] = deque(
            maxlen=_check_limit(limit)
        )
        self._raw = False  # some entries are still (class, values)
        self.dropped = 0
        bus.subscribe(events.JobCreated, self._on_created)
        bus.subscribe(JobStateChanged, self._on_state)
        bus.subscribe(RequestMade, self._on_request)
        bus.subscribe(CallbackCalled, self._on_callback)
        bus.subscribe(NotifyCommandLine, self._on_command_line)

    # the bound ------------------------------------------------------------------------------------

    @property
    def limit(self) -> int | None:
        return self._records.maxlen

    @limit.setter
    def limit(self, value: int | None) -> None:
        value = _check_limit(value)
        kept: list[Any] = self._list()
        if value is not None and len(kept) > value:
            self.dropped += len(kept) - value
            kept = kept[len(kept) - value :]
        self._records = deque(kept, maxlen=value)

    def clear(self) -> None:
        self._records.clear()
        self.dropped = 0

    # reading --------------------------------------------------------------------------------------

    def _list(self) -> list[HistoryRecord]:
        """Every record, oldest first, as record objects (made now for those not read before)."""
        records = self._records
        if self._raw:
            made = [r if isinstance(r, HistoryRecord) else r[0](*r[1]) for r in records]
            records.clear()
            records.extend(made)
            self._raw = False
            return made
        return list(records)  # type: ignore[arg-type]  # no raw entry left (self._raw is False)

    def __iter__(self) -> Iterator[HistoryRecord]:
        return iter(self._list())

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> HistoryRecord:
        return self._list()[index]

    def records(self, job: uuid.UUID | str | None = None) -> list[HistoryRecord]:
        """All records, or those of one job: by GUID (``uuid.UUID`` or its string; ``[]`` when the history
        has no record of it) or by display name (see ``_resolve``: ``ValueError`` when the name is
        ambiguous or names no job)."""
        if job is None:
            return self._list()
        records = self._list()
        key = self._resolve(job, records)
        return [r for r in records if r.job_id == key]

    def _resolve(self, job: uuid.UUID | str, records: list[HistoryRecord]) -> uuid.UUID:
        """The GUID of the job ``job`` identifies, in one pass over the records.

        A GUID is taken as one. A display name is looked up among the names the records carry (the name
        when each record was made, so a job renamed by SetDisplayName is found by either name) and the
        live jobs' names (a job with no record left, e.g. one persisted by another service, is still
        known). Two jobs of that name are ambiguous, as for bitsadmin: merging their records would give
        one job's made-up list of states, so the caller must pass the GUID. A name that matches no job is
        an error too: a misspelt name must not pass as "no state changes"."""
        if isinstance(job, uuid.UUID):
            return job
        if not isinstance(job, str):
            raise TypeError(f"a job is a uuid.UUID, its string or a display name, not {type(job).__name__}")
        key = _guid(job)
        named: dict[uuid.UUID, None] = {}  # insertion-ordered set: the GUIDs in order of first record
        seen_key = False
        for r in records:
            if r.job_name == job:
                named[r.job_id] = None
            if r.job_id == key:
                seen_key = True
        if key is not None and (seen_key or not named):
            return key  # a GUID, with or without records (a display name that looks like a GUID: rare)
        for job_id, rec in self._jobs.items():
            if rec.display_name == job:
                named[job_id] = None
        if len(named) == 1:
            return next(iter(named))
        if not named:
            raise ValueError(f"no job named {job!r} in the history or the queue; pass a GUID or a display name")
        guids = ", ".join("{" + str(g).upper() + "}" for g in named)
        raise ValueError(f"{len(named)} jobs are named {job!r} ({guids}); pass the job's GUID")

    def states(self, job: uuid.UUID | str) -> list[JobState]:
        """The states a job went through, in order, starting with SUSPENDED when its creation was seen.
        ``job`` as for ``records``."""
        out: list[JobState] = []
        for r in self.records(job):
            if isinstance(r, Creation):
                out.append(JobState.SUSPENDED)
            elif isinstance(r, StateChange):
                if not out:
                    out.append(r.old)
                out.append(r.new)
        return out

    @property
    def requests(self) -> list[Request]:
        return [r for r in self._list() if isinstance(r, Request)]

    @property
    def callbacks(self) -> list[Notification]:
        return [r for r in self._list() if isinstance(r, Notification)]

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self._list()]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the records as JSON (read back with ``emulator.history.load``)."""
        target = Path(path)
        data = {"profile": self._profile_name, "dropped": self.dropped, "records": self.to_json()}
        target.write_text(json.dumps(data, indent=1), encoding="utf-8")
        return target

    def timeline(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Draw each job's states over virtual time into an SVG file (``emulator.timeline.render``)."""
        from .timeline import render

        return render(self._list(), path, title=title or f"bits-emulator ({self._profile_name})")

    def summary(self) -> str:
        """One line per job: its states with their virtual times (the text form of the timeline)."""
        from .timeline import summary

        return summary(self._list())

    # feeding --------------------------------------------------------------------------------------

    def _add(self, kind: type[HistoryRecord], values: tuple[Any, ...]) -> None:
        """Record a ``kind(*values)`` (made when first read: see ``__init__``). ``values`` comes as one
        tuple, the one kept: no packing of arguments into a new tuple at each of a job's events."""
        records = self._records
        if records.maxlen is not None and len(records) == records.maxlen:
            self.dropped += 1
        records.append((kind, values))
        self._raw = True

    def _name(self, job_id: uuid.UUID) -> str:
        """The display name of a live job now (SetDisplayName may have renamed it); "" once it has left."""
        rec = self._jobs.get(job_id)
        return "" if rec is None else rec.display_name

    # The two handlers below run at every job's creation and state change: each appends its entry itself
    # (what ``_add`` does, without the call) and reads the logger's cached answer before asking it.

    def _on_created(self, event: events.JobCreated) -> None:
        job = event.job
        records = self._records
        if len(records) == records.maxlen:
            self.dropped += 1
        records.append((Creation, (event.at, job.id, job.display_name, job.job_type, job.owner_sid)))
        self._raw = True
        if _jobs_cached(_INFO) is not False and JOBS_LOG.isEnabledFor(_INFO):
            JOBS_LOG.info(
                "job %r {%s} created (%s) at %s",
                job.display_name,
                str(job.id).upper(),
                job.job_type.name,
                _stamp(event.at),
                extra={"bits_job": str(job.id), "bits_state": JobState.SUSPENDED.name},
            )

    def _on_state(self, event: JobStateChanged) -> None:
        # The event carries the record: its last transition (ACKNOWLEDGED, CANCELLED) still names the job
        # after it left the queue, with no GUID lookup.
        job = event.job
        name = self._name(event.job_id) if job is None else job.display_name
        records = self._records
        if len(records) == records.maxlen:
            self.dropped += 1
        records.append((StateChange, (event.at, event.job_id, name, event.old, event.new)))
        self._raw = True
        if _jobs_cached(_INFO) is not False and JOBS_LOG.isEnabledFor(_INFO):
            JOBS_LOG.info(
                "job %r {%s} %s -> %s at %s",
                name,
                str(event.job_id).upper(),
                event.old.name,
                event.new.name,
                _stamp(event.at),
                extra={"bits_job": str(event.job_id), "bits_state": event.new.name},
            )

    def _on_request(self, event: RequestMade) -> None:
        name = self._name(event.job_id)
        values = (
            event.at,
            event.job_id,
            name,
            event.url,
            event.offset,
            event.length,
            event.headers,
            event.status,
            event.hresult,
            event.registered,
            event.method,
        )
        self._add(Request, values)
        level = _WARNING if not event.registered and self._strict() else _INFO
        if _network_cached(level) is not False and NETWORK_LOG.isEnabledFor(level):
            span = f"bytes={event.offset}-" + (str(event.offset + event.length - 1) if event.length else "")
            NETWORK_LOG.log(
                level,
                "%s %s (%s) for job %r -> %s (0x%08X)%s",
                event.method,
                event.url,
                span,
                name,
                Request(*values).result,
                event.hresult,
                "" if event.registered else " [host not registered on the fake network]",
                extra={"bits_job": str(event.job_id), "bits_url": event.url, "bits_hresult": event.hresult},
            )

    def _on_callback(self, event: CallbackCalled) -> None:
        name = self._name(event.job_id)
        self._add(Notification, (event.at, event.job_id, name, event.method, event.succeeded))
        if _notify_cached(_INFO) is not False and NOTIFY_LOG.isEnabledFor(_INFO):
            NOTIFY_LOG.info(
                "%s(job %r) %s at %s",
                event.method,
                name,
                "delivered" if event.succeeded else "failed (retried later)",
                _stamp(event.at),
                extra={"bits_job": str(event.job_id)},
            )

    def _on_command_line(self, event: NotifyCommandLine) -> None:
        name = self._name(event.job_id)
        self._add(Notification, (event.at, event.job_id, name, "CommandLine", True))
        if _notify_cached(_INFO) is not False and NOTIFY_LOG.isEnabledFor(_INFO):
            NOTIFY_LOG.info(
                "command line %r %r for job %r (%s)",
                event.program,
                event.parameters,
                name,
                event.reason,
                extra={"bits_job": str(event.job_id)},
            )


def _guid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip("{}"))
    except ValueError:
        return None


def _check_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError("the history limit must be an int or None")
    if limit < 1:
        raise ValueError("the history limit must be at least 1 (None: unbounded)")
    return limit

