"""IBitsTokenOptions decision tables, row by row: docs/reference/security.md#sethelpertoken (L1–L5,
N1–N8), #sethelpertokenflags, #get-and-clear, and readings A1–A6 (docs/reference/readings.md).

The rules are pure functions of the facts docs/reference/security.md#inputs names; these tests feed them those facts
directly.
"""

from __future__ import annotations

import pytest

from emulator.constants import ImpersonationLevel
from emulator.domain.tokens import Choices, Method, Subject, decide
from emulator.profiles import HelperTokenRules

LEGACY = HelperTokenRules.LEGACY
V1607 = HelperTokenRules.V1607
S_OK = 0x00000000
E_ACCESSDENIED = 0x80070005
E_INVALIDARG = 0x80070057
CO_E_FAILEDTOIMPERSONATE = 0x80010123
BG_E_INVALID_STATE = 0x80200002

OWNER = "S-1-5-21-1-2-3-1001"
OTHER = "S-1-5-21-1-2-3-1002"


def subject(*, qi_admin: bool, owner: bool, w: bool, owner_admin: bool) -> Subject:
    return Subject(
        qi_sid=OWNER if owner else OTHER,
        qi_admin=qi_admin,
        qi_can_write=w,
        owner_sid=OWNER,
        owner_admin=owner_admin,
    )


def code(rules: HelperTokenRules, method: Method, s: Subject, **kw: object) -> int:
    return decide(rules, method, s, **kw).hresult.value  # type: ignore[arg-type]  # kw are decide()s keywords


SET = Method.SET_HELPER_TOKEN
SET_FLAGS = Method.SET_HELPER_TOKEN_FLAGS
GET_FLAGS = Method.GET_HELPER_TOKEN_FLAGS
GET_SID = Method.GET_HELPER_TOKEN_SID
CLEAR = Method.CLEAR_HELPER_TOKEN


# SetHelperToken before 1607 (security.md#l1) ------------------------------------------------------------


@pytest.mark.parametrize("helper_admin", [False, True])
@pytest.mark.parametrize(
    ("qi_admin", "owner", "w"), [(True, False, True), (True, True, True), (False, True, True), (False, False, False)]
)
def test_L1_job_not_admin_owned_is_denied_whoever_calls(
    qi_admin: bool, owner: bool, w: bool, helper_admin: bool
) -> None:
    s = subject(qi_admin=qi_admin, owner=owner, w=w, owner_admin=False)
    assert code(LEGACY, SET, s, helper_is_admin=helper_admin) == E_ACCESSDENIED


@pytest.mark.parametrize("helper_admin", [False, True])
@pytest.mark.parametrize("owner", [False, True])
def test_L2_elevated_admin_on_admin_owned_job_any_helper(owner: bool, helper_admin: bool) -> None:
    s = subject(qi_admin=True, owner=owner, w=True, owner_admin=True)
    assert code(LEGACY, SET, s, helper_is_admin=helper_admin) == S_OK


def test_L3_same_user_no_longer_elevated_is_denied() -> None:
    s = subject(qi_admin=False, owner=True, w=False, owner_admin=True)
    assert code(LEGACY, SET, s) == E_ACCESSDENIED


def test_L4_standard_user_on_someone_elses_admin_job_is_denied() -> None:
    s = subject(qi_admin=False, owner=False, w=False, owner_admin=True)
    assert code(LEGACY, SET, s) == E_ACCESSDENIED


def test_L5_localsystem_on_its_own_job() -> None:
    s = subject(qi_admin=True, owner=True, w=True, owner_admin=True)
    assert code(LEGACY, SET, s, helper_is_admin=True) == S_OK


@pytest.mark.parametrize("method", [SET_FLAGS, GET_FLAGS, GET_SID, CLEAR])
def test_A3_legacy_other_methods_use_the_same_predicate(method: Method) -> None:
    assert code(LEGACY, method, subject(qi_admin=False, owner=True, w=True, owner_admin=False)) == E_ACCESSDENIED
    assert code(LEGACY, method, subject(qi_admin=True, owner=False, w=True, owner_admin=False)) == E_ACCESSDENIED
    assert code(LEGACY, method, subject(qi_admin=True, owner=False, w=True, owner_admin=True)) == S_OK
    assert code(LEGACY, method, subject(qi_admin=False, owner=True, w=False, owner_admin=True)) == E_ACCESSDENIED


def test_legacy_has_no_helper_admin_condition_on_flags() -> None:
    s = subject(qi_admin=True, owner=True, w=True, owner_admin=True)
    assert code(LEGACY, SET_FLAGS, s, helper_is_admin=True, flags=1) == S_OK


# SetHelperToken from 1607 (security.md#n1) --------------------------------------------------------------


@pytest.mark.parametrize("helper_admin", [False, True])
@pytest.mark.parametrize("owner", [False, True])
def test_N1_admin_owned_job_as_before(owner: bool, helper_admin: bool) -> None:
    s = subject(qi_admin=True, owner=owner, w=True, owner_admin=True)
    assert code(V1607, SET, s, helper_is_admin=helper_admin) == S_OK


@pytest.mark.parametrize("qi_admin", [False, True])
def test_N2_owner_of_non_admin_job_sets_non_admin_helper(qi_admin: bool) -> None:
    s = subject(qi_admin=qi_admin, owner=True, w=True, owner_admin=False)
    assert code(V1607, SET, s, helper_is_admin=False) == S_OK


def test_N3_admin_helper_from_non_admin_caller_is_denied() -> None:
    s = subject(qi_admin=False, owner=True, w=True, owner_admin=False)
    assert code(V1607, SET, s, helper_is_admin=True) == E_ACCESSDENIED


def test_N4_A1_elevated_owner_of_non_elevated_job_sets_admin_helper() -> None:
    s = subject(qi_admin=True, owner=True, w=True, owner_admin=False)
    assert code(V1607, SET, s, helper_is_admin=True) == S_OK
    strict = Choices(elevated_owner_may_set_admin_helper=False)
    assert code(V1607, SET, s, helper_is_admin=True, choices=strict) == E_ACCESSDENIED


@pytest.mark.parametrize("helper_admin", [False, True])
def test_N5_A2_elevated_admin_not_owner_of_non_admin_job(helper_admin: bool) -> None:
    s = subject(qi_admin=True, owner=False, w=True, owner_admin=False)
    assert code(V1607, SET, s, helper_is_admin=helper_admin) == E_ACCESSDENIED
    permissive = Choices(admin_may_set_helper_on_any_job=True)
    assert code(V1607, SET, s, helper_is_admin=helper_admin, choices=permissive) == S_OK


@pytest.mark.parametrize("owner_admin", [False, True])
def test_N6_standard_user_not_owner(owner_admin: bool) -> None:
    s = subject(qi_admin=False, owner=False, w=False, owner_admin=owner_admin)
    assert code(V1607, SET, s) == E_ACCESSDENIED


def test_N7_same_user_not_elevated_on_job_created_elevated() -> None:
    s = subject(qi_admin=False, owner=True, w=False, owner_admin=True)
    assert code(V1607, SET, s) == E_ACCESSDENIED


def test_N8_qi_made_while_impersonating_the_helper() -> None:
    # The QI-time SID is the helper's, not the owner's: no path applies.
    s = subject(qi_admin=False, owner=False, w=False, owner_admin=False)
    assert code(V1607, SET, s) == E_ACCESSDENIED


# SetHelperTokenFlags (security.md#sethelpertokenflags) --------------------------------------------------


@pytest.mark.parametrize("rules", [LEGACY, V1607])
@pytest.mark.parametrize("flags", [0, 1, 2, 3])
def test_A6_flags_0_to_3_are_accepted(rules: HelperTokenRules, flags: int) -> None:
    s = subject(qi_admin=True, owner=True, w=True, owner_admin=True)
    assert code(rules, SET_FLAGS, s, flags=flags) == S_OK


@pytest.mark.parametrize("rules", [LEGACY, V1607])
@pytest.mark.parametrize("flags", [4, 5, 8, 0x100, 0xFFFFFFFF])
def test_A6_other_flags_are_invalidarg_before_any_access_check(rules: HelperTokenRules, flags: int) -> None:
    denied = subject(qi_admin=False, owner=False, w=False, owner_admin=False)
    assert code(rules, SET_FLAGS, denied, flags=flags) == E_INVALIDARG


def test_flags_v1607_admin_owned_job_by_admin() -> None:
    s = subject(qi_admin=True, owner=False, w=True, owner_admin=True)
    assert code(V1607, SET_FLAGS, s, helper_is_admin=True, flags=1) == S_OK


@pytest.mark.parametrize("current_admin", [False, None])
def test_flags_v1607_owner_with_non_admin_or_no_token(current_admin: bool | None) -> None:
    s = subject(qi_admin=False, owner=True, w=True, owner_admin=False)
    assert code(V1607, SET_FLAGS, s, helper_is_admin=bool(current_admin), flags=1) == S_OK


def test_flags_v1607_T16_non_admin_owner_with_admin_current_token() -> None:
    s = subject(qi_admin=False, owner=True, w=True, owner_admin=False)
    assert code(V1607, SET_FLAGS, s, helper_is_admin=True, flags=1) == E_ACCESSDENIED


def test_flags_v1607_T17_elevated_admin_on_users_job() -> None:
    s = subject(qi_admin=True, owner=False, w=True, owner_admin=False)
    assert code(V1607, SET_FLAGS, s, helper_is_admin=True, flags=1) == S_OK


def test_flags_v1607_neither_admin_nor_owner() -> None:
    s = subject(qi_admin=False, owner=False, w=False, owner_admin=False)
    assert code(V1607, SET_FLAGS, s, flags=1) == E_ACCESSDENIED


# Get / Clear (security.md#get-and-clear) ----------------------------------------------------------------


@pytest.mark.parametrize("method", [GET_FLAGS, GET_SID])
@pytest.mark.parametrize("owner_admin", [False, True])
def test_gets_v1607_owner_any_job_elevation(method: Method, owner_admin: bool) -> None:
    # The owner's SID at QI time suffices even for a job created elevated (reads stay open, A12).
    s = subject(qi_admin=False, owner=True, w=not owner_admin, owner_admin=owner_admin)
    assert code(V1607, method, s, helper_is_admin=True) == S_OK


@pytest.mark.parametrize("method", [GET_FLAGS, GET_SID, CLEAR])
def test_v1607_T18_no_helper_admin_condition(method: Method) -> None:
    s = subject(qi_admin=False, owner=True, w=True, owner_admin=False)
    assert code(V1607, method, s, helper_is_admin=True) == S_OK


@pytest.mark.parametrize("method", [GET_FLAGS, GET_SID, CLEAR])
def test_v1607_admin_with_write_access(method: Method) -> None:
    s = subject(qi_admin=True, owner=False, w=True, owner_admin=True)
    assert code(V1607, method, s) == S_OK


@pytest.mark.parametrize("method", [GET_FLAGS, GET_SID, CLEAR, SET, SET_FLAGS])
def test_v1607_T19_neither_owner_nor_admin(method: Method) -> None:
    s = subject(qi_admin=False, owner=False, w=False, owner_admin=False)
    assert code(V1607, method, s) == E_ACCESSDENIED


def test_clear_by_non_elevated_owner_of_elevated_job_v1607_is_allowed() -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-clearhelpertoken:
    from 1607 a non-administrator may clear "as long as the SID of the caller's thread's token is the same as the
    SID of the job owner's user account during the IBackgroundCopyJob::QueryInterface call" — OWN.adm any."""
    s = subject(qi_admin=False, owner=True, w=False, owner_admin=True)
    assert code(V1607, CLEAR, s) == S_OK


def test_clear_by_non_elevated_owner_of_elevated_job_legacy_is_denied() -> None:
    """Same page: older implementations "effectively required" administrator privileges (A3); the same user,
    no longer elevated, may not modify the administrator-owned job (L3)."""
    s = subject(qi_admin=False, owner=True, w=False, owner_admin=True)
    assert code(LEGACY, CLEAR, s) == E_ACCESSDENIED


# order of checks (A5, A10, A4) ---------------------------------------------------------------------------


def test_A5_access_before_impersonation_level() -> None:
    s = subject(qi_admin=False, owner=False, w=False, owner_admin=False)
    assert code(V1607, SET, s, level=ImpersonationLevel.IDENTIFY) == E_ACCESSDENIED


def test_A5_impersonation_level_before_helper_admin() -> None:
    s = subject(qi_admin=False, owner=True, w=True, owner_admin=False)
    assert code(V1607, SET, s, level=ImpersonationLevel.IDENTIFY, helper_is_admin=True) == CO_E_FAILEDTOIMPERSONATE


@pytest.mark.parametrize("level", [ImpersonationLevel.IMPERSONATE, ImpersonationLevel.DELEGATE])
def test_A4_impersonate_and_delegate_suffice(level: ImpersonationLevel) -> None:
    s = subject(qi_admin=False, owner=True, w=True, owner_admin=False)
    assert code(V1607, SET, s, level=level) == S_OK


@pytest.mark.parametrize("method", [SET, SET_FLAGS, GET_FLAGS, GET_SID, CLEAR])
def test_A10_final_job_after_access(method: Method) -> None:
    allowed = subject(qi_admin=True, owner=True, w=True, owner_admin=True)
    assert code(V1607, method, allowed, final=True) == BG_E_INVALID_STATE
    denied = subject(qi_admin=False, owner=False, w=False, owner_admin=True)
    assert code(V1607, method, denied, final=True) == E_ACCESSDENIED


def test_decisions_carry_a_reason() -> None:
    d = decide(V1607, SET, subject(qi_admin=False, owner=True, w=True, owner_admin=False), helper_is_admin=True)
    assert not d.allowed
    assert "administrator privileges" in d.reason
