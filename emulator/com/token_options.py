"""IBitsTokenOptions: the job's helper token and its usage flags (docs/reference/security.md; source keys
such as HT, SHT: docs/reference/sources.md).

The access check belongs to QueryInterface (HT: at SetHelperToken time the client impersonates the helper,
who may have no access to the job), so the view remembers the identity that performed the QI and every
method judges *that* identity with the decision tables of domain/tokens.py. The helper identity itself is
taken from this proxy when SetHelperToken is called, following the cloaking rules
(docs/reference/security.md#blanket).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..constants import IBitsTokenOptions, ImpersonationLevel, Interface
from ..domain import access as general_access
from ..domain import tokens as rules
from ..domain.records import JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .registry import com_method

if TYPE_CHECKING:
    from ..service import BitsService


class TokenOptions(ComObject):
    __slots__ = ("_qi", "_rec")
    INTERFACES: ClassVar[tuple[Interface, ...]] = (IBitsTokenOptions,)

    def __init__(self, svc: BitsService, proxy: Proxy, rec: JobRecord, qi_identity: AccessToken) -> None:
        super().__init__(svc, proxy)
        self._rec = rec
        self._qi = qi_identity

    @classmethod
    def obtain(cls, svc: BitsService, proxy: Proxy, rec: JobRecord, qi_identity: AccessToken) -> TokenOptions:
        """QueryInterface(IID_IBitsTokenOptions) on a job, made by ``qi_identity`` (A15)."""
        return cls(svc, proxy, rec, qi_identity)

    def _clone(self) -> TokenOptions:
        return TokenOptions(self._svc, self._proxy.spawn(), self._rec, self._qi)

    def __repr__(self) -> str:
        return f"<TokenOptions job={self._rec.id} qi={self._qi.user_name}>"

    @property
    def query_identity(self) -> AccessToken:
        """The identity that performed the QueryInterface; the tables judge it (SHT, T15)."""
        return self._qi

    def _subject(self) -> rules.Subject:
        rec, qi = self._rec, self._qi
        return rules.Subject(
            qi_sid=qi.user_sid,
            qi_admin=qi.is_admin,
            qi_can_write=general_access.can_write(qi, rec),
            owner_sid=rec.owner_sid,
            owner_admin=rec.owner_elevated,
        )

    def _decide(
        self,
        method: rules.Method,
        *,
        level: ImpersonationLevel = ImpersonationLevel.IMPERSONATE,
        helper_is_admin: bool = False,
        flags: int = 0,
    ) -> JobRecord:
        svc = self._svc
        self._caller()  # ANONYMOUS is refused on every call (CONN, T21)
        svc.scheduler.catch_up()
        rec = self._rec
        decision = rules.decide(
            svc.profile.helper_rules,
            method,
            self._subject(),
            level=level,
            helper_is_admin=helper_is_admin,
            flags=flags,
            final=rec.is_final,
            choices=svc.helper_token_choices,
        )
        if not decision.allowed:
            raise BitsError(decision.hresult, decision.reason)
        return rec

    @com_method(
        IBitsTokenOptions,
        "SetHelperToken",
        "captures the identity this proxy presents now; IDENTIFY: CO_E_FAILEDTOIMPERSONATE; "
        "a token whose logon session ended: E_ACCESSDENIED (our choice)",
    )
    def set_helper_token(self) -> None:
        svc = self._svc
        with svc.lock:
            helper = self._caller()
            self._decide(
                rules.Method.SET_HELPER_TOKEN, level=self._proxy.level, helper_is_admin=helper.is_admin
            )
            svc.helper_tokens.set(self._rec, helper)

    @com_method(IBitsTokenOptions, "ClearHelperToken", "flags are kept (CHT)")
    def clear_helper_token(self) -> None:
        svc = self._svc
        with svc.lock:
            rec = self._decide(rules.Method.CLEAR_HELPER_TOKEN)
            svc.helper_tokens.clear(rec)

    @com_method(
        IBitsTokenOptions,
        "SetHelperTokenFlags",
        "any combination of BG_TOKEN_LOCAL_FILE|BG_TOKEN_NETWORK; other bits: E_INVALIDARG (A6)",
    )
    def set_helper_token_flags(self, flags: int) -> None:
        value = args.ulong(flags, "flags")
        svc = self._svc
        with svc.lock:
            current = self._rec.helper
            rec = self._decide(
                rules.Method.SET_HELPER_TOKEN_FLAGS,
                flags=value,
                helper_is_admin=current is not None and current.token.is_admin,
            )
            svc.helper_tokens.set_flags(rec, value)

    @com_method(IBitsTokenOptions, "GetHelperTokenFlags", "0 on a new job (A7)")
    def get_helper_token_flags(self) -> int:
        with self._svc.lock:
            return self._decide(rules.Method.GET_HELPER_TOKEN_FLAGS).helper_flags

    @com_method(IBitsTokenOptions, "GetHelperTokenSid", "None (NULL) when no token is set (A8)")
    def get_helper_token_sid(self) -> str | None:
        with self._svc.lock:
            helper = self._decide(rules.Method.GET_HELPER_TOKEN_SID).helper
            return None if helper is None else helper.token.user_sid
