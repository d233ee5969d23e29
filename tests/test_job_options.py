"""HttpOptions 1–3, Job5 properties and Job3 ACL flags (docs/reference/interfaces.md#enums;
method pages such as https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/nf-bits2_5-ibackgroundcopyjobhttpoptions-<method>)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from emulator import (
    BitsError,
    BitsService,
    IBackgroundCopyJob5,
    IBackgroundCopyJobHttpOptions,
    Job,
    JobPriority,
    JobState,
    JobType,
)
from emulator.constants import JobPropertyId

E_INVALIDARG = 0x80070057
E_NOTIMPL = 0x80004001
E_NOINTERFACE = 0x80004002
E_ACCESSDENIED = 0x80070005
S_FALSE = 1
BG_E_INVALID_STATE = 0x80200002
BG_E_STRING_TOO_LONG = 0x80200021
RPC_X_BAD_STUB_DATA = 0x800706F7
RPC_X_NULL_REF_POINTER = 0x800706F4
BG_E_UNKNOWN_PROPERTY_ID = 0x80200057
BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY = 0x80200060
BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE = 0x80200061
BG_E_READ_ONLY_PROPERTY_AFTER_RESUME = 0x80200062
BG_E_READ_ONLY_WHEN_JOB_ACTIVE = 0x80200075


def _hr(excinfo: pytest.ExceptionInfo[BitsError]) -> int:
    return excinfo.value.hresult


@pytest.fixture
def job(svc: BitsService) -> Job:
    return svc.connect().create_job("options", JobType.DOWNLOAD)[1]


def test_custom_headers_round_trip_and_none_when_unset(job: Job) -> None:
    """GetCustomHeaders page: S_FALSE (None here) when none are set; NULL removes them."""
    assert job.get_custom_headers() is None
    job.set_custom_headers("X-A: 1\r\nX-B: 2\r\n")
    assert job.get_custom_headers() == "X-A: 1\r\nX-B: 2\r\n"
    job.set_custom_headers(None)
    assert job.get_custom_headers() is None


def test_custom_headers_limit_is_16384_including_the_nul(job: Job) -> None:
    """docs/reference/limits.md#strings: custom headers ≤ 16,384 chars including the NUL → BG_E_STRING_TOO_LONG
    beyond."""
    job.set_custom_headers("a" * 16383)
    with pytest.raises(BitsError) as exc:
        job.set_custom_headers("a" * 16384)
    assert _hr(exc) == BG_E_STRING_TOO_LONG


def test_write_only_headers_cannot_be_read(job: Job) -> None:
    """MakeCustomHeadersWriteOnly page; reading afterwards is E_ACCESSDENIED
    (docs/reference/readings.md#write-only-headers)."""
    job.set_custom_headers("X-Secret: 1\r\n")
    job.make_custom_headers_write_only()
    with pytest.raises(BitsError) as exc:
        job.get_custom_headers()
    assert _hr(exc) == E_ACCESSDENIED


MAKE_WRITE_ONLY = (
    "https://learn.microsoft.com/en-us/windows/win32/api/bits10_3/"
    "nf-bits10_3-ibackgroundcopyjobhttpoptions3-makecustomheaderswriteonly"
)


@pytest.mark.parametrize("final", ["cancel", "complete"])
def test_make_custom_headers_write_only_is_s_ok_on_a_final_job(job: Job, final: str) -> None:
    """MakeCustomHeadersWriteOnly page (MAKE_WRITE_ONLY): "The return value is always S_OK." — also once the job
    is CANCELLED or ACKNOWLEDGED (it was BG_E_INVALID_STATE 0x80200002, the rule of the setters whose pages list
    it). The headers are write-only from then on: the held pointer's GetCustomHeaders is E_ACCESSDENIED
    (docs/reference/readings.md#write-only-headers), where before the call it returned the last headers."""
    job.set_custom_headers("X-Secret: 1\r\n")
    getattr(job, final)()
    assert job.get_custom_headers() == "X-Secret: 1\r\n"  # a held pointer's getter: the last value
    assert job.make_custom_headers_write_only() is None  # S_OK
    assert job.make_custom_headers_write_only() is None  # and again: irreversible, still S_OK
    with pytest.raises(BitsError) as exc:
        job.get_custom_headers()
    assert _hr(exc) == E_ACCESSDENIED


def test_admin_who_is_not_the_owner_cannot_read_headers(svc: BitsService) -> None:
    """docs/reference/security.md#ownership: custom headers are owner-only (GetCustomHeaders E_ACCESSDENIED when not
    permitted)."""
    alice = svc.logon(svc.add_user("alice")).token
    bob = svc.logon(svc.add_user("bob", admin=True)).elevated_token
    job_id, job = svc.connect(alice).create_job("h", JobType.DOWNLOAD)
    job.set_custom_headers("X-A: 1\r\n")
    admin_view = svc.connect(bob).get_job(job_id)
    with pytest.raises(BitsError) as exc:
        admin_view.get_custom_headers()
    assert _hr(exc) == E_ACCESSDENIED
    with pytest.raises(BitsError) as exc:
        admin_view.set_custom_headers("X-B: 2\r\n")
    assert _hr(exc) == E_ACCESSDENIED


def test_admin_who_is_not_the_owner_cannot_read_the_client_certificate(svc: BitsService) -> None:
    """GetClientCertificate (https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/
    nf-bits2_5-ibackgroundcopyjobhttpoptions-getclientcertificate): RPC_X_BAD_STUB_DATA (0x800706F7) when "the
    job does not specify a certificate or the user does not have permissions to the certificate". The
    certificate is the owner's (docs/reference/security.md#ownership), so an elevated administrator who is not the
    owner gets RPC_X_BAD_STUB_DATA (it was S_OK with the owner's store and thumbprint;
    docs/reference/readings.md#client-certificates); the owner still reads it."""
    alice = svc.logon(svc.add_user("alice")).token
    bob = svc.logon(svc.add_user("bob", admin=True)).elevated_token
    job_id, job = svc.connect(alice).create_job("c", JobType.DOWNLOAD)
    job.set_client_certificate_by_id(1, "MY", b"\xab" * 20)
    admin_view = svc.connect(bob).get_job(job_id)
    with pytest.raises(BitsError) as exc:
        admin_view.get_client_certificate()
    assert _hr(exc) == RPC_X_BAD_STUB_DATA
    assert job.get_client_certificate() == (1, "MY", b"\xab" * 20, None)


def test_admin_who_is_not_the_owner_cannot_remove_the_client_certificate(svc: BitsService) -> None:
    """docs/reference/security.md#ownership: client certificates belong to the owner — "Only the job owner can
    specify the client certificate" (https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/
    nf-bits2_5-ibackgroundcopyjobhttpoptions-setclientcertificatebyid) — so RemoveClientCertificate from an
    administrator who is not the owner is E_ACCESSDENIED (0x80070005) and the certificate stays, as
    RemoveCredentials refuses to remove the owner's credentials; the owner removes it (S_OK)."""
    alice = svc.logon(svc.add_user("alice")).token
    bob = svc.logon(svc.add_user("bob", admin=True)).elevated_token
    job_id, job = svc.connect(alice).create_job("c", JobType.DOWNLOAD)
    job.set_client_certificate_by_name(1, "MY", "CN=alice")
    admin_view = svc.connect(bob).get_job(job_id)
    with pytest.raises(BitsError) as exc:
        admin_view.remove_client_certificate()
    assert _hr(exc) == E_ACCESSDENIED
    assert job.get_client_certificate() == (1, "MY", None, "CN=alice")
    assert job.remove_client_certificate() == 0  # S_OK
    with pytest.raises(BitsError) as exc:
        job.get_client_certificate()
    assert _hr(exc) == RPC_X_BAD_STUB_DATA


def test_client_certificate_by_id_rules(job: Job) -> None:
    """SetClientCertificateByID page: thumbprint exactly 20 bytes (RPC_X_BAD_STUB_DATA), NULL → RPC_X_NULL_REF_POINTER,
    bad location → E_NOTIMPL; GetClientCertificate with none set → RPC_X_BAD_STUB_DATA; Remove → S_FALSE when none."""
    with pytest.raises(BitsError) as exc:
        job.get_client_certificate()
    assert _hr(exc) == RPC_X_BAD_STUB_DATA
    assert job.remove_client_certificate() == S_FALSE
    with pytest.raises(BitsError) as exc:
        job.set_client_certificate_by_id(1, "MY", b"\x01" * 19)
    assert _hr(exc) == RPC_X_BAD_STUB_DATA
    with pytest.raises(BitsError) as exc:
        job.set_client_certificate_by_id(1, "MY", None)  # type: ignore[arg-type]
    assert _hr(exc) == RPC_X_NULL_REF_POINTER
    with pytest.raises(BitsError) as exc:
        job.set_client_certificate_by_id(8, "MY", b"\x01" * 20)
    assert _hr(exc) == E_NOTIMPL
    job.set_client_certificate_by_id(1, "MY", b"\xab" * 20)
    assert job.get_client_certificate() == (1, "MY", b"\xab" * 20, None)
    assert job.remove_client_certificate() == 0


def test_security_flags(job: Job) -> None:
    """SetSecurityFlags page (docs/reference/interfaces.md#enums): unsupported values → E_NOTIMPL; DISALLOW cannot
    combine with ALLOW_HTTPS_TO_HTTP."""
    job.set_security_flags(0x0001 | 0x0100 | 0x0800)
    assert job.get_security_flags() == 0x0901
    for bad in (0x0020, 0x0300, 0x0200 | 0x0800):
        with pytest.raises(BitsError) as exc:
            job.set_security_flags(bad)
        assert _hr(exc) == E_NOTIMPL


def test_http_method_defaults_and_forces_foreground(svc: BitsService) -> None:
    """SetHttpMethod/GetHttpMethod pages, docs/reference/readings.md#http-method-timing: GET / BITS_POST by default; a
    custom verb forces FOREGROUND; only before the first Resume (BG_E_INVALID_STATE afterwards, emulator choice)."""
    mgr = svc.connect()
    _, down = mgr.create_job("d", JobType.DOWNLOAD)
    _, up = mgr.create_job("u", JobType.UPLOAD)
    assert down.get_http_method() == "GET"
    assert up.get_http_method() == "BITS_POST"
    down.set_http_method("GET")
    assert down.get_priority() is JobPriority.NORMAL
    down.set_http_method("PUT")
    assert (down.get_http_method(), down.get_priority()) == ("PUT", JobPriority.FOREGROUND)
    down.add_file("http://example.com/f", "C:\\data\\f.bin")
    down.resume()
    with pytest.raises(BitsError) as exc:
        down.set_http_method("PATCH")
    assert _hr(exc) == BG_E_INVALID_STATE


def test_server_certificate_validation_interface_needs_a_suspended_job(job: Job) -> None:
    """SetServerCertificateValidationInterface page: E_NOINTERFACE for an object without the callback,
    BG_E_READ_ONLY_WHEN_JOB_ACTIVE unless suspended."""

    class Validator:
        def validate_server_certificate(self, *args: object) -> int:
            return 0

    with pytest.raises(BitsError) as exc:
        job.set_server_certificate_validation_interface(object())
    assert _hr(exc) == E_NOINTERFACE
    job.set_server_certificate_validation_interface(Validator())
    job.add_file("http://example.com/f", "C:\\data\\f.bin")
    job.resume()
    with pytest.raises(BitsError) as exc:
        job.set_server_certificate_validation_interface(None)
    assert _hr(exc) == BG_E_READ_ONLY_WHEN_JOB_ACTIVE


def test_job5_property_defaults_and_round_trip(job: Job) -> None:
    """docs/reference/limits.md#defaults: MINIMUM_NOTIFICATION_INTERVAL_MS defaults to 500; NOTIFICATION_CLSID to
    GUID_NULL."""
    assert job.get_property(JobPropertyId.MINIMUM_NOTIFICATION_INTERVAL_MS) == 500
    assert job.get_property(JobPropertyId.NOTIFICATION_CLSID) == uuid.UUID(int=0)
    clsid = uuid.uuid4()
    job.set_property(JobPropertyId.NOTIFICATION_CLSID, clsid)
    assert job.get_property(JobPropertyId.NOTIFICATION_CLSID) == clsid
    job.set_property(JobPropertyId.DYNAMIC_CONTENT, True)
    assert job.get_property(JobPropertyId.DYNAMIC_CONTENT) is True
    with pytest.raises(TypeError):
        job.set_property(JobPropertyId.DYNAMIC_CONTENT, 1)


def test_job5_property_errors(svc: BitsService) -> None:
    """docs/reference/readings.md#job5-errors (bitsmsg.h names): unknown id, download-only properties, read-only after
    AddFile / Resume."""
    mgr = svc.connect()
    _, up = mgr.create_job("u", JobType.UPLOAD)
    _, down = mgr.create_job("d", JobType.DOWNLOAD)
    for pid in (6, 8, 11):
        with pytest.raises(BitsError) as exc:
            down.set_property(pid, 1)
        assert _hr(exc) == BG_E_UNKNOWN_PROPERTY_ID
    with pytest.raises(BitsError) as exc:
        up.set_property(JobPropertyId.HIGH_PERFORMANCE, True)
    assert _hr(exc) == BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY
    down.add_file("http://example.com/f", "C:\\data\\f.bin")
    with pytest.raises(BitsError) as exc:
        down.set_property(JobPropertyId.HIGH_PERFORMANCE, True)
    assert _hr(exc) == BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE
    down.resume()
    with pytest.raises(BitsError) as exc:
        down.set_property(JobPropertyId.DYNAMIC_CONTENT, True)
    assert _hr(exc) == BG_E_READ_ONLY_PROPERTY_AFTER_RESUME


def test_interfaces_missing_from_older_bits() -> None:
    """docs/reference/interfaces.md#interfaces: Job5 arrived with BITS 5.0, so Windows 7 (BITS 4.0) has no SetProperty:
    E_NOINTERFACE."""
    with BitsService("win7") as svc:
        job = svc.connect().create_job("old", JobType.DOWNLOAD)[1]
        with pytest.raises(BitsError) as exc:
            job.query_interface(IBackgroundCopyJob5)
        assert _hr(exc) == E_NOINTERFACE
        with pytest.raises(BitsError) as exc:
            job.set_property(JobPropertyId.COST_FLAGS, 1)
        assert _hr(exc) == E_NOINTERFACE
        assert job.query_interface(IBackgroundCopyJobHttpOptions) is not None


def test_acl_flags(job: Job) -> None:
    """SetFileACLFlags page: 0 by default; unknown bits → E_INVALIDARG."""
    assert job.get_file_acl_flags() == 0
    job.set_file_acl_flags(0xF)
    assert job.get_file_acl_flags() == 0xF
    with pytest.raises(BitsError) as exc:
        job.set_file_acl_flags(0x10)
    assert _hr(exc) == E_INVALIDARG


def test_client_certificate_name_lengths(job: Job) -> None:
    """SetClientCertificateByID / ByName pages
    (https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/nf-bits2_5-ibackgroundcopyjobhttpoptions-setclientcertificatebyid):
    the store name and the subject name are limited to 256 characters including the NUL, so 255 are accepted
    and 256 give BG_E_STRING_TOO_LONG 0x80200021, the certificate unchanged."""
    job.set_client_certificate_by_id(1, "s" * 255, b"\xab" * 20)
    job.set_client_certificate_by_name(1, "MY", "n" * 255)
    assert job.get_client_certificate() == (1, "MY", None, "n" * 255)
    with pytest.raises(BitsError) as exc:
        job.set_client_certificate_by_id(1, "s" * 256, b"\xab" * 20)
    assert _hr(exc) == BG_E_STRING_TOO_LONG
    with pytest.raises(BitsError) as exc:
        job.set_client_certificate_by_name(1, "MY", "n" * 256)
    assert _hr(exc) == BG_E_STRING_TOO_LONG
    assert job.get_client_certificate() == (1, "MY", None, "n" * 255)


def test_max_download_size_is_a_uint64(job: Job) -> None:
    """Emulator choice (docs/reference/readings.md#max-download-size-member): BITS_JOB_PROPERTY_ID
    (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id) names the
    Enable member, BITS_JOB_PROPERTY_VALUE the Uint64 one; the emulator takes a byte count, 0..2⁶⁴−1."""
    job.set_property(JobPropertyId.MAX_DOWNLOAD_SIZE, 2**64 - 1)
    assert job.get_property(JobPropertyId.MAX_DOWNLOAD_SIZE) == 2**64 - 1
    with pytest.raises(TypeError):
        job.set_property(JobPropertyId.MAX_DOWNLOAD_SIZE, True)
    with pytest.raises(OverflowError):
        job.set_property(JobPropertyId.MAX_DOWNLOAD_SIZE, 2**64)
    assert job.get_property(JobPropertyId.MAX_DOWNLOAD_SIZE) == 2**64 - 1


def test_peer_caching_flags_outside_the_three_are_invalidarg(job: Job) -> None:
    """Emulator choice (docs/reference/readings.md#peer-caching): SetPeerCachingFlags
    (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyjob4-setpeercachingflags)
    lists 0x1, 0x2, 0x4 and only S_OK; another bit is E_INVALIDARG (0x80070057) and changes nothing."""
    job.set_peer_caching_flags(0x7)
    assert job.get_peer_caching_flags() == 0x7
    for bad in (0x8, 0x80000000):
        with pytest.raises(BitsError) as exc:
            job.set_peer_caching_flags(bad)
        assert _hr(exc) == E_INVALIDARG
    assert job.get_peer_caching_flags() == 0x7


def test_cost_flags_hold_a_job_the_network_cost_excludes(svc: BitsService, tmp_path: Path) -> None:
    """Emulator choice (docs/reference/readings.md#cost-flags): COST_FLAGS
    (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id) is stored
    and returned, any DWORD accepted; a job whose flags exclude the network's cost state
    (BITS_COST_STATE_UNRESTRICTED 0x1 by default) does not transfer: TRANSIENT_ERROR,
    BG_E_BLOCKED_BY_COST_TRANSFER_POLICY 0x80200059. (tests/test_cost_flags.py has the rest.)"""
    svc.network.register("http://srv/c", b"c" * 10)
    _, job = svc.connect().create_job("cost", JobType.DOWNLOAD)
    job.set_property(JobPropertyId.COST_FLAGS, 0x80000002)  # CAPPED_USAGE_UNKNOWN and IGNORE_CONGESTION only
    assert job.get_property(JobPropertyId.COST_FLAGS) == 0x80000002
    job.add_file("http://srv/c", str(tmp_path / "c"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == 0x80200059


def test_use_stored_credentials_supports_the_proxy_target_only(job: Job) -> None:
    """BITS_JOB_PROPERTY_ID (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id):
    USE_STORED_CREDENTIALS uses the Target member, "only the BG_AUTH_TARGET_PROXY target is supported". Emulator
    choice (docs/reference/readings.md#stored-credentials): default 0; another target is
    BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED (0x80200066) and changes nothing."""
    assert job.get_property(JobPropertyId.USE_STORED_CREDENTIALS) == 0
    job.set_property(JobPropertyId.USE_STORED_CREDENTIALS, 2)  # BG_AUTH_TARGET_PROXY
    assert job.get_property(JobPropertyId.USE_STORED_CREDENTIALS) == 2
    for bad in (1, 3):  # BG_AUTH_TARGET_SERVER, not a target
        with pytest.raises(BitsError) as exc:
            job.set_property(JobPropertyId.USE_STORED_CREDENTIALS, bad)
        assert _hr(exc) == 0x80200066
    assert job.get_property(JobPropertyId.USE_STORED_CREDENTIALS) == 2
    job.set_property(JobPropertyId.USE_STORED_CREDENTIALS, 0)
    assert job.get_property(JobPropertyId.USE_STORED_CREDENTIALS) == 0
