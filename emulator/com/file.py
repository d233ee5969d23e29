"""IBackgroundCopyFile … IBackgroundCopyFile6."""

from __future__ import annotations

import uuid
from operator import attrgetter
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
    UnknownKind,
)
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .file_methods import FileMethodsMixin
from .registry import Access, com_method
from .structures import FileProgress

if TYPE_CHECKING:
    from ..backend import Backend


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

    def __init__(self, svc: Backend, proxy: Proxy, job: JobRecord, file: FileRecord) -> None:
        super().__init__(svc, proxy)
        self._job = job
        self._file = file

    def _clone(self) -> File:
        return File(self._svc, self._proxy.spawn(), self._job, self._file)

    def __repr__(self) -> str:
        return f"<File {self._file.remote_name!r} -> {self._file.local_name!r}>"

    _job_record = property(attrgetter("_job"))  # (see ComObject._job_record)

    @com_method(IBackgroundCopyFile, "GetRemoteName", access=Access.READ)
    def get_remote_name(self, caller: AccessToken) -> str:
        return self._file.remote_name

    @com_method(IBackgroundCopyFile, "GetLocalName", access=Access.READ)
    def get_local_name(self, caller: AccessToken) -> str:
        return self._file.local_name

    @com_method(
        IBackgroundCopyFile,
        "GetProgress",
        "bytes_total is BG_SIZE_UNKNOWN until the size is known",
        access=Access.READ,
    )
    def get_progress(self, caller: AccessToken) -> FileProgress:
        f = self._file
        self._svc.sync_progress(self._job)  # a running file's bytes are computed when read
        return FileProgress.model_construct(
            bytes_total=BG_SIZE_UNKNOWN if f.bytes_total is None else f.bytes_total,
            bytes_transferred=f.bytes_transferred,
            completed=f.completed,
        )

    @com_method(
        IBackgroundCopyFile2,
        "SetRemoteName",
        "download jobs only (E_NOTIMPL); URL checked as AddFile does (a ranged file: no SMB, E_INVALIDARG); "
        "durable from the next Resume; "
        "a connection already transferring the file keeps its server until the job reconnects",
        access=Access.WRITE,
        convert={"url": args.text},
    )
    def set_remote_name(self, caller: AccessToken, url: str | None) -> None:
        """IBackgroundCopyFile2::SetRemoteName (https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/
        nf-bits2_0-ibackgroundcopyfile2-setremotename).

        Order of checks as everywhere (types → ANONYMOUS → access → state → values): BG_E_INVALID_STATE
        on a cancelled or acknowledged job, E_NOTIMPL on upload and upload-reply jobs, then the URL rules
        of AddFile (E_INVALIDARG), and no SMB name for a file added with ranges (E_INVALIDARG, as
        AddFileWithRanges and ReplaceRemotePrefix: docs/reference/readings.md#ranges-smb-dynamic). The page
        says the change "does not serialize" until Resume: the new name is used at once in memory and
        written to the store by the next Resume. When the file next connects, the restart rule applies (a
        different time stamp or size, or a server without ranges, restarts the file from byte 0; a finished
        file is not transferred again). OUR CHOICE where the page is silent: a connection already moving the
        file's bytes keeps its server until the job reconnects (Suspend/Resume, an error and Resume, a
        retry), as the page's Suspend → SetRemoteName → Resume pattern implies.
        """
        self._svc.set_remote_name(self._job, self._file, url)

    @com_method(
        IBackgroundCopyFile3,
        "GetTemporaryName",
        "the hidden .BIT*.tmp next to the local name (a HIGH_PERFORMANCE job's: the local name itself); None "
        "before the file has begun",
        access=Access.READ,
    )
    def get_temporary_name(self, caller: AccessToken) -> str | None:
        return self._file.temp_name

    @com_method(
        IBackgroundCopyFile5,
        "GetProperty",
        "HTTP_RESPONSE_HEADERS (1): the last response's headers, or None; other ids: BG_E_UNKNOWN_PROPERTY_ID",
        access=Access.READ,
        convert={"property_id": args.ulong},
    )
    def get_property(self, caller: AccessToken, property_id: int) -> str | None:
        if property_id != HTTP_RESPONSE_HEADERS:
            # Undocumented code; OUR CHOICE: bitsmsg.h's BG_E_UNKNOWN_PROPERTY_ID, as Job5 GetProperty gives.
            raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"{property_id} is not a BITS_FILE_PROPERTY_ID")
        return self._file.response_headers
