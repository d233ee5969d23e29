"""Method-by-method fidelity of IBackgroundCopyManager, IBackgroundCopyJob and IBackgroundCopyJob2 against
their pages (https://learn.microsoft.com/en-us/windows/win32/api/bits/ and .../api/bits1_5/): the points an
audit of every method's parameters, codes and states found the emulator answering differently."""

from __future__ import annotations

import pytest

from emulator import BitsService, Job, JobType

SETNOTIFYCMDLINE = "https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setnotifycmdline"


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
