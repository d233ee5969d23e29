"""A Hypothesis state machine against a small reference model (issue 11, "machinery that keeps it so").

Random API calls by several callers — two standard users, an administrator through its filtered and its
elevated token, LocalSystem — with logons and logoffs, helper tokens, network loss and return, clock moves
(ManualClock) and service restarts, on a file store, on both helper-token rule sets (pre-1607 and
post-1607). Each call's HRESULT and resulting state are checked against ``tests/model/jobs.py``, a model
written from Microsoft's pages. After every step:

* no impossible state: each job is in a state the service could have reached by itself from the state
  the model expected after the last call (the life-cycle diagram's background edges);
* no helper token whose logon session ended, and a token exactly where the model expects one;
* nothing visible to a caller who may not see it: EnumJobs of every logged-on caller lists exactly the
  jobs the model says (own jobs; every job for BG_JOB_ENUM_ALL_USERS by an administrator);
* progress never decreases (no rule here restarts a file: no SetRemoteName, no server-side change);
* the in-memory records and the store's rows agree, and the database passes ``PRAGMA integrity_check``
  (checked by a rule and at teardown).

CI runs a reduced size; ``BITS_MACHINERY=full`` runs 200 examples of up to 60 steps per profile (README
"Reliability checks"). The number of examples and steps run is printed.
"""

from __future__ import annotations

import collections
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule
from model import jobs as m
from model.store_check import disagreements, integrity

from emulator import (
    AccessToken,
    BitsError,
    BitsService,
    Blanket,
    Cast,
    Cloaking,
    IBitsTokenOptions,
    ImpersonationLevel,
    Job,
    JobType,
    Manager,
    ManualClock,
    TokenOptions,
)

T = TypeVar("T")

FULL = os.environ.get("BITS_MACHINERY") == "full"
EXAMPLES = 200 if FULL else 25
STEPS = 60 if FULL else 40
SIZE = 20_000  # bytes of the remote file; at 1,000 B/s a transfer spans several clock moves

CALLERS = {
    "alice": m.Caller("alice", "alice", adm=False, integrity=0x2000),
    "charlie": m.Caller("charlie", "charlie", adm=False, integrity=0x2000),
    "bob": m.Caller("bob", "bob", adm=False, integrity=0x2000),  # UAC-filtered administrator
    "bob_admin": m.Caller("bob_admin", "bob", adm=True, integrity=0x3000),  # the same, elevated
    "system": m.Caller("system", "system", adm=True, integrity=0x4000),
}
USERS = ("alice", "charlie", "bob")  # the ones that log off and on; LocalSystem is always logged on
STATS: collections.Counter[str] = collections.Counter()


def _hr(call: Callable[..., T], *args: object) -> tuple[int, T | None]:
    try:
        return 0, call(*args)
    except BitsError as exc:
        return exc.hresult, None


class BitsMachine(RuleBasedStateMachine):
    PROFILE: ClassVar[str] = "post-1607"
    jobs = Bundle("jobs")

    def __init__(self) -> None:
        super().__init__()
        STATS[f"{self.PROFILE} examples"] += 1
        self.dir = Path(tempfile.mkdtemp(prefix="state-machine-"))
        self.db = self.dir / "sm.db"
        self.clock = ManualClock()
        self.open_service()
        self.svc.filesystem.makedirs("C:\\d")
        cast = Cast.on(self.svc)
        self.sessions = {"alice": cast.alice, "charlie": cast.charlie, "bob": cast.bob, "system": cast.system}
        self.model = m.Model(post_1607=self.PROFILE == "post-1607")
        self.allowed: dict[str, frozenset[int]] = {}
        self.held: dict[str, Job] = {}  # the creator's pointer, kept after the job ends (final-jobs reading)
        self.held_generation: dict[str, int] = {}  # which service (before or after a reopen) gave it
        self.generation = 0
        self.ids: dict[str, uuid.UUID] = {}
        self.final: dict[str, int] = {}  # the state a job ended in, read once from its held pointer
        self.seen_progress: dict[str, int] = {}
        self.files = 0
        self.states_seen: set[int] = set()

    def open_service(self) -> None:
        self.svc = BitsService(self.PROFILE, database=self.db, clock=self.clock)
        self.svc.filesystem.drive_root = self.dir / "drives"
        self.svc.network.register("http://server/f", b"f" * SIZE, rate=1000)
        self.svc.network.register("http://server/gone", b"", status=404)

    def reopen(self) -> None:
        """The process stops cleanly and a new one opens the store: the jobs come back from the rows
        (states, progress, files), helper tokens do not (SHT); logged-on users log on again."""
        self.svc.close()
        self.open_service()
        self.generation += 1
        for name, session in list(self.sessions.items()):
            if session.active:
                account = self.svc.local_system if name == "system" else self.svc.account(name)
                self.sessions[name] = self.svc.logon(account)

    def teardown(self) -> None:
        for state in self.states_seen:
            STATS[f"examples reaching {m.NAMES[state]}"] += 1
        try:
            assert integrity(self.db) == "ok"
            assert disagreements(self.svc) == []
        finally:
            self.svc.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # helpers -----------------------------------------------------------------------------------------

    def token(self, caller: str) -> AccessToken:
        session = self.sessions["bob" if caller == "bob_admin" else caller]
        return session.elevated_token if caller == "bob_admin" else session.token

    def logged_on(self, caller: str) -> bool:
        return self.sessions["bob" if caller == "bob_admin" else caller].active

    def manager(self, caller: str) -> Manager:
        return self.svc.connect(self.token(caller))

    def actual_state(self, key: str) -> int:
        rec = self.svc.queue.jobs.get(self.ids[key])
        if rec is not None:
            assert key not in self.final, f"{key} ended as {m.NAMES[self.final[key]]} and came back"
            return int(rec.state)
        assert key in self.final, f"{key} left the queue without a Cancel or Complete"
        return self.final[key]

    def sync(self, key: str) -> m.Job:
        """The job's current state must be one the service could reach by itself from what the model
        expected; the model then adopts it."""
        job = self.model.jobs[key]
        actual = self.actual_state(key)
        assert actual in self.allowed[key], (
            f"{key}: {m.NAMES[actual]} not reachable from the expected {[m.NAMES[s] for s in self.allowed[key]]}"
        )
        job.state = actual
        return job

    def expect(self, key: str, states: frozenset[int]) -> None:
        """After a call: the job is in one of ``states`` now; from here on, anything the service may reach."""
        job = self.model.jobs[key]
        actual = self.actual_state(key)
        assert actual in frozenset().union(*(m.reachable(s) for s in states)), (
            f"{key}: {m.NAMES[actual]} after the call, expected {[m.NAMES[s] for s in states]}"
        )
        job.state = actual
        self.allowed[key] = m.reachable(actual)
        self.states_seen.add(actual)

    def background(self) -> None:
        """Time, the network, a logon or a restart moved: every job may take any background edge."""
        for key in self.model.jobs:
            self.sync(key)
            self.allowed[key] = m.reachable(self.model.jobs[key].state)
            self.states_seen.add(self.model.jobs[key].state)

    def pointer(self, caller: str, key: str) -> Job | None:
        """GetJob by ``caller``: its HRESULT is the model's; the pointer when it succeeds."""
        self.sync(key)
        hr, job = _hr(self.manager(caller).get_job, self.ids[key])
        assert hr == self.model.get_job(CALLERS[caller], key), (caller, key, hex(hr))
        STATS["calls"] += 1
        return job

    # rules: calls --------------------------------------------------------------------------------------

    @rule(target=jobs, caller=st.sampled_from(list(CALLERS)))
    def create(self, caller: str) -> Any:
        if not (self.logged_on(caller) and len(self.model.jobs) < 40):
            return multiple()
        key = f"j{len(self.model.jobs)}"
        _, job = self.manager(caller).create_job(key, JobType.DOWNLOAD)
        c = CALLERS[caller]
        self.model.jobs[key] = m.Job(owner=c.user, owner_adm=c.adm, owner_integrity=c.integrity)
        self.held[key] = job
        self.held_generation[key] = self.generation
        self.ids[key] = job.get_id()
        self.allowed[key] = frozenset({m.SUSPENDED})
        self.expect(key, frozenset({m.SUSPENDED}))
        STATS["calls"] += 1
        return key

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs, missing=st.booleans())
    def add_file(self, caller: str, key: str, missing: bool) -> None:
        if not (self.logged_on(caller) and self.model.jobs[key].files < 4):
            return
        job = self.pointer(caller, key)
        if job is None:
            return
        self.files += 1
        url = "http://server/gone" if missing else "http://server/f"
        hr, _ = _hr(job.add_file, url, f"C:\\d\\f{self.files}.bin")
        assert hr == self.model.change(CALLERS[caller], key), (caller, key, hex(hr))
        if hr == 0:
            self.model.jobs[key].files += 1
        self.expect(key, frozenset({self.model.jobs[key].state}))
        STATS["calls"] += 1

    @rule(key=jobs, missing=st.booleans())
    def owner_starts(self, key: str, missing: bool) -> None:
        """The owner adds a file and resumes: the path to the transfer states, which random callers
        take too rarely on their own."""
        caller = self.owner_caller(key)
        self.add_file(caller, key, missing)
        self.resume(caller, key)

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs)
    def resume(self, caller: str, key: str) -> None:
        if not (self.logged_on(caller)):
            return
        job = self.pointer(caller, key)
        if job is None:
            return
        expected_hr, states = self.model.resume(CALLERS[caller], key)
        if self.model.jobs[key].state == m.TRANSFERRED:
            states = frozenset({m.TRANSFERRED, m.QUEUED})  # T6: files may have been added since
        hr, _ = _hr(job.resume)
        assert hr == expected_hr, (caller, key, hex(hr), m.NAMES[self.model.jobs[key].state])
        self.expect(key, states)
        STATS["calls"] += 1

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs)
    def suspend(self, caller: str, key: str) -> None:
        if not (self.logged_on(caller)):
            return
        job = self.pointer(caller, key)
        if job is None:
            return
        expected_hr, states = self.model.suspend(CALLERS[caller], key)
        hr, _ = _hr(job.suspend)
        assert hr == expected_hr, (caller, key, hex(hr))
        self.expect(key, states)
        STATS["calls"] += 1

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs, complete=st.booleans())
    def end(self, caller: str, key: str, complete: bool) -> None:
        """Cancel (T31) or Complete (T29) of a download: any non-final state ends the job."""
        if not (self.logged_on(caller)):
            return
        job = self.pointer(caller, key)
        if job is None:
            return
        expected = self.model.change(CALLERS[caller], key)
        hr, result = _hr(job.complete if complete else job.cancel)
        assert hr == expected, (caller, key, hex(hr))
        if hr == 0:
            ok = {m.S_OK, m.BG_S_PARTIAL_COMPLETE} if complete else {m.S_OK, m.BG_S_UNABLE_TO_DELETE_FILES}
            assert result in ok
            ended = m.ACKNOWLEDGED if complete else m.CANCELLED
            assert self.svc.queue.jobs.get(self.ids[key]) is None and int(job.get_state()) == ended
            self.final[key] = ended
            self.expect(key, frozenset({ended}))
            self.model.jobs[key].helper_session = None
        else:
            self.expect(key, frozenset({self.model.jobs[key].state}))
        STATS["calls"] += 1

    @rule(key=jobs, setter=st.sampled_from(["set_description", "resume", "suspend", "cancel", "add_file"]))
    def held_pointer_of_a_final_job(self, key: str, setter: str) -> None:
        """readings.md#final-jobs: setters and state methods on a held pointer of a final job give
        BG_E_INVALID_STATE; GetJob no longer finds it."""
        job = self.sync(key)
        current = self.held_generation[key] == self.generation  # a pointer of a closed service is dead
        if not (job.state in m.FINAL and current and self.logged_on(self.owner_caller(key))):
            return
        args = {"set_description": ("d",), "add_file": ("http://server/f", "C:\\d\\late.bin")}.get(setter, ())
        hr, _ = _hr(getattr(self.held[key], setter), *args)
        assert hr == m.BG_E_INVALID_STATE
        STATS["calls"] += 1

    def owner_caller(self, key: str) -> str:
        j = self.model.jobs[key]
        return "bob_admin" if j.owner == "bob" and j.owner_adm else j.owner

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs)
    def set_description(self, caller: str, key: str) -> None:
        if not (self.logged_on(caller)):
            return
        job = self.pointer(caller, key)
        if job is None:
            return
        hr, _ = _hr(job.set_description, f"by {caller}")
        assert hr == self.model.change(CALLERS[caller], key), (caller, key, hex(hr))
        self.expect(key, frozenset({self.model.jobs[key].state}))
        STATS["calls"] += 1

    # helper tokens ---------------------------------------------------------------------------------------

    def options(self, caller: str, key: str) -> TokenOptions | None:
        job = self.pointer(caller, key)
        if job is None:
            return None
        opts = job.query_interface(IBitsTokenOptions)
        opts.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC))  # SHT: IMPERSONATE or above
        return opts

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs)
    def set_helper_token(self, caller: str, key: str) -> None:
        if not (self.logged_on(caller)):
            return
        opts = self.options(caller, key)
        if opts is None:
            return
        expected = self.model.set_helper_token(CALLERS[caller], key)
        hr, _ = _hr(opts.set_helper_token)
        assert hr == expected, (caller, key, hex(hr), self.PROFILE)
        if hr == 0:
            self.model.jobs[key].helper_session = "bob" if caller == "bob_admin" else caller
            self.model.jobs[key].helper_adm = CALLERS[caller].adm  # the helper is the caller itself
        self.expect(key, frozenset({self.model.jobs[key].state}))
        STATS["calls"] += 1

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs, flags=st.sampled_from([0, 1, 2, 3]))
    def set_helper_token_flags(self, caller: str, key: str, flags: int) -> None:
        """security.md#sethelpertokenflags, CUR.adm included."""
        if not (self.logged_on(caller)):
            return
        j = self.model.jobs[key]
        c = CALLERS[caller]
        opts = self.options(caller, key)
        if opts is None:
            return
        hr, _ = _hr(opts.set_helper_token_flags, flags)
        expected = self.model.token_options(c, key, "flags")
        assert hr == expected, (caller, key, hex(hr))
        if hr == 0:
            j.helper_flags = flags
        self.expect(key, frozenset({j.state}))
        STATS["calls"] += 1

    @rule(caller=st.sampled_from(list(CALLERS)), key=jobs, clear=st.booleans())
    def helper_token_sid_or_clear(self, caller: str, key: str, clear: bool) -> None:
        if not (self.logged_on(caller)):
            return
        opts = self.options(caller, key)
        if opts is None:
            return
        j = self.model.jobs[key]
        expected = self.model.token_options(CALLERS[caller], key, "clear" if clear else "get")
        if clear:
            hr, _ = _hr(opts.clear_helper_token)
            if hr == 0:
                j.helper_session = None
        else:
            hr, sid = _hr(opts.get_helper_token_sid)
            if hr == 0:
                assert (sid is not None) == (j.helper_session is not None), (key, sid, j.helper_session)
        assert hr == expected, (caller, key, clear, hex(hr))
        self.expect(key, frozenset({j.state}))
        STATS["calls"] += 1

    # rules: the world ------------------------------------------------------------------------------------

    # One rule for the world's events, so that they do not crowd out the calls (Hypothesis picks rules
    # uniformly): logoff and logon, the network going and coming back, clock moves, a service restart.
    EVENTS = (
        "logoff", "logon", "network down", "network up", "advance", "advance", "restart", "reopen", "store check"
    )

    @rule(event=st.sampled_from(EVENTS), user=st.sampled_from(USERS), seconds=st.sampled_from([0, 1, 3, 10, 60, 600]))
    def world(self, event: str, user: str, seconds: int) -> None:
        for key in self.model.jobs:
            self.sync(key)
        if event == "logoff":
            if not (self.sessions[user].active):
                return
            self.svc.logoff(self.sessions[user])
            self.model.logoff(user)
        elif event == "logon":
            if self.sessions[user].active:
                return
            self.sessions[user] = self.svc.logon(self.svc.account(user))
        elif event == "network down":
            self.svc.network.disconnect()
        elif event == "network up":
            self.svc.network.reconnect()
        elif event == "advance":
            self.svc.advance(seconds)
        elif event == "restart":
            self.svc.restart()
            self.model.restart()
        elif event == "reopen":
            self.reopen()
            self.model.restart()
        else:
            assert disagreements(self.svc) == []
        self.background()
        STATS[event] += 1

    # invariants ----------------------------------------------------------------------------------------

    @invariant()
    def states_possible_and_helpers_live(self) -> None:
        live = {s.id for s in self.sessions.values() if s.active}
        for key, job in self.model.jobs.items():
            self.sync(key)
            rec = self.svc.queue.jobs.get(self.ids[key])
            if rec is None:
                assert job.state in m.FINAL
                continue
            assert (rec.helper is not None) == (job.helper_session is not None), (key, rec.helper, job)
            if rec.helper is not None:
                assert rec.helper.session_id in live, f"{key}: helper token of ended session {rec.helper.session_id}"

    @invariant()
    def nothing_visible_to_who_may_not_see_it(self) -> None:
        for name, c in CALLERS.items():
            if not self.logged_on(name):
                continue
            mgr = self.manager(name)
            own = {j.get_display_name() for j in mgr.enum_jobs(0)}
            assert own == self.model.visible(c, all_users=False), (name, own)
            hr, everyone = _hr(mgr.enum_jobs, 1)
            assert hr == self.model.enum_jobs(c, all_users=True)
            if hr == 0:
                assert everyone is not None
                assert {j.get_display_name() for j in everyone} == self.model.visible(c, all_users=True)

    @invariant()
    def progress_never_decreases(self) -> None:
        system = self.manager("system")
        for key, job in self.model.jobs.items():
            if job.state in m.FINAL:
                continue
            done = system.get_job(self.ids[key]).get_progress().bytes_transferred
            assert done >= self.seen_progress.get(key, 0), (key, done, self.seen_progress.get(key))
            self.seen_progress[key] = done


def _machine(profile: str) -> type[BitsMachine]:
    return type(f"BitsMachine_{profile.replace('-', '_')}", (BitsMachine,), {"PROFILE": profile})


@pytest.mark.parametrize("profile", ["pre-1607", "post-1607"])
def test_state_machine(profile: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11: the emulator agrees with the reference model on both helper-token rule sets."""
    machine = _machine(profile)
    before = STATS.copy()
    machine.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        derandomize=not FULL,
        # Shrinking a long stateful run can take minutes on a loaded machine; a failure prints its steps
        # anyway. BITS_MACHINERY=shrink turns it back on to get the shortest reproduction.
        phases=[Phase.explicit, Phase.reuse, Phase.generate]
        + ([Phase.shrink] if os.environ.get("BITS_MACHINERY") == "shrink" else []),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    runner = machine.TestCase("runTest")
    runner.runTest()
    ran = STATS - before
    with capsys.disabled():
        print(f"\n[state machine {profile}] " + ", ".join(f"{k} {v}" for k, v in sorted(ran.items())))
    assert ran[f"{profile} examples"] >= EXAMPLES
