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
    BG_LENGTH_TO_EOF,
    ErrorContext,
    IBackgroundCopyFile2,
    IBackgroundCopyFile3,
    IBackgroundCopyFile4,
    IBackgroundCopyFile5,
    IBackgroundCopyFile6,
    JobState,
    JobType,
)
from ..domain import access
from ..domain.records import ErrorRecord, FileRecord, JobRecord
from ..domain.states import Trigger
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from ..transfer import ranges
from . import args
from .base import ComObject
from .job3 import range_list, uint64
from .registry import com_method
from .structures import FileRange

HTTP_RESPONSE_HEADERS = 1  # BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS


def _spans(spans: Iterable[tuple[int, int]]) -> list[FileRange]:
    return [FileRange.model_construct(initial_offset=o, length=n) for o, n in spans]


class FileMethodsMixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _job: JobRecord
        _file: FileRecord

        def _read(self) -> FileRecord: ...

    def _write(self) -> tuple[AccessToken, JobRecord, FileRecord]:
        caller = self._caller()
        self._svc.scheduler.catch_up()
        rec = self._job
        access.check_write(caller, rec)
        if rec.is_final:
            raise BitsError(hresults.BG_E_INVALID_STATE, f"job is {rec.state.name}")
        return caller, rec, self._file

    # IBackgroundCopyFile2 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile2,
        "GetFileRanges",
        "the AddFileWithRanges ranges in the given order; None (S_FALSE) for other files and upload jobs",
    )
    def get_file_ranges(self) -> list[FileRange] | None:
        with self._svc.lock:
            f = self._read()
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
        "our choice), file progress 0, Resume downloads it again; BG_E_RECORD_DELETED never (no peer cache)",
    )
    def set_validation_state(self, state: bool) -> None:
        if not isinstance(state, (bool, int)):
            raise TypeError(f"state must be a bool, not {type(state).__name__}")
        valid = bool(state)
        svc = self._svc
        with svc.lock:
            self._require(IBackgroundCopyFile3)
            _, rec, f = self._write()
            if not f.transferred:
                # "You can call this method only after BITS finishes transferring the file."
                raise BitsError(hresults.E_PENDING, "the file has not finished transferring")
            if valid:
                svc.queue.update_file(rec, f, validation_state=True)
                svc.queue.update(rec)
                return
            # Downloaded from the origin server (peer caching is not emulated): "the job moves to the error
            # state with an error code of BG_E_VALIDATION_FAILED and the file progress is set to zero. You can
            # then call IBackgroundCopyJob::Resume to download the file again." (setvalidationstate page)
            if rec.job_type is JobType.DOWNLOAD:
                svc.scheduler.filesystem.discard(f)  # the temporary file goes; Resume writes a new one
            svc.queue.update_file(
                rec, f, validation_state=False, transferred=False, bytes_transferred=0, temp_name=None
            )
            if f.ranges is None:
                st = ranges.state_of(rec, f)
                if st is not None:
                    ranges.save_state(svc.queue, rec, f, {**st, "plan": None})
            error = ErrorRecord(ErrorContext.REMOTE_FILE, int(hresults.BG_E_VALIDATION_FAILED), f.index, None)
            svc.queue.set_error(rec, Trigger.VALIDATION_FAILED, error)

    @com_method(IBackgroundCopyFile3, "GetValidationState", "FALSE until SetValidationState(TRUE) or Complete")
    def get_validation_state(self) -> bool:
        with self._svc.lock:
            self._require(IBackgroundCopyFile3)
            return self._read().validation_state

    @com_method(
        IBackgroundCopyFile3,
        "IsDownloadedFromPeer",
        "always FALSE, as with peer caching off (simplification: peer caching and BranchCache are not emulated)",
    )
    def is_downloaded_from_peer(self) -> bool:
        with self._svc.lock:
            self._require(IBackgroundCopyFile3)
            self._read()
            return False

    # IBackgroundCopyFile4 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile4,
        "GetPeerDownloadStats",
        "(from_origin, from_peers): the bytes in the temporary file, 0 from peers as with peer caching off "
        "(simplification); uploads (0, 0)",
    )
    def get_peer_download_stats(self) -> tuple[int, int]:
        with self._svc.lock:
            self._require(IBackgroundCopyFile4)
            f = self._read()
            if self._job.job_type is not JobType.DOWNLOAD:
                return 0, 0  # nothing was downloaded: the bytes went to the server
            return f.bytes_transferred, 0

    # IBackgroundCopyFile5 -------------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyFile5,
        "SetProperty",
        "HTTP_RESPONSE_HEADERS: BG_E_READ_ONLY_PROPERTY (what the server sent); other ids: "
        "BG_E_UNKNOWN_PROPERTY_ID (our choice, the page lists no codes)",
    )
    def set_property(self, property_id: int, value: object) -> None:
        pid = args.ulong(property_id, "property_id")
        args.text(value, "value")  # BITS_FILE_PROPERTY_VALUE has only the String member
        with self._svc.lock:
            self._require(IBackgroundCopyFile5)
            self._write()
            if pid != HTTP_RESPONSE_HEADERS:
                raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"{pid} is not a BITS_FILE_PROPERTY_ID")
            raise BitsError(hresults.BG_E_READ_ONLY_PROPERTY, "the HTTP response headers are what the server sent")

    # IBackgroundCopyFile6 -------------------------------------------------------------------------------

    def _random_access(self, rec: JobRecord, f: FileRecord) -> None:
        why = ranges.random_access_error(rec, f)
        if why is not None:
            raise BitsError(hresults.BG_E_RANDOM_ACCESS_NOT_SUPPORTED, why)

    def _replan(self, rec: JobRecord, f: FileRecord, **changes: object) -> None:
        svc = self._svc
        st = ranges.state_of(rec, f) or {}
        ranges.save_state(svc.queue, rec, f, {**st, **changes})
        svc.queue.update(rec)
        if not f.transferred and rec.state in (JobState.CONNECTING, JobState.TRANSFERRING):
            svc.scheduler.reconnect(rec)  # reconnect with the new plan

    @com_method(
        IBackgroundCopyFile6,
        "UpdateDownloadPosition",
        "missing data beyond the requested ranges is fetched from this offset on (then from 0); an on-demand job "
        "fetches only requested ranges, so there it is only recorded",
    )
    def update_download_position(self, offset: int) -> None:
        pos = uint64(offset, "offset")
        with self._svc.lock:
            self._require(IBackgroundCopyFile6)
            _, rec, f = self._write()
            self._random_access(rec, f)
            self._replan(rec, f, position=pos)

    @com_method(
        IBackgroundCopyFile6,
        "RequestFileRanges",
        "fetched before the rest of the file; on-demand jobs fetch only them, then SUSPENDED (or TRANSFERRED when "
        "the file is whole); no ranges or a zero length: E_INVALIDARG / BG_E_INVALID_RANGE (our choice); "
        "FileRangesTransferred not rate-limited (simplification)",
    )
    def request_file_ranges(self, ranges_: Iterable[FileRange | tuple[int, int]]) -> None:
        spans = range_list(ranges_)
        with self._svc.lock:
            self._require(IBackgroundCopyFile6)
            _, rec, f = self._write()
            self._random_access(rec, f)
            if not spans:
                raise BitsError(hresults.E_INVALIDARG, "give one or more ranges")
            size = f.bytes_total  # known once the server answered
            for off, n in spans:
                if off == BG_LENGTH_TO_EOF or n == 0:
                    raise BitsError(hresults.BG_E_INVALID_RANGE, f"range {off}+{n} is not a range")
                end = size if n == BG_LENGTH_TO_EOF else off + n
                # "BG_E_INVALID_RANGE is returned if any part of the requested range is outside the actual file
                # size"; with the size still unknown the check is made when the server answers.
                if size is not None and (end is None or off >= size or end > size):
                    raise BitsError(hresults.BG_E_INVALID_RANGE, f"range {off}+{n} is outside the file")
            st = ranges.state_of(rec, f) or {}
            requested = [*st.get("requested", []), *([o, n] for o, n in spans)]
            self._replan(rec, f, requested=requested)

    @com_method(
        IBackgroundCopyFile6,
        "GetFilledFileRanges",
        "merged, ordered by offset; a file downloaded in order has one range from 0",
    )
    def get_filled_file_ranges(self) -> list[FileRange]:
        with self._svc.lock:
            self._require(IBackgroundCopyFile6)
            f = self._read()
            rec = self._job
            self._random_access(rec, f)
            return _spans(ranges.filled_ranges(rec, f))
