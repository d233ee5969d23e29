"""In-memory job and file records.

The service keeps every live job as a record and writes each change through to the store in the same
call; reads never touch SQLite. Records hold values only; the rules that change them live beside this
module (states.py, access.py) and the service applies them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from ..constants import ErrorContext, JobPriority, JobState, JobType, ProxyUsage
from ..identity.tokens import AccessToken
from . import limits
from .states import FINAL_STATES

# A tuple: ``in`` matches enum members by identity, where a frozenset would call Enum.__hash__ (Python
# code) on every check of every write.
_FINAL = tuple(FINAL_STATES)


@dataclass(slots=True, eq=False)
class FileRecord:
    file_id: int
    job_id: uuid.UUID
    index: int
    remote_name: str
    local_name: str
    bytes_total: int | None = None  # None while the size is unknown (BG_SIZE_UNKNOWN)
    bytes_transferred: int = 0
    completed: bool = False
    temp_name: str | None = None
    ranges: list[tuple[int, int]] | None = None
    validation_state: bool = False
    remote_mtime: float | None = None
    response_headers: str | None = None
    transferred: bool = False  # every byte is in the temporary file
    # The stored remote name while a SetRemoteName change lives in memory only (None: nothing unsaved): the next
    # Resume writes the new one to the store (IBackgroundCopyFile2::SetRemoteName: "Calling the Resume method
    # serializes the change"); a service restart before it goes back to this one.
    durable_remote_name: str | None = None
    # SetRemoteName or ReplaceRemotePrefix named another server since the file's bytes came: its next connection
    # applies their rule (same time stamp and size and a server that resumes, or the file starts again) instead
    # of asking the new server for a range (docs/reference/readings.md#no-range-restart). In memory only.
    renamed: bool = False


@dataclass(slots=True, eq=False)
class ErrorRecord:
    context: ErrorContext
    code: int
    file_index: int | None = None
    protocol: str | None = None


@dataclass(slots=True, eq=False)
class HelperToken:
    """A helper token as IBitsTokenOptions::SetHelperToken captured it; never persisted (SHT)."""

    token: AccessToken
    session_id: int | None


@dataclass(slots=True, eq=False)
class Credential:
    target: int
    scheme: int
    user_name: str | None
    password: str | None


@dataclass(slots=True, eq=False)
class JobRecord:
    id: uuid.UUID
    seq: int
    job_type: JobType
    display_name: str
    owner_sid: str
    owner_name: str
    owner_elevated: bool
    owner_integrity: int
    created_at: float
    modified_at: float
    state: JobState = JobState.SUSPENDED
    description: str = ""
    priority: JobPriority = JobPriority.NORMAL
    notify_flags: int = limits.DEFAULT_NOTIFY_FLAGS
    notify_program: str | None = None
    notify_parameters: str | None = None
    min_retry_delay: int = limits.DEFAULT_RETRY_DELAY
    no_progress_timeout: int = limits.DEFAULT_NO_PROGRESS_TIMEOUT
    max_download_time: int = limits.DEFAULT_MAX_DOWNLOAD_TIME
    proxy_usage: ProxyUsage = ProxyUsage.PRECONFIG
    proxy_list: str | None = None
    proxy_bypass_list: str | None = None
    error_count: int = 0
    transferred_at: float | None = None
    error: ErrorRecord | None = None
    security_flags: int = 0
    file_acl_flags: int = 0
    peer_caching_flags: int = 0
    custom_headers: str | None = None
    custom_headers_write_only: bool = False
    client_certificate: dict[str, Any] | None = None
    credentials: list[Credential] = field(default_factory=list)
    http_method: str | None = None
    reply_file_name: str | None = None
    properties: dict[int, Any] = field(default_factory=dict)
    helper_flags: int = 0
    helper: HelperToken | None = None
    # scheduler bookkeeping (timers of docs/reference/states.md), seconds on the service clock
    retry_at: float | None = None
    no_progress_since: float | None = None
    active_seconds: float = 0.0
    last_activity_at: float = 0.0
    files: list[FileRecord] = field(default_factory=list)
    # not persisted: the callback object registered by SetNotifyInterface (setnotifyinterface page)
    notify_interface: object | None = None
    notify_registrant_sid: str | None = None
    server_cert_validator: object | None = None  # HttpOptions3; not persisted either
    # str(id), the store's key: kept rather than formatted on every write (a job's id never changes).
    # A creator that already has the string passes it (queue.new_job_id makes both at once).
    key: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            self.key = str(self.id)

    @property
    def is_final(self) -> bool:
        return self.state in _FINAL


# The fields a new job's record is given (queue.create); every other field takes its declared default.
_NEW_JOB_FIELDS = (
    "id", "key", "seq", "job_type", "display_name", "owner_sid", "owner_name", "owner_elevated",
    "owner_integrity", "created_at", "modified_at", "last_activity_at",
)


def _new_job_maker() -> Callable[..., JobRecord]:
    """``new_job(<_NEW_JOB_FIELDS>)``: the record ``JobRecord(**those fields)`` makes, at half its cost.

    Why: CreateJob makes one, and the dataclass ``__init__`` takes all 48 fields by keyword and fills the
    defaults one by one (about 2.9 µs on 3.11); this function, written out from the dataclass's own fields
    and defaults when the module loads, takes the twelve positionally and stores each slot directly
    (about 1.6 µs). tests/test_store.py checks that both make the same record."""
    env: dict[str, Any] = {"_new": object.__new__, "_cls": JobRecord}
    lines = [f"def new_job({', '.join(_NEW_JOB_FIELDS)}):", "    self = _new(_cls)"]
    for f in fields(JobRecord):
        if f.name in _NEW_JOB_FIELDS:
            lines.append(f"    self.{f.name} = {f.name}")
        elif f.default is not MISSING:
            env[f"_d_{f.name}"] = f.default
            lines.append(f"    self.{f.name} = _d_{f.name}")
        else:
            env[f"_f_{f.name}"] = f.default_factory
            lines.append(f"    self.{f.name} = _f_{f.name}()")
    lines.append("    return self")
    exec("\n".join(lines), env)  # code made from the field names above, as dataclasses makes __init__
    made: Callable[..., JobRecord] = env["new_job"]
    made.__module__ = __name__
    return made


new_job = _new_job_maker()
