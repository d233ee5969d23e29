"""IBackgroundCopyJob2 (BITS 1.5): command-line notification, credentials, upload-reply data
(https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nn-bits1_5-ibackgroundcopyjob2;
credentials and helper tokens: docs/reference/security.md#usage-flags)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..constants import BG_SIZE_UNKNOWN, AuthScheme, AuthTarget, IBackgroundCopyJob2
from ..domain.records import JobRecord
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .registry import Access, com_method
from .structures import JobReplyProgress


class Job2Mixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _rec: JobRecord

    # command line ----------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob2,
        "SetNotifyCmdLine",
        "recorded; a NotifyCommandLine event on svc.bus when it would run; running it is opt-in "
        "(svc.notifications.command_runner); never for service-account jobs",
        access=Access.WRITE,
        convert={"program": args.text, "parameters": args.text},
    )
    def set_notify_cmd_line(self, caller: AccessToken, program: str | None, parameters: str | None = None) -> None:
        self._svc.set_notify_cmd_line(self._rec, program, parameters)

    @com_method(
        IBackgroundCopyJob2,
        "GetNotifyCmdLine",
        "(program, parameters); empty strings for what was never set",
        access=Access.READ,
    )
    def get_notify_cmd_line(self, caller: AccessToken) -> tuple[str, str]:
        # "sets pProgram and pParameters to an empty string (L"") if SetNotifyCmdLine has not been called"
        # (https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-getnotifycmdline).
        # OUR CHOICE: a NULL given to SetNotifyCmdLine reads back as "" too (COM out-strings are never NULL here).
        rec = self._rec
        return rec.notify_program or "", rec.notify_parameters or ""

    # credentials -----------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob2,
        "SetCredentials",
        "owner only; one credential per (target, scheme); NULL user and password = implicit credentials",
        access=Access.OWNER,
        convert={"target": args.ulong, "scheme": args.ulong, "user_name": args.text, "password": args.text},
    )
    def set_credentials(
        self,
        caller: AccessToken,
        target: AuthTarget | int,
        scheme: AuthScheme | int,
        user_name: str | None,
        password: str | None,
    ) -> None:
        self._svc.set_credentials(self._rec, target, scheme, user_name, password)

    @com_method(
        IBackgroundCopyJob2,
        "RemoveCredentials",
        "S_FALSE when no such (target, scheme) pair",
        access=Access.OWNER,
        convert={"target": args.ulong, "scheme": args.ulong},
    )
    def remove_credentials(self, caller: AccessToken, target: AuthTarget | int, scheme: AuthScheme | int) -> int:
        return self._svc.remove_credentials(self._rec, target, scheme)

    # upload-reply ------------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob2,
        "GetReplyProgress",
        "bytes_total BG_SIZE_UNKNOWN until the reply starts",
        access=Access.READ,
    )
    def get_reply_progress(self, caller: AccessToken) -> JobReplyProgress:
        reply = self._svc.reply_of(self._rec)
        if reply is None:
            return JobReplyProgress.model_construct(bytes_total=BG_SIZE_UNKNOWN, bytes_transferred=0)
        return JobReplyProgress.model_construct(bytes_total=len(reply), bytes_transferred=len(reply))

    @com_method(
        IBackgroundCopyJob2,
        "GetReplyData",
        "TRANSFERRED (or later, on a held job); 1 MiB at most: BG_E_TOO_LARGE, whose detail gives the size (pSize)",
        access=Access.READ,
    )
    def get_reply_data(self, caller: AccessToken) -> bytes | None:
        return self._svc.reply_data(self._rec)

    @com_method(
        IBackgroundCopyJob2,
        "SetReplyFileName",
        "NULL or '' lets BITS name it next to the upload file",
        access=Access.WRITE,
        convert={"name": args.text},
    )
    def set_reply_file_name(self, caller: AccessToken, name: str | None) -> None:
        self._svc.set_reply_file_name(self._rec, name)

    @com_method(IBackgroundCopyJob2, "GetReplyFileName", "None until set or a file is added", access=Access.READ)
    def get_reply_file_name(self, caller: AccessToken) -> str | None:
        return self._svc.reply_file_name(self._rec)
