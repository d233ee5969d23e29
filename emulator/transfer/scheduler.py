"""The scheduler: catches the simulation up to the clock's "now" on every API call (DESIGN §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hresults
from ..constants import JobState
from ..domain.records import JobRecord
from ..domain.states import Trigger
from ..identity.tokens import AccessToken
from .localfs import LocalFileSystem

if TYPE_CHECKING:
    from ..service import BitsService


class Scheduler:
    def __init__(self, svc: BitsService) -> None:
        self._svc = svc
        self.filesystem = LocalFileSystem(svc)

    def catch_up(self) -> None:
        """Run every job forward to the clock's current time."""

    def run_until_idle(self, max_seconds: float) -> None:
        self.catch_up()

    def resume(self, rec: JobRecord, caller: AccessToken) -> None:
        self._svc.queue.change_state(rec, Trigger.RESUME)

    def cancel(self, rec: JobRecord, caller: AccessToken) -> int:
        self._svc.queue.change_state(rec, Trigger.CANCEL)
        return int(hresults.S_OK)

    def complete(self, rec: JobRecord, caller: AccessToken) -> int:
        partial = rec.job_type == 0 and any(not f.transferred for f in rec.files)
        self._svc.queue.change_state(rec, Trigger.COMPLETE)
        return int(hresults.BG_S_PARTIAL_COMPLETE if partial else hresults.S_OK)

    def notify_interface_changed(self, rec: JobRecord) -> None:
        """A callback registered after an event still receives it once (§2.11)."""

    def state_allows_transfer(self, rec: JobRecord) -> bool:
        return rec.state in (JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING)
