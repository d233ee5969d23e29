"""Upload and upload-reply jobs against the fake network's BITS upload endpoints (docs/reference/states.md#upload).

The job's one file is read from its local name and sent to a URL registered with ``upload=True``; the
endpoint keeps what it received (``resource.received``). An upload-reply endpoint answers with its
``reply`` bytes, which the job writes to its reply file (SetReplyFileName, or a name BITS generates in the
upload file's directory) when the upload completes; Complete makes the reply file available.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from .. import hresults
from ..clock import exact
from ..constants import ErrorContext, JobType
from ..domain.records import JobRecord
from ..hresults import BitsError
from .flow import Failure, Flow, http_failure

if TYPE_CHECKING:
    from ..queue import JobQueue
    from .localfs import LocalFileSystem
    from .network import FakeNetwork


def reply_path(rec: JobRecord) -> str:
    """The reply file's name: as set, or generated next to the upload file (setreplyfilename page)."""
    if rec.reply_file_name:
        return rec.reply_file_name
    local = rec.files[0].local_name
    i = max(local.rfind("\\"), local.rfind("/"))  # a name may mix both separators
    return f"{local[:i]}{local[i]}BITS-{str(rec.id).upper()}.reply"


def connect_upload(net: FakeNetwork, fs: LocalFileSystem, rec: JobRecord, flow: Flow) -> Failure | None:
    """Reach the upload endpoint and read the file to send; fills ``flow`` or returns the failure."""
    f = flow.file
    if not net.host_known(f.remote_name):
        return Failure(
            int(hresults.ERROR_WINHTTP_NAME_NOT_RESOLVED), ErrorContext.GENERAL_TRANSPORT, file=f, protocol="http"
        )
    res = net.resource(f.remote_name)
    status = 404 if res is None else res.status
    if res is not None and not res.upload:
        status = 501  # the server has no BITS upload extension (return-values page: 501, IIS 6)
    if res is not None and res.transient_failures > 0:
        res.transient_failures -= 1
        status = res.failure_status
    if res is not None and 200 <= status < 300:
        status = net.authenticate(res, rec)
    if res is None or not 200 <= status < 300:
        return http_failure(status, f)
    try:
        body = fs.read(f.local_name)  # follows no symlink (localfs)
    except (BitsError, OSError):
        return Failure(int(hresults.ERROR_FILE_NOT_FOUND), ErrorContext.LOCAL_FILE, fatal=True, file=f)
    if rec.job_type is JobType.UPLOAD_REPLY:
        # The reply file is created by the owner, or the helper with BG_TOKEN_LOCAL_FILE, as a download's
        # temporary is (localfs.check_writer); checked before any byte is sent, as a download's at connect.
        try:
            fs.check_writer(rec, reply_path(rec))
        except BitsError as exc:
            return Failure(exc.hresult, ErrorContext.LOCAL_FILE, fatal=True, file=f)
    res.requests += 1
    flow.resource, flow.upload, flow.body, flow.body_offset = res, True, body, 0
    flow.total = len(body)
    flow.rate = None if res.rate is None else exact(res.rate)
    flow.start_bytes = f.bytes_transferred if f.bytes_transferred <= len(body) else 0
    return None


def finish_upload(fs: LocalFileSystem, replies: dict[uuid.UUID, bytes], queue: JobQueue, rec: JobRecord,
                  flow: Flow) -> None:
    """The last fragment arrived: the server keeps the file; an upload-reply job receives the reply."""
    res = flow.resource
    assert res is not None and flow.body is not None
    res.received = flow.body
    queue.update_file(rec, flow.file, completed=True)
    if rec.job_type is JobType.UPLOAD_REPLY:
        reply = res.reply or b""
        replies[rec.id] = reply
        fs.put(reply_path(rec) + ".bits-tmp", reply)  # follows no symlink (localfs)


def complete_upload(fs: LocalFileSystem, replies: dict[uuid.UUID, bytes], rec: JobRecord) -> None:
    """Complete of an upload-reply job makes the reply file available (T30)."""
    if rec.job_type is not JobType.UPLOAD_REPLY:
        return
    name = reply_path(rec)
    # Both follow no symlink and rename relative to the directory descriptor (localfs).
    if not fs.rename(name + ".bits-tmp", name):
        fs.put(name, replies.get(rec.id, b""))
