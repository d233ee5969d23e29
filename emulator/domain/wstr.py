"""The one rule for strings: a Windows string is a sequence of UTF-16 code units, and every one of them
round-trips (issue 11; https://learn.microsoft.com/en-us/windows/win32/intl/surrogates-and-supplementary-characters).

A Python ``str`` holds any sequence of code points, so a lone surrogate (``"\\ud800"``) — legal in a
Windows string, a display name or a file name alike — reaches the emulator as it is. It is never
refused and never raises ``UnicodeEncodeError``; each place a string leaves Python encodes it the
lossless way:

* the store: text without lone surrogates is stored as SQLite TEXT (UTF-8), as before; text with one is
  stored as a BLOB of its UTF-16-LE code units, so the two can never be confused (a BLOB in a TEXT
  column keeps its type) and reading gives the same ``str`` back. JSON columns escape surrogates as
  ``\\udXXX`` and round-trip the same way;
* file names: the generalised UTF-8 bytes of the name (``encode("utf-8", "surrogatepass")``), see
  ``transfer/localfs.py``;
* HTTP headers and credentials sent to a loopback server: the same bytes.

Lengths are counted in UTF-16 code units (``domain/limits.py``), as Windows' limits are.
"""

from __future__ import annotations

from typing import Any


def storable(value: str) -> str | bytes:
    """What the store keeps for ``value``: the str itself, or UTF-16-LE bytes when UTF-8 cannot hold it."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16-le", "surrogatepass")
    return value


def from_store(value: Any) -> Any:
    """The str a stored value stands for (BLOBs are UTF-16-LE text); anything else unchanged."""
    if isinstance(value, bytes):
        return value.decode("utf-16-le", "surrogatepass")
    return value


def wire(value: str) -> bytes:
    """The bytes a string becomes on the wire or on disk: generalised UTF-8 (lone surrogates kept)."""
    return value.encode("utf-8", "surrogatepass")
