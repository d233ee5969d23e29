"""IBackgroundCopyJob2 (BITS 1.5): command-line notification, credentials, upload-reply data
(https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nn-bits1_5-ibackgroundcopyjob2;
credentials and helper tokens: docs/reference/security.md#usage-flags)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hresults
from ..constants import BG_SIZE_UNKNOWN, AuthScheme, AuthTarget, IBackgroundCopyJob2, JobState, JobType
from ..domain import limits, names
from ..domain.records import Credential, JobRecord
from ..events import NotifyCommandLine
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .registry import com_method
from .structures import JobReplyProgress

MAX_PROGRAM = 260  # MAX_PATH
MAX_PARAMETERS = 4000
MAX_USER_NAME = 300
MAX_PASSWORD = 65535
MAX_REPLY_DATA = 1 << 20  # GetReplyData: larger replies give BG_E_TOO_LARGE


class Job2Mixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _rec: JobRecord

        def _read(self) -> JobRecord: ...
        def _write(self) -> tuple[AccessToken, JobRecord]: ...
        def _owner_write(self) -> JobRecord: ...

    # command line ----------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob2,
        "SetNotifyCmdLine",
        "recorded; a NotifyCommandLine event on svc.bus when it would run; running it is opt-in "
        "(svc.notifications.command_runner); never for service-account jobs",
    )
    def set_notify_cmd_line(self, program: str | None, parameters: str | None = None) -> None:
        prog = args.text(program, "program")
        params = args.text(parameters, "parameters")
        svc = self._svc
        with svc.lock:
            _, rec = self._write()
            if prog is None and params is not None:
                # Undocumented code; OUR CHOICE: E_INVALIDARG, as for other NULL/argument mismatches.
                raise BitsError(hresults.E_INVALIDARG, "parameters without a program")
            if prog is not None:
                if limits.utf16_len(prog) > MAX_PROGRAM or (params and limits.utf16_len(params) > MAX_PARAMETERS):
                    raise BitsError(hresults.BG_E_STRING_TOO_LONG)
                names.check_local_name(prog)  # a full path: no search path, no environment variables
            svc.queue.update(rec, notify_program=prog, notify_parameters=params)
            if prog is not None:
                svc.bus.publish(NotifyCommandLine(svc.scheduler.now(), rec.id, prog, params, "registered"))
            # Registered after the job reached ERROR/TRANSFERRED, it still runs (setnotifycmdline page).
            svc.scheduler.notify_interface_changed(rec)

    @com_method(IBackgroundCopyJob2, "GetNotifyCmdLine", "(program, parameters); None when never set")
    def get_notify_cmd_line(self) -> tuple[str | None, str | None]:
        with self._svc.lock:
            rec = self._read()
            return rec.notify_program, rec.notify_parameters

    # credentials -----------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob2,
        "SetCredentials",
        "owner only; one credential per (target, scheme); NULL user and password = implicit credentials",
    )
    def set_credentials(
        self, target: AuthTarget | int, scheme: AuthScheme | int, user_name: str | None, password: str | None
    ) -> None:
        t = args.ulong(target, "target")
        sch = args.ulong(scheme, "scheme")
        user = args.text(user_name, "user_name")
        pwd = args.text(password, "password")
        svc = self._svc
        with svc.lock:
            rec = self._owner_write()
            if t not in (AuthTarget.SERVER, AuthTarget.PROXY):
                raise BitsError(hresults.BG_E_INVALID_AUTH_TARGET)
            if sch not in tuple(AuthScheme):
                raise BitsError(hresults.BG_E_INVALID_AUTH_SCHEME)
            if sch in (AuthScheme.BASIC, AuthScheme.DIGEST) and (user is None or pwd is None):
                raise BitsError(hresults.E_INVALIDARG, "BASIC and DIGEST need a user name and a password")  # T52
            if user is not None and limits.utf16_len(user) > MAX_USER_NAME:
                raise BitsError(hresults.BG_E_USERNAME_TOO_LARGE)
            if pwd is not None and limits.utf16_len(pwd) > MAX_PASSWORD:
                raise BitsError(hresults.BG_E_PASSWORD_TOO_LARGE)
            kept = [c for c in rec.credentials if (c.target, c.scheme) != (t, sch)]
            svc.queue.set_credentials(rec, [*kept, Credential(t, sch, user, pwd)])

    @com_method(IBackgroundCopyJob2, "RemoveCredentials", "S_FALSE when no such (target, scheme) pair")
    def remove_credentials(self, target: AuthTarget | int, scheme: AuthScheme | int) -> int:
        t = args.ulong(target, "target")
        sch = args.ulong(scheme, "scheme")
        svc = self._svc
        with svc.lock:
            rec = self._owner_write()
            if t not in (AuthTarget.SERVER, AuthTarget.PROXY):
                raise BitsError(hresults.BG_E_INVALID_AUTH_TARGET)
            if sch not in tuple(AuthScheme):
                raise BitsError(hresults.BG_E_INVALID_AUTH_SCHEME)
            kept = [c for c in rec.credentials if (c.target, c.scheme) != (t, sch)]
            if len(kept) == len(rec.credentials):
                return int(hresults.S_FALSE)
            svc.queue.set_credentials(rec, kept)
            return int(hresults.S_OK)

    # upload-reply ------------------------------------------------------------------------------------

    def _reply_job(self) -> JobRecord:
        rec = self._read()
        if rec.job_type is not JobType.UPLOAD_REPLY:
            raise BitsError(hresults.E_NOTIMPL, "reply methods belong to upload-reply jobs")
        return rec

    @com_method(IBackgroundCopyJob2, "GetReplyProgress", "bytes_total BG_SIZE_UNKNOWN until the reply starts")
    def get_reply_progress(self) -> JobReplyProgress:
        with self._svc.lock:
            rec = self._reply_job()
            reply = self._svc.scheduler.replies.get(rec.id)
            if reply is None:
                return JobReplyProgress.model_construct(bytes_total=BG_SIZE_UNKNOWN, bytes_transferred=0)
            return JobReplyProgress.model_construct(bytes_total=len(reply), bytes_transferred=len(reply))

    @com_method(IBackgroundCopyJob2, "GetReplyData", "TRANSFERRED (or later, on a held job); 1 MiB at most")
    def get_reply_data(self) -> bytes | None:
        with self._svc.lock:
            rec = self._reply_job()
            if rec.state not in (JobState.TRANSFERRED, JobState.ACKNOWLEDGED):
                raise BitsError(hresults.BG_E_INVALID_STATE, "the reply has not arrived")
            reply = self._svc.scheduler.replies.get(rec.id)
            if reply is not None and len(reply) > MAX_REPLY_DATA:
                raise BitsError(hresults.BG_E_TOO_LARGE)
            return reply or None

    @com_method(IBackgroundCopyJob2, "SetReplyFileName", "NULL or '' lets BITS name it next to the upload file")
    def set_reply_file_name(self, name: str | None) -> None:
        value = args.text(name, "name")
        svc = self._svc
        with svc.lock:
            _, rec = self._write()
            if rec.job_type is not JobType.UPLOAD_REPLY:
                raise BitsError(hresults.E_NOTIMPL, "reply methods belong to upload-reply jobs")
            if rec.id in svc.scheduler.replies:
                raise BitsError(hresults.BG_E_INVALID_STATE, "the reply transfer has started")
            if value:
                names.check_local_name(value)
                svc.filesystem.host_path(value)
            svc.queue.update(rec, reply_file_name=value or None)

    @com_method(IBackgroundCopyJob2, "GetReplyFileName", "None until set or a file is added")
    def get_reply_file_name(self) -> str | None:
        with self._svc.lock:
            rec = self._reply_job()
            if rec.reply_file_name or not rec.files:
                return rec.reply_file_name
            from ..transfer.upload import reply_path

            return reply_path(rec)
