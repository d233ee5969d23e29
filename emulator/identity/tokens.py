"""Access tokens: the user SID, groups with their attributes, elevation and integrity level."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from . import sids


class GroupAttributes(IntFlag):
    """SE_GROUP_* (winnt.h)."""

    MANDATORY = 0x00000001
    ENABLED_BY_DEFAULT = 0x00000002
    ENABLED = 0x00000004
    OWNER = 0x00000008
    USE_FOR_DENY_ONLY = 0x00000010
    INTEGRITY = 0x00000020
    INTEGRITY_ENABLED = 0x00000040
    RESOURCE = 0x20000000
    LOGON_ID = 0xC0000000


ENABLED_GROUP = GroupAttributes.MANDATORY | GroupAttributes.ENABLED_BY_DEFAULT | GroupAttributes.ENABLED
DENY_ONLY_GROUP = GroupAttributes.USE_FOR_DENY_ONLY
_ENABLED = int(GroupAttributes.ENABLED)
_DENY_ONLY = int(GroupAttributes.USE_FOR_DENY_ONLY)
_ADMINISTRATORS = sids.ADMINISTRATORS


class ElevationType(IntEnum):
    """TOKEN_ELEVATION_TYPE."""

    DEFAULT = 1
    FULL = 2
    LIMITED = 3


class IntegrityLevel(IntEnum):
    """Mandatory integrity RIDs (S-1-16-x)."""

    UNTRUSTED = 0x0000
    LOW = 0x1000
    MEDIUM = 0x2000
    MEDIUM_PLUS = 0x2100
    HIGH = 0x3000
    SYSTEM = 0x4000
    PROTECTED_PROCESS = 0x5000


@dataclass(frozen=True, slots=True)
class Group:
    sid: str
    attributes: GroupAttributes

    @property
    def enabled(self) -> bool:
        """Counts for granting access: present, enabled and not deny-only (SIDATTR, CTM)."""
        a = int(self.attributes)  # int arithmetic: IntFlag's operators build a new flag each time (slow)
        return bool(a & _ENABLED) and not a & _DENY_ONLY


@dataclass(frozen=True, slots=True, eq=False)
class AccessToken:
    """A token as BITS reads it. Identity comparisons use ``user_sid``; tokens compare by object."""

    user_sid: str
    user_name: str
    groups: tuple[Group, ...]
    elevation_type: ElevationType = ElevationType.DEFAULT
    integrity: IntegrityLevel = IntegrityLevel.MEDIUM
    logon_session_id: int | None = None
    restricted: bool = False
    token_id: int = 0  # TokenId, numbered by the issuing service's directory; 0 for a token built by hand
    is_admin: bool = field(init=False)
    # LocalSystem, LocalService or NetworkService: decided once (read by every quota check)
    is_service_account: bool = field(init=False)

    def __post_init__(self) -> None:
        # ADM(t) of docs/reference/security.md#admin: S-1-5-32-544 present *and enabled*.
        admin = False
        for g in self.groups:  # a loop rather than any(generator): every logon builds tokens
            if g.sid == _ADMINISTRATORS and g.enabled:
                admin = True
                break
        object.__setattr__(self, "is_admin", admin)
        object.__setattr__(self, "is_service_account", self.user_sid in sids.SERVICE_ACCOUNT_SIDS)

    @property
    def elevated(self) -> bool:
        """TokenElevation: the administrators SID is usable (full token, LocalSystem, UAC off)."""
        return self.is_admin

    def has_enabled(self, sid: str) -> bool:
        return any(g.sid == sid and g.enabled for g in self.groups)

    def __repr__(self) -> str:
        kind = "admin" if self.is_admin else "standard"
        return f"<AccessToken {self.user_name} {self.user_sid} {kind} {self.integrity.name} #{self.token_id}>"
