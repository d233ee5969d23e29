"""IBackgroundCopyFile … IBackgroundCopyFile6."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .. import hresults
from ..constants import (
    BG_SIZE_UNKNOWN,
    FILE_INTERFACES,
    IBackgroundCopyFile,
    IBackgroundCopyFile3,
    IBackgroundCopyFile5,
    Interface,
)
from ..domain import access
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from . import args
from .base import ComObject
from .registry import com_method
from .structures import FileProgress

if TYPE_CHECKING:
    from ..service import BitsService


HTTP_RESPONSE_HEADERS = 1  # BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS


class File(ComObject):
    __slots__ = ("_file", "_job")
    INTERFACES: ClassVar[tuple[Interface, ...]] = FILE_INTERFACES

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
        IBackgroundCopyFile3, "GetTemporaryName", "the hidden .BIT*.tmp next to the local name; None before it exists"
    )
    def get_temporary_name(self) -> str | None:
        with self._svc.lock:
            self._require(IBackgroundCopyFile3)
            return self._read().temp_name

    @com_method(
        IBackgroundCopyFile5, "GetProperty", "HTTP_RESPONSE_HEADERS (1): the last response's headers, or None"
    )
    def get_property(self, property_id: int) -> str | None:
        pid = args.ulong(property_id, "property_id")
        with self._svc.lock:
            self._require(IBackgroundCopyFile5)
            f = self._read()
            if pid != HTTP_RESPONSE_HEADERS:
                raise BitsError(hresults.E_INVALIDARG, f"{pid} is not a BITS_FILE_PROPERTY_ID")
            return f.response_headers
