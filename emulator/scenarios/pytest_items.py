"""pytest collection of scenario files: one test item per profile (hooked in emulator/pytest_plugin.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import load, run, transcript
from .load import ScenarioError
from .runner import RunResult


class ScenarioFailed(Exception):
    def __init__(self, result: RunResult) -> None:
        self.result = result
        super().__init__(result.failure_message())


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            loaded = load(self.path)
        except ScenarioError as exc:
            yield ScenarioItem.from_parent(self, name="load", profile=None, problem=exc)
            return
        for profile in loaded.scenario.scenario.profiles:
            yield ScenarioItem.from_parent(self, name=profile, profile=profile, problem=None)


class ScenarioItem(pytest.Item):
    def __init__(self, *, profile: str | None, problem: ScenarioError | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile = profile
        self.problem = problem

    def runtest(self) -> None:
        if self.problem is not None:
            raise self.problem
        loaded = load(self.path)
        # The drive root and file store live in a directory removed when the run ends.
        with tempfile.TemporaryDirectory(prefix="bits-scenario-") as tmp:
            (result,) = run(loaded, self.profile, workdir=Path(tmp))
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        exc = excinfo.value
        if isinstance(exc, ScenarioError):
            return f"scenario file rejected:\n{exc}"
        if isinstance(exc, ScenarioFailed):
            return f"{exc.result.failure_message()}\n\ntranscript:\n{transcript(exc.result)}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario {self.path.name} [{self.profile or 'load'}]"
