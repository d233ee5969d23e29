"""IBitsTokenOptions through the API: scenarios T01–T29 and T54 of docs/reference/security.md#scenarios.

Identities as the scenarios name them (source keys in capitals: docs/reference/sources.md): alice (standard), bob
(administrator; F = filtered token, E = elevated), charlie (standard), hU (non-admin helper), hA (helper with the
administrators SID enabled), SYS, NS, LS. Unless a scenario says otherwise every proxy has IMPERSONATE + dynamic
cloaking and the QueryInterface is made before impersonating the helper ("QI first").
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from emulator import (
    AccessToken,
    BitsError,
    BitsService,
    Blanket,
    Cloaking,
    HelperTokenChoices,
    IBitsTokenOptions,
    ImpersonationLevel,
    Job,
    JobType,
    TokenOptions,
)

S_OK = 0
E_ACCESSDENIED = 0x80070005
E_INVALIDARG = 0x80070057
E_NOINTERFACE = 0x80004002
CO_E_FAILEDTOIMPERSONATE = 0x80010123
BG_E_INVALID_STATE = 0x80200002

IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
LEGACY = "pre-1607"
V1607 = "post-1607"
BOTH = pytest.mark.parametrize("profile", [LEGACY, V1607])


@dataclass
class World:
    svc: BitsService
    alice: AccessToken
    charlie: AccessToken
    bob_f: AccessToken
    bob_e: AccessToken
    hu: AccessToken
    ha: AccessToken
    sys: AccessToken
    ns: AccessToken
    ls: AccessToken

    def job(self, owner: AccessToken, blanket: Blanket = IMP) -> Job:
        _, job = self.svc.connect(owner, blanket=blanket).create_job("job", JobType.DOWNLOAD)
        return job

    def options(self, job: Job) -> TokenOptions:
        return job.query_interface(IBitsTokenOptions)

    def set_helper(self, opts: TokenOptions, helper: AccessToken) -> None:
        with self.svc.impersonate(helper):
            opts.set_helper_token()


def make_world(profile: str, choices: HelperTokenChoices | None = None) -> World:
    svc = BitsService(profile, helper_token_choices=choices)
    bob = svc.logon(svc.add_user("bob", admin=True))
    return World(
        svc=svc,
        alice=svc.logon(svc.add_user("alice")).token,
        charlie=svc.logon(svc.add_user("charlie")).token,
        bob_f=bob.token,
        bob_e=bob.elevated_token,
        hu=svc.logon(svc.add_user("hU")).token,
        ha=svc.logon(svc.add_user("hA", admin=True)).elevated_token,
        sys=svc.logon(svc.local_system).token,
        ns=svc.logon(svc.network_service).token,
        ls=svc.logon(svc.local_service).token,
    )


@pytest.fixture
def legacy() -> World:
    return make_world(LEGACY)


@pytest.fixture
def v1607() -> World:
    return make_world(V1607)


def hr(exc: pytest.ExceptionInfo[BitsError]) -> int:
    return exc.value.hresult


# LEGACY: T01–T07 -----------------------------------------------------------------------------------------


def test_T01_legacy_standard_user_job_refuses_helper(legacy: World) -> None:
    opts = legacy.options(legacy.job(legacy.alice))
    with pytest.raises(BitsError) as e:
        legacy.set_helper(opts, legacy.hu)
    assert hr(e) == E_ACCESSDENIED


def test_T02_legacy_job_created_by_filtered_admin_refuses_helper(legacy: World) -> None:
    job = legacy.job(legacy.bob_f)
    assert job.get_owner_elevation_state() is False
    with pytest.raises(BitsError) as e:
        legacy.set_helper(legacy.options(job), legacy.hu)
    assert hr(e) == E_ACCESSDENIED


def test_T03_legacy_elevated_admin_job_takes_helper(legacy: World) -> None:
    opts = legacy.options(legacy.job(legacy.bob_e))
    legacy.set_helper(opts, legacy.hu)
    assert opts.get_helper_token_sid() == legacy.hu.user_sid


def test_T04_legacy_localsystem_job_takes_helper(legacy: World) -> None:
    opts = legacy.options(legacy.job(legacy.sys))
    legacy.set_helper(opts, legacy.hu)
    assert opts.get_helper_token_sid() == legacy.hu.user_sid


def test_T05_legacy_networkservice_job_refuses_helper(legacy: World) -> None:
    opts = legacy.options(legacy.job(legacy.ns))
    with pytest.raises(BitsError) as e:
        legacy.set_helper(opts, legacy.hu)
    assert hr(e) == E_ACCESSDENIED


def test_T06_legacy_admin_job_takes_admin_helper(legacy: World) -> None:
    opts = legacy.options(legacy.job(legacy.bob_e))
    legacy.set_helper(opts, legacy.ha)
    assert opts.get_helper_token_sid() == legacy.ha.user_sid


@pytest.mark.parametrize("call", ["get_helper_token_flags", "get_helper_token_sid", "clear_helper_token"])
def test_T07_legacy_standard_user_job_refuses_every_method(legacy: World, call: str) -> None:
    opts = legacy.options(legacy.job(legacy.alice))
    with pytest.raises(BitsError) as e:
        getattr(opts, call)()
    assert hr(e) == E_ACCESSDENIED
    with pytest.raises(BitsError) as e:
        opts.set_helper_token_flags(1)
    assert hr(e) == E_ACCESSDENIED


# V1607: T08–T19 ------------------------------------------------------------------------------------------


def test_T08_v1607_owner_sets_non_admin_helper(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    v1607.set_helper(opts, v1607.hu)
    assert opts.get_helper_token_sid() == v1607.hu.user_sid


def test_T09_v1607_owner_cannot_set_admin_helper(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    with pytest.raises(BitsError) as e:
        v1607.set_helper(opts, v1607.ha)
    assert hr(e) == E_ACCESSDENIED
    assert opts.get_helper_token_sid() is None


def test_T10_v1607_networkservice_job_takes_users_filtered_token(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.ns))
    v1607.set_helper(opts, v1607.bob_f)
    assert opts.get_helper_token_sid() == v1607.bob_f.user_sid


def test_T11_v1607_networkservice_job_refuses_elevated_admin_token(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.ns))
    with pytest.raises(BitsError) as e:
        v1607.set_helper(opts, v1607.bob_e)
    assert hr(e) == E_ACCESSDENIED


def test_T12_v1607_filtered_admin_token_is_not_admin(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    v1607.set_helper(opts, v1607.bob_f)
    assert opts.get_helper_token_sid() == v1607.bob_f.user_sid


def test_T13_v1607_elevated_admin_job_takes_admin_helper(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.bob_e))
    v1607.set_helper(opts, v1607.ha)
    assert opts.get_helper_token_sid() == v1607.ha.user_sid


def test_T14_v1607_localsystem_sets_admin_helper_on_its_job(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.sys))
    v1607.set_helper(opts, v1607.ha)
    assert opts.get_helper_token_sid() == v1607.ha.user_sid


def test_T15_v1607_qi_made_while_impersonating_the_helper_is_denied(v1607: World) -> None:
    job = v1607.job(v1607.alice)
    with v1607.svc.impersonate(v1607.hu):
        opts = v1607.options(job)
        assert opts.query_identity.user_sid == v1607.hu.user_sid
        with pytest.raises(BitsError) as e:
            opts.set_helper_token()
    assert hr(e) == E_ACCESSDENIED


def _alice_job_with_admin_helper() -> tuple[World, Job]:
    """T16–T18's set-up: alice's job whose helper is hA, "set earlier by an admin path". No default path
    lets anyone but alice set a helper on her job, so bob-E sets it under the permissive reading of A2."""
    w = make_world(V1607, HelperTokenChoices(admin_may_set_helper_on_any_job=True))
    job = w.job(w.alice)
    bobs_view = w.svc.connect(w.bob_e, blanket=IMP).get_job(job.get_id())
    w.set_helper(w.options(bobs_view), w.ha)
    return w, job


def test_T16_v1607_owner_cannot_set_flags_while_admin_helper_is_set() -> None:
    w, job = _alice_job_with_admin_helper()
    opts = w.options(job)
    with pytest.raises(BitsError) as e:
        opts.set_helper_token_flags(1)
    assert hr(e) == E_ACCESSDENIED
    assert opts.get_helper_token_flags() == 0


def test_T17_v1607_elevated_admin_sets_flags_on_that_job() -> None:
    w, job = _alice_job_with_admin_helper()
    opts = w.options(w.svc.connect(w.bob_e, blanket=IMP).get_job(job.get_id()))
    opts.set_helper_token_flags(1)
    assert opts.get_helper_token_flags() == 1


def test_T18_v1607_owner_reads_and_clears_despite_admin_helper() -> None:
    w, job = _alice_job_with_admin_helper()
    opts = w.options(job)
    assert opts.get_helper_token_sid() == w.ha.user_sid
    assert opts.get_helper_token_flags() == 0
    opts.clear_helper_token()
    assert opts.get_helper_token_sid() is None


def test_v1607_non_elevated_owner_clears_the_token_of_a_job_created_elevated(v1607: World) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-clearhelpertoken:
    from 1607 the owner's SID at QueryInterface is enough to clear (no administrator or elevation condition)."""
    w = v1607
    job = w.job(w.bob_e)
    w.set_helper(w.options(job), w.hu)
    w.options(job).set_helper_token_flags(1)
    mine = w.svc.connect(w.bob_f, blanket=IMP).get_job(job.get_id())
    opts = w.options(mine)
    assert opts.get_helper_token_flags() == 1
    assert opts.get_helper_token_sid() == w.hu.user_sid
    assert opts.clear_helper_token() is None  # S_OK
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 1  # Clear keeps the flags (same page)
    with pytest.raises(BitsError) as exc:  # still not a write under the UAC rule: SetHelperTokenFlags
        opts.set_helper_token_flags(0)
    assert hr(exc) == E_ACCESSDENIED


def test_legacy_non_elevated_owner_cannot_clear_the_token_of_a_job_created_elevated(legacy: World) -> None:
    """Same page: before 1607 clearing "effectively required" administrator privileges."""
    w = legacy
    job = w.job(w.bob_e)
    w.set_helper(w.options(job), w.hu)
    opts = w.options(w.svc.connect(w.bob_f, blanket=IMP).get_job(job.get_id()))
    with pytest.raises(BitsError) as exc:
        opts.clear_helper_token()
    assert hr(exc) == E_ACCESSDENIED
    assert w.options(job).get_helper_token_sid() == w.hu.user_sid


@pytest.mark.parametrize(
    "call",
    ["set_helper_token", "clear_helper_token", "get_helper_token_flags", "get_helper_token_sid", "flags"],
)
def test_T19_v1607_another_standard_user_is_denied_everything(v1607: World, call: str) -> None:
    job = v1607.job(v1607.alice)
    # charlie's identity reaches alice's job pointer (as through a marshalled proxy): the QI is his.
    with v1607.svc.impersonate(v1607.charlie):
        opts = v1607.options(job)
    with pytest.raises(BitsError) as e:
        if call == "flags":
            opts.set_helper_token_flags(1)
        else:
            getattr(opts, call)()
    assert hr(e) == E_ACCESSDENIED


# both profiles: T20–T29 ----------------------------------------------------------------------------------


@BOTH
def test_T20_identify_level_fails_only_set_helper_token(profile: str) -> None:
    w = make_world(profile)
    job = w.job(w.bob_e, blanket=Blanket())  # never called CoInitializeSecurity: IDENTIFY, no cloaking
    job.set_description("other calls work at IDENTIFY")
    opts = w.options(job)
    assert opts.blanket.impersonation_level == ImpersonationLevel.IDENTIFY
    with pytest.raises(BitsError) as e:
        w.set_helper(opts, w.hu)
    assert hr(e) == CO_E_FAILEDTOIMPERSONATE
    assert opts.get_helper_token_flags() == 0
    assert opts.get_helper_token_sid() is None


@BOTH
def test_T21_anonymous_is_refused_on_every_call(profile: str) -> None:
    w = make_world(profile)
    job = w.job(w.bob_e)
    opts = w.options(job)
    opts.set_blanket(Blanket(ImpersonationLevel.ANONYMOUS))
    for call in ("set_helper_token", "clear_helper_token", "get_helper_token_flags", "get_helper_token_sid"):
        with pytest.raises(BitsError) as e:
            getattr(opts, call)()
        assert hr(e) == E_ACCESSDENIED
    with pytest.raises(BitsError) as e:
        opts.set_helper_token_flags(1)
    assert hr(e) == E_ACCESSDENIED
    job.set_blanket(Blanket(ImpersonationLevel.ANONYMOUS))
    with pytest.raises(BitsError) as e:
        job.query_interface(IBitsTokenOptions)
    assert hr(e) == E_ACCESSDENIED


@BOTH
def test_T22_no_cloaking_captures_the_process_identity(profile: str) -> None:
    w = make_world(profile)
    opts = w.options(w.job(w.bob_e, blanket=Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.NONE)))
    w.set_helper(opts, w.hu)
    assert opts.get_helper_token_sid() == w.bob_e.user_sid


@BOTH
def test_T23_cloaking_on_the_manager_only_is_not_inherited(profile: str) -> None:
    """T23 (docs/reference/security.md#t23), both rule sets: dynamic cloaking set only on the manager's proxy is
    not inherited by the job and IBitsTokenOptions pointers, so SetHelperToken while impersonating hU captures
    the process identity, as in T22 (https://learn.microsoft.com/en-us/windows/win32/bits/service-accounts-and-bits,
    https://learn.microsoft.com/en-us/windows/win32/com/cloaking)."""
    w = make_world(profile)
    manager = w.svc.connect(w.bob_e, blanket=Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.NONE))
    manager.set_blanket(IMP)
    _, job = manager.create_job("job", JobType.DOWNLOAD)
    opts = w.options(job)
    assert opts.blanket.cloaking == Cloaking.NONE
    w.set_helper(opts, w.hu)
    assert opts.get_helper_token_sid() == w.bob_e.user_sid


@BOTH
def test_T24_static_cloaking_fixes_the_identity_at_set_blanket(profile: str) -> None:
    w = make_world(profile)
    opts = w.options(w.job(w.bob_e))
    opts.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.STATIC))
    w.set_helper(opts, w.hu)
    assert opts.get_helper_token_sid() == w.bob_e.user_sid
    # …whereas static cloaking set while impersonating fixes the helper.
    with w.svc.impersonate(w.hu):
        opts.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.STATIC))
    opts.set_helper_token()
    assert opts.get_helper_token_sid() == w.hu.user_sid


@BOTH
def test_T25_static_and_dynamic_cloaking_together_is_invalidarg(profile: str) -> None:
    w = make_world(profile)
    opts = w.options(w.job(w.bob_e))
    with pytest.raises(BitsError) as e:
        opts.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.STATIC | Cloaking.DYNAMIC))
    assert hr(e) == E_INVALIDARG
    assert opts.blanket == w.options(w.job(w.bob_e)).blanket


@pytest.mark.parametrize("caps", [0x2, 0x4, 0x8, 0x1000, 0x10000, -1])
def test_set_blanket_refuses_capabilities_cosetproxyblanket_does_not_take(v1607: World, caps: int) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cosetproxyblanket: only
    MUTUAL_AUTH, STATIC/DYNAMIC_CLOAKING, ANY_AUTHORITY, MAKE_FULLSIC and DEFAULT may be set; others fail
    with E_INVALIDARG, for ``set_blanket`` as for pywin32's SetBlanket (one rule: identity/callers.py)."""
    opts = v1607.options(v1607.job(v1607.bob_e))
    before = opts.blanket
    with pytest.raises(BitsError) as e:
        opts.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, caps))
    assert hr(e) == E_INVALIDARG
    assert opts.blanket == before


@pytest.mark.parametrize(
    ("caps", "cloaking"), [(0x1, Cloaking.NONE), (0x841, Cloaking.DYNAMIC), (0x1A0, Cloaking.STATIC)]
)
def test_set_blanket_keeps_the_cloaking_of_settable_capabilities(v1607: World, caps: int, cloaking: Cloaking) -> None:
    """Same page: the settable flags are accepted; only the cloaking bits matter to BITS (emulator choice)."""
    opts = v1607.options(v1607.job(v1607.bob_e))
    opts.set_blanket(Blanket(ImpersonationLevel.IMPERSONATE, caps))
    assert opts.blanket == Blanket(ImpersonationLevel.IMPERSONATE, cloaking)


@BOTH
def test_T26_fresh_job_has_no_token_and_no_flags(profile: str) -> None:
    """T26 (docs/reference/security.md#t26), both rule sets: a fresh job → GetHelperTokenSid S_OK with NULL
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-gethelpertokensid;
    the HRESULT is reading A8) and GetHelperTokenFlags 0 (reading A7)."""
    w = make_world(profile)
    opts = w.options(w.job(w.bob_e))
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 0


@BOTH
@pytest.mark.parametrize("flags", [0, 1, 2, 3])
def test_T27_flags_round_trip(profile: str, flags: int) -> None:
    """T27 (docs/reference/security.md#t27), both rule sets: SetHelperTokenFlags(3) is accepted (the flags are
    a bit set: https://learn.microsoft.com/en-us/windows/win32/bits/helper-tokens-for-bits-transfer-jobs) and
    GetHelperTokenFlags returns what was set, 0 included
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags)."""
    w = make_world(profile)
    opts = w.options(w.job(w.bob_e))
    opts.set_helper_token_flags(3)
    opts.set_helper_token_flags(flags)
    assert opts.get_helper_token_flags() == flags


@BOTH
@pytest.mark.parametrize("flags", [4, 7, 0x10, 0x80000000])
def test_T28_flags_outside_the_bit_set_are_invalidarg(profile: str, flags: int) -> None:
    """T28 (docs/reference/security.md#t28), both rule sets: a flag outside BG_TOKEN_LOCAL_FILE | BG_TOKEN_NETWORK
    → E_INVALIDARG 0x80070057, the stored flags unchanged (emulator choice, reading A6: the SetHelperTokenFlags
    page names no error for it)."""
    w = make_world(profile)
    opts = w.options(w.job(w.bob_e))
    opts.set_helper_token_flags(2)
    with pytest.raises(BitsError) as e:
        opts.set_helper_token_flags(flags)
    assert hr(e) == E_INVALIDARG
    assert opts.get_helper_token_flags() == 2


@BOTH
def test_T29_clear_keeps_the_flags(profile: str) -> None:
    w = make_world(profile)
    opts = w.options(w.job(w.bob_e))
    w.set_helper(opts, w.hu)
    opts.set_helper_token_flags(1)
    opts.clear_helper_token()
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 1


def test_T29_v1607_owner_path(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    v1607.set_helper(opts, v1607.hu)
    opts.set_helper_token_flags(1)
    opts.clear_helper_token()
    assert (opts.get_helper_token_sid(), opts.get_helper_token_flags()) == (None, 1)


# T54 and the interface itself ----------------------------------------------------------------------------


def test_T54_bits_3_host_has_no_token_options() -> None:
    """T54 (docs/reference/security.md#t54): on a BITS 3.0 host (the ``vista`` profile, the only one before BITS
    4.0, hence before 1607: the row's "both" has no from-1607 case) QueryInterface(IBitsTokenOptions) on a job
    → E_NOINTERFACE 0x80004002; the interface needs BITS 4.0
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nn-bits4_0-ibitstokenoptions)."""
    with BitsService("vista") as svc:
        assert svc.profile.bits_version < (4, 0)
        _, job = svc.connect(blanket=IMP).create_job("job", JobType.DOWNLOAD)
        with pytest.raises(BitsError) as e:
            job.query_interface(IBitsTokenOptions)
        assert hr(e) == E_NOINTERFACE


@pytest.mark.parametrize("profile", ["win7", "win8.1", "win10-1511", "win10-1607", "win10-1809", "win11"])
def test_bits_4_and_later_have_token_options(profile: str) -> None:
    svc = BitsService(profile)
    _, job = svc.connect(blanket=IMP).create_job("job", JobType.DOWNLOAD)
    assert isinstance(job.query_interface(IBitsTokenOptions), TokenOptions)
    assert isinstance(job.query_interface("{9A2584C3-F7D2-457A-9A5E-22B67BFFC7D2}"), TokenOptions)


def test_token_options_answer_qi_for_the_job_too_com_symmetry(v1607: World) -> None:
    """QueryInterface is symmetric (IUnknown::QueryInterface rules): the token options obtained from a job
    answer IBackgroundCopyJob with that same job, and a Job4 QI is refused where the profile predates it."""
    from emulator import IBackgroundCopyJob, IBackgroundCopyJob5, Job

    job = v1607.job(v1607.alice)
    opts = v1607.options(job)
    assert isinstance(opts.query_interface(IBitsTokenOptions), TokenOptions)
    back = opts.query_interface(IBackgroundCopyJob)
    assert type(back) is Job
    assert back.get_id() == job.get_id()
    back.set_display_name("renamed through the token options")
    assert job.get_display_name() == "renamed through the token options"
    assert type(opts.query_interface(IBackgroundCopyJob5)) is Job


def test_token_options_answer_no_interface_of_another_object(v1607: World) -> None:
    """E_NOINTERFACE (0x80004002) for an interface that is neither the job's nor the token options'."""
    from emulator import IBackgroundCopyFile, IBackgroundCopyManager

    opts = v1607.options(v1607.job(v1607.alice))
    for iface in (IBackgroundCopyManager, IBackgroundCopyFile):
        with pytest.raises(BitsError) as e:
            opts.query_interface(iface)
        assert hr(e) == E_NOINTERFACE


@pytest.mark.parametrize("bad", ["1", 1.0, None, True])
def test_flags_of_the_wrong_type_raise_typeerror_before_anything(v1607: World, bad: object) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    with pytest.raises(TypeError):
        opts.set_helper_token_flags(bad)  # type: ignore[arg-type]
    assert opts.get_helper_token_flags() == 0


@pytest.mark.parametrize("bad", [-1, 1 << 32])
def test_flags_outside_a_dword_cannot_be_marshalled(v1607: World, bad: int) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    with pytest.raises(OverflowError):
        opts.set_helper_token_flags(bad)


@BOTH
@pytest.mark.parametrize("end", ["cancel", "complete"])
def test_A10_calls_on_a_final_job_are_invalid_state(profile: str, end: str) -> None:
    w = make_world(profile)
    job = w.job(w.bob_e)
    opts = w.options(job)
    job.add_file("http://server.example/a", "/tmp/bits-a10")
    getattr(job, end)()
    for call in ("set_helper_token", "clear_helper_token", "get_helper_token_flags", "get_helper_token_sid"):
        with pytest.raises(BitsError) as e, w.svc.impersonate(w.hu):
            getattr(opts, call)()
        assert hr(e) == BG_E_INVALID_STATE
    with pytest.raises(BitsError) as e:
        opts.set_helper_token_flags(1)
    assert hr(e) == BG_E_INVALID_STATE


def test_A11_take_ownership_keeps_token_and_flags(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    v1607.set_helper(opts, v1607.hu)
    opts.set_helper_token_flags(3)
    bobs = v1607.svc.connect(v1607.bob_e, blanket=IMP).get_job(opts._rec.id)
    bobs.take_ownership()
    assert bobs.get_owner() == v1607.bob_e.user_sid
    bob_opts = v1607.options(bobs)
    assert bob_opts.get_helper_token_sid() == v1607.hu.user_sid
    assert bob_opts.get_helper_token_flags() == 3


def test_helper_from_a_session_that_has_ended_is_refused(v1607: World) -> None:
    svc = v1607.svc
    session = svc.logon(svc.account("hU"))
    opts = v1607.options(v1607.job(v1607.alice))
    svc.logoff(session)
    with pytest.raises(BitsError) as e:
        v1607.set_helper(opts, session.token)
    assert hr(e) == E_ACCESSDENIED
    assert opts.get_helper_token_sid() is None


def test_setting_a_new_helper_replaces_the_old(v1607: World) -> None:
    opts = v1607.options(v1607.job(v1607.alice))
    v1607.set_helper(opts, v1607.hu)
    v1607.set_helper(opts, v1607.charlie)
    assert opts.get_helper_token_sid() == v1607.charlie.user_sid


def test_the_store_row_holds_the_helper_identity_and_session(v1607: World) -> None:
    job = v1607.job(v1607.alice)
    opts = v1607.options(job)
    v1607.set_helper(opts, v1607.bob_f)
    opts.set_helper_token_flags(2)
    row = v1607.svc.store.conn.execute(
        "SELECT helper_sid, helper_groups, helper_elevation, helper_integrity, helper_session_id, helper_flags "
        "FROM jobs WHERE id=?",
        (str(job.get_id()),),
    ).fetchone()
    sid, groups, elevation, integrity, session, flags = row
    assert sid == v1607.bob_f.user_sid
    assert ["S-1-5-32-544", 0x10] in __import__("json").loads(groups)  # deny-only, as in the token (SIDATTR)
    assert (elevation, integrity, session, flags) == (3, 0x2000, v1607.bob_f.logon_session_id, 2)
