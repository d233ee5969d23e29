"""bitsadmin transcripts: argv → exact output and exit status, one invocation per call of ``main``.

Each call opens the store anew with a new BitsService, as a separate bitsadmin process would; the
subprocess tests are in test_bitsadmin_processes.py. Output shapes come from Microsoft's bitsadmin pages
(https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin and
bitsadmin-examples); wording the pages do not show is the emulator's choice, listed in docs/bitsadmin.md.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import QuietLog, loopback_server

from emulator import BitsService, ManualClock
from emulator.compat import bitsadmin
from emulator.compat.bitsadmin import main

GUID = r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}"
DATE = r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M"
NETWORK = """
["http://files.example.com/a.bin"]
text = "hello world"
rate = 4

["http://files.example.com/missing"]
status = 404

["http://files.example.com/flaky"]
text = "0123456789"
transient_failures = 2

["http://files.example.com/now.bin"]
text = "instant"
"""

Run = Callable[..., tuple[int, str]]


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new store made once: copying it is much cheaper than running the schema migrations per test."""
    path = tmp_path_factory.mktemp("template") / "bits.db"
    BitsService(database=path).close()
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_store: Path) -> dict[str, str]:
    monkeypatch.delenv("COLUMNS", raising=False)  # /wrap would follow a terminal width set by the runner
    shutil.copyfile(template_store, tmp_path / "bits.db")
    network = tmp_path / "net.toml"
    network.write_text(NETWORK)
    (tmp_path / "bits.db.drives" / "C" / "dl").mkdir(parents=True)
    return {
        "BITS_EMULATOR_STORE": str(tmp_path / "bits.db"),
        "BITS_EMULATOR_USER": "alice",
        "BITS_EMULATOR_NETWORK": str(network),
    }


@pytest.fixture
def ba(env: dict[str, str]) -> Run:
    def run(*argv: str, **kwargs: object) -> tuple[int, str]:
        out = io.StringIO()
        status = main(list(argv), stdout=out, env=kwargs.pop("env", env), **kwargs)  # type: ignore[arg-type]
        return status, out.getvalue()

    return run


def create(ba: Run, name: str = "myjob", *extra: str) -> str:
    status, out = ba("/create", *extra, name)
    assert status == 0, out
    match = re.fullmatch(rf"Created job ({GUID})\.\n", out)
    assert match, out
    return match.group(1)


# /create ------------------------------------------------------------------------------------------


def test_create_prints_created_job_guid(ba: Run) -> None:
    """bitsadmin-examples: "Created job {C775D194-090F-431F-B5FB-8334D00D1CB6}." (upper-case GUID)."""
    status, out = ba("/create", "myDownloadJob")
    assert status == 0
    assert re.fullmatch(rf"Created job {GUID}\.\n", out)


@pytest.mark.parametrize(
    ("switch", "shown"), [("/download", "DOWNLOAD"), ("/upload", "UPLOAD"), ("/Upload-Reply", "UPLOAD-REPLY")]
)
def test_create_types(ba: Run, switch: str, shown: str) -> None:
    """bitsadmin create: /download (default), /upload, /upload-reply; /gettype shows the type."""
    guid = create(ba, "typed", switch)
    assert ba("/gettype", guid) == (0, f"{shown}\n")


def test_rawreturn_create_prints_only_the_guid(ba: Run) -> None:
    """bitsadmin rawreturn: the value only, no newline."""
    status, out = ba("/RAWRETURN", "/create", "raw")
    assert status == 0
    assert re.fullmatch(GUID, out)


def test_switches_are_case_insensitive_and_job_is_name_or_guid(ba: Run) -> None:
    """bitsadmin: <job> is the display name or the GUID; switches in any case."""
    guid = create(ba)
    assert ba("/GetState", "myjob") == (0, "SUSPENDED\n")
    assert ba("/GETSTATE", guid) == (0, "SUSPENDED\n")
    assert ba("/getstate", guid.strip("{}").lower()) == (0, "SUSPENDED\n")


def test_unknown_job_and_duplicate_names(ba: Run) -> None:
    """BG_E_NOT_FOUND for an unknown name or GUID; two jobs of one name need the GUID (bitsadmin page)."""
    assert ba("/getstate", "nothere") == (1, "Unable to find job - 0x80200001. The requested job was not found.\n")
    missing = "{00000000-0000-0000-0000-000000000001}"
    assert ba("/getstate", missing) == (1, "Unable to find job - 0x80200001. The requested job was not found.\n")
    create(ba, "twin")
    create(ba, "twin")
    assert ba("/getstate", "twin") == (
        1,
        "Unable to find job - several jobs are named 'twin'; use the job's GUID.\n",
    )


# files --------------------------------------------------------------------------------------------


def test_addfile_and_listfiles(ba: Run) -> None:
    create(ba)
    assert ba("/addfile", "myjob", "http://files.example.com/a.bin", "C:\\dl\\a.bin") == (
        0,
        "Added http://files.example.com/a.bin -> C:\\dl\\a.bin to job.\n",
    )
    assert ba("/listfiles", "myjob") == (
        0,
        "0 / UNKNOWN WORKING http://files.example.com/a.bin -> C:\\dl\\a.bin\nListed 1 file(s).\n",
    )


def test_addfile_relative_local_name_fails_with_e_invalidarg(ba: Run) -> None:
    """bitsadmin addfile: the local name must be absolute (AddFile → E_INVALIDARG)."""
    create(ba)
    assert ba("/addfile", "myjob", "http://files.example.com/a.bin", "a.bin") == (
        1,
        "Unable to add file to job - 0x80070057. The parameter is incorrect.\n",
    )


def test_addfileset_reads_pairs_and_skips_comments(ba: Run, tmp_path: Path) -> None:
    """bitsadmin addfileset: one "remote local" pair a line; lines starting with # are comments."""
    listing = tmp_path / "files.txt"
    listing.write_text(
        "# two files\nhttp://files.example.com/a.bin C:\\dl\\a.bin\n\nhttp://files.example.com/flaky C:\\dl\\f.bin\n"
    )
    create(ba)
    assert ba("/addfileset", "myjob", str(listing)) == (0, "Added 2 file(s) to job.\n")
    assert ba("/getfilestotal", "myjob") == (0, "2\n")
    assert ba("/addfileset", "myjob", str(tmp_path / "none.txt")) == (
        1,
        "Unable to add file set to job - 0x80070002. The system cannot find the file specified.\n",
    )


NATIVE_RANGES = hasattr(__import__("emulator").Job, "add_file_with_ranges")


def test_addfilewithranges(ba: Run) -> None:
    """bitsadmin addfilewithranges: offset:length pairs, comma separated, length may be eof."""
    create(ba)
    assert ba("/addfilewithranges", "myjob", "http://files.example.com/a.bin", "C:\\dl\\r.bin", "0:4,6:eof") == (
        0,
        "Added http://files.example.com/a.bin -> C:\\dl\\r.bin to job.\n",
    )


def test_addfilewithranges_without_the_native_method_is_e_notimpl(ba: Run) -> None:
    """Until AddFileWithRanges exists natively, Windows' failure for E_NOTIMPL (emulator choice)."""
    if NATIVE_RANGES:
        pytest.skip("AddFileWithRanges is emulated")
    create(ba)
    assert ba("/addfilewithranges", "myjob", "http://files.example.com/a.bin", "C:\\dl\\r.bin", "0:4") == (
        1,
        "Unable to add file to job - 0x80004001. Not implemented\n",
    )


def test_replaceremoteprefix(ba: Run) -> None:
    create(ba)
    ba("/addfile", "myjob", "http://files.example.com/a.bin", "C:\\dl\\a.bin")
    assert ba("/replaceremoteprefix", "myjob", "http://files.example.com", "http://mirror.example.com") == (
        0,
        "Replaced remote prefix http://files.example.com with http://mirror.example.com.\n",
    )
    _status, out = ba("/listfiles", "myjob")
    assert "http://mirror.example.com/a.bin -> C:\\dl\\a.bin" in out


# state switches -----------------------------------------------------------------------------------


def test_resume_without_files_is_bg_e_empty(ba: Run) -> None:
    """The issue's example: "Unable to resume job - 0x80200003 …" (Resume on an empty job)."""
    create(ba)
    assert ba("/resume", "myjob") == (
        1,
        "Unable to resume job - 0x80200003. There are no files attached to this job. "
        "Attach files to the job, and then try again.\n",
    )


def test_suspend_resume_cancel(ba: Run) -> None:
    create(ba)
    ba("/addfile", "myjob", "http://files.example.com/a.bin", "C:\\dl\\a.bin")
    assert ba("/resume", "myjob") == (0, "Job resumed.\n")
    assert ba("/suspend", "myjob") == (0, "Job suspended.\n")
    assert ba("/getstate", "myjob") == (0, "SUSPENDED\n")
    assert ba("/cancel", "myjob") == (0, "Job canceled.\n")
    assert ba("/getstate", "myjob")[0] == 1  # a cancelled job leaves the queue (BG_E_NOT_FOUND)


def test_complete_after_transfer_and_on_a_suspended_job(ba: Run, tmp_path: Path) -> None:
    """Complete on a TRANSFERRED job: S_OK, the file appears; a job whose files did not arrive:
    BG_S_PARTIAL_COMPLETE, printed with its text."""
    create(ba)
    ba("/addfile", "myjob", "http://files.example.com/flaky", "C:\\dl\\f.bin")
    create(ba, "other")
    ba("/addfile", "other", "http://files.example.com/a.bin", "C:\\dl\\o.bin")
    assert ba("/complete", "other") == (
        0,
        "Job completed - 0x00200017. Some of the transferred files were deleted because they were incomplete.\n",
    )


def test_takeownership_needs_an_elevated_administrator(ba: Run, env: dict[str, str]) -> None:
    """bitsadmin takeownership (admin): a standard user gets E_ACCESSDENIED; an elevated admin owns it."""
    create(ba)
    denied = ba("--as", "bob", "/takeownership", create(ba, "x"))
    assert denied == (1, "Unable to find job - 0x80070005. Access is denied.\n")
    guid = create(ba, "mine")
    assert ba("--as", "root2", "--elevated", "/takeownership", guid) == (0, "Ownership taken.\n")
    assert ba("/getowner", guid, env={**env, "BITS_EMULATOR_USER": "root2"}) == (0, "EMULATOR\\root2\n")


def test_reset_cancels_the_callers_jobs(ba: Run) -> None:
    """bitsadmin-examples: "{GUID} canceled." per job, then "N out of M jobs canceled."."""
    a = create(ba, "a")
    b = create(ba, "b")
    ba("--as", "bob", "/create", "bobs")
    assert ba("/reset") == (0, f"{a} canceled.\n{b} canceled.\n2 out of 2 jobs canceled.\n")
    assert ba("/list") == (0, "\nListed 0 job(s).\n")
    assert ba("--as", "bob", "/list")[1].endswith("Listed 1 job(s).\n")


def test_reset_allusers_needs_an_administrator(ba: Run) -> None:
    """bitsadmin reset /allusers: administrators only (EnumJobs(BG_JOB_ENUM_ALL_USERS) → E_ACCESSDENIED)."""
    create(ba)
    assert ba("/reset", "/allusers") == (1, "Unable to enumerate jobs - 0x80070005. Access is denied.\n")
    status, out = ba("--as", "admin", "--elevated", "/reset", "/allusers")
    assert status == 0
    assert re.fullmatch(rf"{GUID} canceled\.\n1 out of 1 jobs canceled\.\n", out)


# /list, /info, /monitor ---------------------------------------------------------------------------


def test_list_lines_and_count(ba: Run) -> None:
    """bitsadmin-examples /list: "{GUID} name STATE f / f b / b|UNKNOWN", a blank line, "Listed N job(s)."."""
    a = create(ba, "job1")
    b = create(ba, "job2")
    ba("/addfile", "job2", "http://files.example.com/a.bin", "C:\\dl\\a.bin")
    assert ba("/list") == (
        0,
        f"{a} job1 SUSPENDED 0 / 0 0 / 0\n{b} job2 SUSPENDED 0 / 1 0 / UNKNOWN\n\nListed 2 job(s).\n",
    )


def test_list_allusers_for_an_elevated_administrator(ba: Run) -> None:
    a = create(ba, "alices")
    status, out = ba("--as", "bob", "/create", "bobs")
    b = out.split()[2].rstrip(".")
    assert ba("--as", "bob", "/list", "/allusers") == (1, "Unable to enumerate jobs - 0x80070005. Access is denied.\n")
    status, out = ba("--as", "carol", "--elevated", "/LIST", "/ALLUSERS")
    assert (status, out) == (
        0,
        f"{a} alices SUSPENDED 0 / 0 0 / 0\n{b} bobs SUSPENDED 0 / 0 0 / 0\n\nListed 2 job(s).\n",
    )


def test_info_and_info_verbose_fields_in_order(ba: Run) -> None:
    """bitsadmin-examples /info /verbose: the field order of the sample output."""
    guid = create(ba)
    ba("/addfile", "myjob", "http://files.example.com/a.bin", "C:\\dl\\a.bin")
    assert ba("/info", "myjob") == (0, f"{guid} myjob SUSPENDED 0 / 1 0 / UNKNOWN\n")
    status, out = ba("/info", "myjob", "/verbose")
    assert status == 0
    expected = [
        rf"GUID: {re.escape(guid)} DISPLAY: myjob",
        r"TYPE: DOWNLOAD STATE: SUSPENDED OWNER: EMULATOR\\alice",
        r"PRIORITY: NORMAL FILES: 0 / 1 BYTES: 0 / UNKNOWN",
        rf"CREATION TIME: {DATE} MODIFICATION TIME: {DATE}",
        r"COMPLETION TIME: UNKNOWN",
        r"NOTIFY INTERFACE: UNREGISTERED NOTIFICATION FLAGS: 3",
        r"RETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 0",
        r"PROXY USAGE: PRECONFIG PROXY LIST: NULL PROXY BYPASS LIST: NULL",
        r"DESCRIPTION:",
        r"JOB FILES:",
        r"        0 / UNKNOWN WORKING http://files\.example\.com/a\.bin -> C:\\dl\\a\.bin",
        r"NOTIFICATION COMMAND LINE: none",
        r"owner MIC integrity level: MEDIUM",
        r"owner elevated \?           false",
    ]
    lines = out.splitlines()
    assert len(lines) == len(expected), out
    for pattern, line in zip(expected, lines, strict=True):
        assert re.fullmatch(pattern, line), (pattern, line)


def test_info_verbose_in_error_shows_error_file_code_context(ba: Run) -> None:
    """bitsadmin-examples: ERROR FILE / ERROR CODE (0x%08x - text) / ERROR CONTEXT after the proxy line."""
    create(ba)
    ba("/addfile", "myjob", "http://files.example.com/missing", "C:\\dl\\m.bin")
    ba("/resume", "myjob")
    _status, out = ba("/info", "myjob", "/verbose")
    lines = out.splitlines()
    at = lines.index("ERROR FILE:    http://files.example.com/missing -> C:\\dl\\m.bin")
    assert lines[at - 1].startswith("PROXY USAGE:")
    assert lines[at + 1] == (
        "ERROR CODE:    0x80190194 - HTTP status 404: The requested URL does not exist on the server."
    )
    assert lines[at + 2] == (
        "ERROR CONTEXT: 0x00000005 - The error occurred while the remote file was being processed."
    )
    assert ba("/geterror", "myjob") == (0, "\n".join(lines[at : at + 3]) + "\n")


def test_list_verbose_prints_the_info_block_per_job(ba: Run) -> None:
    create(ba, "one")
    status, out = ba("/list", "/verbose")
    assert status == 0
    assert out.startswith("GUID: {")
    assert out.endswith(
        "JOB FILES:\nNOTIFICATION COMMAND LINE: none\nowner MIC integrity level: MEDIUM\n"
        "owner elevated ?           false\n\nListed 1 job(s).\n"
    )


# docs/bitsadmin.md#verbose-owner: the owner's integrity level and elevation, as IBackgroundCopyJob4 gives them
# (https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyjob4-getownerintegritylevel,
# https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyjob4-getownerelevationstate):
# a standard user's job is MEDIUM and not elevated, an elevated administrator's HIGH and elevated.
@pytest.mark.parametrize(
    ("caller", "integrity", "elevated"),
    [(("--as", "alice"), "MEDIUM", "false"), (("--as", "carol", "--elevated"), "HIGH", "true")],
    ids=["standard", "elevated"],
)
def test_verbose_owner_integrity_and_elevation(ba: Run, caller: tuple[str, ...], integrity: str, elevated: str) -> None:
    status, out = ba(*caller, "/create", "owned")
    assert status == 0, out
    expected = f"owner MIC integrity level: {integrity}\nowner elevated ?           {elevated}\n"
    _status, info = ba(*caller, "/info", "owned", "/verbose")
    assert info.endswith(f"NOTIFICATION COMMAND LINE: none\n{expected}")
    _status, listed = ba(*caller, "/list", "/verbose")
    assert listed.endswith(f"NOTIFICATION COMMAND LINE: none\n{expected}\nListed 1 job(s).\n")


def test_monitor_is_bounded_by_count_and_driven_by_an_injected_sleep(ba: Run) -> None:
    """bitsadmin-examples /monitor: "MONITORING BACKGROUND COPY MANAGER(5 second refresh)" then the
    /list lines; --count bounds it; the sleep between refreshes is injected (no wall-clock wait)."""
    guid = create(ba, "watched")
    clock = ManualClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    status, out = ba("/monitor", "/refresh", "2", "--count", "3", sleep=sleep, clock=clock)
    block = f"MONITORING BACKGROUND COPY MANAGER(2 second refresh)\n{guid} watched SUSPENDED 0 / 0 0 / 0\n"
    assert (status, out) == (0, "\n".join([block] * 3))
    assert waits == [2, 2]
    status, out = ba("/monitor", "--count", "1", sleep=sleep, clock=clock)
    assert out.startswith("MONITORING BACKGROUND COPY MANAGER(5 second refresh)\n")


# /transfer ----------------------------------------------------------------------------------------


def test_transfer_completes_on_success(ba: Run, tmp_path: Path) -> None:
    """bitsadmin transfer: creates, adds, resumes, shows progress and completes the job on success."""
    status, out = ba("/transfer", "myDownloadJob", "/download", "/priority", "normal",
                     "http://files.example.com/a.bin", "C:\\dl\\a.bin")  # fmt: skip
    assert (status, out) == (
        0,
        "DISPLAY: 'myDownloadJob' CONNECTING 0 / 1 0 / UNKNOWN\n"
        "DISPLAY: 'myDownloadJob' TRANSFERRING 0 / 1 0 / 11\n"
        "DISPLAY: 'myDownloadJob' TRANSFERRED 1 / 1 11 / 11\n"
        "Transfer complete.\n",
    )
    assert (tmp_path / "bits.db.drives" / "C" / "dl" / "a.bin").read_bytes() == b"hello world"
    assert ba("/list") == (0, "\nListed 0 job(s).\n")  # completed: ACKNOWLEDGED, out of the queue


def test_transfer_cancels_on_a_fatal_error(ba: Run) -> None:
    """bitsadmin transfer: a critical error cancels the job (HTTP 404 is fatal)."""
    status, out = ba("/transfer", "t", "http://files.example.com/missing", "C:\\dl\\m.bin")
    assert (status, out) == (
        1,
        "DISPLAY: 't' CONNECTING 0 / 1 0 / UNKNOWN\n"
        "DISPLAY: 't' ERROR 0 / 1 0 / UNKNOWN\n"
        "ERROR FILE:    http://files.example.com/missing -> C:\\dl\\m.bin\n"
        "ERROR CODE:    0x80190194 - HTTP status 404: The requested URL does not exist on the server.\n"
        "ERROR CONTEXT: 0x00000005 - The error occurred while the remote file was being processed.\n"
        "Transfer canceled.\n",
    )
    assert ba("/list") == (0, "\nListed 0 job(s).\n")


def test_transfer_keeps_going_through_transient_errors(ba: Run) -> None:
    """bitsadmin transfer: "continues to run if a transient error occurs" (two 503s, then the file)."""
    status, out = ba("/transfer", "t", "http://files.example.com/flaky", "C:\\dl\\f.bin")
    assert status == 0
    states = [line.split()[2] for line in out.splitlines() if line.startswith("DISPLAY:")]
    assert states == ["CONNECTING", "TRANSIENT_ERROR", "QUEUED", "CONNECTING", "TRANSIENT_ERROR", "QUEUED",
                      "CONNECTING", "TRANSFERRING", "TRANSFERRED"]  # fmt: skip
    assert out.endswith("Transfer complete.\n")


def test_transfer_to_a_host_nobody_serves_says_how_many_retries_it_left_out(ba: Run) -> None:
    """docs/bitsadmin.md (/transfer): a name that does not resolve is a transient error retried every 600 s until
    the 14-day NoProgressTimeout (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-setnoprogresstimeout);
    each progress line is printed at most 3 times, then one line counts the rest, then the job's ERROR."""
    status, out = ba("/transfer", "t", "http://nobody.example.net/x", "C:\\dl\\x.bin")
    lines = out.splitlines()
    assert status == 1
    assert lines[:9] == ["DISPLAY: 't' CONNECTING 0 / 1 0 / UNKNOWN", "DISPLAY: 't' TRANSIENT_ERROR 0 / 1 0 / UNKNOWN",
                         "DISPLAY: 't' QUEUED 0 / 1 0 / UNKNOWN"] * 3  # fmt: skip
    assert lines[9].startswith("(")
    assert lines[9].endswith(" more lines like these while the job retried without progress)")
    assert int(lines[9][1:].split()[0]) > 6000  # 14 days of retries every 600 s, three lines each
    assert lines[10] == "DISPLAY: 't' ERROR 0 / 1 0 / UNKNOWN"
    assert lines[-1] == "Transfer canceled."


def test_transfer_refuses_a_bad_priority_or_files_it_cannot_add(ba: Run) -> None:
    """bitsadmin transfer: no job is created when the priority is invalid or the files cannot be added."""
    assert ba("/transfer", "t", "/priority", "urgent", "http://files.example.com/a.bin", "C:\\dl\\a.bin") == (
        1,
        "Unable to create job - 0x80070057. The parameter is incorrect.\n",
    )
    assert ba("/transfer", "t", "http://files.example.com/a.bin", "relative.bin") == (
        1,
        "Unable to add file to job - 0x80070057. The parameter is incorrect.\n",
    )
    assert ba("/list") == (0, "\nListed 0 job(s).\n")


# getters ------------------------------------------------------------------------------------------

GETTERS = [
    ("/getbytestotal", "0"),
    ("/getbytestransferred", "0"),
    ("/getfilestotal", "0"),
    ("/getfilestransferred", "0"),
    ("/getcompletiontime", "UNKNOWN"),
    ("/getstate", "SUSPENDED"),
    ("/gettype", "DOWNLOAD"),
    ("/getpriority", "NORMAL"),
    ("/getdisplayname", "myjob"),
    ("/getdescription", ""),
    ("/getowner", "EMULATOR\\alice"),
    ("/geterrorcount", "0"),
    ("/getminretrydelay", "600"),
    ("/getnoprogresstimeout", "1209600"),
    ("/getmaxdownloadtime", "7776000"),
    ("/getnotifyflags", "3"),
    ("/getnotifyinterface", "UNREGISTERED"),
    ("/getnotifycmdline", "none"),
    ("/getproxyusage", "PRECONFIG"),
    ("/getproxylist", "NULL"),
    ("/getproxybypasslist", "NULL"),
    ("/getpeercachingflags", "0x0"),
    ("/getsecurityflags", "0x0"),
    ("/gethttpmethod", "GET"),
    ("/getaclflags", "NONE"),
    ("/getcustomheaders", "NULL"),
    ("/gethelpertokenflags", "0x0"),
    ("/gethelpertokensid", "NULL"),
]


@pytest.mark.parametrize(("switch", "value"), GETTERS)
def test_getters_on_a_new_job(ba: Run, switch: str, value: str) -> None:
    """Defaults of a new job (CreateJob page and the property pages), one /get* each; /rawreturn
    prints the bare value."""
    create(ba)
    assert ba(switch, "myjob") == (0, value + "\n")
    assert ba("/rawreturn", switch, "myjob") == (0, value)


@pytest.mark.parametrize("switch", ["/getcreationtime", "/getmodificationtime"])
def test_time_getters_print_local_date_and_time(ba: Run, switch: str) -> None:
    create(ba)
    status, out = ba(switch, "myjob")
    assert status == 0 and re.fullmatch(DATE + "\n", out)


@pytest.mark.parametrize(
    ("switch", "expected"),
    [
        ("/geterror", "Unable to get error - 0x8020000f. No errors have occurred.\n"),
        ("/getclientcertificate", "Unable to get client certificate - 0x800706f7. The stub received bad data.\n"),
        ("/getreplyfilename", "Unable to get reply file name - 0x80004001. Not implemented\n"),
        ("/getreplydata", "Unable to get reply data - 0x80004001. Not implemented\n"),
        ("/getreplyprogress", "Unable to get reply progress - 0x80004001. Not implemented\n"),
    ],
)
def test_getters_that_fail_print_the_hresult(ba: Run, switch: str, expected: str) -> None:
    """GetError outside ERROR: BG_E_ERROR_INFORMATION_UNAVAILABLE; no certificate: RPC_X_BAD_STUB_DATA;
    reply methods on a download job: E_NOTIMPL (the method pages)."""
    create(ba)
    assert ba(switch, "myjob") == (1, expected)


def test_upload_reply_getters(ba: Run) -> None:
    create(ba, "up", "/upload-reply")
    assert ba("/getreplyprogress", "up") == (0, "0 / UNKNOWN\n")
    assert ba("/getreplyfilename", "up") == (0, "NULL\n")
    assert ba("/setreplyfilename", "up", "C:\\dl\\reply.txt") == (0, "Reply file name set to C:\\dl\\reply.txt.\n")
    assert ba("/getreplyfilename", "up") == (0, "C:\\dl\\reply.txt\n")
    assert ba("/getreplydata", "up") == (
        1,
        "Unable to get reply data - 0x80200002. The requested action is not allowed in the current job state. "
        "The job might have been canceled or completed transferring. It is in a read-only state now.\n",
    )


def test_file_getters_take_a_file_index(ba: Run) -> None:
    create(ba)
    ba("/addfile", "myjob", "http://files.example.com/a.bin", "C:\\dl\\a.bin")
    assert ba("/gettemporaryname", "myjob", "0") == (0, "NULL\n")
    assert ba("/gettemporaryname", "myjob", "1") == (
        1,
        "Unable to get temporary name - 0x80070057. The parameter is incorrect.\n",
    )


# setters ------------------------------------------------------------------------------------------

SETTERS = [
    (("/setdisplayname", "renamed"), "Display name set to renamed.", ("/getdisplayname", "renamed")),
    (("/setdescription", "nightly build"), "Description set to nightly build.", ("/getdescription", "nightly build")),
    (("/setpriority", "foreground"), "Priority set to FOREGROUND.", ("/getpriority", "FOREGROUND")),
    (("/setnotifyflags", "1"), "Notification flags set to 1.", ("/getnotifyflags", "1")),
    (("/setminretrydelay", "2"), "Minimum retry delay set to 5.", ("/getminretrydelay", "5")),
    (("/setnoprogresstimeout", "60"), "No progress timeout set to 60.", ("/getnoprogresstimeout", "60")),
    (("/setmaxdownloadtime", "3600"), "Maximum download time set to 3600.", ("/getmaxdownloadtime", "3600")),
    (("/setpeercachingflags", "0x3"), "Peer caching flags set to 0x3.", ("/getpeercachingflags", "0x3")),
    (("/setsecurityflags", "0x0200"), "Security flags set to 0x200.", ("/getsecurityflags", "0x200")),
    (("/sethttpmethod", "PUT"), "HTTP method set to PUT.", ("/gethttpmethod", "PUT")),
    (("/setaclflags", "og"), "ACL flags set to OG.", ("/getaclflags", "og")),
    (("/setaclflag", "DS"), "ACL flags set to DS.", ("/getaclflags", "ds")),
    (("/setcustomheaders", "X-A: 1", "X-B: 2"), "Custom headers set (2).", ("/getcustomheaders", "X-A: 1\nX-B: 2")),
    (
        ("/setnotifycmdline", "C:\\tools\\notify.exe", "notify.exe done"),
        "Notification command line set to 'C:\\tools\\notify.exe' 'notify.exe done'.",
        ("/getnotifycmdline", "'C:\\tools\\notify.exe' 'notify.exe done'"),
    ),
    (
        ("/setnotifycmdline", "C:\\tools\\notify.exe", "NULL"),
        "Notification command line set to 'C:\\tools\\notify.exe' NULL.",
        ("/getnotifycmdline", "'C:\\tools\\notify.exe' NULL"),
    ),
    (("/setnotifycmdline", "NULL", "NULL"), "Notification command line set to none.", ("/getnotifycmdline", "none")),
    (
        ("/setproxysettings", "override", "proxy1:80,proxy2:80", "<local>"),
        "Proxy usage set to OVERRIDE.",
        ("/getproxylist", "proxy1:80,proxy2:80"),
    ),
    (("/setproxysettings", "NO_PROXY"), "Proxy usage set to NO_PROXY.", ("/getproxyusage", "NO_PROXY")),
    (
        ("/setclientcertificatebyname", "CURRENT_USER", "MY", "CN=client"),
        "Client certificate set.",
        ("/getclientcertificate", "STORE LOCATION: CURRENT_USER\nSTORE NAME: MY\nHASH: NULL\nSUBJECT NAME: CN=client"),
    ),
    (
        ("/setclientcertificatebyid", "LOCAL_MACHINE", "MY", "00" * 19 + "ff"),
        "Client certificate set.",
        (
            "/getclientcertificate",
            "STORE LOCATION: LOCAL_MACHINE\nSTORE NAME: MY\nHASH: " + "00" * 19 + "FF\nSUBJECT NAME: NULL",
        ),
    ),
    (("/setcredentials", "server", "basic", "u", "p"), "Credentials set.", None),
    (("/setcredentials", "proxy", "NTLM", "NULL", "NULL"), "Credentials set.", None),
    (("/sethelpertokenflags", "0x0002"), "Helper token flags set to 0x2.", ("/gethelpertokenflags", "0x2")),
    (("/sethelpertoken",), "Helper token set.", None),
    (("/makecustomheaderswriteonly",), "Custom headers are write-only.", None),
    (("/removeclientcertificate",), "No client certificate was set.", None),
    (("/removecredentials", "server", "basic"), "No such credentials.", None),
]


@pytest.mark.parametrize(("argv", "line", "check"), SETTERS, ids=[" ".join(s[0]) for s in SETTERS])
def test_setters(ba: Run, argv: tuple[str, ...], line: str, check: tuple[str, str] | None) -> None:
    """Each /set* calls its native setter (SetMinimumRetryDelay raises values below 5 to 5; the
    OVERRIDE proxy list is comma-delimited on the command line, space-delimited in the API, and /getproxylist
    prints it comma-delimited as the bitsadmin getproxylist page says)."""
    create(ba)
    assert ba(argv[0], "myjob", *argv[1:]) == (0, line + "\n")
    if check is not None:
        name = "renamed" if argv[0] == "/setdisplayname" else "myjob"
        assert ba(check[0], name) == (0, check[1] + "\n")


def test_value_setters_name_native_methods() -> None:
    """The one-value /set* switches are rows of bitsadmin.VALUE_SETTERS: each names a setter (and a getter, when
    it reads the stored value back) that the job or its IBitsTokenOptions has, and each switch is registered."""
    from emulator import Job, TokenOptions

    for switches, row in bitsadmin.VALUE_SETTERS.items():
        owner = TokenOptions if row.method == "set_helper_token_flags" else Job
        assert callable(getattr(owner, row.method, None)), row
        assert row.readback is None or callable(getattr(owner, row.readback, None)), row
        for switch in switches:
            assert switch in bitsadmin.COMMANDS, switch


INVALID = "0x80070057. The parameter is incorrect."


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("/setpriority", "urgent"), f"Unable to set priority - {INVALID}"),
        (("/setnotifyflags", "0x40"), "Unable to set notify flags - 0x80004001. Not implemented"),
        (("/setminretrydelay", "soon"), f"Unable to set minimum retry delay - {INVALID}"),
        (("/setnotifycmdline", "NULL", "x.exe y"), f"Unable to set notification command line - {INVALID}"),
        (("/setproxysettings", "OVERRIDE"), f"Unable to set proxy settings - {INVALID}"),
        (("/setcredentials", "server", "basic", "NULL", "NULL"), f"Unable to set credentials - {INVALID}"),
        (("/setcredentials", "web", "basic", "u", "p"), f"Unable to set credentials - {INVALID}"),
        (("/sethelpertokenflags", "4"), f"Unable to set helper token flags - {INVALID}"),
        (("/setaclflags", "X"), f"Unable to set ACL flags - {INVALID}"),
    ],
)  # fmt: skip
def test_setter_failures(ba: Run, argv: tuple[str, ...], expected: str) -> None:
    """Values Windows refuses: SetPriority/SetNotifyFlags out of range → E_NOTIMPL or E_INVALIDARG as the
    method pages say; BASIC needs a user name and password (T52); unknown helper-token flags (A6)."""
    create(ba)
    assert ba(argv[0], "myjob", *argv[1:]) == (1, expected + "\n")


def test_setvalidationstate_before_the_file_is_transferred(ba: Run) -> None:
    """SetValidationState before the file is transferred: E_PENDING (IBackgroundCopyFile3 page)."""
    create(ba)
    ba("/addfile", "myjob", "http://files.example.com/a.bin", "C:\\dl\\a.bin")
    status, out = ba("/setvalidationstate", "myjob", "0", "TRUE")
    assert status == 1 and out.startswith("Unable to set validation state - 0x8000000a"), out


def test_sethelpertoken_of_another_local_account(ba: Run) -> None:
    """bitsadmin sethelpertoken <job> <user@domain> <password>: that account's token (any password: the
    emulator keeps none); an unknown account fails as LogonUser does (ERROR_LOGON_FAILURE)."""
    create(ba)
    ba("--as", "helper", "/list")  # the account exists once it has run a command
    assert ba("/sethelpertoken", "myjob", "helper@EMULATOR", "secret") == (0, "Helper token set to EMULATOR\\helper.\n")
    assert ba("/sethelpertoken", "myjob", "nobody@EMULATOR", "secret") == (
        1,
        "Unable to set helper token - 0x8007052e. The user name or password is incorrect.\n",
    )


def test_sethelpertoken_pre_1607_rules(ba: Run, env: dict[str, str]) -> None:
    """The same command line decided by the pre-1607 table (the profile is a store-wide option)."""
    pre = {**env, "BITS_EMULATOR_PROFILE": "pre-1607"}
    with BitsService("pre-1607") as svc:
        from emulator import IBitsTokenOptions, JobType

        _, job = svc.connect().create_job("x", JobType.DOWNLOAD)
        try:
            job.query_interface(IBitsTokenOptions).set_helper_token()
            expected = (0, "Helper token set.\n")
        except Exception as exc:  # the library's verdict is the reference for the command line
            from emulator import BitsError

            assert isinstance(exc, BitsError)
            expected = (1, f"Unable to set helper token - 0x{exc.hresult:08x}. {exc.message}\n")
    create(ba)
    assert ba("/sethelpertoken", "myjob", env=pre) == expected


def test_helper_token_survives_between_invocations_until_logoff(ba: Run, env: dict[str, str]) -> None:
    """The command-line session model (docs/bitsadmin.md): a helper token set by one invocation is
    seen by the next, until `bits-emulator logoff --as NAME` ends the session that supplied it."""
    create(ba)
    ba("/sethelpertoken", "myjob")
    status, sid = ba("/gethelpertokensid", "myjob")
    assert status == 0 and sid.startswith("S-1-5-21-")
    assert bitsadmin.logoff(bitsadmin.Options.from_env(env), io.StringIO()) == 0
    assert ba("/gethelpertokensid", "myjob") == (0, "NULL\n")


def test_a_job_whose_flags_need_the_helper_token_keeps_it_in_later_invocations(ba: Run) -> None:
    """Usage flags ask for the helper token (BG_TOKEN_LOCAL_FILE); the token set by one invocation is there
    when a later one runs the job, so it transfers instead of failing with BG_E_TOKEN_REQUIRED (helper
    tokens end only at logoff or a service restart: docs/bitsadmin.md "Sessions")."""
    create(ba)
    ba("/addfile", "myjob", "http://files.example.com/now.bin", "C:\\dl\\n.bin")
    ba("/sethelpertokenflags", "myjob", "0x0001")
    ba("/sethelpertoken", "myjob")
    ba("/resume", "myjob")
    assert ba("/getstate", "myjob") == (0, "TRANSFERRED\n")
    assert ba("/geterrorcount", "myjob") == (0, "0\n")


def test_a_service_opened_on_the_store_is_a_restart_and_drops_the_helper_token(ba: Run, env: dict[str, str]) -> None:
    """The Python API keeps restart semantics: BitsService(database=...) on the command line's store starts
    the service anew, and no helper token survives a restart (SHT: the token is not persistent,
    https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertoken)."""
    create(ba)
    ba("/sethelpertoken", "myjob")
    assert ba("/gethelpertokensid", "myjob")[1].startswith("S-1-5-21-")
    BitsService(database=env["BITS_EMULATOR_STORE"]).close()
    assert ba("/gethelpertokensid", "myjob") == (0, "NULL\n")


def test_another_accounts_helper_token_lasts_until_that_account_logs_off(ba: Run, env: dict[str, str]) -> None:
    """/sethelpertoken <job> <user> <password> binds the token to that account's command-line session: later
    invocations see it; `bits-emulator logoff --as` that account purges it (the supplying session logged
    off, docs/helper-tokens.md)."""
    create(ba)
    ba("--as", "helper", "/list")
    assert ba("/sethelpertoken", "myjob", "helper@EMULATOR", "pw") == (0, "Helper token set to EMULATOR\\helper.\n")
    status, sid = ba("/gethelpertokensid", "myjob")
    assert status == 0 and sid.startswith("S-1-5-21-")
    assert ba("--as", "helper", "/list")[0] == 0  # another client of the same service: the token stays
    assert ba("/gethelpertokensid", "myjob") == (0, sid)
    helper = bitsadmin.Options.from_env({**env, "BITS_EMULATOR_USER": "helper"})
    assert bitsadmin.logoff(helper, io.StringIO()) == 0
    assert ba("/gethelpertokensid", "myjob") == (0, "NULL\n")

def test_attaching_drops_the_helper_tokens_of_sessions_that_are_not_open(ba: Run, env: dict[str, str]) -> None:
    """An invocation keeps only the tokens of the open command-line sessions: one that a Python service set
    from its own logon session (ended when that service closed) leaves the store, as a restart drops it
    (emulator choice: nothing dead lingers on disk)."""
    import sqlite3

    from emulator import IBitsTokenOptions, JobType

    store = env["BITS_EMULATOR_STORE"]
    with BitsService(database=store) as svc:
        _, job = svc.connect(blanket=bitsadmin.CLI_BLANKET).create_job("py", JobType.DOWNLOAD)
        job.query_interface(IBitsTokenOptions).set_helper_token()
    create(ba)
    ba("/sethelpertoken", "myjob")
    with sqlite3.connect(store) as db:
        held = dict(db.execute("SELECT display_name, helper_sid IS NOT NULL FROM jobs").fetchall())
    db.close()
    assert held == {"py": 0, "myjob": 1}
    assert ba("/gethelpertokensid", "myjob")[1].startswith("S-1-5-21-")


def test_an_invocation_leaves_the_tokens_of_a_live_python_service(ba: Run, env: dict[str, str]) -> None:
    """While a Python service holds the store open, an invocation attaches beside it: that service's
    helper token stays, in its memory and in its row (store/database.py StoreHold)."""
    import sqlite3

    from emulator import IBitsTokenOptions, JobType

    store = env["BITS_EMULATOR_STORE"]
    with BitsService(database=store) as svc:
        _, job = svc.connect(blanket=bitsadmin.CLI_BLANKET).create_job("py", JobType.DOWNLOAD)
        options = job.query_interface(IBitsTokenOptions)
        options.set_helper_token()
        create(ba)
        ba("/sethelpertoken", "myjob")
        with sqlite3.connect(store) as db:
            held = dict(db.execute("SELECT display_name, helper_sid IS NOT NULL FROM jobs").fetchall())
        db.close()
        assert held == {"py": 1, "myjob": 1}
        assert options.get_helper_token_sid() == svc.current_session.token.user_sid


# formatting, help, version ------------------------------------------------------------------------


def test_wrap_and_nowrap(ba: Run, env: dict[str, str]) -> None:
    """bitsadmin wrap: lines longer than the console width wrap (/wrap, the default except for
    /monitor); /nowrap keeps each on one line (truncated: see the test below). The width is COLUMNS of the
    environment main() reads (docs/bitsadmin.md)."""
    create(ba, "a-rather-long-display-name")
    narrow = {**env, "COLUMNS": "40"}
    status, out = ba("/info", "a-rather-long-display-name", env=narrow)
    assert status == 0 and all(len(line) <= 40 for line in out.splitlines()) and len(out.splitlines()) > 1
    status, out = ba("/nowrap", "/info", "a-rather-long-display-name", env=narrow)
    assert len(out.splitlines()) == 1


def test_util_version(ba: Run, env: dict[str, str]) -> None:
    """bitsadmin util /version: the BITS version of the emulated Windows (10.3 on Windows 11)."""
    assert ba("/util", "/version") == (0, "10.3\n")
    assert ba("/rawreturn", "/util", "/version") == (0, "10.3")
    assert ba("/util", "/version", env={**env, "BITS_EMULATOR_PROFILE": "win7"}) == (0, "4.0\n")
    _status, out = ba("/util", "/version", "/verbose")
    assert out.startswith("10.3\nbits-emulator ")


def test_unknown_switch_prints_usage_and_fails(ba: Run) -> None:
    status, out = ba("/frobnicate", "x")
    assert status == 2
    assert out.startswith("Invalid command\n\nBITSADMIN (bits-emulator)")
    assert "USAGE: BITSADMIN" in out


@pytest.mark.parametrize("argv", [("/?",), ("/help",), ("/HELP",)])
def test_help(ba: Run, argv: tuple[str, ...]) -> None:
    status, out = ba(*argv)
    assert status == 0 and "USAGE: BITSADMIN" in out and "/TRANSFER" in out


def test_wrong_argument_count_is_a_usage_error(ba: Run) -> None:
    status, out = ba("/addfile", "myjob")
    assert status == 2 and out.startswith("wrong number of arguments\n")


def test_peer_cache_switches_are_named_not_emulated(ba: Run) -> None:
    assert ba("/cache", "/list") == (1, "/cache is not emulated by bits-emulator (peer caching is not emulated).\n")


# the emulator's options ---------------------------------------------------------------------------


def test_store_option_and_elevated_account_creation(ba: Run, tmp_path: Path) -> None:
    """--store names the store; --elevated creates an administrator; a standard account cannot elevate."""
    other = tmp_path / "other.db"
    status, out = ba("--store", str(other), "--as", "root3", "--elevated", "/create", "x")
    assert status == 0 and other.exists()
    assert ba("--store", str(other), "--as", "root3", "/list")[1].endswith("Listed 1 job(s).\n")
    assert ba("/list") == (0, "\nListed 0 job(s).\n")  # the default store of the test is another queue
    ba("/list")  # alice exists now, a standard user
    status, out = ba("--elevated", "/list")
    assert status == 2 and "alice is not an administrator" in out


def test_network_file_errors_name_the_field(ba: Run, env: dict[str, str], tmp_path: Path) -> None:
    """BITS_EMULATOR_NETWORK is validated: a bad value names the resource and the field."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"http://x.example.com/a": {"rate": 0}}))
    status, out = ba("/list", env={**env, "BITS_EMULATOR_NETWORK": str(bad)})
    assert status == 2
    assert out.splitlines()[0] == f"bits-emulator: the network file {bad} is not valid:"
    assert out.splitlines()[1].startswith(
        "  resource 'http://x.example.com/a', field 'rate': Input should be greater than 0"
    )
    bad.write_text(json.dumps({"http://x.example.com/a": {"colour": "red"}}))
    status, out = ba("/list", env={**env, "BITS_EMULATOR_NETWORK": str(bad)})
    assert "field 'colour': Extra inputs are not permitted" in out


def test_network_file_content_file_relative_to_it(ba: Run, env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "payload.bin").write_bytes(b"\x00\x01payload")
    net = tmp_path / "net.json"
    net.write_text(json.dumps({"https://cdn.example.com/p.bin": {"content": "payload.bin"}}))
    status, out = ba("/transfer", "p", "https://cdn.example.com/p.bin", "C:\\dl\\p.bin",
                     env={**env, "BITS_EMULATOR_NETWORK": str(net)})  # fmt: skip
    assert status == 0, out
    assert (tmp_path / "bits.db.drives" / "C" / "dl" / "p.bin").read_bytes() == b"\x00\x01payload"


def test_docs_list_every_switch() -> None:
    """docs/bitsadmin.md names every switch the command accepts."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "bitsadmin.md").read_text().lower()
    for switch in [*bitsadmin.COMMANDS, *bitsadmin.GETTERS]:
        assert f"`{switch}" in text or f"{switch}`" in text or f"{switch} " in text, switch


class _Quiet(QuietLog, http.server.SimpleHTTPRequestHandler):
    pass


def test_transfer_from_a_loopback_server_is_fetched_for_real(ba: Run, tmp_path: Path) -> None:
    """A 127.0.0.1 URL that the network file does not name is fetched from the real server."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "real.txt").write_bytes(b"served over real HTTP")
    with loopback_server(functools.partial(_Quiet, directory=str(www))) as base:
        status, out = ba("/transfer", "real", f"{base}/real.txt", "C:\\dl\\real.txt")
    assert status == 0, out
    assert out.endswith("DISPLAY: 'real' TRANSFERRED 1 / 1 21 / 21\nTransfer complete.\n")
    assert (tmp_path / "bits.db.drives" / "C" / "dl" / "real.txt").read_bytes() == b"served over real HTTP"


def _state_in_store(env: dict[str, str], name: str) -> int:
    import sqlite3

    with sqlite3.connect(env["BITS_EMULATOR_STORE"]) as db:
        (state,) = db.execute("SELECT state FROM jobs WHERE display_name=?", (name,)).fetchone()
    db.close()
    return int(state)


def test_jobs_of_logged_on_owners_run_in_any_invocation(ba: Run, env: dict[str, str]) -> None:
    """An account stays logged on between its commands (its command-line session), so another user's
    invocation runs its jobs; after `bits-emulator logoff` they wait (BITS runs a job only while its
    owner is logged on)."""
    clock = ManualClock()
    bob = {**env, "BITS_EMULATOR_USER": "bob"}
    # An instant resource: the transfer happens in the first catch-up after Resume, in the next invocation.
    for argv in (("/create", "slow"), ("/addfile", "slow", "http://files.example.com/now.bin", "C:\\dl\\s.bin"),
                 ("/resume", "slow")):  # fmt: skip
        assert ba(*argv, env=bob, clock=clock)[0] == 0
    assert _state_in_store(env, "slow") == 0  # QUEUED when bob's /resume ended
    clock.advance(60)
    assert ba("/list", clock=clock) == (0, "\nListed 0 job(s).\n")  # alice's invocation
    assert _state_in_store(env, "slow") == 6  # TRANSFERRED: bob is logged on, his job ran

    # bob logs off before his second job is resumed (by an administrator): nobody runs it any more.
    _status, out = ba("/create", "later", env=bob, clock=clock)
    later = out.split()[2].rstrip(".")
    assert ba("/addfile", later, "http://files.example.com/now.bin", "C:\\dl\\l.bin", env=bob, clock=clock)[0] == 0
    assert bitsadmin.logoff(bitsadmin.Options.from_env(bob), io.StringIO(), clock=clock) == 0
    assert ba("--as", "carol", "--elevated", "/resume", later, clock=clock) == (0, "Job resumed.\n")
    clock.advance(60)
    ba("/list", clock=clock)
    assert _state_in_store(env, "later") == 0  # QUEUED: its owner is not logged on


def test_ctrl_c_ends_monitor_without_a_traceback(ba: Run) -> None:
    """bitsadmin monitor: "To stop the refresh, press CTRL+C" — status 130, what was shown stays."""

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    status, out = ba("/monitor", sleep=interrupted)
    assert (status, out) == (130, "MONITORING BACKGROUND COPY MANAGER(5 second refresh)\n")


def test_transfer_to_the_system_drive_root_on_a_new_store_prints_one_line_per_state(
    tmp_path: Path, template_store: Path
) -> None:
    """bitsadmin transfer page example (`... https://downloadsrv/10mb.zip c:\\10mb.zip`) on a store made for
    the occasion: C:\\ exists, as on every Windows machine, and the transcript is one line per state the job
    enters — with the wall clock and a file that takes ten simulated seconds, no line depends on how fast
    the machine is (docs/bitsadmin.md, "Time: /transfer and /monitor")."""
    store = tmp_path / "new.db"
    shutil.copyfile(template_store, store)
    network = tmp_path / "net.toml"
    network.write_text('["https://downloadsrv/10mb.zip"]\nsize = 10000000\nrate = 1000000\n')
    env = {"BITS_EMULATOR_STORE": str(store), "BITS_EMULATOR_USER": "alice", "BITS_EMULATOR_NETWORK": str(network)}
    for attempt in ("first", "second"):
        out = io.StringIO()
        status = main(["/transfer", attempt, "/download", "/priority", "normal", "https://downloadsrv/10mb.zip",
                       f"c:\\{attempt}.zip"], stdout=out, env=env)  # fmt: skip
        assert (status, out.getvalue()) == (
            0,
            f"DISPLAY: '{attempt}' CONNECTING 0 / 1 0 / UNKNOWN\n"
            f"DISPLAY: '{attempt}' TRANSFERRING 0 / 1 0 / 10000000\n"
            f"DISPLAY: '{attempt}' TRANSFERRED 1 / 1 10000000 / 10000000\n"
            "Transfer complete.\n",
        )
        assert (tmp_path / "new.db.drives" / "C" / f"{attempt}.zip").stat().st_size == 10_000_000


# https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-setnotifycmdline
# gives "bitsadmin /setnotifycmdline myDownloadJob c:\winnt\system32\notepad.exe notepad c:\eula.txt": the
# program parameters are the rest of the command line, not one argument.
def test_setnotifycmdline_parameters_are_the_rest_of_the_line(ba: Run) -> None:
    create(ba, "myDownloadJob")
    program = "c:\\winnt\\system32\\notepad.exe"
    assert ba("/setnotifycmdline", "myDownloadJob", program, "notepad", "c:\\eula.txt") == (
        0,
        f"Notification command line set to '{program}' 'notepad c:\\eula.txt'.\n",
    )
    assert ba("/getnotifycmdline", "myDownloadJob") == (0, f"'{program}' 'notepad c:\\eula.txt'\n")
    # An argument that holds a space is quoted again when the line is rebuilt (emulator choice).
    assert ba("/setnotifycmdline", "myDownloadJob", program, "notepad", "c:\\my docs\\eula.txt")[0] == 0
    assert ba("/getnotifycmdline", "myDownloadJob") == (0, f"'{program}' 'notepad \"c:\\my docs\\eula.txt\"'\n")
    # The page's first example: NULL parameters.
    assert ba("/setnotifycmdline", "myDownloadJob", program, "NULL") == (
        0,
        f"Notification command line set to '{program}' NULL.\n",
    )


# https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-examples: the
# /info sample prints a job without a description as the line "DESCRIPTION:" (nothing after the colon).
def test_info_verbose_description_line_is_exact(ba: Run) -> None:
    create(ba)
    _status, out = ba("/info", "myjob", "/verbose")
    assert "\nDESCRIPTION:\nJOB FILES:\n" in out
    ba("/setdescription", "myjob", "nightly build")
    _status, out = ba("/info", "myjob", "/verbose")
    assert "\nDESCRIPTION: nightly build\nJOB FILES:\n" in out


# https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-addfilewithranges
# quotes the failure "Unable to add file to job - 0x8020002c. The list of byte ranges contains some overlapping
# ranges, which are not supported." (the zero-length order itself follows the API page: docs/bitsadmin.md).
def test_addfilewithranges_overlap_message_is_the_pages(ba: Run) -> None:
    create(ba)
    assert ba("/addfilewithranges", "myjob", "http://files.example.com/a.bin", "C:\\dl\\r.bin", "0:6,4:4") == (
        1,
        "Unable to add file to job - 0x8020002c. The list of byte ranges contains some overlapping ranges, "
        "which are not supported.\n",
    )


# https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-util: "/util /help
# Displays the command-line usage for the /Util switches. You can also specify /?." (/? used to fail, status 1).
@pytest.mark.parametrize("switch", ["/help", "/?", "/HELP"])
def test_util_help_and_question_mark(ba: Run, switch: str) -> None:
    assert ba("/util", switch) == (0, "/UTIL /VERSION [/VERBOSE]   the version of the BITS service\n")


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("1", "CURRENT_USER"),
        ("2", "LOCAL_MACHINE"),
        ("8", "LOCAL_MACHINE_ENTERPRISE"),
        ("BG_CERT_STORE_LOCATION_CURRENT_USER", "CURRENT_USER"),
        ("bg_cert_store_location_services", "SERVICES"),
        ("users", "USERS"),
    ],
)
def test_client_certificate_store_location_as_the_pages_write_it(ba: Run, location: str, shown: str) -> None:
    """The store location is a number 1 (CURRENT_USER) … 8 (LOCAL_MACHINE_ENTERPRISE), as listed and used
    in the example ``/setclientcertificatebyname myDownloadJob 1 MY myCertificate`` of
    https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-setclientcertificatebyname,
    or the API's name ``BG_CERT_STORE_LOCATION_CURRENT_USER`` of the example of
    https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-setclientcertificatebyid
    (the short name CURRENT_USER … as before: emulator choice)."""
    create(ba)
    assert ba("/setclientcertificatebyname", "myjob", location, "MY", "myCertificate") == (
        0,
        "Client certificate set.\n",
    )
    assert ba("/getclientcertificate", "myjob") == (
        0,
        f"STORE LOCATION: {shown}\nSTORE NAME: MY\nHASH: NULL\nSUBJECT NAME: myCertificate\n",
    )
    assert ba("/setclientcertificatebyid", "myjob", location, "MY", "00" * 19 + "ab") == (
        0,
        "Client certificate set.\n",
    )


@pytest.mark.parametrize("location", ["0", "9", "BG_CERT_STORE_LOCATION_", "ELSEWHERE"])
def test_client_certificate_store_location_outside_the_list_is_e_invalidarg(ba: Run, location: str) -> None:
    """Emulator choice: a location the bitsadmin setclientcertificatebyname page does not list (numbers
    1 to 8 or the names) is refused as any value that does not parse, with E_INVALIDARG."""
    create(ba)
    assert ba("/setclientcertificatebyname", "myjob", location, "MY", "x") == (
        1,
        "Unable to set client certificate - 0x80070057. The parameter is incorrect.\n",
    )


def test_getproxylist_prints_the_comma_delimited_list(ba: Run) -> None:
    """/getproxylist "Retrieves the comma-delimited list of proxy servers to use for the specified job"
    (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-getproxylist):
    the list /setproxysettings takes comma-delimited (bitsadmin-setproxysettings page example
    ``OVERRIDE proxy1,proxy2,proxy3 NULL``) comes back as typed, though the API holds it space-delimited."""
    create(ba)
    assert ba("/setproxysettings", "myjob", "OVERRIDE", "proxy1,proxy2,proxy3", "NULL") == (
        0,
        "Proxy usage set to OVERRIDE.\n",
    )
    assert ba("/getproxylist", "myjob") == (0, "proxy1,proxy2,proxy3\n")
    assert ba("/rawreturn", "/getproxylist", "myjob") == (0, "proxy1,proxy2,proxy3")
    assert ba("/getproxybypasslist", "myjob") == (0, "NULL\n")


def test_getaclflags_prints_the_pages_lower_case_letters(ba: Run) -> None:
    """/getaclflags "Returns one or more of the following flag values: o … g … d … s"
    (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-getaclflags),
    in lower case, while /setaclflags takes them in any case (the setaclflag page writes O, G, D, S).
    NONE for no flag is the emulator's choice (the page is silent)."""
    create(ba)
    assert ba("/setaclflags", "myjob", "OGDS") == (0, "ACL flags set to OGDS.\n")
    assert ba("/getaclflags", "myjob") == (0, "ogds\n")
    assert ba("/rawreturn", "/getaclflags", "myjob") == (0, "ogds")


def test_setproxysettings_override_needs_a_bypass_list_to_follow(ba: Run) -> None:
    """OVERRIDE: "A proxy and proxy bypass list must follow"; the bypass list may be NULL or ""
    (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-setproxysettings).
    A missing one is refused as OVERRIDE without a list already is, with E_INVALIDARG, and the job keeps its
    settings (emulator choice for the failure's form)."""
    create(ba)
    assert ba("/setproxysettings", "myjob", "OVERRIDE", "proxy1:80") == (
        1,
        "Unable to set proxy settings - 0x80070057. The parameter is incorrect.\n",
    )
    assert ba("/getproxyusage", "myjob") == (0, "PRECONFIG\n")
    for bypass in ("NULL", ""):
        assert ba("/setproxysettings", "myjob", "OVERRIDE", "proxy1:80", bypass) == (
            0,
            "Proxy usage set to OVERRIDE.\n",
        )
        assert ba("/getproxybypasslist", "myjob") == (0, "NULL\n")


# https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-setproxysettings: the
# bypass list may be NULL or "". Passed without a shell (a subprocess argument list), "" reaches bitsadmin as the
# two characters "", and means no list all the same, for the proxy list too (docs/bitsadmin.md, /setproxysettings).
@pytest.mark.parametrize("none", ["NULL", "", '""'], ids=["NULL", "empty", "quotes"])
def test_setproxysettings_literal_quotes_mean_no_list(ba: Run, none: str) -> None:
    create(ba)
    assert ba("/setproxysettings", "myjob", "OVERRIDE", "proxy1:80", none) == (0, "Proxy usage set to OVERRIDE.\n")
    assert ba("/getproxylist", "myjob") == (0, "proxy1:80\n")
    assert ba("/getproxybypasslist", "myjob") == (0, "NULL\n")
    assert ba("/setproxysettings", "myjob", "NO_PROXY", none, none) == (0, "Proxy usage set to NO_PROXY.\n")
    assert ba("/getproxylist", "myjob") == (0, "NULL\n")
    assert ba("/getproxybypasslist", "myjob") == (0, "NULL\n")
    # OVERRIDE with no proxy list is what the API refuses (E_INVALIDARG), whichever way "none" is written.
    assert ba("/setproxysettings", "myjob", "OVERRIDE", none, "<local>") == (
        1,
        "Unable to set proxy settings - 0x80070057. The parameter is incorrect.\n",
    )
    assert ba("/getproxyusage", "myjob") == (0, "NO_PROXY\n")


def test_nowrap_and_monitor_truncate_at_the_console_width(ba: Run, env: dict[str, str]) -> None:
    """/nowrap "Truncates any line of output text extending beyond the right-most edge of the command
    window. By default, all switches, except the monitor switch, wrap the output"
    (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-nowrap):
    /nowrap, and /monitor without /wrap, cut a long line at the console width instead of printing it whole;
    /wrap /monitor wraps (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-wrap)."""
    guid = create(ba, "a-rather-long-display-name")
    line = f"{guid} a-rather-long-display-name SUSPENDED 0 / 0 0 / 0"
    narrow = {**env, "COLUMNS": "40"}
    assert ba("/nowrap", "/info", "a-rather-long-display-name", env=narrow) == (0, line[:40] + "\n")
    status, out = ba("/monitor", "--count", "1", env=narrow)
    header = "MONITORING BACKGROUND COPY MANAGER(5 second refresh)"
    assert (status, out) == (0, f"{header[:40]}\n{line[:40]}\n")
    status, out = ba("/wrap", "/monitor", "--count", "1", env=narrow)
    assert status == 0 and len(out.splitlines()) > 2 and all(len(x) <= 40 for x in out.splitlines())
    assert "".join(out.splitlines()) == header + line
    # No console (a pipe or a file): nothing to truncate at.
    assert ba("/nowrap", "/info", "a-rather-long-display-name") == (0, line + "\n")


def test_setdescription_takes_the_rest_of_the_line(ba: Run) -> None:
    """bitsadmin setdescription (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-setdescription):
    the page's example `/SetDescription myDownloadJob Music Downloads` sets "Music Downloads"; the display name
    takes the rest of the line too."""
    create(ba, "myDownloadJob")
    assert ba("/SetDescription", "myDownloadJob", "Music", "Downloads") == (0, "Description set to Music Downloads.\n")
    assert ba("/getdescription", "myDownloadJob") == (0, "Music Downloads\n")
    assert ba("/setdisplayname", "myDownloadJob", "My", "Music") == (0, "Display name set to My Music.\n")
    assert ba("/getdisplayname", "My Music") == (0, "My Music\n")
