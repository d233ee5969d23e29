"""Which API methods a scenario step may call, on which object, and how TOML arguments become Python ones.

The callable methods are the emulated COM methods of the registry (``@com_method``), so a scenario can
call exactly what the native API offers, plus ``query_interface``. Arguments arrive as TOML values:
enumeration parameters take member names (``"DOWNLOAD"``, ``"LOCAL_FILE|NETWORK"``), ``bytes``
parameters take hex text, everything else is passed as given.
"""

from __future__ import annotations

import enum
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .. import constants

Target = Literal["manager", "job", "token_options", "file"]

# Methods that return a success HRESULT (S_OK, S_FALSE, BG_S_…) rather than a value (README "The API").
HRESULT_RETURNING = frozenset({"cancel", "complete", "remove_credentials", "remove_client_certificate"})
# Parameters that take a Python object no TOML value can express.
UNCALLABLE = frozenset({"set_notify_interface", "set_server_certificate_validation_interface"})
# Parameters typed int whose values are flags of a known enumeration.
FLAG_PARAMETERS: dict[tuple[str, str], type[enum.IntFlag]] = {
    ("set_helper_token_flags", "flags"): constants.TokenFlags,
    ("set_security_flags", "flags"): constants.SecurityFlags,
}
_ENUMS: dict[str, type[enum.Enum]] = {
    name: value
    for name, value in vars(constants).items()
    if isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == constants.__name__
}


@dataclass(frozen=True, slots=True)
class CallInfo:
    name: str
    target: Target
    function: Callable[..., Any]

    @property
    def parameters(self) -> list[inspect.Parameter]:
        return list(inspect.signature(self.function).parameters.values())[1:]  # without self


@functools.cache
def calls() -> dict[tuple[str, Target], CallInfo]:
    from ..com.file import File
    from ..com.job import Job
    from ..com.manager import Manager
    from ..com.registry import REGISTRY
    from ..com.token_options import TokenOptions

    classes: dict[Target, type] = {"manager": Manager, "job": Job, "token_options": TokenOptions, "file": File}
    table: dict[tuple[str, Target], CallInfo] = {}
    for entry in REGISTRY:
        iface = entry.interface.name
        target: Target
        if iface == "IBackgroundCopyManager":
            target = "manager"
        elif iface == "IBitsTokenOptions":
            target = "token_options"
        elif iface.startswith("IBackgroundCopyFile"):
            target = "file"
        elif iface.startswith("IBackgroundCopyJob"):
            target = "job"
        else:
            continue  # enumerators and error objects are reached through their results
        if entry.python_name in UNCALLABLE:
            continue
        function = getattr(classes[target], entry.python_name)
        table[(entry.python_name, target)] = CallInfo(entry.python_name, target, function)
    table[("query_interface", "job")] = CallInfo("query_interface", "job", Job.query_interface)
    return table


def resolve(name: str, *, file: bool) -> CallInfo | None:
    """The method a step names: on a file when the step gives ``file``, else on the job, the token
    options or the manager."""
    table = calls()
    if file:
        return table.get((name, "file"))
    targets: tuple[Target, ...] = ("job", "token_options", "manager")
    for target in targets:
        info = table.get((name, target))
        if info is not None:
            return info
    return None


def callable_names() -> list[str]:
    return sorted({name for name, _ in calls()})


def _enum_for(info: CallInfo, param: inspect.Parameter) -> type[enum.Enum] | None:
    flag = FLAG_PARAMETERS.get((info.name, param.name))
    if flag is not None:
        return flag
    annotation = param.annotation if isinstance(param.annotation, str) else getattr(param.annotation, "__name__", "")
    for word in re.findall(r"[A-Za-z_]\w*", annotation):
        if word in _ENUMS:
            return _ENUMS[word]
    return None


def convert(info: CallInfo, param: inspect.Parameter, value: Any) -> Any:
    """A TOML value as the argument the method takes; ValueError says what was expected.

    TOML has no null: the table ``{ null = true }`` passes NULL (None)."""
    if isinstance(value, dict):
        if value == {"null": True}:
            return None
        raise ValueError(f"{param.name}: a table argument must be {{ null = true }} (NULL)")
    kind = _enum_for(info, param)
    if kind is not None and isinstance(value, str):
        if issubclass(kind, enum.IntFlag):
            result = 0
            for part in (p.strip() for p in value.split("|")):
                if part not in kind.__members__:
                    raise ValueError(f"unknown {kind.__name__} flag {part!r}; expected {'|'.join(kind.__members__)}")
                result |= kind[part].value
            return kind(result)
        if value not in kind.__members__:
            raise ValueError(f"unknown {kind.__name__} {value!r}; expected one of {', '.join(kind.__members__)}")
        return kind[value]
    annotation = str(param.annotation)
    if isinstance(value, str) and re.search(r"\bbytes\b", annotation) and "str" not in annotation:
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"{param.name} takes bytes written as hex text, e.g. '0a1b2c'") from None
    return value


def bind(info: CallInfo, args: dict[str, Any] | list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for the call; ValueError for an unknown or missing argument."""
    params = info.parameters
    names = [p.name for p in params]
    if isinstance(args, list):
        if len(args) > len(params):
            raise ValueError(f"{info.name}({', '.join(names)}) takes {len(params)} argument(s), not {len(args)}")
        positional = [convert(info, p, v) for p, v in zip(params, args, strict=False)]
        given = set(names[: len(args)])
        keywords: dict[str, Any] = {}
    else:
        unknown = [k for k in args if k not in names]
        if unknown:
            raise ValueError(f"unknown argument {unknown[0]!r} for {info.name}({', '.join(names)})")
        positional = []
        keywords = {p.name: convert(info, p, args[p.name]) for p in params if p.name in args}
        given = set(args)
    missing = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in given]
    if missing:
        raise ValueError(f"{info.name}({', '.join(names)}) needs {', '.join(missing)}")
    return positional, keywords
