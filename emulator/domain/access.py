"""Who may read, modify, enumerate and take over a job (docs/reference/security.md#ownership).

One place for the general access rule; IBitsTokenOptions has its own decision tables (tokens.py). Source
keys in capitals (UAC, TAKE, CRED…) name Microsoft pages: docs/reference/sources.md.
"""

from __future__ import annotations

from .. import hresults
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from .records import JobRecord


def can_read(caller: AccessToken, job: JobRecord) -> bool:
    """Owner or administrator. A non-elevated owner keeps read access to a job created elevated:
    A12 (bitsadmin "read-only", confirmed by VAN), T46."""
    return caller.user_sid == job.owner_sid or caller.is_admin


def can_write(caller: AccessToken, job: JobRecord) -> bool:
    """W of docs/reference/security.md#inputs: owner with matching elevation, or administrator, and in both
    cases an integrity level at least the owner's (LocalSystem jobs are out of an elevated admin's
    reach, T47). Restricted tokens modify nothing (UNC, NEW)."""
    if caller.restricted or caller.integrity < job.owner_integrity:
        return False
    if caller.is_admin:
        return True
    return caller.user_sid == job.owner_sid and not job.owner_elevated


def check_read(caller: AccessToken, job: JobRecord) -> None:
    if not can_read(caller, job):
        raise BitsError(hresults.E_ACCESSDENIED, f"{caller.user_name} may not access job {job.id}")


def check_write(caller: AccessToken, job: JobRecord) -> None:
    if not can_write(caller, job):
        raise BitsError(hresults.E_ACCESSDENIED, f"{caller.user_name} may not modify job {job.id}")


def check_owner_only(caller: AccessToken, job: JobRecord) -> None:
    """Credentials, custom headers and client certificates belong to the owner (security.md#ownership)."""
    check_write(caller, job)
    if caller.user_sid != job.owner_sid:
        raise BitsError(hresults.E_ACCESSDENIED, "only the job owner may set this")


def check_enum_all_users(caller: AccessToken) -> None:
    """BG_JOB_ENUM_ALL_USERS needs an enabled administrators SID; a filtered admin is refused (T40)."""
    if not caller.is_admin:
        raise BitsError(
            hresults.E_ACCESSDENIED, "EnumJobs(BG_JOB_ENUM_ALL_USERS) needs an elevated administrator"
        )


def check_take_ownership(caller: AccessToken, job: JobRecord) -> None:
    """Elevated administrators only (TAKE, WSD-TAKE), within the integrity rule of can_write (T43, T47)."""
    if not caller.is_admin or not can_write(caller, job):
        raise BitsError(hresults.E_ACCESSDENIED, "TakeOwnership needs an elevated administrator")


def check_create(caller: AccessToken) -> None:
    """Restricted tokens cannot create jobs (T48; HRESULT inferred)."""
    if caller.restricted:
        raise BitsError(hresults.E_ACCESSDENIED, "restricted tokens cannot create BITS jobs")


def quota_exempt(caller: AccessToken) -> bool:
    """Quotas do not apply to administrators or service accounts (group-policies page)."""
    return caller.is_admin or caller.is_service_account
