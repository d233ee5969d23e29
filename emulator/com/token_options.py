"""IBitsTokenOptions (filled in by the helper-token work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hresults
from ..domain.records import JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from .base import ComObject

if TYPE_CHECKING:
    from ..service import BitsService


class TokenOptions(ComObject):
    __slots__ = ()

    @classmethod
    def obtain(cls, svc: BitsService, proxy: Proxy, rec: JobRecord) -> TokenOptions:
        raise BitsError(hresults.E_NOINTERFACE, "IBitsTokenOptions is not implemented yet")
