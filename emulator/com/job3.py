"""IBackgroundCopyJob3 (BITS 2.0): AddFileWithRanges and ReplaceRemotePrefix.

Pages: https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-addfilewithranges
and https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-replaceremoteprefix.
The range layout and the range errors at run time live in transfer/ranges.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..constants import IBackgroundCopyJob3
from ..domain.records import JobRecord
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .registry import Access, com_method
from .structures import FileRange

UINT64_MAX = 0xFFFFFFFFFFFFFFFF


uint64 = args.uint64  # offsets and lengths are UINT64 (one conversion rule, in com/args.py)


def range_list(values: object, name: str = "ranges") -> list[tuple[int, int]]:
    """BG_FILE_RANGE[] as FileRange models or (initial_offset, length) tuples."""
    pairs = args.struct_pairs(values, name, FileRange, ("initial_offset", "length"))
    return [(uint64(off, "initial_offset"), uint64(n, "length")) for off, n in pairs]


class Job3Mixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _rec: JobRecord

    @com_method(
        IBackgroundCopyJob3,
        "ReplaceRemotePrefix",
        "case-sensitive prefix match; all new names checked before any changes; a file being transferred "
        "reconnects to its new name (the file-transfer-consistency restart rule at that connection)",
        access=Access.WRITE,
        convert={"old_prefix": args.required_text, "new_prefix": args.required_text},
    )
    def replace_remote_prefix(self, caller: AccessToken, old_prefix: str, new_prefix: str) -> int:
        return self._svc.replace_remote_prefix(self._rec, old_prefix, new_prefix)

    @com_method(
        IBackgroundCopyJob3,
        "AddFileWithRanges",
        "zero-length ranges accepted; SMB remote names: E_INVALIDARG (BITS 3.0+); DYNAMIC_CONTENT jobs: "
        "E_INVALIDARG (our choice); loopback servers get one Range request per range (simplification)",
        access=Access.WRITE,
        convert={"remote_url": args.required_text, "local_name": args.required_text, "ranges_": range_list},
    )
    def add_file_with_ranges(
        self, caller: AccessToken, remote_url: str, local_name: str, ranges_: Iterable[FileRange | tuple[int, int]]
    ) -> None:
        spans = list(ranges_)  # (initial_offset, length) pairs after range_list
        self._svc.add_file_with_ranges(caller, self._rec, remote_url, local_name, spans)  # type: ignore[arg-type]
