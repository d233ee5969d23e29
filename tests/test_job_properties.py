"""IBackgroundCopyJob properties: defaults, limits and validation (docs/reference/limits.md and the method
pages https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-<method>)."""

from __future__ import annotations

import pytest

from emulator import BitsError, BitsService, Job, JobPriority, JobState, JobType, ProxyUsage

E_INVALIDARG = 0x80070057
E_NOTIMPL = 0x80004001
BG_E_STRING_TOO_LONG = 0x80200021
BG_E_ERROR_INFORMATION_UNAVAILABLE = 0x8020000F
BG_E_TOO_MANY_FILES = 0x8020001C


@pytest.fixture
def job(svc: BitsService) -> Job:
    _, j = svc.connect().create_job("props", JobType.DOWNLOAD)
    return j


def test_new_job_defaults_bits_core_6_1(job: Job) -> None:
    """docs/reference/limits.md#defaults: state 3, priority 2, retry 600, no-progress 1209600,
    notify flags 3, proxy PRECONFIG, progress 0/0/0/0, error count 0, GetError → 0x8020000F."""
    assert job.get_state() == JobState.SUSPENDED and JobState.SUSPENDED.value == 3
    assert job.get_priority() == JobPriority.NORMAL and JobPriority.NORMAL.value == 2
    assert job.get_minimum_retry_delay() == 600
    assert job.get_no_progress_timeout() == 1_209_600
    assert job.get_notify_flags() == 3
    assert job.get_notify_interface() is None
    assert job.get_proxy_settings() == (ProxyUsage.PRECONFIG, None, None)
    assert job.get_proxy_settings()[0] == 0
    p = job.get_progress()
    assert (p.bytes_total, p.bytes_transferred, p.files_total, p.files_transferred) == (0, 0, 0, 0)
    assert job.get_error_count() == 0
    assert job.get_description() == ""
    assert job.get_display_name() == "props"
    assert job.get_type() is JobType.DOWNLOAD
    t = job.get_times()
    assert t.creation_time == t.modification_time
    assert t.transfer_completion_time is None
    with pytest.raises(BitsError) as exc:
        job.get_error()
    assert exc.value.hresult == BG_E_ERROR_INFORMATION_UNAVAILABLE


def test_display_name_257_chars_bits_core_6_2(svc: BitsService, job: Job) -> None:
    """docs/reference/limits.md#strings, readings.md#display-name: CreateJob with 257 chars → E_INVALIDARG;
    SetDisplayName → BG_E_STRING_TOO_LONG (both codes are listed on the SetDisplayName page; our choice)."""
    mgr = svc.connect()
    with pytest.raises(BitsError) as exc:
        mgr.create_job("x" * 257, JobType.DOWNLOAD)
    assert exc.value.hresult == E_INVALIDARG
    mgr.create_job("x" * 256, JobType.DOWNLOAD)
    with pytest.raises(BitsError) as exc:
        job.set_display_name("y" * 257)
    assert exc.value.hresult == BG_E_STRING_TOO_LONG
    assert job.get_display_name() == "props"
    job.set_display_name("y" * 256)
    assert job.get_display_name() == "y" * 256


def test_display_name_counts_utf16_units_bits_core_0_1(job: Job) -> None:
    """docs/reference/limits.md: chars are UTF-16 code units — 129 astral characters are 258 units."""
    with pytest.raises(BitsError) as exc:
        job.set_display_name("\U0001f600" * 129)
    assert exc.value.hresult == BG_E_STRING_TOO_LONG


def test_display_name_none_is_e_invalidarg_bits_core_2_2(svc: BitsService, job: Job) -> None:
    """CreateJob and SetDisplayName pages: a NULL display name → E_INVALIDARG."""
    with pytest.raises(BitsError) as exc:
        svc.connect().create_job(None, JobType.DOWNLOAD)
    assert exc.value.hresult == E_INVALIDARG
    with pytest.raises(BitsError) as exc:
        job.set_display_name(None)
    assert exc.value.hresult == E_INVALIDARG


def test_description_1025_chars_is_string_too_long_bits_core_6_2(job: Job) -> None:
    """docs/reference/limits.md#strings: description of 1,025 chars → 0x80200021; 1,024 is accepted."""
    with pytest.raises(BitsError) as exc:
        job.set_description("d" * 1025)
    assert exc.value.hresult == BG_E_STRING_TOO_LONG
    assert job.get_description() == ""
    job.set_description("d" * 1024)
    assert job.get_description() == "d" * 1024
    with pytest.raises(BitsError) as exc:
        job.set_description(None)
    assert exc.value.hresult == E_INVALIDARG


def test_minimum_retry_delay_is_raised_to_5_bits_core_2_2(job: Job) -> None:
    """docs/reference/limits.md#defaults, SetMinimumRetryDelay page: values below 5 are silently raised to 5."""
    job.set_minimum_retry_delay(1)
    assert job.get_minimum_retry_delay() == 5
    job.set_minimum_retry_delay(0)
    assert job.get_minimum_retry_delay() == 5
    job.set_minimum_retry_delay(30)
    assert job.get_minimum_retry_delay() == 30


def test_no_progress_timeout_round_trip_bits_core_2_2(job: Job) -> None:
    """T16 (docs/reference/states.md#t16), SetNoProgressTimeout page: 0 is allowed (never retry)."""
    job.set_no_progress_timeout(0)
    assert job.get_no_progress_timeout() == 0
    job.set_no_progress_timeout(3600)
    assert job.get_no_progress_timeout() == 3600


def test_priority_out_of_range_is_e_notimpl_bits_core_2_2(job: Job) -> None:
    """SetPriority page (docs/reference/interfaces.md#enums): SetPriority(4) → E_NOTIMPL 0x80004001."""
    for p in JobPriority:
        job.set_priority(p)
        assert job.get_priority() is p
    job.set_priority(JobPriority.LOW)
    for bad in (4, -1):
        with pytest.raises(BitsError) as exc:
            job.set_priority(bad)
        assert exc.value.hresult == E_NOTIMPL
    assert job.get_priority() is JobPriority.LOW


def test_notify_flags_bits_core_4_5(job: Job) -> None:
    """SetNotifyFlags page (docs/reference/interfaces.md#enums): SetNotifyFlags(0x40) → E_NOTIMPL; valid flags
    round-trip."""
    job.set_notify_flags(0x1 | 0x4)
    assert job.get_notify_flags() == 0x5
    with pytest.raises(BitsError) as exc:
        job.set_notify_flags(0x40)
    assert exc.value.hresult == E_NOTIMPL
    assert job.get_notify_flags() == 0x5


def test_notify_interface_round_trip_bits_core_2_2(job: Job) -> None:
    """SetNotifyInterface page: last caller wins; None removes."""
    cb = object()
    job.set_notify_interface(cb)
    assert job.get_notify_interface() is cb
    job.set_notify_interface(None)
    assert job.get_notify_interface() is None


def test_proxy_settings_bits_core_2_2(job: Job) -> None:
    """SetProxySettings page, docs/reference/readings.md#proxy-usage-lists: usage 4 → E_NOTIMPL; OVERRIDE with a NULL
    list → E_INVALIDARG; lists with another usage → E_INVALIDARG (our choice)."""
    with pytest.raises(BitsError) as exc:
        job.set_proxy_settings(4, None, None)
    assert exc.value.hresult == E_NOTIMPL
    with pytest.raises(BitsError) as exc:
        job.set_proxy_settings(ProxyUsage.OVERRIDE, None, None)
    assert exc.value.hresult == E_INVALIDARG
    with pytest.raises(BitsError) as exc:
        job.set_proxy_settings(ProxyUsage.NO_PROXY, "proxy:8080", None)
    assert exc.value.hresult == E_INVALIDARG
    assert job.get_proxy_settings() == (ProxyUsage.PRECONFIG, None, None)
    job.set_proxy_settings(ProxyUsage.OVERRIDE, "http=proxy:8080", "<local>")
    assert job.get_proxy_settings() == (ProxyUsage.OVERRIDE, "http=proxy:8080", "<local>")
    job.set_proxy_settings(ProxyUsage.AUTODETECT)
    assert job.get_proxy_settings() == (ProxyUsage.AUTODETECT, None, None)


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        ("http://example.com/f", "relative\\f.bin"),
        ("http://example.com/f", "f.bin"),
        ("ftp://example.com/f", "C:\\data\\f.bin"),
        ("gopher://example.com/f", "C:\\data\\f.bin"),
        ("http://example.com/" + "a" * 2200, "C:\\data\\f.bin"),
        ("http://example.com/*.bin", "C:\\data\\f.bin"),
        ("http://example.com/f", "C:\\data\\*.bin"),
    ],
)
def test_bad_names_are_e_invalidarg_bits_core_6_3(job: Job, remote: str, local: str) -> None:
    """docs/reference/limits.md#names: relative local path, unsupported scheme, URL > 2200 chars, wildcards →
    E_INVALIDARG and nothing added."""
    with pytest.raises(BitsError) as exc:
        job.add_file(remote, local)
    assert exc.value.hresult == E_INVALIDARG
    assert job.get_progress().files_total == 0


def test_url_of_exactly_2200_chars_is_accepted_bits_core_6_2(job: Job) -> None:
    """docs/reference/limits.md#strings: the limit is 2,200 chars (segments ≤ MAX_PATH)."""
    base = "http://example.com/"
    seg = "a" * 200
    path = "/".join([seg] * 11)
    url = (base + path)[:2200]
    assert len(url) == 2200
    job.add_file(url, "C:\\data\\f.bin")
    assert job.get_progress().files_total == 1


def test_upload_job_second_file_bits_core_2_2(svc: BitsService) -> None:
    """docs/reference/limits.md#strings (AddFile, AddFileSet pages): upload job — 2nd AddFile → BG_E_TOO_MANY_FILES
    0x8020001C; AddFileSet with 2 entries → 0x8020001C and nothing added."""
    mgr = svc.connect()
    _, up = mgr.create_job("up", JobType.UPLOAD)
    with pytest.raises(BitsError) as exc:
        up.add_file_set([("http://example.com/a", "C:\\data\\a"), ("http://example.com/b", "C:\\data\\b")])
    assert exc.value.hresult == BG_E_TOO_MANY_FILES
    assert up.get_progress().files_total == 0
    up.add_file("http://example.com/a", "C:\\data\\a")
    with pytest.raises(BitsError) as exc:
        up.add_file("http://example.com/b", "C:\\data\\b")
    assert exc.value.hresult == BG_E_TOO_MANY_FILES
    assert up.get_progress().files_total == 1


def test_add_file_set_is_atomic_bits_core_2_2(job: Job) -> None:
    """AddFileSet page: a bad entry anywhere in the array → nothing of the set is added."""
    with pytest.raises(BitsError) as exc:
        job.add_file_set([("http://example.com/a", "C:\\data\\a"), ("ftp://example.com/b", "C:\\data\\b")])
    assert exc.value.hresult == E_INVALIDARG
    assert job.get_progress().files_total == 0
    assert list(job.enum_files()) == []


def test_files_are_kept_in_fifo_order_bits_core_2_2(job: Job) -> None:
    """docs/reference/states.md#scheduling: files are transferred in the order added (FIFO)."""
    job.add_file_set([("http://example.com/a", "C:\\data\\a"), ("http://example.com/b", "C:\\data\\b")])
    job.add_file("http://example.com/c", "C:\\data\\c")
    assert [f.get_remote_name() for f in job.enum_files()] == [
        "http://example.com/a",
        "http://example.com/b",
        "http://example.com/c",
    ]
    assert job.get_progress().files_total == 3


@pytest.mark.parametrize(
    ("method", "bad_args"),
    [
        ("set_display_name", (5,)),
        ("set_description", (b"bytes",)),
        ("set_priority", ("HIGH",)),
        ("set_priority", (True,)),
        ("set_notify_flags", (1.0,)),
        ("set_minimum_retry_delay", ("10",)),
        ("set_no_progress_timeout", (None,)),
        ("set_proxy_settings", ("OVERRIDE", "p", None)),
        ("set_proxy_settings", (2, 1234, None)),
        ("add_file", (1, "C:\\data\\f")),
        ("add_file", ("http://example.com/f", 5)),
        ("add_file_set", ("http://example.com/f",)),
        ("add_file_set", ([["http://example.com/f", "C:\\data\\f"]],)),
    ],
)
def test_wrong_python_types_raise_type_error_and_change_nothing_issue_2(
    svc: BitsService, job: Job, method: str, bad_args: tuple[object, ...]
) -> None:
    """Issue 2 "Bad input at every method": wrong Python types → TypeError before any state is touched."""
    before = svc.queue.jobs[job.get_id()]
    snapshot = dict(vars(before)) if hasattr(before, "__dict__") else None
    rows_before = svc.store.conn.execute("SELECT * FROM jobs").fetchall()
    with pytest.raises(TypeError):
        getattr(job, method)(*bad_args)
    assert svc.store.conn.execute("SELECT * FROM jobs").fetchall() == rows_before
    if snapshot is not None:
        assert dict(vars(before)) == snapshot
    assert job.get_progress().files_total == 0


def test_proxy_lists_over_32767_chars_bits_core_2_2(job: Job) -> None:
    """docs/reference/readings.md#proxy-list (our choice: the header's 32,767): BG_E_PROXY_LIST_TOO_LARGE 0x80200018,
    BG_E_PROXY_BYPASS_LIST_TOO_LARGE 0x80200019; nothing stored."""
    with pytest.raises(BitsError) as exc:
        job.set_proxy_settings(ProxyUsage.OVERRIDE, "p" * 32768, None)
    assert exc.value.hresult == 0x80200018
    with pytest.raises(BitsError) as exc:
        job.set_proxy_settings(ProxyUsage.OVERRIDE, "proxy:80", "b" * 32768)
    assert exc.value.hresult == 0x80200019
    assert job.get_proxy_settings() == (ProxyUsage.PRECONFIG, None, None)
    job.set_proxy_settings(ProxyUsage.OVERRIDE, "p" * 32767, "b" * 32767)


@pytest.mark.parametrize(
    "local",
    [
        "C:\\data\\" + "n" * 260,
        "\\\\?\\C:\\data\\f.bin",
        "C:\\data\\f.bin:stream",
        "C:\\data\\",
    ],
)
def test_local_name_rules_bits_core_6_3(job: Job, local: str) -> None:
    """docs/reference/limits.md#names: local name ≤ MAX_PATH, no \\\\?\\ prefix, no alternate data stream, must name a
    file → E_INVALIDARG."""
    with pytest.raises(BitsError) as exc:
        job.add_file("http://example.com/f", local)
    assert exc.value.hresult == E_INVALIDARG


def test_remote_segment_over_max_path_bits_core_6_2(job: Job) -> None:
    """docs/reference/limits.md#strings: each URL segment ≤ MAX_PATH (260) → E_INVALIDARG beyond."""
    with pytest.raises(BitsError) as exc:
        job.add_file("http://example.com/" + "s" * 261, "C:\\data\\f")
    assert exc.value.hresult == E_INVALIDARG


@pytest.mark.parametrize(
    "remote", ["https://example.com/f", "\\\\server\\share\\f", "file://server/share/f", "HTTP://EXAMPLE.COM/f"]
)
def test_supported_remote_schemes_bits_core_6_3(job: Job, remote: str) -> None:
    """docs/reference/limits.md#names: http, https and SMB (UNC path or file://) are accepted for download jobs."""
    job.add_file(remote, "C:\\data\\f")
    assert job.get_progress().files_total == 1


def test_upload_reply_refuses_smb_bits_core_6_3(svc: BitsService) -> None:
    """docs/reference/limits.md#names: SMB is not allowed for upload-reply jobs → E_INVALIDARG."""
    _, job = svc.connect().create_job("ur", JobType.UPLOAD_REPLY)
    with pytest.raises(BitsError) as exc:
        job.add_file("\\\\server\\share\\f", "C:\\data\\f")
    assert exc.value.hresult == E_INVALIDARG


def test_structures_are_immutable_models_issue_2(job: Job) -> None:
    """Issue 2 / docs/reference/interfaces.md#structures: structures come back as small immutable models with snake_case
    fields; a file whose size is not known yet makes BytesTotal BG_SIZE_UNKNOWN."""
    import pydantic

    from emulator import BG_SIZE_UNKNOWN

    progress = job.get_progress()
    with pytest.raises(pydantic.ValidationError):
        progress.bytes_total = 5  # frozen: mypy does not know, pydantic refuses
    times = job.get_times()
    with pytest.raises(pydantic.ValidationError):
        times.creation_time = None  # type: ignore[assignment]
    assert times.creation_time.tzinfo is not None
    job.add_file("http://example.com/f", "C:\\data\\f")
    p = job.get_progress()
    assert BG_SIZE_UNKNOWN == 0xFFFFFFFFFFFFFFFF
    assert (p.bytes_total, p.bytes_transferred, p.files_total, p.files_transferred) == (BG_SIZE_UNKNOWN, 0, 1, 0)


BG_FILE_INFO_PAGE = "https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_file_info"


def test_local_name_of_exactly_max_path_units_is_accepted_bg_file_info(job: Job) -> None:
    """BG_FILE_INFO page: "The path is limited to MAX_PATH, not including the null terminator" → a local
    name of exactly 260 UTF-16 units (components of ordinary length) is accepted."""
    local = "C:\\data\\" + "d" * 200 + "\\" + "f" * 51
    assert len(local) == 260
    job.add_file("http://example.com/f", local)
    assert [f.get_local_name() for f in job.enum_files()] == [local]


@pytest.mark.parametrize(
    "local",
    [
        "C:\\" + "g" * 256,  # longer than an NTFS component (255 units), still within MAX_PATH
        "C:\\d\\" + "g" * 250 + "\u00e9" * 5,  # 255 units (260 bytes), in a directory that does not exist yet
        "C:\\data\\" + "\u6f22" * 100,  # 100 units: 300 bytes of UTF-8, more than the host file system holds
    ],
)
def test_local_name_component_the_sandbox_cannot_hold_is_e_invalidarg(job: Job, local: str) -> None:
    """BG_FILE_INFO page (https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_file_info)
    limits the whole name to MAX_PATH only; a component the file system cannot hold is refused at AddFile with
    E_INVALIDARG 0x80070057 (emulator choice, docs/reference/readings.md#long-component) — never an OSError —
    and nothing is added."""
    assert len(local) <= 260
    with pytest.raises(BitsError) as exc:
        job.add_file("http://example.com/f", local)
    assert exc.value.hresult == E_INVALIDARG
    assert job.get_progress().files_total == 0


def test_reply_file_name_component_too_long_is_e_invalidarg(svc: BitsService) -> None:
    """SetReplyFileName page (https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setreplyfilename):
    the name follows the local-name rules; a component the file system cannot hold → E_INVALIDARG (emulator
    choice, docs/reference/readings.md#long-component), the name unchanged."""
    _, job = svc.connect().create_job("ur", JobType.UPLOAD_REPLY)
    with pytest.raises(BitsError) as exc:
        job.set_reply_file_name("C:\\" + "r" * 257)
    assert exc.value.hresult == E_INVALIDARG
    assert job.get_reply_file_name() is None


def test_notify_cmd_line_limits_setnotifycmdline_page(job: Job) -> None:
    """SetNotifyCmdLine page (https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setnotifycmdline):
    program ≤ MAX_PATH (260), parameters ≤ 4,000 characters; beyond → BG_E_STRING_TOO_LONG 0x80200021."""
    program = "C:\\" + "p" * 257
    job.set_notify_cmd_line(program, "a" * 4000)
    assert job.get_notify_cmd_line() == (program, "a" * 4000)
    with pytest.raises(BitsError) as exc:
        job.set_notify_cmd_line("C:\\" + "p" * 258, "")
    assert exc.value.hresult == BG_E_STRING_TOO_LONG
    with pytest.raises(BitsError) as exc:
        job.set_notify_cmd_line(program, "a" * 4001)
    assert exc.value.hresult == BG_E_STRING_TOO_LONG
    assert job.get_notify_cmd_line() == (program, "a" * 4000)


def test_credential_lengths_bits_return_values(job: Job) -> None:
    """BITS return values (https://learn.microsoft.com/en-us/windows/win32/bits/bits-return-values): user name
    ≤ 300 characters, password ≤ 65,535; beyond → BG_E_USERNAME_TOO_LARGE 0x80200025 /
    BG_E_PASSWORD_TOO_LARGE 0x80200026."""
    job.set_credentials(1, 1, "u" * 300, "p" * 65535)
    with pytest.raises(BitsError) as exc:
        job.set_credentials(1, 1, "u" * 301, "p")
    assert exc.value.hresult == 0x80200025
    with pytest.raises(BitsError) as exc:
        job.set_credentials(1, 1, "u", "p" * 65536)
    assert exc.value.hresult == 0x80200026


def test_new_job_http_and_job3_job4_defaults(svc: BitsService, job: Job) -> None:
    """Defaults of a new job (docs/reference/limits.md#defaults): MaximumDownloadTime 7,776,000 s
    (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyjob4-setmaximumdownloadtime),
    file ACL flags 0 (GetFileACLFlags page), security flags 0 (SetSecurityFlags page), no custom headers
    (GetCustomHeaders: S_FALSE → None), no client certificate (GetClientCertificate: RPC_X_BAD_STUB_DATA
    0x800706F7), notify command line ("", "") (GetNotifyCmdLine page), HTTP method GET for downloads and
    BITS_POST for uploads (https://learn.microsoft.com/en-us/windows/win32/api/bits10_2/nf-bits10_2-ibackgroundcopyjobhttpoptions2-gethttpmethod)."""
    assert job.get_maximum_download_time() == 7_776_000
    assert job.get_file_acl_flags() == 0
    assert job.get_security_flags() == 0
    assert job.get_custom_headers() is None
    with pytest.raises(BitsError) as exc:
        job.get_client_certificate()
    assert exc.value.hresult == 0x800706F7
    assert job.get_notify_cmd_line() == ("", "")
    assert job.get_http_method() == "GET"
    mgr = svc.connect()
    for job_type in (JobType.UPLOAD, JobType.UPLOAD_REPLY):
        assert mgr.create_job("up", job_type)[1].get_http_method() == "BITS_POST"
