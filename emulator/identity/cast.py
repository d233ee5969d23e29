"""The cast of the scenarios (docs/reference/security.md#scenarios) on one service, ready for helper-token
and ownership tests.

    cast = Cast.on(svc)
    cast.alice.token          # standard user
    cast.bob_filtered         # administrator, UAC-filtered token (admin SID deny-only)
    cast.bob_elevated         # the same administrator, elevated
    cast.hU, cast.hA          # helper identities without / with an enabled admin SID
    cast.system.token, cast.network_service.token, cast.local_service.token
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .sessions import LogonSession
from .tokens import AccessToken

if TYPE_CHECKING:
    from ..service import BitsService


@dataclass(frozen=True, slots=True)
class Cast:
    alice: LogonSession
    bob: LogonSession
    charlie: LogonSession
    helper: LogonSession
    admin_helper: LogonSession
    system: LogonSession
    network_service: LogonSession
    local_service: LogonSession

    @classmethod
    def on(cls, svc: BitsService) -> Cast:
        """Add the accounts (once per store) and log each of them on."""

        def session(name: str, *, admin: bool = False) -> LogonSession:
            try:
                account = svc.account(name)
            except KeyError:
                account = svc.add_user(name, admin=admin)
            return svc.logon(account)

        return cls(
            alice=session("alice"),
            bob=session("bob", admin=True),
            charlie=session("charlie"),
            helper=session("hU"),
            admin_helper=session("hA", admin=True),
            system=svc.logon(svc.local_system),
            network_service=svc.logon(svc.network_service),
            local_service=svc.logon(svc.local_service),
        )

    @property
    def bob_filtered(self) -> AccessToken:
        return self.bob.token

    @property
    def bob_elevated(self) -> AccessToken:
        return self.bob.elevated_token

    @property
    def hU(self) -> AccessToken:  # the scenarios' name
        return self.helper.token

    @property
    def hA(self) -> AccessToken:  # the scenarios' name
        return self.admin_helper.elevated_token
