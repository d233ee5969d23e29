"""bits-emulator: a faithful in-process emulator of the Windows Background Intelligent Transfer Service."""

from .clock import Clock, ManualClock, SystemClock
from .com.enumerators import FileEnumerator, JobEnumerator
from .com.error import CopyError
from .com.file import File
from .com.job import Job
from .com.manager import Manager
from .com.structures import FileInfo, FileProgress, FileRange, JobProgress, JobReplyProgress, JobTimes
from .com.token_options import TokenOptions
from .constants import (
    BG_JOB_ENUM_ALL_USERS,
    BG_LENGTH_TO_EOF,
    BG_SIZE_UNKNOWN,
    AuthScheme,
    AuthTarget,
    Cloaking,
    ErrorContext,
    IBackgroundCopyError,
    IBackgroundCopyFile,
    IBackgroundCopyFile2,
    IBackgroundCopyFile3,
    IBackgroundCopyFile4,
    IBackgroundCopyFile5,
    IBackgroundCopyFile6,
    IBackgroundCopyJob,
    IBackgroundCopyJob2,
    IBackgroundCopyJob3,
    IBackgroundCopyJob4,
    IBackgroundCopyJob5,
    IBackgroundCopyJobHttpOptions,
    IBackgroundCopyJobHttpOptions2,
    IBackgroundCopyJobHttpOptions3,
    IBackgroundCopyManager,
    IBitsTokenOptions,
    ImpersonationLevel,
    Interface,
    JobPriority,
    JobState,
    JobType,
    NotifyFlags,
    ProxyUsage,
    TokenFlags,
)
from .domain.tokens import Choices as HelperTokenChoices
from .events import (
    CallbackCalled,
    Event,
    EventBus,
    JobCreated,
    JobStateChanged,
    Logoff,
    Logon,
    NotifyCommandLine,
    RequestMade,
    ServiceStarted,
    ServiceStopping,
)
from .history import Creation, History, HistoryRecord, Notification, Request, StateChange
from .hresults import BitsError, HResult
from .identity.accounts import Account, AccountKind
from .identity.callers import Blanket
from .identity.cast import Cast
from .identity.sessions import LogonSession, LogonType
from .identity.tokens import AccessToken, ElevationType, IntegrityLevel
from .profiles import PROFILES, HelperTokenRules, Profile
from .service import BitsService
from .store.database import StoreError, StoreVersionError
from .transfer.localfs import LocalFileFault, LocalFileSystem
from .transfer.network import FakeNetwork, Resource, UnregisteredURLError

__version__ = "0.1.0"

__all__ = [
    "BG_JOB_ENUM_ALL_USERS",
    "BG_LENGTH_TO_EOF",
    "BG_SIZE_UNKNOWN",
    "PROFILES",
    "AccessToken",
    "Account",
    "AccountKind",
    "AuthScheme",
    "AuthTarget",
    "BitsError",
    "BitsService",
    "Blanket",
    "CallbackCalled",
    "Cast",
    "Cloaking",
    "Clock",
    "CopyError",
    "Creation",
    "ElevationType",
    "ErrorContext",
    "Event",
    "EventBus",
    "FakeNetwork",
    "File",
    "FileEnumerator",
    "FileInfo",
    "FileProgress",
    "FileRange",
    "HResult",
    "HelperTokenChoices",
    "HelperTokenRules",
    "History",
    "HistoryRecord",
    "IBackgroundCopyError",
    "IBackgroundCopyFile",
    "IBackgroundCopyFile2",
    "IBackgroundCopyFile3",
    "IBackgroundCopyFile4",
    "IBackgroundCopyFile5",
    "IBackgroundCopyFile6",
    "IBackgroundCopyJob",
    "IBackgroundCopyJob2",
    "IBackgroundCopyJob3",
    "IBackgroundCopyJob4",
    "IBackgroundCopyJob5",
    "IBackgroundCopyJobHttpOptions",
    "IBackgroundCopyJobHttpOptions2",
    "IBackgroundCopyJobHttpOptions3",
    "IBackgroundCopyManager",
    "IBitsTokenOptions",
    "ImpersonationLevel",
    "IntegrityLevel",
    "Interface",
    "Job",
    "JobCreated",
    "JobEnumerator",
    "JobPriority",
    "JobProgress",
    "JobReplyProgress",
    "JobState",
    "JobStateChanged",
    "JobTimes",
    "JobType",
    "LocalFileFault",
    "LocalFileSystem",
    "Logoff",
    "Logon",
    "LogonSession",
    "LogonType",
    "Manager",
    "ManualClock",
    "Notification",
    "NotifyCommandLine",
    "NotifyFlags",
    "Profile",
    "ProxyUsage",
    "Request",
    "RequestMade",
    "Resource",
    "ServiceStarted",
    "ServiceStopping",
    "StateChange",
    "StoreError",
    "StoreVersionError",
    "SystemClock",
    "TokenFlags",
    "TokenOptions",
    "UnregisteredURLError",
    "__version__",
]
