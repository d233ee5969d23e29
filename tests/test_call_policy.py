"""The one declared call policy (emulator/com/registry.py): every COM method declares its access, liveness
and argument converters, and one dispatcher applies them in one order (docs/ARCHITECTURE.md#api-call).

Facts: ANONYMOUS is refused on every call (docs/reference/security.md#blanket), a cancelled or acknowledged job is
BG_E_INVALID_STATE for changes
(https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-cancel), and a method of an
interface the Windows version lacks is unreachable (E_NOINTERFACE from QueryInterface). The order of checks where the
pages are silent is the emulator's reading: types → interface → ANONYMOUS → access → state → values
(docs/design.md#checks).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator import (
    BitsError,
    BitsService,
    Blanket,
    IBitsTokenOptions,
    ImpersonationLevel,
    JobType,
    ManualClock,
)
from emulator.com.registry import REGISTRY, Access
from emulator.coverage import load_registry

COM = Path(__file__).resolve().parent.parent / "emulator" / "com"

E_ACCESSDENIED = 0x80070005
E_INVALIDARG = 0x80070057
E_NOINTERFACE = 0x80004002
BG_E_INVALID_STATE = 0x80200002


# Writes whose page gives no BG_E_INVALID_STATE because the method cannot fail: "The return value is always
# S_OK" (https://learn.microsoft.com/en-us/windows/win32/api/bits10_3/
# nf-bits10_3-ibackgroundcopyjobhttpoptions3-makecustomheaderswriteonly).
ALWAYS_S_OK = {"IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly"}


def test_every_method_declares_its_policy() -> None:
    load_registry()
    assert len(REGISTRY) >= 100
    for entry in REGISTRY:
        assert isinstance(entry.access, Access), entry.label
        if entry.access in (Access.WRITE, Access.OWNER, Access.TAKE_OWNERSHIP):
            assert entry.live is (entry.label not in ALWAYS_S_OK), f"{entry.label}: a write needs a live job"


def test_the_preamble_is_written_once() -> None:
    """No facade module but the dispatcher takes the service lock, catches up or checks access itself."""
    load_registry()
    offenders = []
    for path in sorted(COM.glob("*.py")):
        if path.name in ("registry.py", "base.py"):  # the dispatcher; QueryInterface and SetBlanket
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("lock", "catch_up", "check_read", "check_write"):
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not offenders, offenders


def test_public_signatures_hide_the_caller() -> None:
    """The body takes the caller; users and inspect see the COM parameters only."""
    load_registry()
    from emulator.com.job import Job

    params = list(inspect.signature(Job.set_display_name).parameters)
    assert params == ["self", "name"]
    assert Job.set_display_name.com_entry.label == "IBackgroundCopyJob::SetDisplayName"  # type: ignore[attr-defined]


@pytest.fixture
def svc() -> Iterator[BitsService]:
    with BitsService(clock=ManualClock()) as service:
        service.filesystem.makedirs("C:\\d")
        yield service


def test_types_come_before_anonymous(svc: BitsService) -> None:
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    job.set_blanket(Blanket(ImpersonationLevel.ANONYMOUS))
    with pytest.raises(TypeError):
        job.set_display_name(5)  # type: ignore[arg-type]
    with pytest.raises(BitsError) as err:
        job.set_display_name(None)
    assert err.value.hresult == E_ACCESSDENIED  # ANONYMOUS before the value check


def test_access_comes_before_state_and_state_before_values(svc: BitsService) -> None:
    bob = svc.connect(svc.logon(svc.add_user("bob")).token)
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    job_id = job.get_id()
    job.cancel()
    with pytest.raises(BitsError) as err:
        job.set_display_name(None)
    assert err.value.hresult == BG_E_INVALID_STATE  # liveness before the NULL value
    _, other = svc.connect().create_job("k", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as err:
        bob.get_job(other.get_id()).set_display_name(None)
    assert err.value.hresult == E_ACCESSDENIED
    assert job_id not in {j.get_id() for j in svc.connect().enum_jobs()}


def test_a_method_of_a_later_interface_is_e_nointerface_on_an_older_profile() -> None:
    """IBackgroundCopyJob5 (BITS 5.0) does not exist on Windows 7 (BITS 4.0)."""
    with BitsService("win7", clock=ManualClock()) as svc:
        _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        with pytest.raises(BitsError) as err:
            job.get_property(1)
        assert err.value.hresult == E_NOINTERFACE
        with pytest.raises(TypeError):
            job.get_property("1")  # type: ignore[arg-type]  # types first, as marshalling


def test_every_kind_of_object_catches_up_before_answering(svc: BitsService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Error objects and enumerators used to answer without catching up; now every method does."""
    svc.network.register("http://server/a", status=404)
    manager = svc.connect()
    _, job = manager.create_job("j", JobType.DOWNLOAD)
    job.add_file("http://server/a", "C:\\d\\a")
    job.resume()
    svc.run_until_idle()
    error = job.get_error()
    jobs = manager.enum_jobs()
    files = job.enum_files()
    (file,) = files.next(1)
    options = job.query_interface(IBitsTokenOptions)
    calls: list[Callable[[], object]] = [
        lambda: manager.get_error_description(E_INVALIDARG),
        jobs.get_count,
        files.reset,
        error.get_error,
        file.get_remote_name,
        options.get_helper_token_flags,
        job.get_state,
    ]
    counted = []
    original = svc.scheduler.catch_up

    def counting() -> None:
        counted.append(1)
        original()

    monkeypatch.setattr(svc.scheduler, "catch_up", counting)
    for call in calls:
        before = len(counted)
        call()
        assert len(counted) == before + 1, call


def test_wrong_argument_count_is_pythons_type_error_before_any_work(svc: BitsService) -> None:
    _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
    with pytest.raises(TypeError):
        job.set_priority()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        job.set_priority(1, 2)  # type: ignore[call-arg]
    assert job.get_priority() == 2  # NORMAL, untouched


def test_iterating_an_enumerator_calls_next_only(svc: BitsService, monkeypatch: pytest.MonkeyPatch) -> None:
    """list(enumerator) makes the one Next call a COM client iterating would make: len() (which list() asks
    for first) reads the snapshot's size without a call, and GetCount stays a method that catches up."""
    manager = svc.connect()
    for i in range(3):
        manager.create_job(f"j{i}", JobType.DOWNLOAD)
    jobs = manager.enum_jobs()
    counted: list[int] = []
    original = svc.scheduler.catch_up

    def counting() -> None:
        counted.append(1)
        original()

    monkeypatch.setattr(svc.scheduler, "catch_up", counting)
    assert len(jobs) == 3 and counted == []
    assert [j.get_display_name() for j in jobs] == ["j0", "j1", "j2"]
    assert len(counted) == 1 + 3  # one Next for the whole snapshot, then one call per GetDisplayName
    assert jobs.get_count() == 3 and len(counted) == 5
