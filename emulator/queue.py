"""The job queue: live job records, their indexes, and write-through of every change.

Every mutation goes through ``update`` (or the state-changing ``change_state``): the new values are
written to the store in one transaction first and applied to the record only once it committed, so a
failure never leaves memory and store disagreeing, or the store half-written.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from .clock import SimTime
from .constants import JobPriority, JobState, JobType
from .domain import states
from .domain.records import Credential, ErrorRecord, FileRecord, HelperToken, JobRecord, new_job
from .domain.states import CANCEL, CANCELLED, COMPLETE, FINAL_STATES, RESUME, SUSPEND, TRANSFERRED, Trigger
from .events import EventBus, JobCreated, JobLoaded, JobModified, JobStateChanged
from .identity.tokens import AccessToken
from .store.repository import JobStore, credentials_column, error_columns, helper_columns

_ERROR_ENDS = tuple(states.ERROR_OBJECT_ENDS)
_FINAL = tuple(FINAL_STATES)  # ``in`` by identity, without Enum.__hash__ (Python code) per check
_PERSISTED_ENUMS = (JobState, JobType, JobPriority)
# Job GUIDs: random (version 4) GUIDs, as BITS makes them. ``uuid.uuid4()`` costs a system call and the
# UUID class's checks (about 4 µs, a tenth of a create_job); a generator seeded from the system's entropy
# gives the same 122 random bits for a fraction of that. After a fork the child draws a new seed, as the
# ``random`` module does for its own generator, so processes sharing a file store never repeat a GUID.
_GUIDS = random.Random()
os.register_at_fork(after_in_child=_GUIDS.seed)
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID = uuid.UUID
_new_uuid = object.__new__
# uuid.UUID is immutable (its __setattr__ raises): its two slots are filled through their descriptors, a
# direct C call each, rather than object.__setattr__, which looks the slot up by name first.
_set_int = _UUID.__dict__["int"].__set__
_set_safe = _UUID.__dict__["is_safe"].__set__
_UNKNOWN = uuid.SafeUUID.unknown
_random_bits = _GUIDS.getrandbits


def new_job_id() -> tuple[uuid.UUID, str]:
    """A new random job GUID and its string form (the store's key), made without ``uuid.UUID.__init__``
    and ``__str__`` (checks and formatting this value never needs)."""
    v = (_random_bits(128) & _KEEP) | _VERSION_4
    u = _new_uuid(_UUID)
    _set_int(u, v)
    _set_safe(u, _UNKNOWN)
    h = "%032x" % v  # noqa: UP031 (a format string is half the cost of the f-string's format spec here)
    return u, f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Record attributes that are not one column of the same name holding the same value: ``_columns`` maps
# them. Every other change goes to the store as it is (the store writes enums as their numbers).
_MAPPED = frozenset(
    {"error", "helper", "credentials", "properties", "notify_interface", "notify_registrant_sid",
     "server_cert_validator", "files"}
)


def _columns(changes: dict[str, Any]) -> dict[str, Any]:
    """Record attribute changes → store columns."""
    cols: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "error":
            cols.update(error_columns(value))
        elif name == "helper":
            cols.update(helper_columns(value))
        elif name == "credentials":
            cols["credentials"] = credentials_column(value)
        elif name == "properties":
            cols["properties"] = {str(k): v for k, v in value.items()}
        elif name in ("notify_interface", "notify_registrant_sid", "server_cert_validator", "files"):
            continue  # not persisted
        else:
            cols[name] = int(value) if isinstance(value, _PERSISTED_ENUMS) else value
    return cols


class JobQueue:
    def __init__(self, store: JobStore, sim: SimTime, bus: EventBus) -> None:
        self.store = store
        self.clock = sim
        self.bus = bus
        self.jobs: dict[uuid.UUID, JobRecord] = {}
        # per owner SID, its jobs in creation order; keyed by the record itself (hashed by identity in C:
        # a uuid.UUID key costs a Python-level __hash__ at every create and cancel)
        self.by_owner: dict[str, dict[JobRecord, JobRecord]] = {}
        self.by_helper_session: dict[int, dict[uuid.UUID, JobRecord]] = {}
        self._seq = 0
        self._file_id = store.max_file_id()

    # indexes -----------------------------------------------------------------------------------

    def _index(self, rec: JobRecord) -> None:
        self.jobs[rec.id] = rec
        owned = self.by_owner.get(rec.owner_sid)
        if owned is None:  # (setdefault would build a dict at every call, used or not)
            owned = self.by_owner[rec.owner_sid] = {}
        owned[rec] = rec
        if rec.seq > self._seq:
            self._seq = rec.seq

    def load(self, records: Iterable[JobRecord]) -> None:
        for rec in records:
            self._index(rec)

    def owned_by(self, sid: str) -> list[JobRecord]:
        owned = self.by_owner.get(sid)
        return list(owned.values()) if owned else []

    def all_jobs(self) -> list[JobRecord]:
        return list(self.jobs.values())

    def forget_service_memory(self) -> None:
        """A BITS service restart: what lived only in the service's memory is gone — the callback and
        server-certificate validation pointers (SetNotifyInterface, SetServerCertificateValidationInterface:
        not persisted) and the remote names SetRemoteName changed that no Resume serialized
        (docs/reference/states.md#persistence). The same as a reopened store's records, which never had them."""
        for rec in self.jobs.values():
            rec.notify_interface = rec.notify_registrant_sid = rec.server_cert_validator = None
            for f in rec.files:
                if f.durable_remote_name is not None:
                    f.remote_name, f.durable_remote_name = f.durable_remote_name, None

    def count_owned(self, sid: str) -> int:
        return len(self.by_owner.get(sid, ()))

    # transactions ------------------------------------------------------------------------------

    def batch(self) -> AbstractContextManager[None]:
        """Group several updates of one API call into a single store transaction (store transactions
        nest: the writes inside join the outermost one)."""
        return self.store.transaction()

    def _write(self) -> AbstractContextManager[None]:
        return self.store.transaction()

    # mutations ---------------------------------------------------------------------------------

    def create(
        self, display_name: str, job_type: JobType, owner: AccessToken, *, max_download_time: int | None = None
    ) -> JobRecord:
        """A new job; ``max_download_time`` replaces the default MaximumDownloadTime (the MaxDownloadTime
        group policy, backend.create_job)."""
        now = self.clock.time()
        with self._write():
            # A shared file store numbers jobs in the database, inside this (IMMEDIATE) transaction.
            seq = self.store.next_seq() if self.store.shared else self._seq + 1
            rec = self._new_record(display_name, job_type, owner, now, seq)
            if max_download_time is not None:
                rec.max_download_time = max_download_time
            self.store.insert_new_job(rec)
        self._index(rec)
        self.bus.publish(JobCreated(now, rec))
        return rec

    @staticmethod
    def _new_record(display_name: str, job_type: JobType, owner: AccessToken, now: float, seq: int) -> JobRecord:
        job_id, key = new_job_id()
        # records.new_job: JobRecord(id=…, key=…, seq=…, …, last_activity_at=…), at half the cost; the owner's
        # elevation is its token's is_admin (what AccessToken.elevated answers), read without the property call
        return new_job(
            job_id, key, seq, job_type, display_name, owner.user_sid, owner.user_name, owner.is_admin,
            int(owner.integrity), now, now, now,
        )

    def update(self, rec: JobRecord, *, touch: bool = True, **changes: Any) -> None:
        """Write ``changes`` through, then apply them. ``touch`` updates the modification time."""
        if touch and ("modified_at" not in changes or "last_activity_at" not in changes):
            now = self.clock.time()
            changes.setdefault("modified_at", now)
            changes.setdefault("last_activity_at", now)
        self._apply(rec, touch, changes)

    def _apply(self, rec: JobRecord, touch: bool, changes: dict[str, Any]) -> None:
        """``update`` once the timestamps are in ``changes`` (``change_state`` comes here directly)."""
        if "helper" in changes:
            self._reindex_helper(rec, changes["helper"])
        if rec.state not in _FINAL:  # (rec.is_final, without a property call on every write)
            # Most writes (state, timers, progress) name plain columns: no mapping pass for them.
            cols = changes if changes.keys().isdisjoint(_MAPPED) else _columns(changes)
            store = self.store
            if store.depth:
                store.update_job(rec.key, cols)  # joins the open transaction (a catch-up step, a batch)
            else:
                with store.transaction():
                    store.update_job(rec.key, cols)
        for name, value in changes.items():
            setattr(rec, name, value)
        if touch:
            self.bus.publish(JobModified(rec.modified_at, rec, changes))

    def _reindex_helper(self, rec: JobRecord, new: HelperToken | None) -> None:
        old = rec.helper
        if old is not None and old.session_id is not None:
            bucket = self.by_helper_session.get(old.session_id)
            if bucket is not None:
                bucket.pop(rec.id, None)
                if not bucket:
                    del self.by_helper_session[old.session_id]
        if new is not None and new.session_id is not None:
            self.by_helper_session.setdefault(new.session_id, {})[rec.id] = rec

    # several services on one file store ----------------------------------------------------------

    def refresh(self) -> set[str]:
        """Take in what other services sharing the file store committed since the last call: changed
        jobs are updated in place (held interface pointers see the change), new ones appear, deleted ones
        leave. Returns the names of the machine's conditions they set (``store.repository.MACHINE_CONDITIONS``),
        for the scheduler to read. Costs one PRAGMA when nothing changed; nothing at all for a memory store."""
        if not self.store.shared:
            return set()
        full, ids, machine = self.store.poll()
        if full:
            ids = {rec.key for rec in self.jobs.values()} | {row for row in self.store.all_job_ids()}
        if not ids:
            return machine
        loaded = self.store.load_jobs(ids)
        now = self.clock.time()
        for key in sorted(ids):
            fresh = loaded.get(key)
            current = self.jobs.get(uuid.UUID(key))
            if fresh is None:
                if current is not None:
                    # It left the queue elsewhere (Complete or Cancel: the row does not say which).
                    old = current.state
                    self._unindex(current)
                    current.state = CANCELLED
                    self.bus.publish(JobStateChanged(now, current.id, old, CANCELLED, True, current))
                continue
            if current is None:
                self._index(fresh)
                self.bus.publish(JobLoaded(now, fresh))
                continue
            old = current.state
            old_owner = current.owner_sid
            _adopt(current, fresh)
            if current.owner_sid != old_owner:
                owned = self.by_owner.get(old_owner)
                if owned is not None:
                    owned.pop(current, None)
                    if not owned:
                        del self.by_owner[old_owner]
                self.by_owner.setdefault(current.owner_sid, {})[current] = current
            self._seq = max(self._seq, current.seq)
            if current.state is not old:
                self.bus.publish(JobStateChanged(now, current.id, old, current.state, True, current))
            self.bus.publish(JobModified(now, current, {"priority": current.priority}))
        return machine

    def jobs_with_helper(self) -> list[JobRecord]:
        return [rec for bucket in self.by_helper_session.values() for rec in bucket.values()] + [
            rec for rec in self.jobs.values() if rec.helper is not None and rec.helper.session_id is None
        ]

    def mirror_state(self, rec: JobRecord, trigger: Trigger, **changes: Any) -> None:
        """Apply in memory a transition a set-based store statement already wrote (the logoff purge):
        the same transition function decides the state; nothing is written again."""
        rec.state = states.transition(rec.state, trigger)
        rec.modified_at = self.clock.time()
        for name, value in changes.items():
            setattr(rec, name, value)

    def announce(self, rec: JobRecord, old: JobState) -> None:
        if rec.state is not old:
            self.bus.publish(JobStateChanged(self.clock.time(), rec.id, old, rec.state, False, rec))

    def adopt_helper(self, rec: JobRecord, helper: HelperToken) -> None:
        """Take into memory a helper token the store already holds (a service attaching to the store)."""
        self._reindex_helper(rec, helper)
        rec.helper = helper

    def forget_helper(self, rec: JobRecord) -> None:
        """Drop the helper token from memory after a set-based store update already removed it."""
        self._reindex_helper(rec, None)
        rec.helper = None

    def change_owner(self, rec: JobRecord, owner: AccessToken) -> None:
        """TakeOwnership: the new owner, and what the takeover strips (TAKE: credentials, client
        certificate, custom headers, command-line notification; not the helper token, A11)."""
        old_sid = rec.owner_sid
        self.update(
            rec,
            owner_sid=owner.user_sid,
            owner_name=owner.user_name,
            owner_elevated=owner.elevated,
            owner_integrity=int(owner.integrity),
            credentials=[],
            client_certificate=None,
            custom_headers=None,
            custom_headers_write_only=False,
            notify_program=None,
            notify_parameters=None,
        )
        owned = self.by_owner.get(old_sid)
        if owned is not None:
            owned.pop(rec, None)
            if not owned:
                del self.by_owner[old_sid]
        self.by_owner.setdefault(rec.owner_sid, {})[rec] = rec

    def next_file_id(self) -> int:
        self._file_id += 1
        return self._file_id

    def add_files(
        self, rec: JobRecord, pairs: list[tuple[str, str]], ranges: list[tuple[int, int]] | None = None
    ) -> list[FileRecord]:
        start = len(rec.files)
        with self._write():
            if self.store.shared:
                self._file_id = max(self._file_id, self.store.max_file_id())  # others may have added files
                # ...to this job too, after this call's catch-up: positions come from the rows, read under
                # the transaction's write lock, or two services' files would collide (issue 11, 4 processes).
                start = max(start, self.store.next_file_position(rec.key))
            files = [
                FileRecord(self.next_file_id(), rec.id, start + i, remote, local, ranges=ranges)
                for i, (remote, local) in enumerate(pairs)
            ]
            self.store.insert_files(rec.key, files)
            self.update(rec)
        rec.files.extend(files)
        return files

    def update_file(self, rec: JobRecord, f: FileRecord, **changes: Any) -> None:
        if rec.state not in _FINAL:
            store = self.store
            if store.depth:
                store.update_file(f.file_id, changes, rec.key)  # joins the open transaction
            else:
                with store.transaction():
                    store.update_file(f.file_id, changes, rec.key)
        for name, value in changes.items():
            setattr(f, name, value)

    def change_state(
        self, rec: JobRecord, trigger: Trigger, *, touch: bool = True, **changes: Any
    ) -> JobState:
        """Apply the state machine (domain/states.py) and persist the result with ``changes``."""
        old = rec.state
        if trigger in _API_TRIGGERS:
            files = rec.files
            new = states.transition(
                old,
                trigger,
                has_files=bool(files),
                job_type=rec.job_type,
                pending_files=_any_pending(files),
            )
        else:
            new = states.transition(old, trigger)  # the scheduler's triggers depend on the state alone
        now = self.clock.time()  # one reading: nothing moves the clock inside this call
        if new is TRANSFERRED and old is not TRANSFERRED:
            changes.setdefault("transferred_at", now)
        if rec.error is not None and new in _ERROR_ENDS:
            changes.setdefault("error", None)  # the GetError page: gone once the job transfers again
        if new in _FINAL:
            gone = rec.files
            with self.store.transaction():
                self.store.delete_job(rec.key, [f.file_id for f in gone] if gone else ())
            self._unindex(rec)
            rec.state = new
            for name, value in changes.items():
                setattr(rec, name, value)
            if touch:
                rec.modified_at = now
        else:
            # The same write as ``update(rec, touch=touch, state=new, **changes)``, same key order, without
            # the keyword round trip (a new dict and a call) at each of a transfer's state changes.
            changes = {"state": new, **changes}
            if touch:  # the same instant as the state change (one clock reading per call)
                changes.setdefault("modified_at", now)
                if trigger not in _ENGINE_TRIGGERS:
                    changes.setdefault("last_activity_at", now)
            self._apply(rec, touch, changes)
        if new is not old:
            self.bus.publish(JobStateChanged(now, rec.id, old, new, False, rec))
        return new

    def _unindex(self, rec: JobRecord) -> None:
        self.jobs.pop(rec.id, None)
        owned = self.by_owner.get(rec.owner_sid)
        if owned is not None:
            owned.pop(rec, None)
            if not owned:
                del self.by_owner[rec.owner_sid]
        if rec.helper is not None:  # (most jobs have no helper token: no call for them)
            self._reindex_helper(rec, None)

    def set_error(
        self, rec: JobRecord, trigger: Trigger, error: ErrorRecord, *, count: bool = True, **changes: Any
    ) -> JobState:
        return self.change_state(
            rec, trigger, error=error, error_count=rec.error_count + (1 if count else 0), **changes
        )

    def set_credentials(self, rec: JobRecord, creds: list[Credential]) -> None:
        self.update(rec, credentials=creds)


def _any_pending(files: list[FileRecord]) -> bool:
    """Some file is not transferred yet (a plain loop: ``any()`` over a generator costs a generator frame
    at each Resume and Complete)."""
    for f in files:  # noqa: SIM110 (the loop is the point: see above)
        if not f.transferred:
            return True
    return False


# The triggers whose outcome depends on the job's files and type (states.transition's keyword arguments).
_API_TRIGGERS = (RESUME, SUSPEND, CANCEL, COMPLETE)
# State changes the service makes on its own (a retry, a failure, a preemption) move ModificationTime but are
# not activity: JobInactivityTimeout counts from the last progress or property change (group policies page,
# https://learn.microsoft.com/en-us/windows/win32/bits/group-policies), so a job that only fails and retries
# is cancelled at the policy limit even when its NoProgressTimeout is longer (SetNoProgressTimeout page).
_ENGINE_TRIGGERS = frozenset({
    Trigger.SCHEDULE, Trigger.CONNECTED, Trigger.TRANSIENT_FAILURE, Trigger.FATAL_FAILURE, Trigger.ALL_TRANSFERRED,
    Trigger.RETRY_DUE, Trigger.PREEMPTED, Trigger.NETWORK_LOST, Trigger.NETWORK_RESTORED,
    Trigger.POLICY_BLOCKED, Trigger.POLICY_UNBLOCKED,
})

_LOCAL_ONLY = frozenset({"files", "helper", "notify_interface", "notify_registrant_sid", "server_cert_validator"})


def _adopt(current: JobRecord, fresh: JobRecord) -> None:
    """Copy another service's committed values into the record this service holds (pointers stay valid).

    What lives only in this process stays: the callback object, and the helper token (tokens are never
    read back from the store)."""
    for name in JobRecord.__dataclass_fields__:
        if name not in _LOCAL_ONLY:
            setattr(current, name, getattr(fresh, name))
    by_id = {f.file_id: f for f in current.files}
    merged: list[FileRecord] = []
    for f in fresh.files:
        mine = by_id.get(f.file_id)
        if mine is None:
            merged.append(f)
            continue
        for name in FileRecord.__dataclass_fields__:
            setattr(mine, name, getattr(f, name))
        merged.append(mine)
    current.files[:] = merged
