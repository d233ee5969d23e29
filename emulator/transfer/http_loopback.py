"""Real HTTP(S) to servers on this machine's loopback interface (docs/design.md#transfers).

A URL whose host is ``127.0.0.1``, ``localhost`` or ``::1`` and that the fake network does not know is
fetched for real with the standard library: ``Range: bytes=N-`` to resume, redirects followed (up to 5) as
the job's redirect policy allows (SetSecurityFlags; docs/reference/readings.md#redirect-policy),
401/407 answered with the job's Basic credentials. Nothing else ever leaves the process: other hosts
are the fake network's, and an unregistered one does not resolve.

The body is read when the connection is made (loopback servers answer at once); the scheduler then
writes it into the temporary file like any other source.
"""

from __future__ import annotations

import base64
import http.client
import re
import ssl
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit

from .. import hresults
from ..constants import AuthScheme, AuthTarget, ErrorContext, SecurityFlags
from ..domain.records import JobRecord
from ..domain.wstr import wire
from .certificates import CertificateCheck
from .flow import Failure, Flow, http_failure
from .network import never_resumes, request_verb

if TYPE_CHECKING:
    from .localfs import LocalFileSystem

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_REDIRECTS = 5
TIMEOUT = 10.0
_IGNORE_CERT = (
    SecurityFlags.SSL_IGNORE_CERT_CN_INVALID
    | SecurityFlags.SSL_IGNORE_CERT_DATE_INVALID
    | SecurityFlags.SSL_IGNORE_UNKNOWN_CA
    | SecurityFlags.SSL_IGNORE_CERT_WRONG_USAGE
)


_POLICY_MASK = 0x0700  # BG_HTTP_REDIRECT_POLICY_MASK
_REPORT = int(SecurityFlags.REDIRECT_POLICY_ALLOW_REPORT)
_DISALLOW = int(SecurityFlags.REDIRECT_POLICY_DISALLOW)
_FOLLOWED = (301, 302, 303, 307, 308)  # what is followed when redirects are allowed
# HTTP_STATUS_AMBIGUOUS, _MOVED, _REDIRECT, _REDIRECT_METHOD, _REDIRECT_KEEP_VERB: the statuses whose
# HRESULT_FROM_WIN32 a redirect under DISALLOW gives (setsecurityflags page); 308 (HTTP_STATUS_PERMANENT_REDIRECT)
# is not listed — EMULATOR CHOICE: it is a redirect too, with HRESULT_FROM_WIN32(308).
_REDIRECT_NAMES = {300: "AMBIGUOUS", 301: "MOVED", 302: "REDIRECT", 303: "REDIRECT_METHOD",
                   307: "REDIRECT_KEEP_VERB", 308: "PERMANENT_REDIRECT"}

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_INVALID_HEADER = hresults.HResult(0x80072F79, "ERROR_WINHTTP_INVALID_HEADER", "The header is invalid.")
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in LOOPBACK_HOSTS


def _basic(rec: JobRecord, target: AuthTarget) -> str | None:
    for c in rec.credentials:
        if c.target == target and c.scheme == AuthScheme.BASIC and c.user_name is not None:
            raw = wire(f"{c.user_name}:{c.password or ''}")
            return "Basic " + base64.b64encode(raw).decode("ascii")
    return None


def _context(rec: JobRecord) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if rec.security_flags & _IGNORE_CERT:
        # SetSecurityFlags asked to ignore certificate problems (docs/reference/interfaces.md#enums).
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _request(
    rec: JobRecord,
    url: str,
    offset: int,
    *,
    byte_range: tuple[int, int] | None = None,
    check_certificate: CertificateCheck | None = None,
) -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, final url) after redirects and one round of Basic authentication.
    ``byte_range`` (first, last) asks for those bytes only (ranged and on-demand files, ranges.py).
    ``check_certificate``: the job's server-certificate callback (T25), offered the DER certificate of each
    HTTPS connection once the handshake has passed the certificate checks, before the request is sent."""
    verb = request_verb(rec)  # SetHttpMethod's verb is what goes on the wire (sethttpmethod page)
    headers: dict[str, str | bytes] = {"User-Agent": "Microsoft BITS/7.8"}
    if byte_range is not None:
        headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    elif offset:
        headers["Range"] = f"bytes={offset}-"
    if rec.custom_headers:
        for line in rec.custom_headers.splitlines():
            name, _, value = line.partition(":")
            if not name.strip():
                continue
            if not _TOKEN.fullmatch(name.strip()):
                # WinHttpAddRequestHeaders refuses a header whose name is not an HTTP token (our reading:
                # the job fails with ERROR_WINHTTP_INVALID_HEADER, fatal, as a request that cannot be made).
                raise _Failure(_INVALID_HEADER, ErrorContext.GENERAL_TRANSPORT, fatal=True)
            headers[name.strip()] = wire(value.strip())  # non-Latin-1 text and lone surrogates as UTF-8
    for _ in range(MAX_REDIRECTS + 1):
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - a redirect to a malformed URL fails the job here, not the caller
        except ValueError:
            raise _Failure(
                hresults.ERROR_WINHTTP_INVALID_SERVER_RESPONSE, ErrorContext.REMOTE_FILE, fatal=True
            ) from None
        if (parts.hostname or "").lower() not in LOOPBACK_HOSTS:
            raise _Failure(hresults.ERROR_WINHTTP_NAME_NOT_RESOLVED, ErrorContext.GENERAL_TRANSPORT, fatal=False)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=TIMEOUT, context=_context(rec))
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # BITS does no escape processing; what is not ASCII goes out percent-encoded UTF-8 (our choice).
        path = quote(path, safe=_PRINTABLE, encoding="utf-8", errors="surrogatepass")
        try:
            if check_certificate is not None and isinstance(conn, http.client.HTTPSConnection):
                conn.connect()  # the handshake (and its certificate checks, _context) happens here
                der = conn.sock.getpeercert(binary_form=True) if isinstance(conn.sock, ssl.SSLSocket) else None
                rejected = check_certificate(f"{(parts.hostname or '').lower()}:{parts.port or 443}", der or b"")
                if rejected is not None:
                    code = hresults.lookup(rejected.code) or hresults.HResult(
                        rejected.code, f"0x{rejected.code:08X}", "The server-certificate callback declined."
                    )
                    raise _Failure(code, rejected.context, fatal=rejected.fatal)
            for attempt in range(2):
                conn.request(verb, path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
                if attempt == 0 and status in (401, 407):
                    auth = _basic(rec, AuthTarget.SERVER if status == 401 else AuthTarget.PROXY)
                    if auth is not None:
                        headers["Proxy-Authorization" if status == 407 else "Authorization"] = auth
                        continue
                break
        except ssl.SSLError:
            raise _Failure(hresults.ERROR_WINHTTP_SECURE_FAILURE, ErrorContext.GENERAL_TRANSPORT, fatal=True) from None
        except ConnectionRefusedError:
            raise _Failure(hresults.ERROR_WINHTTP_CANNOT_CONNECT, ErrorContext.GENERAL_TRANSPORT, fatal=False) from None
        except TimeoutError:
            raise _Failure(hresults.ERROR_WINHTTP_TIMEOUT, ErrorContext.GENERAL_TRANSPORT, fatal=False) from None
        except (OSError, http.client.HTTPException):
            raise _Failure(
                hresults.ERROR_WINHTTP_CONNECTION_ERROR, ErrorContext.GENERAL_TRANSPORT, fatal=False
            ) from None
        finally:
            conn.close()
        disallow = rec.security_flags & _POLICY_MASK == _DISALLOW
        if (status in _FOLLOWED or (disallow and status in _REDIRECT_NAMES)) and resp.getheader("Location"):
            try:
                url = urljoin(url, resp.getheader("Location") or "")
            except ValueError:  # a malformed Location fails the job, not the caller
                raise _Failure(
                    hresults.ERROR_WINHTTP_INVALID_SERVER_RESPONSE, ErrorContext.REMOTE_FILE, fatal=True
                ) from None
            if disallow:
                # BG_HTTP_REDIRECT_POLICY_DISALLOW: "the job is placed in the fatal error state" with
                # HRESULT_FROM_WIN32 of the status, and "BITS updates the remote name with the redirected
                # URL" (setsecurityflags page).
                code = hresults.HResult(
                    hresults.hresult_from_win32(status),
                    f"HRESULT_FROM_WIN32(HTTP_STATUS_{_REDIRECT_NAMES[status]})",
                    f"The server redirected the request ({status}) and the job's redirect policy disallows it.",
                )
                raise _Failure(code, ErrorContext.REMOTE_FILE, fatal=True, redirected_to=url)
            continue
        return status, {k.lower(): v for k, v in resp.getheaders()}, body, url
    raise _Failure(hresults.ERROR_WINHTTP_INVALID_SERVER_RESPONSE, ErrorContext.REMOTE_FILE, fatal=True)


class _Failure(Exception):
    def __init__(
        self, code: hresults.HResult, context: ErrorContext, *, fatal: bool, redirected_to: str | None = None
    ) -> None:
        super().__init__(code.name)
        self.code, self.context, self.fatal = code, context, fatal
        self.redirected_to = redirected_to  # the URL a disallowed redirect pointed to


def connect(rec: JobRecord, flow: Flow) -> Failure | None:
    """Fetch the file's body from a loopback server; fills ``flow`` or returns the failure."""
    f = flow.file
    from . import ranges

    if ranges.is_mapped(rec, f):
        return ranges.connect_loopback(rec, flow)  # one Range request per span of the plan
    # A custom HTTP method (T24) or DYNAMIC_CONTENT restarts from the beginning: no Range request.
    offset = 0 if never_resumes(rec) else f.bytes_transferred
    try:
        status, headers, body, final = _request(rec, f.remote_name, offset, check_certificate=flow.check_certificate)
    except _Failure as failure:
        flow.redirected_to = failure.redirected_to
        return Failure(int(failure.code), failure.context, fatal=failure.fatal, file=f, protocol="http")
    report_redirect(rec, flow, final)
    if not 200 <= status < 300:
        return http_failure(status, f)
    if status == 206 and "content-range" in headers:
        try:
            start = int(headers["content-range"].split()[1].split("-")[0])
            total = int(headers["content-range"].rsplit("/", 1)[1])
        except (IndexError, ValueError):  # "bytes 0-9/*" or garbage: a response BITS cannot use
            return Failure(int(hresults.BG_E_INVALID_SERVER_RESPONSE), ErrorContext.REMOTE_FILE, fatal=True, file=f)
    else:
        start, total = 0, len(body)
        flow.ranges_ok = offset == 0  # a 200 to a range request: the server cannot resume
        flow.size_known = "content-length" in headers  # none: dynamic content (connectors.size_failure)
    flow.body, flow.body_offset, flow.total = body, start, total
    flow.mtime = last_modified(headers)
    flow.headers = response_headers(status, headers)
    return None


def report_redirect(rec: JobRecord, flow: Flow, final: str) -> None:
    """BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT: "BITS updates the remote name with the final URL"; the default
    ALLOW_SILENT follows without changing it (setsecurityflags page). The scheduler writes the name."""
    if final != flow.file.remote_name and rec.security_flags & _POLICY_MASK == _REPORT:
        flow.redirected_to = final


def last_modified(headers: dict[str, str]) -> float:
    """The server's ``Last-Modified`` time stamp (0 when absent or unreadable): the file-consistency check
    compares it between connections."""
    if "last-modified" not in headers:
        return 0.0
    try:
        return parsedate_to_datetime(headers["last-modified"]).timestamp()
    except (TypeError, ValueError):
        return 0.0


def response_headers(status: int, headers: dict[str, str]) -> str:
    """The response's status line and headers as IBackgroundCopyFile5 returns them."""
    return "\r\n".join([f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]) + "\r\n"


def copy(fs: LocalFileSystem, flow: Flow, start: int, end: int) -> None:
    assert flow.body is not None
    fs.write(flow.tmp, start, flow.body[start - flow.body_offset : end - flow.body_offset])
