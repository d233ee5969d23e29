"""IBitsTokenOptions: the job's helper token and its usage flags (docs/reference/security.md; source keys
such as HT, SHT: docs/reference/sources.md).

The access check belongs to QueryInterface (HT: at SetHelperToken time the client impersonates the helper,
who may have no access to the job), so the view remembers the identity that performed the QI and every
method judges *that* identity with the decision tables of domain/tokens.py. The helper identity itself is
taken from this proxy when SetHelperToken is called, following the cloaking rules
(docs/reference/security.md#blanket).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, ClassVar, Self, overload

from ..constants import (
    JOB_INTERFACES,
    AnyInterface,
    IBitsTokenOptions,
    Interface,
    IUnknown,
    JobKind,
    TokenOptionsKind,
    UnknownKind,
)
from ..domain import tokens as rules
from ..domain.records import JobRecord
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .registry import Access, com_method

if TYPE_CHECKING:
    from ..backend import Backend
    from .job import Job


class TokenOptions(ComObject):
    __slots__ = ("_qi", "_rec")
    # QueryInterface is symmetric and transitive (COM's rules for QueryInterface:
    # https://learn.microsoft.com/en-us/windows/win32/api/unknwn/nf-unknwn-iunknown-queryinterface(refiid_void)):
    # the token options are an interface of the job, so they answer the job's interfaces too, with a Job.
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = JOB_INTERFACES

    @overload
    def query_interface(self, interface: Interface[TokenOptionsKind] | Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: Interface[JobKind]) -> Job: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface (typed per interface kind; see ComObject.query_interface)."""
        return super().query_interface(interface)

    def __init__(self, svc: Backend, proxy: Proxy, rec: JobRecord, qi_identity: AccessToken) -> None:
        super().__init__(svc, proxy)
        self._rec = rec
        self._qi = qi_identity

    @classmethod
    def obtain(cls, svc: Backend, proxy: Proxy, rec: JobRecord, qi_identity: AccessToken) -> TokenOptions:
        """QueryInterface(IID_IBitsTokenOptions) on a job, made by ``qi_identity`` (A15)."""
        return cls(svc, proxy, rec, qi_identity)

    def _clone(self) -> TokenOptions:
        return TokenOptions(self._svc, self._proxy.spawn(), self._rec, self._qi)

    def _query(self, iface: AnyInterface) -> ComObject:
        if iface is IBitsTokenOptions or iface is IUnknown:
            return self._clone()
        from .job import Job  # (job.py imports this module)

        return Job(self._svc, self._proxy.spawn(), self._rec)

    def __repr__(self) -> str:
        return f"<TokenOptions job={self._rec.id} qi={self._qi.user_name}>"

    @property
    def query_identity(self) -> AccessToken:
        """The identity that performed the QueryInterface; the tables judge it (SHT, T15)."""
        return self._qi

    # The access check of these methods is the QI-time decision table (domain/tokens.py), applied by the
    # service layer to the identity that performed the QueryInterface: the dispatcher checks the caller
    # only (ANONYMOUS refused, access=CALLER).

    @com_method(
        IBitsTokenOptions,
        "SetHelperToken",
        "captures the identity this proxy presents now; IDENTIFY: CO_E_FAILEDTOIMPERSONATE; "
        "a token whose logon session ended: E_ACCESSDENIED (our choice)",
        access=Access.CALLER,
    )
    def set_helper_token(self, caller: AccessToken) -> None:
        # The helper is the identity this proxy presents for this call, by the cloaking rules.
        self._svc.set_helper_token(self._qi, self._rec, caller, self._proxy.level)

    @com_method(IBitsTokenOptions, "ClearHelperToken", "flags are kept (CHT)", access=Access.CALLER)
    def clear_helper_token(self, caller: AccessToken) -> None:
        self._svc.clear_helper_token(self._qi, self._rec)

    @com_method(
        IBitsTokenOptions,
        "SetHelperTokenFlags",
        "any combination of BG_TOKEN_LOCAL_FILE|BG_TOKEN_NETWORK; other bits: E_INVALIDARG (A6)",
        access=Access.CALLER,
        convert={"flags": args.ulong},
    )
    def set_helper_token_flags(self, caller: AccessToken, flags: int) -> None:
        self._svc.set_helper_token_flags(self._qi, self._rec, flags)

    @com_method(IBitsTokenOptions, "GetHelperTokenFlags", "0 on a new job (A7)", access=Access.CALLER)
    def get_helper_token_flags(self, caller: AccessToken) -> int:
        return self._svc.token_decision(rules.Method.GET_HELPER_TOKEN_FLAGS, self._qi, self._rec).helper_flags

    @com_method(IBitsTokenOptions, "GetHelperTokenSid", "None (NULL) when no token is set (A8)", access=Access.CALLER)
    def get_helper_token_sid(self, caller: AccessToken) -> str | None:
        helper = self._svc.token_decision(rules.Method.GET_HELPER_TOKEN_SID, self._qi, self._rec).helper
        return None if helper is None else helper.token.user_sid
