"""What a BITS service restart (``svc.restart()``) forgets: what lived only in the service's memory.

Jobs, files, properties, state and progress survive a restart; the callback pointer does not
(https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-setnotifyinterface), nor
does the server-certificate validation object
(https://learn.microsoft.com/en-us/windows/win32/api/bits10_3/nf-bits10_3-ibackgroundcopyjobhttpoptions3-setservercertificatevalidationinterface),
and a SetRemoteName change is made durable only by the next Resume
(https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyfile2-setremotename).
A restart forgets exactly what a service reopening the store never had (docs/reference/states.md#persistence),
on an in-memory store as on a file store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CallRecorder

from emulator import BitsService, ErrorContext, Job, JobState, JobType, ManualClock, NotifyFlags

S = JobState
BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED = 0x80200074
SLOW = "http://server/slow.bin"
OTHER = "http://server/other.bin"
HTTPS = "https://cdn.example.com/a.bin"


@pytest.fixture(params=["memory", "file"])
def svc(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BitsService]:
    database = tmp_path / "queue.db" if request.param == "file" else None
    with BitsService(database=database, clock=ManualClock(), root=tmp_path) as service:
        service.filesystem.makedirs("C:\\dl")
        service.network.register(SLOW, b"s" * 100, rate=10)
        service.network.register(OTHER, b"o" * 100, rate=10)
        service.network.register(HTTPS, b"c" * 100)
        yield service


class Validator:
    def __init__(self) -> None:
        self.calls = 0

    def ValidateServerCertificate(self, job: Any, file: Any, cert: bytes, encoding: int, store: bytes) -> int:
        self.calls += 1
        return 0


def _job(svc: BitsService, url: str, name: str) -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    job.add_file(url, f"C:\\dl\\{name}.bin")
    return job


def _after_restart(svc: BitsService, job: Job) -> Job:
    svc.restart()
    return svc.connect().get_job(job.get_id())


def test_the_callback_pointer_does_not_survive_a_restart(svc: BitsService) -> None:
    """SetNotifyInterface: the pointer is not persisted. After the restart GetNotifyInterface is NULL and the old
    object is not called; the JobTransferred nobody received waits for the next SetNotifyInterface."""
    job = _job(svc, SLOW, "cb")
    job.set_notify_flags(NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR)
    old = CallRecorder()
    job.set_notify_interface(old)
    job.resume()
    job = _after_restart(svc, job)
    assert job.get_notify_interface() is None
    job.resume()
    svc.advance(20)
    assert job.get_state() is S.TRANSFERRED
    assert old.calls == []
    new = CallRecorder()
    job.set_notify_interface(new)
    job.get_state()
    assert new.calls == ["JobTransferred"]


def test_the_certificate_validation_object_does_not_survive_a_restart(svc: BitsService) -> None:
    """SetServerCertificateValidationInterface: the object lives in the process that set it; the job still
    requires one, so after the restart its HTTPS connection fails with
    BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED, context SERVER_CERTIFICATE_CALLBACK, until it is set again
    (docs/reference/readings.md#server-certificate)."""
    job = _job(svc, HTTPS, "cert")
    validator = Validator()
    job.set_server_certificate_validation_interface(validator)
    job = _after_restart(svc, job)
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (
        ErrorContext.SERVER_CERTIFICATE_CALLBACK, BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED
    )
    assert validator.calls == 0
    job.suspend()
    again = Validator()
    job.set_server_certificate_validation_interface(again)
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    assert again.calls == 1


@pytest.mark.parametrize("resumed", [False, True], ids=["no Resume: lost", "Resume: durable"])
def test_a_remote_name_change_is_durable_from_the_next_resume(svc: BitsService, resumed: bool) -> None:
    """SetRemoteName: "Calling the Resume method serializes the change". A change no Resume followed is gone
    after a restart (the file goes back to the name it had); one a Resume followed stays."""
    job = _job(svc, SLOW, "renamed")
    f = next(iter(job.enum_files()))
    f.set_remote_name(OTHER)
    if resumed:
        job.resume()
        job.suspend()
    job = _after_restart(svc, job)
    assert next(iter(job.enum_files())).get_remote_name() == (OTHER if resumed else SLOW)
    job.resume()
    svc.advance(20)
    assert job.get_state() is S.TRANSFERRED
    assert svc.network.requests[-1].url == (OTHER if resumed else SLOW)


def test_a_reopened_file_store_finds_its_unfinished_downloads_without_a_root(tmp_path: Path) -> None:
    """README (root): without ``root`` a file store's drives are ``<store>.drives`` beside it, kept with it, so a
    service reopening the store resumes a download from the bytes its temporary holds (a Range request from
    byte 500), as a BITS restart does (docs/reference/states.md#persistence)."""
    db = tmp_path / "queue.db"
    with BitsService(database=db, clock=ManualClock()) as first:
        first.network.register(SLOW, b"s" * 1000, rate=100)
        first.filesystem.makedirs("C:\\dl")
        job = _job(first, SLOW, "half")
        job.resume()
        first.advance(5)
        job_id = job.get_id()
    assert (tmp_path / "queue.db.drives" / "C" / "dl").is_dir()
    with BitsService(database=db, clock=ManualClock()) as second:
        second.network.register(SLOW, b"s" * 1000, rate=100)
        job = second.connect().get_job(job_id)
        second.advance(60)
        assert job.get_state() is S.TRANSFERRED
        assert [r.offset for r in second.network.requests] == [500]
        job.complete()
    assert (tmp_path / "queue.db.drives" / "C" / "dl" / "half.bin").read_bytes() == b"s" * 1000
