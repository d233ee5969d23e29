"""The emulator's readings where Microsoft's pages are silent or disagree (docs/reference/readings.md).

Each entry names the ambiguity, what the emulator does, and where the code makes that choice. COVERAGE.md
is generated from this table, so the document and the code cannot drift apart; each row links to the
entry of docs/reference/readings.md that gives the pages' evidence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reading:
    id: str
    question: str
    choice: str
    where: str
    anchor: str = ""  # the entry in docs/reference/readings.md; defaults to the id in lower case

    @property
    def link(self) -> str:
        """The entry's address relative to docs/ (where COVERAGE.md lives)."""
        return f"reference/readings.md#{self.anchor or self.id.lower()}"


SECURITY_READINGS: tuple[Reading, ...] = (
    Reading(
        "A1",
        "1607+: owner's SID matches, job created non-elevated, caller now elevated, admin helper",
        "S_OK; `HelperTokenChoices(elevated_owner_may_set_admin_helper=False)` denies",
        "domain/tokens.py",
    ),
    Reading(
        "A2",
        "1607+: elevated admin, not the owner, job not admin-owned: SetHelperToken",
        "E_ACCESSDENIED; `HelperTokenChoices(admin_may_set_helper_on_any_job=True)` allows",
        "domain/tokens.py",
    ),
    Reading(
        "A3",
        "before 1607: predicate of Get/SetFlags, GetSid, Clear",
        "the SetHelperToken predicate: administrator-owned job, caller may modify it",
        "domain/tokens.py",
    ),
    Reading(
        "A4",
        "wrong impersonation level",
        "ANONYMOUS: E_ACCESSDENIED on every call; IDENTIFY: CO_E_FAILEDTOIMPERSONATE from SetHelperToken only",
        "com/base.py, domain/tokens.py",
    ),
    Reading(
        "A5",
        "order of checks",
        "flag value → access → job state → impersonation level → helper-admin rule",
        "domain/tokens.py",
    ),
    Reading(
        "A6",
        "invalid usage flags",
        "0..3 accepted; any other bit E_INVALIDARG, before the access check",
        "domain/tokens.py",
    ),
    Reading("A7", "defaults", "flags 0, no token", "domain/records.py"),
    Reading("A8", "GetHelperTokenSid without a token", "S_OK and None (NULL)", "com/token_options.py"),
    Reading(
        "A9",
        "logoff while SUSPENDED with flags",
        "token discarded, state stays SUSPENDED; BG_E_TOKEN_REQUIRED when the job next needs the token",
        "helper_tokens.py",
    ),
    Reading(
        "A10",
        "IBitsTokenOptions after Complete/Cancel",
        "BG_E_INVALID_STATE (after the access check)",
        "domain/tokens.py",
    ),
    Reading("A11", "TakeOwnership and the helper token", "token and flags kept", "queue.py change_owner"),
    Reading(
        "A12", "non-elevated access to an elevated job", "reads allowed, writes E_ACCESSDENIED", "domain/access.py"
    ),
    Reading("A13", "EnumJobs flags other than 0/1", "E_INVALIDARG", "com/manager.py"),
    Reading(
        "A14",
        "which logoff discards a token",
        "the session that supplied it, and the owner's logoff (the owner's last session); service sessions "
        "never log off; a token without a logon session lives until Clear or restart",
        "helper_tokens.py",
    ),
    Reading(
        "A15",
        "when 'caller is admin' is evaluated",
        "QI.sid/QI.adm captured at QueryInterface; H.adm at SetHelperToken",
        "com/token_options.py",
    ),
    Reading(
        "A16",
        "LocalSystem's GetOwnerElevationState",
        "TRUE; LocalSystem jobs are administrator-owned",
        "identity/sessions.py",
    ),
    Reading("A18", "state while the owner is away", "QUEUED, never SUSPENDED", "transfer/scheduler.py"),
    Reading(
        "A19",
        "owner logoff with a helper token",
        "unfinished job that needs the token (flags ≠ 0): ERROR BG_E_TOKEN_REQUIRED; otherwise QUEUED",
        "helper_tokens.py",
    ),
    Reading(
        "—",
        "a token whose logon session has already ended is passed to SetHelperToken",
        "E_ACCESSDENIED (Windows would have purged it at that logoff)",
        "helper_tokens.py",
        "dead-session-token",
    ),
    Reading(
        "—",
        "error context of BG_E_TOKEN_REQUIRED",
        "GENERAL_QUEUE_MANAGER, no file",
        "helper_tokens.py",
        "token-required-context",
    ),
)


TRANSFER_READINGS: tuple[Reading, ...] = (
    Reading(
        "HTTP",
        "which HTTP statuses are fatal",
        "transient: 408, 429 and 5xx except 501/505; every other non-2xx status is fatal",
        "transfer/network.py",
        "http-statuses",
    ),
    Reading(
        "URL",
        "a user name and password embedded in a remote name",
        "the URL names the resource registered without them; the percent-decoded pair counts as a Basic server "
        "credential beside the job's own (either may match `users`); not an NTLM/Negotiate credential",
        "transfer/network.py",
        "url-credentials",
    ),
    Reading(
        "host",
        "an unregistered host",
        "ERROR_WINHTTP_NAME_NOT_RESOLVED 0x80072EE7, transient, context "
        "GENERAL_TRANSPORT, after `svc.network.resolve_delay` seconds of CONNECTING",
        "transfer/scheduler.py",
        "unregistered-host",
    ),
    Reading(
        "T11",
        "round-robin time slices between equal priorities",
        "simplification: no time slices — the running background job keeps its slot until it rests, so runs "
        "are deterministic; a higher priority still preempts it",
        "transfer/scheduler.py",
    ),
    Reading(
        "T17",
        "no-progress timer while the network is down",
        "not running; the job waits for reconnect",
        "transfer/scheduler.py",
    ),
    Reading(
        "T22",
        "error context of BG_E_MAXDOWNLOAD_TIMEOUT",
        "GENERAL_QUEUE_MANAGER; time counted in CONNECTING and TRANSFERRING only, reset by Resume",
        "transfer/scheduler.py",
    ),
    Reading("T6", "Resume of a TRANSFERRED job without new files", "stays TRANSFERRED", "domain/states.py"),
    Reading(
        "error object",
        "GetError after the job leaves ERROR/TRANSIENT_ERROR (Resume, Suspend, a retry), and on a final job",
        "kept until the job enters TRANSFERRING (or TRANSFERRED); a cancelled job has none (0x8020000F)",
        "domain/states.py, queue.py",
        "error-object",
    ),
    Reading(
        "files",
        "destination directory missing when the transfer starts",
        "ERROR, context LOCAL_FILE, HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) 0x80070003",
        "transfer/localfs.py",
        "missing-directory",
    ),
    Reading(
        "files",
        "the Win32 error of a local-file fault the host file system reports",
        "HRESULT_FROM_WIN32 of Windows' error for the same failure (ENOENT 0x80070002, ENOTDIR 0x80070003, "
        "ENOSPC 0x80070070, ENAMETOOLONG 0x800700CE, EBUSY 0x80070020…); any other errno E_ACCESSDENIED",
        "transfer/localfs.py",
        "host-errors",
    ),
    Reading(
        "files",
        "a local name within MAX_PATH with a component longer than the file system holds",
        "E_INVALIDARG at AddFile / AddFileSet / AddFileWithRanges / SetReplyFileName (over 255 bytes in UTF-8)",
        "transfer/localfs.py",
        "long-component",
    ),
    Reading(
        "files",
        "T26: SMB file-ACL flags (OWNER, GROUP, SACL) whose privilege the job's identity lacks: when, which identity, "
        "context",
        "checked when the file's bytes are all in: TRANSIENT_ERROR E_ACCESSDENIED, context LOCAL_FILE (REMOTE_FILE for "
        "SACL when the network identity of a UNC source lacks it), the bytes kept and the copy tried again at each "
        "retry; privileges: elevated administrators and LocalSystem",
        "domain/acting.py",
        "acl-flags",
    ),
    Reading(
        "callbacks",
        "T25: the server-certificate callback: its arguments, a raise, a gone callback, the cache",
        "encoding 0x00010001 and a one-certificate serialized store; a failure HRESULT or a raise (its HRESULT, "
        "else E_FAIL) declines: TRANSIENT_ERROR, context 8; disconnected: "
        "BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED; accepted certificates cached per job and endpoint "
        "(1024 jobs); after a restart the object is gone, the requirement kept: "
        "BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED until set again",
        "transfer/certificates.py",
        "server-certificate",
    ),
    Reading(
        "files",
        "T27: another application has the temporary open (svc.filesystem.hold_open): the code, Complete, Cancel",
        "held when the file's transfer begins (any share mode), or opened mid-transfer without share-write: "
        "TRANSIENT_ERROR ERROR_SHARING_VIOLATION 0x80070020, context LOCAL_FILE, retried; any handle: Complete "
        "fails with 0x80070020 (job stays TRANSFERRED), Cancel returns BG_S_UNABLE_TO_DELETE_FILES",
        "transfer/localfs.py",
        "temporary-in-use",
    ),
    Reading(
        "files",
        "the hidden attribute of the temporary file",
        "a leading dot: `.BIT<hex>.tmp`",
        "transfer/localfs.py",
        "hidden-temporary",
    ),
    Reading(
        "callbacks",
        "interval before a failed notification is retried",
        "60 s of service time",
        "transfer/notifications.py",
        "notifications",
    ),
    Reading(
        "callbacks",
        "FileTransferred for an object without a FileTransferred method",
        "not delivered and not retried (the object is no IBackgroundCopyCallback2), so it holds back nothing",
        "transfer/notifications.py",
        "notifications",
    ),
    Reading(
        "callbacks",
        "JobModification and FileRangesTransferred for a job whose callback is a CLSID-activated object",
        "not delivered: BITS does not start a COM server for them; they go to a SetNotifyInterface object only",
        "transfer/notifications.py",
        "clsid-modification",
    ),
    Reading(
        "callbacks",
        "which call results mean a callback object has disconnected (the CLSID fallback)",
        "RPC_E_DISCONNECTED 0x80010108 and RPC_S_SERVER_UNAVAILABLE 0x800706BA, raised or returned; "
        "any other failure is the object's answer (retried, no fallback)",
        "transfer/notifications.py",
        "clsid-modification",
    ),
    Reading(
        "callbacks",
        "running the notify command line",
        "a NotifyCommandLine event on svc.bus; the program runs only through `svc.notifications.command_runner` "
        "(rerun after MinimumRetryDelay while it returns non-zero; without a runner, no rerun)",
        "transfer/notifications.py",
        "command-line",
    ),
    Reading(
        "Job5",
        "a download without Content-Length; a job past MAX_DOWNLOAD_SIZE",
        "checked when the file connects: no size and no DYNAMIC_CONTENT → ERROR BG_E_MISSING_FILE_SIZE (REMOTE_FILE); "
        "past the maximum → ERROR BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED (GENERAL_QUEUE_MANAGER) before the file's "
        "first byte, or at the maximum for a DYNAMIC_CONTENT file of unknown size",
        "transfer/connectors.py",
        "job5-size-checks",
    ),
    Reading(
        "Job5",
        "an interrupted file of a DYNAMIC_CONTENT job: how it restarts, when its progress goes back",
        "every later connection asks for the whole file (no Range request); its bytes go and its progress returns "
        "to 0 at that connection; transferred files are kept",
        "transfer/network.py, transfer/scheduler.py",
        "dynamic-restart",
    ),
    Reading(
        "Job5",
        "a DYNAMIC_CONTENT job that is not FOREGROUND: BITS \"cannot throttle\" dynamic downloads and performs no "
        "unthrottled transfer for background jobs",
        "it transfers as any background job (one at a time, by priority) and a MaxInternetBandwidth cap binds it",
        "transfer/scheduler.py",
        "dynamic-throttle",
    ),
    Reading(
        "Job5",
        "the union member of MAX_DOWNLOAD_SIZE (the property page says Enable, the union page Uint64)",
        "Uint64, a byte count; a bool is a TypeError",
        "domain/properties.py",
        "max-download-size-member",
    ),
    Reading(
        "Job5",
        "COST_FLAGS that exclude the network's cost state (svc.network.cost_state)",
        "held: TRANSIENT_ERROR BG_E_BLOCKED_BY_COST_TRANSFER_POLICY (GENERAL_TRANSPORT, no file), not counted, no "
        "retry timer or no-progress timeout, when it would start or at once while running; QUEUED again as soon as "
        "the cost state or its flags accept it; a state of several bits needs each of them in the flags",
        "transfer/scheduler.py, domain/properties.py",
        "cost-flags",
    ),
    Reading(
        "machine conditions",
        "whose the network's cost state, connectivity and group policy are when services share a file store; when "
        "one service sees another's change",
        "the machine's: kept in the file store's settings, written with the change's effects; another service "
        "takes a change in at its next call, at the start of its catch-up (values first, then the effects as if "
        "set there, not written back); a service opening the store adopts them before any job moves, a "
        "`group_policy=` given to it wins; none stored: UNRESTRICTED, connected, no policy; in-memory stores: "
        "per service",
        "transfer/scheduler.py, store/repository.py, domain/policy.py, service.py",
        "machine-conditions",
    ),
    Reading(
        "Job5",
        "USE_STORED_CREDENTIALS: default, a target other than the proxy, effect",
        "default 0; 0 and PROXY (2) accepted, other values BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED; stored only "
        "(proxies are not modelled)",
        "domain/properties.py",
        "stored-credentials",
    ),
    Reading(
        "Job5",
        "MINIMUM_NOTIFICATION_INTERVAL_MS: pacing of JobModification and FileRangesTransferred",
        "stored, not applied: changes made while a JobModification waits to be delivered fold into it; no interval",
        "transfer/notifications.py",
        "notification-interval",
    ),
    Reading(
        "Job5",
        "HIGH_PERFORMANCE: writing straight into the destination; what a service start loses",
        "no temporary: the destination is created or emptied when the file first starts (GetTemporaryName: None, "
        "then the local name); Cancel, ERROR, T32 and Complete delete or rename nothing; each service start puts "
        "the files not yet whole back to byte 0 (whole files, state and properties survive)",
        "transfer/inplace.py, transfer/localfs.py",
        "high-performance",
    ),
    Reading(
        "HttpOptions2",
        "SetHttpMethod with NULL, an empty string, or a string that is no HTTP token (no code documented)",
        "E_INVALIDARG: NULL, empty, white space or a non-ASCII character; nothing changes",
        "backend.py",
        "http-method-verb",
    ),
    Reading(
        "Job5",
        "DYNAMIC_CONTENT or ON_DEMAND_MODE together with a custom HTTP method (no code documented)",
        "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD in either order: SetProperty(TRUE) after SetHttpMethod, "
        "SetHttpMethod (other than the default verb, a no-op) once either is TRUE; nothing changes",
        "backend.py",
        "custom-method-exclusive",
    ),
    Reading(
        "Job2",
        "SetNotifyCmdLine with parameters but no program",
        "E_INVALIDARG",
        "com/job2.py",
        "cmdline-no-program",
    ),
    Reading(
        "Job2",
        "SetCredentials and RemoveCredentials on a CANCELLED or ACKNOWLEDGED job",
        "BG_E_INVALID_STATE, the setter rule",
        "com/registry.py",
        "credentials-state",
    ),
    Reading(
        "Job",
        "when a MinimumRetryDelay longer than the NoProgressTimeout moves the job to ERROR",
        "TRANSIENT_ERROR at the error, ERROR once the no-progress timeout has run; no retry in between",
        "transfer/scheduler.py",
        "retry-timeout",
    ),
    Reading(
        "files",
        "AddFile / SetReplyFileName with a directory that does not exist, or that the caller may not write to",
        "accepted; the transfer fails the job (ERROR, LOCAL_FILE, 0x80070003 / 0x80070005) as the job's writer",
        "transfer/localfs.py",
        "local-directory",
    ),
    Reading(
        "Manager",
        "CreateJob with a Type outside BG_JOB_TYPE (no code documented)",
        "E_INVALIDARG, the page's code for a bad argument; no job is created",
        "backend.py",
        "job-type",
    ),
    Reading(
        "Manager",
        "GetErrorDescription with LanguageId 0, and a code without a text",
        "0 is the user's default language (English); no text: ERROR_MR_MID_NOT_FOUND 0x8007013D",
        "hresults.py",
        "manager-language",
    ),
    Reading(
        "Job2",
        "SetNotifyCmdLine with a program that is not a full path, or holds an environment variable",
        "S_OK, stored as given: BITS neither searches the path nor expands variables, so only the run misses it",
        "backend.py",
        "cmdline-program",
    ),
    Reading(
        "upload",
        "upload to a URL that is not a BITS upload endpoint",
        "BG_E_HTTP_ERROR_501, fatal",
        "transfer/upload.py",
        "upload-endpoint",
    ),
    Reading(
        "upload",
        "a server application that fails an upload (context REMOTE_APPLICATION): the code, fatal or not, the "
        "file; what a 403 prevents",
        "`register(..., application_status=…)`: once the last byte is in, any status but 200 gives "
        "BG_E_HTTP_ERROR_<status>, context REMOTE_APPLICATION; fatal 300-305, 307, 4xx but 408/409, 501, 505, "
        "every other status transient (the server-application page's split, not the download table); the bytes "
        "stay sent, the file is not transferred, and the next attempt asks the application again; after a 403 "
        "every later attempt fails again at once with the same error, nothing sent, the application not asked",
        "transfer/upload.py",
        "server-application",
    ),
    Reading(
        "AddFileWithRanges",
        "how several ranges are asked of a loopback HTTP server",
        "simplification: one `Range: bytes=a-b` request per range (BITS may ask for several in one multipart "
        "request; the bytes written are the same); a 206 for other bytes than asked: BG_E_INVALID_SERVER_RESPONSE",
        "transfer/ranges.py",
        "ranges-loopback",
    ),
    Reading(
        "AddFileWithRanges",
        "a range within UINT64 that reaches past 2**63-1 bytes (the largest Windows file)",
        "BG_E_INVALID_RANGE at AddFileWithRanges; nothing is added",
        "transfer/ranges.py",
        "range-bound",
    ),
    Reading(
        "AddFileWithRanges",
        "when ranges are checked against the remote file",
        "at each connection, once the size is known: a range outside it fails the job (ERROR, BG_E_INVALID_RANGE, "
        "context REMOTE_FILE); a server without ranges: BG_E_INSUFFICIENT_RANGE_SUPPORT",
        "transfer/ranges.py",
        "range-checks",
    ),
    Reading(
        "FileRangesTransferred",
        "how often it is called",
        "simplification: once per catch-up step in which bytes of a file with on-demand ranges arrived, with the "
        "spans filled since the last call; MINIMUM_NOTIFICATION_INTERVAL_MS is not applied; a failed call is not "
        "retried nor kept for a callback registered later (like JobModification)",
        "transfer/ranges.py",
        "file-ranges-transferred",
    ),
    Reading(
        "RequestFileRanges",
        "new ranges or a new download position while the file transfers",
        "the file's connection is reopened with the new plan (one more request to the server)",
        "com/file_methods.py",
        "replan",
    ),
    Reading(
        "RequestFileRanges",
        "an on-demand job with no ranges requested, and ranges requested while BITS has it SUSPENDED",
        "Resume connects (the size becomes known), then SUSPENDED at once; requests made while SUSPENDED are "
        "fetched at the next Resume",
        "transfer/ranges.py",
        "on-demand-rest",
    ),
    Reading(
        "ReplaceRemotePrefix",
        "a file being transferred gets a new name",
        "its connection is reopened on the new name; same time stamp and size: it resumes, otherwise it restarts "
        "from 0; transferred files keep their bytes",
        "com/job3.py",
        "prefix-reconnect",
    ),
)


# Group policies (docs/reference/limits.md#group-policy): where the group policies page is silent.
GROUP_POLICY_READINGS: tuple[Reading, ...] = (
    Reading(
        "T19 states",
        "which jobs \"all background jobs\" are when MaxInternetBandwidth is 0",
        "background jobs waiting for or holding a connection (QUEUED, CONNECTING, TRANSFERRING, owner logged on or "
        "not) go to TRANSIENT_ERROR, BG_E_BLOCKED_BY_POLICY, context GENERAL_QUEUE_MANAGER, not counted, no retry "
        "or no-progress timer; one that becomes QUEUED in the interval is blocked as it would start; SUSPENDED, "
        "ERROR and TRANSFERRED jobs stay; at the interval's end (or when the job becomes FOREGROUND) QUEUED, not "
        "at the network's return",
        "transfer/scheduler.py",
        "policy-blocked-states",
    ),
    Reading(
        "window clock",
        "which clock the MaxInternetBandwidth hours are read on",
        "UTC on the service clock (the emulator has no time zone); a clock set back leaves the interval where it "
        "was until `svc.restart()`; a clock moved forward is time passing",
        "transfer/bandwidth.py",
        "bandwidth-utc",
    ),
    Reading(
        "window hours",
        "a start hour equal to the end hour; a start after the end",
        "equal: the limit holds all day; after: the interval wraps past midnight ([start, 24) and [0, end))",
        "domain/policy.py",
        "bandwidth-window",
    ),
    Reading(
        "rates",
        "what \"approximately two kilobits\" and a bandwidth cap mean for a transfer",
        "exactly 2 kbps (250 bytes/s) for 1; a kilobit is 1,000 bits (125 bytes); the cap holds the one running "
        "background job (the background slot) to min(its source's rate, the cap), changing at the boundary's "
        "nanosecond with no fraction of a byte lost; every source counts (HTTP, SMB, local files, uploads)",
        "transfer/bandwidth.py, transfer/flow.py",
        "bandwidth-rates",
    ),
    Reading(
        "policy change",
        "when a changed policy takes effect",
        "given to `BitsService(group_policy=…)`: before any job moves (on a file store it replaces the stored "
        "one, which a service given none adopts from the start); assigned (`svc.group_policy = …`): at "
        "once, after a catch-up under the old one: quotas bind the next "
        "CreateJob / AddFile (existing jobs and files stay); JobInactivityTimeout counts from each job's last "
        "activity; MaxInternetBandwidth and the BITS 4.0 schedules apply to the transfer in flight; "
        "MaxDownloadTime is a new job's MaximumDownloadTime, taken at CreateJob",
        "service.py, backend.py, transfer/scheduler.py",
        "policy-change",
    ),
    Reading(
        "schedule days",
        "how the BITS 4.0 work and maintenance schedules' days and hours combine; day numbers; a day range that "
        "wraps",
        "an instant is in the schedule when its day is one of first_day..last_day and its hour one of "
        "[start_hour, end_hour), each read on its own (hours as MaxInternetBandwidth's: equal is the whole day, a "
        "start after the end wraps past midnight); days 0 Sunday..6 Saturday (SYSTEMTIME), `Weekday`; a first day "
        "after the last wraps past Saturday (FRIDAY..MONDAY); UTC on the service clock",
        "domain/policy.py",
        "schedule-days",
    ),
    Reading(
        "combined limits",
        "which limit binds a background job when MaxInternetBandwidth, the work schedule and the maintenance "
        "schedule are configured together",
        "per priority: the maintenance limit in the maintenance window when it sets that priority (supersedes the "
        "work schedule's, higher or lower), else the work schedule's (work or non-work; unset: none); then the "
        "lower of that and MaxInternetBandwidth's",
        "domain/policy.py (BandwidthRules)",
        "bandwidth-combined",
    ),
    Reading(
        "schedule block",
        "what a schedule limit of 0 for a priority does",
        "T19 for that priority's background jobs only, exactly as a MaxInternetBandwidth of 0 (TRANSIENT_ERROR, "
        "BG_E_BLOCKED_BY_POLICY, GENERAL_QUEUE_MANAGER, not counted, QUEUED at the interval's end or when the job "
        "takes a priority that is not blocked); jobs of the other priorities run meanwhile",
        "transfer/scheduler.py",
        "schedule-block",
    ),
    Reading(
        "schedules version",
        "EnableBandwidthLimits and EnableMaintenanceLimits on a BITS before 4.0",
        "ignored on the vista profile (BITS 3.0), as a registry value that version does not read; "
        "`svc.group_policy` still returns them as given",
        "domain/policy.py (BandwidthRules.of)",
        "schedules-version",
    ),
)
