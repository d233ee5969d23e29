"""A closed service is freed by reference counting alone: nothing it built points back at it, and close()
drops the event subscriptions (the only cycles a running service has). A test suite that makes a service
per test then leaves no garbage for the collector to find, and a service costs no collector time after its
close (benchmarks/RESULTS.md, fresh service).

Also what a pointer held past the close does: every call answers RPC_S_SERVER_UNAVAILABLE, as a pointer whose
server process is gone does, and nothing raises from inside.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from emulator import BitsError, BitsService, JobState, JobType, ManualClock


@contextmanager
def collector_off() -> Iterator[None]:
    """The cyclic garbage collector stopped: what is freed is then freed by reference counting."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Callback:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def JobTransferred(self, job: object) -> None:
        self.calls.append("JobTransferred")

    def JobError(self, job: object, error: object) -> None:
        self.calls.append("JobError")

    def JobModification(self, job: object, reserved: int) -> None:
        self.calls.append("JobModification")


def busy_memory_service(tmp_path: Path) -> BitsService:
    """A service that ran the usual things: a transfer with a callback, an enumeration, a cancel."""
    svc = BitsService(clock=ManualClock(), root=tmp_path / "root")
    svc.network.register("http://server/a.bin", b"x" * 100)
    manager = svc.connect()
    _, job = manager.create_job("done", JobType.DOWNLOAD)
    job.add_file("http://server/a.bin", str(tmp_path / "a.bin"))
    callback = Callback()
    job.set_notify_interface(callback)
    job.resume()
    svc.run_until_idle()
    assert callback.calls == ["JobTransferred"]
    job.complete()
    _, other = manager.create_job("cancelled", JobType.DOWNLOAD)
    assert len(list(manager.enum_jobs())) == 1
    other.cancel()
    return svc


def file_store_service(tmp_path: Path) -> BitsService:
    svc = BitsService(database=tmp_path / "queue.db")
    svc.connect().create_job("kept", JobType.DOWNLOAD)
    return svc


def warm_up(tmp_path: Path, make: Callable[[Path], BitsService]) -> None:
    """One service made and closed first: the process's first one makes SQLAlchemy's one-time objects."""
    (tmp_path / "warm-up").mkdir()
    make(tmp_path / "warm-up").close()


@pytest.mark.parametrize(
    "make",
    [lambda tmp: BitsService(), busy_memory_service, file_store_service],
    ids=["fresh", "memory store after a transfer", "file store"],
)
def test_a_closed_service_is_freed_without_the_garbage_collector(
    tmp_path: Path, make: Callable[[Path], BitsService]
) -> None:
    warm_up(tmp_path, make)
    with collector_off():
        svc = make(tmp_path)
        gone = weakref.ref(svc)
        backend = weakref.ref(svc.backend)
        svc.close()
        del svc
        assert gone() is None, "the service outlived its last reference: a reference cycle holds it"
        assert backend() is None


@pytest.mark.parametrize(
    "make", [lambda tmp: BitsService(), busy_memory_service], ids=["fresh", "memory store after a transfer"]
)
def test_a_closed_memory_service_leaves_no_cyclic_garbage(tmp_path: Path, make: Callable[[Path], BitsService]) -> None:
    """Not one object for the collector: the service, its clients' pointers and the callback arguments it
    made (a file store's SQLAlchemy engine makes cyclic objects of its own, hence memory stores here)."""
    warm_up(tmp_path, make)
    with collector_off():
        make(tmp_path).close()
        assert gc.collect() == 0, "closing left cyclic garbage behind"


RPC_S_SERVER_UNAVAILABLE = 0x800706BA


def test_pointers_held_past_the_close_answer_rpc_server_unavailable() -> None:
    """docs/design.md: a closed service's pointers answer every call, read or write, with
    RPC_S_SERVER_UNAVAILABLE (the error of a COM pointer whose server process is gone,
    https://learn.microsoft.com/en-us/windows/win32/rpc/rpc-return-values), never with the store's error;
    nothing is half-applied and the history stays readable."""
    svc = BitsService()
    manager = svc.connect()
    job_id, job = manager.create_job("held", JobType.DOWNLOAD)
    svc.close()
    for call in (job.get_state, manager.enum_jobs, lambda: job.set_description("after the close"),
                 lambda: manager.create_job("late", JobType.DOWNLOAD)):
        with pytest.raises(BitsError) as caught:
            call()
        assert caught.value.hresult == RPC_S_SERVER_UNAVAILABLE
    assert svc.history.states(job_id) == [JobState.SUSPENDED]


def test_a_pointer_outlives_its_dropped_service() -> None:
    """The service layer stays alive with the pointers that use it, not with the service object: a service
    dropped without close() still answers its pointers; once closed, they get RPC_S_SERVER_UNAVAILABLE."""
    svc = BitsService(clock=ManualClock())
    manager = svc.connect()
    _, job = manager.create_job("orphan", JobType.DOWNLOAD)
    del svc
    assert job.get_display_name() == "orphan"
    assert job.get_state() is JobState.SUSPENDED
    closed = BitsService(clock=ManualClock())
    _, held = closed.connect().create_job("held", JobType.DOWNLOAD)
    closed.close()
    del closed
    with pytest.raises(BitsError) as caught:
        held.get_display_name()
    assert caught.value.hresult == RPC_S_SERVER_UNAVAILABLE
