"""Helper tokens: where they are kept, what ends them, and what a job needs from them
(docs/reference/security.md#lifetime).

A helper token lives in its job's row (identity, supplying logon session, flags) and in the job record.
It ends when the session that supplied it logs off, when the job's owner logs off (A14), when the service
restarts (SHT: "not persistent") or on ClearHelperToken; the usage flags survive all four (CHT, HT). A
service that attaches to a running one's store instead of restarting it (the command line) takes the
tokens of the logon sessions it knows alive back from the rows and drops the others (``attach``).

Logoff is handled from the event bus with one UPDATE reaching the rows through the helper-session and
owner indexes, so its cost follows the session's jobs, not the size of the queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Protocol

from . import hresults
from .clock import SimTime
from .constants import ErrorContext, JobState
from .domain import states
from .domain.records import ErrorRecord, HelperToken, JobRecord
from .domain.states import RUNNING_STATES, Trigger
from .events import EventBus, Logoff
from .hresults import BitsError
from .identity.tokens import AccessToken
from .queue import JobQueue
from .store.repository import JobStore


class Sessions(Protocol):
    """What this module asks the identity directory."""

    def session_active(self, session_id: int | None) -> bool: ...

    def is_logged_on(self, sid: str) -> bool: ...


# OUR CHOICE (undocumented): the queue manager, not a file or the transport, discarded the token, so the
# error object of a BG_E_TOKEN_REQUIRED failure has context GENERAL_QUEUE_MANAGER and no file.
def token_required_error() -> ErrorRecord:
    return ErrorRecord(ErrorContext.GENERAL_QUEUE_MANAGER, int(hresults.BG_E_TOKEN_REQUIRED))


class HelperTokens:
    def __init__(self, queue: JobQueue, store: JobStore, sessions: Sessions, bus: EventBus, sim: SimTime) -> None:
        self._queue = queue
        self._store = store
        self._sessions = sessions
        self._sim = sim
        bus.subscribe(Logoff, self._on_logoff)

    # IBitsTokenOptions -----------------------------------------------------------------------------

    def set(self, rec: JobRecord, token: AccessToken) -> None:
        """Store ``token`` as the job's helper token, bound to the logon session that issued it.

        OUR CHOICE (documented in docs/helper-tokens.md): a token whose logon session has already ended is
        refused with E_ACCESSDENIED — Windows would have purged it at that logoff anyway. A token with no
        logon session (built by hand) is kept until ClearHelperToken or a restart, like a LogonUser token
        without a terminal session (A14).
        """
        session = token.logon_session_id
        if session is not None and not self._sessions.session_active(session):
            raise BitsError(
                hresults.E_ACCESSDENIED, f"the logon session {session:#x} of {token.user_name} has ended"
            )
        self._queue.update(rec, helper=HelperToken(token, session))

    def clear(self, rec: JobRecord) -> None:
        """ClearHelperToken: the token goes, the flags stay (CHT). OUR CHOICE (docs/helper-tokens.md#lifetime):
        with flags ≠ 0 the job's next step that needs the token fails with BG_E_TOKEN_REQUIRED. A running job
        (CONNECTING, TRANSFERRING) needs it for its very next write or request, so it fails now, keeping
        the bytes that arrived; a waiting job fails when it next starts (``token_required``); a TRANSFERRED
        job is left alone, as after a logoff (HT: only "if the transfer is not complete", T33)."""
        self._queue.update(rec, helper=None)
        if rec.helper_flags and rec.state in RUNNING_STATES:
            self.fail_token_required(rec)

    def set_flags(self, rec: JobRecord, flags: int) -> None:
        self._queue.update(rec, helper_flags=flags)

    # what the scheduler asks -------------------------------------------------------------------------

    @staticmethod
    def token_required(rec: JobRecord) -> bool:
        """Flags ask for a helper identity the job no longer has: the job cannot run (HT, A9, T34)."""
        return rec.helper_flags != 0 and rec.helper is None

    def fail_token_required(self, rec: JobRecord) -> None:
        """A job whose flags need a token it lacks fails when it is about to run (A9, T34)."""
        self._queue.set_error(rec, Trigger.TOKEN_DISCARDED, token_required_error())

    # ends of a token -------------------------------------------------------------------------------

    def _on_logoff(self, event: Logoff) -> None:
        queue = self._queue
        owner_gone = not self._sessions.is_logged_on(event.user_sid)
        affected = dict(queue.by_helper_session.get(event.session_id, {}))
        if owner_gone:
            for rec in queue.by_owner.get(event.user_sid, {}).values():
                if rec.helper is not None:
                    affected[rec.id] = rec
        if not affected:
            return
        failing = states.sources(Trigger.TOKEN_DISCARDED)
        # The one statement below writes the domain's outcome: every failing state goes where
        # transition() sends it (all to the same state, or a set-based UPDATE could not express it).
        (target,) = {states.transition(s, Trigger.TOKEN_DISCARDED) for s in failing}
        now = self._sim.time()
        with queue.batch():
            self._store.purge_helper_tokens(
                event.session_id,
                event.user_sid if owner_gone else None,
                failing_states=failing,
                target_state=target,
                error=token_required_error(),
                now=now,
            )
        failed: list[tuple[JobRecord, JobState]] = []
        for rec in affected.values():
            queue.forget_helper(rec)
            if rec.helper_flags and rec.state in failing:
                # The store already holds the outcome (one UPDATE above); memory takes the same one,
                # decided by the same transition function.
                old = rec.state
                queue.mirror_state(
                    rec, Trigger.TOKEN_DISCARDED, error=token_required_error(), error_count=rec.error_count + 1
                )
                failed.append((rec, old))
        for rec, old in failed:
            queue.announce(rec, old)

    def attach(self, sessions: Mapping[int, Iterable[AccessToken]], *, drop_others: bool = True) -> int:
        """Attach to the store instead of restarting (the command line: one long-running service behind
        many client processes): the helper tokens of ``sessions`` (session id → its tokens), logon sessions
        the caller knows alive, come back into memory; with ``drop_others`` (no other service is alive on
        the store) every other stored token is dropped, as a restart drops them all; without it they
        belong to the live services that hold them. Returns how many came back."""
        if drop_others:
            with self._queue.batch():
                self._store.clear_all_helper_tokens(keep_sessions=list(sessions))
        return sum(self.take_back(session_id, tokens) for session_id, tokens in sessions.items())

    def take_back(self, session_id: int, tokens: Iterable[AccessToken]) -> int:
        """The helper tokens the store holds from logon session ``session_id``, which the caller knows alive,
        come back into memory. Only a stored token equal to one of ``tokens`` (the session's own) is taken;
        any other stays in the store, unseen. Returns the count."""
        taken = 0
        for token in tokens:
            helper = HelperToken(token, session_id)
            for key in self._store.jobs_holding_helper(helper):
                rec = self._queue.jobs.get(uuid.UUID(key))
                if rec is not None and rec.helper is None:
                    self._queue.adopt_helper(rec, helper)
                    taken += 1
        return taken

    def discard_all(self) -> None:
        """Service restart: every helper token is dropped, flags stay (SHT, T34)."""
        with self._queue.batch():
            self._store.clear_all_helper_tokens()
        for rec in self._queue.jobs_with_helper():
            self._queue.forget_helper(rec)

