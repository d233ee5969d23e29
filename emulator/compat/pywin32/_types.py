"""The value types pywin32 hands to Python code: PyIID, com_error, pywintypes.error, pywintypes.datetime,
PyHANDLE, and the argument conversions of ``PyArg_ParseTuple`` as pywin32 312 uses them.

Behaviour is pywin32 312's as Python code sees it (docs/pywin32.md); nothing here is copied from it.
"""

from __future__ import annotations

import datetime as _dt
import operator
import uuid
from typing import Any

from ...hresults import BitsError

# --- errors ---------------------------------------------------------------------------------------


class com_error(Exception):
    """pythoncom.com_error: ``args == (hresult, strerror, excepinfo, argerror)``, hresult signed."""

    @property
    def hresult(self) -> Any:
        return self.args[0] if self.args else None

    @property
    def strerror(self) -> Any:
        return self.args[1] if len(self.args) > 1 else None

    @property
    def excepinfo(self) -> Any:
        return self.args[2] if len(self.args) > 2 else None

    @property
    def argerror(self) -> Any:
        return self.args[3] if len(self.args) > 3 else None


com_error.__module__ = "pywintypes"


class error(Exception):
    """pywintypes.error (win32api.error): ``args == (winerror, funcname, strerror)``."""

    @property
    def winerror(self) -> Any:
        return self.args[0] if self.args else None

    @property
    def funcname(self) -> Any:
        return self.args[1] if len(self.args) > 1 else None

    @property
    def strerror(self) -> Any:
        return self.args[2] if len(self.args) > 2 else None


error.__module__ = "pywintypes"

# FormatMessage(FORMAT_MESSAGE_FROM_SYSTEM) texts of the HRESULTs a BITS client meets. BITS' own codes
# (0x8020xxxx, 0x8019xxxx) and WinHTTP's live in other modules' message tables, so the system lookup
# fails for them and pywin32 falls back to "OLE error 0x%08x" (lower-case hex).
SYSTEM_MESSAGES: dict[int, str] = {
    0x80004001: "Not implemented",
    0x80004002: "No such interface supported",
    0x80004003: "Invalid pointer",
    0x80004005: "Unspecified error",
    0x8000FFFF: "Catastrophic failure",
    0x80070002: "The system cannot find the file specified.",
    0x80070003: "The system cannot find the path specified.",
    0x80070005: "Access is denied.",
    0x8007000E: "Not enough memory resources are available to complete this operation.",
    0x80070057: "The parameter is incorrect.",
    0x80070717: "The specified resource language ID cannot be found in the image file.",
    0x800706BA: "The RPC server is unavailable.",  # a pointer into a closed service (docs/pywin32.md)
    0x80040110: "Class does not support aggregation (or class object is remote)",
    0x80040154: "Class not registered",
    0x800401F0: "CoInitialize has not been called.",
    0x800401F3: "Invalid class string",
    0x80010119: "Security must be initialized before any interfaces are marshalled or unmarshalled. "
    "It cannot be changed once initialized.",
    0x8001010E: "The application called an interface that was marshalled for a different thread.",
}


def signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def signed64(value: int) -> int:
    """pywin32 builds 64-bit byte counts with PyLong_FromLongLong: BG_SIZE_UNKNOWN comes out as -1."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value & (1 << 63) else value


def scode_string(hresult: int) -> str:
    unsigned = hresult & 0xFFFFFFFF
    text = SYSTEM_MESSAGES.get(unsigned)
    return text if text is not None else f"OLE error 0x{unsigned:08x}"


def make_com_error(hresult: int) -> com_error:
    return com_error(signed32(hresult), scode_string(hresult), None, None)


def from_bits_error(exc: BitsError) -> com_error:
    return make_com_error(exc.hresult)


# --- GUIDs ----------------------------------------------------------------------------------------


class PyIID:
    """pywintypes.IID: hashable, ``str()`` is ``{XXXXXXXX-…}`` upper case, ``repr`` ``IID('{…}')``,
    equal only to another PyIID."""

    __slots__ = ("_uuid",)

    def __init__(self, value: Any, is_bytes: Any = False) -> None:
        if isinstance(value, PyIID):
            self._uuid: uuid.UUID = value._uuid
            return
        if isinstance(value, uuid.UUID):
            self._uuid = value
            return
        if isinstance(value, (bytes, bytearray)) and is_bytes:
            if len(value) != 16:
                raise ValueError("Bytes must be 16 bytes long")
            self._uuid = uuid.UUID(bytes_le=bytes(value))
            return
        if not isinstance(value, str):
            raise TypeError(f"Objects of type '{type(value).__name__}' can not be converted to Unicode.")
        self._uuid = parse_guid_string(value)

    @property
    def uuid(self) -> uuid.UUID:
        return self._uuid

    def __str__(self) -> str:
        return "{" + str(self._uuid).upper() + "}"

    def __repr__(self) -> str:
        return f"IID('{self}')"

    def __hash__(self) -> int:
        return hash(self._uuid)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PyIID) and other._uuid == self._uuid

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


PyIID.__name__ = PyIID.__qualname__ = "PyIID"


def parse_guid_string(text: str) -> uuid.UUID:
    """CLSIDFromString: only the braced form is a GUID; anything else is looked up as a ProgID, which
    BITS does not register, so it fails with CO_E_CLASSSTRING."""
    stripped = text.strip()
    if len(stripped) == 38 and stripped[0] == "{" and stripped[-1] == "}":
        try:
            return uuid.UUID(stripped[1:-1])
        except ValueError:
            pass
    raise make_com_error(0x800401F3)


def as_iid(value: Any) -> uuid.UUID:
    """PyWinObject_AsIID: a PyIID or a GUID string."""
    if isinstance(value, PyIID):
        return value.uuid
    if isinstance(value, str):
        return parse_guid_string(value)
    raise TypeError("Only strings and iids can be converted to a CLSID.")


# --- times ----------------------------------------------------------------------------------------


class datetime(_dt.datetime):
    """pywintypes.datetime: a UTC-aware datetime with millisecond precision (a SYSTEMTIME)."""

    def Format(self, fmt: str = "%c") -> str:
        return self.strftime(fmt)


datetime.__module__ = "pywintypes"


def from_native_time(value: _dt.datetime | None) -> datetime | None:
    """A FILETIME as pywin32 returns it: None for zero, else UTC, truncated to milliseconds."""
    if value is None:
        return None
    utc = value.astimezone(_dt.UTC)
    return datetime(
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond // 1000 * 1000,
        tzinfo=_dt.UTC,
    )


# --- handles --------------------------------------------------------------------------------------


class PyHANDLE:
    """A Win32 handle: an int-like object with ``Close()``."""

    __slots__ = ("_value", "closed")
    _next = 0x100

    def __init__(self, value: int | None = None) -> None:
        if value is None:
            PyHANDLE._next += 4
            value = PyHANDLE._next
        self._value = value
        self.closed = False

    @property
    def handle(self) -> int:
        return self._value

    def Close(self) -> None:
        self.closed = True

    def Detach(self) -> int:
        return self._value

    def __int__(self) -> int:
        return self._value

    def __index__(self) -> int:
        return self._value

    def __bool__(self) -> bool:
        return self._value != 0

    def __repr__(self) -> str:
        return f"<PyHANDLE:{self._value}>"


PyHANDLE.__module__ = "pywintypes"

# --- PyArg_ParseTuple -----------------------------------------------------------------------------


def parse(fname: str, fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any], owner: str = "") -> list[Any]:
    """Convert positional arguments as ``PyArg_ParseTuple(args, "<fmt>:<fname>")`` does on Windows.

    ``fmt`` letters: ``O`` any object, ``l`` C long (32-bit signed on Windows), ``i`` C int, ``k``
    unsigned long (masked), ``|`` starts the optional ones. Methods are METH_VARARGS: no keywords.
    """
    if kwargs:
        qual = f"{owner}.{fname}" if owner else fname
        raise TypeError(f"{qual}() takes no keyword arguments")
    required, _, optional = fmt.partition("|")
    lo, hi = len(required), len(required) + len(optional)
    n = len(args)
    # CPython's PyArg_ParseTuple has one message for every count mismatch, a format without arguments
    # included: ":GetState" given 1 gives "GetState() takes exactly 0 arguments (1 given)".
    if n < lo or n > hi:
        how = "exactly" if lo == hi else ("at least" if n < lo else "at most")
        count = lo if n < lo else hi
        raise TypeError(f"{fname}() takes {how} {count} argument{'' if count == 1 else 's'} ({n} given)")
    out: list[Any] = []
    for code, value in zip(required + optional, args, strict=False):
        if code == "O":
            out.append(value)
        elif code in ("l", "i"):
            number = operator.index(value)
            if not -(1 << 31) <= number < (1 << 31):
                if code == "l":
                    raise OverflowError("Python int too large to convert to C long")
                side = "greater than maximum" if number > 0 else "less than minimum"
                raise OverflowError(f"signed integer is {side}")
            out.append(number)
        elif code == "k":
            out.append(operator.index(value) & 0xFFFFFFFF)
        else:  # pragma: no cover - a typo in a format string of this module
            raise AssertionError(code)
    return out


def as_text(value: Any, none_ok: bool = False) -> str | None:
    """PyWinObject_AsBstr / AsWCHAR: str only (not bytes, not PathLike); None only where allowed."""
    if isinstance(value, str):
        return value
    if value is None:
        if none_ok:
            return None
        raise TypeError("None is not a valid string in this context")
    raise TypeError(f"Objects of type '{type(value).__name__}' can not be converted to Unicode.")


def required_text(value: Any) -> str:
    text = as_text(value)
    assert text is not None
    return text
