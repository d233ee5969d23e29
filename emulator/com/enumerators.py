"""IEnumBackgroundCopyJobs and IEnumBackgroundCopyFiles: snapshots of membership, live properties."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, Generic, Self, TypeVar, overload

from .. import hresults
from ..constants import (
    AnyInterface,
    FileEnumKind,
    IEnumBackgroundCopyFiles,
    IEnumBackgroundCopyJobs,
    Interface,
    JobEnumKind,
    UnknownKind,
)
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .file import File
from .job import Job
from .registry import Access, com_method

if TYPE_CHECKING:
    from ..backend import Backend

T = TypeVar("T", bound=ComObject)
_CHUNK = 64  # items per Next call when a Python loop iterates an enumerator
R = TypeVar("R")


class _Enumerator(ComObject, Generic[T, R]):
    __slots__ = ("_at", "_items")

    def __init__(self, svc: Backend, proxy: Proxy, items: list[R], at: list[int] | None = None) -> None:
        self._svc = svc  # ComObject's fields, without the super().__init__ frame (as Job does)
        self._proxy = proxy
        self._items = items
        # The position, in a cell shared by every pointer to this one COM object: QueryInterface hands out
        # another pointer to the same enumerator (its Next moves both), Clone a new enumerator
        # (https://learn.microsoft.com/en-us/windows/win32/api/unknwn/nf-unknwn-iunknown-queryinterface(refiid_void)).
        self._at = [0] if at is None else at

    def _make(self, item: R) -> T:
        raise NotImplementedError

    def _copy(self, at: list[int]) -> _Enumerator[T, R]:
        """Another pointer over the same snapshot whose position is the cell ``at``."""
        raise NotImplementedError

    def _clone(self) -> _Enumerator[T, R]:
        return self._copy(self._at)  # QueryInterface: the same object, the same position

    # The COM methods. Their bodies are written once here and installed on each enumerator class with
    # that class's interface (the loop at the end of the module), so each is declared in the registry and
    # dispatched with its call policy: the caller is checked (ANONYMOUS refused), never the jobs' access
    # rules again — the list is a snapshot taken by EnumJobs/EnumFiles (access=CALLER).

    if TYPE_CHECKING:

        def next(self, count: int = 1) -> list[T]: ...
        def skip(self, count: int) -> int: ...
        def reset(self) -> None: ...
        def clone(self) -> _Enumerator[T, R]: ...
        def get_count(self) -> int: ...

    def _next(self, caller: AccessToken, count: int = 1) -> list[T]:
        """Up to ``count`` items from the current position (fewer means S_FALSE). ``count`` 0 is
        undocumented; our choice is E_INVALIDARG, the COM convention
        (docs/reference/readings.md#enumerator-args)."""
        if count == 0:
            raise BitsError(hresults.E_INVALIDARG, "Next needs a count of at least 1")
        at = self._at
        pos = at[0]
        chunk = self._items[pos : pos + count]
        at[0] = pos + len(chunk)
        return [self._make(item) for item in chunk]

    def _skip(self, caller: AccessToken, count: int) -> int:
        """Returns S_OK when ``count`` items were skipped, S_FALSE when fewer remained."""
        at = self._at
        skipped = min(count, len(self._items) - at[0])
        at[0] += skipped
        return int(hresults.S_OK if skipped == count else hresults.S_FALSE)

    def _reset(self, caller: AccessToken) -> None:
        self._at[0] = 0

    def _clone_com(self, caller: AccessToken) -> _Enumerator[T, R]:
        """Same snapshot, same position, independent afterwards."""
        return self._copy([self._at[0]])

    def _get_count(self, caller: AccessToken) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        # Fetched in chunks, as a COM client asks Next for several items per round trip: a chunk shorter
        # than asked for (S_FALSE) is the end, so a short enumeration costs one Next call, not one per item
        # plus a last empty one — and, being the whole of it, is iterated as it is (no generator).
        batch = self.next(_CHUNK)
        return iter(batch) if len(batch) < _CHUNK else self._rest(batch)

    def _rest(self, batch: list[T]) -> Iterator[T]:
        while True:
            yield from batch
            if len(batch) < _CHUNK:
                return
            batch = self.next(_CHUNK)

    def __len__(self) -> int:
        """The snapshot's size, read here without a call to the service: ``list(enumerator)`` asks for
        it as a length hint before iterating, and a COM client iterating an enumerator calls Next only.
        GetCount (``get_count``) is the COM method, with its call policy."""
        return len(self._items)


class JobEnumerator(_Enumerator[Job, JobRecord]):
    __slots__ = ()
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = (IEnumBackgroundCopyJobs,)

    @overload
    def query_interface(self, interface: Interface[JobEnumKind] | Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface (typed per interface kind; see ComObject.query_interface)."""
        return super().query_interface(interface)

    def _make(self, item: JobRecord) -> Job:
        return Job(self._svc, self._proxy.spawn(), item)

    def _copy(self, at: list[int]) -> JobEnumerator:
        return JobEnumerator(self._svc, self._proxy.spawn(), self._items, at)


class FileEnumerator(_Enumerator[File, FileRecord]):
    __slots__ = ("_job",)
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = (IEnumBackgroundCopyFiles,)

    @overload
    def query_interface(self, interface: Interface[FileEnumKind] | Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface (typed per interface kind; see ComObject.query_interface)."""
        return super().query_interface(interface)

    def __init__(
        self, svc: Backend, proxy: Proxy, job: JobRecord, items: list[FileRecord], at: list[int] | None = None
    ) -> None:
        super().__init__(svc, proxy, items, at)
        self._job = job

    def _make(self, item: FileRecord) -> File:
        return File(self._svc, self._proxy.spawn(), self._job, item)

    def _copy(self, at: list[int]) -> FileEnumerator:
        return FileEnumerator(self._svc, self._proxy.spawn(), self._job, self._items, at)


for _cls, _iface in ((JobEnumerator, IEnumBackgroundCopyJobs), (FileEnumerator, IEnumBackgroundCopyFiles)):
    for _name, _com, _body, _convert in (
        ("next", "Next", _Enumerator._next, {"count": args.ulong}),
        ("skip", "Skip", _Enumerator._skip, {"count": args.ulong}),
        ("reset", "Reset", _Enumerator._reset, {}),
        ("clone", "Clone", _Enumerator._clone_com, {}),
        ("get_count", "GetCount", _Enumerator._get_count, {}),
    ):
        setattr(_cls, _name, com_method(_iface, _com, access=Access.CALLER, convert=_convert, python_name=_name)(_body))
