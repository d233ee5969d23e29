"""A small reference model of BITS jobs, written from Microsoft's pages, not from the emulator's code.

It knows the nine states, which transitions the service may make on its own (time, network, logons) and
which a call makes, the HRESULT of a call in a state that does not allow it, who may see and change whose
job, and who holds a helper token. The state machine of tests/test_state_machine.py drives the emulator
and this model side by side.

Sources:
* states and transitions: https://learn.microsoft.com/en-us/windows/win32/bits/life-cycle-of-a-bits-job and
  https://learn.microsoft.com/en-us/windows/win32/api/bits/ne-bits-bg_job_state (docs/reference/states.md);
* ownership: https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopymanager-getjob,
  .../nf-bits-ibackgroundcopymanager-enumjobs, https://learn.microsoft.com/en-us/windows/win32/bits/users-and-network-connections
  (docs/reference/security.md#ownership);
* helper tokens: https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertoken
  and https://learn.microsoft.com/en-us/windows/win32/bits/helper-tokens-for-bits-transfer-jobs
  (docs/reference/security.md#sethelpertoken, docs/helper-tokens.md#lifetime).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# BG_JOB_STATE values (ne-bits-bg_job_state), written out here rather than imported.
QUEUED, CONNECTING, TRANSFERRING, SUSPENDED, ERROR, TRANSIENT_ERROR, TRANSFERRED, ACKNOWLEDGED, CANCELLED = range(9)
NAMES = (
    "QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR", "TRANSIENT_ERROR", "TRANSFERRED",
    "ACKNOWLEDGED", "CANCELLED",
)
FINAL = frozenset({ACKNOWLEDGED, CANCELLED})
UNFINISHED = frozenset({QUEUED, CONNECTING, TRANSFERRING, TRANSIENT_ERROR})

# HRESULTs (https://learn.microsoft.com/en-us/windows/win32/bits/bits-return-values, winerror.h)
S_OK = 0
BG_S_PARTIAL_COMPLETE = 0x00200017
BG_S_UNABLE_TO_DELETE_FILES = 0x0020001A
BG_E_NOT_FOUND = 0x80200001
BG_E_INVALID_STATE = 0x80200002
BG_E_EMPTY = 0x80200003
BG_E_TOKEN_REQUIRED = 0x80200056
E_ACCESSDENIED = 0x80070005

# What the service may do to a job by itself, between two calls (time passing, the network going and
# coming back, the owner logging off and on). Life cycle page and BG_JOB_STATE: the scheduler picks a
# queued job and connects (T8, T9), a connection or transfer fails transiently or fatally (T10, T13, T14,
# T17), a transfer finishes (T12), is preempted or its owner logs off (T11, T20), a transient error is
# retried, times out, or the network returns (T15, T16, T18). SUSPENDED, ERROR, TRANSFERRED and the final
# states move only when a call moves them. A logoff fails unfinished jobs that need a helper token
# (HT: BG_E_TOKEN_REQUIRED) — an edge already in this graph.
BACKGROUND: dict[int, frozenset[int]] = {
    QUEUED: frozenset({CONNECTING, TRANSIENT_ERROR}),
    CONNECTING: frozenset({TRANSFERRING, TRANSIENT_ERROR, ERROR, QUEUED}),
    TRANSFERRING: frozenset({TRANSFERRED, TRANSIENT_ERROR, ERROR, QUEUED}),
    TRANSIENT_ERROR: frozenset({QUEUED, ERROR}),
    SUSPENDED: frozenset(),
    ERROR: frozenset(),
    TRANSFERRED: frozenset(),
    ACKNOWLEDGED: frozenset(),
    CANCELLED: frozenset(),
}


def reachable(state: int) -> frozenset[int]:
    """Every state the service alone can take a job to from ``state`` (several steps in one catch-up)."""
    seen = {state}
    todo = [state]
    while todo:
        for nxt in BACKGROUND[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


@dataclass(frozen=True)
class Caller:
    """An identity as the model sees it: user, whether its token has Administrators enabled (ADM), and
    its integrity level (medium 0x2000, high 0x3000, system 0x4000)."""

    name: str
    user: str
    adm: bool
    integrity: int


@dataclass
class Job:
    owner: str  # user
    owner_adm: bool  # ADM of the creator's token ("owned by an administrator", created elevated)
    owner_integrity: int
    state: int = SUSPENDED
    files: int = 0
    helper_session: str | None = None  # the user whose logon session supplied the helper token
    helper_flags: int = 0
    helper_adm: bool = False  # CUR.adm: the stored helper token has Administrators enabled
    progress: int = 0


@dataclass
class Model:
    post_1607: bool
    jobs: dict[str, Job] = field(default_factory=dict)

    # ownership (security.md#ownership) ----------------------------------------------------------------

    @staticmethod
    def may_read(c: Caller, j: Job) -> bool:
        """GetJob: the owner or an administrator (others: E_ACCESSDENIED)."""
        return c.user == j.owner or c.adm

    @staticmethod
    def may_write(c: Caller, j: Job) -> bool:
        """The owner or an administrator; a job created elevated needs an elevated caller (UAC); nobody
        changes a job of a higher integrity level (LocalSystem's jobs, UAC)."""
        if c.integrity < j.owner_integrity:
            return False
        return c.adm or (c.user == j.owner and not j.owner_adm)

    def visible(self, c: Caller, all_users: bool) -> set[str]:
        """EnumJobs: the caller's own jobs, or every job with BG_JOB_ENUM_ALL_USERS; never final ones."""
        return {k for k, j in self.jobs.items() if j.state not in FINAL and (all_users or j.owner == c.user)}

    # calls ---------------------------------------------------------------------------------------------

    def get_job(self, c: Caller, key: str) -> int:
        j = self.jobs.get(key)
        if j is None or j.state in FINAL:
            return BG_E_NOT_FOUND
        return S_OK if self.may_read(c, j) else E_ACCESSDENIED

    def enum_jobs(self, c: Caller, all_users: bool) -> int:
        return E_ACCESSDENIED if all_users and not c.adm else S_OK

    def change(self, c: Caller, key: str) -> int:
        """A setter or state method: access, then state (order of checks: readings.md#order-of-checks)."""
        j = self.jobs[key]
        if not self.may_write(c, j):
            return E_ACCESSDENIED
        return BG_E_INVALID_STATE if j.state in FINAL else S_OK

    def resume(self, c: Caller, key: str) -> tuple[int, frozenset[int]]:
        """Resume: BG_E_EMPTY without files (T3); SUSPENDED/ERROR/TRANSIENT_ERROR → QUEUED (T2, T4); an
        active job is unchanged (T5); TRANSFERRED stays (readings.md#t6)."""
        hr = self.change(c, key)
        j = self.jobs[key]
        if hr != S_OK:
            return hr, frozenset({j.state})
        if j.state == TRANSFERRED:
            return S_OK, frozenset({TRANSFERRED})
        if j.files == 0:
            return BG_E_EMPTY, frozenset({j.state})
        if j.state in (SUSPENDED, ERROR, TRANSIENT_ERROR):
            return S_OK, frozenset({QUEUED})
        return S_OK, frozenset({j.state})

    def suspend(self, c: Caller, key: str) -> tuple[int, frozenset[int]]:
        """Suspend: any non-final state → SUSPENDED (T7), except TRANSFERRED stays (readings.md#t7)."""
        hr = self.change(c, key)
        j = self.jobs[key]
        if hr != S_OK:
            return hr, frozenset({j.state})
        return S_OK, frozenset({TRANSFERRED if j.state == TRANSFERRED else SUSPENDED})

    # helper tokens (security.md#sethelpertoken) --------------------------------------------------------

    def set_helper_token(self, c: Caller, key: str) -> int:
        """SetHelperToken by ``c`` (who made the QueryInterface too), presenting its own identity as the
        helper (H = c). Access → state → helper-admin rule."""
        j = self.jobs[key]
        w = self.may_write(c, j)
        if not self.post_1607:
            ok = j.owner_adm and c.adm and w  # L1–L5: only administrators' jobs
        elif c.adm and w and j.owner_adm:
            ok = True  # N1
        elif c.user == j.owner:
            # N2 (H not admin, owner not admin); N4 (the owner, now elevated: S_OK by default, A1);
            # N3 is impossible here (H = c); N7: a non-elevated owner of an elevated job.
            ok = (not j.owner_adm) and (not c.adm or (c.adm and w))
        else:
            ok = False  # N5 (default), N6
        if not ok:
            return E_ACCESSDENIED
        return BG_E_INVALID_STATE if j.state in FINAL else S_OK

    def token_options(self, c: Caller, key: str, method: str) -> int:
        """GetHelperTokenSid ("get"), SetHelperTokenFlags ("flags"), ClearHelperToken ("clear") — access,
        then state for the two that write (security.md#sethelpertokenflags, #get-and-clear).

        Before 1607 only an administrator who may change an administrator's job (A3). From 1607 the tables
        give the owner's path; for an administrator on a job not owned by an administrator they are silent,
        and the emulator's reading (docs/reference/readings.md, domain/tokens.py) keeps the administrator's
        access for these three: reads and Clear by the owner (whatever the job's elevation, CHT) or an
        administrator with W; flags by an administrator with W or the owner of a non-administrator job."""
        j = self.jobs[key]
        w = self.may_write(c, j)
        owner = c.user == j.owner
        if not self.post_1607:
            ok = j.owner_adm and c.adm and w
        elif method in ("get", "clear"):
            ok = owner or (c.adm and w)
        else:  # "flags"
            # "the token currently set must not have Administrators enabled" for a non-administrator (SHTF)
            ok = (c.adm and w) or (owner and not j.owner_adm and w and not (j.helper_session and j.helper_adm))
        if not ok:
            return E_ACCESSDENIED
        return BG_E_INVALID_STATE if method != "get" and j.state in FINAL else S_OK

    def logoff(self, user: str) -> None:
        """Helper tokens supplied by the user's session, and those of the user's own jobs, are discarded;
        unfinished jobs with usage flags go to ERROR (HT; helper-tokens.md#lifetime)."""
        for j in self.jobs.values():
            if j.helper_session == user or (j.owner == user and j.helper_session is not None):
                j.helper_session = None

    def restart(self) -> None:
        """No helper token survives a service restart (SHT)."""
        for j in self.jobs.values():
            j.helper_session = None
