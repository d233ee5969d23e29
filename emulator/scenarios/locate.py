"""Find the line of a TOML file that a validation error's field path points at.

``tomllib`` keeps no positions, so this reads the text again: table headers (``[a.b]``, ``[[step]]``)
give regions, and ``key = value`` lines inside a region give keys (dotted keys included). The answer is
the line of the deepest key found, or the header of the table that lacks the field. Best effort: a
path it cannot follow gives the nearest enclosing header, or None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SEGMENT = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_SEGMENT}(?:\s*\.\s*{_SEGMENT})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART = re.compile(_SEGMENT)


def _keys(dotted: str) -> tuple[str, ...]:
    parts = []
    for m in _PART.finditer(dotted):
        text = m.group(0)
        if text[0] in "\"'":
            text = text[1:-1]
        parts.append(text)
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class _Header:
    line: int  # 1-based
    path: tuple[str | int, ...]  # with array indices


def _headers(lines: Sequence[str]) -> list[_Header]:
    found: list[_Header] = []
    counts: dict[tuple[str, ...], int] = {}
    for number, text in enumerate(lines, start=1):
        m = _HEADER.match(text)
        if not m:
            continue
        keys = _keys(m.group(2))
        is_array = m.group(1) == "[["
        # Insert the current index of every enclosing array of tables ([[step]] then [step.on.x]).
        path: list[str | int] = []
        for i in range(1, len(keys) + 1):
            path.append(keys[i - 1])
            prefix = keys[:i]
            if i < len(keys) and prefix in counts:
                path.append(counts[prefix] - 1)
        if is_array:
            counts[keys] = counts.get(keys, 0) + 1
            path.append(counts[keys] - 1)
        found.append(_Header(number, tuple(path)))
    return found


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """The 1-based line for a field path like ``("step", 3, "expect")``, or None."""
    lines = text.splitlines()
    loc = tuple(loc)
    headers = _headers(lines)
    best: _Header | None = None
    for h in headers:
        if loc[: len(h.path)] == h.path and (best is None or len(h.path) > len(best.path)):
            best = h
    start = best.line if best is not None else 0
    rest = loc[len(best.path) :] if best is not None else loc
    end = len(lines)
    for h in headers:
        if h.line > start:
            end = h.line - 1
            break
    if not rest:
        return best.line if best is not None else None
    found: int | None = None
    depth = 0
    for number in range(start + 1, end + 1):
        m = _KEY.match(lines[number - 1])
        if not m:
            continue
        keys = _keys(m.group(1))
        n = 0
        while n < len(keys) and n < len(rest) and keys[n] == rest[n]:
            n += 1
        if n == len(keys) and n > depth:
            found, depth = number, n
    if found is not None:
        return found
    return best.line if best is not None else None
