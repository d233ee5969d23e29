"""A job's connection for its current file, on exact time, and what a connector answers.

Time is integer nanoseconds and rates are ``Fraction`` bytes per second, so the instant a file finishes
(``done_at``) and the bytes it has at that instant (``bytes_at``) come from the same integer arithmetic:
whatever the rate, size or date, a file is never one byte short of finishing.

Connectors (fake HTTP, loopback HTTP, local files, uploads) fill a flow and return ``None``, or return a
``Failure`` for the scheduler to apply; none of them changes a job's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import hresults
from ..clock import NS
from ..constants import ErrorContext
from ..domain.records import FileRecord
from ..hresults import BitsError
from .localfs import os_error_hresult
from .network import Resource, status_is_fatal


@dataclass(slots=True, eq=False)
class Failure:
    """One failed attempt: the HRESULT, where it happened, and whether it is worth a retry."""

    code: int
    context: ErrorContext
    fatal: bool = False
    network: bool = False  # the network went away (T17): not counted, no retry timer
    file: FileRecord | None = None
    protocol: str | None = None


@dataclass(slots=True, eq=False)
class Flow:
    """Connecting until ``ready_at``, then ``rate`` bytes per second from ``start_bytes`` at ``start_t``."""

    file: FileRecord
    ready_at: int  # ns
    connected: bool = False
    resource: Resource | None = None
    local_source: Any = None  # Path of a file:// / UNC / drive source
    total: int = 0
    start_t: int = 0  # ns
    start_bytes: int = 0
    rate: Fraction | None = None  # None: as fast as the disk goes (instant in simulated time)
    # The source's own rate, kept when a MaxInternetBandwidth cap (transfer/bandwidth.py) sets ``rate`` lower.
    source_rate: Fraction | None = None
    # The fraction of a byte already moved at ``start_t`` when the rate changed mid-file (``retime``): kept,
    # so a rate change at a window boundary loses nothing. 0 (an int) in every other case.
    carry: Fraction | int = 0
    tmp: Any = None  # host path (its text) of the temporary file: LocalFileSystem.prepare
    change_at: int | None = None  # byte offset at which the server's copy changes (files, "content changes")
    ranges_ok: bool = True  # the source can resume from an offset
    body: bytes | None = None  # a loopback HTTP response, read at connect
    body_offset: int = 0
    upload: bool = False  # bytes go to the server, not into a temporary file
    mtime: float = 0.0  # the source's time stamp, as the connector saw it
    headers: str | None = None  # the HTTP response headers (IBackgroundCopyFile5), as the connector saw them
    layout: Any = None  # a ranged / on-demand file's plan (transfer/ranges.py); None: bytes 0..total in order
    size_known: bool = True  # a loopback answer gave the size (Content-Length or Content-Range)
    limit_at: int | None = None  # MAX_DOWNLOAD_SIZE: the job may take this file no further (connectors.size_failure)
    redirected_to: str | None = None  # the file's new remote name after a redirect (ALLOW_REPORT, DISALLOW)
    # The job's server-certificate callback (T25, transfer/certificates.py), bound by the scheduler to the job,
    # file and instant: (endpoint "host:port", DER certificate) → a Failure, or None when accepted. None: the
    # job has no callback, and an HTTPS connection offers its certificate to nobody.
    check_certificate: Callable[[str, bytes], Failure | None] | None = None

    def target(self) -> int:
        """Where this run of the flow stops: the end of the file, or the byte at which the content changes."""
        end = self.total if self.change_at is None else min(self.total, self.change_at)
        if self.layout is not None and self.layout.stop_at is not None:
            end = min(end, self.layout.stop_at)  # an on-demand flow stops when the requested ranges are in
        if self.limit_at is not None:
            end = min(end, self.limit_at)
        return end

    def bytes_at(self, t: int) -> int:
        if self.rate is None:
            return self.target()
        if t <= self.start_t:
            return min(self.target(), self.start_bytes)
        if self.carry:
            moved = int(self.carry + Fraction((t - self.start_t) * self.rate.numerator, NS * self.rate.denominator))
        else:
            moved = (t - self.start_t) * self.rate.numerator // (NS * self.rate.denominator)
        return min(self.target(), self.start_bytes + moved)

    def done_at(self) -> int:
        """The first nanosecond at which ``bytes_at`` reaches ``target()``."""
        if self.rate is None:
            return self.start_t
        need = max(0, self.target() - self.start_bytes - self.carry)
        # smallest d with d * num // (NS * den) >= need, i.e. d = ceil(need * NS * den / num)
        if self.carry:
            need = Fraction(need)
            return self.start_t + -(-need.numerator * NS * self.rate.denominator
                                    // (need.denominator * self.rate.numerator))
        return self.start_t + -(-need * NS * self.rate.denominator // self.rate.numerator)

    def retime(self, t: int, rate: Fraction | None) -> None:
        """From ``t`` on the flow moves at ``rate``; what moved before ``t``, to the fraction of a byte, stays.

        Exact: the bytes at any later instant are those of the old rate up to ``t`` plus the new rate's
        after it, with no rounding at ``t``."""
        if self.rate is None:
            self.start_bytes, self.carry = self.bytes_at(t), 0
        elif t > self.start_t:
            moved = self.carry + Fraction((t - self.start_t) * self.rate.numerator, NS * self.rate.denominator)
            whole = int(moved)
            self.start_bytes += whole
            self.carry = moved - whole
        self.start_t = max(self.start_t, t)
        self.rate = rate


def http_failure(status: int, f: FileRecord) -> Failure:
    """A non-2xx HTTP status as a failure of ``f`` (the fatal/transient split of docs/transfers.md)."""
    return Failure(
        int(hresults.http_error(status)),
        ErrorContext.REMOTE_FILE,
        fatal=status_is_fatal(status),
        file=f,
        protocol="http",
    )


def local_file_failure(exc: BitsError | OSError, f: FileRecord | None) -> Failure:
    """A local-file fault during a transfer: the job fails with context LOCAL_FILE (never the caller).
    Fatal (ERROR), but for a file another application has open (ERROR_SHARING_VIOLATION): that one passes
    when the application closes it, and BITS retries (T27: an application that opens the temporary before
    the transfer starts puts the job in TRANSIENT_ERROR,
    https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-gettemporaryname;
    docs/reference/readings.md#temporary-in-use)."""
    code = exc.hresult if isinstance(exc, BitsError) else os_error_hresult(exc)
    return Failure(code, ErrorContext.LOCAL_FILE, fatal=code != _SHARING_VIOLATION, file=f)


_SHARING_VIOLATION = int(hresults.ERROR_SHARING_VIOLATION)
