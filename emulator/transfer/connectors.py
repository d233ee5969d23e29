"""Connectors: how a job's file reaches its source, and how its bytes are copied once connected.

One function per source kind — the fake network (``network.py``), a loopback HTTP(S) server
(``http_loopback.py``), a local or UNC file through the sandbox (``localfs.py``), an upload endpoint
(``upload.py``) — behind one entry point, ``connect``. A connector fills the ``Flow`` (size, rate, time
stamp, headers, the ranged layout) or *returns* a ``Failure``; it never changes a job's state: only the
scheduler does, with what the connector returned. ``copy`` writes delivered bytes into the temporary
file from whichever source the flow holds.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from .. import hresults
from ..clock import exact, to_ns
from ..constants import ErrorContext, JobPropertyId, JobType, ProxyUsage
from ..domain.acting import acl_copy_denied
from ..domain.names import RemoteKind, is_unc, remote_kind
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from . import http_loopback, ranges, upload
from .flow import Failure, Flow, http_failure
from .localfs import LocalFileSystem, os_error_hresult
from .network import FakeNetwork, Number, never_resumes, resumes

INSTANT_CHUNK = 1 << 20  # bytes per write when a source has no rate limit


# (members as globals: read at each connection; see domain/states.QUEUED for why)
_HTTP: Final = RemoteKind.HTTP
_SMB: Final = RemoteKind.SMB
_DOWNLOAD: Final = JobType.DOWNLOAD
_OVERRIDE: Final = ProxyUsage.OVERRIDE


def open_flow(net: FakeNetwork, rec: JobRecord, f: FileRecord, t: int) -> Flow:
    """The next file's connection attempt, ready after the source's latency (ns from ``t``)."""
    latency: Number = net.latency
    try:
        kind = remote_kind(f.remote_name, rec.job_type)
    except BitsError:
        kind = _HTTP
    if kind is _HTTP:
        if net.host_known(f.remote_name):
            res = net.resource(f.remote_name)
            latency = res.latency if res is not None else net.latency
        else:
            # Loopback servers answer at once; any other unknown name takes resolve_delay to fail.
            latency = 0.0 if http_loopback.is_loopback(f.remote_name) else net.resolve_delay
    return Flow(f, ready_at=t + _latency_ns(latency))


@lru_cache(maxsize=64, typed=True)
def _latency_ns(latency: Number) -> int:
    """A latency in exact nanoseconds. Every connection converts one of a few values (the network's
    default, each resource's), and exact() goes through the float's decimal text: kept, not redone.
    ``typed``: 1, 1.0 and Fraction(1) are kept apart, so each is converted by its own rule."""
    return to_ns(exact(latency))


def connect(net: FakeNetwork, fs: LocalFileSystem, rec: JobRecord, flow: Flow, t: int) -> Failure | None:
    """Connect ``flow`` to its source at ``t``; every remote request is recorded on the network
    (``svc.network.requests``, ``svc.history``, the ``emulator.network`` log)."""
    f = flow.file
    try:
        kind = remote_kind(f.remote_name, rec.job_type)
    except BitsError as exc:
        return Failure(exc.hresult, ErrorContext.REMOTE_FILE, fatal=True, file=f)
    failure: Failure | None
    if rec.proxy_usage is _OVERRIDE and kind is not _SMB and not proxy_info_valid(
        rec.proxy_list, rec.proxy_bypass_list
    ):
        # SetProxySettings page: "The proxy information you provide is validated at run time. If the proxy
        # information is invalid, the job enters the BG_JOB_STATE_ERROR state with a BG_E_INVALID_PROXY_INFO
        # error code." No request is made; EMULATOR CHOICE: context GENERAL_TRANSPORT, with the file
        # (docs/reference/readings.md#proxy-validation).
        return Failure(int(hresults.BG_E_INVALID_PROXY_INFO), ErrorContext.GENERAL_TRANSPORT, fatal=True, file=f,
                       protocol="http")
    if rec.job_type is not _DOWNLOAD:
        if kind is _SMB:
            return upload.connect_smb_upload(fs, flow)  # a share, no HTTP request to record
        failure = upload.connect_upload(net, fs, rec, flow)
    elif kind is _SMB:
        return connect_local(fs, flow)
    elif not net.host_known(f.remote_name) and http_loopback.is_loopback(f.remote_name):
        failure = http_loopback.connect(rec, flow)
    else:
        failure = connect_http(net, rec, flow)
    if f.renamed:
        # SetRemoteName / ReplaceRemotePrefix: the new server's time stamp, size and checkpoint resume decide
        # whether the file goes on or starts again (setremotename page), no range is asked first.
        f.renamed = False
    elif failure is None and f.bytes_transferred and rec.job_type is _DOWNLOAD:
        failure = resume_failure(rec, flow)
    net.observe_request(rec, flow, t, failure)
    return failure


def resume_failure(rec: JobRecord, flow: Flow) -> Failure | None:
    """An interrupted download (Suspend, a lost network, a logoff, a retry) asks for the rest of its file: BITS
    "will send a range request to try to restart the transfer from where it left off", and from a server that
    cannot honour it "the job will fail"
    (https://learn.microsoft.com/en-us/windows/win32/bits/best-practices-when-using-bits): ERROR,
    BG_E_INSUFFICIENT_RANGE_SUPPORT, context REMOTE_FILE (docs/reference/readings.md#no-range-restart). Not when
    the job never resumes (DYNAMIC_CONTENT, a custom HTTP method: the whole file again), nor when the server's
    copy changed (time stamp or size: the file starts again from byte 0, docs/reference/states.md#files)."""
    f = flow.file
    if resumes(rec, flow) or never_resumes(rec) or f.remote_mtime != flow.mtime:
        return None
    if f.bytes_total is not None and f.bytes_total != flow.total:
        return None
    return Failure(int(hresults.BG_E_INSUFFICIENT_RANGE_SUPPORT), ErrorContext.REMOTE_FILE, fatal=True, file=f,
                   protocol="http")


# One proxy of the list: "[<protocol>=][<protocol>://]<server>[:<port>]", protocols HTTP and HTTPS
# (setproxysettings page); the server a host name, an IPv4 address or a bracketed IPv6 address.
_PROXY = re.compile(
    r"(?:(?P<sel>[A-Za-z]+)=)?(?:(?P<scheme>[A-Za-z]+)://)?"
    r"(?P<host>[A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?",
    re.ASCII,
)
# One bypass entry: "<local>", or a host name / address whose only wildcards are its left-most
# characters ("*.microsoft.com", "*.org"; "aaa.*" is not supported: setproxysettings page).
_BYPASS = re.compile(r"<local>|\**[A-Za-z0-9_.:\[\]-]+|\*", re.ASCII | re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s;]+")
_PROTOCOLS = frozenset({"http", "https"})


@lru_cache(maxsize=64)
def proxy_info_valid(proxy_list: str | None, bypass_list: str | None) -> bool:
    """Whether BG_JOB_PROXY_USAGE_OVERRIDE lists that SetProxySettings accepted can be used.

    SetProxySettings itself only checks the usage, that OVERRIDE has a list and the lengths; the rest is
    "validated at run time" (setproxysettings page). EMULATOR CHOICE (docs/reference/readings.md#proxy-validation):
    entries are separated by white space or ";" (WinHTTP's separators); a list with no proxy, a protocol
    other than HTTP/HTTPS, a port that is not 1-65535 or a malformed server name is invalid, and so is a
    bypass entry with a wildcard that is not left-most or a character no host name has."""
    proxies = [p for p in _SEPARATORS.split(proxy_list or "") if p]
    if not proxies:
        return False
    for entry in proxies:
        m = _PROXY.fullmatch(entry)
        if m is None:
            return False
        for proto in (m["sel"], m["scheme"]):
            if proto is not None and proto.lower() not in _PROTOCOLS:
                return False
        if m["port"] is not None and not 0 < int(m["port"]) <= 0xFFFF:
            return False
    return all(_BYPASS.fullmatch(b) for b in _SEPARATORS.split(bypass_list or "") if b)


def connect_local(fs: LocalFileSystem, flow: Flow) -> Failure | None:
    """A ``file://``, UNC or drive-path source, read through the sandbox."""
    f = flow.file
    try:
        source = fs.source_path(f.remote_name)
        if not source.is_file():
            # An SMB source: a missing directory is ERROR_PATH_NOT_FOUND, a missing file in an existing one
            # ERROR_FILE_NOT_FOUND (the SMB error table of
            # https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyfile2-setremotename).
            code = hresults.ERROR_FILE_NOT_FOUND if source.parent.is_dir() else hresults.ERROR_PATH_NOT_FOUND
            return Failure(int(code), ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="file")
        stat = source.stat()
    except BitsError as exc:
        return Failure(exc.hresult, ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="file")
    except OSError as exc:
        return Failure(os_error_hresult(exc), ErrorContext.REMOTE_FILE, fatal=True, file=f, protocol="file")
    flow.local_source = source
    flow.total = stat.st_size
    flow.mtime = stat.st_mtime
    return None


def connect_http(net: FakeNetwork, rec: JobRecord, flow: Flow) -> Failure | None:
    """A URL on the fake network: name resolution, transient failures, TLS, authentication, status."""
    f = flow.file
    if not net.host_known(f.remote_name):
        # A name nobody registered does not resolve: WinHTTP's error, transient.
        return Failure(int(hresults.ERROR_WINHTTP_NAME_NOT_RESOLVED), ErrorContext.GENERAL_TRANSPORT, file=f,
                       protocol="http")
    res = net.resource(f.remote_name)
    if res is not None and res.certificate_errors and net.certificate_refused(res, rec):
        # The operating system's checks refuse the server certificate (SetSecurityFlags ignores none of its
        # problems): no request, no callback; fatal, as a loopback server's refused certificate.
        return Failure(int(hresults.ERROR_WINHTTP_SECURE_FAILURE), ErrorContext.GENERAL_TRANSPORT, fatal=True,
                       file=f, protocol="http")
    if flow.check_certificate is not None:
        # T25: the TLS handshake's server certificate goes to the job's callback before any request.
        failure = net.server_certificate_failure(flow)
        if failure is not None:
            return failure
    if res is None:
        return Failure(int(hresults.http_error(404)), ErrorContext.REMOTE_FILE, fatal=True, file=f,
                       protocol="http")
    res.requests += 1
    status = res.status
    if res.transient_failures > 0:
        res.transient_failures -= 1
        status = res.failure_status
    if 200 <= status < 300:
        tls = net.client_certificate_error(res, rec)
        if tls is not None:
            return Failure(int(tls), ErrorContext.GENERAL_TRANSPORT, fatal=True, file=f, protocol="http")
        status = net.authenticate(res, rec, f.remote_name)
    if not 200 <= status < 300:
        return http_failure(status, f)
    flow.resource = res
    flow.total = res.size
    flow.rate = exact(res.rate) if res.rate is not None else None
    if res.change_content_after is not None:
        flow.change_at = res.change_content_after
    flow.mtime = res.last_modified
    flow.headers = res.response_headers()
    return ranges.prepare(rec, flow, res.size, res.ranges)  # a ranged / on-demand file's layout


def copy(fs: LocalFileSystem, flow: Flow, start: int, end: int) -> None:
    """Bytes ``start``..``end`` of the flow's source into its temporary file."""
    if flow.upload:
        return  # the endpoint keeps the whole file when the last fragment arrives (finish_upload)
    if flow.layout is not None:
        ranges.copy(fs, flow, start, end)
        return
    if flow.local_source is not None:
        if start == 0 and end == flow.total:
            fs.copy_into(flow.local_source, flow.tmp)
        else:
            with open(flow.local_source, "rb") as src:
                src.seek(start)
                fs.write(flow.tmp, start, src.read(end - start))
        return
    if flow.resource is not None and flow.body is None:
        res = flow.resource
        pos = start
        while pos < end:
            n = min(INSTANT_CHUNK, end - pos)
            fs.write(flow.tmp, pos, res.read(pos, n))
            pos += n
        return
    http_loopback.copy(fs, flow, start, end)


_MAX_DOWNLOAD_SIZE: Final = int(JobPropertyId.MAX_DOWNLOAD_SIZE)


def size_failure(rec: JobRecord, flow: Flow) -> Failure | None:
    """A connected download the job's size rules refuse, checked once the answer's headers are in.

    No size (no Content-Length): dynamic content, which BITS downloads only for a job with DYNAMIC_CONTENT
    (https://learn.microsoft.com/en-us/windows/win32/bits/http-requirements-for-bits-downloads,
    https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id):
    BG_E_MISSING_FILE_SIZE, whose text names the missing Content-Length header. MAX_DOWNLOAD_SIZE caps "the
    maximum number of bytes a BITS job will be allowed to download in total": a file whose size takes the
    job's known sizes past it fails before its first byte; a file of unknown size (DYNAMIC_CONTENT) runs
    until the cap and fails there (scheduler._file_boundary) — BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED.
    OUR CHOICE (docs/reference/readings.md#job5-size-checks): both fatal, as a retry gets the same answer;
    the limit is the job's, so its context is GENERAL_QUEUE_MANAGER, like MaximumDownloadTime's."""
    if flow.upload:
        return None
    f = flow.file
    known = flow.resource.content_length if flow.resource is not None else flow.size_known
    if not known and not ranges.is_dynamic(rec):
        return Failure(int(hresults.BG_E_MISSING_FILE_SIZE), ErrorContext.REMOTE_FILE, fatal=True, file=f,
                       protocol="http")
    limit = rec.properties.get(_MAX_DOWNLOAD_SIZE)
    if limit:  # 0: no cap (docs/reference/readings.md#job5-defaults)
        room = limit - sum(g.bytes_total for g in rec.files if g is not f and g.bytes_total is not None)
        if flow.total > room:
            if known:
                return limit_failure(f)
            flow.limit_at = max(0, room)
    return None


def limit_failure(f: FileRecord) -> Failure:
    return Failure(int(hresults.BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED), ErrorContext.GENERAL_QUEUE_MANAGER,
                   fatal=True, file=f)


def acl_failure(rec: JobRecord, flow: Flow) -> Failure | None:
    """A file from an SMB source whose bytes are all in, when the job's file-ACL flags need a privilege its
    identity lacks (domain/acting.acl_copy_denied): a transient E_ACCESSDENIED, checked when the file's
    transfer completes, as BITS applies the owner and ACL information then, and only for SMB (the flags are
    ignored for HTTP: SetFileACLFlags page). OUR CHOICE (docs/reference/readings.md#acl-flags): context
    LOCAL_FILE, or REMOTE_FILE when the lack is on the remote side of a UNC source; the file's bytes stay in
    its temporary file and the copy is tried again at the retry."""
    if flow.local_source is None or flow.upload:
        return None
    f = flow.file
    side = acl_copy_denied(rec, is_unc(f.remote_name))
    if side is None:
        return None
    context = ErrorContext.REMOTE_FILE if side == "remote" else ErrorContext.LOCAL_FILE
    return Failure(int(hresults.E_ACCESSDENIED), context, file=f, protocol="file")
