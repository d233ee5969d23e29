"""Job options that need no transfer to be observed: IBackgroundCopyJobHttpOptions 1–3, IBackgroundCopyJob5
properties and IBackgroundCopyJob3 ACL flags (Microsoft's pages of these interfaces; values:
docs/reference/interfaces.md#enums).

Certificates are kept as the job's settings; no Windows certificate store is emulated, so any store name
and thumbprint of the right shape is accepted (our choice; CRYPT_E_NOT_FOUND never occurs).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

from .. import hresults
from ..constants import (
    VALID_SECURITY_FLAGS,
    AuthTarget,
    IBackgroundCopyJob3,
    IBackgroundCopyJob5,
    IBackgroundCopyJobHttpOptions,
    IBackgroundCopyJobHttpOptions2,
    IBackgroundCopyJobHttpOptions3,
    JobPriority,
    JobPropertyId,
    JobState,
    JobType,
)
from ..domain import access, limits
from ..domain.records import JobRecord
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .registry import com_method

# JobRecord.properties key 0 (an id BITS does not use) records that the job has been resumed once, which
# DYNAMIC_CONTENT, MAX_DOWNLOAD_SIZE and SetHttpMethod depend on ("only before the first Resume").
RESUMED_MARK: Final = 0
TRANSFER_POLICY_ALWAYS: Final = 0x800000FF
PROPERTY_DEFAULTS: Final[dict[int, Any]] = {
    JobPropertyId.COST_FLAGS: TRANSFER_POLICY_ALWAYS,  # undocumented default; our choice: any network
    JobPropertyId.NOTIFICATION_CLSID: str(uuid.UUID(int=0)),
    JobPropertyId.DYNAMIC_CONTENT: False,
    JobPropertyId.HIGH_PERFORMANCE: False,
    JobPropertyId.MAX_DOWNLOAD_SIZE: 0,  # 0 = no cap (our reading)
    JobPropertyId.USE_STORED_CREDENTIALS: 0,
    JobPropertyId.MINIMUM_NOTIFICATION_INTERVAL_MS: 500,
    JobPropertyId.ON_DEMAND_MODE: False,
}
_NEEDS_10_1: Final = frozenset({JobPropertyId.MINIMUM_NOTIFICATION_INTERVAL_MS, JobPropertyId.ON_DEMAND_MODE})
_DOWNLOAD_ONLY: Final = frozenset(
    {
        JobPropertyId.DYNAMIC_CONTENT,
        JobPropertyId.HIGH_PERFORMANCE,
        JobPropertyId.MAX_DOWNLOAD_SIZE,
        JobPropertyId.ON_DEMAND_MODE,
    }
)
_MAX_STORE_NAME: Final = 255  # 256 including the NUL


def has_resumed(rec: JobRecord) -> bool:
    return bool(rec.properties.get(RESUMED_MARK))


def _null(value: object, name: str) -> None:
    if value is None:
        raise BitsError(hresults.RPC_X_NULL_REF_POINTER, f"{name} must not be NULL")


class JobOptionsMixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _rec: JobRecord

        def _read(self) -> JobRecord: ...
        def _write(self) -> tuple[AccessToken, JobRecord]: ...

    def _owner_write(self) -> JobRecord:
        caller, rec = self._write()
        access.check_owner_only(caller, rec)
        return rec

    # IBackgroundCopyJobHttpOptions -------------------------------------------------------------

    def _set_certificate(
        self, location: int, store_name: str | None, thumbprint: bytes | None, subject: str | None
    ) -> None:
        with self._svc.lock:
            rec = self._owner_write()
            if location not in range(8):
                raise BitsError(hresults.E_NOTIMPL, f"{location} is not a BG_CERT_STORE_LOCATION")
            _null(store_name, "store_name")
            assert store_name is not None
            if limits.utf16_len(store_name) > _MAX_STORE_NAME or (subject and limits.utf16_len(subject) > 255):
                raise BitsError(hresults.BG_E_STRING_TOO_LONG)
            cert = {
                "store_location": location,
                "store_name": store_name,
                "thumbprint": thumbprint.hex() if thumbprint is not None else None,
                "subject_name": subject,
            }
            self._svc.queue.update(rec, client_certificate=cert)

    @com_method(
        IBackgroundCopyJobHttpOptions, "SetClientCertificateByID", "owner only; no certificate store is emulated"
    )
    def set_client_certificate_by_id(self, store_location: int, store_name: str, cert_hash: bytes) -> None:
        location = args.integer(store_location, "store_location")
        name = args.text(store_name, "store_name")
        if cert_hash is not None and not isinstance(cert_hash, (bytes, bytearray)):
            raise TypeError("cert_hash must be bytes")
        self._require(IBackgroundCopyJobHttpOptions)
        if cert_hash is None:
            raise BitsError(hresults.RPC_X_NULL_REF_POINTER, "cert_hash must not be NULL")
        if len(cert_hash) != 20:
            raise BitsError(hresults.RPC_X_BAD_STUB_DATA, "a certificate thumbprint is 20 bytes (SHA-1)")
        self._set_certificate(location, name, bytes(cert_hash), None)

    @com_method(IBackgroundCopyJobHttpOptions, "SetClientCertificateByName", "owner only; empty subject: E_INVALIDARG")
    def set_client_certificate_by_name(self, store_location: int, store_name: str, subject_name: str) -> None:
        location = args.integer(store_location, "store_location")
        name = args.text(store_name, "store_name")
        subject = args.text(subject_name, "subject_name")
        self._require(IBackgroundCopyJobHttpOptions)
        _null(subject, "subject_name")
        if not subject:
            raise BitsError(hresults.E_INVALIDARG, "subject name must not be empty")
        self._set_certificate(location, name, None, subject)

    @com_method(IBackgroundCopyJobHttpOptions, "RemoveClientCertificate", "S_FALSE when none is set")
    def remove_client_certificate(self) -> int:
        self._require(IBackgroundCopyJobHttpOptions)
        with self._svc.lock:
            _, rec = self._write()
            if rec.client_certificate is None:
                return int(hresults.S_FALSE)
            self._svc.queue.update(rec, client_certificate=None)
            return int(hresults.S_OK)

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "GetClientCertificate",
        "returns (store_location, store_name, thumbprint, subject_name); none set: RPC_X_BAD_STUB_DATA",
    )
    def get_client_certificate(self) -> tuple[int, str, bytes | None, str | None]:
        self._require(IBackgroundCopyJobHttpOptions)
        with self._svc.lock:
            rec = self._read()
            cert = rec.client_certificate
            if cert is None:
                raise BitsError(hresults.RPC_X_BAD_STUB_DATA, "no client certificate is set")
            thumb = cert.get("thumbprint")
            return (
                int(cert["store_location"]),
                str(cert["store_name"]),
                bytes.fromhex(thumb) if thumb else None,
                cert.get("subject_name"),
            )

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "SetCustomHeaders",
        "owner only; NULL removes; over 16,384 chars: BG_E_STRING_TOO_LONG",
    )
    def set_custom_headers(self, request_headers: str | None) -> None:
        headers = args.text(request_headers, "request_headers")
        self._require(IBackgroundCopyJobHttpOptions)
        with self._svc.lock:
            rec = self._owner_write()
            if headers is not None and limits.utf16_len(headers) + 1 > limits.MAX_CUSTOM_HEADERS:
                raise BitsError(hresults.BG_E_STRING_TOO_LONG, "custom headers longer than 16 KB")
            self._svc.queue.update(rec, custom_headers=headers)

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "GetCustomHeaders",
        "None (S_FALSE) when none set; owner only; after MakeCustomHeadersWriteOnly: E_ACCESSDENIED (our choice)",
    )
    def get_custom_headers(self) -> str | None:
        self._require(IBackgroundCopyJobHttpOptions)
        with self._svc.lock:
            caller = self._caller()
            self._svc.scheduler.catch_up()
            rec = self._rec
            access.check_read(caller, rec)
            if caller.user_sid != rec.owner_sid or rec.custom_headers_write_only:
                raise BitsError(hresults.E_ACCESSDENIED, "custom headers are readable by the owner only")
            return rec.custom_headers

    @com_method(IBackgroundCopyJobHttpOptions, "SetSecurityFlags", "unknown bits or redirect policy: E_NOTIMPL")
    def set_security_flags(self, flags: int) -> None:
        value = args.ulong(flags, "flags")
        self._require(IBackgroundCopyJobHttpOptions)
        with self._svc.lock:
            _, rec = self._write()
            policy = value & 0x0700
            bad = value & ~VALID_SECURITY_FLAGS or policy not in (0, 0x0100, 0x0200)
            if bad or (policy == 0x0200 and value & 0x0800):
                raise BitsError(hresults.E_NOTIMPL, f"security flags {value:#x} are not supported")
            if policy and self._svc.profile.bits_version < (3, 0):
                raise BitsError(hresults.E_NOTIMPL, "redirect policies need BITS 3.0")
            self._svc.queue.update(rec, security_flags=value)

    @com_method(IBackgroundCopyJobHttpOptions, "GetSecurityFlags")
    def get_security_flags(self) -> int:
        self._require(IBackgroundCopyJobHttpOptions)
        with self._svc.lock:
            return self._read().security_flags

    # IBackgroundCopyJobHttpOptions2 ------------------------------------------------------------

    @com_method(
        IBackgroundCopyJobHttpOptions2,
        "SetHttpMethod",
        "before the first Resume (else BG_E_INVALID_STATE, our choice); forces FOREGROUND unless the default verb",
    )
    def set_http_method(self, method: str) -> None:
        verb = args.required_text(method, "method")
        self._require(IBackgroundCopyJobHttpOptions2)
        with self._svc.lock:
            _, rec = self._write()
            if has_resumed(rec):
                raise BitsError(hresults.BG_E_INVALID_STATE, "the HTTP method is set before the first Resume")
            if not verb or not verb.isascii() or any(c.isspace() for c in verb):
                raise BitsError(hresults.E_INVALIDARG, f"{verb!r} is not an HTTP method")
            props = rec.properties
            if props.get(JobPropertyId.DYNAMIC_CONTENT) or props.get(JobPropertyId.ON_DEMAND_MODE):
                raise BitsError(hresults.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD)
            if verb == _default_verb(rec):
                return  # the default verb is a no-op: no priority change (sethttpmethod page)
            self._svc.queue.update(rec, http_method=verb, priority=JobPriority.FOREGROUND)

    @com_method(IBackgroundCopyJobHttpOptions2, "GetHttpMethod", '"GET" for downloads, "BITS_POST" for uploads')
    def get_http_method(self) -> str:
        self._require(IBackgroundCopyJobHttpOptions2)
        with self._svc.lock:
            rec = self._read()
            return rec.http_method or _default_verb(rec)

    # IBackgroundCopyJobHttpOptions3 ------------------------------------------------------------

    @com_method(IBackgroundCopyJobHttpOptions3, "MakeCustomHeadersWriteOnly", "irreversible")
    def make_custom_headers_write_only(self) -> None:
        self._require(IBackgroundCopyJobHttpOptions3)
        with self._svc.lock:
            _, rec = self._write()
            self._svc.queue.update(rec, custom_headers_write_only=True)

    @com_method(
        IBackgroundCopyJobHttpOptions3,
        "SetServerCertificateValidationInterface",
        "job must be SUSPENDED (BG_E_READ_ONLY_WHEN_JOB_ACTIVE); no validate_server_certificate: E_NOINTERFACE",
    )
    def set_server_certificate_validation_interface(self, callback: object | None) -> None:
        self._require(IBackgroundCopyJobHttpOptions3)
        with self._svc.lock:
            _, rec = self._write()
            if callback is not None and not callable(getattr(callback, "validate_server_certificate", None)):
                raise BitsError(hresults.E_NOINTERFACE, "the object has no validate_server_certificate method")
            if rec.state is not JobState.SUSPENDED:
                raise BitsError(hresults.BG_E_READ_ONLY_WHEN_JOB_ACTIVE)
            self._svc.queue.update(rec, server_cert_validator=callback)

    # IBackgroundCopyJob3 ACL flags ---------------------------------------------------------------

    @com_method(IBackgroundCopyJob3, "SetFileACLFlags", "only before TRANSFERRED; unknown bits: E_INVALIDARG")
    def set_file_acl_flags(self, flags: int) -> None:
        value = args.ulong(flags, "flags")
        self._require(IBackgroundCopyJob3)
        with self._svc.lock:
            _, rec = self._write()
            if rec.state is JobState.TRANSFERRED:
                raise BitsError(hresults.BG_E_INVALID_STATE, "ACL flags must be set before the job is TRANSFERRED")
            if value & ~0xF:
                raise BitsError(hresults.E_INVALIDARG, f"ACL flags {value:#x} include unknown bits")
            self._svc.queue.update(rec, file_acl_flags=value)

    @com_method(IBackgroundCopyJob3, "GetFileACLFlags")
    def get_file_acl_flags(self) -> int:
        self._require(IBackgroundCopyJob3)
        with self._svc.lock:
            return self._read().file_acl_flags

    # IBackgroundCopyJob5 -------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob5,
        "SetProperty",
        "errors by the bitsmsg.h names (our choice): unknown id, download-only, read-only after AddFile/Resume",
    )
    def set_property(self, property_id: JobPropertyId | int, value: object) -> None:
        pid = args.integer(property_id, "property_id")
        self._require(IBackgroundCopyJob5)
        with self._svc.lock:
            _, rec = self._write()
            key = self._property_id(pid)
            stored = _property_value(key, value)
            if key in _DOWNLOAD_ONLY and rec.job_type is not JobType.DOWNLOAD:
                raise BitsError(hresults.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY)
            if key is JobPropertyId.HIGH_PERFORMANCE and rec.files:
                raise BitsError(hresults.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE)
            if key in (JobPropertyId.DYNAMIC_CONTENT, JobPropertyId.MAX_DOWNLOAD_SIZE) and has_resumed(rec):
                raise BitsError(hresults.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME)
            if key is JobPropertyId.DYNAMIC_CONTENT and stored and any(f.ranges for f in rec.files):
                raise BitsError(hresults.E_INVALIDARG, "dynamic content cannot be used with file ranges")
            if key is JobPropertyId.USE_STORED_CREDENTIALS and stored not in (0, AuthTarget.PROXY):
                raise BitsError(
                    hresults.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED, "only the proxy target is supported"
                )
            self._svc.queue.update(rec, properties={**rec.properties, int(key): stored})

    @com_method(IBackgroundCopyJob5, "GetProperty", "NOTIFICATION_CLSID comes back as a uuid.UUID")
    def get_property(self, property_id: JobPropertyId | int) -> Any:
        pid = args.integer(property_id, "property_id")
        self._require(IBackgroundCopyJob5)
        with self._svc.lock:
            rec = self._read()
            key = self._property_id(pid)
            value = rec.properties.get(int(key), PROPERTY_DEFAULTS[key])
            return uuid.UUID(value) if key is JobPropertyId.NOTIFICATION_CLSID else value

    def _property_id(self, pid: int) -> JobPropertyId:
        try:
            key = JobPropertyId(pid)
        except ValueError:
            raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"no BITS job property {pid}") from None
        if key in _NEEDS_10_1 and self._svc.profile.bits_version < (10, 1):
            raise BitsError(hresults.BG_E_UNKNOWN_PROPERTY_ID, f"{key.name} needs BITS 10.1")
        return key


def _default_verb(rec: JobRecord) -> str:
    return "GET" if rec.job_type is JobType.DOWNLOAD else "BITS_POST"


def _property_value(key: JobPropertyId, value: object) -> Any:
    """Check the union member each property uses (BITS_JOB_PROPERTY_VALUE) and return what is stored."""
    if key is JobPropertyId.NOTIFICATION_CLSID:
        if isinstance(value, str):
            value = args.guid(value, "value")
        if not isinstance(value, uuid.UUID):
            raise TypeError("NOTIFICATION_CLSID takes a uuid.UUID")
        return str(value)
    if key in (JobPropertyId.DYNAMIC_CONTENT, JobPropertyId.HIGH_PERFORMANCE, JobPropertyId.ON_DEMAND_MODE):
        if not isinstance(value, bool):
            raise TypeError(f"{key.name} takes a bool")
        return value
    if key is JobPropertyId.MAX_DOWNLOAD_SIZE:
        size = args.integer(value, "value")
        if not 0 <= size < 2**64:
            raise OverflowError("MAX_DOWNLOAD_SIZE is a UINT64")
        return size
    if key is JobPropertyId.USE_STORED_CREDENTIALS:
        return args.integer(value, "value")
    return args.ulong(value, "value")
