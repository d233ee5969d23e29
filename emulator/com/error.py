"""IBackgroundCopyError: a snapshot of the job's error when it was obtained
(https://learn.microsoft.com/en-us/windows/win32/api/bits/nn-bits-ibackgroundcopyerror)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, ClassVar, Self, overload

from .. import hresults
from ..constants import AnyInterface, ErrorContext, ErrorKind, IBackgroundCopyError, Interface, UnknownKind
from ..domain.records import ErrorRecord, JobRecord
from ..hresults import BitsError
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .file import File
from .registry import Access, com_method

if TYPE_CHECKING:
    from ..backend import Backend

# The message-table entries bitsadmin prints for each context (bitsmsg.h BG_*_ERROR_CONTEXT_*).
CONTEXT_TEXT = {
    ErrorContext.NONE: hresults.BG_S_ERROR_CONTEXT_NONE,
    ErrorContext.UNKNOWN: hresults.BG_E_ERROR_CONTEXT_UNKNOWN,
    ErrorContext.GENERAL_QUEUE_MANAGER: hresults.BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
    ErrorContext.QUEUE_MANAGER_NOTIFICATION: hresults.BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION,
    ErrorContext.LOCAL_FILE: hresults.BG_E_ERROR_CONTEXT_LOCAL_FILE,
    ErrorContext.REMOTE_FILE: hresults.BG_E_ERROR_CONTEXT_REMOTE_FILE,
    ErrorContext.GENERAL_TRANSPORT: hresults.BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT,
    ErrorContext.REMOTE_APPLICATION: hresults.BG_E_ERROR_CONTEXT_REMOTE_APPLICATION,
    ErrorContext.SERVER_CERTIFICATE_CALLBACK: hresults.BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK,
}


class CopyError(ComObject):
    __slots__ = ("_error", "_job")
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = (IBackgroundCopyError,)

    @overload
    def query_interface(self, interface: Interface[ErrorKind] | Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface (typed per interface kind; see ComObject.query_interface)."""
        return super().query_interface(interface)

    def __init__(self, svc: Backend, proxy: Proxy, job: JobRecord, error: ErrorRecord) -> None:
        super().__init__(svc, proxy)
        self._job = job
        self._error = error

    def _clone(self) -> CopyError:
        return CopyError(self._svc, self._proxy.spawn(), self._job, self._error)

    def __repr__(self) -> str:
        return f"<CopyError {self._error.context.name} {self._error.code:#010x}>"

    # The error object is a snapshot taken when GetError was called: its methods check only the caller
    # (ANONYMOUS refused), not the job's access rules again (access=CALLER).

    @com_method(IBackgroundCopyError, "GetError", "returns (context, code)", access=Access.CALLER)
    def get_error(self, caller: AccessToken) -> tuple[ErrorContext, int]:
        return self._error.context, self._error.code

    @com_method(
        IBackgroundCopyError,
        "GetFile",
        "BG_E_FILE_NOT_AVAILABLE when the error concerns no file",
        access=Access.CALLER,
    )
    def get_file(self, caller: AccessToken) -> File:
        index = self._error.file_index
        if index is None or index >= len(self._job.files):
            raise BitsError(hresults.BG_E_FILE_NOT_AVAILABLE)
        return File(self._svc, self._proxy.spawn(), self._job, self._job.files[index])

    @com_method(
        IBackgroundCopyError,
        "GetErrorDescription",
        "LanguageId 0: E_INVALIDARG",
        access=Access.CALLER,
        convert={"language_id": args.ulong},
    )
    def get_error_description(self, caller: AccessToken, language_id: int = 0x0409) -> str:
        if language_id == 0:
            raise BitsError(hresults.E_INVALIDARG, "LanguageId must not be 0")
        return hresults.describe(self._error.code, language_id)

    @com_method(
        IBackgroundCopyError,
        "GetErrorContextDescription",
        "LanguageId 0: E_INVALIDARG",
        access=Access.CALLER,
        convert={"language_id": args.ulong},
    )
    def get_error_context_description(self, caller: AccessToken, language_id: int = 0x0409) -> str:
        if language_id == 0:
            raise BitsError(hresults.E_INVALIDARG, "LanguageId must not be 0")
        return hresults.describe(CONTEXT_TEXT[self._error.context].value, language_id)

    @com_method(
        IBackgroundCopyError, "GetProtocol", '"http" for HTTP and HTTPS, "file" for SMB', access=Access.CALLER
    )
    def get_protocol(self, caller: AccessToken) -> str:
        if self._error.protocol is None:
            raise BitsError(hresults.BG_E_PROTOCOL_NOT_AVAILABLE)
        return self._error.protocol
