"""A picture of each job's states over virtual time: an SVG drawn with drawsvg from history records.

One row per job (its display name and GUID), one coloured bar per state it was in, from the instant it
entered the state to the instant it left (the last state runs to the end of the picture). Requests are
ticks on the row (green: the transfer started; red: the job got an error), callbacks are dots under it.
Every bar, tick and dot has a tooltip (``<title>``) with exact times; a legend names every state shown.

Virtual time is drawn to scale, plus a small fixed step per event, so that states that lasted no
virtual time at all (QUEUED → CONNECTING → TRANSFERRING at one instant, the common case with a
ManualClock) still get a visible bar. Axis labels are seconds since the first record.

``render(records, path)`` is the function API (``svc.history.timeline(path)``, the ``bits-emulator
timeline`` command and a scenario runner call it); ``summary(records)`` is the same content as text.
drawsvg is imported only here, when a picture is asked for.
"""

from __future__ import annotations

import bisect
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .clock import to_datetime
from .constants import JobState
from .history import Creation, HistoryRecord, Notification, Request, StateChange

COLOURS: dict[JobState, str] = {
    JobState.QUEUED: "#9ecae1",
    JobState.CONNECTING: "#6baed6",
    JobState.TRANSFERRING: "#2171b5",
    JobState.SUSPENDED: "#bdbdbd",
    JobState.ERROR: "#de2d26",
    JobState.TRANSIENT_ERROR: "#fd8d3c",
    JobState.TRANSFERRED: "#31a354",
    JobState.ACKNOWLEDGED: "#006d2c",
    JobState.CANCELLED: "#636363",
}
FINAL = frozenset({JobState.ACKNOWLEDGED, JobState.CANCELLED})

LABEL_WIDTH = 230
PLOT_WIDTH = 760
ROW_HEIGHT = 34
BAR_HEIGHT = 18
TOP = 54
FONT = 11
CHAR_WIDTH = 6.6  # average width of a FONT-size sans-serif character, to decide whether a label fits


@dataclass(slots=True)
class Segment:
    state: JobState
    start: float
    end: float
    start_index: int  # position of the record that started it, for the per-event step
    end_index: int


@dataclass(slots=True)
class Row:
    job_id: uuid.UUID
    name: str
    segments: list[Segment]
    requests: list[tuple[float, int, Request]]
    callbacks: list[tuple[float, int, Notification]]


def _rows(records: Sequence[HistoryRecord]) -> tuple[list[Row], float, float, int]:
    """Rows in order of first appearance, the time span, and the number of events (steps)."""
    if not records:
        return [], 0.0, 0.0, 0
    t0 = min(r.at for r in records)
    t1 = max(r.at for r in records)
    rows: dict[uuid.UUID, Row] = {}
    for index, r in enumerate(records):
        row = rows.get(r.job_id)
        if row is None:
            row = rows[r.job_id] = Row(r.job_id, r.job_name, [], [], [])
        if r.job_name:
            row.name = r.job_name
        if isinstance(r, Creation):
            row.segments.append(Segment(JobState.SUSPENDED, r.at, r.at, index, index))
        elif isinstance(r, StateChange):
            if not row.segments:
                # Its earlier records were dropped from the bounded history: the old state from the start.
                row.segments.append(Segment(r.old, t0, t0, 0, 0))
            last = row.segments[-1]
            last.end, last.end_index = r.at, index
            row.segments.append(Segment(r.new, r.at, r.at, index, index))
        elif isinstance(r, Request):
            row.requests.append((r.at, index, r))
        elif isinstance(r, Notification):
            row.callbacks.append((r.at, index, r))
    end_index = len(records)
    for row in rows.values():
        if row.segments:
            last = row.segments[-1]
            if last.state not in FINAL:
                last.end, last.end_index = t1, end_index
    return list(rows.values()), t0, t1, end_index


def _seconds(value: float) -> str:
    """A duration for people: exact seconds up to a minute, then minutes, hours, days."""
    value = float(value)  # the clock may count in exact Fractions; a label does not need them
    if value < 60:
        return f"{value:g} s"
    if value < 3600:
        return f"{value / 60:.4g} min"
    if value < 86400:
        return f"{value / 3600:.4g} h"
    return f"{value / 86400:.4g} d"


# Tick steps that read well in seconds, minutes, hours and days.
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _ticks(span: float) -> list[float]:
    if span <= 0:
        return [0.0]
    raw = span / 6
    if raw < 1:
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    else:
        step = next((float(s) for s in _STEPS if s >= raw), 86400.0 * math.ceil(raw / 86400))
    count = int(span // step)
    return [i * step for i in range(count + 1)]


def summary(records: Sequence[HistoryRecord]) -> str:
    """One line per job: ``name {GUID}: SUSPENDED@0 s → QUEUED@0 s → …``, plus its requests."""
    rows, t0, _t1, _n = _rows(records)
    if not rows:
        return "(no job in the history)"
    lines = [f"t0 = {to_datetime(float(t0)).isoformat()}"]
    for row in rows:
        states = " -> ".join(f"{s.state.name}@{_seconds(s.start - t0)}" for s in row.segments)
        lines.append(f"{row.name!r} {{{str(row.job_id).upper()}}}: {states}")
        for at, _i, req in row.requests:
            lines.append(f"    +{_seconds(at - t0)} {req.method} {req.url} -> {req.result}")
        for at, _i, cb in row.callbacks:
            lines.append(f"    +{_seconds(at - t0)} {cb.method} {'delivered' if cb.succeeded else 'failed'}")
    return "\n".join(lines)


def render(
    records: Sequence[HistoryRecord], path: str | os.PathLike[str], *, title: str = "bits-emulator timeline"
) -> Path:
    """Write the timeline of ``records`` as an SVG file at ``path`` and return the path."""
    import drawsvg as draw

    rows, t0, t1, steps = _rows(records)
    span = float(t1 - t0)
    step = min(12.0, 480.0 / steps) if steps else 0.0
    scale = (PLOT_WIDTH - step * steps) / span if span > 0 else 0.0

    def x_of(t: float, index: int) -> float:
        return LABEL_WIDTH + float(t - t0) * scale + index * step

    # The step offset at a tick: the number of events strictly before it.
    event_times = sorted(r.at for r in records)

    def x_tick(t: float) -> float:
        return x_of(t, bisect.bisect_left(event_times, t))

    states_seen: list[JobState] = []
    height = TOP + ROW_HEIGHT * max(1, len(rows)) + 88
    width = LABEL_WIDTH + PLOT_WIDTH + 40
    d = draw.Drawing(width, height, font_family="sans-serif", font_size=FONT)
    d.append(draw.Rectangle(0, 0, width, height, fill="white"))
    d.append(draw.Text(title, 14, 10, 20, font_weight="bold"))
    d.append(draw.Text(f"virtual time from {to_datetime(float(t0)).isoformat()} (seconds since then)", FONT, 10, 38))
    if not rows:
        d.append(draw.Text("no job in the history", FONT, LABEL_WIDTH, TOP + 20))

    axis_y = TOP + ROW_HEIGHT * max(1, len(rows)) + 4
    d.append(draw.Line(LABEL_WIDTH, axis_y, LABEL_WIDTH + PLOT_WIDTH, axis_y, stroke="#444"))
    for tick in _ticks(span):
        x = x_tick(t0 + tick)
        d.append(draw.Line(x, TOP - 4, x, axis_y + 4, stroke="#e5e5e5"))
        d.append(draw.Text(_seconds(tick), FONT - 1, x, axis_y + 16, text_anchor="middle", fill="#444"))

    for n, row in enumerate(rows):
        y = TOP + n * ROW_HEIGHT
        label = draw.Text(row.name or "(unnamed)", FONT, 10, y + BAR_HEIGHT / 2 + 1)
        label.append_title(f"{row.name} {{{str(row.job_id).upper()}}}")
        d.append(label)
        d.append(draw.Text(f"{{{str(row.job_id).upper()[:8]}…}}", FONT - 2, 10, y + BAR_HEIGHT + 9, fill="#777"))
        for seg in row.segments:
            if seg.state not in states_seen:
                states_seen.append(seg.state)
            x0 = x_of(seg.start, seg.start_index)
            x1 = max(x_of(seg.end, seg.end_index), x0 + (6 if seg.state in FINAL else 2))
            bar = draw.Rectangle(x0, y, x1 - x0, BAR_HEIGHT, fill=COLOURS[seg.state], stroke="white", stroke_width=0.5)
            bar.append_title(
                f"{row.name}: {seg.state.name} from +{_seconds(seg.start - t0)} to +{_seconds(seg.end - t0)}"
                f" ({_seconds(seg.end - seg.start)})"
            )
            d.append(bar)
            if (x1 - x0) > CHAR_WIDTH * len(seg.state.name) + 6:
                dark = seg.state in (JobState.TRANSFERRING, JobState.ERROR, JobState.ACKNOWLEDGED, JobState.CANCELLED)
                d.append(
                    draw.Text(
                        seg.state.name,
                        FONT - 1,
                        (x0 + x1) / 2,
                        y + BAR_HEIGHT / 2 + 4,
                        text_anchor="middle",
                        fill="white" if dark else "#111",
                    )
                )
        for at, index, req in row.requests:
            x = x_of(at, index)
            tick = draw.Line(x, y - 3, x, y + BAR_HEIGHT + 3, stroke="#1a9641" if req.hresult == 0 else "#d7191c")
            tick.append_title(f"+{_seconds(at - t0)} {req.method} {req.url} bytes={req.offset}- -> {req.result}")
            d.append(tick)
        for at, index, cb in row.callbacks:
            dot = draw.Circle(x_of(at, index), y + BAR_HEIGHT + 5, 3, fill="#756bb1" if cb.succeeded else "#d7191c")
            dot.append_title(f"+{_seconds(at - t0)} {cb.method} {'delivered' if cb.succeeded else 'failed'}")
            d.append(dot)

    legend_y = axis_y + 34
    x = LABEL_WIDTH
    for state in states_seen:
        item = 16 + CHAR_WIDTH * len(state.name) + 14
        if x + item > width:
            x, legend_y = LABEL_WIDTH, legend_y + 18
        d.append(draw.Rectangle(x, legend_y - 10, 12, 12, fill=COLOURS[state]))
        d.append(draw.Text(state.name, FONT - 1, x + 16, legend_y))
        x += item
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    d.save_svg(str(target))
    return target


def command(history: str, output: str | None, text: bool) -> int:
    """``bits-emulator timeline HISTORY.json [-o OUT.svg] [--text]`` (history saved by ``svc.history.save``)."""
    import sys

    from .history import load

    try:
        records = load(history)
    except (OSError, ValueError) as exc:
        print(f"bits-emulator timeline: {exc}", file=sys.stderr)
        return 2
    if text:
        print(summary(records))
    target = Path(output) if output else Path(history).with_suffix(".svg")
    render(records, target, title=f"bits-emulator timeline of {Path(history).name}")
    print(target)
    return 0
