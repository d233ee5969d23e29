"""The job state machine: the one place a job's state is decided (docs/reference/states.md).

``transition(state, trigger, …)`` returns the next state or raises the HRESULT Windows returns for an
API trigger that the state does not allow. The scheduler's triggers use the same function; an internal
trigger a state cannot take is a bug, reported as ``IllegalTransition``.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from .. import hresults
from ..constants import JobState, JobType
from ..hresults import BitsError

S = JobState
# Each state as a plain global, for the code that reads states at every step (here, the queue, the
# scheduler, the notifier): on Python 3.11, reading a member from its class (``JobState.QUEUED``) goes
# through EnumType's ``__getattr__`` hook, about 0.2 µs — ten times a global — and a job life made some
# ninety such reads.
QUEUED: Final = S.QUEUED
CONNECTING: Final = S.CONNECTING
TRANSFERRING: Final = S.TRANSFERRING
SUSPENDED: Final = S.SUSPENDED
ERROR: Final = S.ERROR
TRANSIENT_ERROR: Final = S.TRANSIENT_ERROR
TRANSFERRED: Final = S.TRANSFERRED
ACKNOWLEDGED: Final = S.ACKNOWLEDGED
CANCELLED: Final = S.CANCELLED
_DOWNLOAD: Final = JobType.DOWNLOAD

# The state families, defined here once; everything else imports them.
FINAL_STATES = frozenset({S.ACKNOWLEDGED, S.CANCELLED})  # the job has left the queue
RUNNING_STATES = frozenset({S.CONNECTING, S.TRANSFERRING})  # holds a connection (and a transfer slot)
ACTIVE_STATES = frozenset({S.QUEUED, *RUNNING_STATES})  # waiting for or holding a connection
SCHEDULED_STATES = frozenset({*ACTIVE_STATES, S.TRANSIENT_ERROR})  # the scheduler has work or a timer for it
# Entering these states ends a job's error object: "The error object is available until BITS begins
# transferring data (the state of the job changes to BG_JOB_STATE_TRANSFERRING)"
# (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-geterror). So a Resume
# from ERROR (QUEUED, then CONNECTING) or a Suspend keeps it. TRANSFERRED is the emulator's choice (the page
# is silent): a Resume with every file already transferred goes there without transferring, and the job has
# no transfer left that the error could describe. Final jobs have left the queue: no error object.
ERROR_OBJECT_ENDS = frozenset({S.TRANSFERRING, S.TRANSFERRED})
_NON_FINAL = frozenset(s for s in JobState if s not in FINAL_STATES)
_ACTIVE = ACTIVE_STATES


class Trigger(Enum):
    # Hash by identity, in C: every state change looks its trigger up (_INTERNAL), and Enum's own
    # ``__hash__`` is Python code hashing the member's name. Members are singletons, so equal is identical.
    __hash__ = object.__hash__

    # API methods (docs/reference/states.md#state-changing-methods)
    RESUME = "Resume"
    SUSPEND = "Suspend"
    CANCEL = "Cancel"
    COMPLETE = "Complete"
    # scheduler and environment (docs/reference/states.md#transitions)
    SCHEDULE = "scheduler picks the job"  # T8
    CONNECTED = "connected"  # T9
    TRANSIENT_FAILURE = "recoverable error"  # T10, T14
    FATAL_FAILURE = "fatal error"  # T13, T16, T22
    ALL_TRANSFERRED = "last file done"  # T12
    RETRY_DUE = "minimum retry delay elapsed"  # T15
    PREEMPTED = "time slice over / owner away"  # T11, T20
    NETWORK_LOST = "network lost"  # T17
    NETWORK_RESTORED = "network re-established"  # T18
    TOKEN_DISCARDED = "helper token discarded"  # docs/reference/security.md#lifetime
    INACTIVITY_TIMEOUT = "job inactivity timeout"  # T32
    FILES_ADDED = "files added to a transferred job"  # T6
    VALIDATION_FAILED = "SetValidationState(FALSE)"  # setvalidationstate page: the job moves to ERROR
    POLICY_BLOCKED = "a bandwidth limit of 0 for the job's priority in the current interval"  # T19
    POLICY_UNBLOCKED = "the blocking interval ended"  # T19


# The triggers, as plain globals too (see QUEUED above).
RESUME: Final = Trigger.RESUME
SUSPEND: Final = Trigger.SUSPEND
CANCEL: Final = Trigger.CANCEL
COMPLETE: Final = Trigger.COMPLETE
SCHEDULE: Final = Trigger.SCHEDULE
CONNECTED: Final = Trigger.CONNECTED
TRANSIENT_FAILURE: Final = Trigger.TRANSIENT_FAILURE
FATAL_FAILURE: Final = Trigger.FATAL_FAILURE
ALL_TRANSFERRED: Final = Trigger.ALL_TRANSFERRED
RETRY_DUE: Final = Trigger.RETRY_DUE
PREEMPTED: Final = Trigger.PREEMPTED
NETWORK_LOST: Final = Trigger.NETWORK_LOST
NETWORK_RESTORED: Final = Trigger.NETWORK_RESTORED
INACTIVITY_TIMEOUT: Final = Trigger.INACTIVITY_TIMEOUT
POLICY_BLOCKED: Final = Trigger.POLICY_BLOCKED
POLICY_UNBLOCKED: Final = Trigger.POLICY_UNBLOCKED


class IllegalTransition(RuntimeError):
    """An internal trigger arrived in a state that cannot take it (an emulator bug)."""


def transition(
    state: JobState,
    trigger: Trigger,
    *,
    has_files: bool = True,
    job_type: JobType = JobType.DOWNLOAD,
    pending_files: bool = True,
) -> JobState:
    if trigger is RESUME:
        _require_non_final(state)
        if state is SUSPENDED:
            if not has_files:
                raise BitsError(hresults.BG_E_EMPTY)  # T3: stays SUSPENDED
            return QUEUED  # T2
        if state in (ERROR, TRANSIENT_ERROR):
            return QUEUED  # T4
        if state is TRANSFERRED:
            # T6: with new files the job transfers them; without, Resume has nothing to do
            # (undocumented; emulator choice: stays TRANSFERRED).
            return QUEUED if pending_files else TRANSFERRED
        return state  # T5
    if trigger is SUSPEND:
        _require_non_final(state)
        # T7. Suspending a TRANSFERRED job is undocumented; emulator choice: it stays TRANSFERRED,
        # since there is nothing left to pause and its data must remain completable.
        return TRANSFERRED if state is TRANSFERRED else SUSPENDED
    if trigger is CANCEL:
        _require_non_final(state)
        return CANCELLED  # T31
    if trigger is COMPLETE:
        _require_non_final(state)
        if job_type is not _DOWNLOAD and state is not TRANSFERRED:
            raise BitsError(hresults.BG_E_INVALID_STATE, "uploads complete only when TRANSFERRED")  # T30
        return ACKNOWLEDGED  # T29
    return _internal(state, trigger)


_INTERNAL: dict[Trigger, tuple[frozenset[JobState], JobState]] = {
    Trigger.SCHEDULE: (frozenset({S.QUEUED}), S.CONNECTING),
    Trigger.CONNECTED: (frozenset({S.CONNECTING, S.TRANSFERRING}), S.TRANSFERRING),
    Trigger.TRANSIENT_FAILURE: (
        frozenset({S.QUEUED, S.CONNECTING, S.TRANSFERRING, S.TRANSIENT_ERROR}),
        S.TRANSIENT_ERROR,
    ),
    Trigger.FATAL_FAILURE: (frozenset({S.QUEUED, S.CONNECTING, S.TRANSFERRING, S.TRANSIENT_ERROR}), S.ERROR),
    Trigger.ALL_TRANSFERRED: (frozenset({S.QUEUED, S.CONNECTING, S.TRANSFERRING}), S.TRANSFERRED),
    Trigger.RETRY_DUE: (frozenset({S.TRANSIENT_ERROR}), S.QUEUED),
    Trigger.PREEMPTED: (frozenset(_ACTIVE), S.QUEUED),
    Trigger.NETWORK_LOST: (frozenset({S.QUEUED, S.CONNECTING, S.TRANSFERRING}), S.TRANSIENT_ERROR),
    Trigger.NETWORK_RESTORED: (frozenset({S.TRANSIENT_ERROR}), S.QUEUED),
    Trigger.TOKEN_DISCARDED: (
        frozenset({S.QUEUED, S.CONNECTING, S.TRANSFERRING, S.TRANSIENT_ERROR}),
        S.ERROR,
    ),
    Trigger.INACTIVITY_TIMEOUT: (_NON_FINAL, S.CANCELLED),
    Trigger.FILES_ADDED: (frozenset({S.TRANSFERRED}), S.QUEUED),
    Trigger.VALIDATION_FAILED: (_NON_FINAL, S.ERROR),
    # T19: "BITS places all background jobs in a transient error state" while MaxInternetBandwidth is 0, and
    # "places the jobs in the queued state after the time interval expires" (group policies page). Which
    # states "all background jobs" covers is not said: those waiting for or holding a connection
    # (docs/reference/readings.md#policy-blocked-states). A BITS 4.0 schedule's limit of 0 does the same for the
    # jobs of its priority (docs/reference/readings.md#schedule-block).
    Trigger.POLICY_BLOCKED: (frozenset({S.QUEUED, S.CONNECTING, S.TRANSFERRING}), S.TRANSIENT_ERROR),
    Trigger.POLICY_UNBLOCKED: (frozenset({S.TRANSIENT_ERROR}), S.QUEUED),
}


def sources(trigger: Trigger) -> frozenset[JobState]:
    """The states an internal trigger can leave (for set-based updates that must agree with ``transition``)."""
    return _INTERNAL[trigger][0]


def _internal(state: JobState, trigger: Trigger) -> JobState:
    allowed, target = _INTERNAL[trigger]
    if state not in allowed:
        raise IllegalTransition(f"{trigger.value!r} cannot happen in state {state.name}")
    return target


def _require_non_final(state: JobState) -> None:
    if state not in _NON_FINAL:
        raise BitsError(hresults.BG_E_INVALID_STATE)
