"""Helper tokens: session-scoped storage and the purge on logoff and restart (spec/bits-security.md §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import BitsService


class HelperTokens:
    def __init__(self, svc: BitsService) -> None:
        self._svc = svc

    def discard_all(self) -> None:
        """Service restart: every helper token is dropped, flags stay (SHT, T34)."""
        svc = self._svc
        with svc.queue.batch():
            svc.store.clear_all_helper_tokens()
            for rec in list(svc.queue.jobs.values()):
                if rec.helper is not None:
                    svc.queue.update(rec, touch=False, helper=None)
