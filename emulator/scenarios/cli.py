"""``bits-emulator scenario run FILE…`` and ``bits-emulator demo`` (registered in emulator/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from . import bundled, load, run, side_by_side, transcript
from .load import ScenarioError

HELPER_TOKENS = "scenario_helper_tokens.toml"
DOWNLOAD = "scenario_download_retries.toml"


def add_parser(sub: Any) -> None:
    """The ``scenario`` subcommand and its ``run`` action."""
    parser = sub.add_parser("scenario", help="run scenario files (TOML; format in docs/scenarios.md)")
    actions = parser.add_subparsers(dest="scenario_command", required=True)
    runner = actions.add_parser("run", help="run scenario files and print a transcript of each run")
    runner.add_argument("files", nargs="+", type=Path, metavar="FILE", help="scenario files (.toml)")
    runner.add_argument("--json", action="store_true", help="print one JSON document instead of transcripts")
    runner.add_argument("--profile", help="run only this profile of each scenario (e.g. pre-1607)")
    runner.add_argument(
        "--timeline",
        type=Path,
        metavar="DIR",
        help="draw each run's job states over virtual time into DIR/<file>-<profile>.svg",
    )


def main(ns: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Exit status: 0 every run passed, 1 an expectation failed, 2 a file could not be loaded."""
    out = out or sys.stdout
    err = err or sys.stderr
    runs: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    failed = False
    for path in ns.files:
        try:
            loaded = load(path)
            results = run(loaded, ns.profile, timelines=ns.timeline)
        except ScenarioError as exc:
            errors.append({"file": str(path), "problems": [_problem(p) for p in exc.problems]})
            if not ns.json:
                print(str(exc), file=err)
            continue
        except ValueError as exc:  # --profile the scenario does not have
            problem = {"file": str(path), "line": None, "path": "", "message": str(exc)}
            errors.append({"file": str(path), "problems": [problem]})
            if not ns.json:
                print(f"{path}: {exc}", file=err)
            continue
        for result in results:
            runs.append(result.to_json())
            failed = failed or not result.passed
            if not ns.json:
                print(transcript(result), file=out)
                if result.timeline is not None:
                    print(f"timeline: {result.timeline}", file=out)
                print(file=out)
                message = result.failure_message()
                if message is not None:
                    print(message, file=err)
    if ns.json:
        doc = {"passed": not failed and not errors, "runs": runs, "load_errors": errors}
        json.dump(doc, out, indent=2)
        out.write("\n")
    elif len(runs) > 1:
        passed = sum(1 for r in runs if r["passed"])
        print(f"{passed}/{len(runs)} runs passed" + (f", {len(errors)} file(s) not loaded" if errors else ""), file=out)
    if errors:
        return 2
    return 1 if failed else 0


def _problem(p: Any) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "path": p.path, "message": p.message}


def demo() -> list[str]:
    """The bundled helper-token scenario on both rule sets, side by side, and a download, each on the
    embedded SQLite store (a file store in a temporary directory)."""
    out = ["bits-emulator demo", ""]
    helper = load(bundled(HELPER_TOKENS))
    runs = run(helper, store="file")
    out.append(f"Helper tokens: the same calls under the pre-1607 and post-1607 rules ({HELPER_TOKENS})")
    out.append(side_by_side(runs))
    out.append("")
    download = load(bundled(DOWNLOAD))
    (result,) = run(download, store="file")
    out.append(f"A download that retries through 503s, on the SQLite file store ({DOWNLOAD})")
    out.extend(transcript(result).splitlines()[1:])
    out.append("")
    verdicts = [*runs, result]
    if all(r.passed for r in verdicts):
        out.append(f"all {len(verdicts)} runs passed; more: bits-emulator scenario run <file>, docs/scenarios.md")
    else:
        out.extend(m for r in verdicts if (m := r.failure_message()) is not None)
    return out
