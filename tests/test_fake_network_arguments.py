"""The fake network's arguments are checked where the test gives them (docs/transfers.md#argument-checks).

``svc.network.register(...)`` and an assignment to a ``Resource`` attribute raise TypeError for a wrong Python
type and ValueError for a value out of range, before anything is registered or changed; the same mistake never
surfaces later as an exception from inside ``svc.advance()`` (README.md#errors: wrong types raise TypeError
"before anything is touched").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from emulator import BitsService, Job, JobState, JobType

S = JobState
URL = "http://server/a"
HTTPS_URL = "https://server/a"
ERROR_WINHTTP_NAME_NOT_RESOLVED = 0x80072EE7

pytestmark = pytest.mark.svc(clock="manual")


def download(svc: BitsService, tmp_path: Path, url: str = URL) -> Job:
    _, job = svc.connect().create_job("args", JobType.DOWNLOAD)
    job.add_file(url, str(tmp_path / "a.bin"))
    job.resume()
    return job


# (argument, a value of the wrong Python type): each failed late, inside the engine or silently, before the check
WRONG_TYPES: list[tuple[str, object]] = [
    ("content", "abc"),  # bytes(str) needs an encoding
    ("content", 5),  # bytes(5) would be five zero bytes
    ("size", 10.5),
    ("size", "10"),  # int("10") would have been 10
    ("size", True),
    ("generator", 5),
    ("rate", "100"),
    ("rate", True),  # would have been 1 byte per second
    ("status", "200"),
    ("status", 200.0),
    ("headers", [("ETag", '"v1"')]),
    ("headers", {"ETag": 1}),
    ("ranges", "no"),  # a non-empty str would have read as True
    ("transient_failures", "2"),
    ("transient_failures", 1.5),
    ("failure_status", 503.0),
    ("change_content_after", 3.0),  # sliced the content: "slice indices must be integers" from svc.advance()
    ("change_content_after", "3"),
    ("changed_content", "new"),
    ("last_modified", "yesterday"),
    ("latency", "1"),  # Fraction("1") would have parsed it
    ("content_length", 1),
    ("auth", 1),
    ("users", [("alice", "pw")]),
    ("users", {"alice": 1}),
    ("authorized_sids", "S-1-5-18"),  # a str is a set of letters
    ("authorized_sids", [18]),
    ("upload", "yes"),
    ("reply", "reply"),
    ("application_status", "200"),
    ("client_certificate", "yes"),
    ("certificate", "DER"),
    ("certificate_errors", "unknown_ca"),
    ("certificate_errors", [1]),
]

# (argument, a value of the right type out of range)
OUT_OF_RANGE: list[tuple[str, object]] = [
    ("size", -3),
    ("rate", 0),
    ("rate", -1.5),
    ("rate", float("nan")),
    ("rate", float("inf")),
    ("rate", Decimal("NaN")),
    ("status", 99),
    ("status", 600),  # BG_E_HTTP_ERROR_<status> exists for 100..599 (docs/reference/return-codes.md#http)
    ("failure_status", 0),
    ("application_status", 999),
    ("transient_failures", -1),
    ("change_content_after", -1),
    ("headers", {"X-A": "b\r\nX-Injected: c"}),
    ("last_modified", float("nan")),
    ("last_modified", 1e20),  # past 9999-12-31, which no Last-Modified header can show
    ("last_modified", -1e12),  # before the year 1
    ("latency", -5),
    ("latency", float("inf")),
    ("auth", "digest"),
    ("certificate_errors", ["expired"]),
]


def _label(case: tuple[str, object]) -> str:
    return f"{case[0]}={case[1]!r}"


def _url_for(argument: str) -> str:
    return HTTPS_URL if argument.startswith("certificate") else URL


def _kwargs(argument: str, value: object) -> dict[str, Any]:
    kwargs: dict[str, Any] = {argument: value}
    if argument in ("size", "generator"):
        kwargs.setdefault("size", 10)  # size/generator go without content
    elif argument != "content":
        kwargs["content"] = b"x" * 10
    return kwargs


@pytest.mark.parametrize("case", WRONG_TYPES, ids=_label)
def test_a_wrong_type_is_type_error_at_register_and_nothing_is_registered(
    svc: BitsService, case: tuple[str, object]
) -> None:
    argument, value = case
    url = _url_for(argument)
    with pytest.raises(TypeError, match=f"^{argument} must "):
        svc.network.register(url, **_kwargs(argument, value))
    assert svc.network.registered == []
    assert svc.network.resource(url) is None
    assert not svc.network.host_known(url)


@pytest.mark.parametrize("case", OUT_OF_RANGE, ids=_label)
def test_a_value_out_of_range_is_value_error_at_register_and_nothing_is_registered(
    svc: BitsService, case: tuple[str, object]
) -> None:
    argument, value = case
    url = _url_for(argument)
    with pytest.raises(ValueError):
        svc.network.register(url, **_kwargs(argument, value))
    assert svc.network.registered == []
    assert svc.network.resource(url) is None


@pytest.mark.parametrize("url", [b"http://server/a", None, 1])
def test_a_url_that_is_not_a_str_is_type_error(svc: BitsService, url: object) -> None:
    with pytest.raises(TypeError, match=r"^url must be a str, not "):
        svc.network.register(url, b"x")  # type: ignore[arg-type]
    assert svc.network.registered == []


def test_a_refused_registration_keeps_the_earlier_one_of_that_url(svc: BitsService, tmp_path: Path) -> None:
    first = svc.network.register(URL, b"old")
    with pytest.raises(TypeError):
        svc.network.register(URL, b"new" * 10, change_content_after=3.0)  # type: ignore[arg-type]
    assert svc.network.resource(URL) is first
    assert svc.network.registered == [URL]
    job = download(svc, tmp_path)
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert job.get_progress().bytes_transferred == 3


def test_the_reported_float_change_offset_fails_at_register_not_in_advance(svc: BitsService, tmp_path: Path) -> None:
    # The reported case: a float offset used to be taken, then sliced the content inside svc.advance().
    with pytest.raises(TypeError, match=r"^change_content_after must be an int or None, not float$"):
        svc.network.register(URL, b"x" * 10, change_content_after=3.0)  # type: ignore[arg-type]
    job = download(svc, tmp_path)
    svc.advance(3)  # nothing registered: the host does not resolve, as for any unknown name
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error()[1] == ERROR_WINHTTP_NAME_NOT_RESOLVED


@pytest.mark.parametrize(
    ("rate", "after_2s"),
    [(5, 10), (2.5, 5), (Fraction(5, 2), 5), (Decimal("2.5"), 5), (Fraction(1, 3), 0)],
    ids=["int", "float", "Fraction", "Decimal", "a third"],
)
def test_a_rate_may_be_an_int_float_fraction_or_decimal(
    svc: BitsService, tmp_path: Path, rate: Any, after_2s: int
) -> None:
    res = svc.network.register(URL, b"x" * 100, rate=rate)
    assert res.rate == rate  # kept as given; the connector converts it exactly (clock.exact)
    job = download(svc, tmp_path)
    svc.advance(2)
    assert job.get_progress().bytes_transferred == after_2s


def test_latency_and_last_modified_take_exact_numbers(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register(URL, b"x" * 10, latency=Fraction(3, 2), last_modified=1_000_000)
    assert res.last_modified == 1_000_000.0
    assert type(res.last_modified) is float  # the file's remote time stamp is a float (FileRecord.remote_mtime)
    job = download(svc, tmp_path)
    svc.advance(Fraction(149, 100))
    assert job.get_state() is S.CONNECTING  # 1.49 s of a 1.5 s latency
    svc.advance(Fraction(1, 100))
    assert job.get_state() is S.TRANSFERRED


def test_register_is_typed_for_every_form_the_docs_accept(svc: BitsService, tmp_path: Path) -> None:
    """docs/transfers.md#argument-checks: `rate` and `latency` take an int, float, Fraction or Decimal,
    `last_modified` the same, `authorized_sids` a collection of str (a list as well as a set), `headers` and
    `users` any mapping, `changed_content` and `reply` a bytearray or memoryview too. Every call below is
    written without ``Any`` or a cast, so mypy --strict checks these forms against ``register``'s annotations
    as a user's test would be checked; the values are kept (rate, latency) or converted as documented."""
    sid = "S-1-5-21-1-2-3-1001"
    headers: Mapping[str, str] = MappingProxyType({"ETag": '"v1"'})
    res = svc.network.register(
        URL,
        b"x" * 10,
        rate=Decimal("1.5"),
        latency=Decimal("0.5"),
        last_modified=Fraction(1_000_000),
        headers=headers,
        users=MappingProxyType({"alice": "s3cret"}),
        authorized_sids=[sid],
        changed_content=bytearray(b"y" * 10),
    )
    assert res.rate == Decimal("1.5")
    assert res.latency == Decimal("0.5")
    assert res.last_modified == 1_000_000.0
    assert res.authorized_sids == frozenset({sid})
    assert res.headers == {"ETag": '"v1"'}
    assert res.changed_content == b"y" * 10
    up = svc.network.register("http://server/up", upload=True, reply=memoryview(b"R"), authorized_sids=(sid,))
    assert up.reply == b"R"
    assert type(up.reply) is bytes
    svc.network.latency = Decimal("0.25")
    gen = svc.network.register("http://server/gen", size=4, rate=3, latency=Fraction(1, 4),
                               authorized_sids=(s for s in [sid]))
    assert gen.authorized_sids == frozenset({sid})
    job = download(svc, tmp_path)
    svc.advance(Fraction(1, 2))
    assert job.get_state() is S.TRANSFERRING  # 0.5 s of latency, then 1.5 bytes/s
    svc.advance(2)
    assert job.get_progress().bytes_transferred == 3


def test_bytes_like_content_is_copied_to_bytes(svc: BitsService) -> None:
    data = bytearray(b"abc")
    res = svc.network.register(URL, data, headers={"ETag": '"v1"'})
    data[0] = ord("z")  # the caller's buffer changes afterwards: the server's copy does not
    assert res.content == b"abc"
    assert type(res.content) is bytes
    assert res.size == 3


@pytest.mark.parametrize(
    ("attribute", "value", "error"),
    [
        ("change_content_after", 3.0, TypeError),
        ("status", "404", TypeError),
        ("status", 42, ValueError),
        ("rate", float("nan"), ValueError),
        ("content", "text", TypeError),
        ("transient_failures", -1, ValueError),
        ("ranges", None, TypeError),
        ("application_status", 200.0, TypeError),
        ("certificate_errors", ["expired"], ValueError),
        ("headers", {"ETag": 1}, TypeError),
    ],
    ids=lambda v: repr(v) if not isinstance(v, type) else v.__name__,
)
def test_a_resource_attribute_a_test_changes_is_checked_like_register(
    svc: BitsService, attribute: str, value: object, error: type[Exception]
) -> None:
    res = svc.network.register(HTTPS_URL, b"x" * 10)
    before = getattr(res, attribute)
    with pytest.raises(error):
        setattr(res, attribute, value)
    assert getattr(res, attribute) == before


def test_a_valid_change_to_a_resource_reaches_the_next_connection(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register(URL, b"x" * 10)
    res.status = 404
    res.change_content_after = 4
    res.changed_content = bytearray(b"y" * 6)  # type: ignore[assignment]  # (copied to bytes)
    assert res.changed_content == b"y" * 6
    job = download(svc, tmp_path)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error()[1] == 0x80190194  # BG_E_HTTP_ERROR_404
    res.status = 200
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert job.get_progress().bytes_transferred == 6  # restarted on the changed content (states.md#files)
    assert res.changes == 1
