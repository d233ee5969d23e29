"""Tests for emulator/hresults.py, the HRESULT catalogue.

The expected values are written out literally here, copied from the tables of
docs/reference/return-codes.md (each row names the section it comes from), so that a typo in the module cannot also hide
in the test.
"""

from __future__ import annotations

import pickle
import re
import types

import pytest

from emulator import hresults
from emulator.hresults import (
    BG_E_HTTP_ERROR_404,
    BG_E_INVALID_STATE,
    BG_E_NOT_FOUND,
    BG_E_SERVER_EXECUTE_ENABLE,
    BG_E_SERVER_EXECUTE_ENABLED,
    BG_E_TOKEN_REQUIRED,
    BG_S_PARTIAL_COMPLETE,
    BY_NAME,
    CATALOGUE,
    E_ACCESSDENIED,
    ERROR_MR_MID_NOT_FOUND,
    ERROR_RESOURCE_LANG_NOT_FOUND,
    S_FALSE,
    S_OK,
    BitsError,
    HResult,
    describe,
    hresult_from_win32,
    http_error,
    lookup,
    to_unsigned,
)

# Where each expected value is documented: a section of docs/reference/return-codes.md, or the security
# reference for the codes its rules return.
SUCCESS = "docs/reference/return-codes.md#success"
BITS_ERRORS = "docs/reference/return-codes.md#bits-errors"
EVENT_LOG = "docs/reference/return-codes.md#event-log"
HTTP = "docs/reference/return-codes.md#http"
WINHTTP = "docs/reference/return-codes.md#winhttp"
GENERIC = "docs/reference/return-codes.md#generic"
SECURITY = "docs/reference/security.md"
BRIEF = "catalogue brief (standard winerror.h values)"

# (source, name, value)
EXPECTED: list[tuple[str, str, int]] = [
    # success codes
    (SUCCESS, "S_OK", 0x00000000),
    (SUCCESS, "S_FALSE", 0x00000001),
    (SUCCESS, "BG_S_ERROR_CONTEXT_NONE", 0x00200006),
    (SUCCESS, "BG_S_PARTIAL_COMPLETE", 0x00200017),
    (SUCCESS, "BG_S_UNABLE_TO_DELETE_FILES", 0x0020001A),
    (SUCCESS, "BG_S_PROXY_CHANGED", 0x0020002A),
    (SUCCESS, "BG_S_OVERRIDDEN_BY_POLICY", 0x00200055),
    # BITS error codes
    (BITS_ERRORS, "BG_E_NOT_FOUND", 0x80200001),
    (BITS_ERRORS, "BG_E_INVALID_STATE", 0x80200002),
    (BITS_ERRORS, "BG_E_EMPTY", 0x80200003),
    (BITS_ERRORS, "BG_E_FILE_NOT_AVAILABLE", 0x80200004),
    (BITS_ERRORS, "BG_E_PROTOCOL_NOT_AVAILABLE", 0x80200005),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_UNKNOWN", 0x80200007),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER", 0x80200008),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_LOCAL_FILE", 0x80200009),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_REMOTE_FILE", 0x8020000A),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT", 0x8020000B),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION", 0x8020000C),
    (BITS_ERRORS, "BG_E_DESTINATION_LOCKED", 0x8020000D),
    (BITS_ERRORS, "BG_E_VOLUME_CHANGED", 0x8020000E),
    (BITS_ERRORS, "BG_E_ERROR_INFORMATION_UNAVAILABLE", 0x8020000F),
    (BITS_ERRORS, "BG_E_NETWORK_DISCONNECTED", 0x80200010),
    (BITS_ERRORS, "BG_E_MISSING_FILE_SIZE", 0x80200011),
    (BITS_ERRORS, "BG_E_INSUFFICIENT_HTTP_SUPPORT", 0x80200012),
    (BITS_ERRORS, "BG_E_INSUFFICIENT_RANGE_SUPPORT", 0x80200013),
    (BITS_ERRORS, "BG_E_REMOTE_NOT_SUPPORTED", 0x80200014),
    (BITS_ERRORS, "BG_E_NEW_OWNER_DIFF_MAPPING", 0x80200015),
    (BITS_ERRORS, "BG_E_NEW_OWNER_NO_FILE_ACCESS", 0x80200016),
    (BITS_ERRORS, "BG_E_PROXY_LIST_TOO_LARGE", 0x80200018),
    (BITS_ERRORS, "BG_E_PROXY_BYPASS_LIST_TOO_LARGE", 0x80200019),
    (BITS_ERRORS, "BG_E_INVALID_SERVER_RESPONSE", 0x8020001B),
    (BITS_ERRORS, "BG_E_TOO_MANY_FILES", 0x8020001C),
    (BITS_ERRORS, "BG_E_LOCAL_FILE_CHANGED", 0x8020001D),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_REMOTE_APPLICATION", 0x8020001E),
    (BITS_ERRORS, "BG_E_SESSION_NOT_FOUND", 0x8020001F),
    (BITS_ERRORS, "BG_E_TOO_LARGE", 0x80200020),
    (BITS_ERRORS, "BG_E_STRING_TOO_LONG", 0x80200021),
    (BITS_ERRORS, "BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH", 0x80200022),
    (BITS_ERRORS, "BG_E_SERVER_EXECUTE_ENABLED", 0x80200023),
    (BITS_ERRORS, "BG_E_SERVER_EXECUTE_ENABLE", 0x80200023),
    (BITS_ERRORS, "BG_E_NO_PROGRESS", 0x80200024),
    (BITS_ERRORS, "BG_E_USERNAME_TOO_LARGE", 0x80200025),
    (BITS_ERRORS, "BG_E_PASSWORD_TOO_LARGE", 0x80200026),
    (BITS_ERRORS, "BG_E_INVALID_AUTH_TARGET", 0x80200027),
    (BITS_ERRORS, "BG_E_INVALID_AUTH_SCHEME", 0x80200028),
    (BITS_ERRORS, "BG_E_FILE_NOT_FOUND", 0x80200029),
    (BITS_ERRORS, "BG_E_INVALID_RANGE", 0x8020002B),
    (BITS_ERRORS, "BG_E_OVERLAPPING_RANGES", 0x8020002C),
    (BITS_ERRORS, "BG_E_CONNECT_FAILURE", 0x8020002D),
    (BITS_ERRORS, "BG_E_CONNECTION_CLOSED", 0x8020002E),
    (BITS_ERRORS, "BG_E_BLOCKED_BY_POLICY", 0x8020003E),
    (BITS_ERRORS, "BG_E_INVALID_PROXY_INFO", 0x8020003F),
    (BITS_ERRORS, "BG_E_INVALID_CREDENTIALS", 0x80200040),
    (BITS_ERRORS, "BG_E_INVALID_HASH_ALGORITHM", 0x80200041),
    (BITS_ERRORS, "BG_E_RECORD_DELETED", 0x80200042),
    (BITS_ERRORS, "BG_E_COMMIT_IN_PROGRESS", 0x80200043),
    (BITS_ERRORS, "BG_E_DISCOVERY_IN_PROGRESS", 0x80200044),
    (BITS_ERRORS, "BG_E_UPNP_ERROR", 0x80200045),
    (BITS_ERRORS, "BG_E_TEST_OPTION_BLOCKED_DOWNLOAD", 0x80200046),
    (BITS_ERRORS, "BG_E_PEERCACHING_DISABLED", 0x80200047),
    (BITS_ERRORS, "BG_E_BUSYCACHERECORD", 0x80200048),
    (BITS_ERRORS, "BG_E_TOO_MANY_JOBS_PER_USER", 0x80200049),
    (BITS_ERRORS, "BG_E_TOO_MANY_JOBS_PER_MACHINE", 0x80200050),
    (BITS_ERRORS, "BG_E_TOO_MANY_FILES_IN_JOB", 0x80200051),
    (BITS_ERRORS, "BG_E_TOO_MANY_RANGES_IN_FILE", 0x80200052),
    (BITS_ERRORS, "BG_E_VALIDATION_FAILED", 0x80200053),
    (BITS_ERRORS, "BG_E_MAXDOWNLOAD_TIMEOUT", 0x80200054),
    (BITS_ERRORS, "BG_E_TOKEN_REQUIRED", 0x80200056),
    (BITS_ERRORS, "BG_E_UNKNOWN_PROPERTY_ID", 0x80200057),
    (BITS_ERRORS, "BG_E_READ_ONLY_PROPERTY", 0x80200058),
    (BITS_ERRORS, "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY", 0x80200059),
    (BITS_ERRORS, "BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY", 0x80200060),
    (BITS_ERRORS, "BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE", 0x80200061),
    (BITS_ERRORS, "BG_E_READ_ONLY_PROPERTY_AFTER_RESUME", 0x80200062),
    (BITS_ERRORS, "BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE", 0x80200063),
    (BITS_ERRORS, "BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED", 0x80200064),
    (BITS_ERRORS, "BG_E_STANDBY_MODE", 0x80200065),
    (BITS_ERRORS, "BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED", 0x80200066),
    (BITS_ERRORS, "BG_E_BLOCKED_BY_BATTERY_POLICY", 0x80200067),
    (BITS_ERRORS, "BG_E_BLOCKED_BY_BATTERY_SAVER", 0x80200068),
    (BITS_ERRORS, "BG_E_WATCHDOG_TIMEOUT", 0x80200069),
    (BITS_ERRORS, "BG_E_APP_PACKAGE_NOT_FOUND", 0x8020006A),
    (BITS_ERRORS, "BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED", 0x8020006B),
    (BITS_ERRORS, "BG_E_DATABASE_CORRUPT", 0x8020006C),
    (BITS_ERRORS, "BG_E_RANDOM_ACCESS_NOT_SUPPORTED", 0x8020006D),
    (BITS_ERRORS, "BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY", 0x8020006E),
    (BITS_ERRORS, "BG_E_BLOCKED_BY_GAME_MODE", 0x8020006F),
    (BITS_ERRORS, "BG_E_BLOCKED_BY_SYSTEM_POLICY", 0x80200070),
    (BITS_ERRORS, "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", 0x80200071),
    (BITS_ERRORS, "BG_E_UNSUPPORTED_JOB_CONFIGURATION", 0x80200072),
    (BITS_ERRORS, "BG_E_REMOTE_FILE_CHANGED", 0x80200073),
    (BITS_ERRORS, "BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED", 0x80200074),
    (BITS_ERRORS, "BG_E_READ_ONLY_WHEN_JOB_ACTIVE", 0x80200075),
    (BITS_ERRORS, "BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK", 0x80200076),
    # event-log message ids
    (EVENT_LOG, "BITS_MC_JOB_CANCELLED", 0x80194000),
    (EVENT_LOG, "BITS_MC_FILE_DELETION_FAILED", 0x80194001),
    (EVENT_LOG, "BITS_MC_FILE_DELETION_FAILED_MORE", 0x80194002),
    (EVENT_LOG, "BITS_MC_JOB_PROPERTY_CHANGE", 0x80194003),
    (EVENT_LOG, "BITS_MC_JOB_TAKE_OWNERSHIP", 0x80194004),
    (EVENT_LOG, "BITS_MC_JOB_SCAVENGED", 0x80194005),
    (EVENT_LOG, "BITS_MC_JOB_NOTIFICATION_FAILURE", 0x80194006),
    (EVENT_LOG, "BITS_MC_STATE_FILE_CORRUPT", 0x80194007),
    (EVENT_LOG, "BITS_MC_FAILED_TO_START", 0x80194008),
    (EVENT_LOG, "BITS_MC_FATAL_IGD_ERROR", 0x80194009),
    (EVENT_LOG, "BITS_MC_PEERCACHING_PORT", 0x8019400A),
    (EVENT_LOG, "BITS_MC_WSD_PORT", 0x8019400B),
    # the HTTP examples of the return-values page and the WinHTTP codes BITS reports
    (HTTP, "BG_E_HTTP_ERROR_400", 0x80190190),
    (HTTP, "BG_E_HTTP_ERROR_404", 0x80190194),
    (HTTP, "BG_E_HTTP_ERROR_503", 0x801901F7),
    (WINHTTP, "ERROR_WINHTTP_NAME_NOT_RESOLVED", 0x80072EE7),
    (WINHTTP, "ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED", 0x80072F0C),
    (WINHTTP, "ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY", 0x80072F9A),
    # generic HRESULTs
    (GENERIC, "E_INVALIDARG", 0x80070057),
    (GENERIC, "E_ACCESSDENIED", 0x80070005),
    (GENERIC, "E_NOTIMPL", 0x80004001),
    (GENERIC, "E_OUTOFMEMORY", 0x8007000E),
    (GENERIC, "E_NOINTERFACE", 0x80004002),
    (GENERIC, "E_PENDING", 0x8000000A),
    (GENERIC, "ERROR_RESOURCE_LANG_NOT_FOUND", 0x80070717),
    (GENERIC, "ERROR_FILE_NOT_FOUND", 0x80070002),
    (GENERIC, "ERROR_PATH_NOT_FOUND", 0x80070003),
    (GENERIC, "RPC_X_NULL_REF_POINTER", 0x800706F4),
    (GENERIC, "RPC_X_BAD_STUB_DATA", 0x800706F7),
    (GENERIC, "CRYPT_E_NOT_FOUND", 0x80092004),
    (GENERIC, "REGDB_E_CLASSNOTREG", 0x80040154),
    # the codes the security rules return
    (SECURITY, "S_OK", 0x00000000),
    (SECURITY, "S_FALSE", 0x00000001),
    (SECURITY, "E_ACCESSDENIED", 0x80070005),
    (SECURITY, "E_INVALIDARG", 0x80070057),
    (SECURITY, "E_NOINTERFACE", 0x80004002),
    (SECURITY, "E_NOTIMPL", 0x80004001),
    (SECURITY, "CO_E_FAILEDTOIMPERSONATE", 0x80010123),
    (SECURITY, "BG_E_NOT_FOUND", 0x80200001),
    (SECURITY, "BG_E_INVALID_STATE", 0x80200002),
    (SECURITY, "BG_E_EMPTY", 0x80200003),
    (SECURITY, "BG_E_NETWORK_DISCONNECTED", 0x80200010),
    (SECURITY, "BG_E_REMOTE_NOT_SUPPORTED", 0x80200014),
    (SECURITY, "BG_E_NEW_OWNER_DIFF_MAPPING", 0x80200015),
    (SECURITY, "BG_E_NEW_OWNER_NO_FILE_ACCESS", 0x80200016),
    (SECURITY, "BG_E_INVALID_AUTH_TARGET", 0x80200027),
    (SECURITY, "BG_E_INVALID_AUTH_SCHEME", 0x80200028),
    (SECURITY, "BG_E_TOKEN_REQUIRED", 0x80200056),
    (SECURITY, "BG_E_HTTP_ERROR_401", 0x80190191),
    (SECURITY, "BG_E_HTTP_ERROR_407", 0x80190197),
    (SECURITY, "ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY", 0x80072F9A),
    (SECURITY, "ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED", 0x80072F0C),
    (SECURITY, "ERROR_NOT_LOGGED_ON", 0x800704DD),
    (SECURITY, "BITS_MC_JOB_TAKE_OWNERSHIP", 0x80194004),
    # Named by the catalogue brief; values from standard winerror.h / winhttp.h
    (BRIEF, "ERROR_MR_MID_NOT_FOUND", 0x8007013D),
    (BRIEF, "ERROR_WINHTTP_CANNOT_CONNECT", 0x80072EFD),
    (BRIEF, "ERROR_WINHTTP_TIMEOUT", 0x80072EE2),
    (BRIEF, "ERROR_DISK_FULL", 0x80070070),
    (BRIEF, "ERROR_SHARING_VIOLATION", 0x80070020),
    (BRIEF, "ERROR_FILENAME_EXCED_RANGE", 0x800700CE),
]

# docs/reference/return-codes.md#http: bitsmsg.h defines 100, 101, 200–206, 300–305, 307, 400–417, 449, 500–505.
HEADER_HTTP_STATUSES: list[int] = [
    100,
    101,
    *range(200, 207),
    *range(300, 306),
    307,
    *range(400, 418),
    449,
    *range(500, 506),
]

# Constants other modules import by name (catalogue brief).
HTTP_CONSTANTS_BY_NAME = [400, 401, 403, 404, 407, 408, 410, 412, 414, 416, 500, 501, 502, 503, 504, 505]

ALIASES = {"BG_E_SERVER_EXECUTE_ENABLE": "BG_E_SERVER_EXECUTE_ENABLED"}


def _id(row: tuple[str, str, int]) -> str:
    source, name, _ = row
    page, _, anchor = source.removeprefix("docs/reference/").partition(".md")
    return f"{page}{anchor}:{name}"


# ------------------------------------------------------------------------------------------------
# Values
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", EXPECTED, ids=_id)
def test_constant_value(row: tuple[str, str, int]) -> None:
    """Every code docs/reference/return-codes.md and docs/reference/security.md name has its exact value."""
    _, name, value = row
    constant = getattr(hresults, name)
    assert isinstance(constant, HResult)
    assert constant.value == value
    assert BY_NAME[name] is constant
    assert CATALOGUE[value] is constant
    assert constant.name == ALIASES.get(name, name)


@pytest.mark.parametrize("status", HEADER_HTTP_STATUSES)
def test_every_header_http_status_is_catalogued(status: int) -> None:
    """docs/reference/return-codes.md#http: BG_E_HTTP_ERROR_<status> = 0x80190000 + status for every header status."""
    name = f"BG_E_HTTP_ERROR_{status}"
    entry = BY_NAME[name]
    assert entry.value == 0x80190000 + status
    assert entry.name == name
    assert CATALOGUE[entry.value] is entry
    assert http_error(status) is entry
    assert entry.message.startswith(f"HTTP status {status}: ")


@pytest.mark.parametrize("status", HTTP_CONSTANTS_BY_NAME)
def test_http_constants_declared_by_name(status: int) -> None:
    constant = getattr(hresults, f"BG_E_HTTP_ERROR_{status}")
    assert constant is BY_NAME[f"BG_E_HTTP_ERROR_{status}"]


def test_no_unexpected_bits_names() -> None:
    """Every BG_*/BITS_MC_* name in the catalogue is one the reference lists (catches typos in names)."""
    spec_names = {name for _, name, _ in EXPECTED} | {f"BG_E_HTTP_ERROR_{s}" for s in HEADER_HTTP_STATUSES}
    bits_names = {name for name in BY_NAME if name.startswith(("BG_", "BITS_MC_"))}
    assert bits_names - spec_names == set()
    assert {n for n in spec_names if n.startswith(("BG_", "BITS_MC_"))} - bits_names == set()


def test_values_unique_apart_from_aliases() -> None:
    names_per_value: dict[int, list[str]] = {}
    for name, entry in BY_NAME.items():
        names_per_value.setdefault(entry.value, []).append(name)
    shared = {value: names for value, names in names_per_value.items() if len(names) > 1}
    assert shared == {0x80200023: ["BG_E_SERVER_EXECUTE_ENABLED", "BG_E_SERVER_EXECUTE_ENABLE"]}
    assert len(CATALOGUE) == len(BY_NAME) - len(ALIASES)
    assert all(CATALOGUE[entry.value] is entry for entry in CATALOGUE.values())


def test_alias_is_the_same_object() -> None:
    assert BG_E_SERVER_EXECUTE_ENABLE is BG_E_SERVER_EXECUTE_ENABLED
    assert BY_NAME["BG_E_SERVER_EXECUTE_ENABLE"] is BG_E_SERVER_EXECUTE_ENABLED
    assert BG_E_SERVER_EXECUTE_ENABLED.name == "BG_E_SERVER_EXECUTE_ENABLED"


def test_catalogue_and_by_name_are_read_only() -> None:
    assert isinstance(CATALOGUE, types.MappingProxyType)
    assert isinstance(BY_NAME, types.MappingProxyType)
    with pytest.raises(TypeError):
        CATALOGUE[1] = S_OK  # type: ignore[index]
    with pytest.raises(TypeError):
        BY_NAME["X"] = S_OK  # type: ignore[index]


def test_module_constants_match_catalogue() -> None:
    """Every public HResult attribute of the module is in the catalogue under its own value."""
    for attr, obj in vars(hresults).items():
        if isinstance(obj, HResult) and not attr.startswith("_"):
            assert BY_NAME[attr] is obj
            assert CATALOGUE[obj.value] is obj


def test_every_entry_is_well_formed() -> None:
    for value, entry in CATALOGUE.items():
        assert entry.value == value
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", entry.name)
        assert entry.message and entry.message == entry.message.strip()
        # Facility 0x20 codes are BG_*; facility 0x19 codes are HTTP statuses or event-log ids.
        if entry.facility == 0x20:
            assert entry.name.startswith("BG_S_" if not entry.failed else "BG_E_")
        if entry.name.startswith("BG_S_"):
            assert not entry.failed
        if entry.name.startswith(("BG_E_", "E_", "ERROR_", "RPC_", "CO_", "REGDB_", "CRYPT_")):
            assert entry.failed


# ------------------------------------------------------------------------------------------------
# HResult
# ------------------------------------------------------------------------------------------------


def test_hresult_properties() -> None:
    assert BG_E_INVALID_STATE.failed
    assert BG_E_INVALID_STATE.signed == 0x80200002 - 2**32 == -2145386494
    assert int(BG_E_INVALID_STATE) == 0x80200002
    assert str(BG_E_INVALID_STATE) == "0x80200002 BG_E_INVALID_STATE"
    assert str(BG_E_HTTP_ERROR_404) == "0x80190194 BG_E_HTTP_ERROR_404"
    assert BG_E_INVALID_STATE.facility == 0x20
    assert BG_E_INVALID_STATE.code == 2
    assert not S_OK.failed and not S_FALSE.failed and not BG_S_PARTIAL_COMPLETE.failed
    assert S_FALSE.signed == 1
    assert BG_S_PARTIAL_COMPLETE.signed == 0x00200017
    assert str(S_OK) == "0x00000000 S_OK"


def test_hresult_is_frozen_and_validated() -> None:
    with pytest.raises(AttributeError):
        BG_E_NOT_FOUND.value = 1  # type: ignore[misc]
    with pytest.raises(ValueError):
        HResult(-1, "X", "m")
    with pytest.raises(ValueError):
        HResult(2**32, "X", "m")
    with pytest.raises(ValueError):
        HResult(1, "", "m")
    assert eval(repr(BG_E_NOT_FOUND), {"HResult": HResult}) == BG_E_NOT_FOUND


# ------------------------------------------------------------------------------------------------
# Conversions and look-ups
# ------------------------------------------------------------------------------------------------


def test_lookup_signed_and_unsigned() -> None:
    assert lookup(-2145386410) is BG_E_TOKEN_REQUIRED
    assert lookup(0x80200056) is BG_E_TOKEN_REQUIRED
    assert lookup(-2147024891) is E_ACCESSDENIED
    assert lookup(0) is S_OK
    assert lookup(BG_E_NOT_FOUND) is BG_E_NOT_FOUND  # an HResult is accepted too (__index__)


def test_lookup_unknown_is_none() -> None:
    assert lookup(0x80201234) is None
    assert lookup(0x80200006) is None  # the 0x80200006 slot is BG_S_ERROR_CONTEXT_NONE (success)
    assert lookup(0x8020004A) is None  # gap 0x4A-0x4F (docs/reference/return-codes.md#bits-errors)
    assert lookup(0x80190000 + 99) is None
    assert lookup(0x80190000 + 600) is None


def test_lookup_out_of_range() -> None:
    with pytest.raises(ValueError):
        lookup(2**32)
    with pytest.raises(ValueError):
        lookup(-(2**31) - 1)


def test_http_error() -> None:
    assert http_error(404).value == 0x80190194
    assert http_error(503).value == 0x801901F7
    assert http_error(404) is BG_E_HTTP_ERROR_404
    assert http_error(400).value == 0x80190190


def test_http_error_synthesized_for_other_statuses() -> None:
    entry = http_error(418)
    assert entry.value == 0x801901A2
    assert entry.name == "BG_E_HTTP_ERROR_418"
    assert entry.failed
    assert "418" in entry.message
    assert 0x801901A2 not in CATALOGUE
    assert http_error(418) == entry
    assert lookup(0x801901A2) == entry  # known by the 0x80190000 + status rule
    assert http_error(599).value == 0x80190257
    assert http_error(100) is BY_NAME["BG_E_HTTP_ERROR_100"]


@pytest.mark.parametrize("status", [-1, 0, 99, 600, 1000])
def test_http_error_out_of_range(status: int) -> None:
    with pytest.raises(ValueError):
        http_error(status)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (5, 0x80070005),
        (0, 0),
        (2, 0x80070002),
        (1815, 0x80070717),
        (1245, 0x800704DD),
        (1780, 0x800706F4),
        (12007, 0x80072EE7),
        (12186, 0x80072F9A),
        (0x80200002, 0x80200002),  # already an HRESULT: unchanged
        (-2147024891, 0x80070005),  # negative: returned as unsigned
        (0x12345, 0x80072345),  # only the low 16 bits are kept
    ],
)
def test_hresult_from_win32(code: int, expected: int) -> None:
    assert hresult_from_win32(code) == expected


def test_hresult_from_win32_matches_catalogue() -> None:
    assert hresult_from_win32(5) == E_ACCESSDENIED.value
    assert hresult_from_win32(1815) == ERROR_RESOURCE_LANG_NOT_FOUND.value
    assert hresult_from_win32(317) == ERROR_MR_MID_NOT_FOUND.value


def test_to_unsigned() -> None:
    assert to_unsigned(0) == 0
    assert to_unsigned(-1) == 0xFFFFFFFF
    assert to_unsigned(-2145386410) == 0x80200056
    assert to_unsigned(0x80200056) == 0x80200056
    assert to_unsigned(-(2**31)) == 0x80000000
    assert to_unsigned(2**32 - 1) == 0xFFFFFFFF
    for bad in (2**32, -(2**31) - 1, 2**40):
        with pytest.raises(ValueError):
            to_unsigned(bad)
    with pytest.raises(TypeError):
        to_unsigned("0x80200002")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# describe() — docs/reference/return-codes.md#descriptions
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language_id", [0x0409, 0x0009, 0x0400, 0x0800, 0x0000])
def test_describe_english(language_id: int) -> None:
    text = describe(0x80200001, language_id)
    assert text == BG_E_NOT_FOUND.message + "\r\n"
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    assert text.startswith("The requested job was not found.")


def test_describe_signed_value_and_success_codes() -> None:
    assert describe(-2145386494, 0x0409) == BG_E_INVALID_STATE.message + "\r\n"
    assert describe(0, 0x0409) == "The operation completed successfully.\r\n"
    assert describe(0x00200017, 0x0409) == BG_S_PARTIAL_COMPLETE.message + "\r\n"


def test_describe_http_and_win32() -> None:
    assert describe(0x80190194, 0x0409).startswith("HTTP status 404: ")
    assert describe(0x80072EE7, 0x0409) == "The server name or address could not be resolved\r\n"
    assert describe(0x80070005, 0x0409) == "Access is denied.\r\n"


@pytest.mark.parametrize("language_id", [0x0407, 0x040C, 0x0809, 0x0411, 0x0C00, 0xFFFF])
def test_describe_other_language(language_id: int) -> None:
    with pytest.raises(BitsError) as info:
        describe(0x80200001, language_id)
    assert info.value.hresult == 0x80070717
    assert info.value.name == "ERROR_RESOURCE_LANG_NOT_FOUND"


def test_describe_unknown_code() -> None:
    with pytest.raises(BitsError) as info:
        describe(0x80201234, 0x0409)
    assert info.value.hresult == 0x8007013D
    assert info.value.name == "ERROR_MR_MID_NOT_FOUND"


def test_describe_checks_language_before_code() -> None:
    with pytest.raises(BitsError) as info:
        describe(0x80201234, 0x0407)
    assert info.value.hresult == 0x80070717


# ------------------------------------------------------------------------------------------------
# BitsError
# ------------------------------------------------------------------------------------------------


def test_bits_error_fields_and_str() -> None:
    error = BitsError(BG_E_INVALID_STATE)
    assert error.hresult == 0x80200002
    assert error.name == "BG_E_INVALID_STATE"
    assert error.message == BG_E_INVALID_STATE.message
    assert error.detail is None
    assert error.signed == -2145386494
    assert error.entry == BG_E_INVALID_STATE
    assert str(error) == f"0x80200002 BG_E_INVALID_STATE: {BG_E_INVALID_STATE.message}"
    assert str(error).startswith("0x80200002 BG_E_INVALID_STATE: The requested action is not allowed")
    assert isinstance(error, Exception)


def test_bits_error_detail() -> None:
    error = BitsError(BG_E_INVALID_STATE, "Cancel on a CANCELLED job")
    assert error.detail == "Cancel on a CANCELLED job"
    assert (
        str(error)
        == f"0x80200002 BG_E_INVALID_STATE: {BG_E_INVALID_STATE.message} (Cancel on a CANCELLED job)"
    )


def test_bits_error_from_int() -> None:
    assert BitsError(0x80200001).name == "BG_E_NOT_FOUND"
    signed = BitsError(-2145386410)
    assert signed.hresult == 0x80200056
    assert signed.name == "BG_E_TOKEN_REQUIRED"
    assert BitsError(hresult_from_win32(5)).name == "E_ACCESSDENIED"
    assert BitsError(0x801901A2).name == "BG_E_HTTP_ERROR_418"


def test_bits_error_unknown_code() -> None:
    error = BitsError(0x80201234, "why")
    assert error.hresult == 0x80201234
    assert error.name == "HRESULT_0x80201234"
    assert error.message
    assert str(error).startswith("0x80201234 HRESULT_0x80201234: ")
    assert str(error).endswith(" (why)")


@pytest.mark.parametrize("code", [S_OK, S_FALSE, BG_S_PARTIAL_COMPLETE, 0, 1, 0x00200055, 0x7FFFFFFF])
def test_bits_error_rejects_success_codes(code: HResult | int) -> None:
    with pytest.raises(ValueError):
        BitsError(code)


def test_bits_error_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        BitsError(2**32)


def test_bits_error_equality_is_identity() -> None:
    first = BitsError(BG_E_NOT_FOUND)
    assert first == first
    assert first != BitsError(BG_E_NOT_FOUND)


@pytest.mark.parametrize(
    "error",
    [
        BitsError(BG_E_INVALID_STATE),
        BitsError(BG_E_TOKEN_REQUIRED, "helper token discarded at logoff"),
        BitsError(0x80201234, "unknown code"),
        BitsError(http_error(418)),
        BitsError(HResult(0x80041234, "CUSTOM_E_THING", "A custom failure.")),
    ],
    ids=["plain", "detail", "unknown", "synthesized-http", "custom-entry"],
)
def test_bits_error_pickle_round_trip(error: BitsError) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(error, protocol=protocol))
        assert type(copy) is BitsError
        assert (copy.hresult, copy.name, copy.message, copy.detail) == (
            error.hresult,
            error.name,
            error.message,
            error.detail,
        )
        assert str(copy) == str(error)


def test_hresult_pickle_round_trip() -> None:
    copy = pickle.loads(pickle.dumps(BG_E_NOT_FOUND))
    assert copy == BG_E_NOT_FOUND
    assert lookup(copy) is BG_E_NOT_FOUND
