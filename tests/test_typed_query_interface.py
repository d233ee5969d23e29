"""``query_interface`` is typed per interface: a caller needs no cast or ``isinstance`` to use a view.

Each interface constant carries the kind of object that answers it (``Interface[JobKind]`` …) and each
facade class overloads ``query_interface`` for its kinds. These tests check the two halves agree: at run
time, the class a QueryInterface returns is the one its kind names (and INTERFACES list exactly those
interfaces); for the type checker, ``mypy --strict`` sees the same classes (``typing.assert_type``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from emulator import (
    BitsError,
    BitsService,
    CopyError,
    File,
    FileEnumerator,
    IBitsTokenOptions,
    Job,
    JobEnumerator,
    JobType,
    Manager,
    ManualClock,
    TokenOptions,
)
from emulator.constants import (
    ALL_INTERFACES,
    CallbackKind,
    ErrorKind,
    FileEnumKind,
    FileKind,
    IUnknown,
    JobEnumKind,
    JobKind,
    ManagerKind,
    TokenOptionsKind,
    UnknownKind,
)

REPO = Path(__file__).resolve().parents[1]
E_NOINTERFACE = 0x80004002

CLASS_OF_KIND: dict[type, type] = {
    ManagerKind: Manager,
    JobKind: Job,
    TokenOptionsKind: TokenOptions,
    FileKind: File,
    JobEnumKind: JobEnumerator,
    FileEnumKind: FileEnumerator,
    ErrorKind: CopyError,
}


def test_every_interface_has_a_kind() -> None:
    """Emulator choice: the callbacks are the client's (no emulator object answers them), IUnknown any."""
    for iface in ALL_INTERFACES:
        assert iface.kind in (*CLASS_OF_KIND, UnknownKind, CallbackKind), iface
    assert IUnknown.kind is UnknownKind


@pytest.mark.parametrize("cls", list(CLASS_OF_KIND.values()), ids=lambda c: c.__name__)
def test_interfaces_of_each_class_are_those_of_its_kind(cls: type) -> None:
    """A job also answers IBitsTokenOptions, with another object (ibitstokenoptions page: QI on the job),
    and the token options answer the job's interfaces with a Job (QueryInterface is symmetric)."""
    declared = set(cls.INTERFACES)  # type: ignore[attr-defined]
    if cls is Job:
        declared.discard(IBitsTokenOptions)
    if cls is TokenOptions:
        declared = {i for i in declared if i.kind is not JobKind}
    assert declared == {i for i in ALL_INTERFACES if CLASS_OF_KIND.get(i.kind) is cls}


def test_query_interface_returns_the_class_of_the_kind(tmp_path: Path) -> None:
    """On win11 (every interface present) each object answers its interfaces with the class the kind names,
    IUnknown with its own class, and everything else with E_NOINTERFACE 0x80004002 (QueryInterface)."""
    with BitsService("win11", clock=ManualClock()) as svc:
        svc.network.register("http://server/missing", status=404)
        mgr = svc.connect()
        _, job = mgr.create_job("typed", JobType.DOWNLOAD)
        job.add_file("http://server/missing", str(tmp_path / "missing"))
        job.resume()
        svc.run_until_idle()
        objects = [
            mgr,
            job,
            job.query_interface(IBitsTokenOptions),
            job.enum_files(),
            job.enum_files().next(1)[0],
            mgr.enum_jobs(),
            job.get_error(),
        ]
        assert {type(o) for o in objects} == set(CLASS_OF_KIND.values())
        for obj in objects:
            for iface in ALL_INTERFACES:
                if iface is IUnknown:
                    assert type(obj.query_interface(iface)) is type(obj)
                elif iface in type(obj).INTERFACES:
                    assert type(obj.query_interface(iface)) is CLASS_OF_KIND[iface.kind], (obj, iface)
                else:
                    with pytest.raises(BitsError) as exc:
                        obj.query_interface(iface)
                    assert exc.value.hresult == E_NOINTERFACE, (obj, iface)


SNIPPET = textwrap.dedent(
    """
    import uuid
    from typing import assert_type

    from emulator import (
        BitsService, CopyError, File, FileEnumerator, IBackgroundCopyError, IBackgroundCopyFile,
        IBackgroundCopyFile2, IBackgroundCopyFile3, IBackgroundCopyFile4, IBackgroundCopyFile5,
        IBackgroundCopyFile6, IBackgroundCopyJob, IBackgroundCopyJob2, IBackgroundCopyJob3,
        IBackgroundCopyJob4, IBackgroundCopyJob5, IBackgroundCopyJobHttpOptions,
        IBackgroundCopyJobHttpOptions2, IBackgroundCopyJobHttpOptions3, IBackgroundCopyManager,
        IBitsTokenOptions, Job, JobEnumerator, JobType, Manager, TokenOptions,
    )
    from emulator.com.base import ComObject
    from emulator.constants import IEnumBackgroundCopyFiles, IEnumBackgroundCopyJobs, IUnknown

    with BitsService() as svc:
        mgr = svc.connect()
        _, job = mgr.create_job("typed", JobType.DOWNLOAD)
        assert_type(mgr.query_interface(IBackgroundCopyManager), Manager)
        for j in (
            job.query_interface(IBackgroundCopyJob), job.query_interface(IBackgroundCopyJob2),
            job.query_interface(IBackgroundCopyJob3), job.query_interface(IBackgroundCopyJob4),
            job.query_interface(IBackgroundCopyJob5), job.query_interface(IBackgroundCopyJobHttpOptions),
            job.query_interface(IBackgroundCopyJobHttpOptions2),
            job.query_interface(IBackgroundCopyJobHttpOptions3), job.query_interface(IUnknown),
        ):
            assert_type(j, Job)
        opts = job.query_interface(IBitsTokenOptions)
        assert_type(opts, TokenOptions)
        assert_type(opts.query_interface(IBitsTokenOptions), TokenOptions)
        assert_type(opts.query_interface(IBackgroundCopyJob2), Job)
        opts.set_helper_token_flags(1)
        assert_type(opts.get_helper_token_sid(), str | None)
        assert_type(job.query_interface(IBackgroundCopyJob4).get_owner_elevation_state(), bool)
        files = job.enum_files()
        assert_type(files.query_interface(IEnumBackgroundCopyFiles), FileEnumerator)
        assert_type(mgr.enum_jobs().query_interface(IEnumBackgroundCopyJobs), JobEnumerator)
        for f in files:
            for view in (
                f.query_interface(IBackgroundCopyFile), f.query_interface(IBackgroundCopyFile2),
                f.query_interface(IBackgroundCopyFile3), f.query_interface(IBackgroundCopyFile4),
                f.query_interface(IBackgroundCopyFile5), f.query_interface(IBackgroundCopyFile6),
            ):
                assert_type(view, File)
            assert_type(f.query_interface(IBackgroundCopyFile3).get_temporary_name(), str | None)
        assert_type(job.get_error().query_interface(IBackgroundCopyError), CopyError)
        # By IID or name the interface is only known at run time: the type checker sees a ComObject.
        assert_type(job.query_interface(IBackgroundCopyJob5.iid), ComObject)
        assert_type(job.query_interface("IBitsTokenOptions"), ComObject)
        assert_type(job.query_interface(uuid.UUID(int=0)), ComObject)
        # A view has the methods of its class only (strict mode reports an unused ignore, so these
        # two lines fail the check if the views were typed loosely).
        opts.get_state()  # type: ignore[attr-defined]
        job.query_interface(IBackgroundCopyJob5).set_helper_token()  # type: ignore[attr-defined]
    """
)


@pytest.mark.slow  # about 1 s after `mypy --strict emulator` warmed the cache; a cold cache takes longer
def test_mypy_strict_sees_the_class_of_each_interface(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mypy import api

    snippet = tmp_path / "typed_qi.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    # From the repository, so mypy finds ``emulator`` and the project's configuration and cache, like CI's
    # ``mypy --strict emulator`` (the editable install's import hook is invisible to mypy).
    monkeypatch.chdir(REPO)
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", str(snippet)])
    assert status == 0, stdout + stderr


RELAXED = "# mypy: allow-untyped-defs, allow-untyped-calls, check-untyped-defs, disable-error-code=var-annotated\n"


@pytest.mark.slow
def test_documented_examples_type_check_without_casts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python example of README.md and docs/*.md passes mypy's strict checks of the calls it makes
    (its own untyped helper functions allowed): e.g. docs/helper-tokens.md calls TokenOptions methods on
    ``job.query_interface(IBitsTokenOptions)`` with no cast."""
    import re

    from mypy import api

    files: list[str] = []
    for doc in (REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))):
        for n, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)):
            path = tmp_path / f"{doc.stem.replace('-', '_')}_{n}.py"
            # Relaxed for the example only (an inline setting, so the cache of ``emulator`` stays valid).
            path.write_text(RELAXED + block, encoding="utf-8")
            files.append(str(path))
    assert len(files) >= 5
    monkeypatch.chdir(REPO)
    # pywin32 client examples import the stub-less client modules the layer fakes: untyped imports allowed
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", "--disable-error-code=import-untyped", *files])
    assert status == 0, stdout + stderr
