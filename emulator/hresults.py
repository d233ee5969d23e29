"""The one catalogue of every HRESULT the emulator can return, with Windows' English texts.

Every code the emulator hands back to a client (a method's return value, a job error, an error
context, a description) is an :class:`HResult` declared here. Failing codes travel as
:class:`BitsError`; success codes are returned, never raised.

Sources (numbers and message strings only):

* BITS codes (``BG_S_*``, ``BG_E_*``, ``BG_E_HTTP_ERROR_*``, ``BITS_MC_*``): the values of the
  Windows SDK header ``bitsmsg.h`` (docs/reference/return-codes.md); the English ``MessageText`` of the
  current ``bitsmsg.h`` for the texts (the 2000-era header has shorter, older wording).
* Generic COM / Win32 codes: docs/reference/return-codes.md#generic for the values
  (standard ``winerror.h``); the text is what ``FormatMessage`` gives on English Windows.
* WinHTTP codes (``HRESULT_FROM_WIN32(ERROR_WINHTTP_*)``): docs/reference/return-codes.md#winhttp;
  texts from the WinHTTP message table (12186 has no well-known system
  text, so its documented description is used).

Descriptions (docs/reference/return-codes.md#descriptions) are available in English only; see :func:`describe`.
"""

from __future__ import annotations

import functools
import operator
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, SupportsIndex

_SEVERITY_BIT: Final = 0x8000_0000
_U32: Final = 0x1_0000_0000
_FACILITY_WIN32: Final = 7
_HTTP_BASE: Final = 0x8019_0000  # BG_E_HTTP_ERROR_<status> = 0x80190000 + status (docs/reference/return-codes.md#http)
_HTTP_MIN: Final = 100
_HTTP_MAX: Final = 599


@dataclass(frozen=True, slots=True)
class HResult:
    """One HRESULT: its unsigned 32-bit value, Windows' symbolic name and English message text."""

    value: int
    name: str
    message: str

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise TypeError(f"HResult value must be an int, not {type(self.value).__name__}")
        if not 0 <= self.value < _U32:
            raise ValueError(f"HResult value {self.value!r} is not an unsigned 32-bit integer")
        if not self.name:
            raise ValueError("HResult needs a symbolic name")

    @property
    def failed(self) -> bool:
        """True for a failure code (severity bit set), i.e. what FAILED() tests."""
        return bool(self.value & _SEVERITY_BIT)

    @property
    def signed(self) -> int:
        """The value as a signed 32-bit int (how pywin32 shows HRESULTs)."""
        return self.value - _U32 if self.failed else self.value

    @property
    def facility(self) -> int:
        """HRESULT_FACILITY: 0x20 for BITS, 0x19 for captured HTTP statuses, 7 for Win32 errors."""
        return (self.value >> 16) & 0x1FFF

    @property
    def code(self) -> int:
        """HRESULT_CODE: the low 16 bits."""
        return self.value & 0xFFFF

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __str__(self) -> str:
        return f"0x{self.value:08X} {self.name}"

    def __repr__(self) -> str:
        return f"HResult(value=0x{self.value:08X}, name={self.name!r}, message={self.message!r})"


_ENTRIES: list[HResult] = []


def _h(value: int, name: str, message: str) -> HResult:
    entry = HResult(value, name, message)
    _ENTRIES.append(entry)
    return entry


def _http_message(status: int, text: str) -> str:
    # The current bitsmsg.h prefixes every HTTP text with the status (e.g. "HTTP status 404: ...").
    return f"HTTP status {status}: {text}"


def _http(status: int, text: str) -> HResult:
    return _h(_HTTP_BASE + status, f"BG_E_HTTP_ERROR_{status}", _http_message(status, text))


# --------------------------------------------------------------------------------------------------
# Generic COM codes (docs/reference/return-codes.md#generic). S_FALSE has no text
# of its own: FormatMessage(1) gives the text of Win32 error 1, which is what Windows returns.
# E_POINTER, E_ABORT, E_FAIL, E_UNEXPECTED and RPC_E_DISCONNECTED are not in the reference tables; they are
# here so that a COM-level failure inside the emulator still has a catalogue entry.
# --------------------------------------------------------------------------------------------------

S_OK: Final = _h(0x00000000, "S_OK", "The operation completed successfully.")
S_FALSE: Final = _h(0x00000001, "S_FALSE", "Incorrect function.")
E_PENDING: Final = _h(
    0x8000000A,
    "E_PENDING",
    "The data necessary to complete this operation is not yet available.",
)
E_NOTIMPL: Final = _h(0x80004001, "E_NOTIMPL", "Not implemented")
E_NOINTERFACE: Final = _h(0x80004002, "E_NOINTERFACE", "No such interface supported")
E_POINTER: Final = _h(0x80004003, "E_POINTER", "Invalid pointer")
E_ABORT: Final = _h(0x80004004, "E_ABORT", "Operation aborted")
E_FAIL: Final = _h(0x80004005, "E_FAIL", "Unspecified error")
E_UNEXPECTED: Final = _h(0x8000FFFF, "E_UNEXPECTED", "Catastrophic failure")
RPC_E_DISCONNECTED: Final = _h(
    0x80010108,
    "RPC_E_DISCONNECTED",
    "The object invoked has disconnected from its clients.",
)
CO_E_FAILEDTOIMPERSONATE: Final = _h(
    0x80010123,
    "CO_E_FAILEDTOIMPERSONATE",
    "Unable to impersonate DCOM client",
)
REGDB_E_CLASSNOTREG: Final = _h(0x80040154, "REGDB_E_CLASSNOTREG", "Class not registered")
CRYPT_E_NOT_FOUND: Final = _h(0x80092004, "CRYPT_E_NOT_FOUND", "Cannot find object or property.")

# --------------------------------------------------------------------------------------------------
# Win32 errors as HRESULT_FROM_WIN32 (docs/reference/return-codes.md#generic), plus the
# file-system errors a local or SMB transfer can end with.
# --------------------------------------------------------------------------------------------------

ERROR_FILE_NOT_FOUND: Final = _h(
    0x80070002,
    "ERROR_FILE_NOT_FOUND",
    "The system cannot find the file specified.",
)
ERROR_PATH_NOT_FOUND: Final = _h(
    0x80070003,
    "ERROR_PATH_NOT_FOUND",
    "The system cannot find the path specified.",
)
E_ACCESSDENIED: Final = _h(0x80070005, "E_ACCESSDENIED", "Access is denied.")
E_OUTOFMEMORY: Final = _h(
    0x8007000E,
    "E_OUTOFMEMORY",
    "Not enough memory resources are available to complete this operation.",
)
ERROR_SHARING_VIOLATION: Final = _h(
    0x80070020,
    "ERROR_SHARING_VIOLATION",
    "The process cannot access the file because it is being used by another process.",
)
E_INVALIDARG: Final = _h(0x80070057, "E_INVALIDARG", "The parameter is incorrect.")
ERROR_DISK_FULL: Final = _h(0x80070070, "ERROR_DISK_FULL", "There is not enough space on the disk.")
ERROR_FILENAME_EXCED_RANGE: Final = _h(
    0x800700CE, "ERROR_FILENAME_EXCED_RANGE", "The filename or extension is too long."
)
# What a call on an object of an ended process gives (a callback whose application exited).
RPC_S_SERVER_UNAVAILABLE: Final = _h(0x800706BA, "RPC_S_SERVER_UNAVAILABLE", "The RPC server is unavailable.")
ERROR_INVALID_NAME: Final = _h(
    0x8007007B,
    "ERROR_INVALID_NAME",
    "The filename, directory name, or volume label syntax is incorrect.",
)
ERROR_MR_MID_NOT_FOUND: Final = _h(
    0x8007013D,
    "ERROR_MR_MID_NOT_FOUND",
    "The system cannot find message text for message number 0x%1 in the message file for %2.",
)
ERROR_NOT_LOGGED_ON: Final = _h(
    0x800704DD,
    "ERROR_NOT_LOGGED_ON",
    "The operation being requested was not performed because the user has not logged on to the "
    "network. The specified service does not exist.",
)
RPC_X_NULL_REF_POINTER: Final = _h(
    0x800706F4,
    "RPC_X_NULL_REF_POINTER",
    "A null reference pointer was passed to the stub.",
)
RPC_X_BAD_STUB_DATA: Final = _h(0x800706F7, "RPC_X_BAD_STUB_DATA", "The stub received bad data.")
ERROR_RESOURCE_LANG_NOT_FOUND: Final = _h(
    0x80070717,
    "ERROR_RESOURCE_LANG_NOT_FOUND",
    "The specified resource language ID cannot be found in the image file.",
)

# --------------------------------------------------------------------------------------------------
# WinHTTP errors as HRESULT_FROM_WIN32 (docs/reference/return-codes.md#winhttp).
# --------------------------------------------------------------------------------------------------

ERROR_WINHTTP_TIMEOUT: Final = _h(0x80072EE2, "ERROR_WINHTTP_TIMEOUT", "The operation timed out")
ERROR_WINHTTP_NAME_NOT_RESOLVED: Final = _h(
    0x80072EE7,
    "ERROR_WINHTTP_NAME_NOT_RESOLVED",
    "The server name or address could not be resolved",
)
ERROR_WINHTTP_CANNOT_CONNECT: Final = _h(
    0x80072EFD,
    "ERROR_WINHTTP_CANNOT_CONNECT",
    "A connection with the server could not be established",
)
ERROR_WINHTTP_CONNECTION_ERROR: Final = _h(
    0x80072EFE,
    "ERROR_WINHTTP_CONNECTION_ERROR",
    "The connection with the server was terminated abnormally",
)
ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED: Final = _h(
    0x80072F0C,
    "ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED",
    "A certificate is required to complete client authentication",
)
ERROR_WINHTTP_INVALID_SERVER_RESPONSE: Final = _h(
    0x80072F78,
    "ERROR_WINHTTP_INVALID_SERVER_RESPONSE",
    "The server returned an invalid or unrecognized response",
)
ERROR_WINHTTP_SECURE_FAILURE: Final = _h(
    0x80072F8F,
    "ERROR_WINHTTP_SECURE_FAILURE",
    "A security error occurred",
)
ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY: Final = _h(
    0x80072F9A,
    "ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY",
    "The application does not have the required privileges to access the private key associated "
    "with the client certificate.",
)

# --------------------------------------------------------------------------------------------------
# BITS success codes, facility 0x20 (docs/reference/return-codes.md#success).
# --------------------------------------------------------------------------------------------------

BG_S_ERROR_CONTEXT_NONE: Final = _h(0x00200006, "BG_S_ERROR_CONTEXT_NONE", "No errors have occurred.")
BG_S_PARTIAL_COMPLETE: Final = _h(
    0x00200017,
    "BG_S_PARTIAL_COMPLETE",
    "Some of the transferred files were deleted because they were incomplete.",
)
BG_S_UNABLE_TO_DELETE_FILES: Final = _h(
    0x0020001A,
    "BG_S_UNABLE_TO_DELETE_FILES",
    "Some of the temporary files could not be deleted. Check the system event log for the complete "
    "list of files that could not be deleted.",
)
BG_S_PROXY_CHANGED: Final = _h(0x0020002A, "BG_S_PROXY_CHANGED", "The proxy server was changed.")
BG_S_OVERRIDDEN_BY_POLICY: Final = _h(
    0x00200055,
    "BG_S_OVERRIDDEN_BY_POLICY",
    "The configuration preferences have been saved successfully, but one or more of them are "
    "overridden by Group Policy.",
)

# --------------------------------------------------------------------------------------------------
# BITS error codes, facility 0x20 (docs/reference/return-codes.md#bits-errors). 0x80200006 is
# BG_S_ERROR_CONTEXT_NONE's slot.
# --------------------------------------------------------------------------------------------------

BG_E_NOT_FOUND: Final = _h(0x80200001, "BG_E_NOT_FOUND", "The requested job was not found.")
BG_E_INVALID_STATE: Final = _h(
    0x80200002,
    "BG_E_INVALID_STATE",
    "The requested action is not allowed in the current job state. The job might have been "
    "canceled or completed transferring. It is in a read-only state now.",
)
BG_E_EMPTY: Final = _h(
    0x80200003,
    "BG_E_EMPTY",
    "There are no files attached to this job. Attach files to the job, and then try again.",
)
BG_E_FILE_NOT_AVAILABLE: Final = _h(
    0x80200004,
    "BG_E_FILE_NOT_AVAILABLE",
    "No file is available because no URL generated an error.",
)
BG_E_PROTOCOL_NOT_AVAILABLE: Final = _h(
    0x80200005,
    "BG_E_PROTOCOL_NOT_AVAILABLE",
    "No protocol is available because no URL generated an error.",
)
BG_E_ERROR_CONTEXT_UNKNOWN: Final = _h(
    0x80200007,
    "BG_E_ERROR_CONTEXT_UNKNOWN",
    "The error occurred in an unknown location.",
)
BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER: Final = _h(
    0x80200008,
    "BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER",
    "The error occurred in the Background Intelligent Transfer Service (BITS) queue manager.",
)
BG_E_ERROR_CONTEXT_LOCAL_FILE: Final = _h(
    0x80200009,
    "BG_E_ERROR_CONTEXT_LOCAL_FILE",
    "The error occurred while the local file was being processed. Verify that the file is not in "
    "use, and then try again.",
)
BG_E_ERROR_CONTEXT_REMOTE_FILE: Final = _h(
    0x8020000A,
    "BG_E_ERROR_CONTEXT_REMOTE_FILE",
    "The error occurred while the remote file was being processed.",
)
BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT: Final = _h(
    0x8020000B,
    "BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT",
    "The error occurred in the transport layer. The client could not connect to the server.",
)
BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION: Final = _h(
    0x8020000C,
    "BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION",
    "The error occurred while the notification callback was being processed. Background "
    "Intelligent Transfer Service (BITS) will try again later.",
)
BG_E_DESTINATION_LOCKED: Final = _h(
    0x8020000D,
    "BG_E_DESTINATION_LOCKED",
    "The destination file system volume is not available. Verify that another program, such as "
    "CheckDisk, is not running, which would lock the volume. When the volume is available, "
    "Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_VOLUME_CHANGED: Final = _h(
    0x8020000E,
    "BG_E_VOLUME_CHANGED",
    "The destination volume has changed. If the disk is removable, it might have been replaced "
    "with a different disk. Reinsert the original disk and resume the job.",
)
BG_E_ERROR_INFORMATION_UNAVAILABLE: Final = _h(
    0x8020000F,
    "BG_E_ERROR_INFORMATION_UNAVAILABLE",
    "No errors have occurred.",
)
BG_E_NETWORK_DISCONNECTED: Final = _h(
    0x80200010,
    "BG_E_NETWORK_DISCONNECTED",
    "There are currently no active network connections. Background Intelligent Transfer Service "
    "(BITS) will try again when an adapter is connected.",
)
BG_E_MISSING_FILE_SIZE: Final = _h(
    0x80200011,
    "BG_E_MISSING_FILE_SIZE",
    "The server did not return the file size. The URL might point to dynamic content. The "
    "Content-Length header is not available in the server's HTTP reply.",
)
BG_E_INSUFFICIENT_HTTP_SUPPORT: Final = _h(
    0x80200012,
    "BG_E_INSUFFICIENT_HTTP_SUPPORT",
    "The server does not support HTTP 1.1.",
)
BG_E_INSUFFICIENT_RANGE_SUPPORT: Final = _h(
    0x80200013,
    "BG_E_INSUFFICIENT_RANGE_SUPPORT",
    "The server does not support the necessary HTTP protocol. Background Intelligent Transfer "
    "Service (BITS) requires that the server support the Range protocol header.",
)
BG_E_REMOTE_NOT_SUPPORTED: Final = _h(
    0x80200014,
    "BG_E_REMOTE_NOT_SUPPORTED",
    "Background Intelligent Transfer Service (BITS) cannot be used remotely.",
)
BG_E_NEW_OWNER_DIFF_MAPPING: Final = _h(
    0x80200015,
    "BG_E_NEW_OWNER_DIFF_MAPPING",
    "The drive mapping for the job is different for the current owner than for the previous owner. "
    "Use a UNC path instead.",
)
BG_E_NEW_OWNER_NO_FILE_ACCESS: Final = _h(
    0x80200016,
    "BG_E_NEW_OWNER_NO_FILE_ACCESS",
    "The new owner has insufficient access to the local files for the job. The new owner might not "
    "have permissions to access the job files. Verify that the new owner has sufficient "
    "permissions, and then try again.",
)
BG_E_PROXY_LIST_TOO_LARGE: Final = _h(
    0x80200018,
    "BG_E_PROXY_LIST_TOO_LARGE",
    "The HTTP proxy list cannot be longer than 32,000 characters. Try again with a shorter proxy list.",
)
BG_E_PROXY_BYPASS_LIST_TOO_LARGE: Final = _h(
    0x80200019,
    "BG_E_PROXY_BYPASS_LIST_TOO_LARGE",
    "The HTTP proxy bypass list cannot be longer than 32,000 characters. Try again with a shorter "
    "bypass proxy list.",
)
BG_E_INVALID_SERVER_RESPONSE: Final = _h(
    0x8020001B,
    "BG_E_INVALID_SERVER_RESPONSE",
    "The server's response was not valid. The server was not following the defined protocol. "
    "Resume the job, and then Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_TOO_MANY_FILES: Final = _h(0x8020001C, "BG_E_TOO_MANY_FILES", "No more files can be added to this job.")
BG_E_LOCAL_FILE_CHANGED: Final = _h(
    0x8020001D,
    "BG_E_LOCAL_FILE_CHANGED",
    "The local file was changed during the transfer. Recreate the job, and then try to transfer it again.",
)
BG_E_ERROR_CONTEXT_REMOTE_APPLICATION: Final = _h(
    0x8020001E,
    "BG_E_ERROR_CONTEXT_REMOTE_APPLICATION",
    "The program on the remote server reported the error.",
)
BG_E_SESSION_NOT_FOUND: Final = _h(
    0x8020001F,
    "BG_E_SESSION_NOT_FOUND",
    "The specified session could not be found on the server. Background Intelligent Transfer "
    "Service (BITS) will try again.",
)
BG_E_TOO_LARGE: Final = _h(
    0x80200020,
    "BG_E_TOO_LARGE",
    "The job is too large for the server to accept. This job might exceed a job size limit set by "
    "the server administrator. Reduce the size of the job, and then try again.",
)
BG_E_STRING_TOO_LONG: Final = _h(0x80200021, "BG_E_STRING_TOO_LONG", "The specified string is too long.")
BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH: Final = _h(
    0x80200022,
    "BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH",
    "The client and server versions of Background Intelligent Transfer Service (BITS) are incompatible.",
)
BG_E_SERVER_EXECUTE_ENABLED: Final = _h(
    0x80200023,
    "BG_E_SERVER_EXECUTE_ENABLED",
    "Scripting OR execute permissions are enabled on the IIS virtual directory associated with the "
    "job. To upload files to the virtual directory, disable the scripting and execute permissions "
    "on the virtual directory.",
)
BG_E_NO_PROGRESS: Final = _h(
    0x80200024,
    "BG_E_NO_PROGRESS",
    "The job is not making headway.  The server may be misconfigured.  Background Intelligent "
    "Transfer Service (BITS) will try again later.",
)
BG_E_USERNAME_TOO_LARGE: Final = _h(
    0x80200025,
    "BG_E_USERNAME_TOO_LARGE",
    "The user name cannot be longer than 300 characters. Try again with a shorter name.",
)
BG_E_PASSWORD_TOO_LARGE: Final = _h(
    0x80200026,
    "BG_E_PASSWORD_TOO_LARGE",
    "The password cannot be longer than 65536 characters. Try again with a shorter password.",
)
BG_E_INVALID_AUTH_TARGET: Final = _h(
    0x80200027,
    "BG_E_INVALID_AUTH_TARGET",
    "The authentication target specified in the credentials is not defined.",
)
BG_E_INVALID_AUTH_SCHEME: Final = _h(
    0x80200028,
    "BG_E_INVALID_AUTH_SCHEME",
    "The authentication scheme specified in the credentials is not defined.",
)
BG_E_FILE_NOT_FOUND: Final = _h(
    0x80200029,
    "BG_E_FILE_NOT_FOUND",
    "The specified file name does not match any of the files in the job.",
)
BG_E_INVALID_RANGE: Final = _h(
    0x8020002B,
    "BG_E_INVALID_RANGE",
    "The requested byte range extends beyond the end of the web page.  Use byte ranges that are "
    "wholly within the page.",
)
BG_E_OVERLAPPING_RANGES: Final = _h(
    0x8020002C,
    "BG_E_OVERLAPPING_RANGES",
    "The list of byte ranges contains some overlapping ranges, which are not supported.",
)
BG_E_CONNECT_FAILURE: Final = _h(0x8020002D, "BG_E_CONNECT_FAILURE", "A connection could not be established.")
BG_E_CONNECTION_CLOSED: Final = _h(
    0x8020002E,
    "BG_E_CONNECTION_CLOSED",
    "The connection was closed prematurely.",
)
BG_E_BLOCKED_BY_POLICY: Final = _h(
    0x8020003E,
    "BG_E_BLOCKED_BY_POLICY",
    "Group Policy settings prevent background jobs from running at this time.",
)
BG_E_INVALID_PROXY_INFO: Final = _h(
    0x8020003F,
    "BG_E_INVALID_PROXY_INFO",
    "The supplied proxy server or bypass list is invalid.",
)
BG_E_INVALID_CREDENTIALS: Final = _h(
    0x80200040,
    "BG_E_INVALID_CREDENTIALS",
    "The format of the supplied security credentials is invalid.",
)
BG_E_INVALID_HASH_ALGORITHM: Final = _h(
    0x80200041,
    "BG_E_INVALID_HASH_ALGORITHM",
    "The application chose an unsupported hashing algorithm.",
)
BG_E_RECORD_DELETED: Final = _h(
    0x80200042,
    "BG_E_RECORD_DELETED",
    "The chosen cache record has been deleted.  The attempt to update it has been abandoned.",
)
BG_E_COMMIT_IN_PROGRESS: Final = _h(
    0x80200043,
    "BG_E_COMMIT_IN_PROGRESS",
    "Another application thread is already updating the cache record.",
)
BG_E_DISCOVERY_IN_PROGRESS: Final = _h(
    0x80200044,
    "BG_E_DISCOVERY_IN_PROGRESS",
    "The system is already searching for neighbors.  Retry the operation after a few seconds.",
)
BG_E_UPNP_ERROR: Final = _h(
    0x80200045,
    "BG_E_UPNP_ERROR",
    "A Universal Plug and Play (UPnP) error has occured.  Please check your Internet Gateway Device.",
)
BG_E_TEST_OPTION_BLOCKED_DOWNLOAD: Final = _h(
    0x80200046,
    "BG_E_TEST_OPTION_BLOCKED_DOWNLOAD",
    "The test option is blocking the download after the search completed.",
)
BG_E_PEERCACHING_DISABLED: Final = _h(0x80200047, "BG_E_PEERCACHING_DISABLED", "Peer-caching is disabled.")
BG_E_BUSYCACHERECORD: Final = _h(
    0x80200048,
    "BG_E_BUSYCACHERECORD",
    "The cache record is in use and can not be changed or deleted at this time.  Try again after a "
    "few seconds.",
)
BG_E_TOO_MANY_JOBS_PER_USER: Final = _h(
    0x80200049,
    "BG_E_TOO_MANY_JOBS_PER_USER",
    "Job count for the current user has exceeded the per user job limit.",
)
BG_E_TOO_MANY_JOBS_PER_MACHINE: Final = _h(
    0x80200050,
    "BG_E_TOO_MANY_JOBS_PER_MACHINE",
    "Job count for the current machine has exceeded the per machine job limit.",
)
BG_E_TOO_MANY_FILES_IN_JOB: Final = _h(
    0x80200051,
    "BG_E_TOO_MANY_FILES_IN_JOB",
    "File count for the current job has exceeded the per job file limit.",
)
BG_E_TOO_MANY_RANGES_IN_FILE: Final = _h(
    0x80200052,
    "BG_E_TOO_MANY_RANGES_IN_FILE",
    "Range count for the current file has exceeded the per file Range limit.",
)
BG_E_VALIDATION_FAILED: Final = _h(
    0x80200053,
    "BG_E_VALIDATION_FAILED",
    "The application requested data from a web site, but the response was invalid. Using Event "
    "Viewer, check the log 'Application Logs \\ Microsoft \\ Windows \\ Bits-client \\ "
    "Operational' for more details.",
)
BG_E_MAXDOWNLOAD_TIMEOUT: Final = _h(
    0x80200054,
    "BG_E_MAXDOWNLOAD_TIMEOUT",
    "BITS timed out downloading the job. The download did not complete within the maximum download "
    "time set on the job.",
)
BG_E_TOKEN_REQUIRED: Final = _h(
    0x80200056,
    "BG_E_TOKEN_REQUIRED",
    "The job is configured to use a different security token for some operations, but the token is "
    "not currently available.  The application must provide a token and then resume the job.",
)
BG_E_UNKNOWN_PROPERTY_ID: Final = _h(
    0x80200057,
    "BG_E_UNKNOWN_PROPERTY_ID",
    "SetProperty() or GetProperty() called with an unknown property ID.",
)
BG_E_READ_ONLY_PROPERTY: Final = _h(
    0x80200058,
    "BG_E_READ_ONLY_PROPERTY",
    "Unable to call SetProperty() on a read-only property.",
)
BG_E_BLOCKED_BY_COST_TRANSFER_POLICY: Final = _h(
    0x80200059,
    "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY",
    "The job's cost transfer policy settings prevent the job from transferring at this time.",
)
BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY: Final = _h(
    0x80200060,
    "BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY",
    "The property is supported for download jobs only.",
)
BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE: Final = _h(
    0x80200061,
    "BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE",
    "The property cannot be changed after adding a file to job.",
)
BG_E_READ_ONLY_PROPERTY_AFTER_RESUME: Final = _h(
    0x80200062,
    "BG_E_READ_ONLY_PROPERTY_AFTER_RESUME",
    "The property cannot be changed after Resuming the job.",
)
BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE: Final = _h(
    0x80200063,
    "BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE",
    "The value provided for BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE property is invalid. Please "
    "provide value between 1 and UINT64_MAX.",
)
BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED: Final = _h(
    0x80200064,
    "BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED",
    "BITS cannot continue downloading the job. The download reached the maximum download size "
    "limit set on the job.",
)
BG_E_STANDBY_MODE: Final = _h(
    0x80200065,
    "BG_E_STANDBY_MODE",
    "The transfer was paused because the computer is in power-saving mode. The transfer will "
    "resume when the computer wakes up.",
)
BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED: Final = _h(
    0x80200066,
    "BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED",
    "The value provided for BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS property is invalid. The "
    "property is only supported for Proxy (BG_AUTH_TARGET_PROXY) targets.",
)
BG_E_BLOCKED_BY_BATTERY_POLICY: Final = _h(
    0x80200067,
    "BG_E_BLOCKED_BY_BATTERY_POLICY",
    "The transfer was paused because the computer is running on battery power. The transfer will "
    "resume when the system is reconnected to A/C power.",
)
BG_E_BLOCKED_BY_BATTERY_SAVER: Final = _h(
    0x80200068,
    "BG_E_BLOCKED_BY_BATTERY_SAVER",
    "The transfer was paused because the computer is in Battery Saver mode. The transfer will "
    "resume when the system is reconnected to A/C power or no longer in Battery Saver mode.",
)
BG_E_WATCHDOG_TIMEOUT: Final = _h(
    0x80200069,
    "BG_E_WATCHDOG_TIMEOUT",
    "An operation did not complete within the expected time interval.",
)
BG_E_APP_PACKAGE_NOT_FOUND: Final = _h(
    0x8020006A,
    "BG_E_APP_PACKAGE_NOT_FOUND",
    "An app package matching the job owner or COM caller was not found.",
)
BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED: Final = _h(
    0x8020006B,
    "BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED",
    "BITS usage by app packages cannot be supported on this device because one or more "
    "dependencies are missing.",
)
BG_E_DATABASE_CORRUPT: Final = _h(
    0x8020006C,
    "BG_E_DATABASE_CORRUPT",
    "BITS persistent state corruption was detected. The necessary steps will be taken to fix this "
    "issue once BITS is restarted. BITS will now shutdown.",
)
BG_E_RANDOM_ACCESS_NOT_SUPPORTED: Final = _h(
    0x8020006D,
    "BG_E_RANDOM_ACCESS_NOT_SUPPORTED",
    "BITS IBackgroundCopyFile6 methods are not supported in SMB, dynamic content, multirange, "
    "upload, or upload-reply transfers.",
)
BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY: Final = _h(
    0x8020006E,
    "BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY",
    "The background access settings of the job's owner app prevent the job from transferring at this time.",
)
BG_E_BLOCKED_BY_GAME_MODE: Final = _h(
    0x8020006F,
    "BG_E_BLOCKED_BY_GAME_MODE",
    "The job was paused because there is an active Game Mode recipient that isn't the job's owner. "
    "The job will resume once the Game Mode recipient loses input focus or is closed.",
)
BG_E_BLOCKED_BY_SYSTEM_POLICY: Final = _h(
    0x80200070,
    "BG_E_BLOCKED_BY_SYSTEM_POLICY",
    "The job was paused due to system resource constraints. The job will automatically resume once "
    "system conditions change.",
)
BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD: Final = _h(
    0x80200071,
    "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD",
    "The requested action is not supported by jobs configured with a custom HTTP method.",
)
BG_E_UNSUPPORTED_JOB_CONFIGURATION: Final = _h(
    0x80200072,
    "BG_E_UNSUPPORTED_JOB_CONFIGURATION",
    "The current job configuration is not compatible with the requested action.",
)
BG_E_REMOTE_FILE_CHANGED: Final = _h(
    0x80200073,
    "BG_E_REMOTE_FILE_CHANGED",
    "The remote file was changed during the transfer. If this is expected, call Resume on the job "
    "to initiate a retry.",
)
BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED: Final = _h(
    0x80200074,
    "BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED",
    "The job is configured to raise a certificate validation callback, but the callback object is "
    "not currently available. The job owner must provide a new callback object and then resume the "
    "job.",
)
BG_E_READ_ONLY_WHEN_JOB_ACTIVE: Final = _h(
    0x80200075,
    "BG_E_READ_ONLY_WHEN_JOB_ACTIVE",
    "This method should only be called when the job is in a paused state (SUSPENDED/ERROR/TRANSFERRED).",
)
BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK: Final = _h(
    0x80200076,
    "BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK",
    "The error occurred while the user-provided server certificate validation callback was being processed.",
)

# --------------------------------------------------------------------------------------------------
# Captured HTTP statuses, facility 0x19: every status bitsmsg.h defines (docs/reference/return-codes.md#http).
# --------------------------------------------------------------------------------------------------

BG_E_HTTP_ERROR_100: Final = _http(100, "The request can be continued.")
BG_E_HTTP_ERROR_101: Final = _http(101, "The server switched protocols in an upgrade header.")
BG_E_HTTP_ERROR_200: Final = _http(
    200,
    "The server's response was not valid. The server was not following the defined protocol. "
    "Resume the job, and then Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_HTTP_ERROR_201: Final = _http(
    201,
    "The request was fulfilled and resulted in the creation of a new resource.",
)
BG_E_HTTP_ERROR_202: Final = _http(
    202,
    "The request was accepted for processing, but the processing has not been completed yet.",
)
BG_E_HTTP_ERROR_203: Final = _http(
    203,
    "The returned metadata in the entity-header is not the definitive set available from the "
    "server of origin.",
)
BG_E_HTTP_ERROR_204: Final = _http(
    204,
    "The server has fulfilled the request, but there is no new information to send back.",
)
BG_E_HTTP_ERROR_205: Final = _http(
    205,
    "The server's response was not valid. The server was not following the defined protocol. "
    "Resume the job, and then Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_HTTP_ERROR_206: Final = _http(206, "The server fulfilled the partial GET request for the resource.")
BG_E_HTTP_ERROR_300: Final = _http(300, "The server could not return the requested data.")
BG_E_HTTP_ERROR_301: Final = _http(
    301,
    "The requested resource was assigned to a new permanent Uniform Resource Identifier (URI), and "
    "any future references to this resource should use one of the returned URIs.",
)
BG_E_HTTP_ERROR_302: Final = _http(
    302,
    "The requested resource was assigned a different Uniform Resource Identifier (URI). This "
    "change is temporary.",
)
BG_E_HTTP_ERROR_303: Final = _http(
    303,
    "The response to the request is under a different Uniform Resource Identifier (URI) and must "
    "be retrieved using a GET method on that resource.",
)
BG_E_HTTP_ERROR_304: Final = _http(
    304,
    "The server's response was not valid. The server was not following the defined protocol. "
    "Resume the job, and then Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_HTTP_ERROR_305: Final = _http(
    305,
    "The requested resource must be accessed through the proxy given by the location field.",
)
BG_E_HTTP_ERROR_307: Final = _http(307, "The URL has been temporarily relocated. Try again later.")
BG_E_HTTP_ERROR_400: Final = _http(
    400,
    "The server cannot process the request because the syntax is not valid.",
)
BG_E_HTTP_ERROR_401: Final = _http(401, "The requested resource requires user authentication.")
BG_E_HTTP_ERROR_402: Final = _http(
    402,
    "The server's response was not valid. The server was not following the defined protocol. "
    "Resume the job, and then Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_HTTP_ERROR_403: Final = _http(
    403,
    "The client does not have sufficient access rights to the requested server object.",
)
BG_E_HTTP_ERROR_404: Final = _http(404, "The requested URL does not exist on the server.")
BG_E_HTTP_ERROR_405: Final = _http(405, "The method used is not allowed.")
BG_E_HTTP_ERROR_406: Final = _http(406, "No responses acceptable to the client were found.")
BG_E_HTTP_ERROR_407: Final = _http(407, "Proxy authentication is required.")
BG_E_HTTP_ERROR_408: Final = _http(408, "The server timed out waiting for the request.")
BG_E_HTTP_ERROR_409: Final = _http(
    409,
    "The request could not be completed because of a conflict with the current state of the "
    "resource. The user should resubmit the request with more information.",
)
BG_E_HTTP_ERROR_410: Final = _http(
    410,
    "The requested resource is not currently available at the server, and no forwarding address is known.",
)
BG_E_HTTP_ERROR_411: Final = _http(
    411,
    "The server cannot accept the request without a defined content length.",
)
BG_E_HTTP_ERROR_412: Final = _http(
    412,
    "The precondition given in one or more of the request header fields evaluated to false when it "
    "was tested on the server.",
)
BG_E_HTTP_ERROR_413: Final = _http(
    413,
    "The server cannot process the request because the request entity is too large.",
)
BG_E_HTTP_ERROR_414: Final = _http(
    414,
    "The server cannot process the request because the request Uniform Resource Identifier (URI) "
    "is longer than the server can interpret.",
)
BG_E_HTTP_ERROR_415: Final = _http(
    415,
    "The server's response was not valid. The server was not following the defined protocol. "
    "Resume the job, and then Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_HTTP_ERROR_416: Final = _http(416, "The server could not satisfy the range request.")
BG_E_HTTP_ERROR_417: Final = _http(
    417,
    "The server could not meet the expectation given in an Expect request-header field.",
)
BG_E_HTTP_ERROR_449: Final = _http(
    449,
    "The server's response was not valid. The server was not following the defined protocol. "
    "Resume the job, and then Background Intelligent Transfer Service (BITS) will try again.",
)
BG_E_HTTP_ERROR_500: Final = _http(
    500,
    "An unexpected condition prevented the server from fulfilling the request.",
)
BG_E_HTTP_ERROR_501: Final = _http(
    501,
    "The server does not support the functionality required to fulfill the request.",
)
BG_E_HTTP_ERROR_502: Final = _http(
    502,
    "The server, while acting as a gateway or proxy to fulfill the request, received an invalid "
    "response from the upstream server it accessed.",
)
BG_E_HTTP_ERROR_503: Final = _http(503, "The service is temporarily overloaded.")
BG_E_HTTP_ERROR_504: Final = _http(504, "The request was timed out waiting for a gateway.")
BG_E_HTTP_ERROR_505: Final = _http(
    505,
    "The server does not support the HTTP protocol version that was used in the request message.",
)

# --------------------------------------------------------------------------------------------------
# BITS event-log message ids, facility 0x19 (docs/reference/return-codes.md#event-log).
# Never returned by methods; their texts are templates with %1..%4 inserts.
# --------------------------------------------------------------------------------------------------

BITS_MC_JOB_CANCELLED: Final = _h(
    0x80194000,
    "BITS_MC_JOB_CANCELLED",
    'The administrator %4 canceled job "%2" on behalf of %3.  The job ID was %1.',
)
BITS_MC_FILE_DELETION_FAILED: Final = _h(
    0x80194001,
    "BITS_MC_FILE_DELETION_FAILED",
    'While canceling job "%2", BITS was not able to remove the temporary files listed '
    "below.\r\nIf you can delete them, then you will regain some disk space.  The job ID was "
    "%1.\r\n\r\n%3",
)
BITS_MC_FILE_DELETION_FAILED_MORE: Final = _h(
    0x80194002,
    "BITS_MC_FILE_DELETION_FAILED_MORE",
    'While canceling job "%2", BITS was not able to remove the temporary files listed '
    "below.\r\nIf you can delete them, then you will regain some disk space.  The job ID was "
    "%1.\r\n\r\n%3\r\n\r\nDue to space limitations, not all files are listed here.  Check for "
    "additional files of the form BITxxx.TMP in the same directory.",
)
BITS_MC_JOB_PROPERTY_CHANGE: Final = _h(
    0x80194003,
    "BITS_MC_JOB_PROPERTY_CHANGE",
    'The administrator %3 modified the %4 property of job "%2".  The job ID was %1.',
)
BITS_MC_JOB_TAKE_OWNERSHIP: Final = _h(
    0x80194004,
    "BITS_MC_JOB_TAKE_OWNERSHIP",
    'The administrator %4 took ownership of job "%2" from %3.  The job ID was %1.',
)
BITS_MC_JOB_SCAVENGED: Final = _h(
    0x80194005,
    "BITS_MC_JOB_SCAVENGED",
    'Job "%2" owned by %3 was canceled after being inactive for more than %4 days.  The job ID was %1.',
)
BITS_MC_JOB_NOTIFICATION_FAILURE: Final = _h(
    0x80194006,
    "BITS_MC_JOB_NOTIFICATION_FAILURE",
    'Job "%2" owned by %3 failed to notify its associated application.  BITS will retry in %4 '
    "minutes.  The job ID was %1.",
)
BITS_MC_STATE_FILE_CORRUPT: Final = _h(
    0x80194007,
    "BITS_MC_STATE_FILE_CORRUPT",
    "The BITS job list is not in a recognized format.  It may have been created by a different "
    "version of BITS.  The job list has been cleared.",
)
BITS_MC_FAILED_TO_START: Final = _h(
    0x80194008,
    "BITS_MC_FAILED_TO_START",
    "The BITS service failed to start. Try restarting the service at a later time.",
)
BITS_MC_FATAL_IGD_ERROR: Final = _h(
    0x80194009,
    "BITS_MC_FATAL_IGD_ERROR",
    "BITS has hit a fatal error communicating with an Internet Gateway Device.  Please check that "
    "the device is functioning properly. BITS will not attempt to use this device until the next "
    "system reboot.",
)
BITS_MC_PEERCACHING_PORT: Final = _h(0x8019400A, "BITS_MC_PEERCACHING_PORT", "BITS Peer-caching protocol")
BITS_MC_WSD_PORT: Final = _h(0x8019400B, "BITS_MC_WSD_PORT", "Web Services-Discovery protocol")

# Windows' headers spell 0x80200023 both ways (bitsmsg.h: BG_E_SERVER_EXECUTE_ENABLE; the docs and
# BITS return-values page: BG_E_SERVER_EXECUTE_ENABLED). One object, two names.
BG_E_SERVER_EXECUTE_ENABLE: Final = BG_E_SERVER_EXECUTE_ENABLED
_ALIASES: Final[Mapping[str, HResult]] = {"BG_E_SERVER_EXECUTE_ENABLE": BG_E_SERVER_EXECUTE_ENABLED}


def _index() -> tuple[dict[int, HResult], dict[str, HResult]]:
    by_value: dict[int, HResult] = {}
    by_name: dict[str, HResult] = {}
    for entry in _ENTRIES:
        if entry.value in by_value:
            raise RuntimeError(f"duplicate HRESULT {entry} (already {by_value[entry.value]})")
        if entry.name in by_name:
            raise RuntimeError(f"duplicate HRESULT name {entry.name}")
        by_value[entry.value] = entry
        by_name[entry.name] = entry
    for alias, entry in _ALIASES.items():
        if alias in by_name:
            raise RuntimeError(f"alias {alias} shadows a catalogue name")
        by_name[alias] = entry
    return by_value, by_name


_by_value, _by_name = _index()
#: value (unsigned) -> entry; read-only.
CATALOGUE: Final[Mapping[int, HResult]] = types.MappingProxyType(_by_value)
#: symbolic name -> entry, aliases included; read-only.
BY_NAME: Final[Mapping[str, HResult]] = types.MappingProxyType(_by_name)
del _by_value, _by_name


# --------------------------------------------------------------------------------------------------
# Conversions and look-ups
# --------------------------------------------------------------------------------------------------


def to_unsigned(value: SupportsIndex) -> int:
    """A signed (pywin32 style) or unsigned 32-bit HRESULT as an unsigned int.

    Raises ValueError outside -2**31 .. 2**32-1 and TypeError for anything that is not an integer.
    """
    number = operator.index(value)
    if not -(_U32 >> 1) <= number < _U32:
        raise ValueError(f"{number!r} does not fit in 32 bits")
    return number & 0xFFFF_FFFF


def hresult_from_win32(code: SupportsIndex) -> int:
    """HRESULT_FROM_WIN32: a Win32 error code as an (unsigned) HRESULT.

    As the winerror.h macro: a value that is already <= 0 as a signed 32-bit int (0, or an HRESULT
    with the severity bit) is returned unchanged (as unsigned); anything else becomes
    0x8007xxxx with the low 16 bits of the code.
    """
    unsigned = to_unsigned(code)
    if unsigned == 0 or unsigned & _SEVERITY_BIT:
        return unsigned
    return (unsigned & 0xFFFF) | (_FACILITY_WIN32 << 16) | _SEVERITY_BIT


@functools.cache
def _synthesized_http(status: int) -> HResult:
    return HResult(
        _HTTP_BASE + status,
        f"BG_E_HTTP_ERROR_{status}",
        _http_message(status, "The server returned an HTTP status code that is not recognized."),
    )


def http_error(status: SupportsIndex) -> HResult:
    """BG_E_HTTP_ERROR_<status> (0x80190000 + status) for an HTTP status BITS captured.

    Statuses that bitsmsg.h defines return the catalogue entry; any other status in 100..599 gets an
    entry built on the fly with the same name pattern and a generic text. ValueError outside 100..599.
    """
    number = operator.index(status)
    if not _HTTP_MIN <= number <= _HTTP_MAX:
        raise ValueError(f"HTTP status {number!r} is outside 100..599")
    return CATALOGUE.get(_HTTP_BASE + number) or _synthesized_http(number)


def _resolve(unsigned: int) -> HResult | None:
    entry = CATALOGUE.get(unsigned)
    if entry is None and _HTTP_BASE + _HTTP_MIN <= unsigned <= _HTTP_BASE + _HTTP_MAX:
        entry = _synthesized_http(unsigned - _HTTP_BASE)
    return entry


def lookup(value: SupportsIndex) -> HResult | None:
    """The entry for an HRESULT given signed or unsigned; None when the emulator does not know it.

    Any BG_E_HTTP_ERROR_<status> for a status in 100..599 is known (see :func:`http_error`).
    Raises ValueError when the value does not fit in 32 bits.
    """
    return _resolve(to_unsigned(value))


# LANGIDs served from the (English-only) message table: en-US, LANG_ENGLISH/SUBLANG_NEUTRAL,
# LANG_USER_DEFAULT, LANG_SYSTEM_DEFAULT, and 0 (the callers decide what 0 means before this point).
_ENGLISH_LANGIDS: Final = frozenset({0x0000, 0x0409, 0x0009, 0x0400, 0x0800})


def describe(value: SupportsIndex, language_id: int) -> str:
    """The description GetErrorDescription returns: the message text followed by CRLF.

    Raises BitsError(ERROR_RESOURCE_LANG_NOT_FOUND) for a language other than English (checked first,
    as FormatMessage finds the language's message table before the message) and
    BitsError(ERROR_MR_MID_NOT_FOUND) for a code without text.
    """
    unsigned = to_unsigned(value)
    if language_id not in _ENGLISH_LANGIDS:
        raise BitsError(
            ERROR_RESOURCE_LANG_NOT_FOUND,
            f"no message text for language id 0x{language_id:04X}; only English is installed",
        )
    entry = _resolve(unsigned)
    if entry is None:
        raise BitsError(ERROR_MR_MID_NOT_FOUND, f"no message text for 0x{unsigned:08X}")
    return entry.message + "\r\n"


# --------------------------------------------------------------------------------------------------
# The exception
# --------------------------------------------------------------------------------------------------


class BitsError(Exception):
    """A failing HRESULT, raised by every emulator method that fails.

    ``hresult`` is the unsigned value; ``name`` and ``message`` come from the catalogue
    (``HRESULT_0x........`` and a generic text for codes it does not know); ``detail`` is an optional
    emulator-side explanation of which rule fired. Success codes cannot be raised (ValueError).
    """

    hresult: int
    name: str
    message: str
    detail: str | None

    def __init__(self, hresult: HResult | int, detail: str | None = None) -> None:
        if isinstance(hresult, HResult):
            entry: HResult | None = hresult
            value = hresult.value
        else:
            value = to_unsigned(hresult)
            entry = _resolve(value)
        if not value & _SEVERITY_BIT:
            shown = entry if entry is not None else f"0x{value:08X}"
            raise ValueError(f"{shown} is a success code; success codes are returned, not raised")
        self.hresult = value
        self.name = entry.name if entry is not None else f"HRESULT_0x{value:08X}"
        self.message = entry.message if entry is not None else "Unknown error."
        self.detail = detail
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"0x{self.hresult:08X} {self.name}: {self.message}"
        return text if self.detail is None else f"{text} ({self.detail})"

    @property
    def signed(self) -> int:
        """The HRESULT as a signed 32-bit int (what pywin32's com_error.hresult holds)."""
        return self.hresult - _U32

    @property
    def entry(self) -> HResult:
        """The HRESULT as an :class:`HResult` (built on the fly for codes outside the catalogue)."""
        return HResult(self.hresult, self.name, self.message)

    def __str__(self) -> str:
        return self._text()

    def __reduce__(self) -> tuple[type[BitsError], tuple[HResult, str | None]]:
        return (type(self), (self.entry, self.detail))
