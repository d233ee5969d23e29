"""Method-by-method fidelity of IBackgroundCopyManager, IBackgroundCopyJob and IBackgroundCopyJob2 against
their pages (https://learn.microsoft.com/en-us/windows/win32/api/bits/ and .../api/bits1_5/): the points an
audit of every method's parameters, codes and states found the emulator answering differently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emulator import AuthScheme, AuthTarget, BitsError, BitsService, ErrorContext, Job, JobState, JobType

BG_E_INVALID_STATE = 0x80200002

SETNOTIFYCMDLINE = (
    "https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setnotifycmdline"
)


@pytest.fixture
def job(svc: BitsService) -> Job:
    _, j = svc.connect().create_job("fidelity", JobType.DOWNLOAD)
    return j


@pytest.mark.parametrize("program", ["notify.exe", "tools\\notify.exe", "%windir%\\system32\\notify.exe"])
def test_set_notify_cmd_line_takes_a_program_that_is_not_a_full_path(job: Job, program: str) -> None:
    """SetNotifyCmdLine page (SETNOTIFYCMDLINE): "You should specify a full path to the program; the method
    will not use the search path to locate the program", and environment variables in pProgram "are not
    expanded". The method's codes are S_OK, BG_E_INVALID_STATE and BG_E_STRING_TOO_LONG: a relative program,
    or one written with a variable, is stored as given (S_OK) — it is the run that cannot find it, not the
    call that refuses it (it was E_INVALIDARG 0x80070057)."""
    job.set_notify_cmd_line(program, f"{program} done")
    assert job.get_notify_cmd_line() == (program, f"{program} done")


# readings: what the pages leave open, pinned (docs/reference/readings.md) --------------------------------------

JOB2_SETTERS: list[tuple[str, Callable[[Job], object]]] = [
    ("set_notify_cmd_line", lambda j: j.set_notify_cmd_line("C:\\tools\\notify.exe", None)),
    ("set_credentials", lambda j: j.set_credentials(AuthTarget.SERVER, AuthScheme.NTLM, None, None)),
    ("remove_credentials", lambda j: j.remove_credentials(AuthTarget.SERVER, AuthScheme.NTLM)),
]


@pytest.mark.parametrize("final", ["cancel", "complete"])
@pytest.mark.parametrize(("name", "call"), JOB2_SETTERS, ids=[n for n, _ in JOB2_SETTERS])
def test_job2_setters_on_a_final_job_are_invalid_state(
    job: Job, final: str, name: str, call: Callable[[Job], object]
) -> None:
    """SetNotifyCmdLine page: BG_E_INVALID_STATE 0x80200002 for a CANCELLED or ACKNOWLEDGED job. SetCredentials
    (https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setcredentials)
    and RemoveCredentials document no state rule: emulator choice, the setter rule too
    (docs/reference/readings.md#credentials-state)."""
    job.set_credentials(AuthTarget.SERVER, AuthScheme.NTLM, None, None)
    getattr(job, final)()
    with pytest.raises(BitsError) as exc:
        call(job)
    assert exc.value.hresult == BG_E_INVALID_STATE


@pytest.mark.svc(clock="manual", sandbox=True)
def test_retry_delay_longer_than_the_no_progress_timeout_ends_in_error_without_a_retry(svc: BitsService) -> None:
    """SetMinimumRetryDelay page
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-setminimumretrydelay):
    a delay that exceeds the no-progress timeout means "BITS will not retry the transfer and moves the job to
    the BG_JOB_STATE_ERROR state". When is not written; emulator choice (docs/reference/readings.md#retry-timeout):
    TRANSIENT_ERROR (5) first, ERROR (4) once the no-progress timeout has run, no second request, ErrorCount 1."""
    svc.filesystem.makedirs("C:\\data")
    resource = svc.network.register("http://server/busy", b"x", status=503)
    _, job = svc.connect().create_job("busy", JobType.DOWNLOAD)
    job.add_file("http://server/busy", "C:\\data\\busy.bin")
    job.set_minimum_retry_delay(100)
    job.set_no_progress_timeout(50)
    job.resume()
    assert job.get_state() is JobState.TRANSIENT_ERROR
    svc.advance(49)
    assert job.get_state() is JobState.TRANSIENT_ERROR
    svc.advance(1)
    assert job.get_state() is JobState.ERROR
    svc.advance(100)
    assert job.get_state() is JobState.ERROR
    assert resource.requests == 1
    assert job.get_error_count() == 1
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x801901F7)  # BG_E_HTTP_ERROR_503


def test_add_file_leaves_the_directory_checks_to_the_transfer(svc: BitsService, tmp_path: Path) -> None:
    """AddFile page (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-addfile):
    E_ACCESSDENIED when the user may not write to the directory; BG_FILE_INFO: "directories in the path must
    exist" (no code). Emulator choice (docs/reference/readings.md#local-directory): AddFile accepts both, and
    the transfer fails the job — ERROR (4), context LOCAL_FILE, 0x80070005 for the directory the job's writer
    may not write to (a helper token with BG_TOKEN_LOCAL_FILE set after AddFile can be that writer),
    0x80070003 for a directory that does not exist."""
    svc.network.register("http://server/a", b"x")
    private = tmp_path / "private"
    private.mkdir()
    svc.filesystem.restrict(private, writers=["S-1-5-21-0-0-0-4242"])
    mgr = svc.connect()
    _, denied = mgr.create_job("denied", JobType.DOWNLOAD)
    denied.add_file("http://server/a", str(private / "a.bin"))
    _, missing = mgr.create_job("missing", JobType.DOWNLOAD)
    missing.add_file("http://server/a", str(tmp_path / "no-such-dir" / "a.bin"))
    denied.resume()
    missing.resume()
    assert denied.get_state() is JobState.ERROR
    assert denied.get_error().get_error() == (ErrorContext.LOCAL_FILE, 0x80070005)
    assert missing.get_state() is JobState.ERROR
    assert missing.get_error().get_error() == (ErrorContext.LOCAL_FILE, 0x80070003)
    assert list(private.iterdir()) == []


def test_manager_error_description_language_zero_and_unknown_codes(svc: BitsService) -> None:
    """IBackgroundCopyManager::GetErrorDescription page
    (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopymanager-geterrordescription)
    does not say what LanguageId 0 does (the error object's variant refuses it). Emulator choice
    (docs/reference/readings.md#manager-language): 0 is the user's default language, English here, as 0x0409;
    another language, en-GB 0x0809 included, is 0x80070717 (ERROR_RESOURCE_LANG_NOT_FOUND, the page's code);
    a code without text is 0x8007013D (ERROR_MR_MID_NOT_FOUND, FormatMessage's)."""
    mgr = svc.connect()
    assert mgr.get_error_description(0x80200001, 0) == mgr.get_error_description(0x80200001, 0x0409)
    assert mgr.get_error_description(0x80200001, 0).endswith("\r\n")
    with pytest.raises(BitsError) as exc:
        mgr.get_error_description(0x80200001, 0x0809)
    assert exc.value.hresult == 0x80070717
    with pytest.raises(BitsError) as exc:
        mgr.get_error_description(0x80201234, 0x0409)
    assert exc.value.hresult == 0x8007013D
