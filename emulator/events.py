"""The in-process event bus: logon, logoff, service start/stop and job events.

Delivery is synchronous, on the publisher's thread, in subscription order, so tests observe a fixed
order. Subscribers of a type also receive its subclasses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .constants import JobState, JobType


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
class JobCreated(Event):
    """CreateJob succeeded: the job exists, SUSPENDED, with this display name."""

    job_id: uuid.UUID
    display_name: str
    job_type: JobType
    owner_sid: str


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


@dataclass(frozen=True, slots=True)
class RequestMade(Event):
    """A job connected to a remote server (one HTTP request and its answer; see ``emulator.history``)."""

    job_id: uuid.UUID
    url: str
    offset: int  # first byte asked for (a Range request when not 0)
    length: int | None  # bytes asked for; None: to the end of the file
    headers: tuple[tuple[str, str], ...]  # the job's custom request headers
    status: int | None  # the server's HTTP status; None when no answer came (name not resolved, TLS…)
    hresult: int  # S_OK (0) when the transfer started, else the error the job got
    registered: bool  # the URL's host is on the fake network (or a loopback server)


@dataclass(frozen=True, slots=True)
class CallbackCalled(Event):
    """A notification was delivered to the job's IBackgroundCopyCallback (or failed and will be retried)."""

    job_id: uuid.UUID
    method: str  # JobTransferred, JobError, JobModification or FileTransferred
    succeeded: bool


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
