"""IEnumBackgroundCopyJobs and IEnumBackgroundCopyFiles: snapshots of membership, live properties."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from .. import hresults
from ..constants import IEnumBackgroundCopyFiles, IEnumBackgroundCopyJobs, Interface
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from . import args
from .base import ComObject
from .file import File
from .job import Job
from .registry import com_method

if TYPE_CHECKING:
    from ..service import BitsService

T = TypeVar("T", bound=ComObject)
R = TypeVar("R")


class _Enumerator(ComObject, Generic[T, R]):
    __slots__ = ("_items", "_pos")

    def __init__(self, svc: BitsService, proxy: Proxy, items: list[R], pos: int = 0) -> None:
        super().__init__(svc, proxy)
        self._items = items
        self._pos = pos

    def _make(self, item: R) -> T:
        raise NotImplementedError

    def _copy(self, pos: int) -> _Enumerator[T, R]:
        raise NotImplementedError

    def _clone(self) -> _Enumerator[T, R]:
        return self._copy(self._pos)

    def next(self, count: int = 1) -> list[T]:
        """Up to ``count`` items from the current position (fewer means S_FALSE). ``count`` 0 is
        undocumented; our choice is E_INVALIDARG, the COM convention
        (docs/reference/readings.md#enumerator-args)."""
        n = args.ulong(count, "count")
        with self._svc.lock:
            self._caller()
            if n == 0:
                raise BitsError(hresults.E_INVALIDARG, "Next needs a count of at least 1")
            chunk = self._items[self._pos : self._pos + n]
            self._pos += len(chunk)
            return [self._make(item) for item in chunk]

    def skip(self, count: int) -> int:
        """Returns S_OK when ``count`` items were skipped, S_FALSE when fewer remained."""
        n = args.ulong(count, "count")
        with self._svc.lock:
            self._caller()
            skipped = min(n, len(self._items) - self._pos)
            self._pos += skipped
            return int(hresults.S_OK if skipped == n else hresults.S_FALSE)

    def reset(self) -> None:
        with self._svc.lock:
            self._caller()
            self._pos = 0

    def clone(self) -> _Enumerator[T, R]:
        """Same snapshot, same position, independent afterwards."""
        with self._svc.lock:
            self._caller()
            return self._copy(self._pos)

    def get_count(self) -> int:
        with self._svc.lock:
            self._caller()
            return len(self._items)

    def __iter__(self) -> Iterator[T]:
        while True:
            batch = self.next(1)
            if not batch:
                return
            yield batch[0]

    def __len__(self) -> int:
        return self.get_count()


class JobEnumerator(_Enumerator[Job, JobRecord]):
    __slots__ = ()
    INTERFACES: ClassVar[tuple[Interface, ...]] = (IEnumBackgroundCopyJobs,)

    def _make(self, item: JobRecord) -> Job:
        return Job(self._svc, self._proxy.spawn(), item)

    def _copy(self, pos: int) -> JobEnumerator:
        return JobEnumerator(self._svc, self._proxy.spawn(), self._items, pos)


class FileEnumerator(_Enumerator[File, FileRecord]):
    __slots__ = ("_job",)
    INTERFACES: ClassVar[tuple[Interface, ...]] = (IEnumBackgroundCopyFiles,)

    def __init__(
        self, svc: BitsService, proxy: Proxy, job: JobRecord, items: list[FileRecord], pos: int = 0
    ) -> None:
        super().__init__(svc, proxy, items, pos)
        self._job = job

    def _make(self, item: FileRecord) -> File:
        return File(self._svc, self._proxy.spawn(), self._job, item)

    def _copy(self, pos: int) -> FileEnumerator:
        return FileEnumerator(self._svc, self._proxy.spawn(), self._job, self._items, pos)


for _name, _com in (
    ("next", "Next"),
    ("skip", "Skip"),
    ("reset", "Reset"),
    ("clone", "Clone"),
    ("get_count", "GetCount"),
):
    for _iface in (IEnumBackgroundCopyJobs, IEnumBackgroundCopyFiles):
        com_method(_iface, _com)(getattr(_Enumerator, _name))
