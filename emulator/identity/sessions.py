"""Logon sessions and the tokens a logon produces."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from . import sids
from .accounts import Account, AccountKind
from .tokens import (
    DENY_ONLY_GROUP,
    ENABLED_GROUP,
    AccessToken,
    ElevationType,
    Group,
    GroupAttributes,
    IntegrityLevel,
)


class LogonType(IntEnum):
    """SECURITY_LOGON_TYPE values for the logons BITS distinguishes (docs/reference/security.md#logon)."""

    INTERACTIVE = 2
    NETWORK = 3
    BATCH = 4
    SERVICE = 5
    NEW_CREDENTIALS = 9  # RunAs /netonly-style: not an interactive logon
    REMOTE_INTERACTIVE = 10


# Logons under which BITS runs the account's jobs: interactive (console, fast user switching),
# Terminal Services, and service accounts (always logged on). RunAs/batch/network logons do not count,
# except, from Windows 10 1607, a remote PowerShell session (a WinRM network logon; see
# LogonSession.remote_powershell).
RUNS_JOBS = frozenset({LogonType.INTERACTIVE, LogonType.REMOTE_INTERACTIVE, LogonType.SERVICE})


@dataclass(eq=False)
class LogonSession:
    id: int
    account: Account
    logon_type: LogonType
    terminal_session_id: int
    token: AccessToken
    elevated_token: AccessToken
    active: bool = field(default=True)
    # A remote PowerShell session (WinRM: a NETWORK logon). From Windows 10 1607 it counts as logged on
    # for running the account's jobs; before 1607 it does not. The directory sets
    # ``remote_powershell_runs_jobs`` from the service's profile. Source:
    # https://learn.microsoft.com/en-us/windows/win32/bits/using-windows-powershell-to-create-bits-transfer-jobs
    remote_powershell: bool = field(default=False)
    remote_powershell_runs_jobs: bool = field(default=False, repr=False)

    @property
    def runs_jobs(self) -> bool:
        if not self.active:
            return False
        return self.logon_type in RUNS_JOBS or (self.remote_powershell and self.remote_powershell_runs_jobs)

    def __repr__(self) -> str:
        state = "active" if self.active else "logged off"
        kind = "NETWORK (remote PowerShell)" if self.remote_powershell else self.logon_type.name
        return f"<LogonSession {self.id} {self.account.name} {kind} {state}>"


_LOGON_ID_GROUP = ENABLED_GROUP | GroupAttributes.LOGON_ID  # combined once: IntFlag arithmetic is slow


@functools.cache  # a few (kind, logon type) pairs; Groups are immutable values
def _base_groups(kind: AccountKind, logon_type: LogonType) -> tuple[Group, ...]:
    groups = [Group(sids.EVERYONE, ENABLED_GROUP), Group(sids.AUTHENTICATED_USERS, ENABLED_GROUP)]
    if logon_type in (LogonType.INTERACTIVE, LogonType.REMOTE_INTERACTIVE):
        groups.append(Group(sids.INTERACTIVE, ENABLED_GROUP))
    if logon_type is LogonType.SERVICE:
        groups.append(Group(sids.SERVICE, ENABLED_GROUP))
    if kind is not AccountKind.LOCAL_SYSTEM:
        groups.append(Group(sids.USERS, ENABLED_GROUP))
    return tuple(groups)


def _groups(kind: AccountKind, logon_type: LogonType, session_id: int) -> tuple[Group, ...]:
    """A service account's groups: the base ones, its logon SID, Administrators for LocalSystem."""
    groups = [*_base_groups(kind, logon_type), Group(f"S-1-5-5-0-{session_id}", _LOGON_ID_GROUP)]
    if kind is AccountKind.LOCAL_SYSTEM:
        groups.append(Group(sids.ADMINISTRATORS, ENABLED_GROUP))
    return tuple(groups)


@functools.cache  # three service accounts, each always in its own fixed session: the same at every start
def _service_groups(kind: AccountKind, session_id: int) -> tuple[Group, ...]:
    return _groups(kind, LogonType.SERVICE, session_id)


def make_tokens(
    account: Account, session_id: int, logon_type: LogonType, token_id: Callable[[], int]
) -> tuple[AccessToken, AccessToken]:
    """The (normal, elevated) token pair a logon yields; ``token_id()`` numbers each new token.

    An administrator's interactive logon under UAC yields a filtered token (Administrators deny-only,
    medium integrity) and a linked full token (UACHOW, SPLIT). Everyone else gets one token, used for both.
    LocalSystem holds the administrators SID enabled; LocalService and NetworkService do not (security.md#admin).
    """
    # Every logon gets its own logon SID (S-1-5-5-X-Y, SE_GROUP_LOGON_ID; WKS): it tells two logons of
    # one account apart, and it is what a helper token carries that no other table holds.
    name = account.name
    if account.is_service:
        if logon_type is LogonType.SERVICE:
            service_groups = _service_groups(account.kind, session_id)
        else:
            service_groups = _groups(account.kind, logon_type, session_id)
        token = AccessToken(
            account.sid,
            name,
            service_groups,
            ElevationType.DEFAULT,
            IntegrityLevel.SYSTEM,
            session_id,
            token_id=token_id(),
        )
        return token, token
    logon_sid = Group(f"S-1-5-5-0-{session_id}", _LOGON_ID_GROUP)
    groups = [*_base_groups(account.kind, logon_type), logon_sid]
    if not account.admin:
        token = AccessToken(
            account.sid,
            name,
            tuple(groups),
            ElevationType.DEFAULT,
            IntegrityLevel.MEDIUM,
            session_id,
            token_id=token_id(),
        )
        return token, token
    filtered = AccessToken(
        account.sid,
        name,
        (*groups, Group(sids.ADMINISTRATORS, DENY_ONLY_GROUP)),
        ElevationType.LIMITED,
        IntegrityLevel.MEDIUM,
        session_id,
        token_id=token_id(),
    )
    full = AccessToken(
        account.sid,
        name,
        (*groups, Group(sids.ADMINISTRATORS, ENABLED_GROUP)),
        ElevationType.FULL,
        IntegrityLevel.HIGH,
        session_id,
        token_id=token_id(),
    )
    return filtered, full


def restricted_copy(token: AccessToken, token_id: int = 0) -> AccessToken:
    """The same identity as a restricted token (CreateRestrictedToken with restricting SIDs); a new
    token, so a new ``token_id`` (e.g. ``svc.directory.next_token_id()``)."""
    return AccessToken(
        token.user_sid,
        token.user_name,
        token.groups,
        token.elevation_type,
        token.integrity,
        token.logon_session_id,
        restricted=True,
        token_id=token_id,
    )
