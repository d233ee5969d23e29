"""Job ownership and visibility: docs/reference/security.md#ownership and scenarios T39–T48, T53
(docs/reference/security.md#scenarios). Source keys in capitals: docs/reference/sources.md.

Every scenario here holds under both rule sets ("both" in the scenario table): the module's ``svc`` runs
each test once before Windows 10 1607 and once from 1607."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator import (
    BG_JOB_ENUM_ALL_USERS,
    AuthScheme,
    AuthTarget,
    BitsError,
    BitsService,
    Blanket,
    Cloaking,
    IBackgroundCopyJob2,
    IBackgroundCopyJob4,
    ImpersonationLevel,
    Job,
    JobState,
    JobType,
    Manager,
)
from emulator.domain.records import Credential
from emulator.identity.sessions import restricted_copy

E_ACCESSDENIED = 0x80070005
BG_E_NOT_FOUND = 0x80200001
BG_E_INVALID_STATE = 0x80200002
RPC_X_BAD_STUB_DATA = 0x800706F7
S_FALSE = 1


@pytest.fixture(params=["pre-1607", "post-1607"])
def svc(request: pytest.FixtureRequest) -> Iterator[BitsService]:
    """A fresh service under each rule set: pre-1607 (Windows 10 1511 rules) and post-1607 (Windows 11)."""
    with BitsService(request.param) as service:
        yield service


@dataclass
class World:
    svc: BitsService
    alice: Manager
    charlie: Manager
    bob_f: Manager
    bob_e: Manager
    system: Manager
    alice_sid: str
    bob_sid: str


@pytest.fixture
def w(svc: BitsService) -> World:
    alice = svc.add_user("alice")
    charlie = svc.add_user("charlie")
    bob = svc.add_user("bob", admin=True)
    bob_session = svc.logon(bob)
    return World(
        svc=svc,
        alice=svc.connect(svc.logon(alice).token),
        charlie=svc.connect(svc.logon(charlie).token),
        bob_f=svc.connect(bob_session.token),
        bob_e=svc.connect(bob_session.elevated_token),
        system=svc.connect(svc.logon(svc.local_system).token),
        alice_sid=alice.sid,
        bob_sid=bob.sid,
    )


def _ids(mgr: Manager, flags: int = 0) -> set[uuid.UUID]:
    return {j.get_id() for j in mgr.enum_jobs(flags)}


def test_T39_enum_jobs_0_lists_only_own_jobs(w: World) -> None:
    """T39 (ENUM): alice EnumJobs(0) → only alice's jobs
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopymanager-enumjobs)."""
    a1, _ = w.alice.create_job("a1", JobType.DOWNLOAD)
    a2, _ = w.alice.create_job("a2", JobType.UPLOAD)
    w.charlie.create_job("c1", JobType.DOWNLOAD)
    w.bob_e.create_job("b1", JobType.DOWNLOAD)
    assert _ids(w.alice) == {a1, a2}


def test_T40_enum_all_users_needs_an_elevated_admin(w: World) -> None:
    """T40 (ENUM, ENUMQ, SPLIT): EnumJobs(ALL_USERS) — alice E_ACCESSDENIED, bob-F E_ACCESSDENIED,
    bob-E lists every job including SYSTEM's
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopymanager-enumjobs,
    https://learn.microsoft.com/en-us/windows/win32/bits/enumerating-jobs-in-the-transfer-queue)."""
    a, _ = w.alice.create_job("a", JobType.DOWNLOAD)
    s, _ = w.system.create_job("s", JobType.DOWNLOAD)
    b, _ = w.bob_f.create_job("b", JobType.DOWNLOAD)
    for mgr in (w.alice, w.bob_f, w.charlie):
        with pytest.raises(BitsError) as exc:
            mgr.enum_jobs(BG_JOB_ENUM_ALL_USERS)
        assert exc.value.hresult == E_ACCESSDENIED
    assert {a, s, b} <= _ids(w.bob_e, BG_JOB_ENUM_ALL_USERS)
    assert _ids(w.system, BG_JOB_ENUM_ALL_USERS) >= {a, s, b}


def test_T41_get_job_of_another_user_is_denied_and_unknown_is_not_found(w: World) -> None:
    """T41 (GETJOB): charlie GetJob(alice's job) → E_ACCESSDENIED; GetJob(random GUID) → BG_E_NOT_FOUND;
    an elevated admin may open it
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopymanager-getjob)."""
    a, _ = w.alice.create_job("a", JobType.DOWNLOAD)
    for mgr in (w.charlie, w.bob_f):
        with pytest.raises(BitsError) as exc:
            mgr.get_job(a)
        assert exc.value.hresult == E_ACCESSDENIED
    for mgr in (w.alice, w.charlie, w.bob_e):
        with pytest.raises(BitsError) as exc:
            mgr.get_job(uuid.uuid4())
        assert exc.value.hresult == BG_E_NOT_FOUND
    assert w.bob_e.get_job(a).get_display_name() == "a"


def test_T42_get_owner_is_the_owner_sid_string(w: World) -> None:
    """T42 (OWN): GetOwner → "S-1-5-21-…-<rid>" of the creator
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-getowner). The
    row's GetOwner(NULL) → E_INVALIDARG has no spelling here: the out-parameter is the return value."""
    _, job = w.alice.create_job("a", JobType.DOWNLOAD)
    owner = job.get_owner()
    assert owner == w.alice_sid
    assert re.fullmatch(r"S-1-5-21-\d+-\d+-\d+-\d+", owner)
    _, sys_job = w.system.create_job("s", JobType.DOWNLOAD)
    assert sys_job.get_owner() == "S-1-5-18"


def _loaded_alice_job(w: World) -> tuple[uuid.UUID, Job]:
    job_id, job = w.alice.create_job("a", JobType.DOWNLOAD)
    job.set_custom_headers("X-Token: secret")
    job.set_client_certificate_by_id(1, "MY", b"\x01" * 20)
    rec = w.svc.queue.jobs[job_id]
    w.svc.queue.update(
        rec,
        credentials=[Credential(1, 1, "alice", "pw")],
        notify_program="C:\\bin\\notify.exe",
        notify_parameters="C:\\bin\\notify.exe done",
    )
    return job_id, job


def test_T43_take_ownership_needs_elevated_admin_and_strips_owner_secrets(w: World) -> None:
    """T43 (TAKE, ELEV, RMCRED): alice / bob-F → E_ACCESSDENIED; bob-E → S_OK, owner = bob, elevation
    TRUE, credentials, custom headers and command line removed, so RemoveCredentials of the pair alice set
    returns S_FALSE
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-takeownership,
    https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyjob4-getownerelevationstate,
    https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-removecredentials)."""
    job_id, alice_job = _loaded_alice_job(w)
    with pytest.raises(BitsError) as exc:
        alice_job.take_ownership()
    assert exc.value.hresult == E_ACCESSDENIED
    with pytest.raises(BitsError) as exc:
        w.bob_f.get_job(job_id)
    assert exc.value.hresult == E_ACCESSDENIED
    bob_job = w.bob_e.get_job(job_id)
    # bob-F holding a pointer obtained elsewhere is still refused (not elevated).
    held_by_bob_f = w.bob_f.enum_jobs(0)
    assert held_by_bob_f.get_count() == 0
    rec = w.svc.queue.jobs[job_id]
    assert rec.credentials and rec.custom_headers and rec.notify_program and rec.client_certificate
    bob_job.take_ownership()
    assert bob_job.get_owner() == w.bob_sid
    job4 = bob_job.query_interface(IBackgroundCopyJob4)
    assert job4.get_owner_elevation_state() is True
    assert job4.get_owner_integrity_level() == 0x3000
    assert rec.credentials == []
    assert rec.custom_headers is None
    assert rec.notify_program is None and rec.notify_parameters is None
    assert bob_job.get_custom_headers() is None
    assert rec.client_certificate is None
    with pytest.raises(BitsError) as exc:
        bob_job.get_client_certificate()
    assert exc.value.hresult == RPC_X_BAD_STUB_DATA
    assert bob_job.remove_credentials(AuthTarget.SERVER, AuthScheme.BASIC) == S_FALSE  # alice's pair is gone
    row = w.svc.store.conn.execute(
        "SELECT owner_sid, custom_headers, notify_program FROM jobs WHERE id = ?", (rec.key,)
    ).fetchone()
    assert row == (w.bob_sid, None, None)
    assert job_id in _ids(w.bob_e)
    assert job_id not in _ids(w.alice)
    with pytest.raises(BitsError) as exc:
        w.alice.get_job(job_id)
    assert exc.value.hresult == E_ACCESSDENIED


def test_T43_non_elevated_callers_holding_a_pointer_cannot_take_ownership(w: World) -> None:
    """T43's first two columns with the call actually made: alice (the owner, a standard user) and bob-F (an
    administrator's filtered token) reach alice's job pointer — bob-F through a proxy with dynamic cloaking,
    as a marshalled pointer would give him — and TakeOwnership → E_ACCESSDENIED for both; the owner is
    unchanged. Only an elevated administrator may take ownership
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-takeownership)."""
    alice = w.svc.logon(w.svc.account("alice"))
    bob = w.svc.logon(w.svc.account("bob"))
    cloaked = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
    _, job = w.svc.connect(alice.token, blanket=cloaked).create_job("a", JobType.DOWNLOAD)
    for token in (alice.token, bob.token):
        with w.svc.impersonate(token), pytest.raises(BitsError) as exc:
            job.take_ownership()
        assert exc.value.hresult == E_ACCESSDENIED
    assert job.get_owner() == w.alice_sid
    with w.svc.impersonate(bob.elevated_token):
        job.take_ownership()
        assert job.get_owner() == w.bob_sid


@pytest.mark.parametrize("final", ["cancel", "complete"])
def test_T44_take_ownership_of_a_final_job_is_invalid_state(w: World, final: str) -> None:
    """T44 (TAKE): job CANCELLED or ACKNOWLEDGED, pointer still held → bob-E TakeOwnership → 0x80200002
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-takeownership)."""
    job_id, _ = w.alice.create_job("a", JobType.DOWNLOAD)
    bob_job = w.bob_e.get_job(job_id)
    getattr(bob_job, final)()
    with pytest.raises(BitsError) as exc:
        bob_job.take_ownership()
    assert exc.value.hresult == BG_E_INVALID_STATE


def test_T45_after_takeover_non_elevated_owner_cannot_modify(w: World) -> None:
    """T45 (TAKE, UAC): after T43, bob-F SetDisplayName → E_ACCESSDENIED (reads stay allowed, A12)
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-takeownership,
    https://learn.microsoft.com/en-us/windows/win32/bits/user-account-control-and-bits)."""
    job_id, _ = _loaded_alice_job(w)
    w.bob_e.get_job(job_id).take_ownership()
    bob_f_job = w.bob_f.get_job(job_id)
    assert bob_f_job.get_display_name() == "a"
    with pytest.raises(BitsError) as exc:
        bob_f_job.set_display_name("x")
    assert exc.value.hresult == E_ACCESSDENIED
    assert bob_f_job.get_display_name() == "a"


def test_T46_elevated_job_is_read_only_without_elevation(w: World) -> None:
    """T46 (UAC, WSD-IDX, VAN; A12): bob-E created job; bob-F GetState → S_OK, SetNotifyInterface →
    E_ACCESSDENIED; bob-E may still modify it
    (https://learn.microsoft.com/en-us/windows/win32/bits/user-account-control-and-bits)."""
    job_id, _ = w.bob_e.create_job("b", JobType.DOWNLOAD)
    bob_f_job = w.bob_f.get_job(job_id)
    assert bob_f_job.get_state() == 3
    with pytest.raises(BitsError) as exc:
        bob_f_job.set_notify_interface(object())
    assert exc.value.hresult == E_ACCESSDENIED
    for call in (lambda: bob_f_job.cancel(), lambda: bob_f_job.set_description("d")):
        with pytest.raises(BitsError) as exc:
            call()
        assert exc.value.hresult == E_ACCESSDENIED
    assert job_id in _ids(w.bob_f)
    w.bob_e.get_job(job_id).set_notify_interface(None)


def test_T47_local_system_jobs_are_out_of_reach_of_an_elevated_admin(w: World) -> None:
    """T47 (UAC, WSD-RESET): SYS-owned job — bob-E Cancel / SetDisplayName / TakeOwnership →
    E_ACCESSDENIED; bob-E EnumJobs(1) lists it and reads work
    (https://learn.microsoft.com/en-us/windows/win32/bits/user-account-control-and-bits)."""
    job_id, sys_job = w.system.create_job("wu", JobType.DOWNLOAD)
    bob_job = w.bob_e.get_job(job_id)
    assert bob_job.get_display_name() == "wu"
    for call in (bob_job.cancel, lambda: bob_job.set_display_name("x"), bob_job.take_ownership):
        with pytest.raises(BitsError) as exc:
            call()
        assert exc.value.hresult == E_ACCESSDENIED
    assert job_id in _ids(w.bob_e, BG_JOB_ENUM_ALL_USERS)
    assert sys_job.get_state() == 3
    sys_job.set_display_name("still mine")
    assert bob_job.get_display_name() == "still mine"


def test_T48_restricted_token_cannot_create_or_modify(w: World) -> None:
    """T48 (UNC, NEW; HRESULT inferred): a restricted token's CreateJob → E_ACCESSDENIED; it cannot
    modify its own user's job either
    (https://learn.microsoft.com/en-us/windows/win32/bits/users-and-network-connections,
    https://learn.microsoft.com/en-us/windows/win32/bits/what-s-new)."""
    svc = w.svc
    session = svc.logon(svc.add_user("dave"))
    restricted = svc.connect(restricted_copy(session.token))
    with pytest.raises(BitsError) as exc:
        restricted.create_job("r", JobType.DOWNLOAD)
    assert exc.value.hresult == E_ACCESSDENIED
    job_id, _ = svc.connect(session.token).create_job("d", JobType.DOWNLOAD)
    held = restricted.get_job(job_id)
    with pytest.raises(BitsError) as exc:
        held.set_description("x")
    assert exc.value.hresult == E_ACCESSDENIED
    assert svc.queue.count_owned(session.token.user_sid) == 1


def test_T53_admin_completes_another_users_job_and_owns_the_files(w: World, tmp_path: Path) -> None:
    """T53 (COMPLETE): alice's job TRANSFERRED; bob-E Complete → S_OK, ACKNOWLEDGED, and the files belong
    to bob: "The owner of the file is the user who made the call. For example, if an administrator
    completes someone else's job, the administrator—not the owner of the job—owns the file"
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-complete). The job
    stays alice's; a job its owner completes gives the owner the file."""
    w.svc.network.register("http://server/report.bin", b"report")
    job_id, alice_job = w.alice.create_job("a", JobType.DOWNLOAD)
    alice_job.add_file("http://server/report.bin", str(tmp_path / "report.bin"))
    alice_job.resume()
    w.svc.run_until_idle()
    assert alice_job.get_state() is JobState.TRANSFERRED
    assert w.svc.filesystem.owner(tmp_path / "report.bin") is None  # not available before Complete
    bob_job = w.bob_e.get_job(job_id)
    assert bob_job.complete() == 0  # S_OK
    assert alice_job.get_state() is JobState.ACKNOWLEDGED
    assert bob_job.get_owner() == w.alice_sid
    assert (tmp_path / "report.bin").read_bytes() == b"report"
    assert w.svc.filesystem.owner(tmp_path / "report.bin") == w.bob_sid
    assert w.svc.filesystem.owner(str(tmp_path / "report.bin")) == w.bob_sid

    _, own_job = w.alice.create_job("own", JobType.DOWNLOAD)
    own_job.add_file("http://server/report.bin", str(tmp_path / "own.bin"))
    own_job.resume()
    w.svc.run_until_idle()
    assert own_job.complete() == 0
    assert w.svc.filesystem.owner(tmp_path / "own.bin") == w.alice_sid


def test_T53_admin_completes_another_users_upload_reply_and_owns_the_reply(w: World, tmp_path: Path) -> None:
    """T53 for the reply file, which Complete makes available too (same page)."""
    w.svc.network.register("http://server/up", upload=True, reply=b"REPLY")
    (tmp_path / "up.txt").write_bytes(b"data")
    job_id, alice_job = w.alice.create_job("u", JobType.UPLOAD_REPLY)
    alice_job.add_file("http://server/up", str(tmp_path / "up.txt"))
    alice_job.query_interface(IBackgroundCopyJob2).set_reply_file_name(str(tmp_path / "reply.txt"))
    alice_job.resume()
    w.svc.run_until_idle()
    assert alice_job.get_state() is JobState.TRANSFERRED
    assert w.bob_e.get_job(job_id).complete() == 0
    assert (tmp_path / "reply.txt").read_bytes() == b"REPLY"
    assert w.svc.filesystem.owner(tmp_path / "reply.txt") == w.bob_sid
    assert w.svc.filesystem.owner(tmp_path / "up.txt") is None  # the upload source is nobody's new file


def test_other_users_jobs_denied_on_every_write_security_6_3(w: World) -> None:
    """docs/reference/security.md#ownership: a standard user cannot modify another user's job; an elevated admin can
    without TakeOwnership (TAKE), and the owner stays the creator."""
    job_id, _ = w.alice.create_job("a", JobType.DOWNLOAD)
    admin_job = w.bob_e.get_job(job_id)
    admin_job.set_description("by admin")
    admin_job.add_file("http://example.com/f", "C:\\data\\f")
    assert admin_job.get_owner() == w.alice_sid
    assert w.alice.get_job(job_id).get_description() == "by admin"


def test_admin_owned_job_owner_facts_security_6_1(w: World) -> None:
    """docs/reference/security.md#ownership (ELEV, IL): GetOwnerElevationState / GetOwnerIntegrityLevel of the creating
    token."""
    _, a = w.alice.create_job("a", JobType.DOWNLOAD)
    _, b = w.bob_e.create_job("b", JobType.DOWNLOAD)
    _, s = w.system.create_job("s", JobType.DOWNLOAD)
    assert (a.get_owner_elevation_state(), a.get_owner_integrity_level()) == (False, 0x2000)
    assert (b.get_owner_elevation_state(), b.get_owner_integrity_level()) == (True, 0x3000)
    assert (s.get_owner_elevation_state(), s.get_owner_integrity_level()) == (True, 0x4000)
