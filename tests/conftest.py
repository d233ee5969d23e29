"""Shared fixtures for the project's own tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from emulator import BitsService, ManualClock


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


@pytest.fixture
def svc() -> Iterator[BitsService]:
    with BitsService() as service:
        yield service


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()

