"""Job options that need no transfer to be observed: IBackgroundCopyJobHttpOptions 1–3, IBackgroundCopyJob5
properties and IBackgroundCopyJob3 ACL flags (Microsoft's pages of these interfaces; values:
docs/reference/interfaces.md#enums).

Certificates are kept as the job's settings; no Windows certificate store is emulated, so any store name
and thumbprint of the right shape is accepted (our choice; CRYPT_E_NOT_FOUND never occurs).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .. import hresults
from ..constants import (
    IBackgroundCopyJob3,
    IBackgroundCopyJob5,
    IBackgroundCopyJobHttpOptions,
    IBackgroundCopyJobHttpOptions2,
    IBackgroundCopyJobHttpOptions3,
    JobPropertyId,
)
from ..domain import properties
from ..domain.records import JobRecord
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from . import args
from .base import ComObject
from .registry import Access, com_method


def ref_text(value: object, name: str) -> str:
    """A [ref] string parameter: NULL never reaches the service (RPC_X_NULL_REF_POINTER from marshalling)."""
    text = args.text(value, name)
    if text is None:
        raise BitsError(hresults.RPC_X_NULL_REF_POINTER, f"{name} must not be NULL")
    return text


def thumbprint(value: object, name: str) -> bytes:
    """A SHA-1 certificate hash: bytes; NULL is RPC_X_NULL_REF_POINTER, another length RPC_X_BAD_STUB_DATA."""
    if value is not None and not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be bytes")
    if value is None:
        raise BitsError(hresults.RPC_X_NULL_REF_POINTER, f"{name} must not be NULL")
    if len(value) != 20:
        raise BitsError(hresults.RPC_X_BAD_STUB_DATA, "a certificate thumbprint is 20 bytes (SHA-1)")
    return bytes(value)


def property_value(kind: properties.Kind, value: object) -> Any:
    """Check the BITS_JOB_PROPERTY_VALUE member a property uses and return what is stored."""
    if kind is properties.Kind.CLSID:
        if isinstance(value, str):
            value = args.guid(value, "value")
        if not isinstance(value, uuid.UUID):
            raise TypeError("NOTIFICATION_CLSID takes a uuid.UUID")
        return str(value)
    if kind is properties.Kind.BOOL:
        if not isinstance(value, bool):
            raise TypeError("this property takes a bool")
        return value
    if kind is properties.Kind.UINT64:
        return args.uint64(value, "value")  # MAX_DOWNLOAD_SIZE is a UINT64
    if kind is properties.Kind.TARGET:
        return args.integer(value, "value")
    return args.ulong(value, "value")


class JobOptionsMixin(ComObject):
    __slots__ = ()

    if TYPE_CHECKING:
        _rec: JobRecord

    # IBackgroundCopyJobHttpOptions -------------------------------------------------------------

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "SetClientCertificateByID",
        "owner only; no certificate store is emulated",
        access=Access.OWNER,
        convert={"store_location": args.integer, "store_name": args.text, "cert_hash": thumbprint},
    )
    def set_client_certificate_by_id(
        self, caller: AccessToken, store_location: int, store_name: str | None, cert_hash: bytes
    ) -> None:
        self._svc.set_client_certificate(self._rec, store_location, store_name, cert_hash, None)

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "SetClientCertificateByName",
        "owner only; empty subject: E_INVALIDARG",
        access=Access.OWNER,
        convert={"store_location": args.integer, "store_name": args.text, "subject_name": ref_text},
    )
    def set_client_certificate_by_name(
        self, caller: AccessToken, store_location: int, store_name: str | None, subject_name: str
    ) -> None:
        self._svc.set_client_certificate(self._rec, store_location, store_name, None, subject_name)

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "RemoveClientCertificate",
        "owner only (the certificate is the owner's, as credentials are); S_FALSE when none is set",
        access=Access.OWNER,
    )
    def remove_client_certificate(self, caller: AccessToken) -> int:
        return self._svc.remove_client_certificate(self._rec)

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "GetClientCertificate",
        "returns (store_location, store_name, thumbprint, subject_name); none set, or a caller other than the "
        "owner: RPC_X_BAD_STUB_DATA",
        access=Access.READ,
    )
    def get_client_certificate(self, caller: AccessToken) -> tuple[int, str, bytes | None, str | None]:
        cert = self._svc.client_certificate(caller, self._rec)
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
        access=Access.OWNER,
        convert={"request_headers": args.text},
    )
    def set_custom_headers(self, caller: AccessToken, request_headers: str | None) -> None:
        self._svc.set_custom_headers(self._rec, request_headers)

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "GetCustomHeaders",
        "None (S_FALSE) when none set; owner only; after MakeCustomHeadersWriteOnly: E_ACCESSDENIED (our choice)",
        access=Access.READ,
    )
    def get_custom_headers(self, caller: AccessToken) -> str | None:
        return self._svc.custom_headers(caller, self._rec)

    @com_method(
        IBackgroundCopyJobHttpOptions,
        "SetSecurityFlags",
        "unknown bits or redirect policy: E_NOTIMPL",
        access=Access.WRITE,
        convert={"flags": args.ulong},
    )
    def set_security_flags(self, caller: AccessToken, flags: int) -> None:
        self._svc.set_security_flags(self._rec, flags)

    @com_method(IBackgroundCopyJobHttpOptions, "GetSecurityFlags", access=Access.READ)
    def get_security_flags(self, caller: AccessToken) -> int:
        return self._rec.security_flags

    # IBackgroundCopyJobHttpOptions2 ------------------------------------------------------------

    @com_method(
        IBackgroundCopyJobHttpOptions2,
        "SetHttpMethod",
        "before the first Resume (else BG_E_INVALID_STATE, our choice); forces FOREGROUND unless the default verb",
        access=Access.WRITE,
        convert={"method": args.required_text},
    )
    def set_http_method(self, caller: AccessToken, method: str) -> None:
        self._svc.set_http_method(self._rec, method)

    @com_method(
        IBackgroundCopyJobHttpOptions2,
        "GetHttpMethod",
        '"GET" for downloads, "BITS_POST" for uploads',
        access=Access.READ,
    )
    def get_http_method(self, caller: AccessToken) -> str:
        return self._svc.http_method(self._rec)

    # IBackgroundCopyJobHttpOptions3 ------------------------------------------------------------

    @com_method(
        IBackgroundCopyJobHttpOptions3,
        "MakeCustomHeadersWriteOnly",
        "irreversible; always S_OK, also on a CANCELLED or ACKNOWLEDGED job",
        access=Access.WRITE,
        live=False,  # "The return value is always S_OK": no BG_E_INVALID_STATE (the service layer decides)
    )
    def make_custom_headers_write_only(self, caller: AccessToken) -> None:
        self._svc.make_custom_headers_write_only(self._rec)

    @com_method(
        IBackgroundCopyJobHttpOptions3,
        "SetServerCertificateValidationInterface",
        "job must be SUSPENDED (BG_E_READ_ONLY_WHEN_JOB_ACTIVE); no ValidateServerCertificate / "
        "validate_server_certificate: E_NOINTERFACE; called for HTTPS connections (T25)",
        access=Access.WRITE,
    )
    def set_server_certificate_validation_interface(self, caller: AccessToken, callback: object | None) -> None:
        if callback is not None and not (
            callable(getattr(callback, "ValidateServerCertificate", None))
            or callable(getattr(callback, "validate_server_certificate", None))
        ):
            # QueryInterface for IBackgroundCopyServerCertificateValidationCallback fails before the call.
            raise BitsError(hresults.E_NOINTERFACE, "the object has no ValidateServerCertificate method")
        # The callback gets pointers of the client that registered it (transfer/certificates.py).
        self._svc.set_server_certificate_validator(self._rec, callback, self._proxy.spawn())

    # IBackgroundCopyJob3 ACL flags ---------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob3,
        "SetFileACLFlags",
        "only before TRANSFERRED; unknown bits: E_INVALIDARG",
        access=Access.WRITE,
        convert={"flags": args.ulong},
    )
    def set_file_acl_flags(self, caller: AccessToken, flags: int) -> None:
        self._svc.set_file_acl_flags(self._rec, flags)

    @com_method(IBackgroundCopyJob3, "GetFileACLFlags", access=Access.READ)
    def get_file_acl_flags(self, caller: AccessToken) -> int:
        return self._rec.file_acl_flags

    # IBackgroundCopyJob5 -------------------------------------------------------------------------

    @com_method(
        IBackgroundCopyJob5,
        "SetProperty",
        "errors by the bitsmsg.h names (our choice): unknown id, download-only, read-only after AddFile/Resume, "
        "DYNAMIC_CONTENT/ON_DEMAND_MODE with a custom HTTP method; COST_FLAGS takes effect within the call "
        "(a running job the flags refuse is held, a held job they accept is QUEUED)",
        access=Access.WRITE,
        convert={"property_id": args.integer},
    )
    def set_property(self, caller: AccessToken, property_id: JobPropertyId | int, value: object) -> None:
        prop = self._svc.job_property(property_id)  # the table of domain/properties.py
        self._svc.set_property(self._rec, prop, property_value(prop.kind, value))

    @com_method(
        IBackgroundCopyJob5,
        "GetProperty",
        "NOTIFICATION_CLSID comes back as a uuid.UUID",
        access=Access.READ,
        convert={"property_id": args.integer},
    )
    def get_property(self, caller: AccessToken, property_id: JobPropertyId | int) -> Any:
        return self._svc.get_property(self._rec, self._svc.job_property(property_id))
