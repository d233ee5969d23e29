"""Accounts: who can own jobs, log on and supply helper tokens."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from . import sids


class AccountKind(Enum):
    USER = "user"
    LOCAL_SYSTEM = "LocalSystem"
    LOCAL_SERVICE = "LocalService"
    NETWORK_SERVICE = "NetworkService"


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    name: str
    kind: AccountKind = AccountKind.USER
    admin: bool = False
    domain: str = "EMULATOR"

    @property
    def is_service(self) -> bool:
        return self.kind is not AccountKind.USER

    @property
    def qualified_name(self) -> str:
        """``DOMAIN\\user`` as bitsadmin prints owners."""
        return f"{self.domain}\\{self.name}"


LOCAL_SYSTEM = Account(
    sids.LOCAL_SYSTEM, "SYSTEM", AccountKind.LOCAL_SYSTEM, admin=True, domain="NT AUTHORITY"
)
LOCAL_SERVICE = Account(sids.LOCAL_SERVICE, "LOCAL SERVICE", AccountKind.LOCAL_SERVICE, domain="NT AUTHORITY")
NETWORK_SERVICE = Account(
    sids.NETWORK_SERVICE, "NETWORK SERVICE", AccountKind.NETWORK_SERVICE, domain="NT AUTHORITY"
)
