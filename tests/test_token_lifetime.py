"""Helper-token lifetime: session scope, the logoff purge, restart and reopening (docs/reference/security.md#lifetime,
readings A9/A11/A14/A19; scenarios T30, T33, T34). Transfers are not needed to observe these; the transfer tests
complete T30–T32 with bytes flowing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import (
    AccessToken,
    BitsError,
    BitsService,
    Blanket,
    Cloaking,
    ErrorContext,
    IBitsTokenOptions,
    ImpersonationLevel,
    Job,
    JobState,
    JobStateChanged,
    JobType,
    LogonSession,
    ManualClock,
    TokenOptions,
)

BG_E_TOKEN_REQUIRED = 0x80200056
IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
LEGACY = "pre-1607"
V1607 = "post-1607"
BOTH = pytest.mark.parametrize("profile", [LEGACY, V1607])
UNFINISHED = (JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING, JobState.TRANSIENT_ERROR)


def options(job: Job) -> TokenOptions:
    return job.query_interface(IBitsTokenOptions)


def set_helper(svc: BitsService, opts: TokenOptions, helper: AccessToken) -> None:
    with svc.impersonate(helper):
        opts.set_helper_token()


def service_owner(svc: BitsService) -> AccessToken:
    """An owner whose jobs may take a user's helper token on both rule sets: LocalSystem before 1607 (T04),
    NetworkService from 1607 (T10)."""
    account = svc.local_system if svc.profile.helper_rules.value == LEGACY else svc.network_service
    return svc.logon(account).token


def queued_job(svc: BitsService, owner: AccessToken, name: str = "job") -> Job:
    """A resumed job: unfinished, and still unfinished at a frozen ManualClock instant."""
    _, job = svc.connect(owner, blanket=IMP).create_job(name, JobType.DOWNLOAD)
    job.add_file("http://unregistered.invalid/file.bin", f"/tmp/bits-emulator-test/{name}.bin")
    job.resume()
    assert job.get_state() in UNFINISHED
    return job


@pytest.fixture(params=[LEGACY, V1607])
def svc(request: pytest.FixtureRequest) -> Iterator[BitsService]:
    with BitsService(request.param, clock=ManualClock()) as service:
        yield service


@pytest.fixture
def user(svc: BitsService) -> LogonSession:
    return svc.logon(svc.add_user("hU"))


# the purge at logoff -------------------------------------------------------------------------------------


def test_T30_helper_session_logoff_fails_unfinished_job_that_needs_the_token(
    svc: BitsService, user: LogonSession
) -> None:
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(2)
    errors_before = job.get_error_count()
    svc.logoff(user)
    assert job.get_state() is JobState.ERROR
    context, code = job.get_error().get_error()
    assert code == BG_E_TOKEN_REQUIRED
    assert context is ErrorContext.GENERAL_QUEUE_MANAGER
    assert job.get_error_count() == errors_before + 1
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 2


def test_T30_the_failure_is_persisted_by_the_same_statement(svc: BitsService, user: LogonSession) -> None:
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(1)
    svc.logoff(user)
    row = svc.store.conn.execute(
        "SELECT state, error_code, error_context, helper_sid, helper_session_id, helper_flags FROM jobs WHERE id=?",
        (str(job.get_id()),),
    ).fetchone()
    assert row == (int(JobState.ERROR), BG_E_TOKEN_REQUIRED, int(ErrorContext.GENERAL_QUEUE_MANAGER), None, None, 1)


def test_the_logoff_publishes_the_state_change(svc: BitsService, user: LogonSession) -> None:
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(1)
    before = job.get_state()
    seen: list[JobStateChanged] = []
    svc.bus.subscribe(JobStateChanged, seen.append)
    svc.logoff(user)
    assert [(e.job_id, e.old, e.new) for e in seen] == [(job.get_id(), before, JobState.ERROR)]


def test_job_without_flags_only_loses_its_token(svc: BitsService, user: LogonSession) -> None:
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    state = job.get_state()
    svc.logoff(user)
    assert job.get_state() is state
    assert job.get_error_count() == 0
    assert opts.get_helper_token_sid() is None


def test_A9_suspended_job_keeps_its_state(svc: BitsService, user: LogonSession) -> None:
    _, job = svc.connect(service_owner(svc), blanket=IMP).create_job("job", JobType.DOWNLOAD)
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(3)
    svc.logoff(user)
    assert job.get_state() is JobState.SUSPENDED
    assert job.get_error_count() == 0
    assert (opts.get_helper_token_sid(), opts.get_helper_token_flags()) == (None, 3)
    assert svc.helper_tokens.token_required(opts._rec)


def test_logoff_of_an_unrelated_session_touches_nothing(svc: BitsService, user: LogonSession) -> None:
    other = svc.logon(svc.add_user("other"))
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(1)
    svc.logoff(other)
    assert job.get_state() in UNFINISHED
    assert opts.get_helper_token_sid() == user.token.user_sid


def test_A14_owner_logoff_purges_tokens_supplied_by_other_sessions(svc: BitsService, user: LogonSession) -> None:
    boss = svc.add_user("boss", admin=True)
    first, second = svc.logon(boss), svc.logon(boss)
    job = queued_job(svc, first.elevated_token)
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(1)
    svc.logoff(first)  # the owner is still logged on in its second session: BITS keeps the token
    assert opts.get_helper_token_sid() == user.token.user_sid
    svc.logoff(second)  # now the owner has logged off (HT)
    assert opts.get_helper_token_sid() is None
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error()[1] == BG_E_TOKEN_REQUIRED


def test_service_helper_is_never_purged_by_a_logoff(svc: BitsService, user: LogonSession) -> None:
    # A service owner's job whose helper is the service itself: service sessions never log off (UNC, SVC).
    owner = service_owner(svc)
    job = queued_job(svc, owner)
    opts = options(job)
    set_helper(svc, opts, owner)
    opts.set_helper_token_flags(1)
    svc.logoff(user)
    svc.logoff(svc.current_session)
    assert opts.get_helper_token_sid() == owner.user_sid


# recovery (HT): the API half of T31/T32 ------------------------------------------------------------------


def test_T31_new_token_from_a_new_session_then_resume(svc: BitsService, user: LogonSession) -> None:
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(2)
    svc.logoff(user)
    again = svc.logon(svc.account("hU"))
    set_helper(svc, opts, again.token)
    job.resume()
    assert job.get_state() in UNFINISHED
    assert opts.get_helper_token_sid() == again.token.user_sid
    assert not svc.helper_tokens.token_required(opts._rec)


def test_T32_clear_the_flags_then_resume(svc: BitsService, user: LogonSession) -> None:
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(2)
    svc.logoff(user)
    opts.set_helper_token_flags(0)
    job.resume()
    assert job.get_state() in UNFINISHED
    assert not svc.helper_tokens.token_required(opts._rec)


def test_the_old_token_cannot_come_back_after_logoff(svc: BitsService, user: LogonSession) -> None:
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    svc.logoff(user)
    with pytest.raises(BitsError) as e:
        set_helper(svc, opts, user.token)
    assert e.value.hresult == 0x80070005


# cost: one statement, through the indexes -----------------------------------------------------------------


def _purge_statements(jobs: int) -> list[str]:
    svc = BitsService(V1607, clock=ManualClock())
    owner = svc.logon(svc.network_service).token
    manager = svc.connect(owner, blanket=IMP)
    helpers = [svc.logon(svc.add_user(f"h{i}")) for i in range(4)]
    for i in range(jobs):
        _, job = manager.create_job(f"j{i}", JobType.DOWNLOAD)
        opts = options(job)
        set_helper(svc, opts, helpers[i % 4].token)
        opts.set_helper_token_flags(1)
    statements: list[str] = []
    svc.store.conn.set_trace_callback(statements.append)
    svc.logoff(helpers[0])
    svc.store.conn.set_trace_callback(None)
    return [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]


def test_purge_statement_count_does_not_grow_with_the_queue() -> None:
    small, large = _purge_statements(8), _purge_statements(400)
    assert len(small) == len(large) == 1
    assert small[0].startswith("UPDATE jobs SET helper_sid=NULL")


def test_purge_reaches_rows_through_the_indexes() -> None:
    svc = BitsService(V1607)
    user = svc.logon(svc.add_user("hU"))
    statements: list[str] = []
    svc.store.conn.set_trace_callback(statements.append)
    _, job = svc.connect(svc.current_session.token, blanket=IMP).create_job("j", JobType.DOWNLOAD)
    set_helper(svc, options(job), user.token)
    svc.logoff(svc.current_session)  # the owner logs off: helper-session OR owner branch
    svc.store.conn.set_trace_callback(None)
    purge = next(s for s in statements if s.startswith("UPDATE jobs SET helper_sid=NULL"))
    plan = " ".join(row[3] for row in svc.store.conn.execute("EXPLAIN QUERY PLAN " + purge))
    assert "ix_jobs_helper_session_id" in plan
    assert "ix_jobs_owner_sid" in plan
    assert "SCAN" not in plan


# restart and reopening: T34 ------------------------------------------------------------------------------


@BOTH
def test_T34_restart_drops_every_token_and_keeps_flags(profile: str) -> None:
    svc = BitsService(profile, clock=ManualClock())
    user = svc.logon(svc.add_user("hU"))
    job = queued_job(svc, service_owner(svc))
    opts = options(job)
    set_helper(svc, opts, user.token)
    opts.set_helper_token_flags(1)
    assert job.get_state() is JobState.CONNECTING
    svc.restart()
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 1
    # The connection is gone with the old service; on its next run the job needs the token (T34).
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_TOKEN_REQUIRED)
    assert svc.store.conn.execute("SELECT COUNT(*) FROM jobs WHERE helper_sid IS NOT NULL").fetchone() == (0,)


@BOTH
def test_T34_reopened_file_store_has_flags_but_no_token(profile: str, tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with BitsService(profile, db, clock=ManualClock()) as svc:
        user = svc.logon(svc.add_user("hU"))
        _, job = svc.connect(service_owner(svc), blanket=IMP).create_job("job", JobType.DOWNLOAD)
        opts = options(job)
        set_helper(svc, opts, user.token)
        opts.set_helper_token_flags(3)
        job_id = job.get_id()
        owner = opts._rec.owner_sid
    with BitsService(profile, db, clock=ManualClock()) as svc:
        account = svc.account(owner)
        job = svc.connect(svc.logon(account).token, blanket=IMP).get_job(job_id)
        opts = options(job)
        assert opts.get_helper_token_sid() is None
        assert opts.get_helper_token_flags() == 3


def test_secure_delete_leaves_no_trace_of_a_purged_token(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"

    def file_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("queue.db"))

    with BitsService(V1607, db) as svc:
        user = svc.logon(svc.add_user("hU"))
        keep = svc.logon(svc.add_user("keep"))
        logon_sid = next(g.sid for g in user.token.groups if g.sid.startswith("S-1-5-5-"))
        kept_sid = next(g.sid for g in keep.token.groups if g.sid.startswith("S-1-5-5-"))
        manager = svc.connect(blanket=IMP)
        for helper in (user, keep):
            _, job = manager.create_job("job", JobType.DOWNLOAD)
            set_helper(svc, options(job), helper.token)
        svc.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # the logon SID of a session lives nowhere but in its helper tokens' rows
        assert json.dumps(logon_sid).encode() in file_bytes()
        svc.logoff(user)
        svc.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = file_bytes()
        assert json.dumps(logon_sid).encode() not in data
        assert json.dumps(kept_sid).encode() in data  # the scan does find a token that was not purged
        secure = svc.store.conn.execute("PRAGMA secure_delete").fetchone()
        assert secure == (1,)
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM jobs WHERE helper_sid IS NOT NULL").fetchone() == (1,)


@pytest.mark.parametrize("state", [s for s in JobState if s not in (JobState.ACKNOWLEDGED, JobState.CANCELLED)])
def test_the_sql_purge_and_the_transition_function_agree_in_every_state(state: JobState) -> None:
    """Issue 8: the logoff purge is one set-based UPDATE, yet its outcome is the domain's: for every state
    a job can be in, the row the statement writes, the record in memory and ``transition()`` agree."""
    from emulator.domain import states
    from emulator.domain.states import Trigger

    svc = BitsService(V1607, clock=ManualClock())
    with svc:
        helper = svc.logon(svc.add_user("hU"))
        owner = service_owner(svc)
        job_id, job = svc.connect(owner, blanket=IMP).create_job("job", JobType.DOWNLOAD)
        opts = options(job)
        set_helper(svc, opts, helper.token)
        opts.set_helper_token_flags(1)  # BG_TOKEN_LOCAL_FILE: the job needs its helper token
        rec = svc.queue.jobs[job_id]
        svc.queue.update(rec, touch=False, state=state)  # put the job in the state under test
        svc.logoff(helper)
        expected = (
            states.transition(state, Trigger.TOKEN_DISCARDED)
            if state in states.sources(Trigger.TOKEN_DISCARDED)
            else state
        )
        row = svc.store.conn.execute(
            "SELECT state, helper_sid, error_code FROM jobs WHERE id = ?", (str(job_id),)
        ).fetchone()
        assert rec.state is expected
        assert JobState(row[0]) is expected
        assert row[1] is None and rec.helper is None
        if expected is not state:
            assert rec.error is not None and row[2] == rec.error.code == BG_E_TOKEN_REQUIRED
