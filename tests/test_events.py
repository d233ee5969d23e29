"""The bus's event classes and svc.history's records: built by the quick ``__init__`` (emulator/events.py
``quick_init``), they keep the frozen dataclass's fields, defaults, equality, hash, repr and immutability
(emulator choice)."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import uuid

import pytest

from emulator import events, history
from emulator.constants import JobState, JobType

JOB = uuid.UUID("12345678-1234-4234-8234-123456789abc")

SAMPLES: list[events.Event | history.HistoryRecord] = [
    events.ServiceStarted(1.5, "win10"),
    events.ServiceStopping(2.0),
    events.Logon(3.0, 1, "S-1-5-21-1"),
    events.Logoff(3.0, 1, "S-1-5-21-1"),
    events.JobStateChanged(4.0, JOB, JobState.QUEUED, JobState.CONNECTING),
    events.JobModified(5.0, None, {"priority": 1}),  # type: ignore[arg-type]
    events.NetworkChanged(6.0, False),
    events.NetworkCostChanged(6.5, 0x80),
    events.NotifyCommandLine(7.0, JOB, "prog.exe", None, "no callback registered"),
    events.RequestMade(8.0, JOB, "http://s/a", 0, None, (("A", "b"),), 200, 0, True),
    events.CallbackCalled(9.0, JOB, "JobTransferred", True),
    history.Creation(1.0, JOB, "job", JobType.DOWNLOAD, "S-1-5-21-1"),
    history.StateChange(2.0, JOB, "job", JobState.QUEUED, JobState.CONNECTING),
    history.Request(3.0, JOB, "job", "http://s/a", 0, None, (), 200, 0, True),
    history.Notification(4.0, JOB, "job", "JobTransferred", True),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_quick_init_keeps_the_dataclass_contract(event: events.Event | history.HistoryRecord) -> None:
    cls = type(event)
    names = [f.name for f in dataclasses.fields(cls)]
    values = dataclasses.astuple(event) if not isinstance(event, events.JobModified) else (5.0, None, {"priority": 1})
    assert [getattr(event, n) for n in names] == list(values)
    assert list(inspect.signature(cls).parameters) == names
    by_keyword = cls(**dict(zip(names, values, strict=True)))
    assert by_keyword == event
    shown = [(f.name, v) for f, v in zip(dataclasses.fields(cls), values, strict=True) if f.repr]
    assert repr(by_keyword) == repr(event) == f"{cls.__name__}({', '.join(f'{n}={v!r}' for n, v in shown)})"
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.at = 0.0  # type: ignore[misc]
    assert dataclasses.replace(event, at=99.0).at == 99.0
    if not isinstance(event, events.JobModified):  # (a dict field makes JobModified unhashable, as before)
        assert hash(by_keyword) == hash(event)
        assert pickle.loads(pickle.dumps(event)) == event


def test_state_change_carries_its_record_outside_its_value() -> None:
    """JobStateChanged.job (the record, set by the queue) is not part of the event's value: equality, hash
    and repr are those of (at, job_id, old, new, elsewhere) — emulator choice."""
    e = events.JobStateChanged(1.0, JOB, JobState.QUEUED, JobState.CONNECTING)
    record = object()
    held = events.JobStateChanged(1.0, JOB, JobState.QUEUED, JobState.CONNECTING, False, record)  # type: ignore[arg-type]
    assert e.job is None and held.job is record
    assert held == e and hash(held) == hash(e) and repr(held) == repr(e)


def test_defaults_and_subclass_checks_stay() -> None:
    e = events.JobStateChanged(1.0, JOB, JobState.QUEUED, JobState.CONNECTING)
    assert e.elsewhere is False
    assert events.JobStateChanged(1.0, JOB, JobState.QUEUED, JobState.CONNECTING, elsewhere=True) != e
    assert isinstance(e, events.Event)
    with pytest.raises(TypeError):
        events.JobStateChanged(1.0, JOB, JobState.QUEUED)  # type: ignore[call-arg]
