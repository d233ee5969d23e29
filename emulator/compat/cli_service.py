"""The command line's BITS service: one long-running service that every invocation is a client of.

On Windows, each ``bitsadmin`` process talks to the one BITS service, which keeps running between the
processes; here each invocation opens the store with a service object of its own. Opening a store that
holds jobs is a service restart for the Python API (``BitsService(database=...)``: helper tokens are
dropped, as on Windows). The command line instead *attaches* (``CommandLineService``): the store is the
state of the service it is a client of, so the command-line logon sessions still open and the helper
tokens they supplied carry over from one invocation to the next, until ``bits-emulator logoff --as NAME``
ends the session (docs/bitsadmin.md, "Sessions").

Each account has one command-line logon session per store, kept in the store's settings as
``bitsadmin.session:<SID>`` = ``"<generation> on|off"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..events import Logon
from ..identity.accounts import Account
from ..identity.sessions import LogonSession, LogonType, make_tokens
from ..service import BitsService

# Command-line logon sessions get ids (rid << 12) | generation: stable across processes without a shared
# counter, distinct per account, and far above the ids a service hands out itself (0x10000 upwards).
_SESSION_KEY = "bitsadmin.session:"


class CommandLineService(BitsService):
    """A client process's view of the command line's one long-running BITS service: opening the store
    does not restart the service. Every open command-line session is logged on at once, with the helper
    tokens it supplied taken back from the store before any job runs (a job whose usage flags need its
    token would otherwise fail with BG_E_TOKEN_REQUIRED); any other stored token (of a session that has
    ended, or of another process's service) is dropped, as a restart would."""

    _restarts_on_open = False

    def __init__(self, *args: Any, setup: Callable[[BitsService], None] = lambda svc: None, **kwargs: Any) -> None:
        """``setup`` (the drive root, the fake network) runs before the sessions log on and jobs may run."""
        self._setup = setup
        super().__init__(*args, **kwargs)

    def _attached(self) -> None:
        try:
            self._setup(self)
        except BaseException:
            self.close()
            raise
        registered = [_register(self, account, generation) for account, generation in _open_sessions(self)]
        sessions = [session for session in registered if session is not None]
        # Tokens of other services still holding the store are theirs: dropped only when nobody else is alive.
        alone = self._hold is None or self._hold.first
        tokens = {session.id: (session.token, session.elevated_token) for session in sessions}
        self.helper_tokens.attach(tokens, drop_others=alone)
        for session in sessions:
            _announce(self, session)


def _open_sessions(svc: BitsService) -> list[tuple[Account, int]]:
    """(account, generation) of every account whose command-line session is open."""
    found: list[tuple[Account, int]] = []
    for key, value in svc.store.settings().items():
        if not key.startswith(_SESSION_KEY):
            continue
        generation, _, state = value.partition(" ")
        if state != "on":
            continue
        try:
            account = svc.account(key[len(_SESSION_KEY) :])
        except KeyError:
            continue
        if not account.is_service:
            found.append((account, int(generation)))
    return found


def _session_state(svc: BitsService, account: Account) -> tuple[int, bool]:
    """(generation, logged on) of the account's command-line session, kept in the store's settings."""
    value = svc.store.get_setting(_SESSION_KEY + account.sid)
    if value is None:
        return 0, False
    generation, _, state = value.partition(" ")
    return int(generation), state == "on"


def _set_session_state(svc: BitsService, account: Account, generation: int, on: bool) -> None:
    with svc.lock, svc.store.transaction():
        svc.store.set_setting(_SESSION_KEY + account.sid, f"{generation} {'on' if on else 'off'}")


def _register(svc: BitsService, account: Account, generation: int) -> LogonSession | None:
    """The account's session of that generation, made known to this service without announcing it;
    None when the service knows it already."""
    rid = int(account.sid.rsplit("-", 1)[1])
    session_id = (rid << 12) | (generation & 0xFFF)
    if session_id in svc.directory.sessions:
        return None
    token, elevated = make_tokens(account, session_id, LogonType.INTERACTIVE, svc.directory.next_token_id)
    session = LogonSession(session_id, account, LogonType.INTERACTIVE, 1, token, elevated)
    # The directory has no public way to adopt a logon made by another process: register it directly.
    svc.directory._add_session(session)
    return session


def _announce(svc: BitsService, session: LogonSession) -> None:
    # Announced as a logon, so the scheduler wakes the jobs that waited for their owner.
    svc.bus.publish(Logon(svc.clock.time(), session.id, session.account.sid))


def _adopt(svc: BitsService, account: Account, generation: int) -> LogonSession:
    session = _register(svc, account, generation)
    if session is None:
        rid = int(account.sid.rsplit("-", 1)[1])
        return svc.directory.sessions[(rid << 12) | (generation & 0xFFF)]
    svc.helper_tokens.take_back(session.id, (session.token, session.elevated_token))
    _announce(svc, session)
    return session


def command_line_session(svc: BitsService, account: Account) -> LogonSession:
    """The account's command-line logon session: one interactive logon shared by every invocation as
    that account (as every command prompt of a Windows logon shares its session) until
    ``bits-emulator logoff --as NAME`` ends it; the next invocation then logs on anew."""
    if account.is_service:
        return svc.logon(account)  # service accounts are always logged on, in their service session
    generation, on = _session_state(svc, account)
    if not on:
        _set_session_state(svc, account, generation, True)
    return _adopt(svc, account, generation)


def adopt_logged_on_sessions(svc: BitsService) -> None:
    """Every account whose command-line session is open is logged on in this process too, so its jobs
    run during this invocation's catch-up as they would on Windows while their owner is logged on.
    (A CommandLineService has done so when it opened; this catches sessions opened since.)"""
    for account, generation in _open_sessions(svc):
        _adopt(svc, account, generation)


def end_command_line_session(svc: BitsService, account: Account) -> LogonSession | None:
    """Log the account's command-line session off (helper tokens it supplied are purged, its jobs stop)
    and move to the next generation, so the next invocation logs on a new session. None when the
    account has no open session."""
    generation, on = _session_state(svc, account)
    if not on:
        return None
    session = _adopt(svc, account, generation)
    svc.logoff(session)
    _set_session_state(svc, account, generation + 1, False)
    return session
