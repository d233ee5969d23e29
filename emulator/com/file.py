"""IBackgroundCopyFile … IBackgroundCopyFile6."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, ClassVar, Self, overload

from .. import hresults
from ..constants import (
    BG_SIZE_UNKNOWN,
    FILE_INTERFACES,
    AnyInterface,
    FileKind,
    IBackgroundCopyFile,
    IBackgroundCopyFile2,
    IBackgroundCopyFile3,
    IBackgroundCopyFile5,
    Interface,
    JobType,
    UnknownKind,
)
from ..domain import access, names
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from . import args
from .base import ComObject
from .file_methods import FileMethodsMixin
from .registry import com_method
from .structures import FileProgress

if TYPE_CHECKING:
    from ..service import BitsService


HTTP_RESPONSE_HEADERS = 1  # BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS


class File(FileMethodsMixin, ComObject):
    __slots__ = ("_file", "_job")
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = FILE_INTERFACES

    @overload
    def query_interface(self, interface: Interface[FileKind] | Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface (typed per interface kind; see ComObject.query_interface)."""
        return super().query_interface(interface)

    def __init__(self, svc: BitsService, proxy: Proxy, job: JobRecord, file: FileRecord) -> None:
        super().__init__(svc, proxy)
        self._job = job
        self._file = file

    def _clone(self) -> File:
        return File(self._svc, self._proxy.spawn(), self._job, self._file)

    def __repr__(self) -> str:
        return f"<File {self._file.remote_name!r} -> {self._file.local_name!r}>"

    def _read(self) -> FileRecord:
        caller = self._caller()
        self._svc.scheduler.catch_up()
        access.check_read(caller, self._job)
        return self._file

    @com_method(IBackgroundCopyFile, "GetRemoteName")
    def get_remote_name(self) -> str:
        with self._svc.lock:
            return self._read().remote_name

    @com_method(IBackgroundCopyFile, "GetLocalName")
    def get_local_name(self) -> str:
        with self._svc.lock:
            return self._read().local_name

    @com_method(IBackgroundCopyFile, "GetProgress", "bytes_total is BG_SIZE_UNKNOWN until the size is known")
    def get_progress(self) -> FileProgress:
        with self._svc.lock:
            f = self._read()
            self._svc.scheduler.sync_progress(self._job)  # a running file's bytes are computed when read
            return FileProgress.model_construct(
                bytes_total=BG_SIZE_UNKNOWN if f.bytes_total is None else f.bytes_total,
                bytes_transferred=f.bytes_transferred,
                completed=f.completed,
            )

    @com_method(
        IBackgroundCopyFile2,
        "SetRemoteName",
        "download jobs only (E_NOTIMPL); URL checked as AddFile does; durable from the next Resume; "
        "a connection already transferring the file keeps its server until the job reconnects",
    )
    def set_remote_name(self, url: str) -> None:
        """IBackgroundCopyFile2::SetRemoteName (https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/
        nf-bits2_0-ibackgroundcopyfile2-setremotename).

        Order of checks as everywhere (types → ANONYMOUS → access → state → values): BG_E_INVALID_STATE
        on a cancelled or acknowledged job, E_NOTIMPL on upload and upload-reply jobs, then the URL rules
        of AddFile (E_INVALIDARG). The page says the change "does not serialize" until Resume: the new
        name is used at once in memory and written to the store by the next Resume. When the file next
        connects, the restart rule applies (a different time stamp or size, or a server without ranges,
        restarts the file from byte 0; a finished file is not transferred again). OUR CHOICE where the
        page is silent: a connection already moving the file's bytes keeps its server until the job
        reconnects (Suspend/Resume, an error and Resume, a retry), as the page's Suspend → SetRemoteName
        → Resume pattern implies.
        """
        value = args.text(url, "url")
        svc = self._svc
        with svc.lock:
            self._require(IBackgroundCopyFile2)
            caller = self._caller()
            svc.scheduler.catch_up()
            job = self._job
            access.check_write(caller, job)
            if job.is_final:
                raise BitsError(hresults.BG_E_INVALID_STATE, f"job is {job.state.name}")
            if job.job_type is not JobType.DOWNLOAD:
                raise BitsError(hresults.E_NOTIMPL, "SetRemoteName is for download jobs only")
            if value is None:
                raise BitsError(hresults.E_INVALIDARG, "the remote name must not be NULL")
            names.remote_kind(value, job.job_type)
            f = self._file
            if value == f.remote_name:
                return
            f.remote_name = value
            f.remote_name_unsaved = True
            svc.queue.update(job)  # a property change: modification time, JobModification

    @com_method(
        IBackgroundCopyFile3, "GetTemporaryName", "the hidden .BIT*.tmp next to the local name; None before it exists"
    )
    def get_temporary_name(self) -> str | None:
        with self._svc.lock:
            self._require(IBackgroundCopyFile3)
            return self._read().temp_name

    @com_method(
        IBackgroundCopyFile5,
        "GetProperty",
        "HTTP_RESPONSE_HEADERS (1): the last response's headers, or None; other ids: BG_E_UNKNOWN_PROPERTY_ID",
    )
    def get_property(self, property_id: int) -> str | None:
        pid = args.ulong(property_id, "property_id")
        with self._svc.lock:
            self._require(IBackgroundCopyFile5)
            f = self._read()
            if pid != HTTP_RESPONSE_HEADERS:
                # Undocumented code; OUR CHOICE: bitsmsg.h's BG_E_UNKNOWN_PROPERTY_ID, as Job5 GetProperty gives.
                raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"{pid} is not a BITS_FILE_PROPERTY_ID")
            return f.response_headers


def save_remote_names(svc: BitsService, job: JobRecord) -> None:
    """Resume serializes the names SetRemoteName changed (setremotename page)."""
    for f in job.files:
        if f.remote_name_unsaved:
            svc.queue.update_file(job, f, remote_name=f.remote_name)
            f.remote_name_unsaved = False
