"""The BITS 5.0 job property table (IBackgroundCopyJob5::SetProperty / GetProperty), declared once.

One row per BITS_JOB_PROPERTY_ID: the member of the BITS_JOB_PROPERTY_VALUE union it uses, its default,
whether it exists only for download jobs, the BITS version that introduced it, and when it becomes read
only. Facts: https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id
and https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/nf-bits5_0-ibackgroundcopyjob5-setproperty;
defaults the pages do not give are our choices, marked below and in docs/reference/readings.md.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .. import hresults
from ..constants import AuthTarget, JobPropertyId, JobType, TransferPolicy
from ..hresults import BitsError

if TYPE_CHECKING:
    from .records import JobRecord


class Kind(enum.Enum):
    """The BITS_JOB_PROPERTY_VALUE member a property uses."""

    DWORD = "Dword"
    UINT64 = "Uint64"
    CLSID = "ClsID"
    BOOL = "Enable"
    TARGET = "Target"  # a BG_AUTH_TARGET


class ReadOnly(enum.Enum):
    NEVER = "never"
    AFTER_ADDFILE = "after AddFile"  # BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE
    AFTER_RESUME = "after the first Resume"  # BG_E_READ_ONLY_PROPERTY_AFTER_RESUME


@dataclass(frozen=True, slots=True)
class Property:
    id: JobPropertyId
    kind: Kind
    default: Any
    download_only: bool = False  # BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY on other job types
    since: tuple[int, int] = (5, 0)  # earlier BITS: BG_E_UNKNOWN_PROPERTY_ID
    read_only: ReadOnly = ReadOnly.NEVER


TRANSFER_POLICY_ALWAYS: Final = int(TransferPolicy.ALWAYS)  # (an int: read on every cost check)

PROPERTIES: Final[dict[JobPropertyId, Property]] = {
    p.id: p
    for p in (
        # Undocumented default; our choice: any network (BITS_COST_STATE_TRANSFER_ALWAYS). Applied by the
        # scheduler against svc.network.cost_state (``cost_allows``; docs/reference/readings.md#cost-flags).
        Property(JobPropertyId.COST_FLAGS, Kind.DWORD, TRANSFER_POLICY_ALWAYS),
        Property(JobPropertyId.NOTIFICATION_CLSID, Kind.CLSID, str(uuid.UUID(int=0))),
        Property(JobPropertyId.DYNAMIC_CONTENT, Kind.BOOL, False, download_only=True, read_only=ReadOnly.AFTER_RESUME),
        # HIGH_PERFORMANCE: the job writes straight into its destination files (transfer/inplace.py;
        # docs/reference/readings.md#high-performance).
        Property(
            JobPropertyId.HIGH_PERFORMANCE, Kind.BOOL, False, download_only=True, read_only=ReadOnly.AFTER_ADDFILE
        ),
        # 0 = no cap (our reading of "the maximum number of bytes that can be downloaded"). The property page
        # names the Enable member, the union page Uint64: OUR CHOICE Uint64
        # (docs/reference/readings.md#max-download-size-member).
        Property(JobPropertyId.MAX_DOWNLOAD_SIZE, Kind.UINT64, 0, download_only=True, read_only=ReadOnly.AFTER_RESUME),
        # Undocumented default; our choice: 0, no target (docs/reference/readings.md#stored-credentials).
        Property(JobPropertyId.USE_STORED_CREDENTIALS, Kind.TARGET, 0),
        # Stored, not applied to the notifications (docs/reference/readings.md#notification-interval).
        Property(JobPropertyId.MINIMUM_NOTIFICATION_INTERVAL_MS, Kind.DWORD, 500, since=(10, 1)),
        Property(JobPropertyId.ON_DEMAND_MODE, Kind.BOOL, False, download_only=True, since=(10, 1)),
    )
}


def lookup(pid: int, bits_version: tuple[int, int]) -> Property:
    """The row of ``pid``; BG_E_UNKNOWN_PROPERTY_ID for an id this BITS version does not have."""
    try:
        key = JobPropertyId(pid)
    except ValueError:
        raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"no BITS job property {pid}") from None
    prop = PROPERTIES[key]
    if bits_version < prop.since:
        raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"{key.name} needs BITS {'.'.join(map(str, prop.since))}")
    return prop


_COST_FLAGS: Final = int(JobPropertyId.COST_FLAGS)
_HIGH_PERFORMANCE: Final = int(JobPropertyId.HIGH_PERFORMANCE)
_DOWNLOAD: Final = JobType.DOWNLOAD


def cost_flags(properties: dict[int, Any]) -> int:
    """A job's COST_FLAGS: the BITS_COST_STATE_* states of the network it may transfer on."""
    flags: int = properties.get(_COST_FLAGS, TRANSFER_POLICY_ALWAYS)
    return flags


def cost_allows(flags: int, cost_state: int) -> bool:
    """A job with COST_FLAGS ``flags`` may transfer on a network in ``cost_state``: every bit of the state is
    among the flags (BITS_JOB_TRANSFER_POLICY_UNRESTRICTED, IGNORE_CONGESTION | OVERCAP_THROTTLED | UNRESTRICTED,
    transfers on an unrestricted or a throttled network "which does not impose costs",
    https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_transfer_policy). OUR
    CHOICE for a state of several bits (ROAMING | USAGE_BASED): each must be accepted
    (docs/reference/readings.md#cost-flags)."""
    return not int(cost_state) & ~flags  # (int(): the IntFlag's own & is Python code, on every job start)


def writes_in_place(rec: JobRecord) -> bool:
    """A HIGH_PERFORMANCE download job: BITS downloads "directly into the destination file, instead of
    downloading to a temporary file" (BITS_JOB_PROPERTY_ID page; SetProperty refuses it on other job types)."""
    return rec.job_type is _DOWNLOAD and bool(rec.properties.get(_HIGH_PERFORMANCE))


def check_target(value: int) -> None:
    """USE_STORED_CREDENTIALS: only the proxy target (or none) is supported by Windows."""
    if value not in (0, AuthTarget.PROXY):
        raise BitsError(hresults.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED, "only the proxy target is supported")
