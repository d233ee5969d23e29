"""The span arithmetic behind ranges (emulator/transfer/ranges.py), checked against brute force.

Facts: the overlap rule of
https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-addfilewithranges
("The ranges are sorted by the offset of the value, not the length. If ranges are entered that have the same
offset, but are in reverse order, then this error will be returned"); the plan layout is an emulator design.
"""

from __future__ import annotations

import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from emulator import BitsError
from emulator.constants import JobType
from emulator.domain.records import FileRecord, JobRecord
from emulator.transfer import ranges

spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=8)


def _bytes(items: list[tuple[int, int]]) -> set[int]:
    return {b for off, n in items for b in range(off, off + n)}


@given(spans)
def test_merge_keeps_the_same_bytes_sorted_and_apart(items: list[tuple[int, int]]) -> None:
    merged = ranges.merge(items)
    assert _bytes(merged) == _bytes(items)
    assert all(a[0] + a[1] < b[0] for a, b in itertools.pairwise(merged))


@given(spans, spans)
def test_subtract_is_the_set_difference(items: list[tuple[int, int]], covered: list[tuple[int, int]]) -> None:
    out = ranges.subtract(items, ranges.merge(covered))
    assert _bytes(out) == _bytes(items) - _bytes(covered)


@given(spans)
def test_overlap_rule_matches_a_stable_sort_by_offset(items: list[tuple[int, int]]) -> None:
    """Refused exactly when, after a stable sort by offset, a range reaches into the next or repeats it."""
    ordered = sorted(items, key=lambda r: r[0])
    clash = any(a == b or a[0] + a[1] > b[0] for a, b in itertools.pairwise(ordered))
    try:
        ranges.check_added_ranges(items, limit=None)
    except BitsError as exc:
        assert exc.hresult in (0x8020002C, 0x80070057)  # BG_E_OVERLAPPING_RANGES; E_INVALIDARG for none
        assert clash or not items
    else:
        assert items and not clash


def test_the_pages_example_of_reverse_order() -> None:
    for items, refused in [([(100, 5), (100, 0)], True), ([(100, 0), (100, 5)], False)]:
        try:
            ranges.check_added_ranges(items, limit=None)
        except BitsError as exc:
            assert refused and exc.hresult == 0x8020002C
        else:
            assert not refused


@given(st.integers(1, 300), spans, st.integers(0, 300), st.integers(0, 400))
def test_a_plan_covers_the_file_once_and_starts_with_what_is_filled(
    size: int, requested: list[tuple[int, int]], position: int, filled: int
) -> None:
    """The plan of an on-demand file: filled spans first, then requested, then the rest; every byte once."""
    requested = [(o, n) for o, n in requested if n and o + n <= size]
    rec = JobRecord(
        id=uuid.uuid4(),
        seq=1,
        job_type=JobType.DOWNLOAD,
        display_name="",
        owner_sid="S-1-5-18",
        owner_name="",
        owner_elevated=False,
        owner_integrity=0,
        created_at=0.0,
        modified_at=0.0,
    )
    f = FileRecord(1, rec.id, 0, "http://h/f", "/x", bytes_transferred=min(filled, size))
    rec.properties[ranges.ON_DEMAND_KEY] = {"0": {"requested": [list(r) for r in requested], "position": position}}
    plan, stop, state = ranges.on_demand_plan(rec, f, size)
    covered = [b for off, n in plan for b in range(off, off + n)]
    assert sorted(covered) == list(range(size))
    assert _bytes(ranges.prefix(plan, f.bytes_transferred)) == set(range(f.bytes_transferred))
    assert stop is None  # not an ON_DEMAND_MODE job: the rest of the file follows
    head = ranges.prefix(plan, f.bytes_transferred + sum(n for _, n in state["requested"]))
    assert _bytes(requested) <= _bytes(head)
