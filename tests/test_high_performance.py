"""HIGH_PERFORMANCE download jobs write straight into their destination files and save no progress.

Facts: BITS_JOB_PROPERTY_ID (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id),
HIGH_PERFORMANCE — BITS downloads "directly into the destination file, instead of downloading to a temporary
file and moving the temporary file to the final destination once the transfer is complete", so it "will not
clean up any partially downloaded content if a job is cancelled or encounters a fatal error condition; the
BITS caller is responsible for cleaning up the destination file"; and it avoids "persisting information about
normal job progress", so after an unexpected shutdown it will "lose progress and restart the job from the
beginning". GetTemporaryName (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-gettemporaryname)
names the file "that contains the content of the download".
Emulator choices (docs/reference/readings.md#high-performance): the destination is created or emptied when the
file first starts; GetTemporaryName is None before, the local name after; a service start puts the files not
yet whole back to byte 0 (whole files, the job's state and properties survive); the sandbox's protections
(no symlink, no hard link, directory ACLs, T27) apply to the destination as to a temporary.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator import BitsService, ErrorContext, File, Job, JobPriority, JobState, JobType, ManualClock
from emulator.constants import JobPropertyId as P

S = JobState
DATA = bytes(range(100))  # each offset distinguishable
E_ACCESSDENIED = 0x80070005
ERROR_SHARING_VIOLATION = 0x80070020
BG_S_PARTIAL_COMPLETE = 0x00200017
BG_E_NETWORK_DISCONNECTED = 0x80200010
BG_E_VALIDATION_FAILED = 0x80200053
BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED = 0x80200064

pytestmark = pytest.mark.svc(clock="manual")


def hp_job(svc: BitsService, out: Path, *urls: str, name: str = "hp", high_performance: bool = True) -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    if high_performance:
        job.set_property(P.HIGH_PERFORMANCE, True)
    for i, url in enumerate(urls):
        job.add_file(url, str(out / f"{name}-{i}.bin"))
    return job


def files(job: Job) -> list[File]:
    return list(job.enum_files())


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# writing in place --------------------------------------------------------------------------------------------


def test_the_destination_receives_the_bytes_and_complete_renames_nothing(svc: BitsService, tmp_path: Path) -> None:
    """"Directly into the destination file": no hidden temporary beside it at any time; Complete (S_OK) leaves
    the file where it is, owned by the caller of Complete
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-complete)."""
    svc.network.register("http://server/a", DATA, rate=10)
    job = hp_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(3)
    assert names(tmp_path) == ["hp-0.bin"]
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA[:30]
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA
    assert job.complete() == 0
    assert names(tmp_path) == ["hp-0.bin"]
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA
    assert svc.filesystem.owner(tmp_path / "hp-0.bin") == svc.current_session.token.user_sid


@pytest.mark.svc(clock="manual", sandbox=True)
def test_get_temporary_name_is_none_then_the_local_name_as_given(svc: BitsService, tmp_path: Path) -> None:
    """GetTemporaryName names the file holding the download: here the destination, by the local name exactly as
    AddFile got it (case and all); None until the file has begun, as for an ordinary job."""
    svc.network.register("http://server/a", DATA, rate=10, latency=5)
    svc.filesystem.makedirs("C:\\Out")
    _, job = svc.connect().create_job("hp", JobType.DOWNLOAD)
    job.set_property(P.HIGH_PERFORMANCE, True)
    job.add_file("http://server/a", "c:\\OUT\\Data.Bin")
    (f,) = files(job)
    assert f.get_temporary_name() is None
    job.resume()
    svc.advance(4)
    assert job.get_state() is S.CONNECTING
    assert f.get_temporary_name() is None  # not begun yet
    svc.advance(1)
    assert f.get_temporary_name() == "c:\\OUT\\Data.Bin"
    assert names(tmp_path / "drives" / "C" / "Out") == ["Data.Bin"]


def test_an_existing_destination_is_emptied_when_the_file_first_starts(svc: BitsService, tmp_path: Path) -> None:
    """Emulator choice: the old file stays untouched while the job connects and is emptied at the file's first
    start, so its bytes never mix with the download's."""
    svc.network.register("http://server/a", DATA, rate=10, latency=5)
    (tmp_path / "hp-0.bin").write_bytes(b"old" * 100)
    job = hp_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(4)
    assert (tmp_path / "hp-0.bin").read_bytes() == b"old" * 100
    svc.advance(1)
    assert (tmp_path / "hp-0.bin").read_bytes() == b""
    svc.advance(1)
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA[:10]


def test_suspend_and_resume_go_on_in_place(svc: BitsService, tmp_path: Path) -> None:
    """HIGH_PERFORMANCE changes where the bytes go, not resuming: the file goes on from byte 30 (a Range request)
    in the same destination."""
    svc.network.register("http://server/a", DATA, rate=10)
    job = hp_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(3)
    job.suspend()
    job.resume()
    assert job.get_progress().bytes_transferred == 30
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA[:30]
    svc.run_until_idle()
    assert [r.offset for r in svc.network.requests_for("http://server/a")] == [0, 30]
    assert job.complete() == 0
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA


# no clean-up -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("high_performance", [True, False])
def test_cancel_leaves_the_partial_destination(svc: BitsService, tmp_path: Path, high_performance: bool) -> None:
    """BITS "will not clean up any partially downloaded content if a job is cancelled" (S_OK: nothing failed to
    be deleted); an ordinary job's Cancel deletes its temporary (T31)."""
    svc.network.register("http://server/a", DATA, rate=10)
    job = hp_job(svc, tmp_path, "http://server/a", high_performance=high_performance)
    job.resume()
    svc.advance(4)
    assert job.cancel() == 0
    if high_performance:
        assert names(tmp_path) == ["hp-0.bin"]
        assert (tmp_path / "hp-0.bin").read_bytes() == DATA[:40]
    else:
        assert names(tmp_path) == []


def test_a_fatal_error_leaves_the_partial_destination(svc: BitsService, tmp_path: Path) -> None:
    """"Or encounters a fatal error condition": MAX_DOWNLOAD_SIZE reached by dynamic content (ERROR,
    docs/reference/readings.md#job5-size-checks); the 50 bytes stay, and stay after Cancel."""
    svc.network.register("http://server/d", DATA, rate=10, content_length=False)
    _, job = svc.connect().create_job("hp", JobType.DOWNLOAD)
    job.set_property(P.HIGH_PERFORMANCE, True)
    job.set_property(P.DYNAMIC_CONTENT, True)
    job.set_property(P.MAX_DOWNLOAD_SIZE, 50)
    job.add_file("http://server/d", str(tmp_path / "d.bin"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED)
    assert (tmp_path / "d.bin").read_bytes() == DATA[:50]
    assert job.cancel() == 0
    assert (tmp_path / "d.bin").read_bytes() == DATA[:50]


def test_a_partial_complete_leaves_the_partial_destination(svc: BitsService, tmp_path: Path) -> None:
    """Complete with a file not yet whole: BG_S_PARTIAL_COMPLETE (T29); the whole file is available, the partial
    one is left as it is (no clean-up, emulator choice) instead of being deleted."""
    svc.network.register("http://server/1", b"1" * 20, rate=10)
    svc.network.register("http://server/2", DATA, rate=10)
    job = hp_job(svc, tmp_path, "http://server/1", "http://server/2")
    job.resume()
    svc.advance(5)
    job.suspend()
    assert job.complete() == BG_S_PARTIAL_COMPLETE
    assert (tmp_path / "hp-0.bin").read_bytes() == b"1" * 20
    assert (tmp_path / "hp-1.bin").read_bytes() == DATA[:30]


def test_validation_failure_keeps_the_destination_and_resume_downloads_again(svc: BitsService, tmp_path: Path) -> None:
    """SetValidationState(FALSE) (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-setvalidationstate):
    ERROR BG_E_VALIDATION_FAILED, progress 0, Resume downloads the file again. Nothing is deleted; the
    destination is emptied when the file starts again, so it ends holding exactly the new download."""
    res = svc.network.register("http://server/a", DATA, rate=10)
    job = hp_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.run_until_idle()
    (f,) = files(job)
    f.set_validation_state(False)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, BG_E_VALIDATION_FAILED)
    assert f.get_progress().bytes_transferred == 0
    assert f.get_temporary_name() is None
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA
    res.content = b"B" * 50
    res.size = 50
    job.resume()
    svc.run_until_idle()
    assert job.complete() == 0
    assert (tmp_path / "hp-0.bin").read_bytes() == b"B" * 50


def test_the_inactivity_timeout_leaves_the_partial_destination(svc: BitsService, tmp_path: Path) -> None:
    """T32 (JobInactivityTimeout, 90 days: https://learn.microsoft.com/en-us/windows/win32/bits/group-policies)
    cancels the job; a HIGH_PERFORMANCE job's partial destination is not cleaned up then either."""
    svc.network.register("http://server/a", DATA, rate=10)
    job = hp_job(svc, tmp_path, "http://server/a")
    job.resume()
    svc.advance(3)
    job.suspend()
    svc.advance(90 * 86400)
    assert job.get_state() is S.CANCELLED
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA[:30]


def test_closing_a_memory_service_leaves_the_partial_destination(tmp_path: Path) -> None:
    """A memory store's jobs die with the service, which deletes their temporaries (README); a HIGH_PERFORMANCE
    job's destination is the caller's, and stays."""
    out = tmp_path / "out"
    out.mkdir()
    with BitsService(clock=ManualClock(), root=tmp_path / "root") as svc:
        svc.network.register("http://server/a", DATA, rate=10)
        for high_performance, name in ((True, "hp"), (False, "plain")):
            job = hp_job(svc, out, "http://server/a", name=name, high_performance=high_performance)
            job.set_priority(JobPriority.FOREGROUND)
            job.resume()
        svc.advance(2)
        assert len(names(out)) == 2  # hp-0.bin and the other job's .BIT*.tmp
    assert names(out) == ["hp-0.bin"]
    assert (out / "hp-0.bin").read_bytes() == DATA[:20]


# progress that was not saved --------------------------------------------------------------------------------


@pytest.mark.parametrize("high_performance", [True, False])
def test_a_service_restart_loses_the_unsaved_progress(svc: BitsService, tmp_path: Path, high_performance: bool) -> None:
    """BITS "will lose progress and restart the job from the beginning": svc.restart() puts the unfinished
    file back to byte 0 and no temporary name (its destination keeps its bytes until the file restarts, when it
    is emptied); the whole first file survives. An ordinary job keeps its 30 bytes."""
    svc.network.register("http://server/1", b"1" * 20, rate=10)
    svc.network.register("http://server/2", DATA, rate=10, latency=5)
    job = hp_job(svc, tmp_path, "http://server/1", "http://server/2", high_performance=high_performance)
    job.resume()
    svc.advance(10)  # file 1 in 2 s, 5 s connecting, 3 s of file 2
    first, second = files(job)
    assert second.get_progress().bytes_transferred == 30
    svc.restart()
    assert job.get_state() is S.CONNECTING
    assert first.get_progress().bytes_transferred == 20
    assert job.get_progress().files_transferred == 1
    if not high_performance:
        assert second.get_progress().bytes_transferred == 30
        return
    assert second.get_progress().bytes_transferred == 0
    assert second.get_temporary_name() is None
    assert (tmp_path / "hp-1.bin").read_bytes() == DATA[:30]
    svc.advance(5)
    assert (tmp_path / "hp-1.bin").read_bytes() == b""  # the file starts again in an emptied destination
    svc.run_until_idle()
    assert [r.offset for r in svc.network.requests_for("http://server/2")] == [0, 0]
    assert [r.offset for r in svc.network.requests_for("http://server/1")] == [0]
    assert job.complete() == 0
    assert (tmp_path / "hp-0.bin").read_bytes() == b"1" * 20
    assert (tmp_path / "hp-1.bin").read_bytes() == DATA


def _store_with_progress(db: Path, out: Path) -> tuple[object, object]:
    """A store holding a HIGH_PERFORMANCE job (file 1 whole, 30 bytes of file 2) and an ordinary job (30 bytes),
    both waiting for the network (T17) when the service stops."""
    with BitsService(database=db, clock=ManualClock()) as svc:
        svc.network.register("http://server/1", b"1" * 20, rate=10)
        svc.network.register("http://server/2", DATA, rate=10)
        hp = hp_job(svc, out, "http://server/1", "http://server/2")
        plain = hp_job(svc, out, "http://server/2", name="plain", high_performance=False)
        for job in (hp, plain):
            job.set_priority(JobPriority.FOREGROUND)
            job.resume()
        svc.advance(5)
        svc.network.disconnect()
        assert files(hp)[1].get_progress().bytes_transferred == 30
        assert files(plain)[0].get_progress().bytes_transferred == 50
        return hp.get_id(), plain.get_id()


def test_the_next_service_to_open_a_file_store_loses_the_unsaved_progress(tmp_path: Path) -> None:
    """A reboot: the first service to open the store starts BITS, and the HIGH_PERFORMANCE job's unfinished file
    is back at byte 0 before anything runs. What survives (emulator choice): the job, its state and error, its
    properties, the whole file, and the partial destination's bytes until the file restarts; the ordinary job
    keeps its progress."""
    db, out = tmp_path / "bits.db", tmp_path / "out"
    out.mkdir()
    hp_id, plain_id = _store_with_progress(db, out)
    with BitsService(database=db, clock=ManualClock()) as svc:
        mgr = svc.connect()
        hp, plain = mgr.get_job(hp_id), mgr.get_job(plain_id)  # type: ignore[arg-type]
        assert hp.get_state() is S.TRANSIENT_ERROR
        assert hp.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, BG_E_NETWORK_DISCONNECTED)
        assert hp.get_property(P.HIGH_PERFORMANCE) is True
        first, second = files(hp)
        assert (first.get_progress().bytes_transferred, hp.get_progress().files_transferred) == (20, 1)
        assert (second.get_progress().bytes_transferred, second.get_temporary_name()) == (0, None)
        assert (out / "hp-1.bin").read_bytes() == DATA[:30]
        assert files(plain)[0].get_progress().bytes_transferred == 50
        svc.network.register("http://server/1", b"1" * 20, rate=10)
        svc.network.register("http://server/2", DATA, rate=10)
        svc.network.reconnect()
        svc.run_until_idle()
        assert [r.offset for r in svc.network.requests_for("http://server/2")] == [0, 50]
        assert hp.complete() == 0 and plain.complete() == 0
    assert (out / "hp-0.bin").read_bytes() == b"1" * 20
    assert (out / "hp-1.bin").read_bytes() == DATA
    assert (out / "plain-0.bin").read_bytes() == DATA


def test_a_service_attaching_to_a_running_store_loses_nothing(tmp_path: Path) -> None:
    """A second service opening a store a live service holds attaches to that running BITS (README, several
    services on one file store): no service start, so the progress stays."""
    db, out = tmp_path / "bits.db", tmp_path / "out"
    out.mkdir()
    with BitsService(database=db, clock=ManualClock()) as first:
        first.network.register("http://server/a", DATA, rate=10)
        job = hp_job(first, out, "http://server/a")
        job.resume()
        first.advance(3)
        job.suspend()
        with BitsService(database=db, clock=ManualClock()) as second:
            again = second.connect().get_job(job.get_id())
            assert again.get_progress().bytes_transferred == 30
            assert files(again)[0].get_temporary_name() == str(out / "hp-0.bin")


# the sandbox's protections -------------------------------------------------------------------------------------


@pytest.mark.svc(clock="manual", sandbox=True)
@pytest.mark.parametrize("link", [os.symlink, os.link], ids=["symlink", "hard-link"])
def test_a_linked_destination_is_refused_before_it_is_emptied(
    svc: BitsService, tmp_path: Path, link: Callable[[Path, Path], None]
) -> None:
    """Emulator choice (as for a temporary, docs/transfers.md): no symlink is followed when writing, and a
    destination with another hard link is refused too: the job fails with E_ACCESSDENIED, context LOCAL_FILE,
    before anything is emptied or written, and the other name's bytes are intact."""
    svc.network.register("http://server/a", DATA, rate=10)
    out = svc.filesystem.makedirs("C:\\out")
    victim = tmp_path / "drives" / "C" / "victim"
    victim.write_bytes(b"V" * 10)
    link(victim, out / "hp.bin")
    _, job = svc.connect().create_job("hp", JobType.DOWNLOAD)
    job.set_property(P.HIGH_PERFORMANCE, True)
    job.add_file("http://server/a", "C:\\out\\hp.bin")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, E_ACCESSDENIED)
    assert victim.read_bytes() == b"V" * 10


def test_a_destination_held_open_when_the_file_starts_is_a_sharing_violation(svc: BitsService, tmp_path: Path) -> None:
    """T27 (GetTemporaryName page: do not open the file "until BITS begins transferring the file; otherwise, the
    job will go into the transient error state"): here the file is the destination. ERROR_SHARING_VIOLATION
    0x80070020, LOCAL_FILE, retried after MinimumRetryDelay (docs/reference/readings.md#temporary-in-use)."""
    svc.network.register("http://server/a", DATA, rate=10)
    (tmp_path / "hp-0.bin").write_bytes(b"old")
    job = hp_job(svc, tmp_path, "http://server/a")
    job.set_minimum_retry_delay(60)
    with svc.filesystem.hold_open(tmp_path / "hp-0.bin", share_write=True):
        job.resume()
        assert job.get_state() is S.TRANSIENT_ERROR
        assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, ERROR_SHARING_VIOLATION)
        assert (tmp_path / "hp-0.bin").read_bytes() == b"old"
    svc.advance(60)
    svc.run_until_idle()
    assert job.complete() == 0
    assert (tmp_path / "hp-0.bin").read_bytes() == DATA


def test_a_directory_the_writer_may_not_write_to_is_refused(svc: BitsService, tmp_path: Path) -> None:
    """The writer rule of the sandbox's directory ACLs (SetHelperTokenFlags,
    https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags)
    covers the destination: ERROR, LOCAL_FILE, E_ACCESSDENIED, and no file is created."""
    svc.network.register("http://server/a", DATA, rate=10)
    private = tmp_path / "private"
    private.mkdir()
    svc.filesystem.restrict(private, writers=["S-1-5-21-0-0-0-4242"])
    job = hp_job(svc, private, "http://server/a")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, E_ACCESSDENIED)
    assert names(private) == []


def test_dynamic_content_restarts_in_an_emptied_destination(svc: BitsService, tmp_path: Path) -> None:
    """HIGH_PERFORMANCE with DYNAMIC_CONTENT (which restarts an interrupted file from byte 0,
    docs/reference/readings.md#dynamic-restart): the destination is emptied at the new start, never holding old
    bytes past the new ones."""
    svc.network.register("http://server/d", DATA, rate=10)
    _, job = svc.connect().create_job("hp", JobType.DOWNLOAD)
    job.set_property(P.HIGH_PERFORMANCE, True)
    job.set_property(P.DYNAMIC_CONTENT, True)
    job.add_file("http://server/d", str(tmp_path / "d.bin"))
    job.resume()
    svc.advance(3)
    job.suspend()
    job.resume()
    svc.advance(1)
    assert (tmp_path / "d.bin").read_bytes() == DATA[:10]
    svc.run_until_idle()
    assert job.complete() == 0
    assert (tmp_path / "d.bin").read_bytes() == DATA
