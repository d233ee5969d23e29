"""IBackgroundCopyManager."""

from __future__ import annotations

import uuid
from typing import ClassVar, Self, overload

from .. import hresults
from ..constants import (
    AnyInterface,
    IBackgroundCopyManager,
    Interface,
    JobType,
    ManagerKind,
    UnknownKind,
)
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .enumerators import JobEnumerator
from .job import Job
from .registry import Access, com_method


class Manager(ComObject):
    __slots__ = ()
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = (IBackgroundCopyManager,)

    @overload
    def query_interface(self, interface: Interface[ManagerKind] | Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface (typed per interface kind; see ComObject.query_interface)."""
        return super().query_interface(interface)

    def _clone(self) -> Manager:
        return Manager(self._svc, self._proxy.spawn())

    def __repr__(self) -> str:
        return f"<Manager for {self._proxy.token.user_name}>"

    @com_method(
        IBackgroundCopyManager,
        "CreateJob",
        "returns (job_id, job) in COM order",
        access=Access.CALLER,
        convert={"display_name": args.text, "job_type": args.integer},
    )
    def create_job(
        self, caller: AccessToken, display_name: str | None, job_type: JobType | int = JobType.DOWNLOAD
    ) -> tuple[uuid.UUID, Job]:
        rec = self._svc.create_job(caller, display_name, job_type)
        return rec.id, Job(self._svc, self._proxy.spawn(), rec)

    @com_method(
        IBackgroundCopyManager,
        "GetJob",
        "final (completed/cancelled) jobs: BG_E_NOT_FOUND (our choice)",
        access=Access.CALLER,
        convert={"job_id": args.guid},
    )
    def get_job(self, caller: AccessToken, job_id: uuid.UUID | str) -> Job:
        assert isinstance(job_id, uuid.UUID)  # converted by args.guid
        return Job(self._svc, self._proxy.spawn(), self._svc.get_job(caller, job_id))

    @com_method(
        IBackgroundCopyManager,
        "EnumJobs",
        "flags other than 0 and 1: E_INVALIDARG (A13)",
        access=Access.CALLER,
        convert={"flags": args.ulong},
    )
    def enum_jobs(self, caller: AccessToken, flags: int = 0) -> JobEnumerator:
        return JobEnumerator(self._svc, self._proxy.spawn(), self._svc.enum_jobs(caller, flags))

    @com_method(
        IBackgroundCopyManager,
        "GetErrorDescription",
        "English texts; LanguageId 0 = user default",
        access=Access.CALLER,
        convert={"hresult": args.hresult, "language_id": args.ulong},
    )
    def get_error_description(self, caller: AccessToken, hresult: int, language_id: int = 0x0409) -> str:
        return hresults.describe(hresult, language_id)
