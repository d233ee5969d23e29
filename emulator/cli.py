"""The ``bits-emulator`` command: ``demo``, ``coverage`` and ``scenario run FILE…``."""

from __future__ import annotations

import argparse
import sys


def demo() -> list[str]:
    """The bundled helper-token scenario on both profiles side by side, and a download, on SQLite."""
    from .scenarios.cli import demo as scenario_demo

    return scenario_demo()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bits-emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the bundled helper-token scenario on both profiles and a download")
    sub.add_parser("coverage", help="print the API coverage document")
    from .scenarios import cli as scenario_cli

    scenario_cli.add_parser(sub)
    ns = parser.parse_args(argv)
    if ns.command == "scenario":
        return scenario_cli.main(ns)
    if ns.command == "coverage":
        from .coverage import render

        sys.stdout.write(render())
        return 0
    print("\n".join(demo()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
