"""Write-through persistence of job records.

Hot-path writes run on the service's own sqlite3 connection with SQL generated once from the SQLAlchemy
tables (Core for hot paths, docs/design.md#service): an API call costs one short transaction, not an ORM flush.
Loading a file store at start uses the typed ORM models.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Collection, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..constants import ErrorContext, JobPriority, JobState, JobType, ProxyUsage
from ..domain.records import Credential, ErrorRecord, FileRecord, HelperToken, JobRecord
from ..domain.wstr import from_store, storable
from .database import StoreError
from .schema import FILES, JOBS, AccountRow, FileRow, JobRow, SettingRow
from .secrets import for_store

# JSON columns are written compact, by one encoder for every write: ``json.dumps`` with any non-default
# argument builds a new JSONEncoder at each call (about 2 µs of a 5 µs encode).
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
if _c_make_encoder is not None:
    # ``JSONEncoder.encode`` itself builds the C encoder (``c_make_encoder``) again at every call: about
    # 2 of its 3.5 µs for a short value, and the first Resume of every job writes one. The C encoder is
    # built here once, with the arguments ``encode`` gives it for ``_ENCODER``'s settings (the same text:
    # tests/test_store.py), except the circular-reference check, which values made from records never need.
    _c_encode = _c_make_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )

    def _encode_json(value: Any) -> str:
        return "".join(_c_encode(value, 0))

else:  # a Python without the C accelerator

    def _encode_json(value: Any) -> str:
        return _ENCODER.encode(value)

_JSON_COLUMNS = frozenset(
    c.name for t in (JOBS, FILES) for c in t.columns if c.type.__class__.__name__ == "JSON"
)
_TEXT_COLUMNS = frozenset(
    c.name for t in (JOBS, FILES) for c in t.columns if c.type.__class__.__name__ in ("String", "Text")
)
# How an UPDATE's value is encoded, by its column (``_update_plan``): text (lone surrogates, domain/wstr.py),
# JSON, the sealed credentials, the helper SID (whose removal asks for a scrub). Every other column —
# numbers, flags, enums (ints to sqlite3), times, None — is bound as it is.
_TEXT, _JSON, _CREDENTIALS, _HELPER_SID = 1, 2, 3, 4


def _db(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _JSON_COLUMNS:
        return _encode_json(value)
    if isinstance(value, str):
        return storable(value)  # lone surrogates round-trip (domain/wstr.py)
    return value


def _revive(row: Any) -> None:
    """Text stored as UTF-16 BLOBs (domain/wstr.py) back to str, without marking the ORM row dirty."""
    for key, value in list(vars(row).items()):
        if isinstance(value, bytes):
            set_committed_value(row, key, from_store(value))


def _insert_sql(table: Table) -> tuple[str, tuple[str, ...]]:
    names = tuple(c.name for c in table.columns)
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", names


_INSERT_JOB = _insert_sql(JOBS)
_INSERT_FILE = _insert_sql(FILES)
_JOB_COLUMNS = frozenset(c.name for c in JOBS.columns)
_FILE_COLUMNS = frozenset(c.name for c in FILES.columns)
_UPDATES: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[tuple[int, int], ...]]] = {}

# The row builders below write each column in the tables' order (issue 8: the INSERT of every create_job
# and add_files is a hot path, so no per-column dict, lookup or dispatch). ``job_columns``/``file_columns``
# with ``_db`` remain the generic, readable encoding; tests/test_store.py checks both give the same row.
_JOB_ROW_ORDER = (
    "id", "seq", "job_type", "state", "display_name", "description", "priority", "notify_flags",
    "notify_program", "notify_parameters", "min_retry_delay", "no_progress_timeout", "max_download_time",
    "proxy_usage", "proxy_list", "proxy_bypass_list", "owner_sid", "owner_name", "owner_elevated",
    "owner_integrity", "error_count", "created_at", "modified_at", "transferred_at", "error_context",
    "error_code", "error_file_index", "error_protocol", "security_flags", "file_acl_flags",
    "peer_caching_flags", "custom_headers", "custom_headers_write_only", "client_certificate", "credentials",
    "http_method", "reply_file_name", "properties", "helper_flags", "helper_sid", "helper_groups",
    "helper_elevation", "helper_integrity", "helper_session_id", "retry_at", "no_progress_since",
    "active_seconds", "last_activity_at",
)
_FILE_ROW_ORDER = (
    "id", "job_id", "position", "remote_name", "local_name", "bytes_total", "bytes_transferred", "completed",
    "transferred", "temp_name", "ranges", "validation_state", "remote_mtime", "response_headers",
)
if (_INSERT_JOB[1], _INSERT_FILE[1]) != (_JOB_ROW_ORDER, _FILE_ROW_ORDER):  # pragma: no cover
    raise RuntimeError("the row builders of store/repository.py no longer match the schema's columns")

_NO_ERROR: tuple[None, None, None, None] = (None, None, None, None)
_NO_HELPER: tuple[None, None, None, None, None] = (None, None, None, None, None)


def _text(value: str | None) -> str | bytes | None:
    """A text column's stored value (domain/wstr.py), ASCII — the usual case — without a call."""
    if value is None or value.isascii():
        return value
    return storable(value)


def _json(value: Any) -> str | None:
    return None if value is None else _encode_json(value)


def job_row(rec: JobRecord, credentials: str) -> tuple[Any, ...]:
    """The jobs row of ``rec`` in column order; ``credentials`` is the column already encoded (sealed)."""
    error = rec.error
    err = (
        _NO_ERROR
        if error is None
        else (int(error.context), error.code, error.file_index, _text(error.protocol))
    )
    helper = rec.helper
    if helper is None:
        hlp: tuple[Any, ...] = _NO_HELPER
    else:
        t = helper.token
        hlp = (
            _text(t.user_sid),
            _json([[g.sid, int(g.attributes)] for g in t.groups]),
            int(t.elevation_type),
            int(t.integrity),
            helper.session_id,
        )
    props = rec.properties
    return (
        rec.key,
        rec.seq,
        int(rec.job_type),
        int(rec.state),
        _text(rec.display_name),
        _text(rec.description),
        int(rec.priority),
        rec.notify_flags,
        _text(rec.notify_program),
        _text(rec.notify_parameters),
        rec.min_retry_delay,
        rec.no_progress_timeout,
        rec.max_download_time,
        int(rec.proxy_usage),
        _text(rec.proxy_list),
        _text(rec.proxy_bypass_list),
        _text(rec.owner_sid),
        _text(rec.owner_name),
        rec.owner_elevated,
        rec.owner_integrity,
        rec.error_count,
        rec.created_at,
        rec.modified_at,
        rec.transferred_at,
        *err,
        rec.security_flags,
        rec.file_acl_flags,
        rec.peer_caching_flags,
        _text(rec.custom_headers),
        rec.custom_headers_write_only,
        _json(rec.client_certificate),
        credentials,
        _text(rec.http_method),
        _text(rec.reply_file_name),
        _json({str(k): v for k, v in props.items()}) if props else "{}",
        rec.helper_flags,
        *hlp,
        rec.retry_at,
        rec.no_progress_since,
        rec.active_seconds,
        rec.last_activity_at,
    )


# A job as create_job makes it differs from every other new job only in the columns below; the rest of
# its row is the same every time, so it is built once (issue 8: create_job's INSERT is on the hot path).
_NEW_JOB_VARYING = (
    "id", "seq", "job_type", "state", "display_name", "owner_sid", "owner_name", "owner_elevated",
    "owner_integrity", "created_at", "modified_at", "last_activity_at",
)
_NEW_JOB_AT = tuple(_JOB_ROW_ORDER.index(name) for name in _NEW_JOB_VARYING)
_NEW_JOB_ROW = list(
    job_row(JobRecord(uuid.UUID(int=0), 0, JobType.DOWNLOAD, "", "", "", False, 0, 0.0, 0.0), "[]")
)


def new_job_row(rec: JobRecord) -> list[Any]:
    """``job_row(rec, "[]")`` for a record every field of which, but ``_NEW_JOB_VARYING``, still holds its
    default (what ``JobQueue`` makes in create_job; tests/test_store.py checks both give the same row)."""
    row = _NEW_JOB_ROW.copy()
    (i_id, i_seq, i_type, i_state, i_name, i_sid, i_owner, i_elev, i_integ, i_created, i_mod, i_act) = _NEW_JOB_AT
    row[i_id] = rec.key
    row[i_seq] = rec.seq
    row[i_type] = int(rec.job_type)
    row[i_state] = int(rec.state)
    # (_text written out: three texts, never None, nearly always ASCII — no call for them)
    name, sid, owner = rec.display_name, rec.owner_sid, rec.owner_name
    row[i_name] = name if name.isascii() else storable(name)
    row[i_sid] = sid if sid.isascii() else storable(sid)
    row[i_owner] = owner if owner.isascii() else storable(owner)
    row[i_elev] = rec.owner_elevated
    row[i_integ] = rec.owner_integrity
    row[i_created] = rec.created_at
    row[i_mod] = rec.modified_at
    row[i_act] = rec.last_activity_at
    return row


def file_row(f: FileRecord, job_key: str | None = None) -> tuple[Any, ...]:
    """The files row of ``f`` in column order (``job_key``: its job's key, when the caller has it at hand —
    ``str()`` of a UUID is Python code)."""
    ranges = f.ranges
    return (
        f.file_id,
        str(f.job_id) if job_key is None else job_key,
        f.index,
        _text(f.remote_name),
        _text(f.local_name),
        f.bytes_total,
        f.bytes_transferred,
        f.completed,
        f.transferred,
        _text(f.temp_name),
        None if ranges is None else _json([list(r) for r in ranges]),
        f.validation_state,
        f.remote_mtime,
        _text(f.response_headers),
    )


def error_columns(error: ErrorRecord | None) -> dict[str, Any]:
    if error is None:
        return {"error_context": None, "error_code": None, "error_file_index": None, "error_protocol": None}
    return {
        "error_context": int(error.context),
        "error_code": error.code,
        "error_file_index": error.file_index,
        "error_protocol": error.protocol,
    }


def helper_columns(helper: HelperToken | None) -> dict[str, Any]:
    if helper is None:
        return {
            "helper_sid": None,
            "helper_groups": None,
            "helper_elevation": None,
            "helper_integrity": None,
            "helper_session_id": None,
        }
    t = helper.token
    return {
        "helper_sid": t.user_sid,
        "helper_groups": [[g.sid, int(g.attributes)] for g in t.groups],
        "helper_elevation": int(t.elevation_type),
        "helper_integrity": int(t.integrity),
        "helper_session_id": helper.session_id,
    }


def credentials_column(creds: list[Credential]) -> list[list[Any]]:
    return [[c.target, c.scheme, c.user_name, c.password] for c in creds]


def job_columns(rec: JobRecord) -> dict[str, Any]:
    return {
        "id": rec.key,
        "seq": rec.seq,
        "job_type": int(rec.job_type),
        "state": int(rec.state),
        "display_name": rec.display_name,
        "description": rec.description,
        "priority": int(rec.priority),
        "notify_flags": rec.notify_flags,
        "notify_program": rec.notify_program,
        "notify_parameters": rec.notify_parameters,
        "min_retry_delay": rec.min_retry_delay,
        "no_progress_timeout": rec.no_progress_timeout,
        "max_download_time": rec.max_download_time,
        "proxy_usage": int(rec.proxy_usage),
        "proxy_list": rec.proxy_list,
        "proxy_bypass_list": rec.proxy_bypass_list,
        "owner_sid": rec.owner_sid,
        "owner_name": rec.owner_name,
        "owner_elevated": rec.owner_elevated,
        "owner_integrity": rec.owner_integrity,
        "error_count": rec.error_count,
        "created_at": rec.created_at,
        "modified_at": rec.modified_at,
        "transferred_at": rec.transferred_at,
        **error_columns(rec.error),
        "security_flags": rec.security_flags,
        "file_acl_flags": rec.file_acl_flags,
        "peer_caching_flags": rec.peer_caching_flags,
        "custom_headers": rec.custom_headers,
        "custom_headers_write_only": rec.custom_headers_write_only,
        "client_certificate": rec.client_certificate,
        "credentials": credentials_column(rec.credentials),
        "http_method": rec.http_method,
        "reply_file_name": rec.reply_file_name,
        "properties": {str(k): v for k, v in rec.properties.items()},
        "helper_flags": rec.helper_flags,
        **helper_columns(rec.helper),
        "retry_at": rec.retry_at,
        "no_progress_since": rec.no_progress_since,
        "active_seconds": rec.active_seconds,
        "last_activity_at": rec.last_activity_at,
    }


def file_columns(f: FileRecord) -> dict[str, Any]:
    return {
        "id": f.file_id,
        "job_id": str(f.job_id),
        "position": f.index,
        "remote_name": f.remote_name,
        "local_name": f.local_name,
        "bytes_total": f.bytes_total,
        "bytes_transferred": f.bytes_transferred,
        "completed": f.completed,
        "transferred": f.transferred,
        "temp_name": f.temp_name,
        "ranges": [list(r) for r in f.ranges] if f.ranges is not None else None,
        "validation_state": f.validation_state,
        "remote_mtime": f.remote_mtime,
        "response_headers": f.response_headers,
    }


_CLEAR_HELPER = (
    "helper_sid=NULL, helper_groups=NULL, helper_elevation=NULL, helper_integrity=NULL, helper_session_id=NULL"
)


CHANGES_KEPT = 10_000  # change-log rows kept for services that poll late; older ones force a full reload
# The machine's conditions a file store shares between its services (the network's cost state, whether it is
# connected, the group policy: docs/ARCHITECTURE.md#machine), each in the settings under MACHINE + its name. A
# write of one also logs MACHINE + name in ``job_changes`` (a name no job GUID can be), so the other services
# learn of it from the poll they make anyway, and read it only then.
MACHINE = "machine."
MACHINE_CONDITIONS = ("cost_state", "connected", "group_policy")


@dataclass(slots=True)
class StorePreset:
    """What a new in-memory store copied from a template already holds (``emulator/fresh.py``), so the
    service need not read it back: its settings and its highest file id."""

    settings: dict[str, str]
    max_file_id: int


class JobStore:
    """The service's persistence port. Every method joins the current transaction (see ``transaction``).

    A file store may be shared by several services (several processes are several clients of one queue):
    then each write transaction starts with BEGIN IMMEDIATE (writers queue up behind SQLite's lock instead
    of failing), new ids and FIFO numbers come from the database inside it, and the ids of the jobs it
    touched go to ``job_changes`` so the others reload just those (``poll``).
    """

    def __init__(
        self, conn: sqlite3.Connection, engine: Engine | None = None, preset: StorePreset | None = None
    ) -> None:
        self.conn = conn
        self.engine = engine
        self.shared = engine is not None
        # Known contents of a store no other connection writes (a preset template copy): settings read
        # or defaulted without a statement until a write to them, the highest file id until files are
        # added. A shared file store always asks the database (other services write it too).
        self._known_settings: dict[str, str] = {} if preset is None or self.shared else dict(preset.settings)
        self._known_max_file_id = None if preset is None or self.shared else preset.max_file_id
        self.writer = uuid.uuid4().hex if self.shared else ""  # names this service in a shared change log
        self._touched: set[str] = set()
        self._commits = 0
        self._data_version: int | None = None
        self._last_change = 0
        if self.shared:
            self._data_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            self._last_change = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM job_changes").fetchone()[0])
        self._insert_job, self._job_names = _INSERT_JOB
        self._insert_file, self._file_names = _INSERT_FILE
        self._updates = _UPDATES  # generated SQL is the same for every store: built once per process
        self._job_columns = _JOB_COLUMNS
        self._file_columns = _FILE_COLUMNS
        # Passwords are sealed with the store's key (store/secrets.py); a write that drops a secret (a
        # password, a helper token) asks for a WAL checkpoint once it commits (``_scrub``).
        self.secrets = for_store(engine.url.database if engine is not None else None)
        self._scrub = False
        self.depth = 0  # nesting of ``transaction()`` (only the outermost commits); read-only outside
        # Row updates of the open transaction not yet sent, merged per row: job key (str) → columns,
        # file id (int) → columns. A catch-up step changes one job several times (state, error, progress,
        # timers); sending one UPDATE per row when the transaction commits writes the same final values
        # in fewer statements. Any other statement on jobs or files sends them first, so none reads a stale row.
        self._pending: dict[str | int, dict[str, Any]] = {}

    def transaction(self) -> JobStore:
        """One API call = one transaction: either every write lands or none does. The store is its own
        context manager (``__enter__``/``__exit__`` below; every write of every API call enters one), not a
        separate object pointing back at it: a store is then no reference cycle, and a closed service is
        freed as soon as its last reference goes, with no work left for the garbage collector."""
        return self

    def __enter__(self) -> None:
        self.depth += 1
        if self.depth == 1 and self.shared and not self.conn.in_transaction:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.depth = 0
                raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.depth > 1:
            # A transaction opened inside another joins it: the outermost one commits or rolls back
            # everything (one API call, one catch-up step = one transaction).
            self.depth -= 1
            return
        self.depth = 0
        if exc_type is None:
            try:
                if self._pending:
                    self._flush()
                if self._touched:
                    self._log_changes()
                # Nothing written (a call whose writes all turned out to be no-ops): no empty COMMIT.
                if self.conn.in_transaction:
                    self.conn.commit()
            except sqlite3.Error as err:
                self._failed(err)
            except BaseException:
                self._abandon()
                self.conn.rollback()
                raise
            if self._scrub:
                self.scrub()
            return
        if isinstance(exc, sqlite3.Error):
            self._failed(exc)
        self._abandon()
        self.conn.rollback()

    def _failed(self, err: sqlite3.Error) -> NoReturn:
        # Disk full, a locked or vanished file: one documented error, nothing half-written.
        self._abandon()
        with suppress(sqlite3.Error):
            self.conn.rollback()
        raise StoreError(f"the store failed during the call: {err}") from err

    def _abandon(self) -> None:
        self._touched.clear()
        self._pending.clear()
        self._scrub = False

    def scrub(self) -> None:
        """No secret lingers on disk: after a commit that dropped a password or a helper token, checkpoint
        the WAL into the database (whose freed bytes secure_delete has zeroed) and truncate it to 0 bytes.
        In-memory stores have nothing on disk. (With other services reading a shared store the checkpoint
        may stop short; the next one finishes it.)"""
        self._scrub = False
        if self.engine is not None:
            try:
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error:
                busy = 1
            # The call itself has committed: a checkpoint another connection held up is retried after the
            # next commit instead of failing this one.
            self._scrub = bool(busy)

    def _log_changes(self) -> None:
        touched, self._touched = self._touched, set()
        self.conn.executemany(
            "INSERT INTO job_changes (job_id, writer) VALUES (?, ?)", [(j, self.writer) for j in sorted(touched)]
        )
        self._commits += 1
        if self._commits % 1024 == 0:
            self.conn.execute(
                "DELETE FROM job_changes WHERE seq <= (SELECT MAX(seq) FROM job_changes) - ?", (CHANGES_KEPT,)
            )

    def _touch(self, job_id: str) -> None:
        if self.shared:
            self._touched.add(job_id)

    def poll(self) -> tuple[bool, set[str], set[str]]:
        """What other services committed since the last poll: (reload everything?, job ids to reload, names
        of the machine's conditions they set).

        Costs one PRAGMA when nothing changed (SQLite's data_version moves only for other connections'
        commits)."""
        if not self.shared:
            return False, set(), set()
        if self._pending:
            self._flush()
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        if version == self._data_version:
            return False, set(), set()
        self._data_version = version
        low, high = self.conn.execute("SELECT MIN(seq), MAX(seq) FROM job_changes").fetchone()
        if high is None:
            return False, set(), set()
        full = low is not None and low > self._last_change + 1 and self._last_change > 0
        rows = self.conn.execute(
            "SELECT job_id FROM job_changes WHERE seq > ? AND writer != ?", (self._last_change, self.writer)
        ).fetchall()
        self._last_change = int(high)
        ids = {r[0] for r in rows}
        # (a trimmed log may have lost a condition's entry too: every one is read again then)
        machine = set(MACHINE_CONDITIONS) if full else {i[len(MACHINE) :] for i in ids if i.startswith(MACHINE)}
        if machine:
            ids = {i for i in ids if not i.startswith(MACHINE)}
        return full, ids, machine

    def all_job_ids(self) -> list[str]:
        if self._pending:
            self._flush()
        return [r[0] for r in self.conn.execute("SELECT id FROM jobs").fetchall()]

    def next_seq(self) -> int:
        """The next FIFO number, from the database (inside the write transaction of a shared store)."""
        if self._pending:
            self._flush()
        return int(self.conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0])

    def _update_plan(self, table: str, names: tuple[str, ...]) -> tuple[str, tuple[tuple[int, int], ...]]:
        """The UPDATE of ``names`` on one row of ``table``, and the (position, kind) of the values that need
        encoding (``_TEXT``…); made once per column set and process."""
        key = (table, names)
        plan = self._updates.get(key)
        if plan is None:
            allowed = self._job_columns if table == "jobs" else self._file_columns
            unknown = set(names) - allowed
            if unknown:
                raise KeyError(f"no such column(s) in {table}: {sorted(unknown)}")
            sql = f"UPDATE {table} SET {', '.join(f'{n}=?' for n in names)} WHERE id=?"
            kinds = (
                (i, _CREDENTIALS if n == "credentials" else _HELPER_SID if n == "helper_sid"
                 else _JSON if n in _JSON_COLUMNS else _TEXT)
                for i, n in enumerate(names)
                if n in _JSON_COLUMNS or n in _TEXT_COLUMNS
            )
            plan = self._updates[key] = (sql, tuple(kinds))
        return plan

    def insert_new_job(self, rec: JobRecord) -> None:
        """The row of a job create_job just made (see ``new_job_row``): jobs enter the store only there."""
        if self.shared:
            self._touched.add(rec.key)
        self.conn.execute(self._insert_job, new_job_row(rec))

    def update_job(self, job_id: str, changes: Mapping[str, Any]) -> None:
        """Set ``changes`` (column → value) on the job's row: merged with the row's other changes of this
        transaction and sent as one UPDATE before the next other statement or the commit."""
        if self.shared:
            self._touched.add(job_id)
        pending = self._pending.get(job_id)
        if pending is None:
            self._pending[job_id] = dict(changes)  # a copy: the caller's dict may live on (JobModified)
        else:
            pending.update(changes)

    def _flush(self) -> None:
        """Send the merged row updates (see ``_pending``)."""
        pending, self._pending = self._pending, {}
        execute = self.conn.execute
        for key, changes in pending.items():
            sql, special = self._update_plan("jobs" if isinstance(key, str) else "files", tuple(changes))
            values = [*changes.values(), key]
            if special:  # (most of a transfer's updates are numbers, times and states only)
                self._encode(values, special)
            execute(sql, values)

    def _encode(self, values: list[Any], special: tuple[tuple[int, int], ...]) -> None:
        """Encode in place the values ``special`` names (``_update_plan``), as ``_db`` would."""
        for i, kind in special:
            value = values[i]
            if kind == _TEXT:
                if isinstance(value, str) and not value.isascii():
                    values[i] = storable(value)
            elif kind == _HELPER_SID:
                if value is None:
                    self._scrub = True  # ClearHelperToken, TakeOwnership…
                elif isinstance(value, str) and not value.isascii():
                    values[i] = storable(value)
            elif value is not None:
                if kind == _CREDENTIALS:
                    self._scrub = True  # the old sealed passwords leave the WAL too
                    value = self.secrets.seal_credentials(value)
                values[i] = _json(value)

    def delete_job(self, job_id: str, file_ids: Iterable[int] = ()) -> None:
        """Delete the job's row, and its files' rows with it (ON DELETE CASCADE). Changes of this
        transaction still waiting for those rows (``file_ids``: the job's files) are dropped, not sent: the
        DELETE removes the rows they would update (Complete marks each renamed file, then ends the job)."""
        pending = self._pending
        if pending:
            pending.pop(job_id, None)
            for file_id in file_ids:
                pending.pop(file_id, None)
            if pending:
                self._flush()
        self._touch(job_id)
        gone = self.conn.execute(
            "DELETE FROM jobs WHERE id=? RETURNING credentials != '[]' OR helper_sid IS NOT NULL", (job_id,)
        ).fetchall()
        if gone and gone[0][0]:  # (one row at most: the id is the key)
            self._scrub = True  # the job's end takes its secrets with it, from the disk too

    def insert_files(self, job_key: str, files: Iterable[FileRecord]) -> None:
        """New files of the job whose key is ``job_key``."""
        self._known_max_file_id = None
        self._touch(job_key)
        self.conn.executemany(self._insert_file, [file_row(f, job_key) for f in files])

    def update_file(self, file_id: int, changes: Mapping[str, Any], job_id: str | None = None) -> None:
        """Like ``update_job``, for a file row."""
        if job_id is not None and self.shared:
            self._touched.add(job_id)
        pending = self._pending.get(file_id)
        if pending is None:
            self._pending[file_id] = dict(changes)
        else:
            pending.update(changes)

    def max_file_id(self) -> int:
        if self._known_max_file_id is not None:
            return self._known_max_file_id
        if self._pending:
            self._flush()
        row = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM files").fetchone()
        return int(row[0])

    def next_file_position(self, job_id: str) -> int:
        if self._pending:
            self._flush()
        sql = "SELECT COALESCE(MAX(position) + 1, 0) FROM files WHERE job_id = ?"
        row = self.conn.execute(sql, (job_id,)).fetchone()
        return int(row[0])

    # helper tokens ---------------------------------------------------------------------------------

    def clear_all_helper_tokens(self, keep_sessions: Collection[int] = ()) -> None:
        """Service start: no helper token survives a restart (SHT: "not persistent"); flags do. A service
        attaching to the store instead keeps the tokens of ``keep_sessions``, the logon sessions it knows
        alive."""
        if self._pending:
            self._flush()
        keep = ",".join("?" * len(keep_sessions))
        for (job_id,) in self.conn.execute(
            f"UPDATE jobs SET {_CLEAR_HELPER} WHERE helper_sid IS NOT NULL "
            f"AND (helper_session_id IS NULL OR helper_session_id NOT IN ({keep})) RETURNING id",
            list(keep_sessions),
        ).fetchall():
            self._touch(job_id)
            self._scrub = True

    def jobs_holding_helper(self, helper: HelperToken) -> list[str]:
        """The keys of the jobs whose stored helper token is ``helper`` (identity and supplying logon
        session, column for column): what a service attaching to the store takes back into memory. Found
        through the helper-session index."""
        if self._pending:
            self._flush()
        cols = helper_columns(helper)
        where = " AND ".join(f"{name} = ?" for name in cols)
        rows = self.conn.execute(f"SELECT id FROM jobs WHERE {where}", [_db(n, v) for n, v in cols.items()])
        return [str(job_id) for (job_id,) in rows.fetchall()]

    def purge_helper_tokens(
        self,
        session_id: int,
        owner_sid: str | None,
        *,
        failing_states: Iterable[JobState],
        target_state: JobState,
        error: ErrorRecord,
        now: float,
    ) -> int:
        """Logoff: drop the tokens a session supplied (and, when ``owner_sid`` is given, the tokens on that
        owner's jobs, A14) in one statement that reaches its rows through the helper-session and owner
        indexes. Jobs in ``failing_states`` that hold usage flags move to ``target_state`` (decided by the
        domain's transition function, not here) with ``error`` in the same statement.
        Returns the number of rows touched."""
        if self._pending:
            self._flush()
        states = ",".join(str(int(s)) for s in failing_states)
        fails = f"(helper_flags != 0 AND state IN ({states}))"
        where = "helper_session_id = ?"
        params: list[Any] = [int(target_state), int(error.context), error.code, now, session_id]
        if owner_sid is not None:
            where += " OR (owner_sid = ? AND helper_sid IS NOT NULL)"
            params.append(owner_sid)
        sql = (
            f"UPDATE jobs SET {_CLEAR_HELPER}, "
            f"state = CASE WHEN {fails} THEN ? ELSE state END, "
            f"error_context = CASE WHEN {fails} THEN ? ELSE error_context END, "
            f"error_code = CASE WHEN {fails} THEN ? ELSE error_code END, "
            f"error_file_index = CASE WHEN {fails} THEN NULL ELSE error_file_index END, "
            f"error_protocol = CASE WHEN {fails} THEN NULL ELSE error_protocol END, "
            f"error_count = error_count + CASE WHEN {fails} THEN 1 ELSE 0 END, "
            f"modified_at = CASE WHEN {fails} THEN ? ELSE modified_at END "
            f"WHERE {where} RETURNING id"
        )
        ids = self.conn.execute(sql, params).fetchall()
        for (job_id,) in ids:
            self._touch(job_id)
        if ids:
            self._scrub = True  # the purged identity leaves the WAL when this transaction commits
        return len(ids)

    # settings and accounts -------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        known = self._known_settings.get(key)
        if known is not None:
            return known
        row = self.conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return None if row is None else str(from_store(row[0]))

    def set_setting(self, key: str, value: str) -> None:
        # Forgotten rather than updated: the write may still roll back with its transaction.
        self._known_settings.pop(key, None)
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, storable(value)),
        )

    def machine_condition(self, name: str) -> str | None:
        """The stored value of one of the machine's conditions (``MACHINE_CONDITIONS``), None if never set."""
        return self.get_setting(MACHINE + name)

    def set_machine_condition(self, name: str, value: str) -> None:
        """Store one of the machine's conditions in the current transaction, logged for the other services
        sharing the file store (their next poll names it)."""
        self.set_setting(MACHINE + name, value)
        self._touch(MACHINE + name)

    def has_settings(self, *keys: str) -> bool:
        """Whether every one of ``keys`` is known present (a fresh template's settings, read with it);
        False means "not known", not "absent"."""
        known = self._known_settings
        return all(key in known for key in keys)

    def set_setting_default(self, key: str, value: str) -> None:
        if key in self._known_settings:
            return  # present already: the INSERT … DO NOTHING would change nothing
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING", (key, storable(value))
        )

    def account_row(self, name_or_sid: str) -> tuple[str, str, str, bool] | None:
        row = self.conn.execute(
            "SELECT sid, name, kind, admin FROM accounts WHERE sid = ? OR name = ? COLLATE NOCASE",
            (storable(name_or_sid), storable(name_or_sid)),
        ).fetchone()
        return None if row is None else (str(row[0]), str(from_store(row[1])), str(row[2]), bool(row[3]))

    def insert_account(self, sid: str, name: str, kind: str, admin: bool) -> None:
        self.conn.execute(
            "INSERT INTO accounts (sid, name, kind, admin) VALUES (?, ?, ?, ?)", (sid, storable(name), kind, admin)
        )

    # loading ---------------------------------------------------------------------------------------

    def load(self) -> tuple[list[AccountRow], list[JobRecord]]:
        """Read a persistent store back into records, through the typed ORM."""
        if self.engine is None:
            return [], []
        with Session(self.engine) as session:
            accounts = list(session.scalars(select(AccountRow)))
            for account in accounts:
                _revive(account)
            session.expunge_all()
            jobs = {row.id: _job_record(row) for row in session.scalars(select(JobRow).order_by(JobRow.seq))}
            for frow in session.scalars(select(FileRow).order_by(FileRow.job_id, FileRow.position)):
                jobs[frow.job_id].files.append(_file_record(frow))
        self._open_passwords(jobs.values())
        return accounts, list(jobs.values())

    def load_jobs(self, ids: Iterable[str]) -> dict[str, JobRecord]:
        """The current rows of ``ids`` (absent ids have left the queue)."""
        wanted = sorted(ids)
        if self.engine is None or not wanted:
            return {}
        with Session(self.engine) as session:
            jobs = {row.id: _job_record(row) for row in session.scalars(select(JobRow).where(JobRow.id.in_(wanted)))}
            files = select(FileRow).where(FileRow.job_id.in_(wanted)).order_by(FileRow.job_id, FileRow.position)
            for frow in session.scalars(files):
                if frow.job_id in jobs:
                    jobs[frow.job_id].files.append(_file_record(frow))
        self._open_passwords(jobs.values())
        return jobs

    def _open_passwords(self, records: Iterable[JobRecord]) -> None:
        for rec in records:
            for c in rec.credentials:
                c.password = self.secrets.open_password(c.password)

    def settings(self) -> dict[str, str]:
        if self.engine is None:
            return {}
        with Session(self.engine) as session:
            return {row.key: from_store(row.value) for row in session.scalars(select(SettingRow))}


def _job_record(row: JobRow) -> JobRecord:
    _revive(row)
    error = None
    if row.error_code is not None and row.error_context is not None:
        error = ErrorRecord(
            ErrorContext(row.error_context), row.error_code, row.error_file_index, row.error_protocol
        )
    return JobRecord(
        id=uuid.UUID(row.id),
        seq=row.seq,
        job_type=JobType(row.job_type),
        display_name=row.display_name,
        owner_sid=row.owner_sid,
        owner_name=row.owner_name,
        owner_elevated=row.owner_elevated,
        owner_integrity=row.owner_integrity,
        created_at=row.created_at,
        modified_at=row.modified_at,
        state=JobState(row.state),
        description=row.description,
        priority=JobPriority(row.priority),
        notify_flags=row.notify_flags,
        notify_program=row.notify_program,
        notify_parameters=row.notify_parameters,
        min_retry_delay=row.min_retry_delay,
        no_progress_timeout=row.no_progress_timeout,
        max_download_time=row.max_download_time,
        proxy_usage=ProxyUsage(row.proxy_usage),
        proxy_list=row.proxy_list,
        proxy_bypass_list=row.proxy_bypass_list,
        error_count=row.error_count,
        transferred_at=row.transferred_at,
        error=error,
        security_flags=row.security_flags,
        file_acl_flags=row.file_acl_flags,
        peer_caching_flags=row.peer_caching_flags,
        custom_headers=row.custom_headers,
        custom_headers_write_only=row.custom_headers_write_only,
        client_certificate=row.client_certificate,
        credentials=[Credential(*c) for c in row.credentials],
        http_method=row.http_method,
        reply_file_name=row.reply_file_name,
        properties={int(k): v for k, v in row.properties.items()},
        helper_flags=row.helper_flags,
        helper=None,
        retry_at=row.retry_at,
        no_progress_since=row.no_progress_since,
        active_seconds=row.active_seconds,
        last_activity_at=row.last_activity_at,
    )


def _file_record(row: FileRow) -> FileRecord:
    _revive(row)
    return FileRecord(
        file_id=row.id,
        job_id=uuid.UUID(row.job_id),
        index=row.position,
        remote_name=row.remote_name,
        local_name=row.local_name,
        bytes_total=row.bytes_total,
        bytes_transferred=row.bytes_transferred,
        completed=row.completed,
        temp_name=row.temp_name,
        ranges=[(int(a), int(b)) for a, b in row.ranges] if row.ranges is not None else None,
        validation_state=row.validation_state,
        remote_mtime=row.remote_mtime,
        response_headers=row.response_headers,
        transferred=row.transferred,
    )
