"""Notification CLSIDs (BITS 5.0): IBackgroundCopyJob5 property NOTIFICATION_CLSID names an out-of-process COM
server, registered on the emulated machine with ``svc.register_com_server(clsid, factory)``.

Facts (https://learn.microsoft.com/en-us/windows/win32/bits/registering-a-com-callback): BITS first calls
the callback object registered with SetNotifyInterface; "if there is no existing object, or if that existing
object has become disconnected (typically as a result of your application terminating), BITS will call
CoCreateInstance using the notification CLSID to instantiate a new callback object, and will use that object
for any further callbacks until it becomes disconnected or it is replaced by a new call to
SetNotifyInterface"; GUID_NULL clears the CLSID; the CLSID persists with the job.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from emulator import BitsError, BitsService, Job, JobState, JobType, NotifyFlags
from emulator.constants import JobPropertyId
from emulator.events import NotifyCommandLine
from emulator.history import Notification
from emulator.hresults import RPC_E_DISCONNECTED, RPC_S_SERVER_UNAVAILABLE

pytestmark = pytest.mark.svc(clock="manual")

CLSID = uuid.UUID("6f0f9d0a-3c1e-4d6b-9a51-0a7c2b1e8f42")
FLAGS = NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR


class Sink:
    """A callback object; ``result`` is what its methods return (or raise, when an exception)."""

    def __init__(self, name: str, log: list[tuple[str, str]], result: object = 0) -> None:
        self.name, self.log, self.result = name, log, result

    def _called(self, method: str) -> object:
        self.log.append((self.name, method))
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result

    def JobTransferred(self, job: Job) -> object:
        return self._called("JobTransferred")

    def JobError(self, job: Job, error: Any) -> object:
        return self._called("JobError")


class Server:
    """A registered COM server: each activation makes a new Sink named server#1, server#2, …"""

    def __init__(self, log: list[tuple[str, str]], result: object = 0) -> None:
        self.log, self.result, self.made = log, result, 0

    def __call__(self) -> Sink:
        self.made += 1
        return Sink(f"server#{self.made}", self.log, self.result)


def job_with_file(
    svc: BitsService, tmp_path: Path, url: str = "http://server/a", clsid: uuid.UUID | None = CLSID
) -> Job:
    if url not in svc.network.registered:
        svc.network.register(url, b"x" * 10)
    _, job = svc.connect().create_job("clsid", JobType.DOWNLOAD)
    job.add_file(url, str(tmp_path / f"{uuid.uuid4()}.bin"))
    job.set_notify_flags(FLAGS)
    if clsid is not None:
        job.set_property(JobPropertyId.NOTIFICATION_CLSID, clsid)
    return job


def test_without_a_callback_object_the_clsid_server_is_activated_once_per_job(svc: BitsService, tmp_path: Path) -> None:
    """No object registered: CoCreateInstance(CLSID) makes one, which gets JobTransferred; the job keeps
    using it for its further callbacks (a second transfer after AddFile)."""
    log: list[tuple[str, str]] = []
    server = Server(log)
    svc.register_com_server(CLSID, server)
    job = job_with_file(svc, tmp_path)
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    assert log == [("server#1", "JobTransferred")]
    svc.network.register("http://server/b", b"y" * 5)
    job.add_file("http://server/b", str(tmp_path / "b.bin"))
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    assert log == [("server#1", "JobTransferred"), ("server#1", "JobTransferred")]
    assert server.made == 1
    activations = [r for r in svc.history.records() if isinstance(r, Notification) and r.method.startswith("CoC")]
    assert [(r.method, r.succeeded) for r in activations] == [(f"CoCreateInstance({{{str(CLSID).upper()}}})", True)]


def test_a_registered_callback_object_takes_precedence(svc: BitsService, tmp_path: Path) -> None:
    """"BITS will use a callback object if one exists and can still be called": the server is not activated."""
    log: list[tuple[str, str]] = []
    server = Server(log)
    svc.register_com_server(CLSID, server)
    job = job_with_file(svc, tmp_path)
    job.set_notify_interface(Sink("object", log))
    job.resume()
    job.get_state()
    assert log == [("object", "JobTransferred")]
    assert server.made == 0


@pytest.mark.parametrize("gone", [RPC_E_DISCONNECTED, RPC_S_SERVER_UNAVAILABLE])
@pytest.mark.parametrize("how", ["raises", "returns", "com_error"])
def test_a_disconnected_object_falls_back_to_the_clsid_at_once(
    svc: BitsService, tmp_path: Path, gone: int, how: str
) -> None:
    """The registered object's call gives RPC_E_DISCONNECTED (0x80010108) or RPC_S_SERVER_UNAVAILABLE
    (0x800706BA): its application ended, so BITS instantiates the CLSID and delivers the same notification."""
    log: list[tuple[str, str]] = []
    svc.register_com_server(CLSID, Server(log))
    job = job_with_file(svc, tmp_path)
    signed = int(gone) - (1 << 32)  # a COM method returns the HRESULT as a signed 32-bit value
    # pywin32's com_error carries the signed HRESULT as its first argument
    result = {"raises": BitsError(gone), "returns": signed, "com_error": Exception(signed, "disconnected", None, None)}
    job.set_notify_interface(Sink("object", log, result[how]))
    job.resume()
    job.get_state()
    assert log == [("object", "JobTransferred"), ("server#1", "JobTransferred")]
    assert svc.notifications.delivered[-1] == ("JobTransferred", job.get_id())


def test_an_object_that_fails_is_retried_not_replaced(svc: BitsService, tmp_path: Path) -> None:
    """A failure that is not a disconnection (E_FAIL) is the object's answer: no CLSID fallback; the same
    object gets the notification again after the retry delay (60 s, the emulator's choice)."""
    log: list[tuple[str, str]] = []
    server = Server(log)
    svc.register_com_server(CLSID, server)
    job = job_with_file(svc, tmp_path)
    obj = Sink("object", log, -2147467259)  # E_FAIL
    job.set_notify_interface(obj)
    job.resume()
    job.get_state()
    obj.result = 0
    svc.advance(60)
    assert log == [("object", "JobTransferred"), ("object", "JobTransferred")]
    assert server.made == 0


@pytest.mark.parametrize("raised", [Exception(True), Exception("0x80010108"), Exception(), BitsError(0x80004005)])
def test_any_other_exception_is_a_failure_without_fallback(svc: BitsService, tmp_path: Path, raised: Exception) -> None:
    """A raising callback failed (it is retried); only RPC_E_DISCONNECTED / RPC_S_SERVER_UNAVAILABLE as an
    HRESULT mean its object is gone (emulator's reading, docs/reference/readings.md#clsid-modification)."""
    log: list[tuple[str, str]] = []
    server = Server(log)
    svc.register_com_server(CLSID, server)
    job = job_with_file(svc, tmp_path)
    obj = Sink("object", log, raised)
    job.set_notify_interface(obj)
    job.resume()
    job.get_state()
    assert log == [("object", "JobTransferred")] and server.made == 0
    obj.result = 0
    svc.advance(60)
    assert log == [("object", "JobTransferred"), ("object", "JobTransferred")]


def test_a_clsid_nobody_registered_fails_the_notification_and_it_is_retried(svc: BitsService, tmp_path: Path) -> None:
    """CoCreateInstance fails (REGDB_E_CLASSNOTREG): the notification is not delivered and comes again after
    the retry delay; a server registered meanwhile gets it then."""
    log: list[tuple[str, str]] = []
    job = job_with_file(svc, tmp_path)
    job.resume()
    job.get_state()
    assert log == []
    activations = [r for r in svc.history.records() if isinstance(r, Notification)]
    assert [(r.method, r.succeeded) for r in activations] == [(f"CoCreateInstance({{{str(CLSID).upper()}}})", False)]
    svc.register_com_server(CLSID, Server(log))
    svc.advance(59)
    assert log == []
    svc.advance(1)
    assert log == [("server#1", "JobTransferred")]


def test_a_failed_activation_runs_the_command_line_instead(svc: BitsService, tmp_path: Path) -> None:
    """The COM route failed, so the registered command line runs (notification order of the SetNotifyCmdLine
    page: the program runs when the COM callback cannot be delivered)."""
    seen: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, seen.append)
    job = job_with_file(svc, tmp_path)
    job.set_notify_cmd_line("C:\\Windows\\notify.exe", "notify.exe done")
    job.resume()
    job.get_state()
    assert [e.reason for e in seen][-1] == "the notification CLSID could not be activated"


def test_set_notify_interface_replaces_the_activated_object(svc: BitsService, tmp_path: Path) -> None:
    """The activated object is used "until … it is replaced by a new call to SetNotifyInterface"; after
    SetNotifyInterface(NULL) the next notification activates a new object."""
    log: list[tuple[str, str]] = []
    server = Server(log)
    svc.register_com_server(CLSID, server)
    job = job_with_file(svc, tmp_path)
    job.resume()
    job.get_state()
    job.set_notify_interface(Sink("object", log))
    svc.network.register("http://server/b", b"y")
    job.add_file("http://server/b", str(tmp_path / "b.bin"))
    job.resume()
    job.get_state()
    job.set_notify_interface(None)
    svc.network.register("http://server/c", b"z")
    job.add_file("http://server/c", str(tmp_path / "c.bin"))
    job.resume()
    job.get_state()
    assert log == [("server#1", "JobTransferred"), ("object", "JobTransferred"), ("server#2", "JobTransferred")]


def test_a_disconnected_activated_object_is_replaced_at_the_next_notification(
    svc: BitsService, tmp_path: Path
) -> None:
    """The activated object is used "until it becomes disconnected": the failed notification is retried, and
    the retry activates a new object."""
    log: list[tuple[str, str]] = []
    server = Server(log, BitsError(RPC_E_DISCONNECTED))
    svc.register_com_server(CLSID, server)
    job = job_with_file(svc, tmp_path)
    job.resume()
    job.get_state()
    assert log == [("server#1", "JobTransferred")]
    server.result = 0
    svc.advance(60)
    assert log == [("server#1", "JobTransferred"), ("server#2", "JobTransferred")]


def test_guid_null_clears_the_clsid(svc: BitsService, tmp_path: Path) -> None:
    """GUID_NULL clears the notification CLSID: nothing is activated; GetProperty returns GUID_NULL."""
    log: list[tuple[str, str]] = []
    server = Server(log)
    svc.register_com_server(CLSID, server)
    job = job_with_file(svc, tmp_path)
    job.set_property(JobPropertyId.NOTIFICATION_CLSID, uuid.UUID(int=0))
    assert job.get_property(JobPropertyId.NOTIFICATION_CLSID) == uuid.UUID(int=0)
    job.resume()
    job.get_state()
    svc.advance(120)
    assert server.made == 0 and log == []


def test_a_clsid_set_after_the_event_still_gets_it_once(svc: BitsService, tmp_path: Path) -> None:
    """At-least-once, as for a late SetNotifyInterface: JobTransferred happened with no target; setting the
    CLSID afterwards delivers it (once) through the activated object."""
    log: list[tuple[str, str]] = []
    svc.register_com_server(CLSID, Server(log))
    job = job_with_file(svc, tmp_path, clsid=None)
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    job.set_property(JobPropertyId.NOTIFICATION_CLSID, CLSID)
    job.get_state()
    svc.advance(120)
    assert log == [("server#1", "JobTransferred")]


def test_the_clsid_persists_across_a_service_restart_and_a_new_process(tmp_path: Path) -> None:
    """Unlike callback objects, the CLSID is persisted with the job: a service opened later on the same store
    (the application long gone) activates the server registered on that machine."""
    store = tmp_path / "qmgr.db"
    drives = tmp_path / "root"
    with BitsService(database=store, root=drives) as first:
        first.network.register("http://server/a", b"x" * 10, rate=1)
        first.filesystem.makedirs("C:\\data")
        _, job = first.connect().create_job("persist", JobType.DOWNLOAD)
        job.add_file("http://server/a", "C:\\data\\a.bin")
        job.set_notify_flags(FLAGS)
        job.set_property(JobPropertyId.NOTIFICATION_CLSID, CLSID)
        job.set_notify_interface(Sink("object", []))  # not persisted
        job_id = job.get_id()
    log: list[tuple[str, str]] = []
    with BitsService(database=store, root=drives) as second:
        second.network.register("http://server/a", b"x" * 10)
        second.register_com_server(CLSID, Server(log))
        again = second.connect().get_job(job_id)
        assert again.get_property(JobPropertyId.NOTIFICATION_CLSID) == CLSID
        again.resume()
        second.run_until_idle()
        assert again.get_state() is JobState.TRANSFERRED
    assert log == [("server#1", "JobTransferred")]


def test_register_com_server_checks_its_arguments(svc: BitsService) -> None:
    with pytest.raises(TypeError):
        svc.register_com_server(CLSID, "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        svc.register_com_server(42, Server([]))  # type: ignore[arg-type]
    svc.register_com_server(str(CLSID).upper(), Server([]))
    svc.unregister_com_server(CLSID)
    svc.unregister_com_server(CLSID)  # absent: nothing to do
