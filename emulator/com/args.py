"""Argument checks at the API edge: wrong Python types raise TypeError before anything is touched.

The one rule for 32-bit arguments (README "Errors"): a value that does not fit the C type of the parameter
— 0..2**32-1 for DWORD/ULONG/LANGID/flags, -2**31..2**31-1 for enumerations, either form for an HRESULT —
raises OverflowError before any work, as pywin32's marshalling does; a value that fits but that Windows
rejects gets Windows' HRESULT. Strings are never refused for their characters (domain/wstr.py).
"""

from __future__ import annotations

import math
import numbers
import uuid
from collections.abc import Iterable
from typing import Final

from .. import hresults
from ..hresults import BitsError

ULONG_MAX: Final = 0xFFFFFFFF


LONG_MIN: Final = -(1 << 31)
LONG_MAX: Final = (1 << 31) - 1


def _int(value: object, name: str) -> int:
    if type(value) is int:  # the usual case, decided without the two isinstance calls below
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return int(value)


def integer(value: object, name: str) -> int:
    """An enumeration argument (a C ``enum``, a signed 32-bit int): values outside -2**31..2**31-1
    cannot be marshalled → OverflowError, the rule of every 32-bit argument (README "Errors")."""
    v = value if type(value) is int else _int(value, name)  # (as ulong: no call for a plain int)
    if not LONG_MIN <= v <= LONG_MAX:
        raise OverflowError(f"{name}={v} does not fit a 32-bit enumeration")
    return v


def ulong(value: object, name: str) -> int:
    """A DWORD/ULONG argument: values outside 0..2**32-1 cannot be marshalled (as pywin32 refuses them)."""
    v = value if type(value) is int else _int(value, name)
    if not 0 <= v <= ULONG_MAX:
        raise OverflowError(f"{name}={v} does not fit a 32-bit unsigned integer")
    return v


def uint64(value: object, name: str) -> int:
    """A UINT64 argument (BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE, file offsets): 0..2**64-1, else OverflowError."""
    v = _int(value, name)
    if not 0 <= v < 1 << 64:
        raise OverflowError(f"{name}={v} does not fit a 64-bit unsigned integer")
    return v


def seconds(value: object, name: str = "seconds") -> float:
    """A duration for the control plane (``advance``, ``run_until_idle``): a finite, non-negative real.
    TypeError for what is not a number, ValueError for NaN, infinities and negative values."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # The message names the types a ManualClock steps by exactly (clock.exact): a Decimal is no
        # numbers.Real and a bool no duration, so a user who passed one learns what to pass instead.
        raise TypeError(
            f"{name} must be a number of seconds (an int, a float or a fractions.Fraction), not {type(value).__name__}"
        )
    try:
        v = float(value)
    except OverflowError:  # an int or Fraction beyond any float
        v = math.inf
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}={value!r} is not a finite, non-negative number of seconds")
    return v


def hresult(value: object, name: str = "hresult") -> int:
    """An HRESULT argument, signed (as pywin32 passes it) or unsigned; returned unsigned. Values that fit
    neither 32-bit form cannot be marshalled: OverflowError, like ``ulong``."""
    v = _int(value, name)
    if not LONG_MIN <= v <= ULONG_MAX:
        raise OverflowError(f"{name}={v} does not fit a 32-bit HRESULT")
    return v & ULONG_MAX


def text(value: object, name: str) -> str | None:
    """An LPCWSTR: a str or None (NULL). Embedded NULs would truncate the string in COM; refuse them."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    if "\x00" in value:
        raise BitsError(hresults.E_INVALIDARG, f"{name} contains a NUL character")
    return value


def required_text(value: object, name: str) -> str:
    """A string that must not be NULL: None gives E_INVALIDARG as Windows does for a NULL pointer."""
    v = text(value, name)
    if v is None:
        raise BitsError(hresults.E_INVALIDARG, f"{name} must not be NULL")
    return v


def guid(value: object, name: str = "job_id") -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip().strip("{}"))
        except ValueError:
            raise BitsError(hresults.E_INVALIDARG, f"{name} {value!r} is not a GUID") from None
    raise TypeError(f"{name} must be a uuid.UUID or GUID string, not {type(value).__name__}")


def struct_pairs(values: object, name: str, model: type, fields: tuple[str, str]) -> list[tuple[object, object]]:
    """A C array of two-field structures (BG_FILE_INFO, BG_FILE_RANGE): instances of the pydantic
    ``model`` or plain 2-tuples, as (first, second) pairs whose members the caller converts."""
    shape = f"{model.__name__} or ({fields[0]}, {fields[1]}) tuples"
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be an iterable of {shape}")
    out: list[tuple[object, object]] = []
    for item in values:
        if isinstance(item, model):
            out.append((getattr(item, fields[0]), getattr(item, fields[1])))
        elif isinstance(item, tuple) and len(item) == 2:
            out.append((item[0], item[1]))
        else:
            raise TypeError(f"each of {name} must be a {shape[:-1]}")
    return out
