"""Upload and upload-reply jobs against the fake network's BITS upload endpoints (docs/reference/states.md#upload).

The job's one file is read from its local name and sent to a URL registered with ``upload=True``; the
endpoint keeps what it received (``resource.received``). An upload-reply endpoint answers with its
``reply`` bytes, which the job writes to its reply file (SetReplyFileName, or a name BITS generates in the
upload file's directory) when the upload completes; Complete makes the reply file available.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final

from .. import hresults
from ..clock import exact
from ..constants import ErrorContext, JobType
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from .flow import Failure, Flow, http_failure
from .localfs import os_error_hresult
from .network import application_status_is_fatal

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
    refused = refused_for_good(rec, f)  # the application answered 403: the file is never posted again
    if refused is not None:
        return refused
    if not net.host_known(f.remote_name):
        return Failure(
            int(hresults.ERROR_WINHTTP_NAME_NOT_RESOLVED), ErrorContext.GENERAL_TRANSPORT, file=f, protocol="http"
        )
    if flow.check_certificate is not None:
        # T25: the TLS handshake's server certificate goes to the job's callback before any request.
        failure = net.server_certificate_failure(flow)
        if failure is not None:
            return failure
    res = net.resource(f.remote_name)
    status = 404 if res is None else res.status
    if res is not None and not res.upload:
        status = 501  # the server has no BITS upload extension (return-values page: 501, IIS 6)
    if res is not None and res.transient_failures > 0:
        res.transient_failures -= 1
        status = res.failure_status
    if res is not None and 200 <= status < 300:
        # "You can specify a certificate for all job types" (SetClientCertificateByID page): an upload meets
        # the server's TLS client authentication as a download does (connectors.connect_http) — the same
        # codes, context GENERAL_TRANSPORT, fatal, before the credentials are tried.
        tls = net.client_certificate_error(res, rec)
        if tls is not None:
            return Failure(int(tls), ErrorContext.GENERAL_TRANSPORT, fatal=True, file=f, protocol="http")
        status = net.authenticate(res, rec, f.remote_name)
    if res is None or not 200 <= status < 300:
        return http_failure(status, f)
    local = _read_local(fs, f)
    if isinstance(local, Failure):
        return local
    body, stamp = local
    if rec.job_type is JobType.UPLOAD_REPLY:
        # The reply file is created by the owner, or the helper with BG_TOKEN_LOCAL_FILE, as a download's
        # temporary is (localfs.check_writer); checked before any byte is sent, as a download's at connect.
        try:
            fs.check_writer(rec, reply_path(rec))
        except BitsError as exc:
            return Failure(exc.hresult, ErrorContext.LOCAL_FILE, fatal=True, file=f)
    if local_file_changed(f, len(body), stamp):
        return changed_failure(f)
    res.requests += 1
    flow.resource = res
    flow.rate = None if res.rate is None else exact(res.rate)
    # A custom HTTP method restarts from the beginning (sethttpmethod page, T24).
    _load(flow, body, stamp, resumes=rec.http_method is None)
    return None


def _read_local(fs: LocalFileSystem, f: FileRecord) -> tuple[bytes, float] | Failure:
    """The upload's local file and its last-write time, or the failure: ERROR_FILE_NOT_FOUND, LOCAL_FILE."""
    try:
        return fs.read_stamped(f.local_name)  # follows no symlink (localfs)
    except (BitsError, OSError):
        return Failure(int(hresults.ERROR_FILE_NOT_FOUND), ErrorContext.LOCAL_FILE, fatal=True, file=f)


def _load(flow: Flow, body: bytes, stamp: float, *, resumes: bool) -> None:
    """The flow sends ``body``, from where the file stopped when it ``resumes`` and the file is no shorter."""
    f = flow.file
    flow.upload, flow.body, flow.body_offset = True, body, 0
    flow.total = len(body)
    flow.mtime = stamp  # recorded with the size when the upload starts (scheduler._begin_transfer)
    flow.start_bytes = f.bytes_transferred if resumes and f.bytes_transferred <= len(body) else 0


def connect_smb_upload(fs: LocalFileSystem, flow: Flow) -> Failure | None:
    """An upload to an SMB name: "You can use SMB to express the remote name of the file to download or upload;
    there is no SMB support for upload-reply jobs" (https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_file_info).
    The share is the sandbox's UNC root, as for an SMB download's source; its directory must exist (else
    ERROR_PATH_NOT_FOUND, context REMOTE_FILE, as an SMB source's). The file lands there, with the local file's
    time stamps, when its last byte is sent (``write_to_share``); no server application, no reply
    (docs/reference/readings.md#smb-upload)."""
    f = flow.file
    try:
        target = fs.source_path(f.remote_name)
        if not target.parent.is_dir():
            return Failure(int(hresults.ERROR_PATH_NOT_FOUND), ErrorContext.REMOTE_FILE, fatal=True, file=f,
                           protocol="file")
    except BitsError as exc:
        return Failure(exc.hresult, ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="file")
    local = _read_local(fs, f)
    if isinstance(local, Failure):
        return local
    body, stamp = local
    if local_file_changed(f, len(body), stamp):
        return changed_failure(f)
    flow.local_source = target  # (an upload's: where the share keeps the file)
    _load(flow, body, stamp, resumes=True)
    return None


def write_to_share(fs: LocalFileSystem, flow: Flow) -> Failure | None:
    """The last byte of an SMB upload is sent: the share keeps the file, with the local file's time stamps
    ("For SMB downloads and uploads, BITS propagates the file's time stamps", BG_FILE_INFO page). A share that
    refuses it fails the job: context REMOTE_FILE, the file system's code."""
    if flow.resource is not None or flow.body is None:
        return None  # an HTTP upload: the server endpoint keeps it (finish_upload)
    try:
        fs.put(fs.source_name(flow.file.remote_name), flow.body, mtime=flow.mtime)
    except (BitsError, OSError) as exc:
        code = exc.hresult if isinstance(exc, BitsError) else os_error_hresult(exc)
        return Failure(code, ErrorContext.REMOTE_FILE, fatal=True, file=flow.file, protocol="file")
    return None


def local_file_changed(f: FileRecord, size: int, stamp: float) -> bool:
    """"For uploads, if the file size or time stamp changes during the file transfer, BITS generates an error
    and the job is in the BG_JOB_STATE_ERROR state" (https://learn.microsoft.com/en-us/windows/win32/bits/file-transfer-consistency).
    The size and the last-write time are recorded when the upload starts — in the file's ``bytes_total`` and
    ``remote_mtime`` (the column that holds a download's remote time stamp), so the record survives a
    restart — and compared, exactly, at each later connection and when the last byte is sent."""
    if f.remote_mtime is None:
        return False  # nothing recorded yet: the upload starts now
    return size != f.bytes_total or stamp != f.remote_mtime


def changed_failure(f: FileRecord) -> Failure:
    """BG_E_LOCAL_FILE_CHANGED (0x8020001D), context LOCAL_FILE, fatal (bits-return-values page, T13)."""
    return Failure(int(hresults.BG_E_LOCAL_FILE_CHANGED), ErrorContext.LOCAL_FILE, fatal=True, file=f)


def changed_since_start(fs: LocalFileSystem, flow: Flow) -> Failure | None:
    """The last fragment is about to arrive: the local file must still be the one the upload started with."""
    f = flow.file
    try:
        size, stamp = fs.stamp(f.local_name)
    except (BitsError, OSError):
        return Failure(int(hresults.ERROR_FILE_NOT_FOUND), ErrorContext.LOCAL_FILE, fatal=True, file=f)
    return changed_failure(f) if local_file_changed(f, size, stamp) else None


def application_failure(flow: Flow) -> Failure | None:
    """The upload's bytes are all sent: the server application processes the file. A failing application is
    context REMOTE_APPLICATION, "the server application that processed an upload" (BG_ERROR_CONTEXT page:
    https://learn.microsoft.com/en-us/windows/win32/api/bits/ne-bits-bg_error_context; for upload-reply jobs
    "the server application failed", IBackgroundCopyError::GetError page), with the HTTP status it answered.
    Which of those statuses are fatal is the server-application page's own split, not the download table
    (network.application_status_is_fatal; docs/reference/readings.md#server-application). The file is not
    transferred: the next connection sends nothing more and asks the application again — but after a 403
    (``refused_for_good``)."""
    res = flow.resource
    if res is None or res.application_status == 200:
        return None
    status = res.application_status
    return Failure(int(hresults.http_error(status)), ErrorContext.REMOTE_APPLICATION,
                   fatal=application_status_is_fatal(status), file=flow.file, protocol="http")


_FORBIDDEN: Final = int(hresults.http_error(403))


def refused_for_good(rec: JobRecord, f: FileRecord) -> Failure | None:
    """"A 403 error code is the only error code that prevents BITS from posting the upload file to the server
    application again" (https://learn.microsoft.com/en-us/windows/win32/bits/handling-server-application-errors).
    OUR CHOICE (docs/reference/readings.md#server-application): once the application answered 403 for the
    file, every later attempt (Resume, or a service restart and Resume) fails again at once with the same
    error — ERROR, BG_E_HTTP_ERROR_403, context REMOTE_APPLICATION, counted — without a request: nothing is
    sent and the application is not asked, whatever it would answer now. The job's error object, which stays
    until the job transfers again (GetError page) and is stored with the job, is what remembers it."""
    err = rec.error
    if (err is None or err.context is not ErrorContext.REMOTE_APPLICATION or err.code != _FORBIDDEN
            or err.file_index != f.index):
        return None
    return Failure(_FORBIDDEN, ErrorContext.REMOTE_APPLICATION, fatal=True, file=f, protocol="http")


def finish_upload(fs: LocalFileSystem, replies: dict[uuid.UUID, bytes], queue: JobQueue, rec: JobRecord,
                  flow: Flow) -> None:
    """The last fragment arrived: the server keeps the file; an upload-reply job receives the reply."""
    res = flow.resource
    if res is not None and flow.body is not None:
        res.received = flow.body  # (an SMB upload's share already has it: write_to_share)
    queue.update_file(rec, flow.file, completed=True)
    if rec.job_type is JobType.UPLOAD_REPLY and res is not None:  # (upload-reply names are never SMB: AddFile)
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
