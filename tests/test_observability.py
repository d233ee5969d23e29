"""Logging, svc.history, request records, strict mode and the timeline (docs/observability.md).

Everything here is an emulator choice (Windows BITS has no such test-double features); the states and
HRESULTs the records carry are the ones the transfer tests pin against Microsoft's pages.
"""

from __future__ import annotations

import json
import logging
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import (
    BitsError,
    BitsService,
    Creation,
    JobState,
    JobType,
    ManualClock,
    Notification,
    Request,
    StateChange,
    UnregisteredURLError,
)
from emulator import history as history_module
from emulator.cli import main
from emulator.com.job import Job
from emulator.timeline import render, summary

T0 = 1_767_225_600.0  # ManualClock's default start, 2026-01-01T00:00:00Z
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def msvc(tmp_path: Path) -> Iterator[BitsService]:
    with BitsService(clock=ManualClock(), root=tmp_path) as service:
        service.filesystem.makedirs("C:\\dl")
        yield service


def download(svc: BitsService, name: str, *urls: str) -> Job:
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    for i, url in enumerate(urls):
        job.add_file(url, f"C:\\dl\\{name}-{i}.bin")
    return job


# logging ------------------------------------------------------------------------------------------


def test_an_api_call_logs_caller_method_and_hresult(msvc: BitsService, caplog: pytest.LogCaptureFixture) -> None:
    job = download(msvc, "empty")
    caplog.set_level(logging.DEBUG, logger="emulator")
    with pytest.raises(BitsError):
        job.resume()  # BG_E_EMPTY: no files (resume page)
    job.get_state()
    calls = [r for r in caplog.records if r.name == "emulator.calls"]
    assert [r.bits_method for r in calls] == ["IBackgroundCopyJob::Resume", "IBackgroundCopyJob::GetState"]  # type: ignore[attr-defined]
    resume, state = calls
    assert resume.bits_hresult == 0x80200003 and resume.bits_hresult_name == "BG_E_EMPTY"  # type: ignore[attr-defined]
    assert state.bits_hresult == 0 and state.bits_hresult_name == "S_OK"  # type: ignore[attr-defined]
    user = msvc.current_session.token
    assert resume.bits_caller == user.user_name and resume.bits_caller_sid == user.user_sid  # type: ignore[attr-defined]
    assert resume.levelno == logging.DEBUG
    assert resume.getMessage() == "User IBackgroundCopyJob::Resume job 'empty' -> BG_E_EMPTY (0x80200003)"


def test_success_codes_other_than_s_ok_are_logged(msvc: BitsService, caplog: pytest.LogCaptureFixture) -> None:
    msvc.network.register("http://server/a", b"a" * 10, rate=1)
    job = download(msvc, "partial", "http://server/a")
    job.resume()
    msvc.advance(3)
    caplog.set_level(logging.DEBUG, logger="emulator.calls")
    assert job.complete() == 0x00200017  # BG_S_PARTIAL_COMPLETE (complete page)
    (record,) = [r for r in caplog.records if r.name == "emulator.calls"]
    assert record.bits_hresult_name == "BG_S_PARTIAL_COMPLETE"  # type: ignore[attr-defined]


def test_add_file_is_one_call_and_type_errors_are_logged(msvc: BitsService, caplog: pytest.LogCaptureFixture) -> None:
    job = download(msvc, "j")
    caplog.set_level(logging.DEBUG, logger="emulator.calls")
    job.add_file("http://server/x", "C:\\dl\\x")
    with pytest.raises(TypeError) as exc:
        job.set_display_name(3)  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records] == [
        "User IBackgroundCopyJob::AddFile job 'j' -> S_OK (0x00000000)",
        f"User IBackgroundCopyJob::SetDisplayName job 'j' -> TypeError: {exc.value}",
    ]


def test_state_changes_and_requests_are_logged(msvc: BitsService, caplog: pytest.LogCaptureFixture) -> None:
    msvc.network.register("http://server/a", b"a" * 100)
    caplog.set_level(logging.INFO, logger="emulator")
    job = download(msvc, "nightly", "http://server/a")
    job.resume()
    msvc.advance(1)
    states = [r.getMessage() for r in caplog.records if r.name == "emulator.jobs"]
    job_id = str(job.get_id()).upper()
    assert states[0] == f"job 'nightly' {{{job_id}}} created (DOWNLOAD) at 2026-01-01T00:00:00.000Z"
    assert states[1] == f"job 'nightly' {{{job_id}}} SUSPENDED -> QUEUED at 2026-01-01T00:00:00.000Z"
    assert states[-1].endswith("TRANSFERRING -> TRANSFERRED at 2026-01-01T00:00:00.000Z")
    (request,) = [r for r in caplog.records if r.name == "emulator.network"]
    assert request.getMessage() == "GET http://server/a (bytes=0-) for job 'nightly' -> HTTP 200 (0x00000000)"
    assert request.levelno == logging.INFO
    assert not [r for r in caplog.records if r.name == "emulator.calls"]  # DEBUG: not enabled here


def test_logging_is_silent_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """A NullHandler on 'emulator': nothing reaches stderr through logging's last resort."""
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("emulator").handlers)
    with BitsService() as svc:
        _, job = svc.connect().create_job("quiet", JobType.DOWNLOAD)
        with pytest.raises(BitsError):
            job.resume()
    assert capsys.readouterr() == ("", "")


def test_wrapped_methods_keep_their_signature_name_and_keywords() -> None:
    import inspect

    assert Job.add_file.__name__ == "add_file"
    assert Job.add_file.__qualname__ == "Job.add_file"
    assert list(inspect.signature(Job.add_file).parameters) == ["self", "remote_url", "local_name"]
    with BitsService() as svc:
        _, job = svc.connect().create_job(display_name="kw", job_type=JobType.UPLOAD)
        job.set_display_name(name="renamed")
        assert job.get_display_name() == "renamed"
        assert job.get_type() is JobType.UPLOAD
        with pytest.raises(TypeError):
            job.set_display_name(nom="x")  # type: ignore[call-arg]


# history ------------------------------------------------------------------------------------------


def test_history_records_states_requests_and_callbacks_on_virtual_time(msvc: BitsService) -> None:
    msvc.network.register("http://server/a", b"a" * 1000, rate=100, transient_failures=1)

    class Callback:
        def JobTransferred(self, job: Job) -> int:
            return 0

    job = download(msvc, "nightly", "http://server/a")
    job_id = job.get_id()
    job.set_notify_interface(Callback())
    job.set_minimum_retry_delay(60)
    job.resume()
    msvc.advance(30)
    msvc.run_until_idle()
    job.complete()
    records = msvc.history.records(job_id)
    assert records == msvc.history.records("nightly")
    assert isinstance(records[0], Creation) and records[0].at == T0 and records[0].job_name == "nightly"
    assert msvc.history.states(job_id) == [
        JobState.SUSPENDED, JobState.QUEUED, JobState.CONNECTING, JobState.TRANSIENT_ERROR,
        JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING, JobState.TRANSFERRED, JobState.ACKNOWLEDGED,
    ]  # fmt: skip
    changes = [r for r in records if isinstance(r, StateChange)]
    assert [(r.at - T0, r.new.name) for r in changes] == [
        (0, "QUEUED"), (0, "CONNECTING"), (0, "TRANSIENT_ERROR"), (60, "QUEUED"), (60, "CONNECTING"),
        (60, "TRANSFERRING"), (70, "TRANSFERRED"), (70, "ACKNOWLEDGED"),
    ]  # fmt: skip
    assert all(r.job_name == "nightly" for r in records)  # also once the job left the queue
    first, second = msvc.history.requests
    assert (first.at - T0, first.status, first.hresult, first.result) == (0, 503, 0x801901F7, "BG_E_HTTP_ERROR_503")
    assert (second.at - T0, second.status, second.hresult, second.result) == (60, 200, 0, "HTTP 200")
    (callback,) = msvc.history.callbacks
    assert isinstance(callback, Notification)
    assert (callback.at - T0, callback.method, callback.succeeded) == (70, "JobTransferred", True)


def test_a_display_name_two_jobs_share_is_refused_and_their_guids_are_named(msvc: BitsService) -> None:
    """Two jobs "dup" (one cancelled): by name, their records used to be merged into a states list neither
    job had ([SUSPENDED, SUSPENDED, CANCELLED]); the name is ambiguous, as for bitsadmin, and the message
    names both GUIDs (in the order the history saw them) and asks for one. By GUID each job is its own."""
    mgr = msvc.connect()
    first_id, first = mgr.create_job("dup", JobType.DOWNLOAD)
    second_id, _ = mgr.create_job("dup", JobType.DOWNLOAD)
    first.cancel()
    guids = f"{{{str(first_id).upper()}}}, {{{str(second_id).upper()}}}"
    message = f"2 jobs are named 'dup' ({guids}); pass the job's GUID"
    for read in (msvc.history.states, msvc.history.records):
        with pytest.raises(ValueError) as caught:
            read("dup")
        assert str(caught.value) == message
    assert msvc.history.states(first_id) == [JobState.SUSPENDED, JobState.CANCELLED]
    assert msvc.history.states(str(second_id)) == [JobState.SUSPENDED]
    assert [type(r) for r in msvc.history.records(second_id)] == [Creation]


def test_a_display_name_no_job_has_is_an_error_and_a_guid_without_records_is_empty(msvc: BitsService) -> None:
    """A misspelt name used to give [] (as "no state changes", so an assertion on it could pass); it is a
    ValueError saying what to pass. A GUID the history has no record of still gives []."""
    download(msvc, "nightly")
    for read in (msvc.history.states, msvc.history.records):
        with pytest.raises(ValueError) as caught:
            read("nigthly")
        assert str(caught.value) == (
            "no job named 'nigthly' in the history or the queue; pass a GUID or a display name"
        )
    unknown = uuid.UUID("6f1c0000-0000-4000-8000-000000000001")
    assert msvc.history.states(unknown) == msvc.history.states(str(unknown)) == []
    assert msvc.history.records("{" + str(unknown).upper() + "}") == []
    with pytest.raises(TypeError):
        msvc.history.states(42)  # type: ignore[arg-type]


def test_a_display_name_finds_a_renamed_job_and_a_queued_job_without_records(msvc: BitsService) -> None:
    """Records carry the name the job had when each was made: either name finds the one job, with all its
    records. A job still in the queue whose records are gone (cleared here; or persisted by another
    service) is known by its current name: [] rather than an error."""
    job_id, job = msvc.connect().create_job("before", JobType.DOWNLOAD)
    job.set_display_name("after")
    job.cancel()
    expected = [JobState.SUSPENDED, JobState.CANCELLED]
    assert msvc.history.states("before") == msvc.history.states("after") == msvc.history.states(job_id) == expected
    assert [r.job_name for r in msvc.history.records("before")] == ["before", "after"]
    msvc.connect().create_job("kept", JobType.DOWNLOAD)
    msvc.history.clear()
    assert msvc.history.states("kept") == []
    assert msvc.history.records("kept") == []


def test_history_is_bounded_and_the_bound_is_configurable(msvc: BitsService) -> None:
    assert msvc.history.limit == history_module.DEFAULT_LIMIT == 10_000
    msvc.history.limit = 5
    mgr = msvc.connect()
    for i in range(4):
        _, job = mgr.create_job(f"j{i}", JobType.DOWNLOAD)
        job.cancel()
    assert len(msvc.history) == 5 and msvc.history.dropped == 3  # 4 creations + 4 cancellations
    kinds = [type(r).__name__ for r in msvc.history]
    assert kinds == ["StateChange", "Creation", "StateChange", "Creation", "StateChange"]
    assert msvc.history[-1].job_name == "j3"
    msvc.history.limit = 2
    assert len(msvc.history) == 2 and msvc.history.dropped == 6
    msvc.history.limit = None  # unbounded, for a short test that wants everything
    assert msvc.history.limit is None
    for bad, exc in ((0, ValueError), ("5", TypeError), (True, TypeError)):
        with pytest.raises(exc):
            msvc.history.limit = bad  # type: ignore[assignment]
    msvc.history.clear()
    assert len(msvc.history) == 0 and msvc.history.dropped == 0


def test_network_requests_are_bounded_too(msvc: BitsService) -> None:
    assert msvc.network.requests.maxlen == 10_000


def test_history_round_trips_through_json(msvc: BitsService, tmp_path: Path) -> None:
    msvc.network.register("http://server/a", b"a" * 10)
    job = download(msvc, "j", "http://server/a")
    job.resume()
    msvc.advance(1)
    path = msvc.history.save(tmp_path / "h.json")
    data = json.loads(path.read_text())
    assert data["profile"] == "win11" and data["dropped"] == 0
    assert history_module.load(path) == msvc.history.records()
    with pytest.raises(ValueError, match="not a history record"):
        history_module.record_from_json({"kind": "state", "at": 0})


def test_write_only_custom_headers_are_not_recorded(msvc: BitsService) -> None:
    from emulator import IBackgroundCopyJobHttpOptions3

    msvc.network.register("http://server/a", b"a")
    job = download(msvc, "h", "http://server/a")
    options = job.query_interface(IBackgroundCopyJobHttpOptions3)
    options.set_custom_headers("X-Trace: 1\r\nAuthorization: Bearer secret")
    options.make_custom_headers_write_only()
    job.resume()
    msvc.advance(1)
    (request,) = msvc.network.requests
    assert request.headers == (("X-Trace", "<write-only>"), ("Authorization", "<write-only>"))


# the network's record and strict mode ------------------------------------------------------------------


def test_network_records_every_request_with_range_and_result(msvc: BitsService) -> None:
    msvc.network.register("http://server/a", b"a" * 1000, rate=100)
    msvc.network.register("http://server/missing-file-is-404", b"")
    msvc.network.unregister("http://server/missing-file-is-404")
    job = download(msvc, "resumable", "http://server/a")
    job.resume()
    msvc.advance(3)
    job.suspend()
    job.resume()
    msvc.advance(10)
    first, second = msvc.network.requests_for("http://server/a")
    assert (first.offset, first.length, first.status, first.result) == (0, None, 200, "HTTP 200")
    assert (second.offset, second.status) == (300, 200)  # a Range request from where it stopped
    assert isinstance(first, Request) and first.registered and first.job_name == "resumable"


def test_assert_all_requested_lists_urls_never_asked_for(msvc: BitsService) -> None:
    msvc.network.register("http://server/a", b"a")
    msvc.network.register("http://server/b", b"b")
    msvc.network.register("https://other/c", b"c")
    job = download(msvc, "one", "http://server/a")
    job.resume()
    msvc.advance(1)
    with pytest.raises(AssertionError) as exc:
        msvc.network.assert_all_requested()
    assert str(exc.value) == "2 registered URL(s) never requested:\n  http://server/b\n  https://other/c"
    download(msvc, "two", "http://server/b", "https://other/c").resume()
    msvc.run_until_idle()
    msvc.network.assert_all_requested()


def test_strict_mode_reports_unregistered_hosts_with_the_registered_urls(tmp_path: Path) -> None:
    svc = BitsService(clock=ManualClock(), root=tmp_path)
    try:
        svc.network.strict = True
        svc.network.register("http://server/a", b"a")
        svc.filesystem.makedirs("C:\\dl")
        job = download(svc, "typo", "http://srever/a")
        job.resume()
        svc.advance(5)
        # The job still sees what Windows gives for a name that does not resolve (transient).
        assert job.get_state() is JobState.TRANSIENT_ERROR
        assert job.get_error().get_error()[1] == 0x80072EE7  # ERROR_WINHTTP_NAME_NOT_RESOLVED
        with pytest.raises(UnregisteredURLError) as exc:
            svc.network.check()
        assert str(exc.value) == (
            "jobs requested URLs whose host is not registered on the fake network (each became a transient "
            "ERROR_WINHTTP_NAME_NOT_RESOLVED):\n  http://srever/a (1 request)\nregistered URLs:\n  http://server/a"
        )
        assert isinstance(exc.value, AssertionError)
    finally:
        svc.close()


def test_strict_mode_fails_the_with_block_and_loopback_is_not_unregistered(tmp_path: Path) -> None:
    with pytest.raises(UnregisteredURLError, match="http://nowhere/x"), BitsService(clock=ManualClock()) as svc:
        svc.network.strict = True
        svc.filesystem.drive_root = tmp_path
        svc.filesystem.makedirs("C:\\dl")
        download(svc, "a", "http://nowhere/x").resume()
        svc.advance(5)
    with BitsService(clock=ManualClock()) as svc:  # not strict: the same mistake is only recorded
        svc.filesystem.drive_root = tmp_path
        download(svc, "a", "http://nowhere/x").resume()
        svc.advance(5)
        assert svc.network.unregistered == {"http://nowhere/x": 1}
        svc.network.check()
    with BitsService(clock=ManualClock()) as svc:
        svc.network.strict = True
        svc.filesystem.drive_root = tmp_path
        download(svc, "b", "http://127.0.0.1:9/x", "http://localhost:9/y", "http://[::1]:9/z").resume()
        svc.run_until_idle(30)
        assert svc.network.requests and not svc.network.unregistered  # refused connections, not typos


def test_unregistered_hosts_are_logged_as_warnings_in_strict_mode(
    msvc: BitsService, caplog: pytest.LogCaptureFixture
) -> None:
    msvc.network.strict = True
    caplog.set_level(logging.INFO, logger="emulator.network")
    download(msvc, "typo", "http://srever/a").resume()
    msvc.advance(5)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().endswith("[host not registered on the fake network]")
    msvc.network.unregistered.clear()


# the drive root ---------------------------------------------------------------------------------------


def test_root_places_the_drives_and_a_temporary_root_is_removed_at_close(tmp_path: Path) -> None:
    with BitsService(root=tmp_path) as svc:
        assert svc.filesystem.drive_root == tmp_path / "drives"
    assert (tmp_path / "drives").parent.exists()
    svc = BitsService()
    made = svc.filesystem.drive_root
    svc.filesystem.makedirs("C:\\x")
    assert made.exists()
    svc.close()
    assert not made.exists()  # nothing left in the system temp dir


# the timeline ------------------------------------------------------------------------------------------


def small_scenario(svc: BitsService) -> dict[str, uuid.UUID]:
    """Three jobs: one completes, one retries through a 503, one has a typo in its host and is cancelled."""
    svc.network.register("http://server/a.bin", b"x" * 1000, rate=100)
    svc.network.register("http://server/flaky", b"y" * 500, rate=100, transient_failures=1)
    good = download(svc, "nightly", "http://server/a.bin")
    flaky = download(svc, "flaky", "http://server/flaky")
    flaky.set_minimum_retry_delay(60)
    typo = download(svc, "typo", "http://srever/x")
    for job in (good, flaky, typo):
        job.resume()
    svc.advance(5)
    svc.run_until_idle(600)
    good.complete()
    typo.cancel()
    return {"nightly": good.get_id(), "flaky": flaky.get_id(), "typo": typo.get_id()}


def svg_texts(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return "\n".join("".join(el.itertext()) for el in root.iter() if el.tag in (f"{SVG}text", f"{SVG}title"))


def test_timeline_names_every_job_and_state(msvc: BitsService, tmp_path: Path) -> None:
    jobs = small_scenario(msvc)
    path = msvc.history.timeline(tmp_path / "out" / "timeline.svg")
    assert path.exists() and path.stat().st_size > 0
    texts = svg_texts(path)
    for name in jobs:
        assert name in texts
    seen = {s for r in msvc.history for s in ((r.old, r.new) if isinstance(r, StateChange) else ())}
    assert {s.name for s in seen} == {
        "SUSPENDED", "QUEUED", "CONNECTING", "TRANSFERRING", "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED",
        "CANCELLED",
    }  # fmt: skip
    for state in seen:
        assert state.name in texts
    assert "http://srever/x" in texts and "ERROR_WINHTTP_NAME_NOT_RESOLVED" in texts  # request tooltips


def test_timeline_escapes_names_and_handles_an_empty_history(msvc: BitsService, tmp_path: Path) -> None:
    render([], tmp_path / "empty.svg")
    assert "no job in the history" in svg_texts(tmp_path / "empty.svg")
    download(msvc, "a <b> & 'c'")
    msvc.history.timeline(tmp_path / "odd.svg")
    assert "a <b> & 'c'" in svg_texts(tmp_path / "odd.svg")


def test_timeline_of_a_truncated_history_starts_from_the_first_record(msvc: BitsService, tmp_path: Path) -> None:
    msvc.history.limit = 3
    small_scenario(msvc)
    render(msvc.history.records(), tmp_path / "t.svg")
    ET.parse(tmp_path / "t.svg")


def test_summary_is_the_text_form(msvc: BitsService) -> None:
    jobs = small_scenario(msvc)
    text = msvc.history.summary()
    assert text.splitlines()[0] == "t0 = 2026-01-01T00:00:00+00:00"
    assert f"'typo' {{{str(jobs['typo']).upper()}}}: SUSPENDED@0 s -> QUEUED@0 s" in text
    assert "GET http://server/flaky -> BG_E_HTTP_ERROR_503" in text
    assert summary([]) == "(no job in the history)"


def test_timeline_command_draws_a_saved_history(
    msvc: BitsService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small_scenario(msvc)
    saved = msvc.history.save(tmp_path / "run.json")
    assert main(["timeline", str(saved), "--text"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("t0 = ") and out.rstrip().endswith(str(tmp_path / "run.svg"))
    assert "flaky" in svg_texts(tmp_path / "run.svg")
    assert main(["timeline", str(saved), "-o", str(tmp_path / "x" / "y.svg")]) == 0
    assert (tmp_path / "x" / "y.svg").exists()
    (tmp_path / "bad.json").write_text('{"records": [{"kind": "nope"}]}')
    assert main(["timeline", str(tmp_path / "bad.json")]) == 2
    assert "not a history record" in capsys.readouterr().err


def test_readme_opens_the_committed_example_timeline() -> None:
    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text()
    assert "(docs/timeline-example.svg)" in readme and "(docs/observability.md)" in readme
    texts = svg_texts(root / "docs" / "timeline-example.svg")
    for name in ("nightly", "flaky", "typo", "TRANSIENT_ERROR", "TRANSFERRED", "CANCELLED", "ACKNOWLEDGED"):
        assert name in texts
    assert "(timeline-example.svg)" in (root / "docs" / "observability.md").read_text()


def test_call_records_point_at_the_calling_line(msvc: BitsService, caplog: pytest.LogCaptureFixture) -> None:
    """stacklevel: pytest's "Captured log" shows the test's line, not the emulator's."""
    import inspect

    job = download(msvc, "where")
    caplog.set_level(logging.DEBUG, logger="emulator.calls")
    here = inspect.currentframe()
    assert here is not None
    line = here.f_lineno
    job.get_state()  # line + 1
    with pytest.raises(TypeError):
        job.set_display_name(3)  # type: ignore[arg-type]  # line + 3
    first, second = caplog.records
    assert (first.filename, first.lineno) == ("test_observability.py", line + 1)
    assert (second.filename, second.lineno) == ("test_observability.py", line + 3)


def test_failed_callbacks_are_recorded_and_missing_methods_are_not(msvc: BitsService) -> None:
    """A callback that raises is a failed delivery, retried later (setnotifyinterface page: BITS retries);
    an object without a method (here JobModification) is not called, so nothing is recorded for it."""
    msvc.network.register("http://server/a", b"a" * 10)

    class Raises:
        def JobTransferred(self, job: Job) -> None:
            raise RuntimeError("boom")

    job = download(msvc, "cb", "http://server/a")
    job.set_notify_interface(Raises())
    job.resume()
    msvc.advance(1)
    assert [(n.method, n.succeeded) for n in msvc.history.callbacks] == [("JobTransferred", False)]


def test_the_documented_example_draws_the_committed_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/observability.md: the code that drew docs/timeline-example.svg runs as written and draws the
    committed picture (after a change of behaviour, run that block from the repository root to redraw it)."""
    import re

    text = (Path(__file__).parents[1] / "docs" / "observability.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "timeline-example.svg" in b]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/observability.md", "exec"), {})
    drawn = svg_texts(tmp_path / "docs" / "timeline-example.svg")
    committed = svg_texts(Path(__file__).parents[1] / "docs" / "timeline-example.svg")
    strip = re.compile(r"\{[0-9A-F-]{8}…?\}|\{[0-9A-F-]{36}\}")  # job GUIDs differ from run to run
    assert strip.sub("{GUID}", drawn) == strip.sub("{GUID}", committed)


def test_call_logging_follows_every_way_of_turning_it_on_and_off(
    msvc: BitsService, caplog: pytest.LogCaptureFixture
) -> None:
    """The wrappers' fast path (a cached False skips the call) must see every change of configuration."""
    from emulator import logs

    calls = logging.getLogger("emulator.calls")
    assert logs.FAST_CHECK  # CPython 3.11+: Logger._cache is a dict, cleared in place
    cache = calls._cache  # type: ignore[attr-defined]
    job = download(msvc, "toggle")

    def logged() -> bool:
        caplog.clear()
        job.get_state()
        return any(r.name == "emulator.calls" for r in caplog.records)

    assert not logged()
    assert cache.get(logging.DEBUG) is False
    caplog.set_level(logging.DEBUG, logger="emulator")
    assert calls._cache is cache  # type: ignore[attr-defined]  # cleared in place, not replaced
    assert logged()
    logging.disable(logging.CRITICAL)
    try:
        assert not logged()
    finally:
        logging.disable(logging.NOTSET)
    assert logged()
    calls.disabled = True  # what logging.config does to existing loggers
    try:
        assert not logged()
    finally:
        calls.disabled = False
    logging.getLogger("emulator").setLevel(logging.INFO)
    assert not logged()


def test_the_dispatcher_keeps_the_public_signature_and_logs_once(
    msvc: BitsService, caplog: pytest.LogCaptureFixture
) -> None:
    """com/registry.py builds each method's wrapper from its body's signature minus the caller: defaults
    stay, a wrong argument count is Python's own TypeError, and the call is logged once with logging on
    (AddFile no longer goes through AddFileSet's wrapper)."""
    import inspect

    from emulator.com.job import Job

    assert str(inspect.signature(Job.set_proxy_settings)) == (
        "(self, usage: 'ProxyUsage | int', proxy_list: 'str | None' = None, bypass_list: 'str | None' = None) -> 'None'"
    )
    job = download(msvc, "sig", "http://server/a")
    with pytest.raises(TypeError):
        job.set_priority()  # type: ignore[call-arg]
    for level in (logging.WARNING, logging.DEBUG):
        caplog.set_level(level, logger="emulator.calls")
        job.set_proxy_settings(0)
        job.add_file("http://server/b", "C:\\dl\\b")
    methods = [r.bits_method for r in caplog.records if r.name == "emulator.calls"]  # type: ignore[attr-defined]
    assert methods == ["IBackgroundCopyJob::SetProxySettings", "IBackgroundCopyJob::AddFile"]


def test_records_with_exact_times_draw_and_round_trip(tmp_path: Path) -> None:
    """Exact arithmetic: a clock that counts in Fractions gives records that stay exact in JSON."""
    from fractions import Fraction

    job = uuid.uuid4()
    records = [
        Creation(Fraction(1, 3), job, "exact", JobType.DOWNLOAD, "S-1-5-18"),  # type: ignore[arg-type]
        StateChange(Fraction(7, 3), job, "exact", JobState.SUSPENDED, JobState.QUEUED),  # type: ignore[arg-type]
    ]
    assert [history_module.record_from_json(r.to_json()) for r in records] == records
    render(records, tmp_path / "exact.svg")
    assert "QUEUED@2 s" in summary(records)


class _MovingClock:
    """A wall clock that has moved on by 7 µs at every reading (as a real one has, between two readings)."""

    def __init__(self) -> None:
        self.ns = 1_795_836_064_000_000_000

    def time(self) -> float:
        return self.time_ns() / 1e9

    def time_ns(self) -> int:
        self.ns += 7_000
        return self.ns


def test_history_stays_in_time_order_on_a_clock_that_moves_by_itself(tmp_path: Path) -> None:
    """Emulator design (docs/observability.md, svc.history): records are in time order. On a clock that moves
    between readings, Resume stamps QUEUED at its own reading; the next call's catch-up must not replay the
    dispatch at the older instant of Resume's catch-up (it stamped CONNECTING before QUEUED)."""
    with BitsService(clock=_MovingClock()) as svc:
        svc.filesystem.drive_root = tmp_path
        svc.filesystem.makedirs("C:\\d")
        svc.network.register("http://server/f", b"x" * 100)
        _, job = svc.connect().create_job("ordered", JobType.DOWNLOAD)
        job.add_file("http://server/f", "C:\\d\\f")
        job.resume()
        assert job.get_state() is JobState.TRANSFERRED
        changes = [r for r in svc.history.records() if isinstance(r, history_module.StateChange)]
        assert [r.new for r in changes] == [
            JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING, JobState.TRANSFERRED
        ]
        stamps = [r.at for r in svc.history.records()]
        assert stamps == sorted(stamps)
