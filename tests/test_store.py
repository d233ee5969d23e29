"""The job store: persistence, schema revisions, pragmas, atomic writes (docs/design.md#service; issue 2)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from emulator import BitsError, BitsService, JobPriority, JobState, JobType, ProxyUsage, StoreError, StoreVersionError
from emulator.store import database
from emulator.store.schema import Base

BG_E_STRING_TOO_LONG = 0x80200021
BG_E_TOO_MANY_FILES = 0x8020001C


def _diffs(conn: sqlite3.Connection) -> list[object]:
    engine = database.engine_over(conn)
    with engine.connect() as c:
        return list(compare_metadata(MigrationContext.configure(c), Base.metadata))


def test_persistent_store_survives_close_and_reopen_issue_2(tmp_path: Path) -> None:
    """Issue 2 "Must show" / docs/reference/states.md#persistence: jobs, owners, files and properties survive close +
    reopen; accounts persist with their SIDs."""
    path = tmp_path / "queue.db"
    with BitsService(database=path) as svc:
        alice = svc.add_user("alice")
        bob = svc.add_user("bob", admin=True)
        a_id, a = svc.connect(svc.logon(alice).token).create_job("alice's", JobType.DOWNLOAD)
        a.set_description("persisted")
        a.set_priority(JobPriority.FOREGROUND)
        a.set_minimum_retry_delay(60)
        a.set_no_progress_timeout(120)
        a.set_notify_flags(0x1)
        a.set_proxy_settings(ProxyUsage.OVERRIDE, "proxy:8080", "<local>")
        a.add_file_set([("http://example.com/1", "C:\\data\\1"), ("http://example.com/2", "C:\\data\\2")])
        b_id, _ = svc.connect(svc.logon(bob).elevated_token).create_job("bob's", JobType.UPLOAD)
        gone_id, gone = svc.connect(svc.logon(alice).token).create_job("cancelled", JobType.DOWNLOAD)
        gone.cancel()
        times = a.get_times()
    with BitsService(database=str(path)) as svc:
        assert svc.account("alice").sid == alice.sid
        assert svc.account("bob").sid == bob.sid and svc.account("bob").admin
        assert set(svc.queue.jobs) == {a_id, b_id}
        bob_e = svc.connect(svc.logon(svc.account("bob")).elevated_token)
        job = bob_e.get_job(a_id)
        assert job.get_owner() == alice.sid
        assert job.get_display_name() == "alice's"
        assert job.get_description() == "persisted"
        assert job.get_priority() is JobPriority.FOREGROUND
        assert job.get_minimum_retry_delay() == 60
        assert job.get_no_progress_timeout() == 120
        assert job.get_notify_flags() == 0x1
        assert job.get_proxy_settings() == (ProxyUsage.OVERRIDE, "proxy:8080", "<local>")
        assert job.get_state() is JobState.SUSPENDED
        assert job.get_times() == times
        assert [f.get_remote_name() for f in job.enum_files()] == ["http://example.com/1", "http://example.com/2"]
        b = bob_e.get_job(b_id)
        assert b.get_owner() == bob.sid and b.get_type() is JobType.UPLOAD
        assert b.get_owner_elevation_state() is True
        assert gone_id not in svc.queue.jobs
        # a new account continues the RID sequence
        carol = svc.add_user("carol")
        assert int(carol.sid.rsplit("-", 1)[1]) == int(bob.sid.rsplit("-", 1)[1]) + 1


def test_sqlalchemy_url_opens_a_file_store_issue_2(tmp_path: Path) -> None:
    """Issue 2: a path or an SQLAlchemy URL gives a persistent store."""
    url = f"sqlite:///{tmp_path / 'u.db'}"
    with BitsService(database=url) as svc:
        job_id, _ = svc.connect().create_job("u", JobType.DOWNLOAD)
    with BitsService(database=url) as svc:
        assert svc.connect().get_job(job_id).get_display_name() == "u"


def test_store_from_a_newer_schema_is_refused_design_2(tmp_path: Path) -> None:
    """docs/design.md#service: a store stamped with a revision this version does not know → StoreVersionError."""
    path = tmp_path / "newer.db"
    with BitsService(database=path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num='9999_from_the_future'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreVersionError, match="9999_from_the_future"):
        BitsService(database=path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999_from_the_future",)]
    conn.close()


def test_migrated_schema_equals_the_models_design_2(tmp_path: Path) -> None:
    """docs/design.md#service: the Alembic upgrade of a file store gives exactly the models' schema (no autogenerate
    diffs) and stamps the head revision."""
    path = tmp_path / "m.db"
    with BitsService(database=path):
        pass
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as c:
            assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
            assert MigrationContext.configure(c).get_current_revision() == database.HEAD_REVISION
    finally:
        engine.dispose()


def test_in_memory_template_equals_the_models_design_2(svc: BitsService) -> None:
    """docs/design.md#service: the in-memory template (built without migrations) equals the models too."""
    assert _diffs(svc.store.conn) == []
    assert svc.store.conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(database.HEAD_REVISION,)]


def test_helper_token_columns_and_session_index_exist_from_revision_1_issue_2(tmp_path: Path) -> None:
    """Issue 2: helper-token columns and the index on the supplying logon session exist from revision 1."""
    path = tmp_path / "h.db"
    with BitsService(database=path):
        pass
    conn = sqlite3.connect(path)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
    assert {"helper_sid", "helper_session_id", "helper_flags"} <= cols
    indexed = {
        r[2] for idx in conn.execute("PRAGMA index_list(jobs)") for r in conn.execute(f"PRAGMA index_info({idx[1]})")
    }
    assert "helper_session_id" in indexed
    conn.close()


def test_pragmas_memory_design_2(svc: BitsService) -> None:
    """docs/design.md#service: foreign keys on, secure_delete on."""
    conn = svc.store.conn
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA secure_delete").fetchone() == (1,)


def test_pragmas_file_design_2(tmp_path: Path) -> None:
    """docs/design.md#service: file stores use WAL, with foreign keys and secure_delete on."""
    with BitsService(database=tmp_path / "p.db") as svc:
        conn = svc.store.conn
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("PRAGMA secure_delete").fetchone() == (1,)


def _rows(svc: BitsService) -> tuple[list[object], list[object]]:
    conn = svc.store.conn
    return (
        conn.execute("SELECT * FROM jobs ORDER BY id").fetchall(),
        conn.execute("SELECT * FROM files ORDER BY id").fetchall(),
    )


def test_failing_calls_leave_the_store_unchanged_issue_2(svc: BitsService) -> None:
    """Issue 2 "nothing is half-written": a call that fails leaves every store row as it was."""
    mgr = svc.connect()
    _, job = mgr.create_job("j", JobType.DOWNLOAD)
    job.add_file("http://example.com/a", "C:\\data\\a")
    _, up = mgr.create_job("u", JobType.UPLOAD)
    before = _rows(svc)
    with pytest.raises(BitsError) as exc:
        job.set_description("d" * 1025)
    assert exc.value.hresult == BG_E_STRING_TOO_LONG
    with pytest.raises(BitsError):
        job.add_file_set([("http://example.com/b", "C:\\data\\b"), ("ftp://x/c", "C:\\data\\c")])
    with pytest.raises(BitsError) as exc:
        up.add_file_set([("http://example.com/b", "C:\\data\\b"), ("http://example.com/c", "C:\\data\\c")])
    assert exc.value.hresult == BG_E_TOO_MANY_FILES
    with pytest.raises(TypeError):
        job.set_priority("high")  # type: ignore[arg-type]
    assert _rows(svc) == before
    assert job.get_progress().files_total == 1


def test_store_failure_mid_call_rolls_back_everything_issue_2(
    svc: BitsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 2 "nothing is half-written": if the store fails after AddFileSet inserted its file rows, the
    file rows are rolled back and the in-memory job is unchanged."""
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    job.add_file("http://example.com/a", "C:\\data\\a")
    before = _rows(svc)
    rec = svc.queue.jobs[job.get_id()]
    modified = rec.modified_at

    def boom(*_a: object, **_k: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(svc.store, "update_job", boom)
    with pytest.raises(StoreError) as e:  # issue 11: the documented error, the SQLite one as its cause
        job.add_file_set([("http://example.com/b", "C:\\data\\b"), ("http://example.com/c", "C:\\data\\c")])
    assert isinstance(e.value.__cause__, sqlite3.OperationalError)
    monkeypatch.undo()
    assert _rows(svc) == before
    assert len(rec.files) == 1 and rec.modified_at == modified
    job.add_file("http://example.com/d", "C:\\data\\d")
    assert [f.get_remote_name() for f in job.enum_files()] == ["http://example.com/a", "http://example.com/d"]


def test_store_failure_on_update_leaves_record_unchanged_issue_2(
    svc: BitsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """queue.update writes through first, applies after commit: a store failure changes nothing."""
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    before = _rows(svc)

    def boom(*_a: object, **_k: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(svc.store, "update_job", boom)
    with pytest.raises(StoreError) as e:
        job.set_description("never")
    assert isinstance(e.value.__cause__, sqlite3.OperationalError)
    monkeypatch.undo()
    assert job.get_description() == ""
    assert _rows(svc) == before


def test_two_services_are_isolated_design_2() -> None:
    """docs/design.md#service: no module-level state — two in-memory services share nothing."""
    with BitsService() as s1, BitsService() as s2:
        job_id, _ = s1.connect().create_job("only in s1", JobType.DOWNLOAD)
        assert job_id in s1.queue.jobs and job_id not in s2.queue.jobs
        assert s2.connect().enum_jobs().get_count() == 0


def test_memory_url_is_refused_issue_2() -> None:
    """Issue 2: database=None is the in-memory store; other back-ends are refused clearly."""
    with pytest.raises(ValueError, match="database=None"):
        BitsService(database="sqlite:///:memory:")
    with pytest.raises(ValueError, match="SQLite"):
        BitsService(database="postgresql://u@h/db")
    with pytest.raises(TypeError):
        BitsService(database=5)  # type: ignore[arg-type]


def test_every_persisted_job_field_round_trips_bits_core_7_3(tmp_path: Path) -> None:
    """docs/reference/states.md#persistence: the job, its files and properties persist — credentials, custom headers,
    certificate settings and the command line included (not the callback pointer)."""
    import dataclasses

    from emulator.domain.records import Credential

    path = tmp_path / "all.db"
    with BitsService(database=path) as svc:
        job_id, job = svc.connect().create_job("all", JobType.DOWNLOAD)
        job.add_file("http://example.com/a", "C:\\data\\a")
        job.set_custom_headers("X-A: b")
        job.set_client_certificate_by_name(1, "MY", "CN=client")
        job.set_security_flags(0x1)
        job.set_maximum_download_time(77)
        job.set_notify_interface(object())
        rec = svc.queue.jobs[job_id]
        svc.queue.update(
            rec,
            credentials=[Credential(1, 1, "u", "p")],
            notify_program="C:\\bin\\n.exe",
            notify_parameters="C:\\bin\\n.exe done",
        )
        skip = {"files", "credentials", "notify_interface", "notify_registrant_sid", "server_cert_validator"}
        before = {k: getattr(rec, k) for k in rec.__dataclass_fields__ if k not in skip}
        creds = [dataclasses.astuple(c) for c in rec.credentials]
        files = [dataclasses.asdict(f) for f in rec.files]
    with BitsService(database=path) as svc:
        rec = svc.queue.jobs[job_id]
        assert {k: getattr(rec, k) for k in before} == before
        assert [dataclasses.astuple(c) for c in rec.credentials] == creds
        assert [dataclasses.asdict(f) for f in rec.files] == files
        assert rec.notify_interface is None


def test_row_builders_encode_like_the_generic_column_encoding_issue_8() -> None:
    """Issue 8: the INSERT rows are built column by column for speed; they must equal the readable
    encoding (``job_columns``/``file_columns`` + ``_db``) for records that use every column, lone
    surrogates, errors, helper tokens and JSON columns included (emulator choice: one encoding)."""
    import uuid

    from emulator.constants import ErrorContext
    from emulator.domain.records import ErrorRecord, FileRecord, HelperToken, JobRecord
    from emulator.identity.tokens import ENABLED_GROUP, AccessToken, Group
    from emulator.store import repository as r

    plain = JobRecord(
        uuid.uuid4(), 7, JobType.DOWNLOAD, "plain", "S-1-5-21-1-2-3-1001", "User", False, 0x2000, 1.5, 2.5
    )
    full = JobRecord(
        uuid.uuid4(), 8, JobType.UPLOAD_REPLY, "na\udc80me", "S-1-5-21-1-2-3-1002", "Ünïcode", True, 0x3000, 1.0, 2.0,
        state=JobState.ERROR, description="d\ud800", priority=JobPriority.FOREGROUND, notify_program="C:\\n.exe",
        notify_parameters="p", proxy_usage=ProxyUsage.OVERRIDE, proxy_list="proxy:1", proxy_bypass_list="<local>",
        error_count=3, transferred_at=9.0, error=ErrorRecord(ErrorContext.REMOTE_FILE, -2145844844, 0, "HTTP"),
        security_flags=1, file_acl_flags=2, peer_caching_flags=3, custom_headers="X-A: b",
        custom_headers_write_only=True, client_certificate={"store": "MY", "subject": "CN=c"},
        http_method="PUT", reply_file_name="C:\\r", properties={4: "x", 5: 6}, helper_flags=1,
        helper=HelperToken(AccessToken("S-1-5-21-1-2-3-1003", "h", (Group("S-1-1-0", ENABLED_GROUP),)), 65536),
        retry_at=5.0, no_progress_since=4.0, active_seconds=1.25, last_activity_at=3.0,
    )
    for rec in (plain, full):
        cols = r.job_columns(rec)
        expected = tuple(r._db(n, cols[n]) for n in r._INSERT_JOB[1])
        assert r.job_row(rec, r._db("credentials", cols["credentials"])) == expected
    # create_job's row starts from a prebuilt row of defaults (r.new_job_row): the same row for new records,
    # whatever their name, owner or type.
    for rec in (
        plain,
        JobRecord(uuid.uuid4(), 9, JobType.UPLOAD_REPLY, "n\udc80", "S-1-5-21-9", "Ünï", True, 0x4000, 3.0, 3.0,
                  last_activity_at=3.0),
    ):
        assert tuple(r.new_job_row(rec)) == r.job_row(rec, "[]")
    for f in (
        FileRecord(1, plain.id, 0, "http://s/a", "C:\\a"),
        FileRecord(2, full.id, 1, "http://s/\udc80", "C:\\é", 10, 5, True, "C:\\t", [(0, 4), (6, 9)], True, 1.5, "h",
                   True),
    ):
        cols = r.file_columns(f)
        assert r.file_row(f) == tuple(r._db(n, cols[n]) for n in r._INSERT_FILE[1])


def test_a_fresh_memory_service_runs_no_statement_at_start_issue_8(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 8: an in-memory service copies the fresh machine's template (emulator/fresh.py) and is told
    what it holds, so its start runs the pragmas and nothing else."""
    from emulator.fresh import open_fresh

    open_fresh(4242, "User").conn.close()  # the template itself is built once, before the patch
    seen: list[str] = []
    real = database._connect

    def traced(db: str) -> sqlite3.Connection:
        conn = real(db)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(database, "_connect", traced)
    with BitsService(seed=4242) as svc:
        assert [s for s in seen if not s.startswith("PRAGMA")] == []
        _job_id, _ = svc.connect().create_job("first", JobType.DOWNLOAD)  # the store works as before
        assert svc.store.conn.execute("SELECT count(*) FROM jobs").fetchone() == (1,)


@pytest.mark.parametrize("seed", [0, 12345])
def test_the_fresh_machine_holds_what_a_service_start_writes_issue_8(seed: int) -> None:
    """The template's rows are exactly those the directory writes on an empty store; RIDs go on from them."""
    from emulator.events import EventBus
    from emulator.identity.directory import Directory
    from emulator.store.repository import JobStore

    def rows(conn: sqlite3.Connection) -> tuple[list[object], list[object]]:
        return (
            sorted(conn.execute("SELECT key, value FROM settings").fetchall()),
            sorted(conn.execute("SELECT sid, name, kind, admin FROM accounts").fetchall()),
        )

    empty = database.open_memory()
    Directory(JobStore(empty), EventBus(), lambda: 0.0, seed).add_user("User")
    with BitsService(seed=seed) as svc:
        assert rows(svc.store.conn) == rows(empty)
        user = svc.account("User")
        assert svc.current_session.account is user
        alice, bob = svc.add_user("alice"), svc.add_user("bob")
        assert (alice.sid, bob.sid) == (user.sid[:-4] + "1002", user.sid[:-4] + "1003")
        assert svc.store.get_setting("next_rid") == "1004"
    empty.close()


def test_fresh_machines_are_kept_per_seed_and_bounded_issue_8() -> None:
    from emulator import fresh

    sids = set()
    for seed in range(900, 900 + fresh.MAX_MACHINES + 3):
        with BitsService(seed=seed) as svc:
            sids.add(svc.account("User").sid)
    assert len(sids) == fresh.MAX_MACHINES + 3  # each seed its own machine SID
    assert len(fresh._machines) <= fresh.MAX_MACHINES


# one UPDATE per row per transaction (issue 8) -------------------------------------------------------


def _shape(statement: str) -> str:
    """A statement as the store sends it (parameters apart): the verb, the table and, for an UPDATE, the
    columns set."""
    words = statement.split()
    if words[0] == "UPDATE":
        columns = statement.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
        return f"UPDATE {words[1]} SET " + ",".join(c.split("=")[0] for c in columns.split(", "))
    if words[0] == "SELECT":
        return "SELECT"
    return f"{words[0]} {words[2]}"


class _Sent:
    """Stands in for the store's connection and notes each statement and commit sent through it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.sent: list[str] = []

    def execute(self, sql: str, params: object = ()) -> sqlite3.Cursor:
        self.sent.append(_shape(sql))
        return self._conn.execute(sql, params)  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: object) -> sqlite3.Cursor:
        self.sent.append(_shape(sql))
        return self._conn.executemany(sql, rows)  # type: ignore[arg-type]

    def commit(self) -> None:
        self.sent.append("COMMIT")
        self._conn.commit()

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def test_a_download_life_writes_each_row_once_per_transaction_issue_8(tmp_path: Path) -> None:
    """Issue 8: the writes of one transaction go out as one UPDATE per row, with the final values, when it
    commits; a call that wrote nothing commits nothing; one API call is one transaction (Resume writes its
    state and its first-Resume mark together). Pinned for a whole download job life: the catch-up
    that connects, transfers and finishes the file changes the job 5 times and the file 3 times (two
    UPDATEs), AddFile commits once (it used to send a second, empty COMMIT), and Complete commits once,
    without the UPDATE of a file row its DELETE removes (it used to commit the file's mark, then the end)."""
    from emulator import ManualClock

    with BitsService(clock=ManualClock()) as svc:
        svc.filesystem.drive_root = tmp_path
        svc.filesystem.makedirs("C:\\d")
        svc.network.register("http://server/file.bin", b"x" * 4096)
        manager = svc.connect()
        real = svc.store.conn
        conn = _Sent(real)
        svc.store.conn = conn  # type: ignore[assignment]
        calls: list[list[str]] = []

        def step() -> None:  # the statements of the call just made
            calls.append(list(conn.sent))
            conn.sent.clear()

        _, job = manager.create_job("life", JobType.DOWNLOAD)
        step()
        job.add_file("http://server/file.bin", "C:\\d\\f")
        step()
        job.resume()
        step()
        assert job.get_state() is JobState.TRANSFERRED
        step()
        job.complete()
        step()
        assert job.get_state() is JobState.ACKNOWLEDGED
        step()
        svc.store.conn = real
    assert calls == [
        ["INSERT jobs", "COMMIT"],
        ["INSERT files", "UPDATE jobs SET modified_at,last_activity_at", "COMMIT"],
        # Resume: its state and its first-Resume mark in one transaction, one UPDATE.
        ["UPDATE jobs SET state,active_seconds,modified_at,last_activity_at,properties", "COMMIT"],
        [
            # (last_activity_at comes with the first progress, after the state changes: those are no
            # activity, https://learn.microsoft.com/en-us/windows/win32/bits/group-policies)
            # (no error columns: a job without an error object has none to clear when it transfers)
            "UPDATE jobs SET state,modified_at,no_progress_since,last_activity_at,transferred_at,active_seconds",
            "UPDATE files SET remote_mtime,bytes_transferred,response_headers,temp_name,bytes_total,transferred",
            "COMMIT",
        ],
        # Complete: one transaction too; the file marked completed goes with the job's row (ON DELETE
        # CASCADE), so that UPDATE is never sent.
        ["DELETE jobs", "COMMIT"],
        [],
    ]


def test_complete_marks_each_renamed_file_at_once_but_the_last_goes_with_the_jobs_end(tmp_path: Path) -> None:
    """Complete (T29, https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-complete):
    every rename but the last is marked in the store as soon as it is done, so a Complete that fails later
    (or a service stopped in between) never renames that file again; the last rename and the job's end are
    one transaction, and the mark of a file whose row the job's DELETE removes is not sent."""
    from emulator import ManualClock

    with BitsService(clock=ManualClock()) as svc:
        svc.filesystem.drive_root = tmp_path
        svc.filesystem.makedirs("C:\\d")
        for name in ("a", "b", "c"):
            svc.network.register(f"http://server/{name}", name.encode() * 10)
        _, job = svc.connect().create_job("three", JobType.DOWNLOAD)
        for name in ("a", "b", "c"):
            job.add_file(f"http://server/{name}", f"C:\\d\\{name}")
        job.resume()
        assert job.get_state() is JobState.TRANSFERRED
        real = svc.store.conn
        conn = _Sent(real)
        svc.store.conn = conn  # type: ignore[assignment]
        assert job.complete() == 0
        svc.store.conn = real
    assert conn.sent == ["UPDATE files SET completed", "COMMIT", "UPDATE files SET completed", "COMMIT",
                         "DELETE jobs", "COMMIT"]
    assert sorted(p.name for p in (tmp_path / "C" / "d").iterdir()) == ["a", "b", "c"]


def test_one_transactions_writes_of_a_row_go_out_merged_before_any_other_statement_issue_8(svc: BitsService) -> None:
    """Issue 8: two writes of one job in one transaction are one UPDATE with the last values, sent before
    the next statement that reads jobs or files (here the next file position), so none reads a stale row."""
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    rec = svc.queue.jobs[job.get_id()]
    real = svc.store.conn
    conn = _Sent(real)
    svc.store.conn = conn  # type: ignore[assignment]
    try:
        with svc.queue.batch():
            svc.queue.update(rec, description="first")
            svc.queue.update(rec, description="second", priority=JobPriority.HIGH)
            assert conn.sent == []
            assert svc.store.next_file_position(rec.key) == 0
            assert conn.sent == ["UPDATE jobs SET description,modified_at,last_activity_at,priority", "SELECT"]
        assert conn.sent[2:] == ["COMMIT"]
    finally:
        svc.store.conn = real
    row = real.execute("SELECT description, priority FROM jobs WHERE id = ?", (rec.key,)).fetchone()
    assert row == ("second", int(JobPriority.HIGH))


def test_a_store_failure_sending_the_merged_updates_changes_nothing_issue_8(svc: BitsService) -> None:
    """Issue 2 "nothing is half-written", now that writes go out when the transaction commits: a failure
    then is the documented StoreError, and neither the record nor the row changed."""
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    before = _rows(svc)
    real = svc.store.conn

    class Failing(_Sent):
        def execute(self, sql: str, params: object = ()) -> sqlite3.Cursor:
            if sql.startswith("UPDATE"):
                raise sqlite3.OperationalError("disk I/O error")
            return super().execute(sql, params)

    svc.store.conn = Failing(real)  # type: ignore[assignment]
    try:
        with pytest.raises(StoreError) as e:
            job.set_description("never")
    finally:
        svc.store.conn = real
    assert isinstance(e.value.__cause__, sqlite3.OperationalError)
    assert job.get_description() == ""
    assert _rows(svc) == before
    job.set_description("later")
    assert job.get_description() == "later"


def test_each_call_that_writes_several_rows_commits_once(tmp_path: Path) -> None:
    """One API call, one transaction (emulator design, docs/ARCHITECTURE.md): the calls that change several
    rows — AddFileWithRanges (the file and its size), ReplaceRemotePrefix (each renamed file and the job),
    SetValidationState(FALSE) (the file's reset and the job's ERROR), Resume (the state and the first-Resume
    mark) — send one COMMIT each, so a failure leaves none of their writes behind."""
    from emulator import ManualClock
    from emulator.constants import IBackgroundCopyJob3

    with BitsService(clock=ManualClock()) as svc:
        svc.filesystem.drive_root = tmp_path
        svc.filesystem.makedirs("C:\\d")
        svc.network.register("http://server/a", b"a" * 100)
        svc.network.register("http://mirror/a", b"a" * 100)
        manager = svc.connect()
        _, job = manager.create_job("one call", JobType.DOWNLOAD)
        job3 = job.query_interface(IBackgroundCopyJob3)
        real = svc.store.conn
        conn = _Sent(real)
        svc.store.conn = conn  # type: ignore[assignment]

        def commits(call: object) -> int:
            conn.sent.clear()
            assert callable(call)
            call()
            return conn.sent.count("COMMIT")

        assert commits(lambda: job3.add_file_with_ranges("http://server/a", "C:\\d\\r", [(0, 10), (20, 5)])) == 1
        assert conn.sent == [
            "INSERT files", "UPDATE jobs SET modified_at,last_activity_at", "UPDATE files SET bytes_total", "COMMIT"
        ]
        job.add_file("http://server/a", "C:\\d\\b")
        assert commits(lambda: job3.replace_remote_prefix("http://server/", "http://mirror/")) == 1
        assert commits(job.resume) == 1
        assert job.get_state() is JobState.TRANSFERRED
        f = next(iter(job.enum_files()))
        assert commits(lambda: f.set_validation_state(False)) == 1
        assert job.get_state() is JobState.ERROR
        svc.store.conn = real


def test_json_columns_are_written_as_json_dumps_writes_them() -> None:
    """The store's JSON encoder (a C encoder built once) writes the same compact text as ``json.dumps``, and
    refuses what JSON cannot hold with json's own TypeError."""
    import json

    from emulator.store.repository import _encode_json

    values: list[object] = [
        {}, [], {"0": True}, {"7": "ümlaut \u2603 \"q\" \\ \n"}, [["S-1-5-32-544", 7], ["S-1-1-0", 0]],
        {"a": 1.5, "b": -0.0, "c": 1e300, "d": None, "e": [1, 2, {"f": False}]}, "text", 12, float("nan"),
    ]
    for value in values:
        assert _encode_json(value) == json.dumps(value, separators=(",", ":"))
    with pytest.raises(TypeError, match="is not JSON serializable"):
        _encode_json({"x": object()})


def test_a_new_jobs_record_is_the_dataclass_record() -> None:
    """records.new_job (CreateJob's fast constructor) makes the very record JobRecord(**fields) makes: same
    values in every field, fresh mutable defaults (no list or dict shared between two records)."""
    import dataclasses
    import uuid

    from emulator.domain.records import JobRecord, new_job

    job_id = uuid.uuid4()
    args = (job_id, str(job_id), 7, JobType.UPLOAD, "name", "S-1-5-21-1-2-3-1001", "User", True, 0x3000, 1.5, 1.5, 1.5)
    made = new_job(*args)
    expected = JobRecord(
        id=job_id, key=str(job_id), seq=7, job_type=JobType.UPLOAD, display_name="name",
        owner_sid="S-1-5-21-1-2-3-1001", owner_name="User", owner_elevated=True, owner_integrity=0x3000,
        created_at=1.5, modified_at=1.5, last_activity_at=1.5,
    )  # fmt: skip
    for f in dataclasses.fields(JobRecord):
        assert getattr(made, f.name) == getattr(expected, f.name), f.name
    other = new_job(*args)
    assert made.files is not other.files and made.credentials is not other.credentials
    assert made.properties is not other.properties
