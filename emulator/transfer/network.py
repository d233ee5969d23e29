"""The fake network: URLs a test registers, with content, rate, status, headers and faults (docs/design.md#transfers).

    svc.network.register("http://server/a.bin", content=b"...", rate=1000)
    svc.network.register("http://server/big", size=10 * 2**20, generator=lambda off, n: bytes(n))
    svc.network.disconnect(); svc.network.reconnect()
    svc.network.cost_state = CostState.ROAMING   # jobs whose COST_FLAGS exclude it wait (docs/transfers.md#cost)

A host nobody registered does not resolve (ERROR_WINHTTP_NAME_NOT_RESOLVED, transient, after
``resolve_delay`` seconds of CONNECTING). A registered host with an unregistered path answers 404.

Every connection a job makes is recorded (``svc.network.requests``, bounded like ``svc.history``) and
published as a ``RequestMade`` event; ``assert_all_requested()`` fails listing the URLs never asked for.
With ``strict`` on (the pytest plugin's default) a request to a host nobody registered is a mistake of
the test: the job still gets the transient DNS error Windows would give (so the simulation stays what
it would be), and the request is kept in ``unregistered`` and reported at the end of the test by the
plugin, or by ``check()`` / leaving ``with BitsService()`` — never raised from inside the unrelated API
call whose catch-up made the request. Loopback hosts are fetched for real and never count.

HTTP statuses map to BG_E_HTTP_ERROR_<status> (0x80190000 + status, docs/reference/return-codes.md#http).
The docs do not say which statuses are fatal; OUR CHOICE (docs/reference/readings.md#http-statuses):
408, 429 and every 5xx except 501 and 505 are transient (the 503/504 texts say "resume later"); every
other non-2xx status is fatal. The server application that processes an upload has its own documented split
(``application_status_is_fatal``; docs/reference/readings.md#server-application).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import formatdate
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Final, TypeAlias
from urllib.parse import unquote, urlsplit

from .. import hresults
from ..clock import LAST_NS, NS, exact
from ..constants import (
    NETWORK_COST_STATES,
    AuthScheme,
    AuthTarget,
    CostState,
    JobPropertyId,
    JobType,
    SecurityFlags,
    TokenFlags,
)
from ..domain.acting import network_credentials_sid
from ..events import EventBus, NetworkChanged, NetworkCostChanged, RequestMade
from ..history import Request
from ..hresults import HResult
from ..identity import sids
from .certificates import default_certificate, endpoint, is_https

if TYPE_CHECKING:
    from ..domain.records import JobRecord
    from .flow import Failure, Flow

Generator = Callable[[int, int], bytes]
# A number a test gives for a rate, a latency or a time stamp: kept as given where it is kept, used exactly.
Number: TypeAlias = float | int | Fraction | Decimal

REQUEST_LIMIT = 10_000  # requests kept in svc.network.requests (oldest dropped first)
UNREGISTERED_LIMIT = 100  # distinct unregistered URLs kept for the strict-mode report
_HTTP_ERROR_BASE = 0x80190000  # BG_E_HTTP_ERROR_<status> = 0x80190000 + status
_DOWNLOAD = JobType.DOWNLOAD
_DYNAMIC_CONTENT: Final = int(JobPropertyId.DYNAMIC_CONTENT)


class UnregisteredURLError(AssertionError):
    """Strict mode: jobs requested URLs whose host is not on the fake network (a typo, a missing
    ``register``). Its message lists them and every registered URL."""


TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 506, 507, 508, 509, 510, 511})


def status_is_fatal(status: int) -> bool:
    """Our written-down split (docs/transfers.md): transient = 408, 429 and 5xx except 501/505."""
    if 200 <= status < 300:
        return False
    if status in TRANSIENT_STATUSES:
        return False
    return not (500 <= status < 600 and status not in (501, 505))


def application_status_is_fatal(status: int) -> bool:
    """The split of the server application's statuses, as the page that governs them words it
    (https://learn.microsoft.com/en-us/windows/win32/bits/handling-server-application-errors): "All 3xx error
    codes are transient errors except 300 - 305 and 307, which are fatal errors. All 4xx error codes are fatal
    errors except for 408 and 409, which are transient errors. All 5xx error codes are transient errors except
    501 and 505, which are fatal errors. All other HTTP codes are considered transient errors." Only 200 is a
    success there ("If the application does not return 200, the BITS client uses the error code"), so a 1xx or
    another 2xx is one of the "other" codes: transient (docs/reference/readings.md#server-application)."""
    if 300 <= status < 400:
        return status <= 305 or status == 307
    if 400 <= status < 500:
        return status not in (408, 409)
    if 500 <= status < 600:
        return status in (501, 505)
    return False


# Every connection looks its URL up (host_known, resource) several times: the key and the host are pure
# functions of the string, so the last URLS of each are kept instead of splitting the URL at every look.
URLS = 1024


@lru_cache(maxsize=URLS)
def _key(url: str) -> str:
    """The resource a URL names. A user name and password embedded in it ("It's possible to embed the user name
    and password in the URL", https://learn.microsoft.com/en-us/windows/win32/bits/authentication) are
    credentials, not part of the resource: ``http://u:pw@host/f`` is ``http://host/f``
    (docs/reference/readings.md#url-credentials)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme.lower()}://{host.lower()}{path}{query}"


@lru_cache(maxsize=URLS)
def url_credentials(url: str) -> tuple[str, str] | None:
    """The user name and password embedded in a URL, percent-decoded (RFC 3986 userinfo), or None. A user
    name without a password has the empty password."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


@lru_cache(maxsize=URLS)
def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# A certificate problem the operating system's checks find, and the SetSecurityFlags bit that ignores it.
CERTIFICATE_ERRORS: Final[dict[str, int]] = {
    "cn_invalid": int(SecurityFlags.SSL_IGNORE_CERT_CN_INVALID),
    "date_invalid": int(SecurityFlags.SSL_IGNORE_CERT_DATE_INVALID),
    "unknown_ca": int(SecurityFlags.SSL_IGNORE_UNKNOWN_CA),
    "wrong_usage": int(SecurityFlags.SSL_IGNORE_CERT_WRONG_USAGE),
}


# Argument checks -----------------------------------------------------------------------------------------------
# A value of the wrong type or out of range is refused where the test gives it (register, or an assignment to
# the Resource) with TypeError / ValueError naming the field: the engine reads these values much later, from
# inside svc.advance() or an unrelated API call's catch-up, where the same mistake would surface as an
# exception about slices or comparisons (README "Errors"; docs/transfers.md#argument-checks).

FIRST_SECOND: Final = -62_135_596_800  # 0001-01-01T00:00:00Z: the Last-Modified header is a datetime's text
LAST_SECOND: Final = LAST_NS // NS  # 9999-12-31T23:59:59Z


def _type_name(value: object) -> str:
    return type(value).__name__


def _flag(name: str) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, bool):  # "no" or 0 would be read as a truth value, silently
            raise TypeError(f"{name} must be a bool, not {_type_name(value)}")
        return value

    return check


def _count(name: str, *, optional: bool = False) -> Callable[[object], int | None]:
    """A number of bytes or of connections: the engine slices and counts with it, so an int (not a bool)."""

    def check(value: object) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int{' or None' if optional else ''}, not {_type_name(value)}")
        if value < 0:
            raise ValueError(f"{name} must be 0 or more, not {value}")
        return int(value)

    return check


def _http_status(name: str) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int HTTP status, not {_type_name(value)}")
        # BG_E_HTTP_ERROR_<status> exists for 100..599 only (hresults.http_error)
        if not 100 <= value <= 599:
            raise ValueError(f"{name} must be an HTTP status in 100..599, not {value}")
        return int(value)

    return check


def _bytes(name: str) -> Callable[[object], bytes | None]:
    def check(value: object) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, (bytes, bytearray, memoryview)):  # bytes(5) would be five zero bytes
            raise TypeError(f"{name} must be bytes or None, not {_type_name(value)}")
        return bytes(value)

    return check


def _seconds(name: str, value: object) -> Fraction:
    """A number the engine turns into exact time or bytes per second with clock.exact: int, float,
    Fraction or Decimal (not a bool, not a str that Fraction would parse), finite."""
    if isinstance(value, (bool, str)) or not isinstance(value, (int, float, Fraction, Decimal)):
        raise TypeError(f"{name} must be a number (int, float, Fraction or Decimal), not {_type_name(value)}")
    try:
        return Fraction(value) if isinstance(value, Decimal) else exact(value)
    except (ValueError, OverflowError):  # NaN and the infinities
        raise ValueError(f"{name} must be a finite number, not {value}") from None


def _rate(value: object) -> object:
    if value is None:
        return None
    if _seconds("rate", value) <= 0:
        raise ValueError("rate must be positive bytes per second, or None for instant")
    return value  # kept as given (the connector converts it exactly at each connection)


def _latency(value: object) -> object:
    if _seconds("latency", value) < 0:
        raise ValueError(f"latency must be 0 or more seconds, not {value}")
    return value


def _last_modified(value: object) -> float:
    stamp = _seconds("last_modified", value)
    if not FIRST_SECOND <= stamp <= LAST_SECOND:
        raise ValueError(f"last_modified must be a time stamp of the years 1..9999, not {value}")
    return float(stamp)


def _generator(value: object) -> object:
    if value is not None and not callable(value):
        raise TypeError(f"generator must be a callable (offset, length) -> bytes, not {_type_name(value)}")
    return value


def _text_pairs(name: str, *, header: bool = False) -> Callable[[object], dict[str, str]]:
    def check(value: object) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict of str to str, not {_type_name(value)}")
        pairs = dict(value)
        for k, v in pairs.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"{name} must map str to str, not {_type_name(k)} to {_type_name(v)}")
            # A line break would end the header line and start another in the response headers.
            if header and any(c in k + v for c in "\r\n"):
                raise ValueError(f"{name} {k!r}: a header name or value may not hold a line break")
        return pairs

    return check


def _names(name: str) -> Callable[[object], frozenset[str]]:
    def check(value: object) -> frozenset[str]:
        if value is None:
            return frozenset()
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):  # a str is a set of letters
            raise TypeError(f"{name} must be a collection of str, not {_type_name(value)}")
        names = frozenset(value)
        for item in names:
            if not isinstance(item, str):
                raise TypeError(f"{name} must hold str, not {_type_name(item)}")
        return names

    return check


def _auth(value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"auth must be a str or None, not {_type_name(value)}")
    if value is not None and value not in ("basic", "ntlm", "negotiate"):
        raise ValueError("auth must be None, 'basic', 'ntlm' or 'negotiate'")
    return value


def _certificate_errors(value: object) -> frozenset[str]:
    errors = _names("certificate_errors")(value)
    unknown = errors - CERTIFICATE_ERRORS.keys()
    if unknown:
        raise ValueError(f"unknown certificate errors {sorted(unknown)}; known: {sorted(CERTIFICATE_ERRORS)}")
    return errors


# The Resource attributes a test may give or change, each with its check (which returns the value to keep).
# The counters the engine keeps (requests, changes, served, received) are not checked.
_CHECKS: Final[dict[str, Callable[[object], object]]] = {
    "content": _bytes("content"),
    "size": _count("size"),
    "generator": _generator,
    "rate": _rate,
    "status": _http_status("status"),
    "headers": _text_pairs("headers", header=True),
    "ranges": _flag("ranges"),
    "transient_failures": _count("transient_failures"),
    "failure_status": _http_status("failure_status"),
    "change_content_after": _count("change_content_after", optional=True),
    "changed_content": _bytes("changed_content"),
    "last_modified": _last_modified,
    "latency": _latency,
    "content_length": _flag("content_length"),
    "auth": _auth,
    "users": _text_pairs("users"),
    "authorized_sids": _names("authorized_sids"),
    "client_certificate": _flag("client_certificate"),
    "certificate": _bytes("certificate"),
    "certificate_errors": _certificate_errors,
    "upload": _flag("upload"),
    "reply": _bytes("reply"),
    "application_status": _http_status("application_status"),
}


@dataclass(eq=False)
class Resource:
    """One registered URL. Mutable: a test may change it between calls (e.g. ``resource.status = 200``); each
    value is checked as ``register`` checks it, when it is given (``_CHECKS``)."""

    url: str
    content: bytes | None
    size: int
    generator: Generator | None
    rate: Number | None  # bytes per second, kept as given (clock.exact converts it exactly)
    status: int
    headers: dict[str, str]
    ranges: bool
    transient_failures: int
    failure_status: int
    change_content_after: int | None
    changed_content: bytes | None
    last_modified: float
    latency: Number  # seconds, kept as given
    content_length: bool
    auth: str | None = None  # "basic", "ntlm" or "negotiate": the server challenges (401)
    users: dict[str, str] = field(default_factory=dict)  # explicit credentials it accepts
    authorized_sids: frozenset[str] = frozenset()  # identities implicit (NTLM/Negotiate) credentials may carry
    client_certificate: bool = False  # the HTTPS server asks for a client certificate
    # The DER certificate an https:// URL's server presents (None for http://); a test may replace it.
    certificate: bytes | None = None
    # What is wrong with that certificate for the operating system's checks (CERTIFICATE_ERRORS names); a
    # test may replace it.
    certificate_errors: frozenset[str] = frozenset()
    upload: bool = False  # a BITS upload endpoint (docs/reference/states.md#upload)
    reply: bytes | None = None  # what the server application answers an upload-reply job
    # The HTTP status of the server application that processes a finished upload; a failure gives the job
    # context REMOTE_APPLICATION (IBackgroundCopyError::GetError page; docs/transfers.md).
    application_status: int = 200
    received: bytes | None = None  # the last file uploaded to it
    requests: int = 0
    changes: int = 0
    served: list[tuple[int, int]] = field(default_factory=list)

    def __setattr__(self, name: str, value: object) -> None:
        check = _CHECKS.get(name)
        object.__setattr__(self, name, value if check is None else check(value))

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        if self.content is not None:
            return self.content[offset : offset + length]
        assert self.generator is not None
        data = self.generator(offset, length)
        if len(data) != length:
            raise ValueError(f"the generator of {self.url} returned {len(data)} bytes, not {length}")
        return data

    def apply_change(self, at: float) -> None:
        """The content changes on the server: new bytes (or the old bytes) and a new time stamp."""
        self.change_content_after = None
        self.changes += 1
        if self.changed_content is not None:
            self.content = self.changed_content
            self.size = len(self.changed_content)
            self.generator = None
        # (never past the last second a Last-Modified header can show: the clock stops there too)
        self.last_modified = min(max(at, self.last_modified + 1.0), LAST_SECOND)

    def response_headers(self) -> str:
        args = (self.status, self.size if self.content_length else None, self.last_modified, self.ranges,
                tuple(self.headers.items()))
        try:
            return _response_headers(*args)
        except TypeError:  # a header value a test gave that cannot be hashed: formatted, not kept
            return _response_headers.__wrapped__(*args)


@lru_cache(maxsize=256, typed=True)
def _response_headers(
    status: int, size: int | None, last_modified: float, ranges: bool, headers: tuple[tuple[str, str], ...]
) -> str:
    """The response header text of a resource in this state. Every connection asks for it and a resource's
    state rarely changes (a test may change any of it: it is all in the key), so the text is kept."""
    lines = [f"HTTP/1.1 {status}"]
    base: dict[str, str] = {}
    if size is not None:
        base["Content-Length"] = str(size)
    base["Last-Modified"] = formatdate(last_modified, usegmt=True)
    if ranges:
        base["Accept-Ranges"] = "bytes"
    base.update(headers)
    lines.extend(f"{k}: {v}" for k, v in base.items())
    return "\r\n".join(lines) + "\r\n"


class FakeNetwork:
    """The fake network of one service. ``now`` gives the time stamps of new resources; connectivity
    changes are published on ``bus`` (the scheduler listens)."""

    def __init__(
        self,
        now: Callable[[], float] | None = None,
        bus: EventBus | None = None,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self._now = now if now is not None else time.time
        self._bus = bus
        # The service's lock: a connectivity or cost change moves jobs (the scheduler listens on the bus), so it
        # must not interleave with an API call another thread is making (the control plane's other setters,
        # svc.group_policy and svc.advance, take it too).
        self._lock: AbstractContextManager[object] = lock if lock is not None else nullcontext()
        self._resources: dict[str, Resource] = {}
        self._hosts: dict[str, int] = {}
        self.connected = True
        self._cost_state = CostState.UNRESTRICTED  # no cost, no cap: every job's default policy transfers
        self.resolve_delay = 2.0  # seconds an unresolvable name keeps a job CONNECTING
        self.latency: Number = 0.0  # default connect time of registered URLs (seconds, kept as given)
        self.strict = False  # requests to unregistered hosts are test failures (the plugin turns it on)
        self.requests: deque[Request] = deque(maxlen=REQUEST_LIMIT)
        self.unregistered: dict[str, int] = {}  # URL → requests, in strict mode or not
        self._requested: set[str] = set()  # keys of registered URLs that were asked for

    def register(
        self,
        url: str,
        content: bytes | bytearray | memoryview | None = None,
        *,
        size: int | None = None,
        generator: Generator | None = None,
        rate: Number | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        ranges: bool = True,
        transient_failures: int = 0,
        failure_status: int = 503,
        change_content_after: int | None = None,
        changed_content: bytes | bytearray | memoryview | None = None,
        last_modified: Number | None = None,
        latency: Number | None = None,
        content_length: bool = True,
        auth: str | None = None,
        users: Mapping[str, str] | None = None,
        authorized_sids: Iterable[str] | None = None,
        upload: bool = False,
        reply: bytes | bytearray | memoryview | None = None,
        application_status: int = 200,
        client_certificate: bool = False,
        certificate: bytes | bytearray | memoryview | None = None,
        certificate_errors: Iterable[str] = (),
    ) -> Resource:
        """Serve ``url``: ``content`` bytes, or ``size`` bytes from ``generator(offset, length)``.

        ``rate`` is bytes per second (None: instant). ``transient_failures`` connections fail first with
        ``failure_status``. ``change_content_after`` bytes into a transfer the server's copy changes
        (to ``changed_content`` if given) with a new time stamp, so the file restarts (docs/reference/states.md#files).
        ``content_length=False`` sends no length, so the size stays unknown until the file is done.
        ``auth`` makes the server challenge: ``"basic"`` accepts the ``users`` name/password pairs given
        with SetCredentials; ``"ntlm"``/``"negotiate"`` accept implicit credentials (SetCredentials with
        NULL user and password) of an identity in ``authorized_sids`` — the helper token's user when the
        job has BG_TOKEN_NETWORK and a helper token, else the owner (docs/reference/security.md#usage-flags);
        LocalSystem and NetworkService present the machine account (their own SIDs), LocalService is
        anonymous and answers no challenge.
        ``upload=True`` makes the URL a BITS upload endpoint; ``reply`` is what its server application
        answers upload-reply jobs; ``application_status`` is the HTTP status that application answers once an
        upload's last byte is in: any status but 200 fails the job with context REMOTE_APPLICATION and
        BG_E_HTTP_ERROR_<status> (transient or fatal by ``application_status_is_fatal``), the bytes stay sent,
        and the next attempt asks the application again — but after a 403, which it never is again
        (docs/reference/readings.md#server-application).
        ``certificate`` is the DER server certificate an ``https://`` URL presents to a job's
        server-certificate validation callback (SetServerCertificateValidationInterface); by default a
        deterministic self-issued certificate for the host (``transfer.certificates.default_certificate``).
        ``certificate_errors`` makes the operating system's checks refuse that certificate: any of
        ``"cn_invalid"``, ``"date_invalid"``, ``"unknown_ca"``, ``"wrong_usage"`` (``CERTIFICATE_ERRORS``).
        A job connects only when its SetSecurityFlags ignore every one of them (BG_SSL_IGNORE_CERT_CN_INVALID…);
        otherwise it fails before any request: ERROR, ERROR_WINHTTP_SECURE_FAILURE 0x80072F8F, context
        GENERAL_TRANSPORT, as a loopback TLS server's refused certificate, and its server-certificate callback
        is not called (it runs after the operating system's checks passed).
        """
        # Every argument is checked before anything is touched (_CHECKS): a wrong type is TypeError, a value
        # out of range ValueError, and the network is left as it was.
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, not {_type_name(url)}")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        content = _bytes("content")(content)
        size = _count("size", optional=True)(size)
        _generator(generator)
        if content is not None and (size is not None or generator is not None):
            raise ValueError("give content, or size and generator, not both")
        if content is None:
            if size is None:
                content = b""
            elif generator is None:
                generator = _zeros
        errors = _certificate_errors(certificate_errors)
        certificate = _bytes("certificate")(certificate)
        if parts.scheme.lower() == "https":
            certificate = certificate if certificate is not None else default_certificate(host_of(url))
        else:
            if errors:
                raise ValueError("certificate_errors needs an https:// URL (plain HTTP presents no certificate)")
            certificate = None  # plain HTTP presents no certificate
        # Building the Resource checks the other arguments (Resource.__setattr__); it is kept only once built.
        res = Resource(
            url=url,
            content=content,
            size=len(content) if content is not None else size or 0,
            generator=generator,
            rate=rate,
            status=status,
            headers=headers,  # type: ignore[arg-type]  # (None: no headers; the check makes the dict)
            ranges=ranges,
            transient_failures=transient_failures,
            failure_status=failure_status,
            change_content_after=change_content_after,
            changed_content=_bytes("changed_content")(changed_content),
            last_modified=self._now() if last_modified is None else _last_modified(last_modified),
            latency=self.latency if latency is None else latency,
            content_length=content_length,
            auth=auth,
            users=users,  # type: ignore[arg-type]
            authorized_sids=authorized_sids,  # type: ignore[arg-type]
            upload=upload,
            reply=_bytes("reply")(reply),
            application_status=application_status,
            client_certificate=client_certificate,
            certificate=certificate,
            certificate_errors=errors,
        )
        key = _key(url)
        if key not in self._resources:
            host = host_of(url)
            self._hosts[host] = self._hosts.get(host, 0) + 1
        self._resources[key] = res
        return res

    def unregister(self, url: str) -> None:
        res = self._resources.pop(_key(url), None)
        self._requested.discard(_key(url))
        if res is not None:
            host = host_of(url)
            self._hosts[host] -= 1
            if not self._hosts[host]:
                del self._hosts[host]

    def resource(self, url: str) -> Resource | None:
        return self._resources.get(_key(url))

    def host_known(self, url: str) -> bool:
        return host_of(url) in self._hosts

    def server_certificate_failure(self, flow: Flow) -> Failure | None:
        """The TLS handshake of an ``https://`` URL of a known host, when the job has a server-certificate
        callback (T25): the resource's certificate — or the host's default one for a path nobody registered
        (emulator choice) — is offered to it before any request is sent, once the operating system's checks
        passed (``certificate_refused``, checked first by the connector)."""
        check = flow.check_certificate
        url = flow.file.remote_name
        if check is None or not is_https(url):
            return None
        res = self.resource(url)
        der = res.certificate if res is not None and res.certificate is not None else default_certificate(host_of(url))
        return check(endpoint(url), der)

    @staticmethod
    def certificate_refused(res: Resource, rec: JobRecord) -> bool:
        """The operating system's checks refuse the server certificate of ``res``: one of its
        ``certificate_errors`` is not among the problems the job's SetSecurityFlags ignore
        (https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/nf-bits2_5-ibackgroundcopyjobhttpoptions-setsecurityflags)."""
        if not res.certificate_errors:
            return False
        flags = rec.security_flags
        return any(not flags & CERTIFICATE_ERRORS[name] for name in res.certificate_errors)

    @staticmethod
    def client_certificate_error(res: Resource, rec: JobRecord) -> HResult | None:
        """TLS client authentication (SHTF, AUTH): the job's certificate's private key is read in the
        owner's context, so with BG_TOKEN_NETWORK set a job not owned by LocalSystem cannot use it."""
        if not res.client_certificate:
            return None
        if rec.client_certificate is None:
            return hresults.ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED
        if rec.helper_flags & TokenFlags.NETWORK and rec.owner_sid != sids.LOCAL_SYSTEM:
            return hresults.ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY  # T49
        return None

    def authenticate(self, res: Resource, rec: JobRecord, url: str | None = None) -> int:
        """The HTTP status the server answers after its challenge, given the job's credentials (CRED, AUTH).

        Missing or rejected credentials give 401, which the scheduler turns into a fatal
        BG_E_HTTP_ERROR_401 (setcredentials page). A user name and password embedded in ``url`` (the file's
        remote name) count as Basic server credentials beside the job's: the authentication page names them
        in its paragraph on Basic authentication (docs/reference/readings.md#url-credentials)."""
        if res.auth is None:
            return res.status
        server = [c for c in rec.credentials if c.target == AuthTarget.SERVER]
        proxy = [c for c in rec.credentials if c.target == AuthTarget.PROXY]
        if res.auth == "basic":
            for c in server:
                if c.scheme == AuthScheme.BASIC and res.users.get(c.user_name or "") == c.password:
                    return res.status
            embedded = url_credentials(url) if url is not None else None
            if embedded is not None and embedded[0] in res.users and res.users[embedded[0]] == embedded[1]:
                return res.status
            return 401
        schemes = (AuthScheme.NTLM, AuthScheme.NEGOTIATE)
        # "If you specify implicit credentials for a proxy, BITS will also use the implicit credentials for server
        # authentication unless you specify explicit server credentials" (AUTH): any server credential, whatever
        # its scheme, keeps the proxy's away from the server; only implicit proxy credentials ever serve it.
        if server:
            candidates = [c for c in server if c.scheme in schemes]
        else:
            candidates = [c for c in proxy if c.scheme in schemes and c.user_name is None and c.password is None]
        for c in candidates:
            if c.user_name is None and c.password is None:
                # Implicit credentials carry the helper token with BG_TOKEN_NETWORK, else the owner
                # (LocalService: anonymous, no credentials at all).
                sid = network_credentials_sid(rec, TokenFlags.NETWORK)
                if sid is not None and sid in res.authorized_sids:
                    return res.status
            elif c.user_name is not None and res.users.get(c.user_name) == c.password:
                return res.status
        return 401

    # what was asked for ----------------------------------------------------------------------------

    @property
    def registered(self) -> list[str]:
        """The registered URLs, in registration order."""
        return [res.url for res in self._resources.values()]

    def observe_request(self, rec: JobRecord, flow: Flow, t: int, failure: Failure | None) -> None:
        """Record the connection the scheduler just made for ``flow`` at ``t`` (ns): once per connect."""
        f = flow.file
        url = f.remote_name
        # The bytes from where the file stopped (a Range request), whether or not the server can honour it
        # (docs/reference/readings.md#no-range-restart); a job that never resumes asks for the whole file.
        offset = 0 if never_resumes(rec) else f.bytes_transferred
        status: int | None = None
        if failure is None:
            hresult = 0
            head = (flow.headers or "").split("\r\n", 1)[0].split()
            if len(head) >= 2 and head[1].isdigit():
                status = int(head[1])
            elif flow.resource is not None:
                status = flow.resource.status
        else:
            hresult = failure.code
            if _HTTP_ERROR_BASE + 100 <= hresult < _HTTP_ERROR_BASE + 600:
                status = hresult - _HTTP_ERROR_BASE
        registered = self.host_known(url) or _is_loopback(url)
        key = _key(url)
        if key in self._resources:
            self._requested.add(key)
        if not registered and (url in self.unregistered or len(self.unregistered) < UNREGISTERED_LIMIT):
            self.unregistered[url] = self.unregistered.get(url, 0) + 1
        headers = _header_pairs(rec)
        at = t / NS  # events carry seconds, as the service clock gives them
        verb = request_verb(rec)
        self.requests.append(
            Request(at, rec.id, rec.display_name, url, offset, None, headers, status, hresult, registered, verb)
        )
        if self._bus is not None:
            self._bus.publish(
                RequestMade(at, rec.id, url, offset, None, headers, status, hresult, registered, verb)
            )

    def requests_for(self, url: str) -> list[Request]:
        key = _key(url)
        return [r for r in self.requests if _key(r.url) == key]

    def assert_all_requested(self) -> None:
        """Fail (AssertionError) listing the registered URLs no job ever asked for."""
        never = [res.url for key, res in self._resources.items() if key not in self._requested]
        if never:
            lines = "\n".join(f"  {u}" for u in never)
            raise AssertionError(f"{len(never)} registered URL(s) never requested:\n{lines}")

    def unregistered_report(self) -> str | None:
        """The strict-mode message (None when every request went to a registered or loopback host)."""
        if not self.unregistered:
            return None
        asked = "\n".join(f"  {u} ({n} request{'s' if n != 1 else ''})" for u, n in self.unregistered.items())
        known = "\n".join(f"  {u}" for u in self.registered) or "  (none)"
        return (
            "jobs requested URLs whose host is not registered on the fake network "
            "(each became a transient ERROR_WINHTTP_NAME_NOT_RESOLVED):\n"
            f"{asked}\nregistered URLs:\n{known}"
        )

    def check(self) -> None:
        """In strict mode, raise UnregisteredURLError when a job asked for an unregistered host."""
        report = self.unregistered_report() if self.strict else None
        if report is not None:
            raise UnregisteredURLError(report)

    def disconnect(self) -> None:
        """Network lost (T17): active jobs → TRANSIENT_ERROR, BG_E_NETWORK_DISCONNECTED, not counted."""
        self._set(False)

    def reconnect(self) -> None:
        """Network re-established (T18): every TRANSIENT_ERROR job → QUEUED."""
        self._set(True)

    def _set(self, connected: bool) -> None:
        with self._lock:
            self.connected = connected
            if self._bus is not None:
                self._bus.publish(NetworkChanged(self._now(), connected))

    def adopt(self, *, cost_state: CostState | None = None, connected: bool | None = None) -> None:
        """Take the machine's conditions as another service sharing the file store set them, or as a reopened
        store holds them (docs/ARCHITECTURE.md#machine): nothing is published, the scheduler that reads them
        from the store applies their effects itself. Not for tests: ``cost_state = …``, ``disconnect()`` and
        ``reconnect()`` change the network with their effects on the jobs."""
        if cost_state is not None:
            self._cost_state = cost_state
        if connected is not None:
            self.connected = connected

    @property
    def cost_state(self) -> CostState:
        """The network's cost (a BITS_COST_STATE value; UNRESTRICTED by default). Setting it takes effect at
        once: a job whose COST_FLAGS do not include every bit of the new state stops transferring
        (TRANSIENT_ERROR, BG_E_BLOCKED_BY_COST_TRANSFER_POLICY, not counted), and a job it held goes back to
        QUEUED as soon as the state is one its flags accept (docs/transfers.md#cost). A state is one or more
        of the bits 0x1..0x80: 0, IGNORE_CONGESTION and RESERVED are not states (ValueError)."""
        return self._cost_state

    @cost_state.setter
    def cost_state(self, value: CostState | int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"cost_state must be a CostState (an int), not {type(value).__name__}")
        # (https://learn.microsoft.com/en-us/windows/win32/bits/bits-cost-state: the options are no states)
        if value <= 0 or value & ~NETWORK_COST_STATES:
            raise ValueError(
                f"cost_state {value:#x} is not a network cost state: give one or more of the "
                "BITS_COST_STATE bits 0x1..0x80 (IGNORE_CONGESTION and RESERVED are not states)"
            )
        with self._lock:
            self._cost_state = CostState(value)
            if self._bus is not None:
                self._bus.publish(NetworkCostChanged(self._now(), int(value)))


def _is_loopback(url: str) -> bool:
    # Imported here, and only for hosts not on the fake network: http_loopback imports this module.
    from .http_loopback import is_loopback

    return is_loopback(url)


def never_resumes(rec: JobRecord) -> bool:
    """Every connection of this job fetches its file from byte 0 (no Range request): a custom HTTP method
    ("restarts the job from the beginning", sethttpmethod page, T24) or DYNAMIC_CONTENT ("BITS will restart the
    download from the beginning instead of resuming where it left off",
    https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id)."""
    return rec.http_method is not None or bool(rec.properties.get(_DYNAMIC_CONTENT))


def resumes(rec: JobRecord, flow: Flow) -> bool:
    """A connection of ``flow`` goes on from the bytes its file already has: the source can resume from an
    offset (a server with ranges) and the job may (``never_resumes``)."""
    return flow.ranges_ok and (flow.resource is None or flow.resource.ranges) and not never_resumes(rec)


def request_verb(rec: JobRecord) -> str:
    """The HTTP verb of the job's requests: SetHttpMethod's when set (it is what goes on the wire:
    sethttpmethod page), else GET for a download and BITS_POST for an upload."""
    return rec.http_method or ("GET" if rec.job_type is _DOWNLOAD else "BITS_POST")


def _header_pairs(rec: JobRecord) -> tuple[tuple[str, str], ...]:
    """The job's custom request headers; write-only ones (MakeCustomHeadersWriteOnly) are not shown."""
    if not rec.custom_headers:
        return ()
    pairs: list[tuple[str, str]] = []
    for line in rec.custom_headers.splitlines():
        name, sep, value = line.partition(":")
        if not sep:
            continue
        pairs.append((name.strip(), "<write-only>" if rec.custom_headers_write_only else value.strip()))
    return tuple(pairs)


def _zeros(offset: int, length: int) -> bytes:
    return bytes(length)
