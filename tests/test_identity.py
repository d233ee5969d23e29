"""Accounts, tokens, logon sessions, proxy blankets and cloaking (docs/reference/security.md#admin,
#blanket, #logon; docs/design.md#identity). Source keys in capitals: docs/reference/sources.md."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from emulator import (
    AccessToken,
    AccountKind,
    BitsError,
    BitsService,
    Blanket,
    Cloaking,
    ElevationType,
    IBackgroundCopyJob2,
    IBackgroundCopyManager,
    ImpersonationLevel,
    IntegrityLevel,
    JobType,
    Logoff,
    Logon,
)
from emulator.identity import sids
from emulator.identity.tokens import GroupAttributes

E_ACCESSDENIED = 0x80070005
E_INVALIDARG = 0x80070057

IMPERSONATE_DYNAMIC = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)


def _admin_group(token: AccessToken) -> GroupAttributes:
    groups = [g for g in token.groups if g.sid == sids.ADMINISTRATORS]
    assert len(groups) == 1
    return groups[0].attributes


def test_user_accounts_have_realistic_sids_security_1_3(svc: BitsService) -> None:
    """docs/reference/security.md#admin / issue 2: add_user gives S-1-5-21-<machine>-<rid>, RIDs from 1001 upwards."""
    alice = svc.add_user("alice")
    bob = svc.add_user("bob", admin=True)
    assert re.fullmatch(r"S-1-5-21-\d+-\d+-\d+-\d{4,}", alice.sid)
    assert alice.sid.rsplit("-", 1)[0] == bob.sid.rsplit("-", 1)[0]
    assert int(bob.sid.rsplit("-", 1)[1]) == int(alice.sid.rsplit("-", 1)[1]) + 1
    assert alice.name == "alice" and alice.kind is AccountKind.USER
    assert svc.account("ALICE") is alice and svc.account(alice.sid) is alice
    with pytest.raises(ValueError):
        svc.add_user("alice")
    with pytest.raises(TypeError):
        svc.add_user(5)  # type: ignore[arg-type]


def test_well_known_service_accounts_security_1_3(svc: BitsService) -> None:
    """docs/reference/security.md#admin: LocalSystem S-1-5-18, LocalService S-1-5-19, NetworkService S-1-5-20."""
    assert svc.local_system.sid == "S-1-5-18"
    assert svc.local_service.sid == "S-1-5-19"
    assert svc.network_service.sid == "S-1-5-20"


def test_filtered_and_elevated_admin_tokens_security_1_3(svc: BitsService) -> None:
    """docs/reference/security.md#admin (UACHOW): an admin's .token is filtered — S-1-5-32-544 deny-only, medium IL,
    ADM false; .elevated_token has it enabled, high IL, ADM true."""
    s = svc.logon(svc.add_user("bob", admin=True))
    f, e = s.token, s.elevated_token
    assert f is not e
    assert f.user_sid == e.user_sid
    assert _admin_group(f) & GroupAttributes.USE_FOR_DENY_ONLY
    assert not _admin_group(f) & GroupAttributes.ENABLED
    assert f.integrity is IntegrityLevel.MEDIUM and f.elevation_type is ElevationType.LIMITED
    assert f.is_admin is False and f.elevated is False
    assert _admin_group(e) & GroupAttributes.ENABLED
    assert e.integrity is IntegrityLevel.HIGH and e.elevation_type is ElevationType.FULL
    assert e.is_admin is True


def test_standard_user_has_one_token_security_1_3(svc: BitsService) -> None:
    """Issue 2: for a non-admin both .token and .elevated_token are the same token."""
    s = svc.logon(svc.add_user("alice"))
    assert s.token is s.elevated_token
    assert s.token.is_admin is False and s.token.integrity is IntegrityLevel.MEDIUM
    assert not any(g.sid == sids.ADMINISTRATORS for g in s.token.groups)


def test_service_account_tokens_security_1_3(svc: BitsService) -> None:
    """docs/reference/security.md#admin ADM: true for LocalSystem, false for LocalService and NetworkService."""
    assert svc.logon(svc.local_system).token.is_admin is True
    assert svc.logon(svc.local_system).token.integrity is IntegrityLevel.SYSTEM
    assert svc.logon(svc.local_service).token.is_admin is False
    assert svc.logon(svc.network_service).token.is_admin is False
    assert svc.logon(svc.network_service).token.is_service_account


def test_service_accounts_are_always_logged_on_security_6_2(svc: BitsService) -> None:
    """docs/reference/security.md#logon (UNC, SVC): logon of a service account returns its service session; it cannot be
    logged off."""
    s1 = svc.logon(svc.network_service)
    s2 = svc.logon(svc.network_service)
    assert s1 is s2
    assert s1.token.user_sid == "S-1-5-20"
    assert svc.logon(svc.local_system).id == 0x3E7
    with pytest.raises(ValueError, match="always logged on"):
        svc.logoff(s1)
    assert svc.logon(svc.network_service).active


def test_logoff_publishes_an_event_and_twice_is_an_error_issue_2(svc: BitsService) -> None:
    """Issue 2: logon/logoff publish events on the bus; logging off twice or an unknown session is a
    clear error."""
    seen: list[object] = []
    svc.bus.subscribe(Logon, seen.append)
    svc.bus.subscribe(Logoff, seen.append)
    alice = svc.add_user("alice")
    s = svc.logon(alice)
    svc.logoff(s)
    assert [type(e) for e in seen] == [Logon, Logoff]
    assert isinstance(seen[1], Logoff) and seen[1].session_id == s.id and seen[1].user_sid == alice.sid
    assert not s.active
    with pytest.raises(ValueError, match="already logged off"):
        svc.logoff(s)
    with BitsService() as other:
        foreign = other.logon(other.add_user("zed"))
    with pytest.raises(KeyError):
        svc.logoff(foreign)
    with pytest.raises(TypeError):
        svc.logoff("session")  # type: ignore[arg-type]
    assert len(seen) == 2


def test_default_interactive_user_is_logged_on_issue_2(svc: BitsService) -> None:
    """Issue 2: a default interactive standard user is logged on at start (svc.current_session)."""
    s = svc.current_session
    assert s.active and s.token.is_admin is False
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    assert job.get_owner() == s.token.user_sid


def test_default_blanket_is_identify_without_cloaking_security_3(svc: BitsService) -> None:
    """docs/reference/security.md#blanket (CSD, LIL): without CoInitializeSecurity COM uses IDENTIFY, no cloaking."""
    mgr = svc.connect()
    assert mgr.blanket == Blanket(ImpersonationLevel.IDENTIFY, Cloaking.NONE)
    assert ImpersonationLevel.ANONYMOUS.value == 1 and ImpersonationLevel.DELEGATE.value == 4
    assert Cloaking.STATIC.value == 0x20 and Cloaking.DYNAMIC.value == 0x40
    _, job = mgr.create_job("j", JobType.DOWNLOAD)
    assert job.blanket == Blanket(ImpersonationLevel.IDENTIFY, Cloaking.NONE)


def test_T25_static_and_dynamic_cloaking_together_is_e_invalidarg(svc: BitsService) -> None:
    """T25 (EOAC, CSPB): CoSetProxyBlanket with STATIC|DYNAMIC → E_INVALIDARG; bad levels too."""
    mgr = svc.connect()
    for bad in (
        Blanket(ImpersonationLevel.IMPERSONATE, 0x60),
        Blanket(ImpersonationLevel.IMPERSONATE, 0x10),
        Blanket(5, Cloaking.NONE),
    ):
        with pytest.raises(BitsError) as exc:
            mgr.set_blanket(bad)
        assert exc.value.hresult == E_INVALIDARG
        with pytest.raises(BitsError) as exc:
            svc.connect(blanket=bad)
        assert exc.value.hresult == E_INVALIDARG
    assert mgr.blanket == Blanket()
    with pytest.raises(TypeError):
        mgr.set_blanket((3, 0x40))  # type: ignore[arg-type]


def test_anonymous_is_access_denied_on_every_call_security_3(svc: BitsService) -> None:
    """docs/reference/security.md#blanket (CONN) / A4: a proxy at ANONYMOUS → E_ACCESSDENIED on every call."""
    good = svc.connect()
    job_id, job = good.create_job("j", JobType.DOWNLOAD)
    job.add_file("http://example.com/f", "C:\\data\\f")
    enum = good.enum_jobs()
    files = job.enum_files()
    anon = Blanket(ImpersonationLevel.ANONYMOUS)
    mgr = svc.connect(blanket=anon)
    for obj in (job, enum, files):
        obj.set_blanket(anon)
    calls: list[Callable[[], object]] = [
        lambda: mgr.create_job("x", JobType.DOWNLOAD),
        lambda: mgr.get_job(job_id),
        lambda: mgr.enum_jobs(),
        lambda: mgr.get_error_description(0x80200001, 0x0409),
        job.get_state,
        job.get_owner,
        job.get_progress,
        lambda: job.set_description("x"),
        job.resume,
        job.cancel,
        lambda: enum.next(1),
        enum.get_count,
        enum.reset,
        files.get_count,
        lambda: mgr.query_interface(IBackgroundCopyManager),
        lambda: job.query_interface(IBackgroundCopyJob2),
    ]
    for call in calls:
        with pytest.raises(BitsError) as exc:
            call()
        assert exc.value.hresult == E_ACCESSDENIED
    assert good.get_job(job_id).get_state() == 3
    assert len(svc.queue.jobs) == 1


def test_impersonation_with_dynamic_cloaking_is_the_thread_identity_security_3(svc: BitsService) -> None:
    """docs/reference/security.md#blanket (CLOAK, EOAC): dynamic cloaking at IMPERSONATE → BITS sees the thread token,
    per call."""
    alice = svc.logon(svc.add_user("alice")).token
    mgr = svc.connect(blanket=IMPERSONATE_DYNAMIC)
    with svc.impersonate(alice):
        assert svc.thread_token is alice
        ja, _ = mgr.create_job("as alice", JobType.DOWNLOAD)
    assert svc.thread_token is None
    jp, _ = mgr.create_job("as process", JobType.DOWNLOAD)
    assert svc.queue.jobs[ja].owner_sid == alice.user_sid
    assert svc.queue.jobs[jp].owner_sid == svc.current_session.token.user_sid
    with pytest.raises(BitsError) as exc:
        mgr.get_job(ja)  # not impersonating now: the process user may not open alice's job
    assert exc.value.hresult == E_ACCESSDENIED


def test_impersonation_without_cloaking_is_the_process_identity_security_3(svc: BitsService) -> None:
    """docs/reference/security.md#blanket (CLOAK): no cloaking → process token regardless of impersonation; IDENTIFY
    ignores cloaking (cloaking only means something at IMPERSONATE/DELEGATE)."""
    alice = svc.logon(svc.add_user("alice")).token
    for blanket in (
        Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.NONE),
        Blanket(ImpersonationLevel.IDENTIFY, Cloaking.DYNAMIC),
    ):
        mgr = svc.connect(blanket=blanket)
        with svc.impersonate(alice):
            _, job = mgr.create_job("j", JobType.DOWNLOAD)
        assert job.get_owner() == svc.current_session.token.user_sid


def test_T24_static_cloaking_fixes_the_identity_at_set_blanket(svc: BitsService) -> None:
    """T24 (CLOAK, EOAC): static cloaking set while not impersonating keeps the process identity; set
    while impersonating keeps that thread identity afterwards."""
    alice = svc.logon(svc.add_user("alice")).token
    static = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.STATIC)
    mgr = svc.connect()
    mgr.set_blanket(static)
    with svc.impersonate(alice):
        _, j1 = mgr.create_job("j1", JobType.DOWNLOAD)
    assert j1.get_owner() == svc.current_session.token.user_sid
    mgr2 = svc.connect()
    with svc.impersonate(alice):
        mgr2.set_blanket(static)
    j2, _ = mgr2.create_job("j2", JobType.DOWNLOAD)
    assert svc.queue.jobs[j2].owner_sid == alice.user_sid


def test_cloaking_is_not_inherited_by_new_pointers_security_3(svc: BitsService) -> None:
    """docs/reference/security.md#blanket (SVC): a blanket set on the manager does not carry over to the job pointer it
    returns; the job pointer starts from the process default."""
    alice = svc.logon(svc.add_user("alice")).token
    mgr = svc.connect()
    mgr.set_blanket(IMPERSONATE_DYNAMIC)
    with svc.impersonate(alice):
        _, job = mgr.create_job("alice's", JobType.DOWNLOAD)
        assert job.blanket == Blanket()
        with pytest.raises(BitsError) as exc:
            job.set_description("seen as the process user")
        assert exc.value.hresult == E_ACCESSDENIED
        job.set_blanket(IMPERSONATE_DYNAMIC)
        job.set_description("seen as alice")
        assert job.get_owner() == alice.user_sid


def test_process_wide_blanket_applies_to_every_new_pointer_security_3(svc: BitsService) -> None:
    """docs/reference/security.md#blanket (SBN): the CoInitializeSecurity blanket (connect(blanket=…)) applies to new
    proxies."""
    alice = svc.logon(svc.add_user("alice")).token
    mgr = svc.connect(blanket=IMPERSONATE_DYNAMIC)
    with svc.impersonate(alice):
        _, job = mgr.create_job("j", JobType.DOWNLOAD)
        assert job.blanket == IMPERSONATE_DYNAMIC
        job.set_description("ok")
        assert job.get_description() == "ok"


def test_connect_with_a_given_token_issue_2(svc: BitsService) -> None:
    """Issue 2: svc.connect(token) is the manager of a process running with that token."""
    bob = svc.logon(svc.add_user("bob", admin=True))
    _, job = svc.connect(bob.elevated_token).create_job("b", JobType.DOWNLOAD)
    assert job.get_owner() == bob.token.user_sid
    with pytest.raises(TypeError):
        svc.connect("bob")  # type: ignore[arg-type]
    with pytest.raises(TypeError), svc.impersonate("bob"):  # type: ignore[arg-type]
        pass


def test_impersonation_is_per_thread_design_3(svc: BitsService) -> None:
    """docs/design.md#identity: svc.impersonate sets the calling thread's token only (a context variable)."""
    import threading

    alice = svc.logon(svc.add_user("alice")).token
    seen: list[object] = []
    with svc.impersonate(alice):
        t = threading.Thread(target=lambda: seen.append(svc.thread_token))
        t.start()
        t.join()
        assert svc.thread_token is alice
        with svc.impersonate(svc.current_session.token) as inner:
            assert svc.thread_token is inner
        assert svc.thread_token is alice
    assert seen == [None]
    assert svc.thread_token is None


def test_low_integrity_process_cannot_create_the_manager_bits_core_2_1(svc: BitsService) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits/nn-bits-ibackgroundcopymanager: creating the manager
    from a low-integrity process fails with E_ACCESSDENIED (Vista+)."""
    import dataclasses

    token = svc.logon(svc.add_user("ie")).token
    low = dataclasses.replace(token, integrity=IntegrityLevel.LOW)
    with pytest.raises(BitsError) as exc:
        svc.connect(low)
    assert exc.value.hresult == E_ACCESSDENIED
    svc.connect(token)


def test_token_ids_are_numbered_per_service_emulator_choice() -> None:
    """Emulator choice: TokenId comes from the issuing service, so two services in one process are
    isolated (the same logons give the same ids) and every token of a service has its own id."""

    def ids(service: BitsService) -> list[int]:
        bob = service.logon(service.add_user("bob", admin=True))
        alice = service.logon(service.add_user("alice"))
        tokens = [service.logon(a).token for a in (service.local_system, service.local_service)]
        return [t.token_id for t in (*tokens, bob.token, bob.elevated_token, alice.token)]

    with BitsService() as one, BitsService() as two, BitsService() as three:
        first = ids(one)
        ids(three)  # a service in between changes nothing for the next one
        assert ids(two) == first
        assert len(set(first)) == len(first) and 0 not in first
