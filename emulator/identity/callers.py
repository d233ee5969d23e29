"""Who BITS sees on a call: client process token, per-proxy blanket and COM cloaking.

Facts: docs/reference/security.md#blanket (CLOAK, EOAC, SBN, CSPB, SVC: docs/reference/sources.md). Each
interface pointer carries its own blanket; a new pointer starts from the process-wide default
(CoInitializeSecurity, or IDENTIFY with no cloaking when it was never called). Cloaking is not inherited
by pointers obtained from another one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import hresults
from ..constants import Cloaking, ImpersonationLevel
from ..hresults import BitsError
from .tokens import AccessToken


@dataclass(frozen=True, slots=True)
class Blanket:
    """The part of a COM proxy blanket BITS depends on."""

    impersonation_level: ImpersonationLevel | int = ImpersonationLevel.IDENTIFY
    cloaking: Cloaking | int = Cloaking.NONE


DEFAULT_BLANKET = Blanket()
# The only capability flags CoSetProxyBlanket accepts: EOAC_MUTUAL_AUTH 0x1, EOAC_STATIC_CLOAKING 0x20,
# EOAC_DYNAMIC_CLOAKING 0x40, EOAC_ANY_AUTHORITY 0x80, EOAC_MAKE_FULLSIC 0x100, EOAC_DEFAULT 0x800; any other
# flag fails with E_INVALIDARG, as do both cloaking flags together
# (https://learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cosetproxyblanket).
SETTABLE_CAPABILITIES = 0x1 | 0x20 | 0x40 | 0x80 | 0x100 | 0x800
_CLOAKING_BITS = int(Cloaking.STATIC) | int(Cloaking.DYNAMIC)


def validate_blanket(blanket: Blanket, process_default: Blanket) -> Blanket:
    """Check a blanket as CoSetProxyBlanket does and normalise it.

    ``cloaking`` takes the EOAC capability flags: any flag outside SETTABLE_CAPABILITIES, EOAC_STATIC_CLOAKING
    together with EOAC_DYNAMIC_CLOAKING, or an unknown level give E_INVALIDARG (CSPB, T25). Only the cloaking
    bits are kept: the other settable flags do not change the identity BITS sees (emulator choice).
    RPC_C_IMP_LEVEL_DEFAULT negotiates: the client's level wins (SBN).
    """
    if not isinstance(blanket, Blanket):
        raise TypeError(f"blanket must be a Blanket, not {type(blanket).__name__}")
    level, cloak = blanket.impersonation_level, blanket.cloaking
    if (
        isinstance(level, bool)
        or not isinstance(level, int)
        or isinstance(cloak, bool)
        or not isinstance(cloak, int)
    ):
        raise TypeError("Blanket fields must be ints (ImpersonationLevel, Cloaking)")
    if (
        level not in range(0, 5)
        or cloak < 0
        or cloak & ~SETTABLE_CAPABILITIES
        or cloak & _CLOAKING_BITS == _CLOAKING_BITS
    ):
        raise BitsError(hresults.E_INVALIDARG, f"invalid proxy blanket {level=!r} capabilities={cloak:#x}")
    resolved = ImpersonationLevel(level)
    if resolved is ImpersonationLevel.DEFAULT:
        resolved = ImpersonationLevel(process_default.impersonation_level)
    return Blanket(resolved, Cloaking(cloak & _CLOAKING_BITS))


class Proxy:
    """One interface pointer's security state, in a client process: the process's primary token, the
    blanket CoInitializeSecurity gave every new proxy (``default_blanket``), and this pointer's own.

    Each GetJob, EnumJobs, Next or QueryInterface hands out a new pointer (``spawn``). When the process
    default presents the process token on every call (``fixed``), a pointer's security state never changes
    until its own CoSetProxyBlanket, which gives it a state of its own (``with_blanket``, a new object): so
    new pointers share the process-default state object until then (``reusable``, ``shared``). A pointer's
    state refers to that shared one, never the other way round: no reference cycle, so a client's pointers
    are freed as soon as the client drops them.
    """

    __slots__ = (
        "anonymous", "blanket", "cloak", "default_blanket", "fixed", "level", "reusable", "shared", "static_token",
        "token",
    )

    def __init__(self, token: AccessToken, default_blanket: Blanket, blanket: Blanket | None = None) -> None:
        self.token = token
        self.default_blanket = default_blanket
        self.static_token: AccessToken | None = None
        self.blanket = blanket = blanket or default_blanket
        level, cloak = blanket.impersonation_level, blanket.cloaking
        # Blankets from validate_blanket (and the default) hold enum members already: skip the conversion.
        self.level = level if isinstance(level, ImpersonationLevel) else ImpersonationLevel(level)
        self.cloak = cloak if isinstance(cloak, Cloaking) else Cloaking(cloak)
        self.anonymous = self.level is ImpersonationLevel.ANONYMOUS
        # ``fixed``: every call presents the process token, whatever the thread impersonates — the level
        # is below IMPERSONATE or there is no cloaking (CLOAK) — so a call needs no look at the thread.
        self.fixed = not self.anonymous and (
            self.level < ImpersonationLevel.IMPERSONATE or self.cloak is Cloaking.NONE
        )
        # The process-default state, when it can be handed to every new pointer: this one (``reusable``),
        # or the one this pointer's state was made from (``shared``); else each new pointer gets its own.
        self.reusable = self.fixed and blanket is default_blanket
        self.shared: Proxy | None = None

    def with_blanket(self, blanket: Blanket, thread_token: AccessToken | None) -> Proxy:
        """CoSetProxyBlanket: the new security state of this pointer, a new object (the one it replaces may
        be shared by other pointers)."""
        p = Proxy(self.token, self.default_blanket, validate_blanket(blanket, self.default_blanket))
        p.reusable = False  # its own state: never handed to another pointer
        p.shared = self if self.reusable else self.shared
        # Static cloaking fixes the identity when the blanket is set (CLOAK, EOAC).
        p.static_token = (thread_token or self.token) if p.cloak is Cloaking.STATIC else None
        return p

    def spawn(self) -> Proxy:
        """A pointer obtained through this one (QI, GetJob, Next…): the process default, not ours (SVC)."""
        if self.reusable:
            return self  # never changed in place (see the class docstring)
        shared = self.shared
        if shared is not None:
            return shared
        return Proxy(self.token, self.default_blanket)

    def peek(self, thread_token: AccessToken | None) -> AccessToken:
        """The identity a call made now would present, without capturing a static token (for logs)."""
        if self.fixed or self.anonymous:  # below IMPERSONATE, or no cloaking (see __init__)
            return self.token
        if self.cloak is Cloaking.DYNAMIC:
            return thread_token or self.token
        return self.static_token or thread_token or self.token

    def identity(self, thread_token: AccessToken | None) -> AccessToken:
        """The token BITS sees for a call made now, on this thread."""
        if self.fixed or self.anonymous:  # below IMPERSONATE, or no cloaking (see __init__)
            return self.token
        if self.cloak is Cloaking.DYNAMIC:
            return thread_token or self.token
        if self.static_token is None:
            # Process-wide static cloaking: captured on the pointer's first call.
            self.static_token = thread_token or self.token
        return self.static_token
