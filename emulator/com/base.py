"""What every emulated interface pointer shares: its proxy blanket, the caller identity, QueryInterface."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, ClassVar, Self, overload

from .. import hresults
from ..constants import (
    AnyInterface,
    Interface,
    IUnknown,
    JobKind,
    TokenOptionsKind,
    UnknownKind,
    resolve_interface,
)
from ..hresults import BitsError
from ..identity.callers import Blanket, Proxy
from ..identity.tokens import AccessToken

if TYPE_CHECKING:
    from ..backend import Backend
    from ..domain.records import JobRecord


class ComObject:
    """An interface pointer held by a client. Each has its own proxy blanket (SVC: not inherited)."""

    __slots__ = ("_proxy", "_svc")
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = ()

    def __init__(self, svc: Backend, proxy: Proxy) -> None:
        self._svc = svc  # the service layer (emulator/backend.py), never the service itself
        self._proxy = proxy

    def _caller(self) -> AccessToken:
        """The identity BITS sees for this call; ANONYMOUS is refused on every call (CONN, T21, A4)."""
        proxy = self._proxy
        if proxy.anonymous:
            raise BitsError(hresults.E_ACCESSDENIED, "the proxy's impersonation level is ANONYMOUS")
        return proxy.identity(self._svc.thread_token)

    @property
    def _job_record(self) -> JobRecord:
        """The job whose access rules a declared READ / WRITE / OWNER method checks (com/registry.py).
        Classes bound to a job define it as ``property(attrgetter(...))``: it is read on every such call,
        and a C-level getter costs no Python frame."""
        raise TypeError(f"{type(self).__name__} is bound to no job")

    def set_blanket(self, blanket: Blanket) -> None:
        """CoSetProxyBlanket on this pointer only."""
        with self._svc.lock:
            self._proxy = self._proxy.with_blanket(blanket, self._svc.thread_token)

    @property
    def blanket(self) -> Blanket:
        return self._proxy.blanket

    # Which object answers which interface, for the type checker: every interface constant carries its kind
    # (constants.py), and each class overloads query_interface for the kinds it answers, so
    # ``job.query_interface(IBitsTokenOptions)`` is a TokenOptions and ``job.query_interface(IBackgroundCopyJob5)``
    # a Job, without a cast. An IID or a name gives a ComObject. At run time INTERFACES decide;
    # tests/test_typed_query_interface.py checks that the kinds and INTERFACES agree.
    # mypy lets an override narrow an overload of its base but not add one, hence the TokenOptionsKind and
    # JobKind items here: Job narrows the first to TokenOptions and TokenOptions the second to Job (the
    # interfaces answered by another object than the one asked).
    @overload
    def query_interface(self, interface: Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: Interface[TokenOptionsKind]) -> ComObject: ...
    @overload
    def query_interface(self, interface: Interface[JobKind]) -> ComObject: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface: E_NOINTERFACE when the object lacks it or the profile's BITS predates it."""
        iface = resolve_interface(interface)
        svc = self._svc
        if self._proxy.anonymous:
            # QueryInterface reaches the service too: ANONYMOUS is refused on every call (CONN, A4).
            raise BitsError(hresults.E_ACCESSDENIED, "the proxy's impersonation level is ANONYMOUS")
        if iface is None or (iface not in self.INTERFACES and iface is not IUnknown) or not svc.profile.has(iface):
            name = iface.name if iface is not None else str(interface)
            raise BitsError(
                hresults.E_NOINTERFACE,
                f"{type(self).__name__} does not implement {name} on {svc.profile.name} "
                f"(BITS {'.'.join(map(str, svc.profile.bits_version))})",
            )
        with svc.lock:
            return self._query(iface)

    def _query(self, iface: AnyInterface) -> ComObject:
        return self._clone()

    def _clone(self) -> ComObject:
        raise NotImplementedError

