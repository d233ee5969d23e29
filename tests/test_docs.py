"""The generated coverage document is current; the README opens with the two commands CI runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.coverage import render

ROOT = Path(__file__).resolve().parents[1]


def test_coverage_document_is_current() -> None:
    assert (ROOT / "docs" / "COVERAGE.md").read_text() == render(), (
        "run: python -m emulator.coverage > docs/COVERAGE.md"
    )


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[2] == "```sh"
    run_cmd, test_cmd = lines[3], lines[4]
    assert run_cmd.endswith("bits-emulator demo")
    assert test_cmd.endswith("python -m pytest")
    assert test_cmd in (ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.parametrize("guide", ["helper-tokens.md", "transfers.md", "pywin32.md"])
def test_guide_examples_run(guide: str) -> None:
    """docs/*.md: every Python example runs as written."""
    import re

    text = (ROOT / "docs" / guide).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "docs/helper-tokens.md", "exec"), {})


def test_readme_examples_run() -> None:
    """README.md: every Python example runs as written (the group-policy one asserts the cap it sets)."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert any("GroupPolicy(" in block for block in blocks)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_security_readings_name_modules_that_exist() -> None:
    from emulator.domain.readings import GROUP_POLICY_READINGS, SECURITY_READINGS, TRANSFER_READINGS

    for reading in (*SECURITY_READINGS, *TRANSFER_READINGS, *GROUP_POLICY_READINGS):
        for where in reading.where.split(", "):
            module = where.split()[0]
            assert (ROOT / "emulator" / module).exists(), (reading.id, module)
