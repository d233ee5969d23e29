"""IBackgroundCopyManager."""

from __future__ import annotations

import uuid
from typing import ClassVar

from .. import hresults
from ..constants import BG_JOB_ENUM_ALL_USERS, IBackgroundCopyManager, Interface, JobType
from ..domain import access, limits
from ..events import JobCreated
from ..hresults import BitsError
from . import args
from .base import ComObject
from .enumerators import JobEnumerator
from .job import Job
from .registry import com_method


class Manager(ComObject):
    __slots__ = ()
    INTERFACES: ClassVar[tuple[Interface, ...]] = (IBackgroundCopyManager,)

    def _clone(self) -> Manager:
        return Manager(self._svc, self._proxy.spawn())

    def __repr__(self) -> str:
        return f"<Manager for {self._proxy.client.token.user_name}>"

    @com_method(IBackgroundCopyManager, "CreateJob", "returns (job_id, job) in COM order")
    def create_job(self, display_name: str, job_type: JobType | int = JobType.DOWNLOAD) -> tuple[uuid.UUID, Job]:
        name = args.text(display_name, "display_name")
        kind = args.integer(job_type, "job_type")
        svc = self._svc
        with svc.lock:
            caller = self._caller()
            svc.scheduler.catch_up()
            access.check_create(caller)
            if name is None:
                raise BitsError(hresults.E_INVALIDARG, "display name must not be NULL")
            if limits.utf16_len(name) > limits.MAX_DISPLAY_NAME:
                raise BitsError(hresults.E_INVALIDARG, "display name longer than 256 characters")
            if kind not in range(3):
                raise BitsError(hresults.E_INVALIDARG, f"{kind} is not a BG_JOB_TYPE")
            profile = svc.profile
            if profile.quotas_enforced and not access.quota_exempt(caller):
                # Which quota is checked first is undocumented; ours: the user's, then the machine's.
                # The machine count includes exempt users' jobs (bits-core §10.24, our choice).
                if svc.queue.count_owned(caller.user_sid) >= profile.max_jobs_per_user:
                    raise BitsError(hresults.BG_E_TOO_MANY_JOBS_PER_USER)
                if len(svc.queue.jobs) >= profile.max_jobs_per_machine:
                    raise BitsError(hresults.BG_E_TOO_MANY_JOBS_PER_MACHINE)
            rec = svc.queue.create(name, JobType(kind), caller)
            svc.bus.publish(JobCreated(rec.created_at, rec.id, rec.display_name, rec.job_type, rec.owner_sid))
            return rec.id, Job(svc, self._proxy.spawn(), rec)

    @com_method(IBackgroundCopyManager, "GetJob", "final (completed/cancelled) jobs: BG_E_NOT_FOUND (§3.6)")
    def get_job(self, job_id: uuid.UUID | str) -> Job:
        key = args.guid(job_id)
        svc = self._svc
        with svc.lock:
            caller = self._caller()
            svc.scheduler.catch_up()
            rec = svc.queue.jobs.get(key)
            if rec is None:
                raise BitsError(hresults.BG_E_NOT_FOUND, f"no job {key} in the queue")
            access.check_read(caller, rec)
            return Job(svc, self._proxy.spawn(), rec)

    @com_method(IBackgroundCopyManager, "EnumJobs", "flags other than 0 and 1: E_INVALIDARG (A13)")
    def enum_jobs(self, flags: int = 0) -> JobEnumerator:
        value = args.ulong(flags, "flags")
        svc = self._svc
        with svc.lock:
            caller = self._caller()
            svc.scheduler.catch_up()
            if value == BG_JOB_ENUM_ALL_USERS:
                access.check_enum_all_users(caller)
                records = svc.queue.all_jobs()
            elif value == 0:
                records = svc.queue.owned_by(caller.user_sid)
            else:
                raise BitsError(hresults.E_INVALIDARG, f"EnumJobs flags {value:#x}")
            return JobEnumerator(svc, self._proxy.spawn(), records)

    @com_method(IBackgroundCopyManager, "GetErrorDescription", "English texts; LanguageId 0 = user default")
    def get_error_description(self, hresult: int, language_id: int = 0x0409) -> str:
        code = args.hresult(hresult)
        lang = args.ulong(language_id, "language_id")
        with self._svc.lock:
            self._caller()
            return hresults.describe(code, lang)
