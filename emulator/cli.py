"""The bits-emulator command: demo, coverage, scenario run, bitsadmin and a look at a store."""

from __future__ import annotations

import argparse
import sys

from .cli_support import guard_closed_pipe


def demo() -> list[str]:
    """The bundled helper-token scenario on both profiles side by side, and a download, on SQLite."""
    from .scenarios.cli import demo as scenario_demo

    return scenario_demo()


DESCRIPTION = "bits-emulator: an emulator of the Windows Background Intelligent Transfer Service for tests."
EPILOG = (
    "bitsadmin, list, info and logoff work on a persistent store and take --store PATH, --as NAME, --elevated, "
    "--profile NAME, --drives DIR and --network FILE (or the BITS_EMULATOR_* environment variables): "
    "bits-emulator bitsadmin /? lists them."
)


def main(argv: list[str] | None = None) -> int:
    from . import __version__
    from .compat import bitsadmin

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["bitsadmin"]:
        return bitsadmin.main(args[1:])  # argv exactly as Windows scripts pass it, not argparse's rules
    parser = argparse.ArgumentParser(prog="bits-emulator", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"bits-emulator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the bundled helper-token scenario on both profiles and a download")
    sub.add_parser("coverage", help="print the API coverage document")
    timeline = sub.add_parser("timeline", help="draw a recorded history (svc.history.save) as an SVG timeline")
    timeline.add_argument("history", help="a history JSON file written by svc.history.save(path)")
    timeline.add_argument("-o", "--output", help="the SVG file to write (default: HISTORY with .svg)")
    timeline.add_argument("--text", action="store_true", help="also print the states of each job as text")
    from .scenarios import cli as scenario_cli

    scenario_cli.add_parser(sub)
    bitsadmin.add_subcommands(sub)
    ns = parser.parse_args(args)
    if ns.command == "timeline":
        from .timeline import command

        return command(ns.history, ns.output, ns.text)
    if ns.command == "scenario":
        return scenario_cli.main(ns)
    if ns.command in bitsadmin.SUBCOMMANDS:
        return bitsadmin.run_subcommand(ns)
    if ns.command == "coverage":
        from .coverage import render

        sys.stdout.write(render())
        return 0
    print("\n".join(demo()))
    return 0


def run() -> int:
    """The bits-emulator console script: no traceback when the reader of a pipe goes away."""
    return guard_closed_pipe(main)


if __name__ == "__main__":
    raise SystemExit(run())
