"""IBitsTokenOptions decision tables (docs/reference/security.md#sethelpertoken), as pure functions.
Source keys in capitals (SHT, HT, UAC…) name Microsoft pages: docs/reference/sources.md.

Inputs are the facts the tables name (security.md#inputs): who performed the QueryInterface (QI.sid, QI.adm, and W —
whether that identity may modify the job under the general rule), the job owner (OWN.sid, OWN.adm), the
impersonation level of the IBitsTokenOptions proxy, the helper identity presented at SetHelperToken
(H.adm) and the helper token currently stored (CUR.adm). The output is the HRESULT Windows returns.

Order of checks when several fail (A5): flag value (A6, SetHelperTokenFlags only) → access → job state
(A10) → impersonation level (SetHelperToken only) → helper-admin rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .. import hresults
from ..constants import ImpersonationLevel
from ..hresults import HResult
from ..profiles import HelperTokenRules

VALID_FLAGS = 0x1 | 0x2  # BG_TOKEN_LOCAL_FILE | BG_TOKEN_NETWORK (SHTF)


class Method(Enum):
    SET_HELPER_TOKEN = "SetHelperToken"
    SET_HELPER_TOKEN_FLAGS = "SetHelperTokenFlags"
    GET_HELPER_TOKEN_FLAGS = "GetHelperTokenFlags"
    GET_HELPER_TOKEN_SID = "GetHelperTokenSid"
    CLEAR_HELPER_TOKEN = "ClearHelperToken"


@dataclass(frozen=True, slots=True)
class HelperTokenChoices:
    """Where the pages disagree, the reading the emulator applies (docs/reference/readings.md).

    ``elevated_owner_may_set_admin_helper`` — A1: on 1607+, the owner's SID matches, the job was created
    non-elevated, the caller is now elevated and the helper is an administrator. The error text keys on the
    *caller* being admin, so the default allows it.
    ``admin_may_set_helper_on_any_job`` — A2: on 1607+, an elevated administrator who does not own a job
    that is not administrator-owned. Neither documented path matches, so the default denies.
    """

    elevated_owner_may_set_admin_helper: bool = True
    admin_may_set_helper_on_any_job: bool = False


# The name the package exports it under (``emulator.HelperTokenChoices``), so its repr says so; ``Choices`` inside.
Choices = HelperTokenChoices


DEFAULT_CHOICES = Choices()


@dataclass(frozen=True, slots=True)
class Subject:
    """The QI-time identity facing the job (docs/reference/security.md#inputs)."""

    qi_sid: str
    qi_admin: bool  # QI.adm: S-1-5-32-544 present and enabled
    qi_can_write: bool  # W: the general modify rule, evaluated for the QI identity
    owner_sid: str
    owner_admin: bool  # OWN.adm: the owner's token was elevated at CreateJob/TakeOwnership

    @property
    def is_owner(self) -> bool:
        return self.qi_sid == self.owner_sid


@dataclass(frozen=True, slots=True)
class Decision:
    hresult: HResult
    reason: str

    @property
    def allowed(self) -> bool:
        return self.hresult is hresults.S_OK


ALLOW = Decision(hresults.S_OK, "allowed")


def _deny(reason: str) -> Decision:
    return Decision(hresults.E_ACCESSDENIED, reason)


def check_flags(flags: int) -> Decision:
    """A6: any combination of BG_TOKEN_LOCAL_FILE and BG_TOKEN_NETWORK, 0 included (HT: 0 clears)."""
    if flags & ~VALID_FLAGS or flags < 0:
        return Decision(hresults.E_INVALIDARG, f"helper token flags {flags:#x} are not a combination of 0x1 and 0x2")
    return ALLOW


def access(rules: HelperTokenRules, method: Method, s: Subject, choices: Choices = DEFAULT_CHOICES) -> Decision:
    """Step 1: may the QI-time identity use ``method`` on this job at all?"""
    if rules is HelperTokenRules.LEGACY:
        # L1–L5, and A3 for the other four methods: only administrator-owned jobs, by someone who may
        # modify them (which, for an administrator-owned job, means an elevated administrator).
        if not s.owner_admin:
            return _deny("before 1607 only administrator-owned jobs take helper tokens (SHT)")
        if not s.qi_can_write:
            return _deny("the caller at QueryInterface may not modify this administrator-owned job (UAC)")
        return ALLOW
    if method is Method.SET_HELPER_TOKEN:
        if s.owner_admin and s.qi_can_write:
            return ALLOW  # N1: the pre-1607 rule still holds
        if s.is_owner and not s.owner_admin and s.qi_can_write:
            return ALLOW  # N2: the 1607 relaxation, SID matched during QueryInterface
        if choices.admin_may_set_helper_on_any_job and s.qi_admin and s.qi_can_write:
            return ALLOW  # A2, permissive reading
        if s.is_owner and s.owner_admin:
            return _deny("the job was created elevated; the caller at QueryInterface is not (N7)")
        return _deny("the caller at QueryInterface neither owns this job nor administers an admin-owned job (N5/N6/N8)")
    if method in (Method.GET_HELPER_TOKEN_FLAGS, Method.GET_HELPER_TOKEN_SID, Method.CLEAR_HELPER_TOKEN):
        # Get/Clear table: the owner's SID at QI time suffices, whatever the job's elevation (OWN.adm "any"):
        # "allow users without administrator privileges to clear a helper token, as long as the SID of the
        # caller's thread's token is the same as the SID of the job owner's user account during the
        # QueryInterface call" (CHT, GHTF, GHTS). No UAC write rule is added for Clear: the page names none.
        if s.is_owner or (s.qi_admin and s.qi_can_write):
            return ALLOW
        return _deny("only the job owner or an administrator may read or clear the helper token (GHTF, GHTS, CHT)")
    # SetHelperTokenFlags rows and T17: an administrator who may modify the job; or the owner of a job that is
    # not administrator-owned.
    if s.qi_admin and s.qi_can_write:
        return ALLOW
    if s.is_owner and not s.owner_admin and s.qi_can_write:
        return ALLOW
    return _deny("only the owner of a non-admin job or an administrator may set the flags (SHTF)")


def impersonation(level: ImpersonationLevel) -> Decision:
    """Step 2 of SetHelperToken: BITS must impersonate the client to capture a token (SHT, A4)."""
    if level < ImpersonationLevel.IMPERSONATE:
        return Decision(
            hresults.CO_E_FAILEDTOIMPERSONATE,
            f"the proxy's impersonation level is {level.name}; SetHelperToken needs IMPERSONATE or DELEGATE",
        )
    return ALLOW


def helper_admin(
    rules: HelperTokenRules,
    method: Method,
    s: Subject,
    *,
    helper_is_admin: bool,
    choices: Choices = DEFAULT_CHOICES,
) -> Decision:
    """Step 3: the 1607 condition on administrator helper tokens.

    SetHelperToken: the token being set (H.adm); SetHelperTokenFlags: the token currently set (CUR.adm).
    The other methods have no such condition, and before 1607 none applies (L2, L5).
    """
    if rules is HelperTokenRules.LEGACY or not helper_is_admin:
        return ALLOW
    if method is Method.SET_HELPER_TOKEN:
        if not s.qi_admin:
            return _deny("the helper token has administrator privileges, but the caller does not (SHT, N3)")
        if not s.owner_admin and s.is_owner and not choices.elevated_owner_may_set_admin_helper:
            return _deny("an administrator helper needs an administrator-owned job (A1, strict reading)")
        return ALLOW
    if method is Method.SET_HELPER_TOKEN_FLAGS and not s.qi_admin:
        return _deny("the current helper token has the administrators SID enabled; the caller does not (SHTF)")
    return ALLOW


def decide(
    rules: HelperTokenRules,
    method: Method,
    s: Subject,
    *,
    level: ImpersonationLevel = ImpersonationLevel.IMPERSONATE,
    helper_is_admin: bool = False,
    flags: int = 0,
    final: bool = False,
    choices: Choices = DEFAULT_CHOICES,
) -> Decision:
    """Every step in the order of A5, for one call: the first failing step decides."""
    if method is Method.SET_HELPER_TOKEN_FLAGS:
        d = check_flags(flags)
        if not d.allowed:
            return d
    d = access(rules, method, s, choices)
    if not d.allowed:
        return d
    if final:
        return Decision(hresults.BG_E_INVALID_STATE, "the job is ACKNOWLEDGED or CANCELLED (A10)")
    if method is Method.SET_HELPER_TOKEN:
        d = impersonation(level)
        if not d.allowed:
            return d
    return helper_admin(rules, method, s, helper_is_admin=helper_is_admin, choices=choices)
