"""IBackgroundCopyJob … IBackgroundCopyJob5 and IBackgroundCopyJobHttpOptions as one Python class.

Order of checks in every method (docs/design.md#checks, our reading where the docs are silent): Python types →
ANONYMOUS blanket → access (E_ACCESSDENIED) → job state (BG_E_INVALID_STATE) → argument values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Self, overload

from .. import hresults
from ..clock import to_datetime
from ..constants import (
    ALL_NOTIFY_FLAGS,
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
from ..domain import access, limits, names
from ..domain.records import JobRecord
from ..domain.states import Trigger
from ..hresults import BitsError
from ..identity.callers import Proxy
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .file import save_remote_names
from .job2 import Job2Mixin
from .job3 import Job3Mixin
from .job_options import RESUMED_MARK, JobOptionsMixin
from .registry import com_method
from .structures import FileInfo, JobProgress, JobTimes

if TYPE_CHECKING:
    from ..service import BitsService
    from .enumerators import FileEnumerator
    from .error import CopyError
    from .token_options import TokenOptions


def _require_live(rec: JobRecord) -> None:
    if rec.is_final:
        raise BitsError(hresults.BG_E_INVALID_STATE, f"job is {rec.state.name}")


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

    def __init__(self, svc: BitsService, proxy: Proxy, rec: JobRecord) -> None:
        super().__init__(svc, proxy)
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

    # helpers ------------------------------------------------------------------------------------

    def _read(self) -> JobRecord:
        """Enter a read: catch the simulation up, check the caller may see the job."""
        caller = self._caller()
        self._svc.scheduler.catch_up()
        rec = self._rec
        access.check_read(caller, rec)
        return rec

    def _write(self) -> tuple[AccessToken, JobRecord]:
        caller = self._caller()
        self._svc.scheduler.catch_up()
        rec = self._rec
        access.check_write(caller, rec)
        _require_live(rec)
        return caller, rec

    def _set(self, **changes: Any) -> None:
        with self._svc.lock:
            _, rec = self._write()
            self._svc.queue.update(rec, **changes)

    # IBackgroundCopyJob: files --------------------------------------------------------------------

    @com_method(IBackgroundCopyJob, "AddFile")
    def add_file(self, remote_url: str, local_name: str) -> None:
        # Through the undecorated body, so that one AddFile call is logged once (emulator.logs).
        self._add_file_set([FileInfo.model_construct(remote_name=remote_url, local_name=local_name)])

    @com_method(IBackgroundCopyJob, "AddFileSet", "atomic: on any error no file of the set is added")
    def add_file_set(self, files: Iterable[FileInfo | tuple[str, str]]) -> None:
        self._add_file_set(files)

    def _add_file_set(self, files: Iterable[FileInfo | tuple[str, str]]) -> None:
        pairs = _file_pairs(files)
        svc = self._svc
        with svc.lock:
            caller, rec = self._write()
            if not pairs:
                raise BitsError(hresults.E_INVALIDARG, "AddFileSet needs at least one file")
            checked: list[tuple[str, str]] = []
            for remote, local in pairs:
                names.remote_kind(remote, rec.job_type)
                names.check_local_name(local)
                checked.append((remote, svc.scheduler.filesystem.check_destination(local)))
            if rec.job_type is not JobType.DOWNLOAD and len(rec.files) + len(pairs) > 1:
                raise BitsError(hresults.BG_E_TOO_MANY_FILES, "upload jobs hold exactly one file")
            profile = svc.profile
            if (
                profile.quotas_enforced
                and not access.quota_exempt(caller)
                and len(rec.files) + len(pairs) > profile.max_files_per_job
            ):
                raise BitsError(hresults.BG_E_TOO_MANY_FILES_IN_JOB)
            svc.queue.add_files(rec, checked)

    @com_method(IBackgroundCopyJob, "EnumFiles", "snapshot of the file list; file properties stay live")
    def enum_files(self) -> FileEnumerator:
        from .enumerators import FileEnumerator

        with self._svc.lock:
            rec = self._read()
            return FileEnumerator(self._svc, self._proxy.spawn(), rec, list(rec.files))

    # IBackgroundCopyJob: state ------------------------------------------------------------------

    @com_method(IBackgroundCopyJob, "Suspend")
    def suspend(self) -> None:
        with self._svc.lock:
            _, rec = self._write()
            self._svc.queue.change_state(rec, Trigger.SUSPEND)

    @com_method(IBackgroundCopyJob, "Resume", "BG_E_EMPTY for a job without files")
    def resume(self) -> None:
        with self._svc.lock:
            _, rec = self._write()
            self._svc.scheduler.resume(rec)
            save_remote_names(self._svc, rec)
            if not rec.properties.get(RESUMED_MARK):
                self._svc.queue.update(rec, touch=False, properties={**rec.properties, RESUMED_MARK: True})

    @com_method(IBackgroundCopyJob, "Cancel", "returns S_OK or BG_S_UNABLE_TO_DELETE_FILES")
    def cancel(self) -> int:
        with self._svc.lock:
            _, rec = self._write()
            return self._svc.scheduler.cancel(rec)

    @com_method(
        IBackgroundCopyJob, "Complete", "returns S_OK, BG_S_PARTIAL_COMPLETE or BG_S_UNABLE_TO_DELETE_FILES"
    )
    def complete(self) -> int:
        with self._svc.lock:
            _, rec = self._write()
            result = self._svc.scheduler.complete(rec)
            for f in rec.files:
                if f.completed:
                    # "Calling the IBackgroundCopyJob::Complete method implicitly validates the file"
                    # (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-setvalidationstate).
                    self._svc.queue.update_file(rec, f, validation_state=True)
            return result

    # IBackgroundCopyJob: getters ----------------------------------------------------------------

    @com_method(IBackgroundCopyJob, "GetId")
    def get_id(self) -> uuid.UUID:
        with self._svc.lock:
            return self._read().id

    @com_method(IBackgroundCopyJob, "GetType")
    def get_type(self) -> JobType:
        with self._svc.lock:
            return self._read().job_type

    @com_method(IBackgroundCopyJob, "GetState")
    def get_state(self) -> JobState:
        with self._svc.lock:
            return self._read().state

    @com_method(IBackgroundCopyJob, "GetProgress")
    def get_progress(self) -> JobProgress:
        with self._svc.lock:
            rec = self._read()
            self._svc.scheduler.sync_progress(rec)  # a running file's bytes are computed when read
            total = 0
            done = 0
            files_done = 0
            for f in rec.files:
                if total != BG_SIZE_UNKNOWN:
                    total = BG_SIZE_UNKNOWN if f.bytes_total is None else total + f.bytes_total
                done += f.bytes_transferred
                files_done += f.transferred
            return JobProgress.model_construct(
                bytes_total=total,
                bytes_transferred=done,
                files_total=len(rec.files),
                files_transferred=files_done,
            )

    @com_method(IBackgroundCopyJob, "GetTimes", "unset TransferCompletionTime is None")
    def get_times(self) -> JobTimes:
        with self._svc.lock:
            rec = self._read()
            return JobTimes.model_construct(
                creation_time=to_datetime(rec.created_at),
                modification_time=to_datetime(rec.modified_at),
                transfer_completion_time=None
                if rec.transferred_at is None
                else to_datetime(rec.transferred_at),
            )

    @com_method(
        IBackgroundCopyJob, "GetError", "BG_E_ERROR_INFORMATION_UNAVAILABLE outside ERROR/TRANSIENT_ERROR"
    )
    def get_error(self) -> CopyError:
        from .error import CopyError

        with self._svc.lock:
            rec = self._read()
            if rec.error is None or rec.state not in (JobState.ERROR, JobState.TRANSIENT_ERROR):
                raise BitsError(hresults.BG_E_ERROR_INFORMATION_UNAVAILABLE)
            return CopyError(self._svc, self._proxy.spawn(), rec, rec.error)

    @com_method(IBackgroundCopyJob, "GetOwner")
    def get_owner(self) -> str:
        with self._svc.lock:
            return self._read().owner_sid

    @com_method(IBackgroundCopyJob, "GetErrorCount")
    def get_error_count(self) -> int:
        with self._svc.lock:
            return self._read().error_count

    # IBackgroundCopyJob: properties -------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob,
        "SetDisplayName",
        "over 256 chars: BG_E_STRING_TOO_LONG (the page lists E_INVALIDARG too; our choice)",
    )
    def set_display_name(self, name: str) -> None:
        value = args.text(name, "name")
        with self._svc.lock:
            _, rec = self._write()
            if value is None:
                raise BitsError(hresults.E_INVALIDARG, "display name must not be NULL")
            if limits.utf16_len(value) > limits.MAX_DISPLAY_NAME:
                raise BitsError(hresults.BG_E_STRING_TOO_LONG, "display name longer than 256 characters")
            self._svc.queue.update(rec, display_name=value)

    @com_method(IBackgroundCopyJob, "GetDisplayName")
    def get_display_name(self) -> str:
        with self._svc.lock:
            return self._read().display_name

    @com_method(IBackgroundCopyJob, "SetDescription")
    def set_description(self, description: str) -> None:
        value = args.text(description, "description")
        with self._svc.lock:
            _, rec = self._write()
            if value is None:
                raise BitsError(hresults.E_INVALIDARG, "description must not be NULL")
            if limits.utf16_len(value) > limits.MAX_DESCRIPTION:
                raise BitsError(hresults.BG_E_STRING_TOO_LONG, "description longer than 1,024 characters")
            self._svc.queue.update(rec, description=value)

    @com_method(IBackgroundCopyJob, "GetDescription")
    def get_description(self) -> str:
        with self._svc.lock:
            return self._read().description

    @com_method(IBackgroundCopyJob, "SetPriority", "value outside BG_JOB_PRIORITY: E_NOTIMPL")
    def set_priority(self, priority: JobPriority | int) -> None:
        value = args.integer(priority, "priority")
        with self._svc.lock:
            _, rec = self._write()
            if value not in range(4):
                raise BitsError(hresults.E_NOTIMPL, f"{value} is not a BG_JOB_PRIORITY")
            self._svc.queue.update(rec, priority=JobPriority(value))

    @com_method(IBackgroundCopyJob, "GetPriority")
    def get_priority(self) -> JobPriority:
        with self._svc.lock:
            return self._read().priority

    @com_method(
        IBackgroundCopyJob, "SetNotifyFlags", "unknown bits or bits the BITS version lacks: E_NOTIMPL"
    )
    def set_notify_flags(self, flags: NotifyFlags | int) -> None:
        value = args.ulong(flags, "flags")
        with self._svc.lock:
            _, rec = self._write()
            allowed = ALL_NOTIFY_FLAGS
            version = self._svc.profile.bits_version
            if version < (10, 1):
                allowed &= ~NotifyFlags.FILE_RANGES_TRANSFERRED
            if version < (3, 0):
                allowed &= ~NotifyFlags.FILE_TRANSFERRED
            if value & ~allowed:
                raise BitsError(hresults.E_NOTIMPL, f"notify flags {value:#x} include unsupported bits")
            self._svc.queue.update(rec, notify_flags=value)

    @com_method(IBackgroundCopyJob, "GetNotifyFlags")
    def get_notify_flags(self) -> int:
        with self._svc.lock:
            return self._read().notify_flags

    @com_method(IBackgroundCopyJob, "SetNotifyInterface", "not persisted; last caller wins")
    def set_notify_interface(self, callback: object | None) -> None:
        with self._svc.lock:
            caller, rec = self._write()
            self._svc.queue.update(rec, notify_interface=callback, notify_registrant_sid=caller.user_sid)
            # Callbacks run in the context of the user who registered them (docs/reference/security.md#takeownership).
            self._svc.scheduler.notify_interface_changed(rec, self._proxy.spawn())

    @com_method(IBackgroundCopyJob, "GetNotifyInterface")
    def get_notify_interface(self) -> object | None:
        with self._svc.lock:
            return self._read().notify_interface

    @com_method(IBackgroundCopyJob, "SetMinimumRetryDelay", "values below 5 are raised to 5")
    def set_minimum_retry_delay(self, seconds: int) -> None:
        value = args.ulong(seconds, "seconds")
        self._set(min_retry_delay=max(value, limits.MIN_RETRY_DELAY))

    @com_method(IBackgroundCopyJob, "GetMinimumRetryDelay")
    def get_minimum_retry_delay(self) -> int:
        with self._svc.lock:
            return self._read().min_retry_delay

    @com_method(IBackgroundCopyJob, "SetNoProgressTimeout")
    def set_no_progress_timeout(self, seconds: int) -> None:
        self._set(no_progress_timeout=args.ulong(seconds, "seconds"))

    @com_method(IBackgroundCopyJob, "GetNoProgressTimeout")
    def get_no_progress_timeout(self) -> int:
        with self._svc.lock:
            return self._read().no_progress_timeout

    @com_method(
        IBackgroundCopyJob,
        "SetProxySettings",
        "usage outside the enum: E_NOTIMPL; lists with a non-OVERRIDE usage: E_INVALIDARG (our choice)",
    )
    def set_proxy_settings(
        self, usage: ProxyUsage | int, proxy_list: str | None = None, bypass_list: str | None = None
    ) -> None:
        value = args.integer(usage, "usage")
        plist = args.text(proxy_list, "proxy_list")
        blist = args.text(bypass_list, "bypass_list")
        with self._svc.lock:
            _, rec = self._write()
            if value not in range(4):
                raise BitsError(hresults.E_NOTIMPL, f"{value} is not a BG_JOB_PROXY_USAGE")
            if value == ProxyUsage.OVERRIDE:
                if plist is None:
                    raise BitsError(hresults.E_INVALIDARG, "OVERRIDE needs a proxy list")
            elif plist is not None or blist is not None:
                raise BitsError(hresults.E_INVALIDARG, "proxy lists are allowed only with OVERRIDE")
            if plist is not None and limits.utf16_len(plist) > limits.MAX_PROXY_LIST:
                raise BitsError(hresults.BG_E_PROXY_LIST_TOO_LARGE)
            if blist is not None and limits.utf16_len(blist) > limits.MAX_PROXY_LIST:
                raise BitsError(hresults.BG_E_PROXY_BYPASS_LIST_TOO_LARGE)
            self._svc.queue.update(
                rec, proxy_usage=ProxyUsage(value), proxy_list=plist, proxy_bypass_list=blist
            )

    @com_method(IBackgroundCopyJob, "GetProxySettings", "returns (usage, proxy_list, bypass_list)")
    def get_proxy_settings(self) -> tuple[ProxyUsage, str | None, str | None]:
        with self._svc.lock:
            rec = self._read()
            return rec.proxy_usage, rec.proxy_list, rec.proxy_bypass_list

    @com_method(
        IBackgroundCopyJob,
        "TakeOwnership",
        "keeps the helper token and its flags (A11); strips credentials, certificate, headers, command line",
    )
    def take_ownership(self) -> None:
        svc = self._svc
        with svc.lock:
            caller = self._caller()
            svc.scheduler.catch_up()
            rec = self._rec
            access.check_take_ownership(caller, rec)
            _require_live(rec)
            svc.scheduler.filesystem.check_new_owner(caller.user_sid, rec)
            svc.queue.change_owner(rec, caller)

    # IBackgroundCopyJob4 (owner facts, download time, peer caching) ------------------------------

    @com_method(IBackgroundCopyJob4, "GetOwnerElevationState")
    def get_owner_elevation_state(self) -> bool:
        with self._svc.lock:
            return self._read().owner_elevated

    @com_method(IBackgroundCopyJob4, "GetOwnerIntegrityLevel")
    def get_owner_integrity_level(self) -> int:
        with self._svc.lock:
            return self._read().owner_integrity

    @com_method(IBackgroundCopyJob4, "SetMaximumDownloadTime", "setter rule applied (our choice)")
    def set_maximum_download_time(self, seconds: int) -> None:
        self._set(max_download_time=args.ulong(seconds, "seconds"))

    @com_method(IBackgroundCopyJob4, "GetMaximumDownloadTime")
    def get_maximum_download_time(self) -> int:
        with self._svc.lock:
            return self._read().max_download_time

    @com_method(
        IBackgroundCopyJob4, "SetPeerCachingFlags", "stored only (peer caching is not emulated)"
    )
    def set_peer_caching_flags(self, flags: int) -> None:
        value = args.ulong(flags, "flags")
        if value & ~0x7:
            raise BitsError(hresults.E_INVALIDARG, f"peer caching flags {value:#x} include unknown bits")
        self._set(peer_caching_flags=value)

    @com_method(IBackgroundCopyJob4, "GetPeerCachingFlags")
    def get_peer_caching_flags(self) -> int:
        with self._svc.lock:
            return self._read().peer_caching_flags


def _file_pairs(files: Iterable[FileInfo | tuple[str, str]]) -> list[tuple[str, str]]:
    if isinstance(files, (str, bytes)) or not isinstance(files, Iterable):
        raise TypeError("files must be an iterable of FileInfo or (remote_name, local_name) tuples")
    pairs: list[tuple[str, str]] = []
    for item in files:
        if isinstance(item, FileInfo):
            remote, local = item.remote_name, item.local_name
        elif isinstance(item, tuple) and len(item) == 2:
            remote, local = item
        else:
            raise TypeError("each file must be a FileInfo or a (remote_name, local_name) tuple")
        pairs.append((args.required_text(remote, "remote_name"), args.required_text(local, "local_name")))
    return pairs
