"""Upload and upload-reply jobs against the fake network's BITS upload endpoints (bits-core §9.5).

The job's one file is read from its local name and sent to a URL registered with ``upload=True``; the
endpoint keeps what it received (``resource.received``). An upload-reply endpoint answers with its
``reply`` bytes, which the job writes to its reply file (SetReplyFileName, or a name BITS generates in the
upload file's directory) when the upload completes; Complete makes the reply file available.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hresults
from ..constants import ErrorContext, JobType
from ..domain.records import JobRecord
from ..hresults import BitsError
from .network import status_is_fatal

if TYPE_CHECKING:
    from .scheduler import Flow, Scheduler


def reply_path(sched: Scheduler, rec: JobRecord) -> str:
    """The reply file's name: as set, or generated next to the upload file (setreplyfilename page)."""
    if rec.reply_file_name:
        return rec.reply_file_name
    local = rec.files[0].local_name
    i = max(local.rfind("\\"), local.rfind("/"))  # a name may mix both separators
    return f"{local[:i]}{local[i]}BITS-{str(rec.id).upper()}.reply"


def connect_upload(sched: Scheduler, rec: JobRecord, flow: Flow, t: float) -> bool:
    f = flow.file
    net = sched.network
    if not net.host_known(f.remote_name):
        sched._fail(
            rec, t, hresults.ERROR_WINHTTP_NAME_NOT_RESOLVED, ErrorContext.GENERAL_TRANSPORT, file=f, protocol="http"
        )
        return True
    res = net.resource(f.remote_name)
    status = 404 if res is None else res.status
    if res is not None and not res.upload:
        status = 501  # the server has no BITS upload extension (return-values page: 501, IIS 6)
    if res is not None and res.transient_failures > 0:
        res.transient_failures -= 1
        status = res.failure_status
    if res is not None and 200 <= status < 300:
        status = net.authenticate(res, rec, sched._svc)
    if res is None or not 200 <= status < 300:
        sched._fail(
            rec,
            t,
            hresults.http_error(status),
            ErrorContext.REMOTE_FILE,
            fatal=status_is_fatal(status),
            file=f,
            protocol="http",
        )
        return True
    try:
        source = sched.filesystem.host_path(f.local_name)
        body = source.read_bytes()
    except (BitsError, OSError):
        sched._fail(rec, t, hresults.ERROR_FILE_NOT_FOUND, ErrorContext.LOCAL_FILE, fatal=True, file=f)
        return True
    res.requests += 1
    flow.resource, flow.upload, flow.body, flow.body_offset = res, True, body, 0
    flow.total, flow.rate, flow.connected, flow.start_t = len(body), res.rate, True, t
    flow.start_bytes = f.bytes_transferred if f.bytes_transferred <= len(body) else 0
    sched._svc.queue.update_file(rec, f, bytes_total=len(body), bytes_transferred=flow.start_bytes)
    from ..domain.states import Trigger

    if rec.state.name == "CONNECTING":
        sched._svc.queue.change_state(rec, Trigger.CONNECTED, error=None)
    if flow.rate is None:
        sched._advance_flow(rec, flow, t)
    return True


def finish_upload(sched: Scheduler, rec: JobRecord, flow: Flow) -> None:
    """The last fragment arrived: the server keeps the file; an upload-reply job receives the reply."""
    res = flow.resource
    assert res is not None and flow.body is not None
    res.received = flow.body
    sched._svc.queue.update_file(rec, flow.file, completed=True)
    if rec.job_type is JobType.UPLOAD_REPLY:
        reply = res.reply or b""
        sched.replies[rec.id] = reply
        sched.filesystem.put(reply_path(sched, rec) + ".bits-tmp", reply)


def complete_upload(sched: Scheduler, rec: JobRecord) -> None:
    """Complete of an upload-reply job makes the reply file available (T30)."""
    if rec.job_type is not JobType.UPLOAD_REPLY:
        return
    name = reply_path(sched, rec)
    # Both follow no symlink and rename relative to the directory descriptor (localfs).
    if not sched.filesystem.rename(name + ".bits-tmp", name):
        sched.filesystem.put(name, sched.replies.get(rec.id, b""))
