"""IBackgroundCopyFile … IBackgroundCopyFile6."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..constants import BG_SIZE_UNKNOWN, FILE_INTERFACES, IBackgroundCopyFile, Interface
from ..domain import access
from ..domain.records import FileRecord, JobRecord
from ..identity.callers import Proxy
from .base import ComObject
from .registry import com_method
from .structures import FileProgress

if TYPE_CHECKING:
    from ..service import BitsService


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
            return FileProgress.model_construct(
                bytes_total=BG_SIZE_UNKNOWN if f.bytes_total is None else f.bytes_total,
                bytes_transferred=f.bytes_transferred,
                completed=f.completed,
            )
