"""Upload and upload-reply jobs (docs/reference/states.md#upload, T30) and real HTTP to loopback servers
(docs/design.md#transfers)."""

from __future__ import annotations

import http.server
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import HandlerFactory, QuietLog

from emulator import AuthScheme, AuthTarget, BitsError, BitsService, ErrorContext, Job, JobState, JobType

S = JobState


pytestmark = pytest.mark.svc(clock="manual")


# uploads ------------------------------------------------------------------------------------------------


def test_upload_sends_the_file_and_completes_only_when_transferred(svc: BitsService, tmp_path: Path) -> None:
    src = tmp_path / "report.csv"
    src.write_bytes(b"a,b\n1,2\n")
    endpoint = svc.network.register("http://server/upload/report.csv", upload=True, rate=4)
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.add_file("http://server/upload/report.csv", str(src))
    with pytest.raises(BitsError) as e:
        job.add_file("http://server/upload/other.csv", str(src))
    assert e.value.hresult == 0x8020001C  # BG_E_TOO_MANY_FILES: one file per upload job
    job.resume()
    with pytest.raises(BitsError) as e:
        job.complete()
    assert e.value.hresult == 0x80200002  # T30: uploads complete only when TRANSFERRED
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert endpoint.received == b"a,b\n1,2\n"
    assert next(iter(job.enum_files())).get_progress().completed is True
    assert job.complete() == 0


def test_upload_progress_counts_the_bytes_sent_so_far(svc: BitsService, tmp_path: Path) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_job_progress: BytesTransferred is
    the bytes transferred so far — for an upload, the bytes sent. 100 bytes at 10 bytes/s read exactly 50
    at 5 s (job and file progress alike), then 100 when TRANSFERRED; exact integer arithmetic, as downloads."""
    src = tmp_path / "src"
    src.write_bytes(b"y" * 100)
    endpoint = svc.network.register("http://server/up", upload=True, rate=10)
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.add_file("http://server/up", str(src))
    job.resume()
    svc.advance(5)
    assert job.get_state() is S.TRANSFERRING
    p = job.get_progress()
    assert (p.bytes_total, p.bytes_transferred, p.files_total, p.files_transferred) == (100, 50, 1, 0)
    f = next(iter(job.enum_files())).get_progress()
    assert (f.bytes_total, f.bytes_transferred, f.completed) == (100, 50, False)
    svc.advance(Fraction(37, 10))
    assert job.get_progress().bytes_transferred == 87
    assert next(iter(job.enum_files())).get_progress().bytes_transferred == 87
    assert endpoint.received is None  # the server keeps the file when the last fragment arrives
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    p = job.get_progress()
    assert (p.bytes_total, p.bytes_transferred, p.files_transferred) == (100, 100, 1)
    assert endpoint.received == b"y" * 100


def test_upload_reply_gets_the_reply(svc: BitsService, tmp_path: Path) -> None:
    src = tmp_path / "request.json"
    src.write_bytes(b'{"q": 1}')
    svc.network.register("http://server/app", upload=True, reply=b'{"answer": 42}')
    _, job = svc.connect().create_job("rpc", JobType.UPLOAD_REPLY)
    job.add_file("http://server/app", str(src))
    assert job.get_reply_progress().bytes_total == 0xFFFFFFFFFFFFFFFF
    with pytest.raises(BitsError) as e:
        job.get_reply_data()
    assert e.value.hresult == 0x80200002
    reply_name = job.get_reply_file_name()
    assert reply_name is not None and reply_name.startswith(str(tmp_path))
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    assert job.get_reply_data() == b'{"answer": 42}'
    assert job.get_reply_progress().bytes_transferred == 14
    assert not Path(reply_name).exists()  # the reply file is available after Complete
    job.complete()
    assert Path(reply_name).read_bytes() == b'{"answer": 42}'


BG_E_TOO_LARGE = 0x80200020


def _reply_job(svc: BitsService, tmp_path: Path, url: str, reply: bytes, name: str = "rpc") -> Job:
    src = tmp_path / f"{name}.req"
    src.write_bytes(b"request")
    svc.network.register(url, upload=True, reply=reply)
    _, job = svc.connect().create_job(name, JobType.UPLOAD_REPLY)
    job.add_file(url, str(src))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    return job


def test_reply_data_is_still_readable_after_complete(svc: BitsService, tmp_path: Path) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-getreplydata:
    the reply data can be read before or after Complete; the same bytes come back."""
    job = _reply_job(svc, tmp_path, "http://server/ur", b"R" * 10)
    assert job.get_reply_data() == b"RRRRRRRRRR"
    assert job.complete() == 0
    assert job.get_state() is S.ACKNOWLEDGED
    assert job.get_reply_data() == b"RRRRRRRRRR"
    p = job.get_reply_progress()
    assert (p.bytes_total, p.bytes_transferred) == (10, 10)


def test_a_reply_over_1_mb_is_too_large_before_and_after_complete(svc: BitsService, tmp_path: Path) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-getreplydata:
    more than 1 MB of reply data gives BG_E_TOO_LARGE (0x80200020), "pSize contains the size of the reply data"
    (here: the error's detail, and GetReplyProgress); after Complete as before it."""
    job = _reply_job(svc, tmp_path, "http://server/big", b"B" * (2**20 + 1))
    with pytest.raises(BitsError) as e:
        job.get_reply_data()
    assert e.value.hresult == BG_E_TOO_LARGE
    assert e.value.detail == "the reply data is 1048577 bytes (over 1 MB)"
    assert job.get_reply_progress().bytes_total == 2**20 + 1
    assert job.complete() == 0
    with pytest.raises(BitsError) as e:
        job.get_reply_data()
    assert e.value.hresult == BG_E_TOO_LARGE


def test_only_the_newest_acknowledged_replies_are_kept(svc: BitsService, tmp_path: Path) -> None:
    """Emulator choice (docs/reference/states.md#upload): Windows frees a reply with the job's last interface
    pointer, which the emulator cannot see, so it keeps the replies of the newest KEPT_REPLIES (32)
    acknowledged upload-reply jobs; an older one's GetReplyData then returns no data (None) and its
    GetReplyProgress reports an unknown size. Cancelled jobs keep nothing."""
    from emulator.transfer.scheduler import KEPT_REPLIES

    assert KEPT_REPLIES == 32
    jobs = []
    for i in range(KEPT_REPLIES + 1):
        job = _reply_job(svc, tmp_path, f"http://server/r{i}", f"reply {i}".encode(), name=f"rpc{i}")
        assert job.complete() == 0
        jobs.append(job)
    assert len(svc.scheduler.acknowledged_replies) == KEPT_REPLIES
    assert jobs[0].get_reply_data() is None
    assert jobs[0].get_reply_progress().bytes_total == 0xFFFFFFFFFFFFFFFF
    assert [j.get_reply_data() for j in jobs[1:]] == [f"reply {i}".encode() for i in range(1, KEPT_REPLIES + 1)]
    cancelled = _reply_job(svc, tmp_path, "http://server/c", b"gone", name="c")
    cancelled.cancel()
    assert cancelled.get_id() not in svc.scheduler.replies
    assert cancelled.get_id() not in svc.scheduler.acknowledged_replies
    assert len(svc.scheduler.acknowledged_replies) == KEPT_REPLIES


def test_reply_methods_on_a_download_job_are_notimpl(svc: BitsService) -> None:
    _, job = svc.connect().create_job("dl", JobType.DOWNLOAD)
    for call in (job.get_reply_progress, job.get_reply_data, job.get_reply_file_name):
        with pytest.raises(BitsError) as e:
            call()
        assert e.value.hresult == 0x80004001


def test_upload_to_a_server_without_the_bits_extension(svc: BitsService, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x")
    svc.network.register("http://server/plain", b"not an upload endpoint")
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.add_file("http://server/plain", str(src))
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x801901F5)  # 501


# real HTTP on the loopback interface ---------------------------------------------------------------------


class _Handler(QuietLog, http.server.BaseHTTPRequestHandler):
    body = b"0123456789" * 100

    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/data")
            self.end_headers()
            return
        if self.path == "/private" and self.headers.get("Authorization") != "Basic dXNlcjpwdw==":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="x"')
            self.end_headers()
            return
        if self.path not in ("/data", "/private"):
            self.send_response(404)
            self.end_headers()
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(self.body) - 1}/{len(self.body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(self.body) - start))
        self.send_header("Last-Modified", "Tue, 24 Nov 2026 10:00:00 GMT")
        self.end_headers()
        self.wfile.write(self.body[start:])


@pytest.fixture
def server(loopback: Callable[[HandlerFactory], str]) -> str:
    return loopback(_Handler)


def test_loopback_download_follows_redirects(svc: BitsService, server: str, tmp_path: Path) -> None:
    _, job = svc.connect().create_job("lo", JobType.DOWNLOAD)
    job.add_file(f"{server}/moved", str(tmp_path / "a"))
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (tmp_path / "a").read_bytes() == _Handler.body


def test_loopback_404_and_basic_auth(svc: BitsService, server: str, tmp_path: Path) -> None:
    _, job = svc.connect().create_job("lo", JobType.DOWNLOAD)
    job.add_file(f"{server}/missing", str(tmp_path / "a"))
    job.resume()
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x80190194)

    _, job = svc.connect().create_job("lo", JobType.DOWNLOAD)
    job.add_file(f"{server}/private", str(tmp_path / "b"))
    job.resume()
    assert job.get_error().get_error()[1] == 0x80190191
    job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "user", "pw")
    job.resume()
    assert job.get_state() is S.TRANSFERRED


def test_loopback_connection_refused_is_transient(svc: BitsService, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    _, job = svc.connect().create_job("lo", JobType.DOWNLOAD)
    job.add_file(f"http://127.0.0.1:{port}/x", str(tmp_path / "a"))
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, 0x80072EFD)  # CANNOT_CONNECT
