"""The registry of emulated COM methods: which interface each belongs to and what it implements.

``@com_method`` records a method and wraps it for call logging (``emulator.logs.traced``: one extra
frame and one ``isEnabledFor`` test while logging is off). The coverage document (COVERAGE.md) is
generated from this registry, so what it claims is what the code declares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..constants import AnyInterface

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True, slots=True)
class MethodEntry:
    interface: AnyInterface
    com_name: str
    python_name: str
    notes: str


REGISTRY: list[MethodEntry] = []


def com_method(interface: AnyInterface, com_name: str, notes: str = "") -> Callable[[F], F]:
    def register(func: F) -> F:
        from ..logs import traced

        entry = MethodEntry(interface, com_name, func.__name__, notes)
        REGISTRY.append(entry)
        return traced(func, entry)

    return register
