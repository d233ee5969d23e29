"""The job state machine as a table: ``transition(state, trigger, …)`` for every (state × trigger) pair.

Each row names its number in the transition table of the behaviour reference (T1–T33,
docs/reference/states.md#transitions) and the Microsoft page it comes from, or "emulator choice" with
the reason where the pages are silent. Every pair the table does not list must be refused: an API trigger
(Resume, Suspend, Cancel, Complete) on a final job with BG_E_INVALID_STATE, as Windows answers, and an
internal trigger (scheduler, network, logoff, timers) with ``IllegalTransition``, since reaching it would
be an emulator bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulator import BitsError, BitsService, JobState, JobType
from emulator.domain import states
from emulator.domain.states import IllegalTransition, Trigger, transition

S = JobState
BG_E_EMPTY = 0x80200003
BG_E_INVALID_STATE = 0x80200002

_API = "https://learn.microsoft.com/en-us/windows/win32/api"
_BITS = "https://learn.microsoft.com/en-us/windows/win32/bits"
LIFE_CYCLE = f"{_BITS}/life-cycle-of-a-bits-job"
JOB_STATE = f"{_API}/bits/ne-bits-bg_job_state"
PRIORITY = f"{_API}/bits/ne-bits-bg_job_priority"
RESUME = f"{_API}/bits/nf-bits-ibackgroundcopyjob-resume"
SUSPEND = f"{_API}/bits/nf-bits-ibackgroundcopyjob-suspend"
CANCEL = f"{_API}/bits/nf-bits-ibackgroundcopyjob-cancel"
COMPLETE = f"{_API}/bits/nf-bits-ibackgroundcopyjob-complete"
CREATE = f"{_API}/bits/nf-bits-ibackgroundcopymanager-createjob"
ADD_FILE = f"{_API}/bits/nf-bits-ibackgroundcopyjob-addfile"
NO_PROGRESS = f"{_API}/bits/nf-bits-ibackgroundcopyjob-setnoprogresstimeout"
RETRY_DELAY = f"{_API}/bits/nf-bits-ibackgroundcopyjob-setminimumretrydelay"
ERROR_COUNT = f"{_API}/bits/nf-bits-ibackgroundcopyjob-geterrorcount"
MAX_DOWNLOAD = f"{_API}/bits3_0/nf-bits3_0-ibackgroundcopyjob4-setmaximumdownloadtime"
HTTP_METHOD = f"{_API}/bits10_2/nf-bits10_2-ibackgroundcopyjob5-sethttpmethod"
CERT_CALLBACK = (
    f"{_API}/bits10_3/nf-bits10_3-ibackgroundcopyjobhttpoptions3-setservercertificatevalidationinterface"
)
ACL_FLAGS = f"{_API}/bits3_0/nf-bits3_0-ibackgroundcopyjob4-setfileaclflags"
TEMP_NAME = f"{_API}/bits3_0/nf-bits3_0-ibackgroundcopyfile3-gettemporaryname"
NETWORK = f"{_BITS}/users-and-network-connections"
POLICIES = f"{_BITS}/group-policies"
HELPER_TOKENS = f"{_BITS}/helper-tokens-for-bits-transfer-jobs"

NON_FINAL = tuple(s for s in JobState if s not in (S.ACKNOWLEDGED, S.CANCELLED))
FINAL = (S.ACKNOWLEDGED, S.CANCELLED)
API_TRIGGERS = (Trigger.RESUME, Trigger.SUSPEND, Trigger.CANCEL, Trigger.COMPLETE)
INTERNAL_TRIGGERS = tuple(t for t in Trigger if t not in API_TRIGGERS)


@dataclass(frozen=True)
class Row:
    number: str  # T-number of the life-cycle table
    state: JobState
    trigger: Trigger
    outcome: JobState | int  # the next state, or the HRESULT of the BitsError raised
    source: str  # a Microsoft page, or "emulator choice: why"
    facts: dict[str, Any] = field(default_factory=dict)  # keyword arguments of transition()

    @property
    def id(self) -> str:
        facts = ",".join(f"{k}={getattr(v, 'name', v)}" for k, v in self.facts.items())
        return f"{self.number}-{self.state.name}-{self.trigger.name}" + (f"[{facts}]" if facts else "")


def rows(
    number: str,
    from_states: tuple[JobState, ...],
    trigger: Trigger,
    outcome: JobState | int | None,
    source: str,
    **facts: Any,
) -> Iterator[Row]:
    """One row per source state; ``outcome=None`` means the state is unchanged."""
    for state in from_states:
        yield Row(number, state, trigger, state if outcome is None else outcome, source, facts)


TABLE: tuple[Row, ...] = (
    # API triggers (the four state-changing methods) -----------------------------------------------------
    *rows("T2", (S.SUSPENDED,), Trigger.RESUME, S.QUEUED, RESUME, has_files=True),
    *rows("T3", (S.SUSPENDED,), Trigger.RESUME, BG_E_EMPTY, LIFE_CYCLE, has_files=False),
    *rows("T4", (S.ERROR, S.TRANSIENT_ERROR), Trigger.RESUME, S.QUEUED, LIFE_CYCLE),
    *rows("T5", (S.QUEUED, S.CONNECTING, S.TRANSFERRING), Trigger.RESUME, None, LIFE_CYCLE),
    *rows("T6", (S.TRANSFERRED,), Trigger.RESUME, S.QUEUED, LIFE_CYCLE, pending_files=True),
    *rows(
        "T6",
        (S.TRANSFERRED,),
        Trigger.RESUME,
        None,
        "emulator choice: the page allows Resume after AddFile; with no new file there is nothing to do",
        pending_files=False,
    ),
    *rows("T7", (S.QUEUED, S.CONNECTING, S.TRANSFERRING, S.SUSPENDED), Trigger.SUSPEND, S.SUSPENDED, LIFE_CYCLE),
    *rows(
        "T7",
        (S.ERROR, S.TRANSIENT_ERROR),
        Trigger.SUSPEND,
        S.SUSPENDED,
        f"{SUSPEND} (any non-final state may be suspended, {LIFE_CYCLE})",
    ),
    *rows(
        "T7",
        (S.TRANSFERRED,),
        Trigger.SUSPEND,
        None,
        "emulator choice: nothing is left to pause and the data must stay completable",
    ),
    *rows("T29", NON_FINAL, Trigger.COMPLETE, S.ACKNOWLEDGED, COMPLETE, job_type=JobType.DOWNLOAD),
    *rows("T30", (S.TRANSFERRED,), Trigger.COMPLETE, S.ACKNOWLEDGED, COMPLETE, job_type=JobType.UPLOAD),
    *rows("T30", (S.TRANSFERRED,), Trigger.COMPLETE, S.ACKNOWLEDGED, COMPLETE, job_type=JobType.UPLOAD_REPLY),
    *rows(
        "T30",
        tuple(s for s in NON_FINAL if s is not S.TRANSFERRED),
        Trigger.COMPLETE,
        BG_E_INVALID_STATE,
        COMPLETE,
        job_type=JobType.UPLOAD,
    ),
    *rows(
        "T30",
        tuple(s for s in NON_FINAL if s is not S.TRANSFERRED),
        Trigger.COMPLETE,
        BG_E_INVALID_STATE,
        COMPLETE,
        job_type=JobType.UPLOAD_REPLY,
    ),
    *rows("T31", NON_FINAL, Trigger.CANCEL, S.CANCELLED, CANCEL),
    *(
        row
        for trigger in API_TRIGGERS
        for row in rows("T33", FINAL, trigger, BG_E_INVALID_STATE, f"{LIFE_CYCLE} (final states)")
    ),
    # the scheduler, the network, timers and logons ------------------------------------------------------
    *rows("T8", (S.QUEUED,), Trigger.SCHEDULE, S.CONNECTING, LIFE_CYCLE),
    *rows("T9", (S.CONNECTING,), Trigger.CONNECTED, S.TRANSFERRING, JOB_STATE),
    *rows(
        "T9",
        (S.TRANSFERRING,),
        Trigger.CONNECTED,
        None,
        "emulator choice: the next file's connection of a running job keeps it TRANSFERRING",
    ),
    *rows("T10", (S.CONNECTING,), Trigger.TRANSIENT_FAILURE, S.TRANSIENT_ERROR, JOB_STATE),
    *rows("T11", (S.TRANSFERRING,), Trigger.PREEMPTED, S.QUEUED, f"{LIFE_CYCLE}, {PRIORITY}"),
    *rows("T12", (S.TRANSFERRING,), Trigger.ALL_TRANSFERRED, S.TRANSFERRED, LIFE_CYCLE),
    *rows(
        "T12",
        (S.QUEUED, S.CONNECTING),
        Trigger.ALL_TRANSFERRED,
        S.TRANSFERRED,
        "emulator choice: a job whose files need no bytes (all already transferred) finishes without running",
    ),
    *rows("T13", (S.CONNECTING, S.TRANSFERRING), Trigger.FATAL_FAILURE, S.ERROR, f"{LIFE_CYCLE}, {ADD_FILE}"),
    *rows(
        "T13",
        (S.QUEUED,),
        Trigger.FATAL_FAILURE,
        S.ERROR,
        "emulator choice: a fatal fault found before connecting (e.g. the destination folder is missing)",
    ),
    *rows("T14", (S.CONNECTING, S.TRANSFERRING), Trigger.TRANSIENT_FAILURE, S.TRANSIENT_ERROR, ERROR_COUNT),
    *rows(
        "T14",
        (S.TRANSIENT_ERROR,),
        Trigger.TRANSIENT_FAILURE,
        None,
        "emulator choice: a further recoverable error while waiting to retry replaces the error object",
    ),
    *rows("T15", (S.TRANSIENT_ERROR,), Trigger.RETRY_DUE, S.QUEUED, RETRY_DELAY),
    *rows("T16", (S.TRANSIENT_ERROR,), Trigger.FATAL_FAILURE, S.ERROR, NO_PROGRESS),
    *rows("T17", (S.QUEUED, S.TRANSFERRING), Trigger.NETWORK_LOST, S.TRANSIENT_ERROR, NETWORK),
    *rows(
        "T17",
        (S.CONNECTING,),
        Trigger.NETWORK_LOST,
        S.TRANSIENT_ERROR,
        "emulator choice: a connection attempt in flight is lost with the network like a transfer",
    ),
    *rows("T18", (S.TRANSIENT_ERROR,), Trigger.NETWORK_RESTORED, S.QUEUED, NETWORK),
    *rows("T20", (S.TRANSFERRING,), Trigger.PREEMPTED, S.QUEUED, f"{JOB_STATE}, {NETWORK}"),
    *rows(
        "T20",
        (S.QUEUED, S.CONNECTING),
        Trigger.PREEMPTED,
        S.QUEUED,
        "emulator choice: the owner's logoff or a preemption during CONNECTING also waits in QUEUED",
    ),
    *rows(
        "T20",
        (S.QUEUED, S.CONNECTING, S.TRANSFERRING, S.TRANSIENT_ERROR),
        Trigger.TOKEN_DISCARDED,
        S.ERROR,
        f"{HELPER_TOKENS}, {LIFE_CYCLE} (BG_E_TOKEN_REQUIRED)",
    ),
    *rows("T22", (S.CONNECTING, S.TRANSFERRING), Trigger.FATAL_FAILURE, S.ERROR, MAX_DOWNLOAD),
    *rows("T24", (S.TRANSFERRING,), Trigger.FATAL_FAILURE, S.ERROR, HTTP_METHOD),
    *rows("T25", (S.CONNECTING,), Trigger.TRANSIENT_FAILURE, S.TRANSIENT_ERROR, CERT_CALLBACK),
    *rows("T26", (S.TRANSFERRING,), Trigger.TRANSIENT_FAILURE, S.TRANSIENT_ERROR, ACL_FLAGS),
    *rows("T27", (S.QUEUED,), Trigger.TRANSIENT_FAILURE, S.TRANSIENT_ERROR, TEMP_NAME),
    *rows(
        "T19",
        (S.QUEUED, S.CONNECTING, S.TRANSFERRING),
        Trigger.POLICY_BLOCKED,
        S.TRANSIENT_ERROR,
        f"{POLICIES} (MaxInternetBandwidth 0: background jobs in transient error; which states: emulator choice)",
    ),
    *rows("T19", (S.TRANSIENT_ERROR,), Trigger.POLICY_UNBLOCKED, S.QUEUED, f"{POLICIES} (interval over: queued)"),
    *rows("T32", NON_FINAL, Trigger.INACTIVITY_TIMEOUT, S.CANCELLED, f"{POLICIES} (JobInactivityTimeout)"),
    *rows("T6", (S.TRANSFERRED,), Trigger.FILES_ADDED, S.QUEUED, LIFE_CYCLE),
    # T23: SetValidationState(FALSE) puts the job in ERROR whatever its state ("file done, job any";
    # at the API: tests/test_methods_files.py, test_T23_*)
    *rows("T23", NON_FINAL, Trigger.VALIDATION_FAILED, S.ERROR,
          "https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-setvalidationstate"),
)

# Rows of the life-cycle table that are no (state, trigger) pair of transition(), and why.
NOT_A_TRIGGER = {
    "T1": "CreateJob makes a job, in SUSPENDED; no state is left (test_T1_a_new_job_is_suspended)",
    "T21": "a QUEUED job whose owner is away is simply not scheduled: no trigger fires",
    "T28": "an on-demand job at rest takes Suspend's transition (T7) or T12; at the API: "
    "tests/test_methods_on_demand.py, test_on_demand_job_fetches_only_requested_ranges_then_suspends",
}


def _outcome(row: Row) -> JobState | int:
    try:
        return transition(row.state, row.trigger, **row.facts)
    except BitsError as exc:
        return exc.hresult


@pytest.mark.parametrize("row", TABLE, ids=lambda r: r.id)
def test_row(row: Row) -> None:
    assert row.source  # every row names where it comes from
    assert _outcome(row) == row.outcome, f"{row.number}: {row.source}"


def test_every_row_of_the_life_cycle_table_is_listed() -> None:
    numbers = {row.number for row in TABLE if row.number.startswith("T")} | set(NOT_A_TRIGGER)
    expected = {f"T{n}" for n in range(1, 34)}
    assert numbers == expected, sorted(expected ^ numbers)
    assert not {row.number for row in TABLE} & set(NOT_A_TRIGGER)


def test_every_api_pair_is_in_the_table() -> None:
    """The four methods may be called in any state (life-cycle page): the table says what each does."""
    listed = {(row.state, row.trigger) for row in TABLE}
    assert {(s, t) for s in JobState for t in API_TRIGGERS} <= listed


_LISTED = {(row.state, row.trigger) for row in TABLE}
UNLISTED = [(s, t) for s in JobState for t in Trigger if (s, t) not in _LISTED]


@pytest.mark.parametrize(("state", "trigger"), UNLISTED, ids=lambda v: getattr(v, "name", str(v)))
def test_every_other_pair_is_refused(state: JobState, trigger: Trigger) -> None:
    """An internal trigger the table does not list is an emulator bug: IllegalTransition, never a state."""
    assert trigger in INTERNAL_TRIGGERS
    with pytest.raises(IllegalTransition):
        transition(state, trigger)


@pytest.mark.parametrize("trigger", API_TRIGGERS, ids=lambda t: t.name)
@pytest.mark.parametrize("state", FINAL, ids=lambda s: s.name)
@pytest.mark.parametrize(
    "facts",
    [
        {},
        {"has_files": False},
        {"pending_files": False},
        {"job_type": JobType.UPLOAD},
        {"job_type": JobType.UPLOAD_REPLY},
    ],
    ids=["default", "no-files", "no-pending", "upload", "upload-reply"],
)
def test_T33_final_jobs_refuse_every_method_whatever_the_facts(
    state: JobState, trigger: Trigger, facts: dict[str, Any]
) -> None:
    """T33 (life-cycle page, final states): BG_E_INVALID_STATE 0x80200002, whatever else is true."""
    with pytest.raises(BitsError) as exc:
        transition(state, trigger, **facts)
    assert exc.value.hresult == BG_E_INVALID_STATE


@pytest.mark.parametrize("trigger", INTERNAL_TRIGGERS, ids=lambda t: t.name)
def test_sources_agree_with_the_table(trigger: Trigger) -> None:
    """``states.sources`` (used by set-based updates such as the logoff purge) is the table's column."""
    assert states.sources(trigger) == {row.state for row in TABLE if row.trigger is trigger}


def test_T1_a_new_job_is_suspended() -> None:
    """T1 (CreateJob page, BG_JOB_STATE page): every new job starts SUSPENDED."""
    with BitsService() as svc:
        for job_type in JobType:
            _, job = svc.connect().create_job("t1", job_type)
            assert job.get_state() is S.SUSPENDED, CREATE
