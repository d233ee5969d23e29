"""IBackgroundCopyFile2 … IBackgroundCopyFile6 beyond the names and progress: ranges, validation, peer
statistics, file properties and on-demand ranges. Order of checks as for jobs: Python types → ANONYMOUS →
access → job state → argument values. Peer caching is not emulated, so the peer methods answer what
Windows answers for a file no peer served (IsDownloadedFromPeer FALSE, no bytes from peers).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import hresults
from ..constants import (
    IBackgroundCopyFile2,
    IBackgroundCopyFile3,
    IBackgroundCopyFile4,
    IBackgroundCopyFile5,
    IBackgroundCopyFile6,
    JobType,
)
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .job3 import range_list, uint64
from .registry import Access, com_method
from .structures import FileRange

HTTP_RESPONSE_HEADERS = 1  # BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS


def _spans(spans: Iterable[tuple[int, int]]) -> list[FileRange]:
    return [FileRange.model_construct(initial_offset=o, length=n) for o, n in spans]


def flag(value: object, name: str) -> bool:
    """A BOOL argument: a bool or an int (any non-zero value is TRUE, as in C)."""
    if not isinstance(value, (bool, int)):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return bool(value)


class FileMethodsMixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _job: JobRecord
        _file: FileRecord

    # IBackgroundCopyFile2 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile2,
        "GetFileRanges",
        "the AddFileWithRanges ranges in the given order; None (S_FALSE) for other files and upload jobs",
        access=Access.READ,
    )
    def get_file_ranges(self, caller: AccessToken) -> list[FileRange] | None:
        f = self._file
        # S_FALSE: "No ranges were specified or the job is an upload or upload-reply job. RangeCount is set
        # to zero and Ranges is set to NULL" (getfileranges page).
        if self._job.job_type is not JobType.DOWNLOAD or not f.ranges:
            return None
        return _spans(f.ranges)

    # IBackgroundCopyFile3 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile3,
        "SetValidationState",
        "E_PENDING until the file is transferred; FALSE: job ERROR BG_E_VALIDATION_FAILED (context REMOTE_FILE, "
        "our choice), file progress 0, Resume downloads it again; an upload's file: the state is only recorded "
        "(our choice); BG_E_RECORD_DELETED never (no peer cache)",
        access=Access.WRITE,
        convert={"state": flag},
    )
    def set_validation_state(self, caller: AccessToken, state: bool) -> None:
        self._svc.set_validation_state(self._job, self._file, state)

    @com_method(
        IBackgroundCopyFile3,
        "GetValidationState",
        "FALSE until SetValidationState(TRUE) or Complete",
        access=Access.READ,
    )
    def get_validation_state(self, caller: AccessToken) -> bool:
        return self._file.validation_state

    @com_method(
        IBackgroundCopyFile3,
        "IsDownloadedFromPeer",
        "always FALSE, as with peer caching off (simplification: peer caching and BranchCache are not emulated)",
        access=Access.READ,
    )
    def is_downloaded_from_peer(self, caller: AccessToken) -> bool:
        return False

    # IBackgroundCopyFile4 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile4,
        "GetPeerDownloadStats",
        "(from_origin, from_peers): the bytes in the temporary file, 0 from peers as with peer caching off "
        "(simplification); uploads (0, 0)",
        access=Access.READ,
    )
    def get_peer_download_stats(self, caller: AccessToken) -> tuple[int, int]:
        if self._job.job_type is not JobType.DOWNLOAD:
            return 0, 0  # nothing was downloaded: the bytes went to the server
        return self._file.bytes_transferred, 0

    # IBackgroundCopyFile5 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile5,
        "SetProperty",
        "HTTP_RESPONSE_HEADERS: BG_E_READ_ONLY_PROPERTY (what the server sent); other ids: "
        "BG_E_UNKNOWN_PROPERTY_ID (our choice, the page lists no codes)",
        access=Access.WRITE,
        convert={"property_id": args.ulong, "value": args.text},  # the value union has only the String member
    )
    def set_property(self, caller: AccessToken, property_id: int, value: str | None) -> None:
        if property_id != HTTP_RESPONSE_HEADERS:
            raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"{property_id} is not a BITS_FILE_PROPERTY_ID")
        raise BitsError(hresults.BG_E_READ_ONLY_PROPERTY, "the HTTP response headers are what the server sent")

    # IBackgroundCopyFile6 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile6,
        "UpdateDownloadPosition",
        "missing data beyond the requested ranges is fetched from this offset on (then from 0); an on-demand job "
        "fetches only requested ranges, so there it is only recorded",
        access=Access.WRITE,
        convert={"offset": uint64},
    )
    def update_download_position(self, caller: AccessToken, offset: int) -> None:
        self._svc.update_download_position(self._job, self._file, offset)

    @com_method(
        IBackgroundCopyFile6,
        "RequestFileRanges",
        "fetched before the rest of the file; on-demand jobs fetch only them, then SUSPENDED (or TRANSFERRED when "
        "the file is whole); no ranges or a zero length: E_INVALIDARG / BG_E_INVALID_RANGE (our choice); "
        "FileRangesTransferred not rate-limited (simplification)",
        access=Access.WRITE,
        convert={"ranges_": range_list},
    )
    def request_file_ranges(self, caller: AccessToken, ranges_: Iterable[FileRange | tuple[int, int]]) -> None:
        spans = list(ranges_)  # (initial_offset, length) pairs after range_list
        self._svc.request_file_ranges(self._job, self._file, spans)  # type: ignore[arg-type]

    @com_method(
        IBackgroundCopyFile6,
        "GetFilledFileRanges",
        "merged, ordered by offset; a file downloaded in order has one range from 0",
        access=Access.READ,
    )
    def get_filled_file_ranges(self, caller: AccessToken) -> list[FileRange]:
        return _spans(self._svc.filled_file_ranges(self._job, self._file))
