"""IBackgroundCopyJob3 (BITS 2.0): AddFileWithRanges and ReplaceRemotePrefix.

Pages: https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-addfilewithranges
and https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-replaceremoteprefix.
The range layout and the range errors at run time live in transfer/ranges.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import hresults
from ..constants import IBackgroundCopyJob3, JobType
from ..domain import access, names
from ..domain.names import RemoteKind
from ..domain.records import JobRecord
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from ..transfer import ranges
from . import args
from .base import ComObject
from .registry import com_method
from .structures import FileRange

UINT64_MAX = 0xFFFFFFFFFFFFFFFF


uint64 = args.uint64  # offsets and lengths are UINT64 (one conversion rule, in com/args.py)


def range_list(values: Iterable[FileRange | tuple[int, int]], name: str = "ranges") -> list[tuple[int, int]]:
    """BG_FILE_RANGE[] as FileRange models or (initial_offset, length) tuples."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be an iterable of FileRange or (initial_offset, length) tuples")
    out: list[tuple[int, int]] = []
    for item in values:
        if isinstance(item, FileRange):
            off, n = item.initial_offset, item.length
        elif isinstance(item, tuple) and len(item) == 2:
            off, n = item
        else:
            raise TypeError(f"each of {name} must be a FileRange or an (initial_offset, length) tuple")
        out.append((uint64(off, "initial_offset"), uint64(n, "length")))
    return out


class Job3Mixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _rec: JobRecord

        def _write(self) -> tuple[AccessToken, JobRecord]: ...

    @com_method(
        IBackgroundCopyJob3,
        "ReplaceRemotePrefix",
        "case-sensitive prefix match; all new names checked before any changes; a file being transferred "
        "reconnects to its new name (the file-transfer-consistency restart rule at that connection)",
    )
    def replace_remote_prefix(self, old_prefix: str, new_prefix: str) -> int:
        old = args.required_text(old_prefix, "old_prefix")
        new = args.required_text(new_prefix, "new_prefix")
        svc = self._svc
        with svc.lock:
            _, rec = self._write()
            if rec.job_type is not JobType.DOWNLOAD:
                raise BitsError(hresults.E_NOTIMPL, "ReplaceRemotePrefix is for download jobs only")
            if not old or not new:
                raise BitsError(hresults.E_INVALIDARG, "OldPrefix and NewPrefix must not be empty")
            # "performs a case-sensitive search ... BITS does not perform locale conversions in the search".
            changes = [(f, new + f.remote_name[len(old) :]) for f in rec.files if f.remote_name.startswith(old)]
            if not changes:
                return int(hresults.S_FALSE)
            for f, name in changes:
                # An invalid resulting URL or one over 2,200 characters: E_INVALIDARG, and nothing changes.
                kind = names.remote_kind(name, rec.job_type)
                if kind is RemoteKind.SMB and f.ranges is not None:
                    raise BitsError(hresults.E_INVALIDARG, "ranges cannot be transferred over SMB (BITS 3.0+)")
            reconnect = False
            for f, name in changes:
                if name == f.remote_name:
                    continue
                svc.queue.update_file(rec, f, remote_name=name)
                # "BITS does not restart already transferred files"; the one in progress reconnects, and its
                # next connection compares time stamp and size with what it had (file-transfer-consistency page:
                # https://learn.microsoft.com/en-us/windows/win32/bits/file-transfer-consistency).
                reconnect |= not f.transferred
            svc.queue.update(rec)  # a property change: ModificationTime, JobModification
            if reconnect:
                svc.scheduler.reconnect(rec)
            return int(hresults.S_OK)

    @com_method(
        IBackgroundCopyJob3,
        "AddFileWithRanges",
        "zero-length ranges accepted; SMB remote names: E_INVALIDARG (BITS 3.0+); DYNAMIC_CONTENT jobs: "
        "E_INVALIDARG (our choice); loopback servers get one Range request per range (simplification)",
    )
    def add_file_with_ranges(
        self, remote_url: str, local_name: str, ranges_: Iterable[FileRange | tuple[int, int]]
    ) -> None:
        remote = args.required_text(remote_url, "remote_url")
        local = args.required_text(local_name, "local_name")
        spans = range_list(ranges_)
        svc = self._svc
        with svc.lock:
            caller, rec = self._write()
            if rec.job_type is not JobType.DOWNLOAD:
                raise BitsError(hresults.E_NOTIMPL, "AddFileWithRanges is for download jobs only")
            if not spans:
                raise BitsError(hresults.E_INVALIDARG, "RangeCount is zero: give one or more ranges")
            if names.remote_kind(remote, rec.job_type) is RemoteKind.SMB:
                # "Starting with BITS 3.0, the SMB protocol is not supported for ranges" (every profile is 3.0+).
                raise BitsError(hresults.E_INVALIDARG, "ranges cannot be transferred over SMB (BITS 3.0+)")
            names.check_local_name(local)
            dest = svc.scheduler.filesystem.check_destination(local)
            if ranges.is_dynamic(rec):
                # DYNAMIC_CONTENT "is not supported for downloads that use FILE_RANGES" (bits_job_property_id
                # page); the code is undocumented, OUR CHOICE: E_INVALIDARG, as SetProperty gives the other way.
                raise BitsError(hresults.E_INVALIDARG, "a DYNAMIC_CONTENT job cannot download ranges")
            profile = svc.profile
            exempt = not profile.quotas_enforced or access.quota_exempt(caller)
            # "a user can add up to 500 ranges for a file. This limit does not apply to administrators or
            # service accounts" (MaxRangesPerFile).
            ranges.check_added_ranges(spans, limit=None if exempt else profile.max_ranges_per_file)
            if not exempt and len(rec.files) + 1 > profile.max_files_per_job:
                raise BitsError(hresults.BG_E_TOO_MANY_FILES_IN_JOB)
            (f,) = svc.queue.add_files(rec, [(remote, dest)], ranges=spans)
            total = ranges.known_total(spans)
            if total is not None:
                svc.queue.update_file(rec, f, bytes_total=total)  # BytesTotal = the sum of the range lengths

