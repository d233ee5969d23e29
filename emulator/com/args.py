"""Argument checks at the API edge: wrong Python types raise TypeError before anything is touched."""

from __future__ import annotations

import uuid
from typing import Final

from .. import hresults
from ..hresults import BitsError

ULONG_MAX: Final = 0xFFFFFFFF


def integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return int(value)


def ulong(value: object, name: str) -> int:
    """A DWORD/ULONG argument: values outside 0..2**32-1 cannot be marshalled (as pywin32 refuses them)."""
    v = integer(value, name)
    if not 0 <= v <= ULONG_MAX:
        raise OverflowError(f"{name}={v} does not fit a 32-bit unsigned integer")
    return v


def hresult(value: object, name: str = "hresult") -> int:
    """An HRESULT argument, signed (as pywin32 passes it) or unsigned; returned unsigned. Values that fit
    neither 32-bit form cannot be marshalled: OverflowError, like ``ulong``."""
    v = integer(value, name)
    if not -(1 << 31) <= v <= ULONG_MAX:
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
