"""Shared fixtures for the project's own tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import alembic.command  # noqa: F401  (see below)
import pytest
from helpers import HandlerFactory, RangeHandler, loopback_server

from emulator import BitsService, ManualClock

# ``alembic.command`` is imported above, once for the session, because pytester's in-process runs
# (test_plugin.py, test_observability_plugin.py) unload the modules first imported inside them: a file store
# opened there would import Alembic and SQLAlchemy's PostgreSQL dialect, and the next import after the
# unload registers that dialect's functions a second time (an SAWarning, an error under our filterwarnings).


def _bits_entries(directory: str) -> set[str]:
    return {name for name in os.listdir(directory) if name.startswith("bits-")}


@pytest.fixture(scope="session", autouse=True)
def _temp_dir_left_as_found(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite leaves the system temp directory as it found it: every service is closed, and close()
    removes the drive root and the temporaries it made (issue 11, "nothing is left behind").

    The run gets a temp directory of its own (``tempfile.tempdir`` and ``TMPDIR``, so subprocesses too),
    so that other processes on the machine cannot make the check pass or fail; it must hold no ``bits-*``
    entry at the end, and the system temp directory must have gained none either."""
    tmp_path_factory.getbasetemp()  # pytest's own directories stay where they are
    system = tempfile.gettempdir()
    private = tempfile.mkdtemp(prefix="emulator-suite-")
    saved_env = os.environ.get("TMPDIR")
    tempfile.tempdir = private
    os.environ["TMPDIR"] = private
    try:
        yield
    finally:
        tempfile.tempdir = None
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        added = sorted(_bits_entries(private))
        shutil.rmtree(private, ignore_errors=True)
        assert tempfile.gettempdir() == system
    if added:
        pytest.fail(f"the test run left {len(added)} bits-* entries in the temp directory: {added[:10]}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a green run pytest removes its numbered directory (tmp_path_retention_policy = "failed"); its
    per-user parent (``pytest-of-<user>``) goes too when nothing else is in it, so a green run leaves the system
    temp directory as it found it. A failed run keeps its folders for the report."""
    factory = session.config._tmp_path_factory  # type: ignore[attr-defined]  # pytest's own, set at configure
    basetemp = factory._basetemp
    if exitstatus == 0 and basetemp is not None and factory._given_basetemp is None:
        with contextlib.suppress(OSError):  # not empty (another run's folders, a lock file): it stays
            basetemp.parent.rmdir()


@pytest.fixture
def svc(request: pytest.FixtureRequest) -> Iterator[BitsService]:
    """A fresh in-memory service, closed after the test.

    A module (``pytestmark``) or a test changes how it is built with ``@pytest.mark.svc(...)``:
    ``clock="manual"`` gives it a ManualClock (time moves only with ``svc.advance``; the word the plugin's
    ``@pytest.mark.bits`` uses), ``sandbox=True`` maps its drive and UNC roots under the test's ``tmp_path``
    (``drives/``, ``unc/``)."""
    marker = request.node.get_closest_marker("svc")
    options = dict(marker.kwargs) if marker else {}
    clock = options.pop("clock", None)
    sandbox = options.pop("sandbox", False)
    if options or (marker and marker.args) or clock not in (None, "manual") or not isinstance(sandbox, bool):
        raise TypeError(f'@pytest.mark.svc takes clock="manual" and sandbox=True|False only, not {marker}')
    with BitsService(clock=ManualClock() if clock == "manual" else None) as service:
        if sandbox:
            tmp_path: Path = request.getfixturevalue("tmp_path")
            service.filesystem.drive_root = tmp_path / "drives"
            service.filesystem.unc_root = tmp_path / "unc"
        yield service


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()



@pytest.fixture
def loopback() -> Iterator[Callable[[HandlerFactory], str]]:
    """Starts loopback HTTP servers: ``loopback(handler)`` returns the base URL of a new server on 127.0.0.1;
    every server started is shut down (and its thread joined) after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda handler: stack.enter_context(loopback_server(handler))


@pytest.fixture
def range_server(loopback: Callable[[HandlerFactory], str]) -> str:
    """A loopback server of RangeHandler (helpers.py), its request log emptied first."""
    RangeHandler.requests = []
    return loopback(RangeHandler)
