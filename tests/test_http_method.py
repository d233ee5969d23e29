"""What a custom HTTP method changes in a job (IBackgroundCopyJobHttpOptions2::SetHttpMethod,
https://learn.microsoft.com/en-us/windows/win32/api/bits10_2/nf-bits10_2-ibackgroundcopyjobhttpoptions2-sethttpmethod;
docs/reference/states.md#t24, docs/reference/readings.md#http-method-priority):

* the verb is the one sent;
* the priority is forced to FOREGROUND and "prevented from being changed";
* "an error that would ordinarily be resumable (such as loss of connectivity) transitions the job to an
  ERROR state", and Resume "restarts [it] from the beginning".
"""

from __future__ import annotations

import http.server
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from helpers import HandlerFactory, QuietLog

from emulator import BitsError, BitsService, ErrorContext, JobPriority, JobState, JobType
from emulator.constants import JobPropertyId

pytestmark = pytest.mark.svc(clock="manual")

BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD = 0x80200071
BG_E_NETWORK_DISCONNECTED = 0x80200010
BG_E_HTTP_ERROR_503 = 0x801901F7
E_NOTIMPL = 0x80004001
E_INVALIDARG = 0x80070057


class _Verbs(QuietLog, http.server.BaseHTTPRequestHandler):
    """Answers every verb with 5 bytes and records (verb, path, Range)."""

    seen: ClassVar[list[tuple[str, str, str | None]]] = []

    def _answer(self) -> None:
        type(self).seen.append((self.command, self.path, self.headers.get("Range")))
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    do_GET = do_PUT = do_POST = _answer  # http.server's names


def test_the_custom_verb_goes_on_the_wire(
    svc: BitsService, loopback: Callable[[HandlerFactory], str], tmp_path: Path
) -> None:
    """SetHttpMethod page: the method "overrides the default HTTP method used for a BITS transfer"."""
    _Verbs.seen = []
    base = loopback(_Verbs)
    mgr = svc.connect()
    _, put = mgr.create_job("put", JobType.DOWNLOAD)
    put.set_http_method("PUT")
    put.add_file(f"{base}/new", str(tmp_path / "put"))
    put.resume()
    svc.run_until_idle()
    assert put.get_state() is JobState.TRANSFERRED
    _, get = mgr.create_job("get", JobType.DOWNLOAD)
    get.add_file(f"{base}/plain", str(tmp_path / "get"))
    get.resume()
    svc.run_until_idle()
    assert _Verbs.seen == [("PUT", "/new", None), ("GET", "/plain", None)]
    # The request record names the verb too (docs/observability.md).
    assert [(r.method, r.url.rsplit("/", 1)[1]) for r in svc.network.requests] == [("PUT", "new"), ("GET", "plain")]
    assert [r.method for r in svc.history.requests] == ["PUT", "GET"]


def test_fake_network_records_the_verb_of_each_job_type(svc: BitsService, tmp_path: Path) -> None:
    """Defaults: GET for downloads, BITS_POST for uploads (GetHttpMethod page); a custom verb replaces it."""
    svc.network.register("http://srv/a", b"a" * 10)
    svc.network.register("http://srv/up", upload=True)
    src = tmp_path / "src"
    src.write_bytes(b"u" * 10)
    mgr = svc.connect()
    _, down = mgr.create_job("d", JobType.DOWNLOAD)
    down.add_file("http://srv/a", str(tmp_path / "d"))
    _, up = mgr.create_job("u", JobType.UPLOAD)
    up.add_file("http://srv/up", str(src))
    _, custom = mgr.create_job("c", JobType.DOWNLOAD)
    custom.set_http_method("PROPFIND")
    custom.add_file("http://srv/a", str(tmp_path / "c"))
    for job in (down, up, custom):
        job.resume()
        svc.run_until_idle()
    assert [r.method for r in svc.network.requests] == ["GET", "BITS_POST", "PROPFIND"]


def test_priority_is_forced_to_foreground_and_locked(svc: BitsService) -> None:
    """SetHttpMethod page: BITS "changes the job priority to BG_JOB_PRIORITY_FOREGROUND, and prevents that
    priority from being changed". The code is not documented: emulator choice
    BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD (0x80200071); FOREGROUND again is S_OK; an out-of-range value
    is still E_NOTIMPL (SetPriority page)."""
    _, job = svc.connect().create_job("h", JobType.DOWNLOAD)
    job.set_priority(JobPriority.LOW)
    job.set_http_method("PUT")
    assert job.get_priority() is JobPriority.FOREGROUND
    for value in (JobPriority.HIGH, JobPriority.NORMAL, JobPriority.LOW):
        with pytest.raises(BitsError) as exc:
            job.set_priority(value)
        assert exc.value.hresult == BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
        assert job.get_priority() is JobPriority.FOREGROUND
    job.set_priority(JobPriority.FOREGROUND)
    with pytest.raises(BitsError) as exc:
        job.set_priority(4)
    assert exc.value.hresult == E_NOTIMPL
    assert job.get_priority() is JobPriority.FOREGROUND


def test_default_verb_leaves_the_priority_free(svc: BitsService) -> None:
    """SetHttpMethod page: setting the default method "does nothing" — the priority stays changeable."""
    _, job = svc.connect().create_job("h", JobType.DOWNLOAD)
    job.set_http_method("GET")
    job.set_priority(JobPriority.LOW)
    assert job.get_priority() is JobPriority.LOW


@pytest.mark.parametrize("verb", [None, "", "GE T", "G\u00c9T", "PUT\r\n"])
def test_a_verb_that_is_no_http_method_is_invalidarg(svc: BitsService, verb: str | None) -> None:
    """SetHttpMethod (https://learn.microsoft.com/en-us/windows/win32/api/bits10_2/
    nf-bits10_2-ibackgroundcopyjobhttpoptions2-sethttpmethod) names no code for a bad method. Emulator choice
    (docs/reference/readings.md#http-method-verb): NULL, an empty string, or a string with white space or
    non-ASCII characters (no HTTP token) is E_INVALIDARG (0x80070057); the method and the priority stay."""
    _, job = svc.connect().create_job("h", JobType.DOWNLOAD)
    job.set_priority(JobPriority.LOW)
    with pytest.raises(BitsError) as exc:
        job.set_http_method(verb)  # type: ignore[arg-type]
    assert exc.value.hresult == E_INVALIDARG
    assert job.get_http_method() == "GET"
    assert job.get_priority() is JobPriority.LOW


def test_a_transient_http_error_is_fatal_with_a_custom_verb(svc: BitsService, tmp_path: Path) -> None:
    """T24 (SetHttpMethod page): a 503, transient for a GET job (docs/reference/readings.md#http-statuses),
    puts a custom-verb job in ERROR; Resume retries it."""
    svc.network.register("http://srv/t", b"t" * 100, rate=10, transient_failures=1)
    _, job = svc.connect().create_job("h", JobType.DOWNLOAD)
    job.set_http_method("PUT")
    job.add_file("http://srv/t", str(tmp_path / "h"))
    job.resume()
    svc.advance(1)
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_HTTP_ERROR_503)
    assert job.get_error_count() == 1
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED


def test_the_same_503_stays_transient_for_the_default_verb(svc: BitsService, tmp_path: Path) -> None:
    """Control for the test above: without a custom method the 503 is TRANSIENT_ERROR (T10/T14)."""
    svc.network.register("http://srv/t", b"t" * 100, rate=10, transient_failures=1)
    _, job = svc.connect().create_job("h", JobType.DOWNLOAD)
    job.add_file("http://srv/t", str(tmp_path / "h"))
    job.resume()
    svc.advance(1)
    assert job.get_state() is JobState.TRANSIENT_ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_HTTP_ERROR_503)


def test_loss_of_connectivity_is_fatal_and_resume_restarts_from_zero(svc: BitsService, tmp_path: Path) -> None:
    """SetHttpMethod page: loss of connectivity → ERROR (not TRANSIENT_ERROR waiting for the network, T17);
    Resume restarts the job "from the beginning": the file is fetched again from byte 0 (no Range)."""
    svc.network.register("http://srv/t", bytes(range(100)), rate=10)
    _, job = svc.connect().create_job("h", JobType.DOWNLOAD)
    job.set_http_method("PUT")
    job.add_file("http://srv/t", str(tmp_path / "h"))
    job.resume()
    svc.advance(5)
    assert job.get_progress().bytes_transferred == 50
    svc.network.disconnect()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, BG_E_NETWORK_DISCONNECTED)
    assert job.get_error_count() == 1
    svc.network.reconnect()
    assert job.get_state() is JobState.ERROR  # reconnect (T18) moves only TRANSIENT_ERROR jobs
    job.resume()
    svc.advance(1)
    assert job.get_state() is JobState.TRANSFERRING
    assert job.get_progress().bytes_transferred == 10
    assert [r.offset for r in svc.network.requests] == [0, 0]
    svc.run_until_idle()
    job.complete()
    assert (tmp_path / "h").read_bytes() == bytes(range(100))



def test_an_upload_with_a_custom_verb_restarts_from_zero(svc: BitsService, tmp_path: Path) -> None:
    """T24 for uploads (SetHttpMethod page: the job "will be restarted from the beginning"): after Suspend
    and Resume the upload sends the file again from byte 0 (emulator choice: at every connection)."""
    src = tmp_path / "src"
    src.write_bytes(b"u" * 100)
    endpoint = svc.network.register("http://srv/up", upload=True, rate=10)
    _, job = svc.connect().create_job("u", JobType.UPLOAD)
    job.set_http_method("PUT")
    job.add_file("http://srv/up", str(src))
    job.resume()
    svc.advance(5)
    job.suspend()
    assert job.get_progress().bytes_transferred == 50
    job.resume()
    svc.advance(1)
    job.suspend()
    assert job.get_progress().bytes_transferred == 10
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    assert endpoint.received == b"u" * 100


@pytest.mark.parametrize("prop", [JobPropertyId.DYNAMIC_CONTENT, JobPropertyId.ON_DEMAND_MODE])
def test_custom_verb_and_dynamic_or_on_demand_exclude_each_other(svc: BitsService, prop: JobPropertyId) -> None:
    """SetHttpMethod page (https://learn.microsoft.com/en-us/windows/win32/api/bits10_2/
    nf-bits10_2-ibackgroundcopyjobhttpoptions2-sethttpmethod): "BITS doesn't allow DYNAMIC_CONTENT nor
    ON_DEMAND_MODE jobs with SetHttpMethod" — in either order. The code is undocumented: emulator choice
    BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD (0x80200071), and nothing changes
    (docs/reference/readings.md#custom-method-exclusive). Turning the property off, and setting the default
    verb, stay allowed."""
    mgr = svc.connect()
    _, custom = mgr.create_job("custom", JobType.DOWNLOAD)
    custom.set_http_method("PUT")
    with pytest.raises(BitsError) as exc:
        custom.set_property(prop, True)
    assert exc.value.hresult == BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
    assert custom.get_property(prop) is False
    custom.set_property(prop, False)
    assert custom.get_http_method() == "PUT"
    _, flagged = mgr.create_job("flagged", JobType.DOWNLOAD)
    flagged.set_property(prop, True)
    with pytest.raises(BitsError) as exc:
        flagged.set_http_method("PUT")
    assert exc.value.hresult == BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
    assert flagged.get_http_method() == "GET"
    assert flagged.get_priority() is JobPriority.NORMAL
    flagged.set_http_method("GET")  # the default verb "does nothing": no custom method, nothing refused
    assert flagged.get_property(prop) is True
