"""The interface objects a notification callback receives, made for the notifier by the COM facade.

The notifier (``transfer/notifications.py``) never imports ``com``: the composition root hands it this
factory. A callback receives pointers of the client that registered it (its proxy), or of the service's
interactive user when nobody registered through a proxy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..domain.records import ErrorRecord, FileRecord, JobRecord
from ..identity.callers import DEFAULT_BLANKET, Proxy

if TYPE_CHECKING:
    from ..backend import Backend


def _unbound() -> None:
    return None


class ComViews:
    def __init__(self) -> None:
        self._backend: Callable[[], Backend | None] = _unbound

    def bind(self, backend: Backend) -> None:
        """The service layer, built after the notifier this factory is given to. Held weakly: the service
        layer reaches the notifier (through the scheduler), so a strong reference would be a cycle that
        only the garbage collector frees. The notifier only runs inside a call that holds the service
        layer (a COM method's catch-up) or the service (which holds it), so it is alive whenever used."""
        self._backend = weakref.ref(backend)

    @property
    def _svc(self) -> Backend:
        backend = self._backend()
        if backend is None:
            raise RuntimeError("the service these notifications belong to is gone")
        return backend

    def _proxy(self, registrant: object) -> Proxy:
        if isinstance(registrant, Proxy):
            return registrant.spawn()
        return Proxy(self._svc.current_session.token, DEFAULT_BLANKET)

    def job(self, rec: JobRecord, registrant: object) -> object:
        from .job import Job

        return Job(self._svc, self._proxy(registrant), rec)

    def error(self, rec: JobRecord, error: ErrorRecord, registrant: object) -> object:
        from .error import CopyError

        return CopyError(self._svc, self._proxy(registrant), rec, error)

    def file(self, rec: JobRecord, f: FileRecord, registrant: object) -> object:
        from .file import File

        return File(self._svc, self._proxy(registrant), rec, f)

    def ranges(self, spans: list[tuple[int, int]]) -> object:
        """FileRangesTransferred's BG_FILE_RANGE array, as a list of FileRange."""
        from .structures import FileRange

        return [FileRange.model_construct(initial_offset=o, length=n) for o, n in spans]
