"""Notifications: IBackgroundCopyCallback/2 and command lines (docs/reference/states.md#notifications).

Callbacks run synchronously during the catch-up, on the caller's thread, in the order events happened.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from emulator import BitsService, Job, JobState, JobType, NotifyFlags
from emulator.events import NotifyCommandLine

ALL = NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR | NotifyFlags.JOB_MODIFICATION | NotifyFlags.FILE_TRANSFERRED


class Recorder:
    """A callback object with the COM method names pywin32 users implement."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.threads: set[int] = set()
        self.fail = fail

    def _log(self, name: str, value: Any) -> int:
        self.threads.add(threading.get_ident())
        self.calls.append((name, value))
        if self.fail and name in ("JobTransferred", "JobError"):
            self.fail -= 1
            raise RuntimeError("callback failure")  # a failing HRESULT to BITS
        return 0

    def JobTransferred(self, job: Job) -> int:
        return self._log("JobTransferred", job.get_state())

    def JobError(self, job: Job, error: Any) -> int:
        return self._log("JobError", error.get_error()[1])

    def JobModification(self, job: Job, reserved: int) -> int:
        return self._log("JobModification", job.get_state())

    def FileTransferred(self, job: Job, file: Any) -> int:
        return self._log("FileTransferred", file.get_remote_name())

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


pytestmark = pytest.mark.svc(clock="manual")


def job_with(svc: BitsService, tmp_path: Path, *urls: str, flags: int = ALL) -> Job:
    _, job = svc.connect().create_job("job", JobType.DOWNLOAD)
    for i, url in enumerate(urls):
        job.add_file(url, str(tmp_path / f"{i}.bin"))
    job.set_notify_flags(flags)
    return job


def test_file_transferred_before_job_transferred_and_no_modification_into_transferred(
    svc: BitsService, tmp_path: Path
) -> None:
    svc.network.register("http://server/1", b"1" * 10)
    svc.network.register("http://server/2", b"2" * 10)
    job = job_with(svc, tmp_path, "http://server/1", "http://server/2")
    cb = Recorder()
    job.set_notify_interface(cb)
    job.resume()
    job.get_state()
    names = cb.names()
    assert names.index("FileTransferred") < names.index("JobTransferred")
    assert [v for n, v in cb.calls if n == "FileTransferred"] == ["http://server/1", "http://server/2"]
    assert names.count("JobTransferred") == 1
    # JobModification page: no JobModification reports the change into TRANSFERRED.
    transferred_at = names.index("JobTransferred")
    assert all(n != "JobModification" for n in names[transferred_at + 1 :])
    assert cb.threads == {threading.get_ident()}


def test_file_transferred_is_for_downloads_and_upload_reply_jobs_not_plain_uploads(
    svc: BitsService, tmp_path: Path
) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopycallback2-filetransferred:
    "The FileTransferred callback is for download jobs or the reply portion of an upload-reply job" — a plain
    upload job with JOB_TRANSFERRED | FILE_TRANSFERRED (0x11) gets JobTransferred only."""
    src = tmp_path / "src"
    src.write_bytes(b"y" * 100)
    svc.network.register("http://server/up", upload=True)
    svc.network.register("http://server/ur", upload=True, reply=b"reply")
    calls = {}
    for job_type, url in ((JobType.UPLOAD, "http://server/up"), (JobType.UPLOAD_REPLY, "http://server/ur")):
        _, job = svc.connect().create_job(job_type.name, job_type)
        cb = Recorder()
        job.set_notify_interface(cb)
        job.set_notify_flags(0x11)
        job.add_file(url, str(src))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.TRANSFERRED
        calls[job_type] = cb.calls
    assert calls[JobType.UPLOAD] == [("JobTransferred", JobState.TRANSFERRED)]
    assert calls[JobType.UPLOAD_REPLY] == [
        ("FileTransferred", "http://server/ur"),
        ("JobTransferred", JobState.TRANSFERRED),
    ]


def test_job_error_fires_once_and_transient_errors_only_modify(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register("http://server/a", b"x", status=503)
    job = job_with(svc, tmp_path, "http://server/a")
    job.set_minimum_retry_delay(60)
    cb = Recorder()
    job.set_notify_interface(cb)
    job.resume()
    assert job.get_state() is JobState.TRANSIENT_ERROR
    assert "JobError" not in cb.names()  # never for TRANSIENT_ERROR
    assert ("JobModification", JobState.TRANSIENT_ERROR) in cb.calls
    res.status = 404
    svc.advance(60)
    assert job.get_state() is JobState.ERROR
    assert cb.calls.count(("JobError", 0x80190194)) == 1


@pytest.mark.parametrize(
    ("register", "ends"),
    [
        ({"content": b"x" * 100, "rate": 10}, JobState.TRANSFERRED),  # the last bytes and TRANSFERRED at one instant
        ({"content": b"x" * 100, "rate": 10, "status": 404}, JobState.ERROR),  # CONNECTING and ERROR at one instant
    ],
    ids=["transferred", "error"],
)
def test_no_job_modification_finds_the_job_in_the_state_it_moved_into(
    svc: BitsService, tmp_path: Path, register: dict[str, Any], ends: JobState
) -> None:
    """JobModification page: BITS does not call it when the job moves into TRANSFERRED or ERROR. A
    JobModification still waiting when that move happens (the change into CONNECTING, the last bytes) is
    overtaken by JobTransferred or JobError (docs/reference/readings.md#notifications): every JobModification
    callback finds the job in a state other than TRANSFERRED and ERROR, and the final callback is the one of
    that state."""
    svc.network.register("http://server/a", **register)
    job = job_with(svc, tmp_path, "http://server/a")
    cb = Recorder()
    job.set_notify_interface(cb)
    job.resume()
    svc.advance(20)
    assert job.get_state() is ends
    seen = [state for name, state in cb.calls if name == "JobModification"]
    assert JobState.TRANSFERRED not in seen and JobState.ERROR not in seen
    assert cb.names()[-1] == ("JobTransferred" if ends is JobState.TRANSFERRED else "JobError")
    job.set_description("changed after")  # a property change of a job at rest is still a modification
    job.get_state()
    assert cb.calls[-1] == ("JobModification", ends)


def test_registered_after_the_event_still_delivered_once(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a")
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    cb = Recorder()
    job.set_notify_interface(cb)
    job.get_state()
    assert cb.names().count("JobTransferred") == 1
    assert cb.names().count("FileTransferred") == 1
    job.get_state()
    svc.advance(3600)
    assert cb.names().count("JobTransferred") == 1


def test_failed_callback_is_called_again_later(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    cb = Recorder(fail=1)
    job.set_notify_interface(cb)
    job.resume()
    job.get_state()
    assert cb.names() == ["JobTransferred"]
    svc.advance(59)
    assert cb.names() == ["JobTransferred"]
    svc.advance(1)  # RETRY_SECONDS, the emulator's interval
    assert cb.names() == ["JobTransferred", "JobTransferred"]
    svc.advance(600)
    assert cb.names() == ["JobTransferred", "JobTransferred"]


def test_negative_hresult_return_is_a_failure(svc: BitsService, tmp_path: Path) -> None:
    class Fails:
        calls = 0

        def JobTransferred(self, job: Job) -> int:
            Fails.calls += 1
            return -2147467259 if Fails.calls == 1 else 0  # E_FAIL, then S_OK

    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.set_notify_interface(Fails())
    job.resume()
    svc.advance(120)
    assert Fails.calls == 2


def test_notify_disable_and_flag_mask(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=ALL | NotifyFlags.DISABLE)
    cb = Recorder()
    job.set_notify_interface(cb)
    job.resume()
    job.get_state()
    assert cb.calls == []
    job2 = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_ERROR)
    job2.set_notify_interface(cb)
    job2.resume()
    job2.get_state()
    assert cb.calls == []


def test_callback_may_complete_the_job_from_inside(svc: BitsService, tmp_path: Path) -> None:
    class Completes:
        def JobTransferred(self, job: Job) -> None:
            job.complete()

    svc.network.register("http://server/a", b"done")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.set_notify_interface(Completes())
    job.resume()
    assert job.get_state() is JobState.ACKNOWLEDGED
    assert (tmp_path / "0.bin").read_bytes() == b"done"


def test_snake_case_callbacks_work_too(svc: BitsService, tmp_path: Path) -> None:
    seen: list[str] = []

    class Snake:
        def job_transferred(self, job: Job) -> None:
            seen.append("job_transferred")

    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.set_notify_interface(Snake())
    job.resume()
    job.get_state()
    assert seen == ["job_transferred"]


def test_modification_on_property_change(svc: BitsService, tmp_path: Path) -> None:
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_MODIFICATION)
    cb = Recorder()
    job.set_notify_interface(cb)
    job.set_description("changed")
    job.get_state()
    assert cb.names() == ["JobModification"]


class FailsFirstFile(Recorder):
    """FileTransferred fails (E_FAIL) the first ``times`` times it is called."""

    def __init__(self, times: int = 1) -> None:
        super().__init__()
        self.file_failures = times

    def FileTransferred(self, job: Job, file: Any) -> int:
        self.calls.append(("FileTransferred", file.get_remote_name()))
        if self.file_failures:
            self.file_failures -= 1
            return -2147467259  # E_FAIL
        return 0


FILE_TRANSFERRED_PAGE = (
    "https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopycallback2-filetransferred"
)


def test_a_failed_file_transferred_holds_back_the_next_file_and_job_transferred(
    svc: BitsService, tmp_path: Path
) -> None:
    """FILE_TRANSFERRED_PAGE: "For a job, FileTransferred callbacks are serialized. BITS will not dispatch a
    callback for the next file in the job until the current callback returns successfully", and they "are
    dispatched before JobTransferred". The first file's callback fails: nothing else of the job is
    dispatched until its retry (after the emulator's 60 s) succeeds, then the second file, then the job."""
    svc.network.register("http://server/1", b"1" * 10)
    svc.network.register("http://server/2", b"2" * 10)
    flags = NotifyFlags.JOB_TRANSFERRED | NotifyFlags.FILE_TRANSFERRED
    job = job_with(svc, tmp_path, "http://server/1", "http://server/2", flags=flags)
    cb = FailsFirstFile()
    job.set_notify_interface(cb)
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    assert cb.calls == [("FileTransferred", "http://server/1")]
    svc.advance(59)
    assert cb.calls == [("FileTransferred", "http://server/1")]
    svc.advance(1)  # RETRY_SECONDS
    assert cb.calls == [
        ("FileTransferred", "http://server/1"),
        ("FileTransferred", "http://server/1"),
        ("FileTransferred", "http://server/2"),
        ("JobTransferred", JobState.TRANSFERRED),
    ]
    svc.advance(3600)
    assert len(cb.calls) == 4


def test_a_failed_file_transferred_holds_back_job_error(svc: BitsService, tmp_path: Path) -> None:
    """FILE_TRANSFERRED_PAGE: FileTransferred callbacks "are dispatched before JobTransferred and JobError
    callbacks" — the second file fails for good (404) while the first file's callback waits for its retry."""
    svc.network.register("http://server/1", b"1" * 10)
    svc.network.register("http://server/2", status=404)
    job = job_with(
        svc, tmp_path, "http://server/1", "http://server/2", flags=NotifyFlags.JOB_ERROR | NotifyFlags.FILE_TRANSFERRED
    )
    cb = FailsFirstFile()
    job.set_notify_interface(cb)
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert cb.names() == ["FileTransferred"]
    svc.advance(60)
    assert cb.calls == [
        ("FileTransferred", "http://server/1"),
        ("FileTransferred", "http://server/1"),
        ("JobError", 0x80190194),  # BG_E_HTTP_ERROR_404
    ]


def test_a_new_callback_gets_the_held_notifications_in_order(svc: BitsService, tmp_path: Path) -> None:
    """SetNotifyInterface while a FileTransferred waits for its retry: the new callback gets it at once, then
    what it held back, in order (FILE_TRANSFERRED_PAGE; the last caller of SetNotifyInterface wins,
    https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-setnotifyinterface)."""
    svc.network.register("http://server/1", b"1" * 10)
    svc.network.register("http://server/2", b"2" * 10)
    flags = NotifyFlags.JOB_TRANSFERRED | NotifyFlags.FILE_TRANSFERRED
    job = job_with(svc, tmp_path, "http://server/1", "http://server/2", flags=flags)
    first = FailsFirstFile(times=10)
    job.set_notify_interface(first)
    job.resume()
    job.get_state()
    second = Recorder()
    job.set_notify_interface(second)
    job.get_state()
    assert first.calls == [("FileTransferred", "http://server/1")]
    assert second.calls == [
        ("FileTransferred", "http://server/1"),
        ("FileTransferred", "http://server/2"),
        ("JobTransferred", JobState.TRANSFERRED),
    ]


def test_a_callback_without_file_transferred_still_gets_job_transferred(svc: BitsService, tmp_path: Path) -> None:
    """Emulator choice: FileTransferred belongs to IBackgroundCopyCallback2; an object with only the
    IBackgroundCopyCallback methods (pywin32's callback sink is one) cannot receive it even with
    BG_NOTIFY_FILE_TRANSFERRED set, so it is neither retried nor holds JobTransferred back."""

    class Plain:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def JobTransferred(self, job: Job) -> int:
            self.calls.append("JobTransferred")
            return 0

    svc.network.register("http://server/1", b"1" * 10)
    job = job_with(svc, tmp_path, "http://server/1", flags=NotifyFlags.JOB_TRANSFERRED | NotifyFlags.FILE_TRANSFERRED)
    cb = Plain()
    job.set_notify_interface(cb)
    job.resume()
    job.get_state()
    svc.advance(3600)
    assert cb.calls == ["JobTransferred"]
    assert svc.notifications.next_retry() is None


# command lines (SetNotifyCmdLine) -------------------------------------------------------------------------


def test_cmd_line_is_recorded_and_announced_when_it_would_run(svc: BitsService, tmp_path: Path) -> None:
    events: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, events.append)
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.set_notify_cmd_line("C:\\Tools\\done.exe", "C:\\Tools\\done.exe /job")
    assert job.get_notify_cmd_line() == ("C:\\Tools\\done.exe", "C:\\Tools\\done.exe /job")
    job.resume()
    job.get_state()
    assert [(e.program, e.parameters, e.reason) for e in events] == [
        ("C:\\Tools\\done.exe", "C:\\Tools\\done.exe /job", "registered"),
        ("C:\\Tools\\done.exe", "C:\\Tools\\done.exe /job", "no callback registered"),
    ]


def test_cmd_line_runs_only_with_an_opt_in_runner(svc: BitsService, tmp_path: Path) -> None:
    ran: list[tuple[str, str | None]] = []

    def runner(program: str, params: str | None) -> int:
        ran.append((program, params))
        return 0

    svc.notifications.command_runner = runner
    svc.network.register("http://server/a", b"x", status=404)
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_ERROR)
    job.set_notify_cmd_line("/usr/bin/true", None)
    job.resume()
    job.get_state()
    assert ran == [("/usr/bin/true", None)]


def test_cmd_line_registered_late_still_runs(svc: BitsService, tmp_path: Path) -> None:
    events: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, events.append)
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.resume()
    job.get_state()
    job.set_notify_cmd_line("/opt/app/done", None)
    job.get_state()
    assert [e.reason for e in events] == ["registered", "no callback registered"]


def test_cmd_line_never_runs_for_service_account_jobs(svc: BitsService, tmp_path: Path) -> None:
    events: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, events.append)
    svc.network.register("http://server/a", b"x")
    _, job = svc.connect(svc.logon(svc.local_system).token).create_job("job", JobType.DOWNLOAD)
    job.add_file("http://server/a", str(tmp_path / "a"))
    job.set_notify_cmd_line("/opt/app/done", None)
    job.resume()
    job.get_state()
    assert [e.reason for e in events] == ["registered"]


def test_cmd_line_runs_instead_of_a_failing_callback(svc: BitsService, tmp_path: Path) -> None:
    events: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, events.append)
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    cb = Recorder(fail=5)
    job.set_notify_interface(cb)
    job.set_notify_cmd_line("/opt/app/done", None)
    job.resume()
    svc.advance(600)
    assert cb.names() == ["JobTransferred"]  # not called again once the command line ran
    assert [e.reason for e in events] == ["registered", "the callback failed"]


# SetNotifyCmdLine page (https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setnotifycmdline):
# "If the program returns a non-zero exit code and has not completed or cancelled the job, BITS runs the
# program again after the MinimumRetryDelay."


def test_cmd_line_reruns_after_a_non_zero_exit_until_it_returns_0(svc: BitsService, tmp_path: Path) -> None:
    events: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, events.append)
    codes = [1, 2, 0, 5]
    runs: list[str] = []

    def runner(program: str, params: str | None) -> int:
        runs.append(program)
        return codes[len(runs) - 1]

    svc.notifications.command_runner = runner
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.set_notify_cmd_line("/opt/app/done", None)
    job.set_minimum_retry_delay(100)
    job.resume()
    job.get_state()
    assert len(runs) == 1
    svc.advance(99)
    assert len(runs) == 1  # not before the MinimumRetryDelay
    svc.advance(1)
    assert len(runs) == 2
    svc.advance(1000)
    assert len(runs) == 3  # the third run returned 0: no further run
    ran_at = [e.at for e in events if e.reason != "registered"]
    assert [t - ran_at[0] for t in ran_at] == [0, 100, 200]
    assert job.get_state() is JobState.TRANSFERRED
    # svc.history shows every run, like the first (after the registration's own "CommandLine" record)
    assert [(c.method, c.succeeded, c.at - ran_at[0]) for c in svc.history.callbacks][1:] == [
        ("CommandLine", True, 0), ("CommandLine", True, 100), ("CommandLine", True, 200)
    ]


def test_cmd_line_rerun_uses_the_retry_delay_and_stops_when_the_job_completes(
    svc: BitsService, tmp_path: Path
) -> None:
    events: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, events.append)
    runs: list[str] = []

    def runner(program: str, params: str | None) -> int:
        runs.append(program)
        return 1

    svc.notifications.command_runner = runner
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.set_notify_cmd_line("/opt/app/done", None)
    job.resume()
    svc.advance(1300)  # default MinimumRetryDelay 600 s: runs at 0, 600 and 1200
    assert runs == ["/opt/app/done"] * 3
    assert [e.reason for e in events] == ["registered", "no callback registered"] + [
        "rerun: the last run exited non-zero"
    ] * 2
    job.complete()
    svc.advance(6000)
    assert len(runs) == 3  # completed: never again


def test_cmd_line_rerun_stops_when_the_job_is_cancelled(svc: BitsService, tmp_path: Path) -> None:
    runs: list[str] = []

    def runner(program: str, params: str | None) -> int:
        runs.append(program)
        return 1

    svc.notifications.command_runner = runner
    svc.network.register("http://server/a", b"x", status=404)
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_ERROR)
    job.set_notify_cmd_line("/opt/app/failed", None)
    job.resume()
    job.get_state()
    assert job.get_state() is JobState.ERROR
    assert runs == ["/opt/app/failed"]
    job.cancel()
    svc.advance(6000)
    assert runs == ["/opt/app/failed"]


def test_cmd_line_rerun_after_a_failing_callback_runs_the_program_not_the_callback(
    svc: BitsService, tmp_path: Path
) -> None:
    # JobTransferred page (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopycallback-jobtransferred):
    # once the command line ran instead of a failing callback, the callback is not called again.
    runs: list[str] = []

    def runner(program: str, params: str | None) -> int:
        runs.append(program)
        return 1 if len(runs) < 2 else 0

    svc.notifications.command_runner = runner
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    cb = Recorder(fail=5)
    job.set_notify_interface(cb)
    job.set_notify_cmd_line("/opt/app/done", None)
    job.resume()
    svc.advance(3000)
    assert cb.names() == ["JobTransferred"]
    assert runs == ["/opt/app/done"] * 2


def test_cmd_line_without_a_runner_is_not_rerun(svc: BitsService, tmp_path: Path) -> None:
    # Emulator choice: with no opt-in runner the program did not run, so there is no exit code to retry on.
    events: list[NotifyCommandLine] = []
    svc.bus.subscribe(NotifyCommandLine, events.append)
    svc.network.register("http://server/a", b"x")
    job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
    job.set_notify_cmd_line("/opt/app/done", None)
    job.resume()
    svc.advance(6000)
    assert [e.reason for e in events] == ["registered", "no callback registered"]


def test_cmd_line_validation(svc: BitsService) -> None:
    from emulator import BitsError

    _, job = svc.connect().create_job("job", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as e:
        job.set_notify_cmd_line("C:\\" + "a" * 300, None)
    assert e.value.hresult == 0x80200021  # BG_E_STRING_TOO_LONG
    # Never set (or cleared with NULL): two empty strings, per
    # https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-getnotifycmdline
    assert job.get_notify_cmd_line() == ("", "")
    job.set_notify_cmd_line(None, None)
    assert job.get_notify_cmd_line() == ("", "")


def test_completed_jobs_leave_nothing_waiting(svc: BitsService, tmp_path: Path) -> None:
    """Undelivered JobTransferred notes of jobs that left the queue are dropped (no growth per job)."""
    svc.network.register("http://server/a", b"x")
    for _ in range(20):
        job = job_with(svc, tmp_path, "http://server/a", flags=NotifyFlags.JOB_TRANSFERRED)
        job.resume()
        job.complete()
    assert svc.notifications._waiting == {}
    assert svc.notifications.next_retry() is None
