"""The ``bits-emulator`` command: ``bits-emulator demo`` shows a job's life and a helper-token decision."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .clock import ManualClock
from .constants import Cloaking, IBitsTokenOptions, ImpersonationLevel, JobType
from .hresults import BitsError
from .identity.callers import Blanket
from .service import BitsService

IMPERSONATE_DYNAMIC = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)


def _job_life(store: Path, out: list[str]) -> None:
    with BitsService("post-1607", database=store, clock=ManualClock()) as svc:
        mgr = svc.connect()
        job_id, job = mgr.create_job("demo download", JobType.DOWNLOAD)
        out.append(f"store      {store}")
        out.append(f"created    {{{str(job_id).upper()}}} owner {job.get_owner()} state {job.get_state().name}")
        url = "https://downloads.example.com/tool.zip"
        svc.network.register(url, content=b"x" * 1_000_000, rate=100_000)
        svc.filesystem.drive_root = store.parent / "drives"
        svc.filesystem.makedirs("C:\\Users\\User\\Downloads")
        job.add_file(url, "C:\\Users\\User\\Downloads\\tool.zip")
        job.resume()
        out.append(f"resumed    state {job.get_state().name}")
        svc.advance(4)
        p = job.get_progress()
        out.append(f"+4 s       state {job.get_state().name} {p.bytes_transferred:,}/{p.bytes_total:,} bytes")
        svc.run_until_idle()
        t = job.get_times()
        out.append(f"idle       state {job.get_state().name} at {t.transfer_completion_time}")
        hr = job.complete()
        local = svc.filesystem.host_path("C:\\Users\\User\\Downloads\\tool.zip")
        out.append(f"complete   hr {hr:#010x} state {job.get_state().name}, {local.stat().st_size:,} bytes in {local}")


def _helper_token_decision(out: list[str]) -> None:
    for profile in ("pre-1607", "post-1607"):
        with BitsService(profile) as svc:
            alice = svc.logon(svc.add_user("alice"))
            helper = svc.logon(svc.add_user("helper"))
            _, job = svc.connect(alice.token, blanket=IMPERSONATE_DYNAMIC).create_job("report", JobType.DOWNLOAD)
            try:
                options = job.query_interface(IBitsTokenOptions)
                with svc.impersonate(helper.token):
                    options.set_helper_token()  # type: ignore[attr-defined]
                verdict = "S_OK"
            except BitsError as exc:
                verdict = f"{exc.name} {exc.hresult:#010x}"
            out.append(f"{profile:<10} standard user sets a non-admin helper token on her own job: {verdict}")


def demo() -> list[str]:
    out: list[str] = ["bits-emulator demo", ""]
    with tempfile.TemporaryDirectory() as tmp:
        _job_life(Path(tmp) / "bits.db", out)
    out.append("")
    _helper_token_decision(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bits-emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="show a job's life on the SQLite store and a helper-token decision")
    sub.add_parser("coverage", help="print the API coverage document")
    timeline = sub.add_parser("timeline", help="draw a recorded history (svc.history.save) as an SVG timeline")
    timeline.add_argument("history", help="a history JSON file written by svc.history.save(path)")
    timeline.add_argument("-o", "--output", help="the SVG file to write (default: HISTORY with .svg)")
    timeline.add_argument("--text", action="store_true", help="also print the states of each job as text")
    ns = parser.parse_args(argv)
    if ns.command == "timeline":
        from .timeline import command

        return command(ns.history, ns.output, ns.text)
    if ns.command == "coverage":
        from .coverage import render

        sys.stdout.write(render())
        return 0
    print("\n".join(demo()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
