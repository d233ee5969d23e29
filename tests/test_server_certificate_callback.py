"""T25: the server-certificate validation callback of BITS 10.3 (docs/reference/states.md#t25).

Facts, from IBackgroundCopyJobHttpOptions3::SetServerCertificateValidationInterface
(https://learn.microsoft.com/en-us/windows/win32/api/bits10_3/nf-bits10_3-ibackgroundcopyjobhttpoptions3-setservercertificatevalidationinterface,
"SETSCVI" below) and IBackgroundCopyServerCertificateValidationCallback::ValidateServerCertificate
(https://learn.microsoft.com/en-us/windows/win32/api/bits10_3/nf-bits10_3-ibackgroundcopyservercertificatevalidationcallback-validateservercertificate,
"VSC" below): the callback gets the job, the file, the certificate bytes and encoding type and the certificate
store data of an HTTPS connection, after the operating system's checks passed and before the HTTP request is
sent; S_OK accepts, any error HRESULT declines; a declined certificate puts the job in TRANSIENT_ERROR with
context BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK (8) and the callback's HRESULT; a callback that cannot be
called gives BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED; an accepted <endpoint, certificate> pair is not
offered again to the job, a declined one is, and every SetServerCertificateValidationInterface clears that
cache. Emulator choices: docs/reference/readings.md#server-certificate. Profiles before BITS 10.3 have no
IBackgroundCopyJobHttpOptions3 at all (tests/test_profiles.py).
"""

from __future__ import annotations

import http.server
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
from helpers import QuietLog, loopback_server

from emulator import (
    BitsError,
    BitsService,
    ErrorContext,
    Job,
    JobState,
    JobType,
    ManualClock,
    SecurityFlags,
)
from emulator.transfer.certificates import CERT_ENCODING_TYPE, default_certificate, serialized_store

S = JobState
CTX = ErrorContext.SERVER_CERTIFICATE_CALLBACK
CERT_E_UNTRUSTEDROOT = 0x800B0109
E_FAIL = 0x80004005
E_NOINTERFACE = 0x80004002
RPC_E_DISCONNECTED = 0x80010108
BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED = 0x80200074
ERROR_WINHTTP_SECURE_FAILURE = 0x80072F8F
URL = "https://cdn.example.com/a.bin"
CONTENT = b"certified bytes " * 8
TLS_PEM = Path(__file__).parent / "data" / "loopback-tls.pem"  # a self-signed certificate for 127.0.0.1 and its key


@pytest.fixture
def svc() -> Iterator[BitsService]:
    with BitsService(clock=ManualClock()) as service:
        yield service


class Validator:
    """Records every call; answers ``result`` (an HRESULT), or raises ``raises`` when set."""

    def __init__(self, result: int = 0, raises: BaseException | None = None) -> None:
        self.result = result
        self.raises = raises
        self.calls: list[tuple[Any, Any, bytes, int, bytes]] = []

    def ValidateServerCertificate(self, job: Any, file: Any, cert: bytes, encoding: int, store: bytes) -> int:
        self.calls.append((job, file, cert, encoding, store))
        if self.raises is not None:
            raise self.raises
        return self.result


def download(svc: BitsService, tmp_path: Path, validator: object | None, *urls: str) -> Job:
    """A download job of ``urls`` (default URL) with ``validator`` set while it is SUSPENDED, resumed."""
    _, job = svc.connect().create_job("cert", JobType.DOWNLOAD)
    if validator is not None:
        job.set_server_certificate_validation_interface(validator)
    for i, url in enumerate(urls or (URL,)):
        job.add_file(url, str(tmp_path / f"f{i}.bin"))
    job.resume()
    return job


# the fake network ------------------------------------------------------------------------------------------


def test_an_accepting_callback_sees_the_job_the_file_and_the_certificate(svc: BitsService, tmp_path: Path) -> None:
    """VSC: the parameters are the job, the file being transferred, the certificate data and its encoding type,
    the certificate store data; S_OK accepts and the transfer goes on. The fake network's certificate is the
    resource's ``certificate`` — by default ``default_certificate(host)`` — with encoding type
    X509_ASN_ENCODING | PKCS_7_ASN_ENCODING and the store data of serialized_store (emulator choices,
    readings.md#server-certificate)."""
    res = svc.network.register(URL, CONTENT)
    validator = Validator()
    job = download(svc, tmp_path, validator)
    assert job.get_state() is S.TRANSFERRED
    assert len(validator.calls) == 1
    cb_job, cb_file, cert, encoding, store = validator.calls[0]
    assert cb_job.get_id() == job.get_id()
    assert (cb_file.get_remote_name(), cb_file.get_local_name()) == (URL, str(tmp_path / "f0.bin"))
    assert cert == res.certificate == default_certificate("cdn.example.com")
    assert encoding == CERT_ENCODING_TYPE == 0x00010001
    assert store == serialized_store(cert)
    assert store[:8] == b"\0\0\0\0CERT" and cert in store
    job.complete()
    assert (tmp_path / "f0.bin").read_bytes() == CONTENT


def test_the_default_certificate_is_a_deterministic_der_certificate_per_host() -> None:
    """Emulator choice (readings.md#server-certificate): a DER SEQUENCE, the same bytes for the same host,
    different bytes for another host, naming the host."""
    cert = default_certificate("cdn.example.com")
    assert cert[0] == 0x30  # SEQUENCE, definite long-form length covering the rest exactly
    n = cert[1] & 0x7F
    assert cert[1] & 0x80 and int.from_bytes(cert[2 : 2 + n], "big") == len(cert) - 2 - n
    assert cert == default_certificate("cdn.example.com")
    assert cert != default_certificate("other.example.com")
    assert b"cdn.example.com" in cert


def test_a_certificate_given_to_register_reaches_the_callback(svc: BitsService, tmp_path: Path) -> None:
    """``register(certificate=...)``: the bytes the callback gets (docs/transfers.md); not bytes is a TypeError."""
    svc.network.register(URL, CONTENT, certificate=b"\x30\x03\x02\x01\x07")
    with pytest.raises(TypeError):
        svc.network.register("https://cdn.example.com/b", CONTENT, certificate="PEM text")  # type: ignore[arg-type]
    validator = Validator()
    assert download(svc, tmp_path, validator).get_state() is S.TRANSFERRED  # (an API call: the service catches up)
    assert validator.calls[0][2] == b"\x30\x03\x02\x01\x07"


@pytest.mark.parametrize("result", [CERT_E_UNTRUSTEDROOT, CERT_E_UNTRUSTEDROOT - (1 << 32)], ids=["unsigned", "signed"])
def test_a_declining_callback_gives_transient_error_context_8_and_its_hresult(
    svc: BitsService, tmp_path: Path, result: int
) -> None:
    """SETSCVI, VSC: "the job will transition to BG_JOB_STATE_TRANSIENT_ERROR with a job error context of
    BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK and the error HRESULT from your callback"; the callback runs
    "before the HTTP request is sent", so the server gets none."""
    res = svc.network.register(URL, CONTENT)
    job = download(svc, tmp_path, Validator(result))
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error_count() == 1
    error = job.get_error()
    assert error.get_error() == (CTX, CERT_E_UNTRUSTEDROOT)
    assert int(CTX) == 8
    assert error.get_file().get_remote_name() == URL
    assert res.requests == 0


def test_a_declined_certificate_is_offered_again_at_each_retry(svc: BitsService, tmp_path: Path) -> None:
    """VSC: "BITS does not cache certificates that are deemed invalid by the app-provided validation callback";
    the retry comes after MinimumRetryDelay (T14, docs/reference/states.md#t14)."""
    svc.network.register(URL, CONTENT)
    validator = Validator(CERT_E_UNTRUSTEDROOT)
    job = download(svc, tmp_path, validator)
    delay = job.get_minimum_retry_delay()
    svc.advance(delay - 1)
    assert (job.get_state(), len(validator.calls)) == (S.TRANSIENT_ERROR, 1)
    svc.advance(1)
    assert (job.get_state(), job.get_error_count(), len(validator.calls)) == (S.TRANSIENT_ERROR, 2, 2)
    validator.result = 0  # the application now accepts it
    svc.advance(delay)
    assert (job.get_state(), len(validator.calls)) == (S.TRANSFERRED, 3)
    # Each call is in svc.history, as the notification callbacks are (docs/observability.md).
    calls = [(c.method, c.succeeded) for c in svc.history.callbacks if c.method == "ValidateServerCertificate"]
    assert calls == [("ValidateServerCertificate", False)] * 2 + [("ValidateServerCertificate", True)]


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ValueError("no"), E_FAIL),
        (BitsError(CERT_E_UNTRUSTEDROOT), CERT_E_UNTRUSTEDROOT),
        (OSError(CERT_E_UNTRUSTEDROOT - (1 << 32), "com_error"), CERT_E_UNTRUSTEDROOT),
    ],
    ids=["plain", "hresult-attribute", "com-error-args"],
)
def test_a_raising_callback_declines(svc: BitsService, tmp_path: Path, exc: Exception, code: int) -> None:
    """Emulator choice (readings.md#server-certificate): an exception declines like a failure HRESULT, with the
    HRESULT it carries (``hresult``, or a COM error's first argument), else E_FAIL 0x80004005."""
    svc.network.register(URL, CONTENT)
    job = download(svc, tmp_path, Validator(raises=exc))
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (CTX, code)


def test_a_disconnected_callback_gives_interface_required_until_set_again(svc: BitsService, tmp_path: Path) -> None:
    """SETSCVI: a callback that "couldn't be called" gives BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED; the
    application "can fix this error by setting the validation callback again and resuming the job". Gone:
    RPC_E_DISCONNECTED raised or returned (emulator choice, as for notifications: readings.md#clsid-modification);
    the job stays TRANSIENT_ERROR, context 8 (readings.md#server-certificate)."""
    svc.network.register(URL, CONTENT)
    job = download(svc, tmp_path, Validator(raises=OSError(RPC_E_DISCONNECTED - (1 << 32), "disconnected")))
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (CTX, BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED)
    job.suspend()
    job.set_server_certificate_validation_interface(Validator(RPC_E_DISCONNECTED))  # returned, not raised
    job.resume()
    assert job.get_error().get_error() == (CTX, BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED)
    job.suspend()
    job.set_server_certificate_validation_interface(Validator())
    job.resume()
    assert job.get_state() is S.TRANSFERRED


def test_plain_http_never_calls_the_callback(svc: BitsService, tmp_path: Path) -> None:
    """SETSCVI: "Server certificates are sent when an HTTPS connection is opened"; HTTP has none."""
    svc.network.register("http://cdn.example.com/a.bin", CONTENT)
    validator = Validator(CERT_E_UNTRUSTEDROOT)
    job = download(svc, tmp_path, validator, "http://cdn.example.com/a.bin")
    assert job.get_state() is S.TRANSFERRED
    assert validator.calls == []


def test_null_removes_the_callback(svc: BitsService, tmp_path: Path) -> None:
    """SETSCVI: "To remove the current callback interface pointer, set this parameter to nullptr"."""
    svc.network.register(URL, CONTENT)
    validator = Validator(CERT_E_UNTRUSTEDROOT)
    _, job = svc.connect().create_job("cert", JobType.DOWNLOAD)
    job.set_server_certificate_validation_interface(validator)
    job.set_server_certificate_validation_interface(None)
    job.add_file(URL, str(tmp_path / "a.bin"))
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    assert validator.calls == []


def test_an_accepted_certificate_is_cached_per_endpoint_until_set_again(svc: BitsService, tmp_path: Path) -> None:
    """VSC: "If a job has already allowed a specific certificate from a specific endpoint, then the callback
    will not be called again"; the endpoint is "server name:port"; "A job's certificate cache is cleared on
    every call to SetServerCertificateValidationInterface"."""
    urls = ["https://cdn.example.com/1", "https://cdn.example.com/2", "https://cdn.example.com:8443/3",
            "https://mirror.example.com/4"]
    for url in urls:
        svc.network.register(url, CONTENT)
    validator = Validator()
    job = download(svc, tmp_path, validator, *urls)
    assert job.get_state() is S.TRANSFERRED
    # one call per endpoint: cdn:443 (files 1 and 2), cdn:8443, mirror:443
    assert [c[1].get_remote_name() for c in validator.calls] == [urls[0], urls[2], urls[3]]
    assert validator.calls[1][2] == validator.calls[0][2]  # the same host's certificate, another port

    # A new certificate from a known endpoint is offered again; a new SetServerCertificateValidationInterface
    # (the same object) clears the cache.
    _, second = svc.connect().create_job("cert2", JobType.DOWNLOAD)
    second.set_server_certificate_validation_interface(validator)
    second.add_file(urls[0], str(tmp_path / "s1.bin"))
    second.resume()
    assert (second.get_state(), len(validator.calls)) == (S.TRANSFERRED, 4)  # caches are per job
    second.add_file(urls[1], str(tmp_path / "s2.bin"))  # (a TRANSFERRED job takes more files)
    resource = svc.network.resource(urls[1])
    assert resource is not None
    resource.certificate = b"\x30\x00"
    second.resume()
    assert (second.get_state(), len(validator.calls)) == (S.TRANSFERRED, 5)
    assert validator.calls[-1][2] == b"\x30\x00"


def test_set_again_clears_the_cache(svc: BitsService, tmp_path: Path) -> None:
    """VSC: "A job's certificate cache is cleared on every call to SetServerCertificateValidationInterface";
    until then a reconnection to the same endpoint (after Suspend/Resume) calls nobody."""
    svc.network.register("https://cdn.example.com/1", CONTENT, rate=16)  # 128 bytes: 8 s
    svc.network.register("https://cdn.example.com/2", CONTENT)
    validator = Validator()
    _, job = svc.connect().create_job("cert", JobType.DOWNLOAD)
    job.set_server_certificate_validation_interface(validator)
    job.add_file("https://cdn.example.com/1", str(tmp_path / "1.bin"))
    job.add_file("https://cdn.example.com/2", str(tmp_path / "2.bin"))
    job.resume()
    svc.advance(1)
    assert (job.get_state(), len(validator.calls)) == (S.TRANSFERRING, 1)
    job.suspend()
    job.resume()  # a new connection to the same endpoint, the same certificate: cached
    svc.advance(1)
    assert (job.get_state(), len(validator.calls)) == (S.TRANSFERRING, 1)
    job.suspend()
    job.set_server_certificate_validation_interface(validator)  # the same object: the cache still goes
    job.resume()
    svc.advance(1)
    assert (job.get_state(), len(validator.calls)) == (S.TRANSFERRING, 2)
    svc.advance(10)
    assert (job.get_state(), len(validator.calls)) == (S.TRANSFERRED, 2)  # file 2: same endpoint, cached


def test_the_snake_case_method_and_e_nointerface(svc: BitsService, tmp_path: Path) -> None:
    """SETSCVI: E_NOINTERFACE for an object that cannot be queried for the callback interface; the emulator
    takes ``ValidateServerCertificate`` or ``validate_server_certificate`` (as for notification callbacks)."""

    class Snake:
        def __init__(self) -> None:
            self.certs: list[bytes] = []

        def validate_server_certificate(self, job: Any, file: Any, cert: bytes, encoding: int, store: bytes) -> int:
            self.certs.append(cert)
            return CERT_E_UNTRUSTEDROOT

    svc.network.register(URL, CONTENT)
    _, job = svc.connect().create_job("cert", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as exc:
        job.set_server_certificate_validation_interface(object())
    assert exc.value.hresult == E_NOINTERFACE
    snake = Snake()
    job = download(svc, tmp_path, snake)
    assert job.get_error().get_error() == (CTX, CERT_E_UNTRUSTEDROOT)
    assert snake.certs == [default_certificate("cdn.example.com")]


def test_an_https_upload_offers_the_certificate_too(svc: BitsService, tmp_path: Path) -> None:
    """SETSCVI: every HTTPS connection sends a server certificate, an upload's included."""
    source = tmp_path / "up.bin"
    source.write_bytes(CONTENT)
    res = svc.network.register("https://up.example.com/in", upload=True)
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    validator = Validator(CERT_E_UNTRUSTEDROOT)
    job.set_server_certificate_validation_interface(validator)
    job.add_file("https://up.example.com/in", str(source))
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (CTX, CERT_E_UNTRUSTEDROOT)
    assert validator.calls[0][1].get_local_name() == str(source)
    assert res.received is None
    validator.result = 0
    svc.advance(job.get_minimum_retry_delay())
    assert job.get_state() is S.TRANSFERRED
    assert res.received == CONTENT


# a real TLS server on the loopback interface -----------------------------------------------------------------


class TlsHandler(QuietLog, http.server.BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(CONTENT)))
        self.send_header("Last-Modified", "Tue, 24 Nov 2026 10:00:00 GMT")
        self.end_headers()
        self.wfile.write(CONTENT)


@pytest.fixture
def tls_server() -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 (a free port) presenting tests/data/loopback-tls.pem; shut down after."""
    TlsHandler.paths = []
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS_PEM)
    with loopback_server(TlsHandler, tls=ctx) as base:
        yield base


def _server_der() -> bytes:
    pem = TLS_PEM.read_text()
    return ssl.PEM_cert_to_DER_cert(pem[: pem.index("-----END CERTIFICATE-----") + 25])


def loopback_job(svc: BitsService, tmp_path: Path, url: str, validator: Validator, flags: int) -> Job:
    _, job = svc.connect().create_job("tls", JobType.DOWNLOAD)
    job.set_security_flags(flags)
    job.set_server_certificate_validation_interface(validator)
    job.add_file(url, str(tmp_path / "tls.bin"))
    job.resume()
    return job


IGNORE = int(SecurityFlags.SSL_IGNORE_UNKNOWN_CA | SecurityFlags.SSL_IGNORE_CERT_CN_INVALID)


def test_a_loopback_https_server_s_real_certificate_reaches_the_callback(
    svc: BitsService, tmp_path: Path, tls_server: str
) -> None:
    """VSC: the callback gets the server's certificate (DER, as the TLS handshake presented it) after the OS
    checks — which SetSecurityFlags relaxes here for the self-signed test certificate (SETSCVI)."""
    validator = Validator()
    job = loopback_job(svc, tmp_path, f"{tls_server}/a.bin", validator, IGNORE)
    assert job.get_state() is S.TRANSFERRED
    assert [c[2] for c in validator.calls] == [_server_der()]
    assert validator.calls[0][4] == serialized_store(_server_der())
    assert TlsHandler.paths == ["/a.bin"]
    job.complete()
    assert (tmp_path / "tls.bin").read_bytes() == CONTENT


def test_a_loopback_certificate_declined_sends_no_request(svc: BitsService, tmp_path: Path, tls_server: str) -> None:
    """SETSCVI: the callback runs "before completing the TLS handshake and before the HTTP request is sent";
    a decline: TRANSIENT_ERROR, context 8, the callback's HRESULT."""
    validator = Validator(CERT_E_UNTRUSTEDROOT)
    job = loopback_job(svc, tmp_path, f"{tls_server}/a.bin", validator, IGNORE)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (CTX, CERT_E_UNTRUSTEDROOT)
    assert len(validator.calls) == 1
    assert TlsHandler.paths == []


def test_a_certificate_the_os_rejects_never_reaches_the_callback(
    svc: BitsService, tmp_path: Path, tls_server: str
) -> None:
    """SETSCVI: "If any certificate errors are found during the OS validation of the certificate, then the
    connection is aborted, and the custom callback is never called" (a self-signed certificate, no
    SetSecurityFlags: ERROR_WINHTTP_SECURE_FAILURE, as any TLS failure of a loopback server)."""
    validator = Validator()
    job = loopback_job(svc, tmp_path, f"{tls_server}/a.bin", validator, 0)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, ERROR_WINHTTP_SECURE_FAILURE)
    assert validator.calls == []


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Emulator choice (readings.md#server-certificate): the accepted certificates of the CACHED_JOBS jobs that
    last registered or connected are kept; an older job's are forgotten, so its callback is called again."""
    from emulator.transfer import certificates

    monkeypatch.setattr(certificates, "CACHED_JOBS", 2)
    with BitsService(clock=ManualClock()) as svc:
        for url in ("https://cdn.example.com/1", "https://cdn.example.com/2"):
            svc.network.register(url, CONTENT)
        jobs: list[tuple[Job, Validator]] = []
        for name in "abc":
            validator = Validator()
            _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
            job.set_server_certificate_validation_interface(validator)
            job.add_file("https://cdn.example.com/1", str(tmp_path / f"{name}1.bin"))
            job.resume()
            assert (job.get_state(), len(validator.calls)) == (S.TRANSFERRED, 1)
            jobs.append((job, validator))
        for (job, validator), calls in zip((jobs[0], jobs[2]), (2, 1), strict=True):
            job.add_file("https://cdn.example.com/2", str(tmp_path / f"{job.get_display_name()}2.bin"))
            job.resume()
            assert (job.get_state(), len(validator.calls)) == (S.TRANSFERRED, calls)


def test_the_requirement_outlives_a_service_restart_the_object_does_not(tmp_path: Path) -> None:
    """SETSCVI: "If your callback couldn't be called (for example, because your application has exited), the
    job error code will be BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED". The object lives in the process
    that set it; that a job has one is kept with the job, so after a restart its HTTPS connections fail until
    a callback is set again; SetServerCertificateValidationInterface(NULL) drops the requirement (emulator
    choice, readings.md#server-certificate)."""
    db = tmp_path / "queue.db"
    out = tmp_path / "out"
    out.mkdir()

    @contextmanager
    def service() -> Iterator[BitsService]:
        """A service started on the store (a restart of the one before), serving URL."""
        with BitsService(database=db, clock=ManualClock()) as svc:
            svc.network.register(URL, CONTENT)
            yield svc

    with service() as first:
        _, job = first.connect().create_job("cert", JobType.DOWNLOAD)
        job.set_server_certificate_validation_interface(Validator())
        job.add_file(URL, str(out / "a.bin"))
        job_id = job.get_id()
    with service() as second:
        job = second.connect().get_job(job_id)
        job.resume()
        assert job.get_state() is S.TRANSIENT_ERROR
        assert job.get_error().get_error() == (CTX, BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED)
        assert [(c.method, c.succeeded) for c in second.history.callbacks] == [("ValidateServerCertificate", False)]
        job.suspend()
        validator = Validator()
        job.set_server_certificate_validation_interface(validator)  # set again: the transfer goes on
        job.resume()
        assert job.get_state() is S.TRANSFERRED
        assert len(validator.calls) == 1
    with service() as third:
        _, other = third.connect().create_job("dropped", JobType.DOWNLOAD)
        other.set_server_certificate_validation_interface(Validator())
        other.set_server_certificate_validation_interface(None)  # NULL: no callback, no requirement
        other.add_file(URL, str(out / "b.bin"))
        other_id = other.get_id()
    with service() as fourth:
        other = fourth.connect().get_job(other_id)
        other.resume()
        assert other.get_state() is S.TRANSFERRED
