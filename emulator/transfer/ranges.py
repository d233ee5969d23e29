"""File ranges: AddFileWithRanges layouts, on-demand ranges (IBackgroundCopyFile6) and range errors at run time.

A *mapped* file is transferred through a plan: a list of remote spans in transfer order. The file's
``bytes_transferred`` counts the bytes of the plan already written, so the filled part of a file is always
the first ``bytes_transferred`` bytes of its plan, and the scheduler's linear byte counter needs no change.

* AddFileWithRanges: the plan is the ranges in the given order and the temporary file receives them
  back to back ("The ranges are written to the LocalName file in the order given",
  https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-addfilewithranges).
* On demand (RequestFileRanges, UpdateDownloadPosition, BITS_JOB_PROPERTY_ON_DEMAND_MODE): the plan is the
  filled spans, then the requested spans not yet filled (in request order), then the rest of the file from
  the download position onward; each byte is written at its own offset. An on-demand job stops when the
  requested spans are in: TRANSFERRED if the whole file is, else SUSPENDED
  (https://learn.microsoft.com/en-us/windows/win32/api/bits10_1/nf-bits10_1-ibackgroundcopyfile6-requestfileranges).

The on-demand plan of each file is kept in ``JobRecord.properties[ON_DEMAND_KEY]`` (an id BITS does not
use), so it is persisted with the job. Like the other connectors, nothing here changes a job's state: the
scheduler calls ``prepare`` when it connects (a ``Failure`` or None), ``save_plan`` when the transfer begins,
``copy`` to move bytes, ``progressed`` after bytes moved and ``paused`` to see whether an on-demand flow
reached its stop point.

Runtime errors (the job goes to ERROR, context REMOTE_FILE; addfilewithranges page): a range outside the
remote file → BG_E_INVALID_RANGE; a server without range support → BG_E_INSUFFICIENT_RANGE_SUPPORT; a
loopback server answering another range than asked (e.g. consolidated ranges) → BG_E_INVALID_SERVER_RESPONSE.
"""

from __future__ import annotations

import bisect
import errno
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from weakref import WeakKeyDictionary

from .. import hresults
from ..constants import BG_LENGTH_TO_EOF, ErrorContext, JobPropertyId, JobType
from ..domain.names import RemoteKind, remote_kind
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from .flow import Failure, Flow, http_failure

if TYPE_CHECKING:
    from ..queue import JobQueue
    from .localfs import LocalFileSystem
    from .notifications import Notifier

MAX_FILE_SIZE: Final = 2**63 - 1  # the largest Windows file: sizes and offsets are LARGE_INTEGER
ON_DEMAND_KEY: Final = -1  # JobRecord.properties key of the per-file on-demand state
CHUNK: Final = 1 << 20  # bytes read from a fake resource at once

Span = tuple[int, int]  # (offset, length)


@dataclass(frozen=True, slots=True)
class Segment:
    """``length`` bytes of the remote file from ``remote`` land at ``local`` in the temporary file."""

    remote: int
    local: int
    length: int


@dataclass(slots=True, eq=False)
class Layout:
    """A mapped flow's plan (``Flow.layout``): its segments in transfer order, where an on-demand flow stops,
    and the on-demand state to persist when the transfer begins."""

    segments: list[Segment]
    stop_at: int | None = None
    state: dict[str, Any] | None = None


# span arithmetic -----------------------------------------------------------------------------------------


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted by offset, adjacent and overlapping spans joined, empty spans dropped."""
    out: list[list[int]] = []
    for off, n in sorted(s for s in spans if s[1] > 0):
        if out and off <= out[-1][0] + out[-1][1]:
            out[-1][1] = max(out[-1][1], off + n - out[-1][0])
        else:
            out.append([off, n])
    return [(a, b) for a, b in out]


def subtract(spans: Iterable[Span], covered: Sequence[Span]) -> list[Span]:
    """The parts of ``spans`` (kept in their order) that ``covered`` (merged) does not cover."""
    out: list[Span] = []
    for off, n in spans:
        pos, end = off, off + n
        for c_off, c_n in covered:
            c_end = c_off + c_n
            if c_end <= pos or c_off >= end:
                continue
            if c_off > pos:
                out.append((pos, c_off - pos))
            pos = max(pos, c_end)
            if pos >= end:
                break
        if pos < end:
            out.append((pos, end - pos))
    return out


def _take(covered: list[list[int]], lo: int, hi: int) -> list[Span]:
    """The parts of [lo, hi) that ``covered`` (merged, sorted [offset, length] pairs) lacks; [lo, hi) is then
    added to ``covered``. O(log n) to find the place, so many requests stay cheap."""
    if hi <= lo:
        return []
    i = bisect.bisect_right(covered, lo, key=lambda c: c[0]) - 1
    if i >= 0 and covered[i][0] + covered[i][1] < lo:
        i += 1
    i = max(i, 0)
    out: list[Span] = []
    pos = lo
    j = i
    new_lo, new_hi = lo, hi
    while j < len(covered) and covered[j][0] <= hi:
        c_lo, c_hi = covered[j][0], covered[j][0] + covered[j][1]
        if c_hi < lo:
            j += 1
            i = j
            continue
        if c_lo > pos:
            out.append((pos, c_lo - pos))
        pos = max(pos, c_hi)
        new_lo, new_hi = min(new_lo, c_lo), max(new_hi, c_hi)
        j += 1
    if pos < hi:
        out.append((pos, hi - pos))
    covered[i:j] = [[new_lo, new_hi - new_lo]]
    return out


def prefix(plan: Sequence[Span], count: int) -> list[Span]:
    """The spans of the first ``count`` bytes of ``plan``."""
    out: list[Span] = []
    left = count
    for off, n in plan:
        if left <= 0:
            break
        take = min(n, left)
        out.append((off, take))
        left -= take
    return out


def pieces(segments: Sequence[Segment], start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(plan position, remote offset, local offset, length) of the plan bytes [start, end)."""
    pos = 0
    for seg in segments:
        s_end = pos + seg.length
        lo, hi = max(start, pos), min(end, s_end)
        if lo < hi:
            delta = lo - pos
            yield lo, seg.remote + delta, seg.local + delta, hi - lo
        pos = s_end
        if pos >= end:
            return


# AddFileWithRanges ---------------------------------------------------------------------------------------


def check_added_ranges(ranges: Sequence[Span], *, limit: int | None) -> None:
    """The AddFileWithRanges checks, in the page's order of return codes."""
    if not ranges:
        raise BitsError(hresults.E_INVALIDARG, "RangeCount is zero: give one or more ranges")
    if limit is not None and len(ranges) > limit:
        raise BitsError(hresults.BG_E_TOO_MANY_RANGES_IN_FILE, f"more than MaxRangesPerFile ({limit}) ranges")
    for off, n in ranges:
        if off == BG_LENGTH_TO_EOF:
            raise BitsError(hresults.BG_E_INVALID_RANGE, "InitialOffset is BG_LENGTH_TO_EOF")
        # OUR CHOICE (docs/reference/readings.md#range-bound): Windows file sizes and offsets are signed 64-bit
        # (LARGE_INTEGER), so a range reaching past MAX_FILE_SIZE bytes is in no remote file and makes no local
        # file: "One of the ranges is invalid". Non-overlapping ranges within it also sum to at most that.
        if off >= MAX_FILE_SIZE or (n != BG_LENGTH_TO_EOF and off + n > MAX_FILE_SIZE):
            raise BitsError(hresults.BG_E_INVALID_RANGE, f"range {off}+{n} ends past 2**63-1, the largest file")
    # "The ranges are sorted by the offset of the value, not the length. If ranges are entered that have the
    # same offset, but are in reverse order, then this error will be returned. For example, if 100.5 and
    # 100.0 are entered in that order" — a stable sort by offset then a neighbour check gives exactly that.
    # OUR READING: a zero-length range is accepted here (the page's own example uses one); it adds no bytes.
    ordered = sorted(ranges, key=lambda r: r[0])
    for a, b in itertools.pairwise(ordered):
        if a == b or a[1] == BG_LENGTH_TO_EOF or a[0] + a[1] > b[0]:
            raise BitsError(hresults.BG_E_OVERLAPPING_RANGES, f"ranges {a} and {b} overlap")


def known_total(ranges: Sequence[Span]) -> int | None:
    """BytesTotal of a ranged file before the remote size is known: the sum, unless a range runs to EOF."""
    if any(n == BG_LENGTH_TO_EOF for _, n in ranges):
        return None
    return sum(n for _, n in ranges)


def resolve(ranges: Sequence[Span], size: int) -> list[Segment]:
    """The layout of an AddFileWithRanges file once the remote size is known."""
    out: list[Segment] = []
    local = 0
    for off, n in ranges:
        length = size - off if n == BG_LENGTH_TO_EOF else n
        # "The range must exist in the file or BITS generates an BG_E_INVALID_RANGE error"
        # (https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/ns-bits2_0-bg_file_range).
        if off >= size or off + length > size:
            raise BitsError(hresults.BG_E_INVALID_RANGE, f"range {off}+{n} is outside the {size}-byte remote file")
        out.append(Segment(off, local, length))
        local += length
    return out


# on-demand state -----------------------------------------------------------------------------------------


# property ids as plain ints, read at each step of a transfer (see domain/states.QUEUED for why)
_ON_DEMAND_MODE: Final = int(JobPropertyId.ON_DEMAND_MODE)
_DYNAMIC_CONTENT: Final = int(JobPropertyId.DYNAMIC_CONTENT)


def is_on_demand(rec: JobRecord) -> bool:
    return bool(rec.properties.get(_ON_DEMAND_MODE))


def is_dynamic(rec: JobRecord) -> bool:
    return bool(rec.properties.get(_DYNAMIC_CONTENT))


def state_of(rec: JobRecord, f: FileRecord) -> dict[str, Any] | None:
    table = rec.properties.get(ON_DEMAND_KEY)
    if not isinstance(table, dict):
        return None
    st = table.get(str(f.index))
    return dict(st) if isinstance(st, dict) else None


def save_state(queue: JobQueue, rec: JobRecord, f: FileRecord, st: dict[str, Any]) -> None:
    props = dict(rec.properties)
    table = dict(props.get(ON_DEMAND_KEY) or {})
    table[str(f.index)] = st
    props[ON_DEMAND_KEY] = table
    queue.update(rec, touch=False, properties=props)


def refill(queue: JobQueue, rec: JobRecord, f: FileRecord) -> None:
    """An on-demand file is about to lose its bytes (a HIGH_PERFORMANCE job's unsaved progress, inplace.py): the
    spans it had filled are requested again, ahead of those still pending, and its plan is dropped."""
    st = state_of(rec, f)
    if st is None or st.get("plan") is None:
        return
    again = [list(s) for s in _filled(rec, f, st)]
    save_state(queue, rec, f, {**st, "plan": None, "requested": [*again, *st.get("requested", [])]})


def _is_http(rec: JobRecord, f: FileRecord) -> bool:
    try:
        return remote_kind(f.remote_name, rec.job_type) is RemoteKind.HTTP
    except BitsError:
        return False


def random_access_error(rec: JobRecord, f: FileRecord) -> str | None:
    """Why the File6 methods answer BG_E_RANDOM_ACCESS_NOT_SUPPORTED, or None when the file qualifies: a
    download job, not DYNAMIC_CONTENT, an HTTP(S) server that has not shown it lacks range support
    (https://learn.microsoft.com/en-us/windows/win32/api/bits10_1/nf-bits10_1-ibackgroundcopyfile6-requestfileranges).
    OUR CHOICE: a file added with AddFileWithRanges does not qualify either (its local file is not the
    remote file's byte layout). Nor does a job with a custom HTTP method: ON_DEMAND_MODE jobs cannot have one
    (sethttpmethod page), and it fetches its file from byte 0 at every connection."""
    if rec.job_type is not JobType.DOWNLOAD:
        return "not a download job"
    if is_dynamic(rec):
        return "the job has BITS_JOB_PROPERTY_DYNAMIC_CONTENT"
    if rec.http_method is not None:
        return "the job has a custom HTTP method"
    if not _is_http(rec, f):
        return "the remote file is not on an HTTP or HTTPS server"
    if f.ranges is not None:
        return "the file was added with AddFileWithRanges"
    err = rec.error
    if err is not None and err.file_index == f.index and err.code == int(hresults.BG_E_INSUFFICIENT_RANGE_SUPPORT):
        return "the server does not support ranges"
    return None


def is_mapped(rec: JobRecord, f: FileRecord) -> bool:
    """Whether the file is transferred through a plan rather than from byte 0 to the end."""
    if f.ranges is not None:
        return True
    if not (is_on_demand(rec) or state_of(rec, f) is not None):
        return False  # the common case, decided without parsing the URL
    return rec.job_type is JobType.DOWNLOAD and not is_dynamic(rec) and _is_http(rec, f)


def _filled(rec: JobRecord, f: FileRecord, st: dict[str, Any] | None) -> list[Span]:
    if st is not None and st.get("plan") is not None:
        return merge(prefix([(int(a), int(b)) for a, b in st["plan"]], f.bytes_transferred))
    return [(0, f.bytes_transferred)] if f.bytes_transferred else []


def filled_ranges(rec: JobRecord, f: FileRecord) -> list[Span]:
    """GetFilledFileRanges: merged, ordered by offset."""
    if f.ranges is not None:
        return []
    return _filled(rec, f, state_of(rec, f))


def _clip(spans: Iterable[Span], size: int) -> list[Span]:
    return [(off, min(n, size - off)) for off, n in spans if off < size]


def on_demand_plan(rec: JobRecord, f: FileRecord, size: int) -> tuple[list[Span], int | None, dict[str, Any]]:
    """(plan, stop point, new state) of an on-demand file whose remote size is ``size``."""
    st = state_of(rec, f) or {}
    filled = merge(_clip(_filled(rec, f, st or None), size))
    requested: list[Span] = []
    for off, n in st.get("requested", []):
        length = size - off if n == BG_LENGTH_TO_EOF else n
        if off >= size or off + length > size:
            # Requested before the size was known: checked now (RequestFileRanges checks it when it can).
            raise BitsError(hresults.BG_E_INVALID_RANGE, f"requested range {off}+{n} is outside the file")
        requested.append((off, length))
    # "Ranges are automatically split into non-overlapping ranges" (RequestFileRanges): each byte once, in
    # the order first asked for.
    pending: list[Span] = []
    placed = [list(c) for c in filled]  # merged, sorted; grows as requests are placed
    for off, n in requested:
        pending.extend(_take(placed, off, off + n))
    pos = min(int(st.get("position", 0)), size)
    rest = subtract([(pos, size - pos), (0, pos)], [(a, b) for a, b in placed])
    plan = [*filled, *pending, *rest]
    stop = sum(n for _, n in filled) + sum(n for _, n in pending) if is_on_demand(rec) else None
    st = {**st, "plan": [list(s) for s in plan], "requested": [list(s) for s in pending]}
    return plan, stop, st


# scheduler hooks -----------------------------------------------------------------------------------------

# Per notifier and file: the flow that last reported and the plan position it reported up to.
_REPORTED: WeakKeyDictionary[Notifier, dict[int, tuple[Flow, int]]] = WeakKeyDictionary()


def _range_failure(f: FileRecord, code: hresults.HResult | int) -> Failure:
    return Failure(int(code), ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="http")


def prepare(rec: JobRecord, flow: Flow, size: int, supports_ranges: bool) -> Failure | None:
    """At connection: lay out a mapped file over the remote file of ``size`` bytes (``flow.layout``), or the
    range failure. Files that are not mapped are left alone."""
    f = flow.file
    if not is_mapped(rec, f):
        return None
    if not supports_ranges:
        return _range_failure(f, hresults.BG_E_INSUFFICIENT_RANGE_SUPPORT)
    try:
        if f.ranges is not None:
            layout = Layout(resolve(f.ranges, size))
        else:
            plan, stop, st = on_demand_plan(rec, f, size)
            layout = Layout([Segment(off, off, n) for off, n in plan], stop, st)
    except BitsError as exc:
        return _range_failure(f, exc.hresult)
    flow.layout = layout
    flow.total = sum(seg.length for seg in layout.segments)
    return None


def save_plan(queue: JobQueue, rec: JobRecord, flow: Flow) -> None:
    """The transfer begins: persist the on-demand plan ``prepare`` made (the filled part is its prefix)."""
    layout = flow.layout
    if layout is not None and layout.state is not None:
        save_state(queue, rec, flow.file, layout.state)
        layout.state = None


def copy(fs: LocalFileSystem, flow: Flow, start: int, end: int) -> None:
    """Write the plan bytes [start, end) of a mapped flow at their local offsets."""
    layout: Layout = flow.layout
    res = flow.resource
    for pos, remote, local, n in pieces(layout.segments, start, end):
        if flow.body is not None:
            lo = pos - flow.body_offset
            if lo < 0:
                # The temporary file was lost after the bytes were fetched: fail; Resume fetches again.
                raise OSError(errno.ENOENT, "the temporary file was lost during the transfer")
            fs.write(flow.tmp, local, flow.body[lo : lo + n])
            continue
        assert res is not None
        res.served.append((remote, n))
        done = 0
        while done < n:
            k = min(CHUNK, n - done)
            fs.write(flow.tmp, local + done, res.read(remote + done, k))
            done += k


def progressed(notifier: Notifier, rec: JobRecord, flow: Flow) -> None:
    """After bytes moved: FileRangesTransferred with the spans filled since the last report (files with
    on-demand state only; https://learn.microsoft.com/en-us/windows/win32/api/bits10_1/nf-bits10_1-ibackgroundcopycallback3-filerangestransferred)."""
    f = flow.file
    layout: Layout | None = flow.layout
    if f.ranges is not None or layout is None:
        return
    table = _REPORTED.setdefault(notifier, {})
    owner, lo = table.get(f.file_id, (flow, flow.start_bytes))
    if owner is not flow:
        lo = flow.start_bytes
    hi = f.bytes_transferred
    if hi <= lo:
        return
    table[f.file_id] = (flow, hi)
    spans = merge((remote, n) for _, remote, _, n in pieces(layout.segments, lo, hi))
    if spans:
        notifier.file_ranges_transferred(rec, f, spans)


def paused(flow: Flow) -> bool:
    """An on-demand flow has every requested byte but not the whole file: the job rests in SUSPENDED until
    the next Resume (RequestFileRanges page)."""
    layout: Layout | None = flow.layout
    return (
        layout is not None
        and layout.stop_at is not None
        and layout.stop_at <= flow.file.bytes_transferred < flow.total
    )


# loopback HTTP -------------------------------------------------------------------------------------------


def connect_loopback(rec: JobRecord, flow: Flow) -> Failure | None:
    """A mapped file on a loopback server: learn the size with a one-byte range request, then fetch each span
    of the plan with its own ``Range`` request. OUR CHOICE: one request per span (BITS may ask for several
    ranges at once and parse a multipart answer; the bytes written are the same)."""
    from . import http_loopback

    f = flow.file
    url = f.remote_name

    def fetch(first: int, last: int) -> tuple[int, dict[str, str], bytes]:
        status, headers, body, final = http_loopback._request(
            rec, url, 0, byte_range=(first, last), check_certificate=flow.check_certificate
        )
        http_loopback.report_redirect(rec, flow, final)  # the redirect policy (setsecurityflags page)
        return status, headers, body

    try:
        status, headers, _ = fetch(0, 0)
        if status == 416:
            size = _total(headers.get("content-range", "")) or 0  # an empty remote file
        elif status == 206:
            total = _total(headers.get("content-range", ""))
            if total is None:
                return _range_failure(f, hresults.BG_E_INVALID_SERVER_RESPONSE)
            size = total
        elif 200 <= status < 300:
            return prepare(rec, flow, 0, supports_ranges=False)
        else:
            return http_failure(status, f)
        mtime = http_loopback.last_modified(headers)
        failure = prepare(rec, flow, size, supports_ranges=True)
        if failure is not None:
            return failure
        layout: Layout = flow.layout
        start = f.bytes_transferred
        if start and (f.remote_mtime != mtime or f.bytes_total not in (None, flow.total)):
            start = 0  # the transfer will restart the file (consistency rule): fetch from the start
        end = flow.total if layout.stop_at is None else min(flow.total, layout.stop_at)
        parts: list[bytes] = []
        for _, remote, _, n in pieces(layout.segments, start, end):
            last = remote + n - 1
            status, headers, body = fetch(remote, last)
            if status == 200:
                return prepare(rec, flow, size, supports_ranges=False)
            if status == 416:
                return _range_failure(f, hresults.BG_E_INVALID_RANGE)
            answered = headers.get("content-range", "").strip()
            if status != 206 or answered != f"bytes {remote}-{last}/{size}" or len(body) != n:
                # "BITS does not support servers that consolidate duplicate or overlapping ranges."
                return _range_failure(f, hresults.BG_E_INVALID_SERVER_RESPONSE)
            parts.append(body)
    except http_loopback._Failure as exc:
        flow.redirected_to = exc.redirected_to
        return Failure(int(exc.code), exc.context, fatal=exc.fatal, file=f, protocol="http")
    flow.body = b"".join(parts)
    flow.body_offset = start
    flow.mtime = mtime
    flow.headers = http_loopback.response_headers(status, headers)
    return None


def _total(content_range: str) -> int | None:
    """The complete length of a ``Content-Range: bytes a-b/N`` (or ``bytes */N``) header."""
    _, _, total = content_range.rpartition("/")
    return int(total) if total.strip().isdigit() else None
