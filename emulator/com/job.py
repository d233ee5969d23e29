"""IBackgroundCopyJob … IBackgroundCopyJob5 and IBackgroundCopyJobHttpOptions as one Python class.

Order of checks in every method (docs/design.md#checks, our reading where the docs are silent): Python types →
ANONYMOUS blanket → access (E_ACCESSDENIED) → job state (BG_E_INVALID_STATE) → argument values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, ClassVar, Self, cast, overload

from .. import hresults
from ..clock import to_datetime
from ..constants import (
    BG_SIZE_UNKNOWN,
    JOB_INTERFACES,
    AnyInterface,
    IBackgroundCopyJob,
    IBackgroundCopyJob4,
    IBitsTokenOptions,
    Interface,
    JobKind,
    JobPriority,
    JobState,
    JobType,
    NotifyFlags,
    ProxyUsage,
    TokenOptionsKind,
    UnknownKind,
)
from ..domain.records import JobRecord
from ..domain.states import FINAL_STATES
from ..hresults import BitsError
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .job2 import Job2Mixin
from .job3 import Job3Mixin
from .job_options import JobOptionsMixin
from .registry import Access, com_method
from .structures import FileInfo, JobProgress, JobTimes

if TYPE_CHECKING:
    from ..backend import Backend
    from .enumerators import FileEnumerator
    from .error import CopyError
    from .token_options import TokenOptions


def file_pairs(files: object, name: str = "files") -> list[tuple[str, str]]:
    """AddFileSet's BG_FILE_INFO array: FileInfo models or (remote_name, local_name) tuples."""
    pairs = args.struct_pairs(files, name, FileInfo, ("remote_name", "local_name"))
    return [(args.required_text(r, "remote_name"), args.required_text(loc, "local_name")) for r, loc in pairs]


class Job(Job2Mixin, Job3Mixin, JobOptionsMixin):
    __slots__ = ("_rec",)
    INTERFACES: ClassVar[tuple[AnyInterface, ...]] = JOB_INTERFACES

    @overload
    def query_interface(self, interface: Interface[JobKind] | Interface[UnknownKind]) -> Self: ...
    @overload
    def query_interface(self, interface: Interface[TokenOptionsKind]) -> TokenOptions: ...
    @overload
    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject: ...

    def query_interface(self, interface: AnyInterface | uuid.UUID | str) -> ComObject:
        """QueryInterface (typed per interface kind; see ComObject.query_interface)."""
        return super().query_interface(interface)

    def __init__(self, svc: Backend, proxy: Proxy, rec: JobRecord) -> None:
        # ComObject's two fields set here rather than through super().__init__: GetJob, CreateJob and every
        # Next of an enumeration make a Job, so one frame less per pointer handed out.
        self._svc = svc
        self._proxy = proxy
        self._rec = rec

    def _clone(self) -> Job:
        return Job(self._svc, self._proxy.spawn(), self._rec)

    def _query(self, iface: AnyInterface) -> ComObject:
        if iface is IBitsTokenOptions:
            from .token_options import TokenOptions

            # The access check is made at QI time against the identity this proxy presents now (HT, A15).
            return TokenOptions.obtain(self._svc, self._proxy.spawn(), self._rec, self._caller())
        return self._clone()

    def __repr__(self) -> str:
        r = self._rec
        return f"<Job {r.id} {r.display_name!r} {r.state.name}>"

    _job_record = property(attrgetter("_rec"))  # (see ComObject._job_record)

    # IBackgroundCopyJob: files --------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob,
        "AddFile",
        access=Access.WRITE,
        convert={"remote_url": args.required_text, "local_name": args.required_text},
    )
    def add_file(self, caller: AccessToken, remote_url: str, local_name: str) -> None:
        self._svc.add_files(caller, self._rec, [(remote_url, local_name)])

    @com_method(
        IBackgroundCopyJob,
        "AddFileSet",
        "atomic: on any error no file of the set is added",
        access=Access.WRITE,
        convert={"files": file_pairs},
    )
    def add_file_set(self, caller: AccessToken, files: Iterable[FileInfo | tuple[str, str]]) -> None:
        pairs = cast("list[tuple[str, str]]", files)  # what file_pairs made of them
        self._svc.add_files(caller, self._rec, pairs)

    @com_method(
        IBackgroundCopyJob, "EnumFiles", "snapshot of the file list; file properties stay live", access=Access.READ
    )
    def enum_files(self, caller: AccessToken) -> FileEnumerator:
        from .enumerators import FileEnumerator

        rec = self._rec
        return FileEnumerator(self._svc, self._proxy.spawn(), rec, list(rec.files))

    # IBackgroundCopyJob: state ------------------------------------------------------------------

    @com_method(IBackgroundCopyJob, "Suspend", access=Access.WRITE)
    def suspend(self, caller: AccessToken) -> None:
        self._svc.suspend(self._rec)

    @com_method(IBackgroundCopyJob, "Resume", "BG_E_EMPTY for a job without files", access=Access.WRITE)
    def resume(self, caller: AccessToken) -> None:
        self._svc.resume(self._rec)

    @com_method(IBackgroundCopyJob, "Cancel", "returns S_OK or BG_S_UNABLE_TO_DELETE_FILES", access=Access.WRITE)
    def cancel(self, caller: AccessToken) -> int:
        return self._svc.cancel(self._rec)

    @com_method(
        IBackgroundCopyJob,
        "Complete",
        "returns S_OK, BG_S_PARTIAL_COMPLETE or BG_S_UNABLE_TO_DELETE_FILES",
        access=Access.WRITE,
    )
    def complete(self, caller: AccessToken) -> int:
        return self._svc.complete(self._rec, caller.user_sid)

    # IBackgroundCopyJob: getters ----------------------------------------------------------------

    @com_method(IBackgroundCopyJob, "GetId", access=Access.READ)
    def get_id(self, caller: AccessToken) -> uuid.UUID:
        return self._rec.id

    @com_method(IBackgroundCopyJob, "GetType", access=Access.READ)
    def get_type(self, caller: AccessToken) -> JobType:
        return self._rec.job_type

    @com_method(IBackgroundCopyJob, "GetState", access=Access.READ)
    def get_state(self, caller: AccessToken) -> JobState:
        return self._rec.state

    @com_method(IBackgroundCopyJob, "GetProgress", access=Access.READ)
    def get_progress(self, caller: AccessToken) -> JobProgress:
        rec = self._rec
        self._svc.sync_progress(rec)  # a running file's bytes are computed when read
        total = 0
        done = 0
        files_done = 0
        for f in rec.files:
            if total != BG_SIZE_UNKNOWN:
                total = BG_SIZE_UNKNOWN if f.bytes_total is None else total + f.bytes_total
            done += f.bytes_transferred
            files_done += f.transferred
        return JobProgress.model_construct(
            bytes_total=total, bytes_transferred=done, files_total=len(rec.files), files_transferred=files_done
        )

    @com_method(IBackgroundCopyJob, "GetTimes", "unset TransferCompletionTime is None", access=Access.READ)
    def get_times(self, caller: AccessToken) -> JobTimes:
        rec = self._rec
        return JobTimes.model_construct(
            creation_time=to_datetime(rec.created_at),
            modification_time=to_datetime(rec.modified_at),
            transfer_completion_time=None if rec.transferred_at is None else to_datetime(rec.transferred_at),
        )

    @com_method(
        IBackgroundCopyJob,
        "GetError",
        "BG_E_ERROR_INFORMATION_UNAVAILABLE before an error and once the job transfers again",
        access=Access.READ,
    )
    def get_error(self, caller: AccessToken) -> CopyError:
        from .error import CopyError

        rec = self._rec
        if rec.error is None or rec.state in FINAL_STATES:  # (cleared on TRANSFERRING: queue.change_state)
            raise BitsError(hresults.BG_E_ERROR_INFORMATION_UNAVAILABLE)
        return CopyError(self._svc, self._proxy.spawn(), rec, rec.error)

    @com_method(IBackgroundCopyJob, "GetOwner", access=Access.READ)
    def get_owner(self, caller: AccessToken) -> str:
        return self._rec.owner_sid

    @com_method(IBackgroundCopyJob, "GetErrorCount", access=Access.READ)
    def get_error_count(self, caller: AccessToken) -> int:
        return self._rec.error_count

    # IBackgroundCopyJob: properties -------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob,
        "SetDisplayName",
        "over 256 chars: BG_E_STRING_TOO_LONG (the page lists E_INVALIDARG too; our choice)",
        access=Access.WRITE,
        convert={"name": args.text},
    )
    def set_display_name(self, caller: AccessToken, name: str | None) -> None:
        self._svc.set_display_name(self._rec, name)

    @com_method(IBackgroundCopyJob, "GetDisplayName", access=Access.READ)
    def get_display_name(self, caller: AccessToken) -> str:
        return self._rec.display_name

    @com_method(IBackgroundCopyJob, "SetDescription", access=Access.WRITE, convert={"description": args.text})
    def set_description(self, caller: AccessToken, description: str | None) -> None:
        self._svc.set_description(self._rec, description)

    @com_method(IBackgroundCopyJob, "GetDescription", access=Access.READ)
    def get_description(self, caller: AccessToken) -> str:
        return self._rec.description

    @com_method(
        IBackgroundCopyJob,
        "SetPriority",
        "value outside BG_JOB_PRIORITY: E_NOTIMPL",
        access=Access.WRITE,
        convert={"priority": args.integer},
    )
    def set_priority(self, caller: AccessToken, priority: JobPriority | int) -> None:
        self._svc.set_priority(self._rec, priority)

    @com_method(IBackgroundCopyJob, "GetPriority", access=Access.READ)
    def get_priority(self, caller: AccessToken) -> JobPriority:
        return self._rec.priority

    @com_method(
        IBackgroundCopyJob,
        "SetNotifyFlags",
        "unknown bits or bits the BITS version lacks: E_NOTIMPL",
        access=Access.WRITE,
        convert={"flags": args.ulong},
    )
    def set_notify_flags(self, caller: AccessToken, flags: NotifyFlags | int) -> None:
        self._svc.set_notify_flags(self._rec, flags)

    @com_method(IBackgroundCopyJob, "GetNotifyFlags", access=Access.READ)
    def get_notify_flags(self, caller: AccessToken) -> int:
        return self._rec.notify_flags

    @com_method(IBackgroundCopyJob, "SetNotifyInterface", "not persisted; last caller wins", access=Access.WRITE)
    def set_notify_interface(self, caller: AccessToken, callback: object | None) -> None:
        # Callbacks run in the context of the user who registered them (docs/reference/security.md#takeownership).
        self._svc.set_notify_interface(self._rec, callback, caller, self._proxy.spawn())

    @com_method(IBackgroundCopyJob, "GetNotifyInterface", access=Access.READ)
    def get_notify_interface(self, caller: AccessToken) -> object | None:
        return self._rec.notify_interface

    @com_method(
        IBackgroundCopyJob,
        "SetMinimumRetryDelay",
        "values below 5 are raised to 5",
        access=Access.WRITE,
        convert={"seconds": args.ulong},
    )
    def set_minimum_retry_delay(self, caller: AccessToken, seconds: int) -> None:
        self._svc.set_minimum_retry_delay(self._rec, seconds)

    @com_method(IBackgroundCopyJob, "GetMinimumRetryDelay", access=Access.READ)
    def get_minimum_retry_delay(self, caller: AccessToken) -> int:
        return self._rec.min_retry_delay

    @com_method(IBackgroundCopyJob, "SetNoProgressTimeout", access=Access.WRITE, convert={"seconds": args.ulong})
    def set_no_progress_timeout(self, caller: AccessToken, seconds: int) -> None:
        self._svc.set_no_progress_timeout(self._rec, seconds)

    @com_method(IBackgroundCopyJob, "GetNoProgressTimeout", access=Access.READ)
    def get_no_progress_timeout(self, caller: AccessToken) -> int:
        return self._rec.no_progress_timeout

    @com_method(
        IBackgroundCopyJob,
        "SetProxySettings",
        "usage outside the enum: E_NOTIMPL; lists with a non-OVERRIDE usage: E_INVALIDARG (our choice)",
        access=Access.WRITE,
        convert={"usage": args.integer, "proxy_list": args.text, "bypass_list": args.text},
    )
    def set_proxy_settings(
        self,
        caller: AccessToken,
        usage: ProxyUsage | int,
        proxy_list: str | None = None,
        bypass_list: str | None = None,
    ) -> None:
        self._svc.set_proxy_settings(self._rec, usage, proxy_list, bypass_list)

    @com_method(IBackgroundCopyJob, "GetProxySettings", "returns (usage, proxy_list, bypass_list)", access=Access.READ)
    def get_proxy_settings(self, caller: AccessToken) -> tuple[ProxyUsage, str | None, str | None]:
        rec = self._rec
        return rec.proxy_usage, rec.proxy_list, rec.proxy_bypass_list

    @com_method(
        IBackgroundCopyJob,
        "TakeOwnership",
        "keeps the helper token and its flags (A11); strips credentials, certificate, headers, command line",
        access=Access.TAKE_OWNERSHIP,
    )
    def take_ownership(self, caller: AccessToken) -> None:
        self._svc.take_ownership(caller, self._rec)

    # IBackgroundCopyJob4 (owner facts, download time, peer caching) ------------------------------

    @com_method(IBackgroundCopyJob4, "GetOwnerElevationState", access=Access.READ)
    def get_owner_elevation_state(self, caller: AccessToken) -> bool:
        return self._rec.owner_elevated

    @com_method(IBackgroundCopyJob4, "GetOwnerIntegrityLevel", access=Access.READ)
    def get_owner_integrity_level(self, caller: AccessToken) -> int:
        return self._rec.owner_integrity

    @com_method(
        IBackgroundCopyJob4,
        "SetMaximumDownloadTime",
        "setter rule applied (our choice)",
        access=Access.WRITE,
        convert={"seconds": args.ulong},
    )
    def set_maximum_download_time(self, caller: AccessToken, seconds: int) -> None:
        self._svc.set_maximum_download_time(self._rec, seconds)

    @com_method(IBackgroundCopyJob4, "GetMaximumDownloadTime", access=Access.READ)
    def get_maximum_download_time(self, caller: AccessToken) -> int:
        return self._rec.max_download_time

    @com_method(
        IBackgroundCopyJob4,
        "SetPeerCachingFlags",
        "stored only (peer caching is not emulated)",
        access=Access.WRITE,
        convert={"flags": args.ulong},
    )
    def set_peer_caching_flags(self, caller: AccessToken, flags: int) -> None:
        self._svc.set_peer_caching_flags(self._rec, flags)

    @com_method(IBackgroundCopyJob4, "GetPeerCachingFlags", access=Access.READ)
    def get_peer_caching_flags(self, caller: AccessToken) -> int:
        return self._rec.peer_caching_flags
