"""Accounts and logon sessions of the emulated machine.

Accounts persist in the store (the machine's account database survives a service restart, like the job
queue); logon sessions belong to the running system. Service accounts are always logged on, each in its
own session with the LUID Windows gives it (SYSTEM 0x3e7, LocalService 0x3e5, NetworkService 0x3e4).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from ..events import EventBus, Logoff, Logon
from . import sids
from .accounts import LOCAL_SERVICE, LOCAL_SYSTEM, NETWORK_SERVICE, Account, AccountKind
from .sessions import LogonSession, LogonType, make_tokens
from .tokens import AccessToken

SERVICE_SESSION_IDS = {LOCAL_SYSTEM.sid: 0x3E7, LOCAL_SERVICE.sid: 0x3E5, NETWORK_SERVICE.sid: 0x3E4}


def _service_tokens() -> tuple[tuple[Account, int, AccessToken], ...]:
    """The service accounts' tokens, numbered 1-3 as every machine numbers them at its start. Built once
    for the process and shared by every service: a token is immutable and compares by object, the
    accounts are the same on every machine, and each lives in its fixed session (so a fresh service
    does not rebuild three tokens and their group lists)."""
    ids = itertools.count(1)
    built = []
    for account in (LOCAL_SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE):
        session_id = SERVICE_SESSION_IDS[account.sid]
        token, _ = make_tokens(account, session_id, LogonType.SERVICE, ids.__next__)
        built.append((account, session_id, token))
    return tuple(built)


_SERVICE_TOKENS = _service_tokens()


class AccountStore(Protocol):
    """What the directory keeps in the store: the machine's SID part, the next RID and the accounts.

    ``shared``: other services may add accounts to the same store (a file store), so a name this
    directory does not know is looked up there before it is called unknown."""

    shared: bool

    def transaction(self) -> AbstractContextManager[None]: ...

    def get_setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...

    def set_setting_default(self, key: str, value: str) -> None: ...

    def has_settings(self, *keys: str) -> bool: ...

    def insert_account(self, sid: str, name: str, kind: str, admin: bool) -> None: ...

    def account_row(self, name_or_sid: str) -> tuple[str, str, str, bool] | None: ...


class Directory:
    def __init__(
        self,
        store: AccountStore,
        bus: EventBus,
        now: Callable[[], float],
        seed: int = 0,
        *,
        remote_powershell_runs_jobs: bool = True,
    ) -> None:
        self._store = store
        # From Windows 10 1607 a remote PowerShell session counts as logged on (Profile.remote_powershell_logon)
        self._remote_powershell_runs_jobs = remote_powershell_runs_jobs
        self._bus = bus
        self._now = now
        self.by_name: dict[str, Account] = {}
        self.by_sid: dict[str, Account] = {}
        self.sessions: dict[int, LogonSession] = {}
        self.active_by_sid: dict[str, set[int]] = {}
        self._session_ids = itertools.count(0x10000)
        self._terminal_ids = itertools.count(1)
        # Token ids (TOKEN_STATISTICS.TokenId) are numbered per service, so two services never share a
        # counter and each numbers its tokens from 1.
        # The three service accounts' tokens are the first three of every machine (ids 1-3).
        self._token_ids = itertools.count(1 + len(_SERVICE_TOKENS))
        if not store.has_settings("machine", "next_rid"):  # (a fresh template has both: no transaction)
            with store.transaction():
                # insert-if-absent inside the write transaction: services creating one store at once agree
                store.set_setting_default("machine", sids.machine_subauthorities(seed))
                store.set_setting_default("next_rid", "1001")
        for account, session_id, token in _SERVICE_TOKENS:
            self._remember(account)
            self._add_session(LogonSession(session_id, account, LogonType.SERVICE, 0, token, token))

    def next_token_id(self) -> int:
        """A new token id of this machine (every token a logon or a restriction creates gets one)."""
        return next(self._token_ids)

    def _remember(self, account: Account) -> None:
        self.by_name[account.name.lower()] = account
        self.by_sid[account.sid] = account

    def load(self, rows: list[tuple[str, str, str, bool]]) -> None:
        for sid, name, kind, admin in rows:
            if sid not in self.by_sid:
                self._remember(Account(sid, name, AccountKind(kind), admin))

    def add_user(self, name: str, *, admin: bool = False) -> Account:
        if not isinstance(name, str) or not isinstance(admin, bool):
            raise TypeError("add_user(name: str, *, admin: bool)")
        if not name or any(c in name for c in '"/\\[]:;|=,+*?<>@') or len(name) > 20:
            raise ValueError(f'{name!r} is not a valid Windows user name (1-20 chars, no "/\\[]:;|=,+*?<>@)')
        if name.lower() in self.by_name:
            raise ValueError(f"an account named {name!r} already exists (use account({name!r}))")
        with self._store.transaction():
            # Read inside the (IMMEDIATE, for a shared file store) write transaction: another service may
            # have added this name, or used the next RID, since this one started.
            existing = self._store.account_row(name)
            if existing is not None:
                account = Account(existing[0], existing[1], AccountKind(existing[2]), bool(existing[3]))
                self._remember(account)
                raise ValueError(f"an account named {name!r} already exists (use account({name!r}))")
            machine = self._store.get_setting("machine")
            rid = int(self._store.get_setting("next_rid") or "1001")
            account = Account(f"S-1-5-21-{machine}-{rid}", name, AccountKind.USER, admin)
            self._store.set_setting("next_rid", str(rid + 1))
            self._store.insert_account(account.sid, account.name, account.kind.value, account.admin)
        self._remember(account)
        return account

    def account(self, name_or_sid: str) -> Account:
        found = self.by_sid.get(name_or_sid) or self.by_name.get(name_or_sid.lower())
        if found is None and self._store.shared:
            row = self._store.account_row(name_or_sid)  # added by another service sharing the store
            if row is not None:
                found = Account(row[0], row[1], AccountKind(row[2]), bool(row[3]))
                self._remember(found)
        if found is None:
            raise KeyError(f"no account {name_or_sid!r}")
        return found

    def _add_session(self, session: LogonSession) -> None:
        self.sessions[session.id] = session
        self.active_by_sid.setdefault(session.account.sid, set()).add(session.id)

    def logon(
        self, account: Account, logon_type: LogonType = LogonType.INTERACTIVE, *, remote_powershell: bool = False
    ) -> LogonSession:
        if not isinstance(account, Account):
            raise TypeError(f"logon() takes an Account, not {type(account).__name__}")
        if self.by_sid.get(account.sid) is not account and self.by_sid.get(account.sid) != account:
            raise KeyError(f"{account.name} is not an account of this machine")
        if account.is_service:
            # Service accounts are always logged on: their logon is the service's session (UNC, SVC).
            return self.sessions[SERVICE_SESSION_IDS[account.sid]]
        logon_type = LogonType(logon_type)
        if logon_type is LogonType.SERVICE:
            raise ValueError("user accounts log on interactively, remotely, as batch or network logons")
        if remote_powershell and logon_type is not LogonType.NETWORK:
            raise ValueError("a remote PowerShell session is a network logon (logon_type=LogonType.NETWORK)")
        session_id = next(self._session_ids)
        terminal = (
            next(self._terminal_ids)
            if logon_type in (LogonType.INTERACTIVE, LogonType.REMOTE_INTERACTIVE)
            else 0
        )
        token, elevated = make_tokens(account, session_id, logon_type, self.next_token_id)
        session = LogonSession(session_id, account, logon_type, terminal, token, elevated)
        if remote_powershell:
            session.remote_powershell = True
            session.remote_powershell_runs_jobs = self._remote_powershell_runs_jobs
        self._add_session(session)
        self._bus.publish(Logon(self._now(), session_id, account.sid))
        return session

    def logoff(self, session: LogonSession) -> None:
        if not isinstance(session, LogonSession):
            raise TypeError(f"logoff() takes a LogonSession, not {type(session).__name__}")
        if not session.active:
            raise ValueError(f"logon session {session.id} of {session.account.name} has already logged off")
        known = self.sessions.get(session.id)
        if known is not session:
            raise KeyError(f"logon session {session.id} does not belong to this service")
        if session.account.is_service:
            raise ValueError(f"{session.account.name} is a service account and is always logged on")
        session.active = False
        # An ended session leaves the directory (nothing grows with the history of logons); its id is
        # never reused, so a token of it is recognised as dead (session_active is False).
        del self.sessions[session.id]
        active = self.active_by_sid[session.account.sid]
        active.discard(session.id)
        if not active:
            del self.active_by_sid[session.account.sid]
        self._bus.publish(Logoff(self._now(), session.id, session.account.sid))

    def is_logged_on(self, sid: str) -> bool:
        """Whether BITS would run this account's jobs now (an interactive-type session is active, or from
        1607 a remote PowerShell session)."""
        active = self.active_by_sid.get(sid)
        if active:  # (a loop, not any() over a generator: asked at every job start)
            sessions = self.sessions
            for i in active:
                if sessions[i].runs_jobs:
                    return True
        return False

    def session_active(self, session_id: int | None) -> bool:
        s = self.sessions.get(session_id) if session_id is not None else None
        return s is not None and s.active
