"""Readable transcripts of scenario runs, and the side-by-side view of two profiles."""

from __future__ import annotations

from .runner import RunResult, StepResult, _fmt_seconds


def _step_lines(step: StepResult) -> list[str]:
    mark = "ok  " if step.passed else "FAIL"
    outcome = f"  → {step.outcome}" if step.outcome else ""
    returned = ""
    if step.returned_text is not None and step.call not in ("create_job", "query_interface"):
        returned = f"  returned {step.returned_text}"
    elif step.action == "call" and step.returned is None and (step.call or "").startswith("get_") and step.hresult == 0:
        returned = "  returned NULL"
    lines = [f"  {mark} #{step.index:<3} t+{_fmt_seconds(step.at):<8} {step.summary}{outcome}{returned}"]
    if step.note:
        lines.append(f"{'':19}# {step.note}")
    for c in step.changes:
        lines.append(f"{'':19}{c.job}: {c.old} → {c.new} at t+{_fmt_seconds(c.at)}")
    lines.extend(f"{'':19}! {f}" for f in step.failures)
    return lines


def job_table(run: RunResult) -> list[str]:
    if not run.jobs:
        return ["  (no jobs)"]
    header = ("job", "id", "owner", "type", "state", "bytes", "files", "errors", "last error")
    rows = [header]
    for j in run.jobs:
        total = "?" if j.bytes_total is None else str(j.bytes_total)
        rows.append(
            (
                j.name,
                j.id,
                j.owner,
                j.type,
                j.state,
                f"{j.bytes_transferred}/{total}",
                f"{j.files_transferred}/{j.files_total}",
                str(j.error_count),
                j.error or "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]


def transcript(run: RunResult) -> str:
    on = f"{run.label} = {run.profile}" if run.label and run.label != run.profile else run.profile
    lines = [f"scenario {run.scenario!r} on {on} ({run.windows}) — {run.file}", f"  start {run.start.isoformat()}"]
    for step in run.steps:
        lines.extend(_step_lines(step))
    skipped = run.total_steps - len(run.steps)
    if skipped:
        lines.append(f"  ({skipped} step(s) not run)")
    lines.append("  jobs at the end:")
    lines.extend("  " + line for line in job_table(run))
    failed = run.failed_step
    if run.passed:
        lines.append(f"PASS {run.scenario} [{run.profile}]: {len(run.steps)}/{run.total_steps} steps")
    elif failed is not None:
        lines.append(f"FAIL {run.scenario} [{run.profile}]: step {failed.index} of {run.total_steps} failed")
    else:
        lines.append(f"FAIL {run.scenario} [{run.profile}]: {len(run.steps)}/{run.total_steps} steps run")
    return "\n".join(lines)


def side_by_side(runs: list[RunResult], *, calls_only: bool = True) -> str:
    """One line per step, one column per profile: what each Windows rule set answered."""
    if not runs:
        return ""
    count = max(len(r.steps) for r in runs)
    rows: list[tuple[str, ...]] = [
        ("step", *(f"{r.label} ({r.profile})" if r.label and r.label != r.profile else r.profile for r in runs))
    ]
    for i in range(count):
        steps = [r.steps[i] if i < len(r.steps) else None for r in runs]
        first = next(s for s in steps if s is not None)
        if calls_only and first.action != "call":
            continue
        label = first.note or first.summary
        cells = []
        for s in steps:
            if s is None:
                cells.append("(not run)")
                continue
            cell = s.outcome.split(" 0x")[0] if s.outcome else "done"
            if s.returned_text is not None and s.call not in ("create_job", "query_interface"):
                text = s.returned_text
                # A SID is long: its account name says it (shown in brackets by the runner).
                cell += f" {text[text.index('(') + 1 : -1]}" if text.startswith("S-1-") and "(" in text else f" {text}"
            elif s.returned is None and (s.call or "").startswith("get_") and s.hresult == 0:
                cell += " NULL"
            cells.append(cell)
        rows.append((f"#{first.index} {label}", *cells))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows)
