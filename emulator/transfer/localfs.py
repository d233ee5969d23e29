"""The local file system as BITS jobs see it (extended by the transfer work: sandbox roots and ACLs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.records import JobRecord
from ..identity.tokens import AccessToken

if TYPE_CHECKING:
    from ..service import BitsService


class LocalFileSystem:
    def __init__(self, svc: BitsService) -> None:
        self._svc = svc

    def check_destination(self, caller: AccessToken, job: JobRecord, local_name: str) -> str:
        """The local name as stored; raises E_INVALIDARG / E_ACCESSDENIED for names the sandbox refuses."""
        return local_name

    def check_new_owner(self, caller: AccessToken, job: JobRecord) -> None:
        """TakeOwnership: BG_E_NEW_OWNER_NO_FILE_ACCESS when the new owner cannot reach the job's files."""
