"""The server-certificate validation callback of BITS 10.3 (state table row T25).

IBackgroundCopyJobHttpOptions3::SetServerCertificateValidationInterface gives a job an object whose
``ValidateServerCertificate(job, file, cert_data, cert_encoding_type, cert_store_data)`` BITS calls for the
server certificate of an HTTPS connection, after the operating system's own checks passed and "before
completing the TLS handshake and before the HTTP request is sent"
(https://learn.microsoft.com/en-us/windows/win32/api/bits10_3/nf-bits10_3-ibackgroundcopyjobhttpoptions3-setservercertificatevalidationinterface).
A declined certificate puts the job in TRANSIENT_ERROR "with a job error context of
BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK and the error HRESULT from your callback"; a callback that
"couldn't be called" gives BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED. A certificate the callback
accepted from an endpoint (server name:port) is not offered again to the same job until the next
SetServerCertificateValidationInterface; a declined one is offered at every connection
(https://learn.microsoft.com/en-us/windows/win32/api/bits10_3/nf-bits10_3-ibackgroundcopyservercertificatevalidationcallback-validateservercertificate).

The checker returns a ``Failure`` (transfer/flow.py) for the scheduler to apply, like the connectors; it
makes the job and file interface pointers with the views factory the composition root passes in (this
package never imports ``com``). The emulator's readings: docs/reference/readings.md#server-certificate.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from .. import hresults
from ..clock import NS
from ..constants import ErrorContext
from ..domain.records import FileRecord, JobRecord
from ..domain.states import FINAL_STATES
from ..events import CallbackCalled, EventBus

if TYPE_CHECKING:
    from .flow import Failure

# X509_ASN_ENCODING | PKCS_7_ASN_ENCODING (wincrypt.h): the encoding type passed with the certificate.
# EMULATOR CHOICE (docs/reference/readings.md#server-certificate): the pages only say "the certificate
# encoding type"; this is the pair Windows' certificate APIs use for an X.509 certificate.
CERT_ENCODING_TYPE: Final = 0x00010001
METHOD: Final = "ValidateServerCertificate"
# JobRecord.properties key -2 (no BITS id): the job was given a callback. The object lives only in the process
# that set it; the requirement stays with the job, in the store, so after a service restart (the application
# that set it has exited) its HTTPS connections fail with BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED until
# a callback is set again (docs/reference/readings.md#server-certificate).
CERT_CALLBACK_REQUIRED: Final = -2
CACHED_JOBS: Final = 1024  # jobs whose accepted certificates are remembered (oldest forgotten first)
_CERT_PROP_ID: Final = 32  # CERT_CERT_PROP_ID: a serialized store's element that holds an encoded certificate
# The HRESULTs by which a call says its object is gone, as for the notification callbacks
# (docs/reference/readings.md#clsid-modification): RPC_E_DISCONNECTED, RPC_S_SERVER_UNAVAILABLE.
_GONE: Final = frozenset({int(hresults.RPC_E_DISCONNECTED), int(hresults.RPC_S_SERVER_UNAVAILABLE)})
_GONE_CODE: Final = int(hresults.RPC_E_DISCONNECTED)

CertificateCheck = Callable[[str, bytes], "Failure | None"]  # (endpoint "host:port", DER) → failure or None


class Views(Protocol):
    """The pointers a callback receives (the COM facade's factory; see transfer/notifications.Views)."""

    def job(self, rec: JobRecord, registrant: Any) -> object: ...

    def file(self, rec: JobRecord, f: FileRecord, registrant: Any) -> object: ...


# the fake network's certificates -------------------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    """One DER element: tag, definite length, contents."""
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(raw))) + raw + body


_ED25519: Final = _tlv(0x30, bytes.fromhex("06032b6570"))  # AlgorithmIdentifier { id-Ed25519 1.3.101.112 }
_VERSION_3: Final = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2
_VALIDITY: Final = _tlv(0x30, _tlv(0x17, b"260101000000Z") + _tlv(0x18, b"99991231235959Z"))


@lru_cache(maxsize=256)
def default_certificate(host: str) -> bytes:
    """The certificate a fake-network HTTPS host presents unless its resource is given one: a DER X.509 v3
    certificate, self-issued to ``CN=<host>``, valid from 2026-01-01 with no expiry (9999-12-31), whose
    Ed25519 key, serial number and signature are bytes derived from the host name — deterministic, so a
    test can compare, hash or pin it; parsable by X.509 readers, but its signature verifies against nothing
    (the fake network has no private keys and needs no crypto library)."""
    seed = hashlib.sha512(b"bits-emulator server certificate\0" + host.encode("utf-8")).digest()
    name = _tlv(0x30, _tlv(0x31, _tlv(0x30, bytes.fromhex("0603550403") + _tlv(0x0C, host.encode("utf-8")))))
    key_info = _tlv(0x30, _ED25519 + _tlv(0x03, b"\0" + seed[:32]))
    serial = _tlv(0x02, b"\x01" + seed[32:47])  # positive, 16 bytes
    tbs = _tlv(0x30, _VERSION_3 + serial + _ED25519 + name + _VALIDITY + name + key_info)
    signature = hashlib.sha512(b"signature\0" + tbs).digest()
    return _tlv(0x30, tbs + _ED25519 + _tlv(0x03, b"\0" + signature))


def serialized_store(der: bytes) -> bytes:
    """``certStoreData``: the certificate in a serialized store, as CERT_STORE_PROV_SERIALIZED opens.
    EMULATOR CHOICE (docs/reference/readings.md#server-certificate): Microsoft does not document the layout;
    the emulator writes a header (a zero DWORD and the "CERT" signature), one element (property id
    CERT_CERT_PROP_ID 32, encoding 1, length, the DER bytes) and an end element of three zero DWORDs. It holds
    the server's certificate only: neither the fake network nor Python's TLS gives the rest of the chain."""
    return (b"\0\0\0\0CERT" + struct.pack("<III", _CERT_PROP_ID, 1, len(der)) + der
            + struct.pack("<III", 0, 0, 0))


def endpoint(url: str) -> str:
    """The "server name:port" of an HTTPS URL, the cache's endpoint (443 when the URL names no port)."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or 443}"


def is_https(url: str) -> bool:
    return url[:8].lower() == "https://"


# the check ------------------------------------------------------------------------------------------------


class ServerCertificates:
    """Calls the jobs' validation callbacks and keeps each job's accepted <endpoint, certificate hash> pairs."""

    def __init__(self, bus: EventBus, views: Views) -> None:
        self._bus = bus
        self._views = views
        self._registrants: dict[JobRecord, Any] = {}
        # EMULATOR CHOICE: the accepted pairs of the CACHED_JOBS jobs that last registered a callback or
        # connected (a job forgotten here only has its callback called again), so memory stays bounded.
        self._accepted: dict[JobRecord, set[tuple[str, bytes]]] = {}
        self._sweep_at = CACHED_JOBS  # registrants held when the next sweep of finished jobs runs

    def registered(self, rec: JobRecord, proxy: Any) -> None:
        """SetServerCertificateValidationInterface (``proxy``: the pointer it was called through, whose
        client the callback's job and file pointers belong to): "A job's certificate cache is cleared on
        every call" (validateservercertificate page), a NULL one included."""
        self._registrants.pop(rec, None)
        self._accepted.pop(rec, None)
        if rec.server_cert_validator is None:
            return
        self._registrants[rec] = proxy
        self._cache(rec)
        if len(self._registrants) > self._sweep_at:
            # Completed and cancelled jobs connect no more: their entries go. (The threshold doubles with
            # what remains, so the sweeps stay linear in the registrations however many jobs are live.)
            for done in [r for r in self._registrants if r.state in FINAL_STATES]:
                del self._registrants[done]
                self._accepted.pop(done, None)
            self._sweep_at = max(CACHED_JOBS, 2 * len(self._registrants))

    def restarted(self) -> None:
        """A service restart: the validation pointers and the certificate caches lived in its memory."""
        self._registrants.clear()
        self._accepted.clear()
        self._sweep_at = CACHED_JOBS

    def _cache(self, rec: JobRecord) -> set[tuple[str, bytes]]:
        """The job's accepted pairs, made (and the oldest job's forgotten past CACHED_JOBS) when it has none."""
        accepted = self._accepted.get(rec)
        if accepted is None:
            accepted = self._accepted[rec] = set()
            while len(self._accepted) > CACHED_JOBS:
                del self._accepted[next(iter(self._accepted))]
        return accepted

    def bind(self, rec: JobRecord, f: FileRecord, t: int) -> CertificateCheck | None:
        """The check a connection of ``f`` at ``t`` (ns) makes, or None when the job has no callback."""
        if rec.server_cert_validator is None:
            if rec.properties.get(CERT_CALLBACK_REQUIRED):
                return lambda where, der: self._unreachable(rec, f, t)
            return None
        return lambda where, der: self.check(rec, f, t, where, der)

    def _unreachable(self, rec: JobRecord, f: FileRecord, t: int) -> Failure:
        """The job requires a callback whose object is gone with the process that set it (a restart)."""
        from .flow import Failure  # (see check)

        self._bus.publish(CallbackCalled(t / NS, rec.id, METHOD, False))  # history, notify log
        return Failure(int(hresults.BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED),
                       ErrorContext.SERVER_CERTIFICATE_CALLBACK, file=f, protocol="http")

    def check(self, rec: JobRecord, f: FileRecord, t: int, where: str, der: bytes) -> Failure | None:
        """Offer ``der``, presented by ``where`` ("host:port"), to the job's callback: None when accepted."""
        from .flow import Failure  # (flow imports the fake network, which imports this module)

        callback = rec.server_cert_validator
        if callback is None:
            return None
        accepted = self._cache(rec)
        key = (where, hashlib.sha256(der).digest())
        if key in accepted:
            return None  # already allowed for this job: no call (validateservercertificate page)
        method = getattr(callback, METHOD, None) or getattr(callback, "validate_server_certificate", None)
        registrant = self._registrants.get(rec)
        code: object
        try:
            if method is None:  # the object lost its method since it was registered: it cannot be called
                raise _Uncallable
            views = self._views
            result = method(views.job(rec, registrant), views.file(rec, f, registrant), der, CERT_ENCODING_TYPE,
                            serialized_store(der))
        except _Uncallable:
            code = _GONE_CODE
        except Exception as exc:
            # EMULATOR CHOICE (docs/reference/readings.md#server-certificate): a raising callback declines,
            # with the HRESULT its exception carries (a BitsError's ``hresult``, a COM error's first
            # argument) or E_FAIL; RPC_E_DISCONNECTED / RPC_S_SERVER_UNAVAILABLE mean it is gone.
            code = getattr(exc, "hresult", None)
            if code is None and exc.args:
                code = exc.args[0]
            code = _failure_code(code)
        else:
            code = _failure_code(result) if _failed(result) else None
        self._bus.publish(CallbackCalled(t / NS, rec.id, METHOD, code is None))  # history, notify log
        if code is None:
            accepted.add(key)
            return None
        if code in _GONE:
            # "If your callback couldn't be called ... the job error code will be
            # BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED" (the same pages).
            code = int(hresults.BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED)
        return Failure(code, ErrorContext.SERVER_CERTIFICATE_CALLBACK, file=f, protocol="http")


class _Uncallable(Exception):
    pass


def _failed(result: object) -> bool:
    """A failure HRESULT (signed or unsigned); anything else — S_OK, S_FALSE, None — accepts the
    certificate (EMULATOR CHOICE: SUCCEEDED(hr), as for the notification callbacks)."""
    return isinstance(result, int) and not isinstance(result, bool) and (result < 0 or result >= 1 << 31)


def _failure_code(value: object) -> int:
    """The unsigned HRESULT the job gets for a declining answer; E_FAIL for one that is no HRESULT."""
    if isinstance(value, int) and not isinstance(value, bool) and _failed(value) and -(1 << 31) <= value < 1 << 32:
        return value & 0xFFFFFFFF
    return int(hresults.E_FAIL)
