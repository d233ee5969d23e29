"""The service layer: what the COM facade asks for, with the rules and the errors of each operation.

The shape of moto's backends: ``com/`` converts arguments, applies its declared call policy (lock,
caller, catch-up, access, liveness: com/registry.py) and forwards here; this layer owns the rules —
quotas, string limits, the job property table, credentials, proxy settings, notification flags — and
raises the HRESULTs, then writes through the queue (the one state-change path) and drives the
scheduler. It receives the narrow collaborators it uses from the composition root, never the service.

Every rule family is written once, here or in ``domain/`` (docs/ARCHITECTURE.md#rules).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

from . import hresults
from .constants import (
    ALL_NOTIFY_FLAGS,
    BG_JOB_ENUM_ALL_USERS,
    BG_LENGTH_TO_EOF,
    VALID_SECURITY_FLAGS,
    AuthScheme,
    AuthTarget,
    ErrorContext,
    ImpersonationLevel,
    JobPriority,
    JobPropertyId,
    JobState,
    JobType,
    NotifyFlags,
    ProxyUsage,
)
from .domain import access, limits, names, tokens
from .domain import properties as props
from .domain.names import RemoteKind
from .domain.policy import GroupPolicy
from .domain.records import Credential, ErrorRecord, FileRecord, JobRecord
from .domain.states import RUNNING_STATES, Trigger
from .events import EventBus, NotifyCommandLine
from .helper_tokens import HelperTokens
from .hresults import BitsError
from .identity.sessions import LogonSession
from .identity.tokens import AccessToken
from .profiles import Profile
from .queue import JobQueue
from .transfer import ranges
from .transfer.certificates import CERT_CALLBACK_REQUIRED
from .transfer.localfs import LocalFileSystem
from .transfer.scheduler import Scheduler

_JOB_TYPES = (JobType.DOWNLOAD, JobType.UPLOAD, JobType.UPLOAD_REPLY)  # by BG_JOB_TYPE value, no Enum call
_DOWNLOAD: Final = JobType.DOWNLOAD  # (read by most job calls: a global, see domain/states.QUEUED)

# JobRecord.properties key 0 (an id BITS does not use) records that the job has been resumed once, which
# DYNAMIC_CONTENT, MAX_DOWNLOAD_SIZE and SetHttpMethod depend on ("only before the first Resume").
RESUMED_MARK = 0
# The properties a job with a custom HTTP method cannot have (sethttpmethod page).
_NOT_WITH_CUSTOM_METHOD: Final = frozenset({JobPropertyId.DYNAMIC_CONTENT, JobPropertyId.ON_DEMAND_MODE})


def _configured(value: int | None, default: int) -> int:
    """A group policy's value, or its default when the policy is not configured."""
    return default if value is None else value


def has_resumed(rec: JobRecord) -> bool:
    return bool(rec.properties.get(RESUMED_MARK))


class Backend:
    """The job service layer of one BITS service (see the module docstring)."""

    def __init__(
        self,
        *,
        lock: threading.RLock,
        profile: Profile,
        queue: JobQueue,
        scheduler: Scheduler,
        filesystem: LocalFileSystem,
        helper_tokens: HelperTokens,
        helper_token_choices: tokens.Choices,
        bus: EventBus,
        thread_token: Callable[[], AccessToken | None],
    ) -> None:
        # What the facade's dispatcher uses on every call: the lock, the profile (interfaces, version) and
        # the scheduler (catch-up); the rest is for the rules below and for the facade's own objects.
        self.lock = lock
        self.closed = False  # set by the service at close(): every COM call then fails (com/registry.py)
        self.profile = profile
        self._quotas_enforced = profile.quotas_enforced  # (a profile never changes: read once, not per call)
        self.queue = queue
        self.scheduler = scheduler
        self.filesystem = filesystem
        self.helper_tokens = helper_tokens
        self.helper_token_choices = helper_token_choices
        self.bus = bus
        self._thread_token = thread_token
        self.set_group_policy(GroupPolicy())
        # The interactive user's logon session (whose pointers callbacks get when nobody registered): the
        # service logs that user on once every layer is built, and hands the session over then. An
        # attribute, not a getter into the service: the service layer holds nothing that points back at it.
        self.current_session: LogonSession

    def set_group_policy(self, policy: GroupPolicy) -> None:
        """The group policies the quotas and new jobs follow from now on (a value not configured: the
        profile's default). Jobs already past a lowered quota keep their jobs and files; the next CreateJob or
        AddFile is refused (docs/reference/readings.md#policy-change)."""
        profile = self.profile
        self.group_policy = policy
        self.max_jobs_per_user = _configured(policy.max_jobs_per_user, profile.max_jobs_per_user)
        self.max_jobs_per_machine = _configured(policy.max_jobs_per_machine, profile.max_jobs_per_machine)
        self.max_files_per_job = _configured(policy.max_files_per_job, profile.max_files_per_job)
        self.max_ranges_per_file = _configured(policy.max_ranges_per_file, profile.max_ranges_per_file)

    @property
    def thread_token(self) -> AccessToken | None:
        """The impersonation token of the calling thread (BitsService.impersonate), if any."""
        return self._thread_token()

    # the manager -----------------------------------------------------------------------------------

    def create_job(self, caller: AccessToken, name: str | None, kind: int) -> JobRecord:
        access.check_create(caller)
        if name is None:
            raise BitsError(hresults.E_INVALIDARG, "display name must not be NULL")
        if limits.utf16_len(name) > limits.MAX_DISPLAY_NAME:
            raise BitsError(hresults.E_INVALIDARG, "display name longer than 256 characters")
        # Not a BG_JOB_TYPE: E_INVALIDARG, our reading (docs/reference/readings.md#job-type). (The converter made
        # it an int; no range object per call.)
        if not 0 <= kind <= 2:
            raise BitsError(hresults.E_INVALIDARG, f"{kind} is not a BG_JOB_TYPE")
        if not self._quota_exempt(caller):
            # Which quota is checked first is undocumented; ours: the user's, then the machine's.
            # The machine count includes exempt users' jobs (docs/reference/readings.md#machine-quota).
            if self.queue.count_owned(caller.user_sid) >= self.max_jobs_per_user:
                raise BitsError(hresults.BG_E_TOO_MANY_JOBS_PER_USER)
            if len(self.queue.jobs) >= self.max_jobs_per_machine:
                raise BitsError(hresults.BG_E_TOO_MANY_JOBS_PER_MACHINE)
        # MaxDownloadTime is the job's MaximumDownloadTime until SetMaximumDownloadTime overrides it (group
        # policies page); taken when the job is made (docs/reference/readings.md#policy-change).
        return self.queue.create(
            name, _JOB_TYPES[kind], caller, max_download_time=self.group_policy.max_download_time
        )

    def get_job(self, caller: AccessToken, key: uuid.UUID) -> JobRecord:
        rec = self.queue.jobs.get(key)
        if rec is None:
            raise BitsError(hresults.BG_E_NOT_FOUND, f"no job {key} in the queue")
        access.check_read(caller, rec)
        return rec

    def enum_jobs(self, caller: AccessToken, flags: int) -> list[JobRecord]:
        if flags == BG_JOB_ENUM_ALL_USERS:
            access.check_enum_all_users(caller)
            return self.queue.all_jobs()
        if flags == 0:
            return self.queue.owned_by(caller.user_sid)
        raise BitsError(hresults.E_INVALIDARG, f"EnumJobs flags {flags:#x}")

    # files -------------------------------------------------------------------------------------------

    def add_files(self, caller: AccessToken, rec: JobRecord, pairs: Sequence[tuple[str, str]]) -> None:
        """AddFileSet: every name checked before any is added (atomic), then the quotas."""
        if not pairs:
            raise BitsError(hresults.E_INVALIDARG, "AddFileSet needs at least one file")
        checked: list[tuple[str, str]] = []
        for remote, local in pairs:
            names.remote_kind(remote, rec.job_type)
            names.check_local_name(local)
            checked.append((remote, self.filesystem.check_destination(local)))
        if rec.job_type is not _DOWNLOAD and len(rec.files) + len(pairs) > 1:
            raise BitsError(hresults.BG_E_TOO_MANY_FILES, "upload jobs hold exactly one file")
        if not self._quota_exempt(caller) and len(rec.files) + len(pairs) > self.max_files_per_job:
            raise BitsError(hresults.BG_E_TOO_MANY_FILES_IN_JOB)
        self.queue.add_files(rec, checked)

    def _quota_exempt(self, caller: AccessToken) -> bool:
        """Group-policy quotas bind non-administrators from BITS 3.0 (profile.quotas_enforced)."""
        return not self._quotas_enforced or access.quota_exempt(caller)

    def add_file_with_ranges(
        self, caller: AccessToken, rec: JobRecord, remote: str, local: str, spans: list[tuple[int, int]]
    ) -> None:
        if rec.job_type is not _DOWNLOAD:
            raise BitsError(hresults.E_NOTIMPL, "AddFileWithRanges is for download jobs only")
        if not spans:
            raise BitsError(hresults.E_INVALIDARG, "RangeCount is zero: give one or more ranges")
        if names.remote_kind(remote, rec.job_type) is RemoteKind.SMB:
            # "Starting with BITS 3.0, the SMB protocol is not supported for ranges" (every profile is 3.0+).
            raise BitsError(hresults.E_INVALIDARG, "ranges cannot be transferred over SMB (BITS 3.0+)")
        names.check_local_name(local)
        dest = self.filesystem.check_destination(local)
        if ranges.is_dynamic(rec):
            # DYNAMIC_CONTENT "is not supported for downloads that use FILE_RANGES" (bits_job_property_id
            # page); the code is undocumented, OUR CHOICE: E_INVALIDARG, as SetProperty gives the other way.
            raise BitsError(hresults.E_INVALIDARG, "a DYNAMIC_CONTENT job cannot download ranges")
        exempt = self._quota_exempt(caller)
        # "a user can add up to 500 ranges for a file. This limit does not apply to administrators or
        # service accounts" (MaxRangesPerFile).
        ranges.check_added_ranges(spans, limit=None if exempt else self.max_ranges_per_file)
        if not exempt and len(rec.files) + 1 > self.max_files_per_job:
            raise BitsError(hresults.BG_E_TOO_MANY_FILES_IN_JOB)
        with self.queue.batch():  # one call, one transaction: the file and its known size together
            (f,) = self.queue.add_files(rec, [(remote, dest)], ranges=spans)
            total = ranges.known_total(spans)
            if total is not None:
                self.queue.update_file(rec, f, bytes_total=total)  # BytesTotal = the sum of the range lengths

    def replace_remote_prefix(self, rec: JobRecord, old: str, new: str) -> int:
        """S_OK, or S_FALSE when no remote name starts with ``old``."""
        if rec.job_type is not _DOWNLOAD:
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
        with self.queue.batch():  # one call, one transaction: every renamed file and the job's times
            for f, name in changes:
                if name == f.remote_name:
                    continue
                self.queue.update_file(rec, f, remote_name=name)
                f.renamed = True
                # "BITS does not restart already transferred files"; the one in progress reconnects, and its
                # next connection compares time stamp and size with what it had (file-transfer-consistency
                # page: https://learn.microsoft.com/en-us/windows/win32/bits/file-transfer-consistency).
                reconnect |= not f.transferred
            self.queue.update(rec)  # a property change: ModificationTime, JobModification
        if reconnect:
            self.scheduler.reconnect(rec)
        return int(hresults.S_OK)

    # state -------------------------------------------------------------------------------------------

    def suspend(self, rec: JobRecord) -> None:
        self.queue.change_state(rec, Trigger.SUSPEND)

    def resume(self, rec: JobRecord) -> None:
        # One call, one transaction: the state, the names SetRemoteName changed and the first-Resume mark
        # land together or not at all.
        with self.queue.batch():
            self.scheduler.resume(rec)
            for f in rec.files:
                if f.durable_remote_name is not None:
                    # Resume serializes the names SetRemoteName changed (setremotename page).
                    self.queue.update_file(rec, f, remote_name=f.remote_name)
                    f.durable_remote_name = None
            if not has_resumed(rec):
                self.queue.update(rec, touch=False, properties={**rec.properties, RESUMED_MARK: True})

    def cancel(self, rec: JobRecord) -> int:
        """S_OK, or BG_S_UNABLE_TO_DELETE_FILES when a temporary file could not be deleted."""
        return self.scheduler.cancel(rec)

    def sync_progress(self, rec: JobRecord) -> None:
        """Bring a running job's byte counts up to "now" (they are computed when read)."""
        self.scheduler.sync_progress(rec)

    def complete(self, rec: JobRecord, caller_sid: str | None = None) -> int:
        result = self.scheduler.complete(rec, caller_sid)
        for f in rec.files:
            if f.completed:
                # "Calling the IBackgroundCopyJob::Complete method implicitly validates the file"
                # (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-setvalidationstate).
                self.queue.update_file(rec, f, validation_state=True)
        return result

    def set_notify_interface(self, rec: JobRecord, callback: object | None, caller: AccessToken, proxy: Any) -> None:
        """Not persisted; the last caller wins, and callbacks run as the user who registered them."""
        self.queue.update(rec, notify_interface=callback, notify_registrant_sid=caller.user_sid)
        self.scheduler.notify_interface_changed(rec, proxy)

    # simple properties ---------------------------------------------------------------------------------

    def set_display_name(self, rec: JobRecord, value: str | None) -> None:
        if value is None:
            raise BitsError(hresults.E_INVALIDARG, "display name must not be NULL")
        if limits.utf16_len(value) > limits.MAX_DISPLAY_NAME:
            raise BitsError(hresults.BG_E_STRING_TOO_LONG, "display name longer than 256 characters")
        self.queue.update(rec, display_name=value)

    def set_description(self, rec: JobRecord, value: str | None) -> None:
        if value is None:
            raise BitsError(hresults.E_INVALIDARG, "description must not be NULL")
        if limits.utf16_len(value) > limits.MAX_DESCRIPTION:
            raise BitsError(hresults.BG_E_STRING_TOO_LONG, "description longer than 1,024 characters")
        self.queue.update(rec, description=value)

    def set_priority(self, rec: JobRecord, value: int) -> None:
        if value not in range(4):
            raise BitsError(hresults.E_NOTIMPL, f"{value} is not a BG_JOB_PRIORITY")
        if rec.http_method is not None and value != JobPriority.FOREGROUND:
            # A custom HTTP method forces FOREGROUND "and prevents that priority from being changed"
            # (sethttpmethod page), without a code. EMULATOR CHOICE: the header's code for what a custom
            # method does not support, BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD; FOREGROUND again changes
            # nothing and succeeds (docs/reference/readings.md#http-method-priority).
            raise BitsError(hresults.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, "the priority is locked")
        self.queue.update(rec, priority=JobPriority(value))

    def set_notify_flags(self, rec: JobRecord, value: int) -> None:
        """Flags the profile's BITS version lacks are unknown bits to it: E_NOTIMPL."""
        allowed = ALL_NOTIFY_FLAGS
        version = self.profile.bits_version
        if version < (10, 1):
            allowed &= ~NotifyFlags.FILE_RANGES_TRANSFERRED
        if version < (3, 0):
            allowed &= ~NotifyFlags.FILE_TRANSFERRED
        if value & ~allowed:
            raise BitsError(hresults.E_NOTIMPL, f"notify flags {value:#x} include unsupported bits")
        self.queue.update(rec, notify_flags=value)

    def set_minimum_retry_delay(self, rec: JobRecord, seconds: int) -> None:
        self.queue.update(rec, min_retry_delay=max(seconds, limits.MIN_RETRY_DELAY))  # below 5 s → 5 s

    def set_proxy_settings(self, rec: JobRecord, usage: int, plist: str | None, blist: str | None) -> None:
        if usage not in range(4):
            raise BitsError(hresults.E_NOTIMPL, f"{usage} is not a BG_JOB_PROXY_USAGE")
        if usage == ProxyUsage.OVERRIDE:
            if plist is None:
                raise BitsError(hresults.E_INVALIDARG, "OVERRIDE needs a proxy list")
        elif plist is not None or blist is not None:
            # OUR CHOICE (the page is silent): lists with another usage are an argument error.
            raise BitsError(hresults.E_INVALIDARG, "proxy lists are allowed only with OVERRIDE")
        if plist is not None and limits.utf16_len(plist) > limits.MAX_PROXY_LIST:
            raise BitsError(hresults.BG_E_PROXY_LIST_TOO_LARGE)
        if blist is not None and limits.utf16_len(blist) > limits.MAX_PROXY_LIST:
            raise BitsError(hresults.BG_E_PROXY_BYPASS_LIST_TOO_LARGE)
        self.queue.update(rec, proxy_usage=ProxyUsage(usage), proxy_list=plist, proxy_bypass_list=blist)

    def set_no_progress_timeout(self, rec: JobRecord, seconds: int) -> None:
        self.queue.update(rec, no_progress_timeout=seconds)

    def set_maximum_download_time(self, rec: JobRecord, seconds: int) -> None:
        self.queue.update(rec, max_download_time=seconds)

    def set_peer_caching_flags(self, rec: JobRecord, flags: int) -> None:
        """Stored only: peer caching is not emulated. Bits other than the three documented: E_INVALIDARG."""
        if flags & ~0x7:
            raise BitsError(hresults.E_INVALIDARG, f"peer caching flags {flags:#x} include unknown bits")
        self.queue.update(rec, peer_caching_flags=flags)

    def take_ownership(self, caller: AccessToken, rec: JobRecord) -> None:
        self.filesystem.check_new_owner(caller.user_sid, rec)
        self.queue.change_owner(rec, caller)

    # command line and upload-reply (IBackgroundCopyJob2) -------------------------------------------------

    def set_notify_cmd_line(self, rec: JobRecord, prog: str | None, params: str | None) -> None:
        if prog is None and params is not None:
            # Undocumented code; OUR CHOICE: E_INVALIDARG, as for other NULL/argument mismatches.
            raise BitsError(hresults.E_INVALIDARG, "parameters without a program")
        # Program is not checked for being a full path: the method "will not use the search path to locate the
        # program" and does not expand environment variables (setnotifycmdline page), so such a program is
        # stored as given and only its run cannot find it (docs/reference/readings.md#cmdline-program).
        if prog is not None and (
            limits.utf16_len(prog) > limits.MAX_PATH
            or (params is not None and limits.utf16_len(params) > limits.MAX_NOTIFY_PARAMETERS)
        ):
            raise BitsError(hresults.BG_E_STRING_TOO_LONG)
        self.queue.update(rec, notify_program=prog, notify_parameters=params)
        if prog is not None:
            self.bus.publish(NotifyCommandLine(self.scheduler.now(), rec.id, prog, params, "registered"))
        # Registered after the job reached ERROR/TRANSFERRED, it still runs (setnotifycmdline page).
        self.scheduler.notify_interface_changed(rec)

    @staticmethod
    def _reply_job(rec: JobRecord) -> JobRecord:
        if rec.job_type is not JobType.UPLOAD_REPLY:
            raise BitsError(hresults.E_NOTIMPL, "reply methods belong to upload-reply jobs")
        return rec

    def reply_of(self, rec: JobRecord) -> bytes | None:
        """The reply received so far (None before the reply starts); E_NOTIMPL for other job types."""
        jid = self._reply_job(rec).id
        reply = self.scheduler.replies.get(jid)
        if reply is None and rec.state is JobState.ACKNOWLEDGED:
            # Kept after Complete for the newest acknowledged jobs (Scheduler.acknowledged_replies).
            reply = self.scheduler.acknowledged_replies.get(jid)
        return reply

    def reply_data(self, rec: JobRecord) -> bytes | None:
        reply = self.reply_of(rec)
        if rec.state not in (JobState.TRANSFERRED, JobState.ACKNOWLEDGED):
            raise BitsError(hresults.BG_E_INVALID_STATE, "the reply has not arrived")
        if reply is not None and len(reply) > limits.MAX_REPLY_DATA:
            # "pSize contains the size of the reply data" with BG_E_TOO_LARGE (GetReplyData page): the size is in
            # the error's detail (and GetReplyProgress), there being no out parameter in Python.
            raise BitsError(hresults.BG_E_TOO_LARGE, f"the reply data is {len(reply)} bytes (over 1 MB)")
        return reply or None

    def set_reply_file_name(self, rec: JobRecord, value: str | None) -> None:
        self._reply_job(rec)
        if rec.id in self.scheduler.replies:
            raise BitsError(hresults.BG_E_INVALID_STATE, "the reply transfer has started")
        if value:
            names.check_local_name(value)
            self.filesystem.check_destination(value)
        self.queue.update(rec, reply_file_name=value or None)

    def reply_file_name(self, rec: JobRecord) -> str | None:
        self._reply_job(rec)
        if rec.reply_file_name or not rec.files:
            return rec.reply_file_name
        from .transfer.upload import reply_path

        return reply_path(rec)

    # credentials (docs/reference/security.md#usage-flags) ---------------------------------------------

    @staticmethod
    def _credential_key(target: int, scheme: int) -> None:
        if target not in (AuthTarget.SERVER, AuthTarget.PROXY):
            raise BitsError(hresults.BG_E_INVALID_AUTH_TARGET)
        if scheme not in tuple(AuthScheme):
            raise BitsError(hresults.BG_E_INVALID_AUTH_SCHEME)

    def set_credentials(self, rec: JobRecord, target: int, scheme: int, user: str | None, pwd: str | None) -> None:
        """One credential per (target, scheme); NULL user and password are implicit credentials."""
        self._credential_key(target, scheme)
        if scheme in (AuthScheme.BASIC, AuthScheme.DIGEST) and (user is None or pwd is None):
            raise BitsError(hresults.E_INVALIDARG, "BASIC and DIGEST need a user name and a password")
        if user is not None and limits.utf16_len(user) > limits.MAX_USER_NAME:
            raise BitsError(hresults.BG_E_USERNAME_TOO_LARGE)
        if pwd is not None and limits.utf16_len(pwd) > limits.MAX_PASSWORD:
            raise BitsError(hresults.BG_E_PASSWORD_TOO_LARGE)
        kept = [c for c in rec.credentials if (c.target, c.scheme) != (target, scheme)]
        self.queue.set_credentials(rec, [*kept, Credential(target, scheme, user, pwd)])

    def remove_credentials(self, rec: JobRecord, target: int, scheme: int) -> int:
        """S_OK, or S_FALSE when no credential of that (target, scheme) was set."""
        self._credential_key(target, scheme)
        kept = [c for c in rec.credentials if (c.target, c.scheme) != (target, scheme)]
        if len(kept) == len(rec.credentials):
            return int(hresults.S_FALSE)
        self.queue.set_credentials(rec, kept)
        return int(hresults.S_OK)

    # HTTP options (IBackgroundCopyJobHttpOptions 1–3) and ACL flags -----------------------------------

    def set_client_certificate(
        self, rec: JobRecord, location: int, store_name: str | None, thumbprint: bytes | None, subject: str | None
    ) -> None:
        """Kept as the job's settings: no Windows certificate store is emulated, so any store name and
        thumbprint of the right shape is accepted (our choice; CRYPT_E_NOT_FOUND never occurs)."""
        if subject is not None and not subject:
            raise BitsError(hresults.E_INVALIDARG, "subject name must not be empty")
        if location not in range(8):
            raise BitsError(hresults.E_NOTIMPL, f"{location} is not a BG_CERT_STORE_LOCATION")
        if store_name is None:
            raise BitsError(hresults.RPC_X_NULL_REF_POINTER, "store_name must not be NULL")
        if limits.utf16_len(store_name) > limits.MAX_CERT_STORE_NAME or (
            subject and limits.utf16_len(subject) > limits.MAX_CERT_SUBJECT
        ):
            raise BitsError(hresults.BG_E_STRING_TOO_LONG)
        cert = {
            "store_location": location,
            "store_name": store_name,
            "thumbprint": thumbprint.hex() if thumbprint is not None else None,
            "subject_name": subject,
        }
        self.queue.update(rec, client_certificate=cert)

    @staticmethod
    def client_certificate(caller: AccessToken, rec: JobRecord) -> dict[str, Any]:
        """GetClientCertificate: RPC_X_BAD_STUB_DATA when "the job does not specify a certificate or the user
        does not have permissions to the certificate" (getclientcertificate page). The certificate is the
        owner's (set and removed by the owner only, dropped by TakeOwnership: docs/reference/security.md#ownership),
        so any other caller, an administrator too, has no permission to it
        (docs/reference/readings.md#client-certificates)."""
        cert = rec.client_certificate
        if cert is None:
            raise BitsError(hresults.RPC_X_BAD_STUB_DATA, "no client certificate is set")
        if caller.user_sid != rec.owner_sid:
            raise BitsError(hresults.RPC_X_BAD_STUB_DATA, "the client certificate is the job owner's")
        return cert

    def remove_client_certificate(self, rec: JobRecord) -> int:
        """S_OK, or S_FALSE when no certificate was set."""
        if rec.client_certificate is None:
            return int(hresults.S_FALSE)
        self.queue.update(rec, client_certificate=None)
        return int(hresults.S_OK)

    def make_custom_headers_write_only(self, rec: JobRecord) -> None:
        """Irreversible. "The return value is always S_OK" (makecustomheaderswriteonly page): a job that has
        left the queue (CANCELLED, ACKNOWLEDGED) is no exception to it, unlike the setters that document
        BG_E_INVALID_STATE; its held pointers' GetCustomHeaders is refused from then on, as for a live job.
        A final job is no longer in the queue: nothing is written to the store, no modification is noted."""
        self.queue.update(rec, touch=not rec.is_final, custom_headers_write_only=True)

    def set_server_certificate_validator(self, rec: JobRecord, callback: object | None, proxy: Any = None) -> None:
        """Not persisted; the last caller wins; ``proxy`` is the pointer it was called through (the callback's
        job and file pointers are its client's). Every call clears the job's accepted-certificate cache."""
        if rec.state is not JobState.SUSPENDED:
            raise BitsError(hresults.BG_E_READ_ONLY_WHEN_JOB_ACTIVE)
        properties = dict(rec.properties)
        if callback is None:
            properties.pop(CERT_CALLBACK_REQUIRED, None)
        else:
            properties[CERT_CALLBACK_REQUIRED] = True  # persisted: outlives the object
        with self.queue.batch():
            if properties != rec.properties:
                self.queue.update(rec, touch=False, properties=properties)
            self.queue.update(rec, server_cert_validator=callback)
        self.scheduler.certificates.registered(rec, proxy)

    def set_custom_headers(self, rec: JobRecord, headers: str | None) -> None:
        if headers is not None and limits.utf16_len(headers) + 1 > limits.MAX_CUSTOM_HEADERS:
            raise BitsError(hresults.BG_E_STRING_TOO_LONG, "custom headers longer than 16 KB")
        self.queue.update(rec, custom_headers=headers)

    @staticmethod
    def custom_headers(caller: AccessToken, rec: JobRecord) -> str | None:
        if caller.user_sid != rec.owner_sid or rec.custom_headers_write_only:
            raise BitsError(hresults.E_ACCESSDENIED, "custom headers are readable by the owner only")
        return rec.custom_headers

    def set_security_flags(self, rec: JobRecord, value: int) -> None:
        policy = value & 0x0700
        bad = value & ~VALID_SECURITY_FLAGS or policy not in (0, 0x0100, 0x0200)
        if bad or (policy == 0x0200 and value & 0x0800):
            raise BitsError(hresults.E_NOTIMPL, f"security flags {value:#x} are not supported")
        if policy and self.profile.bits_version < (3, 0):
            raise BitsError(hresults.E_NOTIMPL, "redirect policies need BITS 3.0")
        self.queue.update(rec, security_flags=value)

    @staticmethod
    def _default_verb(rec: JobRecord) -> str:
        return "GET" if rec.job_type is _DOWNLOAD else "BITS_POST"

    def http_method(self, rec: JobRecord) -> str:
        return rec.http_method or self._default_verb(rec)

    def set_http_method(self, rec: JobRecord, verb: str) -> None:
        if has_resumed(rec):
            raise BitsError(hresults.BG_E_INVALID_STATE, "the HTTP method is set before the first Resume")
        # No HTTP token: E_INVALIDARG, our reading (docs/reference/readings.md#http-method-verb).
        if not verb or not verb.isascii() or any(c.isspace() for c in verb):
            raise BitsError(hresults.E_INVALIDARG, f"{verb!r} is not an HTTP method")
        if verb == self._default_verb(rec):
            return  # the default verb is a no-op: no priority change (sethttpmethod page)
        stored = rec.properties
        if stored.get(JobPropertyId.DYNAMIC_CONTENT) or stored.get(JobPropertyId.ON_DEMAND_MODE):
            # Not with DYNAMIC_CONTENT nor ON_DEMAND_MODE (sethttpmethod page; set_property refuses the other
            # order): docs/reference/readings.md#custom-method-exclusive.
            raise BitsError(hresults.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD)
        self.queue.update(rec, http_method=verb, priority=JobPriority.FOREGROUND)

    def set_file_acl_flags(self, rec: JobRecord, value: int) -> None:
        if rec.state is JobState.TRANSFERRED:
            raise BitsError(hresults.BG_E_INVALID_STATE, "ACL flags must be set before the job is TRANSFERRED")
        if value & ~0xF:
            raise BitsError(hresults.E_INVALIDARG, f"ACL flags {value:#x} include unknown bits")
        self.queue.update(rec, file_acl_flags=value)

    # files (IBackgroundCopyFile2 … IBackgroundCopyFile6) ------------------------------------------------

    def set_remote_name(self, rec: JobRecord, f: FileRecord, url: str | None) -> None:
        """The new name is used at once in memory and written to the store by the next Resume (the page:
        the change "does not serialize" until Resume)."""
        if rec.job_type is not _DOWNLOAD:
            raise BitsError(hresults.E_NOTIMPL, "SetRemoteName is for download jobs only")
        if url is None:
            raise BitsError(hresults.E_INVALIDARG, "the remote name must not be NULL")
        if names.remote_kind(url, rec.job_type) is RemoteKind.SMB and f.ranges is not None:
            # As AddFileWithRanges and ReplaceRemotePrefix: no SMB for ranges from BITS 3.0 (addfilewithranges
            # page; code: docs/reference/readings.md#ranges-smb-dynamic).
            raise BitsError(hresults.E_INVALIDARG, "ranges cannot be transferred over SMB (BITS 3.0+)")
        if url == f.remote_name:
            return
        if f.durable_remote_name is None:
            f.durable_remote_name = f.remote_name  # (what a restart before the next Resume goes back to)
        f.remote_name = url
        f.renamed = True
        self.queue.update(rec)  # a property change: modification time, JobModification

    def set_validation_state(self, rec: JobRecord, f: FileRecord, valid: bool) -> None:
        if not f.transferred:
            # "You can call this method only after BITS finishes transferring the file."
            raise BitsError(hresults.E_PENDING, "the file has not finished transferring")
        if valid or rec.job_type is not _DOWNLOAD:
            # FALSE fails a download ("the job moves to the error state with an error code of
            # BG_E_VALIDATION_FAILED and the file progress is set to zero. You can then call Resume to download
            # the file again"); the page speaks of downloads only. An upload's file is already on the server and
            # there is nothing to fetch again: the state is recorded, nothing else changes
            # (docs/reference/readings.md#validation).
            with self.queue.batch():  # one call, one transaction
                self.queue.update_file(rec, f, validation_state=valid)
                self.queue.update(rec)
            return
        # Downloaded from the origin server (peer caching is not emulated): "the job moves to the error
        # state with an error code of BG_E_VALIDATION_FAILED and the file progress is set to zero. You can
        # then call IBackgroundCopyJob::Resume to download the file again." (setvalidationstate page)
        if not props.writes_in_place(rec):
            # The temporary file goes; Resume writes a new one. (A HIGH_PERFORMANCE file's temporary is its
            # destination: kept, and emptied when the file starts again, transfer/inplace.py.)
            self.filesystem.discard(f)
        error = ErrorRecord(ErrorContext.REMOTE_FILE, int(hresults.BG_E_VALIDATION_FAILED), f.index, None)
        with self.queue.batch():  # one call, one transaction: the file's reset and the job's error
            self.queue.update_file(
                rec, f, validation_state=False, transferred=False, bytes_transferred=0, temp_name=None
            )
            if f.ranges is None:
                st = ranges.state_of(rec, f)
                if st is not None:
                    ranges.save_state(self.queue, rec, f, {**st, "plan": None})
            self.queue.set_error(rec, Trigger.VALIDATION_FAILED, error)

    @staticmethod
    def _random_access(rec: JobRecord, f: FileRecord) -> None:
        why = ranges.random_access_error(rec, f)
        if why is not None:
            raise BitsError(hresults.BG_E_RANDOM_ACCESS_NOT_SUPPORTED, why)

    def _replan(self, rec: JobRecord, f: FileRecord, **changes: object) -> None:
        st = ranges.state_of(rec, f) or {}
        with self.queue.batch():  # one call, one transaction: the new plan and the job's times
            ranges.save_state(self.queue, rec, f, {**st, **changes})
            self.queue.update(rec)
        if not f.transferred and rec.state in RUNNING_STATES:
            self.scheduler.reconnect(rec)  # reconnect with the new plan

    def update_download_position(self, rec: JobRecord, f: FileRecord, offset: int) -> None:
        self._random_access(rec, f)
        self._replan(rec, f, position=offset)

    def request_file_ranges(self, rec: JobRecord, f: FileRecord, spans: list[tuple[int, int]]) -> None:
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

    def filled_file_ranges(self, rec: JobRecord, f: FileRecord) -> list[tuple[int, int]]:
        self._random_access(rec, f)
        return ranges.filled_ranges(rec, f)

    # helper tokens (IBitsTokenOptions; the decision tables are domain/tokens.py) -------------------------

    def token_decision(
        self,
        method: tokens.Method,
        qi: AccessToken,
        rec: JobRecord,
        *,
        level: ImpersonationLevel = ImpersonationLevel.IMPERSONATE,
        helper_is_admin: bool = False,
        flags: int = 0,
    ) -> JobRecord:
        """Judge the identity that performed the QueryInterface (SHT, T15) with the profile's rule set."""
        subject = tokens.Subject(
            qi_sid=qi.user_sid,
            qi_admin=qi.is_admin,
            qi_can_write=access.can_write(qi, rec),
            owner_sid=rec.owner_sid,
            owner_admin=rec.owner_elevated,
        )
        decision = tokens.decide(
            self.profile.helper_rules,
            method,
            subject,
            level=level,
            helper_is_admin=helper_is_admin,
            flags=flags,
            final=rec.is_final,
            choices=self.helper_token_choices,
        )
        if not decision.allowed:
            raise BitsError(decision.hresult, decision.reason)
        return rec

    def set_helper_token(self, qi: AccessToken, rec: JobRecord, helper: AccessToken, level: ImpersonationLevel) -> None:
        self.token_decision(tokens.Method.SET_HELPER_TOKEN, qi, rec, level=level, helper_is_admin=helper.is_admin)
        self.helper_tokens.set(rec, helper)

    def clear_helper_token(self, qi: AccessToken, rec: JobRecord) -> None:
        self.token_decision(tokens.Method.CLEAR_HELPER_TOKEN, qi, rec)
        self.helper_tokens.clear(rec)

    def set_helper_token_flags(self, qi: AccessToken, rec: JobRecord, flags: int) -> None:
        current = rec.helper
        self.token_decision(
            tokens.Method.SET_HELPER_TOKEN_FLAGS,
            qi,
            rec,
            flags=flags,
            helper_is_admin=current is not None and current.token.is_admin,
        )
        self.helper_tokens.set_flags(rec, flags)

    # the job property table (domain/properties.py) ------------------------------------------------------

    def job_property(self, pid: int) -> props.Property:
        return props.lookup(pid, self.profile.bits_version)

    def set_property(self, rec: JobRecord, prop: props.Property, stored: Any) -> None:
        """SetProperty with a value already converted to the property's union member (``prop.kind``)."""
        if prop.download_only and rec.job_type is not _DOWNLOAD:
            raise BitsError(hresults.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY)
        if prop.read_only is props.ReadOnly.AFTER_ADDFILE and rec.files:
            raise BitsError(hresults.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE)
        if prop.read_only is props.ReadOnly.AFTER_RESUME and has_resumed(rec):
            raise BitsError(hresults.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME)
        if prop.id is JobPropertyId.DYNAMIC_CONTENT and stored and any(f.ranges for f in rec.files):
            raise BitsError(hresults.E_INVALIDARG, "dynamic content cannot be used with file ranges")
        if stored is True and rec.http_method is not None and prop.id in _NOT_WITH_CUSTOM_METHOD:
            # "BITS doesn't allow DYNAMIC_CONTENT nor ON_DEMAND_MODE jobs with SetHttpMethod" (sethttpmethod
            # page), in either order; the code is undocumented, EMULATOR CHOICE: the header's code for it,
            # as set_http_method gives the other way (docs/reference/readings.md#custom-method-exclusive).
            raise BitsError(hresults.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, f"{prop.id.name} and a custom verb")
        if prop.kind is props.Kind.TARGET:
            props.check_target(stored)
        self.queue.update(rec, properties={**rec.properties, int(prop.id): stored})
        if prop.id is JobPropertyId.NOTIFICATION_CLSID:
            # A CLSID set after an event still gets it once, like a late SetNotifyInterface (at-least-once).
            self.scheduler.notify_interface_changed(rec)
        elif prop.id is JobPropertyId.COST_FLAGS:
            # "May be changed while a transfer is ongoing – the new cost flags will take effect immediately"
            # (BITS_JOB_PROPERTY_ID page): a running job the new flags refuse stops, a held one they accept
            # returns to QUEUED.
            self.scheduler.cost_flags_changed(rec)

    def get_property(self, rec: JobRecord, prop: props.Property) -> Any:
        value = rec.properties.get(int(prop.id), prop.default)
        return uuid.UUID(value) if prop.kind is props.Kind.CLSID else value
