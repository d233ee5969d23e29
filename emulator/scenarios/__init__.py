"""Scenario files: a BITS story in TOML, run on a fresh service and checked step by step.

    from emulator.scenarios import load, run, transcript
    for result in run(load("fixtures/scenario_helper_tokens.toml")):
        print(transcript(result))
        assert result.passed, result.failure_message()

Format: docs/scenarios.md. Command line: ``bits-emulator scenario run FILE…``. pytest collects
``scenario_*.toml`` and ``bits_*.toml`` files as tests (emulator/pytest_plugin.py).
"""

from __future__ import annotations

from pathlib import Path

from .load import LoadedScenario, Problem, ScenarioError, load, loads
from .model import Scenario
from .report import side_by_side, transcript
from .runner import JobRow, RunResult, StateChange, StepResult, run

__all__ = [
    "JobRow",
    "LoadedScenario",
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "StateChange",
    "StepResult",
    "bundled",
    "bundled_dir",
    "load",
    "loads",
    "run",
    "side_by_side",
    "transcript",
]


def bundled_dir() -> Path:
    """The scenarios shipped with the package: its ``fixtures`` folder in a wheel, the repository's in a checkout."""
    here = Path(__file__).resolve().parent.parent
    installed = here / "fixtures"
    if installed.is_dir():
        return installed
    checkout = here.parent / "fixtures"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("the bundled scenarios are missing from this installation")


def bundled(name: str) -> Path:
    """A bundled scenario file by name, e.g. ``bundled("scenario_helper_tokens.toml")``."""
    path = bundled_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"no bundled scenario {name!r} in {bundled_dir()}")
    return path
