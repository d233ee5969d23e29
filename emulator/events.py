"""The in-process event bus: logon, logoff, service start/stop and job events.

Delivery is synchronous, on the publisher's thread, in subscription order, so tests observe a fixed
order. Subscribers of a type also receive its subclasses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .constants import JobState


@dataclass(frozen=True, slots=True)
class Event:
    at: float


@dataclass(frozen=True, slots=True)
class ServiceStarted(Event):
    profile: str


@dataclass(frozen=True, slots=True)
class ServiceStopping(Event):
    pass


@dataclass(frozen=True, slots=True)
class Logon(Event):
    session_id: int
    user_sid: str


@dataclass(frozen=True, slots=True)
class Logoff(Event):
    session_id: int
    user_sid: str


@dataclass(frozen=True, slots=True)
class JobStateChanged(Event):
    job_id: uuid.UUID
    old: JobState
    new: JobState


@dataclass(frozen=True, slots=True)
class NotifyCommandLine(Event):
    """A command-line notification BITS would run (SetNotifyCmdLine); recorded, run only on opt-in."""

    job_id: uuid.UUID
    program: str
    parameters: str | None
    reason: str


E = TypeVar("E", bound=Event)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[type[Event], Callable[[Any], None]]] = []

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        entry: tuple[type[Event], Callable[[Any], None]] = (kind, handler)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for kind, handler in list(self._subscribers):
            if isinstance(event, kind):
                handler(event)
