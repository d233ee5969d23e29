"""Helpers shared by the project's tests that are not fixtures (the fixtures are in conftest.py).

Test modules import them as ``from helpers import ...``: pytest puts the tests folder on ``sys.path``
(rootdir-relative conftest, no ``__init__.py``), as for ``conftest.py`` itself.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from emulator import BitsError, BitsService
from emulator.domain.records import JobRecord

HandlerFactory = Callable[[Any, Any, socketserver.BaseServer], http.server.BaseHTTPRequestHandler]


def hresult(exc: pytest.ExceptionInfo[BitsError]) -> int:
    """The HRESULT a ``pytest.raises(BitsError)`` block caught."""
    return exc.value.hresult


def recorded_steps(svc: BitsService, monkeypatch: pytest.MonkeyPatch) -> list[JobRecord]:
    """The jobs the scheduler steps from now on, one entry per step (a job's catch-up work: the count that
    must not grow with the queue); ``monkeypatch.undo()`` stops the recording."""
    steps: list[JobRecord] = []
    original = svc.scheduler._step

    def step(rec: JobRecord, t: int) -> None:
        steps.append(rec)
        original(rec, t)

    monkeypatch.setattr(svc.scheduler, "_step", step)
    return steps


# loopback HTTP servers ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def loopback_server(handler: HandlerFactory, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A threading HTTP server on 127.0.0.1 (a free port) answering with ``handler``; yields its base URL
    (``http://127.0.0.1:PORT``, no trailing slash; ``https://`` with ``tls``, a server-side context whose
    certificate it presents). On exit the server is shut down, its socket closed and its thread joined, so
    nothing outlives the test."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls is not None else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class QuietLog:
    """Mixin for a request handler: no access log on stderr (it would clutter the test output)."""

    def log_message(self, format: str, *args: object) -> None:
        pass


RANGE_DATA = bytes(range(256)) * 8  # 2,048 bytes, each offset distinguishable from its neighbours


class RangeHandler(QuietLog, http.server.BaseHTTPRequestHandler):
    """Serves RANGE_DATA with single byte ranges (206 + Content-Range, 416 past the end). ``/norange`` ignores
    the Range header (200, whole body); ``/merge`` answers a range not starting at 0 with a wider one (as a
    server consolidating ranges would). ``requests`` records "path Range" per request."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(f"{self.path} {self.headers.get('Range')}")
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", rng or "")
        if self.path == "/norange" or m is None:
            self._send(200, RANGE_DATA, None)
            return
        first, last = int(m.group(1)), min(int(m.group(2)), len(RANGE_DATA) - 1)
        if first >= len(RANGE_DATA):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(RANGE_DATA)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/merge" and first > 0:
            first = max(0, first - 10)
        self._send(206, RANGE_DATA[first : last + 1], f"bytes {first}-{last}/{len(RANGE_DATA)}")

    def _send(self, status: int, body: bytes, content_range: str | None) -> None:
        self.send_response(status)
        if content_range:
            self.send_header("Content-Range", content_range)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", "Tue, 24 Nov 2026 10:00:00 GMT")
        self.end_headers()
        self.wfile.write(body)


# notification callbacks ---------------------------------------------------------------------------------------


class CallRecorder:
    """An IBackgroundCopyCallback that records the names of the calls it gets, in order; subclasses add the
    methods of the later callback interfaces."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def JobTransferred(self, job: Any) -> int:
        self.calls.append("JobTransferred")
        return 0

    def JobError(self, job: Any, error: Any) -> int:
        self.calls.append("JobError")
        return 0
