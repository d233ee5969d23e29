"""Every input gets Windows' answer or a clear Python error (issue 11).

* Lone surrogates are legal in Windows strings
  (https://learn.microsoft.com/en-us/windows/win32/intl/surrogates-and-supplementary-characters): every
  string setter keeps them, in memory and through a file store's reopen, JSON-stored fields included —
  never UnicodeEncodeError (emulator rule: domain/wstr.py).
* 32-bit arguments that do not fit their C type: OverflowError before any work, in every method (emulator
  rule, as pywin32's marshalling; README "Errors").
* The control plane: TypeError for wrong types before any work, ValueError for NaN/inf/negative durations,
  StoreError naming the path for a database that cannot be used, ``":memory:"`` is memory.
"""

from __future__ import annotations

import base64
import http.server
import math
import re
import sqlite3
import uuid
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import pytest
from helpers import HandlerFactory, QuietLog

from emulator import (
    Account,
    AuthScheme,
    AuthTarget,
    BitsError,
    BitsService,
    ErrorContext,
    IBackgroundCopyError,
    IBitsTokenOptions,
    JobState,
    JobType,
    LogonType,
    ManualClock,
    StoreError,
    StoreVersionError,
)

S = "a\ud800b\udfffc\udc80"  # lone high, lone low, and a low surrogate surrogateescape would misread
E_INVALIDARG = 0x80070057


# lone surrogates ---------------------------------------------------------------------------------------


def _set_everything(svc: BitsService, tmp_path: Path) -> tuple[Account, uuid.UUID, uuid.UUID]:
    account = svc.add_user("user" + S)
    _, job = svc.connect().create_job("name" + S, JobType.DOWNLOAD)
    job.set_description("desc" + S)
    job.set_proxy_settings(2, "proxy" + S, "bypass" + S)  # BG_JOB_PROXY_USAGE_OVERRIDE
    job.set_notify_cmd_line("C:\\prog" + S + ".exe", "params" + S)
    job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "who" + S, "pw" + S)
    job.set_custom_headers("X-Test: " + S)
    job.set_client_certificate_by_name(1, "MY" + S, "CN=" + S)
    job.add_file("http://server/r" + S, "C:\\dir" + S + "\\file" + S)
    job.add_file(str(tmp_path / ("src" + S)), str(tmp_path / ("dst" + S)))
    _, reply = svc.connect().create_job("reply", JobType.UPLOAD_REPLY)
    reply.set_reply_file_name("C:\\reply" + S)
    return account, job.get_id(), reply.get_id()


def _check_everything(svc: BitsService, account_sid: str, job_id: uuid.UUID, reply_id: uuid.UUID) -> None:
    assert svc.account("user" + S).sid == account_sid
    assert svc.account(account_sid).name == "user" + S
    job = svc.connect().get_job(job_id)
    assert job.get_display_name() == "name" + S
    assert job.get_description() == "desc" + S
    assert job.get_proxy_settings()[1:] == ("proxy" + S, "bypass" + S)
    assert job.get_notify_cmd_line() == ("C:\\prog" + S + ".exe", "params" + S)
    (cred,) = svc.queue.jobs[job_id].credentials
    assert (cred.user_name, cred.password) == ("who" + S, "pw" + S)
    assert job.get_custom_headers() == "X-Test: " + S
    location, store, _hash, subject = job.get_client_certificate()
    assert (location, store, subject) == (1, "MY" + S, "CN=" + S)
    names = [(f.get_remote_name(), f.get_local_name()) for f in job.enum_files()]
    assert names[0] == ("http://server/r" + S, "C:\\dir" + S + "\\file" + S)
    assert names[1][0].endswith("src" + S) and names[1][1].endswith("dst" + S)
    assert svc.connect().get_job(reply_id).get_reply_file_name() == "C:\\reply" + S
    assert ("name" + S) in [j.get_display_name() for j in svc.connect().enum_jobs()]


def test_lone_surrogates_round_trip_in_every_string_setter(tmp_path: Path) -> None:
    with BitsService(clock=ManualClock()) as svc:
        account, job_id, reply_id = _set_everything(svc, tmp_path)
        _check_everything(svc, account.sid, job_id, reply_id)


def test_lone_surrogates_round_trip_through_a_file_store(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with BitsService(database=db, clock=ManualClock()) as svc:
        account, job_id, reply_id = _set_everything(svc, tmp_path)
    with BitsService(database=db, clock=ManualClock()) as svc:
        _check_everything(svc, account.sid, job_id, reply_id)
    # ordinary text is still stored as TEXT, so other tools read the store as before
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT typeof(display_name) FROM jobs WHERE display_name = 'reply'").fetchone() == ("text",)
    conn.close()


def test_lone_surrogates_travel_to_the_server_and_the_disk(tmp_path: Path) -> None:
    with BitsService(clock=ManualClock()) as svc:
        svc.network.register("http://server/r" + S, b"body")
        source = tmp_path / "src.bin"
        source.write_bytes(b"local")
        _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        job.set_custom_headers("X-Test: " + S)
        job.add_file("http://server/r" + S, str(tmp_path / ("a" + S)))
        job.add_file(str(source), str(tmp_path / ("b" + S)))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.TRANSFERRED
        assert job.complete() == 0
    assert (tmp_path / ("a" + S).encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")).exists()


# 32-bit arguments --------------------------------------------------------------------------------------------

Call = Callable[[Any, int], object]

DWORD_METHODS: dict[str, Call] = {
    "SetNotifyFlags": lambda o, v: o["job"].set_notify_flags(v),
    "SetMinimumRetryDelay": lambda o, v: o["job"].set_minimum_retry_delay(v),
    "SetNoProgressTimeout": lambda o, v: o["job"].set_no_progress_timeout(v),
    "SetMaximumDownloadTime": lambda o, v: o["job"].set_maximum_download_time(v),
    "SetPeerCachingFlags": lambda o, v: o["job"].set_peer_caching_flags(v),
    "SetSecurityFlags": lambda o, v: o["job"].set_security_flags(v),
    "SetFileACLFlags": lambda o, v: o["job"].set_file_acl_flags(v),
    "SetCredentials(target)": lambda o, v: o["job"].set_credentials(v, 1, "u", "p"),
    "SetCredentials(scheme)": lambda o, v: o["job"].set_credentials(1, v, "u", "p"),
    "RemoveCredentials(target)": lambda o, v: o["job"].remove_credentials(v, 1),
    "RemoveCredentials(scheme)": lambda o, v: o["job"].remove_credentials(1, v),
    "SetProperty(DWORD value)": lambda o, v: o["job"].set_property(1, v),  # BITS_JOB_PROPERTY_ID_COST_FLAGS
    "EnumJobs": lambda o, v: o["mgr"].enum_jobs(v),
    "JobEnum.Next": lambda o, v: o["mgr"].enum_jobs().next(v),
    "JobEnum.Skip": lambda o, v: o["mgr"].enum_jobs().skip(v),
    "FileEnum.Next": lambda o, v: o["job"].enum_files().next(v),
    "FileEnum.Skip": lambda o, v: o["job"].enum_files().skip(v),
    "File5.GetProperty": lambda o, v: o["file"].get_property(v),
    "Manager.GetErrorDescription(lang)": lambda o, v: o["mgr"].get_error_description(0x80200001, v),
    "Error.GetErrorDescription": lambda o, v: o["error"].get_error_description(v),
    "Error.GetErrorContextDescription": lambda o, v: o["error"].get_error_context_description(v),
    "SetHelperTokenFlags": lambda o, v: o["job"].query_interface(IBitsTokenOptions).set_helper_token_flags(v),
}
ENUM_METHODS: dict[str, Call] = {
    "CreateJob(type)": lambda o, v: o["mgr"].create_job("x", v),
    "SetPriority": lambda o, v: o["job"].set_priority(v),
    "SetProxySettings(usage)": lambda o, v: o["job"].set_proxy_settings(v),
    "SetClientCertificateByName(location)": lambda o, v: o["job"].set_client_certificate_by_name(v, "MY", "CN=x"),
    "SetClientCertificateByID(location)": lambda o, v: o["job"].set_client_certificate_by_id(v, "MY", b"\x01" * 20),
    "SetProperty(id)": lambda o, v: o["job"].set_property(v, 1),
    "GetProperty(id)": lambda o, v: o["job"].get_property(v),
}


@pytest.fixture
def objects(svc: BitsService) -> dict[str, Any]:
    mgr = svc.connect()
    _, job = mgr.create_job("j", JobType.DOWNLOAD)
    job.add_file("http://unregistered.invalid/a", "C:\\a")
    job.resume()
    svc.run_until_idle(3600)
    error = job.get_error()
    assert isinstance(error.query_interface(IBackgroundCopyError), type(error))
    return {"mgr": mgr, "job": job, "file": next(iter(job.enum_files())), "error": error}


@pytest.mark.parametrize("method", sorted(DWORD_METHODS))
@pytest.mark.parametrize("value", [-1, 1 << 32, 1 << 64])
def test_dword_out_of_range_is_overflow_error_in_every_method(
    svc: BitsService, objects: dict[str, Any], method: str, value: int
) -> None:
    job = objects["job"]
    before = (job.get_state(), job.get_minimum_retry_delay(), job.get_notify_flags(), job.get_error_count())
    with pytest.raises(OverflowError):
        DWORD_METHODS[method](objects, value)
    assert (job.get_state(), job.get_minimum_retry_delay(), job.get_notify_flags(), job.get_error_count()) == before


@pytest.mark.parametrize("method", sorted(ENUM_METHODS))
@pytest.mark.parametrize("value", [-(1 << 31) - 1, 1 << 31, 1 << 64])
def test_enum_out_of_range_is_overflow_error_in_every_method(
    svc: BitsService, objects: dict[str, Any], method: str, value: int
) -> None:
    with pytest.raises(OverflowError):
        ENUM_METHODS[method](objects, value)


@pytest.mark.parametrize("method", sorted(ENUM_METHODS))
def test_enum_in_range_but_unknown_gets_the_windows_hresult(
    svc: BitsService, objects: dict[str, Any], method: str
) -> None:
    with pytest.raises(BitsError):
        ENUM_METHODS[method](objects, 0x7FFFFFFF)


def test_max_download_size_is_a_uint64(svc: BitsService, objects: dict[str, Any]) -> None:
    _, job = objects["mgr"].create_job("size", JobType.DOWNLOAD)
    job.set_property(5, (1 << 64) - 1)  # BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE
    assert job.get_property(5) == (1 << 64) - 1
    with pytest.raises(OverflowError):
        job.set_property(5, 1 << 64)


# the clock ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, -1, -0.5, Fraction(-1, 3), 1e300, pytest.param(10**400, id="10**400")]
)
def test_advance_refuses_nan_inf_and_negative_and_keeps_the_clock(value: float) -> None:
    clock = ManualClock()
    with BitsService(clock=clock) as svc:
        svc.network.register("http://server/a", b"x" * 100, rate=10)
        _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        job.add_file("http://server/a", "C:\\a")
        job.resume()
        now = clock.time()
        with pytest.raises(ValueError):
            svc.advance(value)
        with pytest.raises(ValueError):
            clock.advance(value)
        assert clock.time() == now
        svc.advance(5)  # and later calls still work
        assert job.get_progress().bytes_transferred in range(0, 101)


@pytest.mark.parametrize("value", ["1", None, True, b"1", 1j])
def test_advance_and_run_until_idle_refuse_non_numbers_with_type_error(value: object) -> None:
    clock = ManualClock()
    with BitsService(clock=clock) as svc:
        now = clock.time()
        with pytest.raises(TypeError):
            svc.advance(value)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            svc.run_until_idle(value)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            clock.advance(value)  # type: ignore[arg-type]
        assert clock.time() == now


@pytest.mark.parametrize("value", ["1", True, Decimal("1.5")])
def test_a_wrong_duration_type_error_lists_the_accepted_types(value: object) -> None:
    """The TypeError of svc.advance / run_until_idle / ManualClock.advance says what to pass: an int, a float
    or a fractions.Fraction (a Decimal is not a numbers.Real, a bool is no duration)."""
    clock = ManualClock()
    kind = type(value).__name__
    with BitsService(clock=clock) as svc:
        with pytest.raises(TypeError) as advanced:
            svc.advance(value)  # type: ignore[arg-type]
        assert str(advanced.value) == (
            f"seconds must be a number of seconds (an int, a float or a fractions.Fraction), not {kind}"
        )
        with pytest.raises(TypeError) as ran:
            svc.run_until_idle(value)  # type: ignore[arg-type]
        assert str(ran.value) == (
            f"max_seconds must be a number of seconds (an int, a float or a fractions.Fraction), not {kind}"
        )
    with pytest.raises(TypeError) as stepped:
        clock.advance(value)  # type: ignore[arg-type]
    assert str(stepped.value) == f"seconds must be a number (an int, a float or a fractions.Fraction), not {kind}"


def test_advance_accepts_ints_floats_and_fractions() -> None:
    clock = ManualClock()
    with BitsService(clock=clock) as svc:
        start = clock.time()
        svc.advance(1)
        svc.advance(0.5)
        svc.advance(Fraction(1, 2))
        assert clock.time() == start + 2


# the service surface --------------------------------------------------------------------------------------------


def test_service_surface_type_errors_before_any_work(svc: BitsService) -> None:
    with pytest.raises(TypeError):
        svc.account(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        BitsService(clock=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        BitsService(seed="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        BitsService(seed=1.5)  # type: ignore[arg-type]
    account = svc.add_user("alice")
    sessions = len(svc.directory.sessions)
    with pytest.raises(TypeError):
        svc.logon(account, logon_type=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        svc.logon("alice")  # type: ignore[arg-type]
    assert len(svc.directory.sessions) == sessions
    with pytest.raises(TypeError):
        svc.run_until_idle("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        svc.add_user(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        svc.add_user("bob", admin="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        svc.logon(account, logon_type=LogonType(5))  # a user does not log on as a service


def test_memory_means_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with BitsService(database=":memory:") as svc:
        svc.connect().create_job("j", JobType.DOWNLOAD)
        assert svc.store.engine is None
    assert list(tmp_path.iterdir()) == []


def test_an_unusable_database_path_is_store_error_naming_it(tmp_path: Path) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "q.db"
    with pytest.raises(StoreError, match=re.escape(str(missing_dir.parent))):
        BitsService(database=missing_dir)
    with pytest.raises(StoreError, match=re.escape(str(tmp_path))):
        BitsService(database=tmp_path)  # a directory
    assert not (tmp_path / "no").exists()


def test_a_file_that_is_not_a_store_is_store_error_and_untouched(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not SQLite at all" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        BitsService(database=junk)
    assert junk.read_bytes() == b"this is not SQLite at all" * 100
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another application"):
        BitsService(database=other)
    conn = sqlite3.connect(other)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["customers"]
    conn.close()


def test_store_version_error_is_a_store_error() -> None:
    assert issubclass(StoreVersionError, StoreError)


def test_bad_strings_are_type_errors_or_invalidarg(svc: BitsService) -> None:
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    with pytest.raises(TypeError):
        job.set_display_name(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(BitsError) as e:
        job.set_display_name("nul\x00inside")
    assert e.value.hresult == E_INVALIDARG


# strings on the wire (real HTTP to a loopback server) ----------------------------------------------------------


class _Recorder(QuietLog, http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, bytes]]]] = []

    def do_GET(self) -> None:
        headers = {k.lower(): v.encode("latin-1") for k, v in self.headers.items()}
        _Recorder.seen.append((self.path, headers))
        if self.path == "/bad-range":
            self.send_response(206)
            self.send_header("Content-Range", "bytes garbage")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        if self.path == "/bad-redirect":
            self.send_response(302)
            self.send_header("Location", "http://[::1/x")
            self.end_headers()
            return
        if self.path.startswith("/auth") and "authorization" not in headers:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="x"')
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def recorder(loopback: Callable[[HandlerFactory], str]) -> str:
    _Recorder.seen.clear()
    return loopback(_Recorder)


def test_headers_credentials_and_paths_reach_a_loopback_server_as_utf8(recorder: str, tmp_path: Path) -> None:
    with BitsService(clock=ManualClock()) as svc:
        _, job = svc.connect().create_job("wire", JobType.DOWNLOAD)
        job.set_custom_headers("X-Note: caf\u00e9 \u2603 " + S)
        job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "u\u00e9", "p" + S)
        job.add_file(f"{recorder}/auth/\u00e9t\u00e9", str(tmp_path / "a"))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.TRANSFERRED
    (path, first), (_, second) = _Recorder.seen
    assert path == "/auth/%C3%A9t%C3%A9"  # BITS does no escaping; what is not ASCII goes percent-encoded
    assert first["x-note"] == ("caf\u00e9 \u2603 " + S).encode("utf-8", "surrogatepass")
    auth = base64.b64decode(second["authorization"].split(b" ")[1])
    assert auth == ("u\u00e9:p" + S).encode("utf-8", "surrogatepass")


def test_a_header_name_that_is_not_a_token_fails_the_job_emulator_choice(recorder: str, tmp_path: Path) -> None:
    with BitsService(clock=ManualClock()) as svc:
        _, job = svc.connect().create_job("wire", JobType.DOWNLOAD)
        job.set_custom_headers("Bad Name: x")
        job.add_file(f"{recorder}/x", str(tmp_path / "a"))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.ERROR
        assert job.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, 0x80072F79)
    assert _Recorder.seen == []


def test_a_redirect_to_a_malformed_url_fails_the_job_not_the_caller(recorder: str, tmp_path: Path) -> None:
    with BitsService(clock=ManualClock()) as svc:
        _, job = svc.connect().create_job("wire", JobType.DOWNLOAD)
        job.add_file(f"{recorder}/bad-redirect", str(tmp_path / "a"))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.ERROR
        assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x80072F78)


def test_a_malformed_content_range_fails_the_job_not_the_caller(recorder: str, tmp_path: Path) -> None:
    with BitsService(clock=ManualClock()) as svc:
        _, job = svc.connect().create_job("wire", JobType.DOWNLOAD)
        job.add_file(f"{recorder}/bad-range", str(tmp_path / "a"))
        job.resume()
        svc.run_until_idle()
        assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x8020001B)  # BG_E_INVALID_SERVER_RESPONSE
