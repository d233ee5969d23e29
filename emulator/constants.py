"""BITS enumerations, flags and COM identities, with the numbers Windows uses.

Values are those of the Windows SDK headers; their meanings: docs/reference/interfaces.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import Final, Generic, TypeAlias, TypeVar

BG_SIZE_UNKNOWN: Final = 0xFFFFFFFFFFFFFFFF
BG_LENGTH_TO_EOF: Final = 0xFFFFFFFFFFFFFFFF
BG_JOB_ENUM_ALL_USERS: Final = 0x0001


class JobType(IntEnum):
    DOWNLOAD = 0
    UPLOAD = 1
    UPLOAD_REPLY = 2


class JobState(IntEnum):
    QUEUED = 0
    CONNECTING = 1
    TRANSFERRING = 2
    SUSPENDED = 3
    ERROR = 4
    TRANSIENT_ERROR = 5
    TRANSFERRED = 6
    ACKNOWLEDGED = 7
    CANCELLED = 8


class JobPriority(IntEnum):
    FOREGROUND = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3


class ProxyUsage(IntEnum):
    PRECONFIG = 0
    NO_PROXY = 1
    OVERRIDE = 2
    AUTODETECT = 3


class NotifyFlags(IntFlag):
    JOB_TRANSFERRED = 0x0001
    JOB_ERROR = 0x0002
    DISABLE = 0x0004
    JOB_MODIFICATION = 0x0008
    FILE_TRANSFERRED = 0x0010
    FILE_RANGES_TRANSFERRED = 0x0020


ALL_NOTIFY_FLAGS: Final = 0x003F


class ErrorContext(IntEnum):
    NONE = 0
    UNKNOWN = 1
    GENERAL_QUEUE_MANAGER = 2
    QUEUE_MANAGER_NOTIFICATION = 3
    LOCAL_FILE = 4
    REMOTE_FILE = 5
    GENERAL_TRANSPORT = 6
    REMOTE_APPLICATION = 7
    SERVER_CERTIFICATE_CALLBACK = 8


class AuthTarget(IntEnum):
    SERVER = 1
    PROXY = 2


class AuthScheme(IntEnum):
    BASIC = 1
    DIGEST = 2
    NTLM = 3
    NEGOTIATE = 4
    PASSPORT = 5


class TokenFlags(IntFlag):
    """BG_TOKEN_*: which resources a job reaches with its helper token."""

    LOCAL_FILE = 0x0001
    NETWORK = 0x0002


class ImpersonationLevel(IntEnum):
    """RPC_C_IMP_LEVEL_*."""

    DEFAULT = 0
    ANONYMOUS = 1
    IDENTIFY = 2
    IMPERSONATE = 3
    DELEGATE = 4


class Cloaking(IntEnum):
    """The cloaking bits of EOLE_AUTHENTICATION_CAPABILITIES (EOAC_*)."""

    NONE = 0x00
    STATIC = 0x20
    DYNAMIC = 0x40


class SecurityFlags(IntFlag):
    """BG_SSL_* and BG_HTTP_REDIRECT_POLICY_* (SetSecurityFlags,
    https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/nf-bits2_5-ibackgroundcopyjobhttpoptions-setsecurityflags).
    The redirect policy is the field REDIRECT_POLICY_MASK selects; ALLOW_SILENT, its default, is 0."""

    SSL_ENABLE_CRL_CHECK = 0x0001
    SSL_IGNORE_CERT_CN_INVALID = 0x0002
    SSL_IGNORE_CERT_DATE_INVALID = 0x0004
    SSL_IGNORE_UNKNOWN_CA = 0x0008
    SSL_IGNORE_CERT_WRONG_USAGE = 0x0010
    REDIRECT_POLICY_ALLOW_SILENT = 0x0000
    REDIRECT_POLICY_ALLOW_REPORT = 0x0100
    REDIRECT_POLICY_DISALLOW = 0x0200
    REDIRECT_POLICY_MASK = 0x0700
    REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP = 0x0800


VALID_SECURITY_FLAGS: Final = 0x001F | 0x0100 | 0x0200 | 0x0800


class CertStoreLocation(IntEnum):
    CURRENT_USER = 0
    LOCAL_MACHINE = 1
    CURRENT_SERVICE = 2
    SERVICES = 3
    USERS = 4
    CURRENT_USER_GROUP_POLICY = 5
    LOCAL_MACHINE_GROUP_POLICY = 6
    LOCAL_MACHINE_ENTERPRISE = 7


class JobPropertyId(IntEnum):
    """BITS_JOB_PROPERTY_ID (BITS 5.0+)."""

    COST_FLAGS = 1
    NOTIFICATION_CLSID = 2
    DYNAMIC_CONTENT = 3
    HIGH_PERFORMANCE = 4
    MAX_DOWNLOAD_SIZE = 5
    USE_STORED_CREDENTIALS = 7
    MINIMUM_NOTIFICATION_INTERVAL_MS = 9
    ON_DEMAND_MODE = 10


class CostState(IntFlag):
    """BITS_COST_STATE: a network's cost, and the bits of a job's COST_FLAGS transfer policy (BITS 5.0+).

    Values: https://learn.microsoft.com/en-us/windows/win32/bits/bits-cost-state (ROAMING, which that page
    names only inside BITS_COST_STATE_TRANSFER_ALWAYS, is 0x80 in bits5_0.h). IGNORE_CONGESTION is an option
    of a job's policy and RESERVED is reserved: neither is a state a network can be in."""

    UNRESTRICTED = 0x1
    CAPPED_USAGE_UNKNOWN = 0x2
    BELOW_CAP = 0x4
    NEAR_CAP = 0x8
    OVERCAP_CHARGED = 0x10
    OVERCAP_THROTTLED = 0x20
    USAGE_BASED = 0x40
    ROAMING = 0x80
    RESERVED = 0x40000000
    IGNORE_CONGESTION = 0x80000000  # BITS_COST_OPTION_IGNORE_CONGESTION


class TransferPolicy(IntEnum):
    """BITS_JOB_TRANSFER_POLICY: the ready-made COST_FLAGS values, each the CostState bits a job accepts
    (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_transfer_policy).
    ALWAYS is a new job's COST_FLAGS (docs/reference/readings.md#job5-defaults)."""

    ALWAYS = 0x800000FF  # any network, whatever its cost
    NOT_ROAMING = 0x8000007F  # not while roaming
    NO_SURCHARGE = 0x8000006F  # not roaming, not over a cap that charges
    STANDARD = 0x80000067  # as NO_SURCHARGE, and not near the cap
    UNRESTRICTED = 0x80000021  # unmetered networks only (UNRESTRICTED or OVERCAP_THROTTLED)


# The CostState bits a network's cost state may hold (UNRESTRICTED … ROAMING): IGNORE_CONGESTION is an option of
# a job's policy and RESERVED is reserved.
NETWORK_COST_STATES: Final = 0xFF


class FilePropertyId(IntEnum):
    HTTP_RESPONSE_HEADERS = 1


class PeerCachingFlags(IntFlag):
    ENABLE_PEERCACHING_CLIENT = 0x1
    ENABLE_PEERCACHING_SERVER = 0x2
    DISABLE_BRANCH_CACHE = 0x4


class FileAclFlags(IntFlag):
    """BG_COPY_FILE_* (SetFileACLFlags)."""

    OWNER = 0x1
    GROUP = 0x2
    DACL = 0x4
    SACL = 0x8
    ALL = 0xF


# What answers a QueryInterface for an interface, as a type: ``Interface[JobKind]`` is answered by the job
# object (emulator.Job), ``Interface[FileKind]`` by the file object, and so on. The kinds are markers (never
# instantiated) so that this module, below every other, names no class of the facade; com/base.py maps each
# kind to its class in the overloads of ``query_interface``, which is what lets a type checker know that
# ``job.query_interface(IBitsTokenOptions)`` is the token-options view without a cast.


class UnknownKind:
    """IUnknown: answered by whatever object is asked."""


class ManagerKind:
    """IBackgroundCopyManager: emulator.Manager."""


class JobKind:
    """IBackgroundCopyJob…Job5 and IBackgroundCopyJobHttpOptions…3: emulator.Job."""


class TokenOptionsKind:
    """IBitsTokenOptions: emulator.TokenOptions (obtained from a job)."""


class FileKind:
    """IBackgroundCopyFile…File6: emulator.File."""


class JobEnumKind:
    """IEnumBackgroundCopyJobs: emulator.JobEnumerator."""


class FileEnumKind:
    """IEnumBackgroundCopyFiles: emulator.FileEnumerator."""


class ErrorKind:
    """IBackgroundCopyError: emulator.CopyError."""


class CallbackKind:
    """IBackgroundCopyCallback…3: implemented by the client, never answered by the emulator."""


KindT = TypeVar("KindT", covariant=True)


@dataclass(frozen=True, slots=True)
class Interface(Generic[KindT]):
    """A COM interface: its name, IID, the BITS version that introduced it, and what answers it (``kind``)."""

    name: str
    iid: uuid.UUID
    bits_version: tuple[int, int]
    kind: type[KindT] = field(compare=False, repr=False)

    def __str__(self) -> str:
        return self.name


# Any interface, whatever answers it (Interface is covariant in its kind).
AnyInterface: TypeAlias = "Interface[object]"


def _iface(name: str, iid: str, version: tuple[int, int], kind: type[KindT]) -> Interface[KindT]:
    return Interface(name, uuid.UUID(iid), version, kind)


IUnknown: Final = _iface("IUnknown", "00000000-0000-0000-c000-000000000046", (1, 0), UnknownKind)
IBackgroundCopyManager: Final = _iface(
    "IBackgroundCopyManager", "5ce34c0d-0dc9-4c1f-897c-daa1b78cee7c", (1, 0), ManagerKind
)
IBackgroundCopyJob: Final = _iface("IBackgroundCopyJob", "37668d37-507e-4160-9316-26306d150b12", (1, 0), JobKind)
IBackgroundCopyJob2: Final = _iface("IBackgroundCopyJob2", "54b50739-686f-45eb-9dff-d6a9a0faa9af", (1, 5), JobKind)
IBackgroundCopyJob3: Final = _iface("IBackgroundCopyJob3", "443c8934-90ff-48ed-bcde-26f5c7450042", (2, 0), JobKind)
IBackgroundCopyJob4: Final = _iface("IBackgroundCopyJob4", "659cdeae-489e-11d9-a9cd-000d56965251", (3, 0), JobKind)
IBackgroundCopyJob5: Final = _iface("IBackgroundCopyJob5", "e847030c-bbba-4657-af6d-484aa42bf1fe", (5, 0), JobKind)
IBackgroundCopyJobHttpOptions: Final = _iface(
    "IBackgroundCopyJobHttpOptions", "f1bd1079-9f01-4bdc-8036-f09b70095066", (2, 5), JobKind
)
IBackgroundCopyJobHttpOptions2: Final = _iface(
    "IBackgroundCopyJobHttpOptions2", "b591a192-a405-4fc3-8323-4c5c542578fc", (10, 2), JobKind
)
IBackgroundCopyJobHttpOptions3: Final = _iface(
    "IBackgroundCopyJobHttpOptions3", "8a9263d3-fd4c-4eda-9b28-30132a4d4e3c", (10, 3), JobKind
)
IBitsTokenOptions: Final = _iface("IBitsTokenOptions", "9a2584c3-f7d2-457a-9a5e-22b67bffc7d2", (4, 0), TokenOptionsKind)
IBackgroundCopyFile: Final = _iface("IBackgroundCopyFile", "01b7bd23-fb88-4a77-8490-5891d3e4653a", (1, 0), FileKind)
IBackgroundCopyFile2: Final = _iface("IBackgroundCopyFile2", "83e81b93-0873-474d-8a8c-f2018b1a939c", (2, 0), FileKind)
IBackgroundCopyFile3: Final = _iface("IBackgroundCopyFile3", "659cdeaa-489e-11d9-a9cd-000d56965251", (3, 0), FileKind)
IBackgroundCopyFile4: Final = _iface("IBackgroundCopyFile4", "ef7e0655-7888-4960-b0e5-730846e03492", (4, 0), FileKind)
IBackgroundCopyFile5: Final = _iface("IBackgroundCopyFile5", "85c1657f-dafc-40e8-8834-df18ea25717e", (5, 0), FileKind)
IBackgroundCopyFile6: Final = _iface("IBackgroundCopyFile6", "cf6784f7-d677-49fd-9368-cb47aee9d1ad", (10, 1), FileKind)
IEnumBackgroundCopyJobs: Final = _iface(
    "IEnumBackgroundCopyJobs", "1af4f612-3b71-466f-8f58-7b6f73ac57ad", (1, 0), JobEnumKind
)
IEnumBackgroundCopyFiles: Final = _iface(
    "IEnumBackgroundCopyFiles", "ca51e165-c365-424c-8d41-24aaa4ff3c40", (1, 0), FileEnumKind
)
IBackgroundCopyError: Final = _iface("IBackgroundCopyError", "19c613a0-fcb8-4f28-81ae-897c3d078f81", (1, 0), ErrorKind)
IBackgroundCopyCallback: Final = _iface(
    "IBackgroundCopyCallback", "97ea99c7-0186-4ad4-8df9-c5b4e0ed6b22", (1, 0), CallbackKind
)
IBackgroundCopyCallback2: Final = _iface(
    "IBackgroundCopyCallback2", "659cdeac-489e-11d9-a9cd-000d56965251", (3, 0), CallbackKind
)
IBackgroundCopyCallback3: Final = _iface(
    "IBackgroundCopyCallback3", "98c97bd2-e32b-4ad8-a528-95fd8b16bd42", (10, 1), CallbackKind
)

JOB_INTERFACES: Final = (
    IBackgroundCopyJob,
    IBackgroundCopyJob2,
    IBackgroundCopyJob3,
    IBackgroundCopyJob4,
    IBackgroundCopyJob5,
    IBackgroundCopyJobHttpOptions,
    IBackgroundCopyJobHttpOptions2,
    IBackgroundCopyJobHttpOptions3,
    IBitsTokenOptions,
)
FILE_INTERFACES: Final = (
    IBackgroundCopyFile,
    IBackgroundCopyFile2,
    IBackgroundCopyFile3,
    IBackgroundCopyFile4,
    IBackgroundCopyFile5,
    IBackgroundCopyFile6,
)
ALL_INTERFACES: Final = (
    IUnknown,
    IBackgroundCopyManager,
    *JOB_INTERFACES,
    *FILE_INTERFACES,
    IEnumBackgroundCopyJobs,
    IEnumBackgroundCopyFiles,
    IBackgroundCopyError,
    IBackgroundCopyCallback,
    IBackgroundCopyCallback2,
    IBackgroundCopyCallback3,
)
_BY_IID: Final = {i.iid: i for i in ALL_INTERFACES}
_BY_NAME: Final = {i.name: i for i in ALL_INTERFACES}


def resolve_interface(value: AnyInterface | uuid.UUID | str) -> AnyInterface | None:
    """Find an interface by descriptor, IID or name; None when the emulator knows no such interface."""
    if isinstance(value, Interface):
        return value
    if isinstance(value, uuid.UUID):
        return _BY_IID.get(value)
    if isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
        try:
            return _BY_IID.get(uuid.UUID(value.strip("{}")))
        except ValueError:
            return None
    raise TypeError(f"an interface must be an Interface, uuid.UUID or str, not {type(value).__name__}")
