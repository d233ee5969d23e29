"""``bitsadmin`` for Linux CI: Windows' BITS administration tool, argv for argv, over a shared file store.

A thin skin over the native API: this module parses arguments and prints; every rule (states, access,
limits, HRESULTs) stays in the library. Each invocation is a new process that opens the one persistent
store with a new ``BitsService`` on the wall clock, acts as the calling account in its command-line logon
session, and closes. The full switch list, output shapes and the emulator's choices are described in
docs/bitsadmin.md; Microsoft's reference is
https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import textwrap
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import hresults
from ..clock import Clock
from ..com.error import CONTEXT_TEXT
from ..com.structures import FileRange, JobProgress
from ..constants import (
    BG_JOB_ENUM_ALL_USERS,
    BG_LENGTH_TO_EOF,
    BG_SIZE_UNKNOWN,
    AuthScheme,
    AuthTarget,
    CertStoreLocation,
    Cloaking,
    IBitsTokenOptions,
    ImpersonationLevel,
    JobPriority,
    JobState,
    JobType,
    ProxyUsage,
)
from ..events import JobStateChanged
from ..hresults import BitsError
from ..identity.accounts import Account
from ..identity.callers import Blanket
from ..identity.sessions import LogonSession
from ..identity.tokens import AccessToken, IntegrityLevel
from ..service import store_drives
from .cli_service import CommandLineService, adopt_logged_on_sessions, command_line_session, end_command_line_session

if TYPE_CHECKING:
    from ..com.job import Job
    from ..com.manager import Manager
    from ..service import BitsService

ENV_STORE = "BITS_EMULATOR_STORE"
ENV_USER = "BITS_EMULATOR_USER"
ENV_ELEVATED = "BITS_EMULATOR_ELEVATED"
ENV_PROFILE = "BITS_EMULATOR_PROFILE"
ENV_DRIVES = "BITS_EMULATOR_DRIVES"
ENV_NETWORK = "BITS_EMULATOR_NETWORK"

# Exit statuses. bitsadmin's own are undocumented (emulator choice): 0 success, 1 a failed HRESULT or a
# failed transfer, 2 a command line the tool does not understand.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# The process default blanket bitsadmin runs with: IMPERSONATE so SetHelperToken can capture the caller,
# dynamic cloaking so "/sethelpertoken <job> <user> <password>" hands BITS the impersonated account.
CLI_BLANKET = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)

STATE_NAMES = {
    JobState.QUEUED: "QUEUED",
    JobState.CONNECTING: "CONNECTING",
    JobState.TRANSFERRING: "TRANSFERRING",
    JobState.SUSPENDED: "SUSPENDED",
    JobState.ERROR: "ERROR",
    JobState.TRANSIENT_ERROR: "TRANSIENT_ERROR",
    JobState.TRANSFERRED: "TRANSFERRED",
    JobState.ACKNOWLEDGED: "ACKNOWLEDGED",
    JobState.CANCELLED: "CANCELED",  # BITS spells it with one L (BG_JOB_STATE_CANCELLED prints CANCELED)
}
TYPE_NAMES = {JobType.DOWNLOAD: "DOWNLOAD", JobType.UPLOAD: "UPLOAD", JobType.UPLOAD_REPLY: "UPLOAD-REPLY"}
ACL_LETTERS = {"O": 0x1, "G": 0x2, "D": 0x4, "S": 0x8}  # BG_COPY_FILE_OWNER/GROUP/DACL/SACL


# --------------------------------------------------------------------------------------------------
# Failures and output
# --------------------------------------------------------------------------------------------------


class Failed(Exception):
    """A command failed: ``text`` is printed as it is and the process exits with ``status``."""

    def __init__(self, text: str, status: int = EXIT_FAILED) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


class UsageError(Exception):
    """The command line is not one bitsadmin understands: usage is printed, the exit status is 2."""


def failure(action: str, exc: BitsError) -> Failed:
    """Windows' wording: ``Unable to <action> - 0x<hresult>. <description>`` (the bitsadmin
    addfilewithranges page quotes "Unable to add file to job - 0x8020002c. The list of byte ranges …")."""
    return Failed(f"Unable to {action} - 0x{exc.hresult:08x}. {exc.message}")


@contextmanager
def attempt(action: str) -> Iterator[None]:
    try:
        yield
    except BitsError as exc:
        raise failure(action, exc) from None


class Out:
    """Console output with bitsadmin's formatting switches (/rawreturn, /wrap, /nowrap)."""

    def __init__(self, stream: TextIO, *, raw: bool = False, width: int | None = None, truncate: bool = False) -> None:
        self.stream = stream
        self.raw = raw
        self.width = width
        self.truncate = truncate  # /nowrap (and /monitor's default): cut at the width instead of wrapping

    def line(self, text: str = "") -> None:
        """An informational line: suppressed by /rawreturn (value only), wrapped by /wrap."""
        if self.raw:
            return
        self._write(text)

    def value(self, text: str) -> None:
        """The value a /get* or /create returns: with /rawreturn, without newlines or formatting."""
        if self.raw:
            self.stream.write(" ".join(text.splitlines()))
        else:
            self._write(text)

    def error(self, text: str) -> None:
        self._write(text)

    def _write(self, text: str) -> None:
        for line in text.split("\n") if text else [""]:
            if self.width and len(line) > self.width and self.truncate:
                self.stream.write(line[: self.width] + "\n")
            elif self.width and len(line) > self.width:
                self.stream.write("\n".join(textwrap.wrap(line, self.width, drop_whitespace=False)) + "\n")
            else:
                self.stream.write(line + "\n")


# --------------------------------------------------------------------------------------------------
# Options, store, account and session
# --------------------------------------------------------------------------------------------------

_VALUE_OPTIONS = {
    "--store": "store",
    "--as": "user",
    "--count": "count",
    "--profile": "profile",
    "--drives": "drives",
    "--network": "network",
}


@dataclass
class Options:
    """The emulator's own options (``--store`` …); each has an environment variable."""

    store: Path | None = None
    user: str | None = None
    elevated: bool = False
    count: int | None = None
    profile: str = "post-1607"
    drives: Path | None = None
    network: Path | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> Options:
        opts = cls()
        if env.get(ENV_STORE):
            opts.store = Path(env[ENV_STORE])
        if env.get(ENV_USER):
            opts.user = env[ENV_USER]
        opts.elevated = env.get(ENV_ELEVATED, "").strip().lower() in ("1", "true", "yes", "on")
        if env.get(ENV_PROFILE):
            opts.profile = env[ENV_PROFILE]
        if env.get(ENV_DRIVES):
            opts.drives = Path(env[ENV_DRIVES])
        if env.get(ENV_NETWORK):
            opts.network = Path(env[ENV_NETWORK])
        return opts


def split_options(argv: list[str], opts: Options) -> list[str]:
    """Take the emulator's ``--options`` out of argv (anywhere: Windows arguments never start with --)."""
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if arg == "--elevated":
            opts.elevated = True
        elif name in _VALUE_OPTIONS:
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise UsageError(f"{name} needs a value")
            _set_option(opts, _VALUE_OPTIONS[name], name, value)
        else:
            rest.append(arg)
        i += 1
    return rest


def _set_option(opts: Options, attr: str, name: str, value: str) -> None:
    if attr == "count":
        try:
            count = int(value)
        except ValueError:
            raise UsageError(f"{name} takes a whole number, not {value!r}") from None
        if count < 1:
            raise UsageError(f"{name} must be at least 1")
        opts.count = count
    elif attr in ("store", "drives", "network"):
        setattr(opts, attr, Path(value))
    else:
        setattr(opts, attr, value)


def default_store() -> Path:
    """The per-user state directory (XDG_STATE_HOME on Linux, %LOCALAPPDATA% on Windows, ~/Library on
    macOS), resolved by platformdirs and created on first use."""
    import platformdirs

    return Path(platformdirs.user_state_dir("bits-emulator", appauthor=False)) / "bits.db"


def store_path(opts: Options) -> Path:
    path = (opts.store or default_store()).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def drives_path(opts: Options, store: Path) -> Path:
    """Where the store's Windows drives live: ``C:\\x`` is ``<drives>/C/x`` (default ``<store>.drives``)."""
    root = opts.drives.expanduser() if opts.drives is not None else store_drives(store)
    root.mkdir(parents=True, exist_ok=True)
    # The system drive's root exists on every Windows machine: `c:\file` is a valid destination (bitsadmin
    # transfer page example).
    (root / "C").mkdir(exist_ok=True)
    return root


def default_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without /etc/passwd entry)
        return "User"


def calling_account(svc: BitsService, name: str, *, elevated: bool) -> Account:
    """The account the invocation runs as; created on first use (an administrator with --elevated)."""
    try:
        account = svc.account(name)
    except KeyError:
        try:
            account = svc.add_user(name, admin=elevated)
        except ValueError as exc:
            raise Failed(f"bits-emulator: cannot run as {name!r}: {exc}", EXIT_USAGE) from None
    if elevated and not account.admin and not account.is_service:
        raise Failed(
            f"bits-emulator: {account.name} is not an administrator, so it cannot run elevated "
            "(create it with --elevated the first time, or use another account)",
            EXIT_USAGE,
        )
    return account


# --------------------------------------------------------------------------------------------------
# The fake network file
# --------------------------------------------------------------------------------------------------


class NetworkResource(BaseModel):
    """One URL of ``BITS_EMULATOR_NETWORK``: the body (``content`` file, ``text`` or ``size`` zero
    bytes), the HTTP status and the rate in bytes per second."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content: Path | None = None
    text: str | None = None
    size: int | None = Field(default=None, ge=0)
    status: int = Field(default=200, ge=100, le=599)
    rate: int | None = Field(default=None, gt=0)
    transient_failures: int = Field(default=0, ge=0)
    failure_status: int = Field(default=503, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    ranges: bool = True
    content_length: bool = True
    auth: str | None = Field(default=None, pattern="^(basic|ntlm|negotiate)$")
    users: dict[str, str] = Field(default_factory=dict)
    upload: bool = False
    reply: str | None = None


class NetworkFileError(Exception):
    pass


def _describe_validation(path: Path, exc: ValidationError) -> str:
    lines = [f"bits-emulator: the network file {path} is not valid:"]
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        where = f"resource {loc[0]!r}, field {'.'.join(loc[1:])!r}" if len(loc) > 1 else f"resource {loc[0]!r}"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def load_network(path: Path) -> dict[str, NetworkResource]:
    """Read a TOML or JSON file mapping URL → resource (by suffix; .toml is TOML, anything else JSON)."""
    from pydantic import TypeAdapter

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NetworkFileError(f"bits-emulator: cannot read the network file {path}: {exc.strerror}") from None
    try:
        data: Any = tomllib.loads(raw.decode()) if path.suffix.lower() == ".toml" else json.loads(raw)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NetworkFileError(f"bits-emulator: the network file {path} does not parse: {exc}") from None
    try:
        return TypeAdapter(dict[str, NetworkResource]).validate_python(data)
    except ValidationError as exc:
        raise NetworkFileError(_describe_validation(path, exc)) from None


def register_network(svc: BitsService, path: Path) -> None:
    resources = load_network(path)
    # A fixed time stamp per resource: every process registers the same "server copy", so a transfer
    # resumed by a later invocation does not look like a changed file and restart (docs/transfers.md).
    stamp = float(int(path.stat().st_mtime))
    for url, res in resources.items():
        content: bytes | None
        if res.content is not None:
            source = res.content if res.content.is_absolute() else path.parent / res.content
            try:
                content = source.read_bytes()
            except OSError as exc:
                raise NetworkFileError(
                    f"bits-emulator: the network file {path}: resource {url!r}, field 'content': "
                    f"cannot read {source}: {exc.strerror}"
                ) from None
        elif res.text is not None:
            content = res.text.encode()
        else:
            content = None
        try:
            svc.network.register(
                url,
                content,
                size=res.size if content is None else None,
                rate=res.rate,
                status=res.status,
                headers=res.headers,
                ranges=res.ranges,
                transient_failures=res.transient_failures,
                failure_status=res.failure_status,
                last_modified=stamp,
                content_length=res.content_length,
                auth=res.auth,
                users=res.users,
                upload=res.upload,
                reply=None if res.reply is None else res.reply.encode(),
            )
        except ValueError as exc:
            raise NetworkFileError(f"bits-emulator: the network file {path}: resource {url!r}: {exc}") from None


# --------------------------------------------------------------------------------------------------
# The invocation context
# --------------------------------------------------------------------------------------------------


@dataclass
class Context:
    svc: BitsService
    account: Account
    session: LogonSession
    token: AccessToken
    mgr: Manager
    out: Out
    opts: Options
    sleep: Callable[[float], None] = field(default=time.sleep)

    def owner_name(self, sid: str) -> str:
        try:
            return self.svc.account(sid).qualified_name
        except KeyError:
            return sid


@contextmanager
def open_service(opts: Options, clock: Clock | None = None) -> Iterator[BitsService]:
    store = store_path(opts)

    def setup(svc: BitsService) -> None:
        # Before any job runs: the open command-line sessions' jobs may run as soon as the service opens.
        svc.filesystem.drive_root = drives_path(opts, store)
        if opts.network is not None:
            try:
                register_network(svc, opts.network.expanduser())
            except NetworkFileError as exc:
                raise Failed(str(exc), EXIT_USAGE) from None

    try:
        svc = CommandLineService(opts.profile, database=store, clock=clock, setup=setup)
    except ValueError as exc:
        raise Failed(f"bits-emulator: {exc}", EXIT_USAGE) from None
    try:
        yield svc
    finally:
        svc.close()


@contextmanager
def open_context(
    opts: Options, out: Out, *, clock: Clock | None = None, sleep: Callable[[float], None] = time.sleep
) -> Iterator[Context]:
    with open_service(opts, clock) as svc:
        account = calling_account(svc, opts.user or default_user(), elevated=opts.elevated)
        adopt_logged_on_sessions(svc)
        session = command_line_session(svc, account)
        token = session.elevated_token if opts.elevated else session.token
        mgr = svc.connect(token, blanket=CLI_BLANKET)
        yield Context(svc, account, session, token, mgr, out, opts, sleep)


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------


def guid_text(job_id: uuid.UUID) -> str:
    return "{" + str(job_id).upper() + "}"


def local_time(value: datetime | None) -> str:
    """Local date and time as bitsadmin prints them (``12/17/2002 1:21:17 PM``); UNKNOWN for none."""
    if value is None:
        return "UNKNOWN"
    d = value.astimezone()
    hour = d.hour % 12 or 12
    return f"{d.month}/{d.day}/{d.year} {hour}:{d.minute:02}:{d.second:02} {'AM' if d.hour < 12 else 'PM'}"


def size_text(n: int) -> str:
    return "UNKNOWN" if n == BG_SIZE_UNKNOWN else str(n)


def null_text(value: str | None) -> str:
    return "NULL" if value is None else value


def describe(code: int) -> str:
    try:
        return hresults.describe(code, 0x0409).rstrip("\r\n")
    except BitsError:
        return "Unknown error."


def list_line(job: Job) -> str:
    p = job.get_progress()
    return (
        f"{guid_text(job.get_id())} {job.get_display_name()} {STATE_NAMES[job.get_state()]} "
        f"{p.files_transferred} / {p.files_total} {p.bytes_transferred} / {size_text(p.bytes_total)}"
    )


def error_lines(job: Job) -> list[str]:
    """ERROR FILE / ERROR CODE / ERROR CONTEXT, as /info /verbose and /geterror show them."""
    err = job.get_error()
    context, code = err.get_error()
    lines: list[str] = []
    try:
        f = err.get_file()
        lines.append(f"ERROR FILE:    {f.get_remote_name()} -> {f.get_local_name()}")
    except BitsError:
        pass  # the error concerns no file (BG_E_FILE_NOT_AVAILABLE): bitsadmin has nothing to show
    lines.append(f"ERROR CODE:    0x{code:08x} - {describe(code)}")
    lines.append(f"ERROR CONTEXT: 0x{int(context):08x} - {describe(CONTEXT_TEXT[context].value)}")
    return lines


def info_lines(ctx: Context, job: Job) -> list[str]:
    """The /info /verbose block, fields in the order of the bitsadmin examples page."""
    p = job.get_progress()
    t = job.get_times()
    state = job.get_state()
    usage, plist, blist = job.get_proxy_settings()
    lines = [
        f"GUID: {guid_text(job.get_id())} DISPLAY: {job.get_display_name()}",
        f"TYPE: {TYPE_NAMES[job.get_type()]} STATE: {STATE_NAMES[state]} OWNER: {ctx.owner_name(job.get_owner())}",
        f"PRIORITY: {job.get_priority().name} FILES: {p.files_transferred} / {p.files_total} "
        f"BYTES: {p.bytes_transferred} / {size_text(p.bytes_total)}",
        f"CREATION TIME: {local_time(t.creation_time)} MODIFICATION TIME: {local_time(t.modification_time)}",
        f"COMPLETION TIME: {local_time(t.transfer_completion_time)}",
        f"NOTIFY INTERFACE: {'REGISTERED' if job.get_notify_interface() is not None else 'UNREGISTERED'} "
        f"NOTIFICATION FLAGS: {job.get_notify_flags()}",
        f"RETRY DELAY: {job.get_minimum_retry_delay()} NO PROGRESS TIMEOUT: {job.get_no_progress_timeout()} "
        f"ERROR COUNT: {job.get_error_count()}",
        f"PROXY USAGE: {usage.name} PROXY LIST: {null_text(plist)} PROXY BYPASS LIST: {null_text(blist)}",
    ]
    if state in (JobState.ERROR, JobState.TRANSIENT_ERROR):
        with suppress(BitsError):
            lines.extend(error_lines(job))
    # The examples page prints an empty description as "DESCRIPTION:", with no space after the colon.
    description = job.get_description()
    lines.append(f"DESCRIPTION: {description}" if description else "DESCRIPTION:")
    lines.append("JOB FILES:")
    for f in _all(job.enum_files()):
        fp = f.get_progress()
        status = "TRANSFERRED" if fp.completed else "WORKING"
        lines.append(
            f"        {fp.bytes_transferred} / {size_text(fp.bytes_total)} {status} "
            f"{f.get_remote_name()} -> {f.get_local_name()}"
        )
    program, parameters = job.get_notify_cmd_line()
    lines.append(f"NOTIFICATION COMMAND LINE: {cmdline_text(program, parameters)}")
    # The owner's facts of IBackgroundCopyJob4 (GetOwnerIntegrityLevel, GetOwnerElevationState), which
    # bitsadmin prints after the command line, the elevation's value aligned under the integrity level's
    # (docs/bitsadmin.md#verbose-owner).
    lines.append(f"owner MIC integrity level: {integrity_text(job.get_owner_integrity_level())}")
    lines.append(f"owner elevated ?           {'true' if job.get_owner_elevation_state() else 'false'}")
    return lines


def integrity_text(level: int) -> str:
    """An integrity RID by its name in upper case (MEDIUM, HIGH, SYSTEM…); a RID with no name in hex."""
    try:
        return IntegrityLevel(level).name
    except ValueError:
        return f"0x{level:x}"


def proxy_list_text(plist: str | None) -> str:
    """/getproxylist prints "the comma-delimited list of proxy servers" (bitsadmin getproxylist page), the
    form /setproxysettings takes; the API holds the list space-delimited."""
    return "NULL" if plist is None else ",".join(plist.split())


def cmdline_text(program: str | None, parameters: str | None) -> str:
    if not program:  # GetNotifyCmdLine gives empty strings when no command line is registered
        return "none"
    return f"'{program}' {'NULL' if not parameters else repr_quote(parameters)}"


def repr_quote(text: str) -> str:
    return f"'{text}'"


# --------------------------------------------------------------------------------------------------
# Argument helpers
# --------------------------------------------------------------------------------------------------


def is_null(text: str) -> bool:
    return text.upper() == "NULL"


def optional(text: str) -> str | None:
    """The literal NULL (any case) stands for a NULL pointer, as the bitsadmin pages document."""
    return None if is_null(text) else text


def no_list(text: str) -> bool:
    """A /setproxysettings list that stands for none: NULL or "" (setproxysettings page). The "" arrives empty
    when a shell strips the quotes, and as the two characters "" when no shell does (a program's argument
    list, a script run without cmd.exe): both mean no list."""
    return is_null(text) or text in ("", '""')


def number(text: str) -> int:
    """A decimal or 0x-hexadecimal number; anything else is E_INVALIDARG (bitsadmin passes nothing)."""
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise BitsError(hresults.E_INVALIDARG, f"{text!r} is not a number") from None


def choice(text: str, names: dict[str, int], what: str) -> int:
    value = names.get(text.upper())
    if value is None:
        raise BitsError(hresults.E_INVALIDARG, f"{text!r} is not a {what} ({', '.join(names)})")
    return value


def need(args: list[str], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise UsageError("wrong number of arguments")


def guid_of(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def find_job(ctx: Context, ident: str) -> Job:
    """``<job>`` is a display name or a GUID (bitsadmin page). A name is looked up among the caller's own
    jobs, then, for an administrator, among every user's (emulator choice); two jobs of that name are
    ambiguous and the GUID must be used."""
    key = guid_of(ident)
    if key is not None:
        with attempt("find job"):
            return ctx.mgr.get_job(key)
    with attempt("find job"):
        mine = _jobs(ctx.mgr, 0)
        matches = [j for j in mine if j.get_display_name() == ident]
        if not matches and ctx.token.is_admin:
            matches = [j for j in _jobs(ctx.mgr, BG_JOB_ENUM_ALL_USERS) if j.get_display_name() == ident]
    if not matches:
        raise failure("find job", BitsError(hresults.BG_E_NOT_FOUND))
    if len(matches) > 1:
        raise Failed(f"Unable to find job - several jobs are named '{ident}'; use the job's GUID.")
    return matches[0]


def _jobs(mgr: Manager, flags: int) -> list[Job]:
    return _all(mgr.enum_jobs(flags))


def _all(enum: Any) -> list[Any]:
    """Every item of an enumerator (Next refuses a count of 0, so an empty one is asked nothing)."""
    count = enum.get_count()
    return list(enum.next(count)) if count else []


def native(obj: object, method: str) -> Callable[..., Any]:
    """A native method another part of the library may not provide yet: E_NOTIMPL until it does."""
    fn = getattr(obj, method, None)
    if not callable(fn):
        raise BitsError(hresults.E_NOTIMPL, f"{method} is not emulated yet")
    return fn  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------
# Switches
# --------------------------------------------------------------------------------------------------

Handler = Callable[[Context, list[str]], int]
COMMANDS: dict[str, Handler] = {}
GETTERS: dict[str, tuple[str, Callable[[Context, Job], str]]] = {}


def command(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = fn
        return fn

    return register


@command("/create")
def cmd_create(ctx: Context, args: list[str]) -> int:
    kind = JobType.DOWNLOAD
    types = {"/DOWNLOAD": JobType.DOWNLOAD, "/UPLOAD": JobType.UPLOAD, "/UPLOAD-REPLY": JobType.UPLOAD_REPLY}
    if args and args[0].upper() in types:
        kind = types[args.pop(0).upper()]
    need(args, 1)
    with attempt("create job"):
        job_id, _ = ctx.mgr.create_job(args[0], kind)
    if ctx.out.raw:
        ctx.out.value(guid_text(job_id))
    else:
        ctx.out.line(f"Created job {guid_text(job_id)}.")
    return EXIT_OK


@command("/addfile")
def cmd_addfile(ctx: Context, args: list[str]) -> int:
    need(args, 3)
    job = find_job(ctx, args[0])
    with attempt("add file to job"):
        job.add_file(args[1], args[2])
    ctx.out.line(f"Added {args[1]} -> {args[2]} to job.")
    return EXIT_OK


def _read_file_list(ctx: Context, name: str) -> list[tuple[str, str]]:
    """The /addfileset text file: one "remote local" pair a line, '#' starts a comment line. A Windows
    drive path is read from the store's drives; any other name from the host file system."""
    path = Path(name)
    if len(name) > 2 and name[1] == ":" and name[0].isalpha():
        with attempt("add file set to job"):
            path = ctx.svc.filesystem.host_path(name)
    try:
        text = path.read_text()
    except OSError:
        raise failure("add file set to job", BitsError(hresults.ERROR_FILE_NOT_FOUND)) from None
    pairs: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise failure("add file set to job", BitsError(hresults.E_INVALIDARG, f"bad line {line!r}"))
        pairs.append((parts[0], parts[1]))
    return pairs


@command("/addfileset")
def cmd_addfileset(ctx: Context, args: list[str]) -> int:
    need(args, 2)
    job = find_job(ctx, args[0])
    pairs = _read_file_list(ctx, args[1])
    with attempt("add file set to job"):
        job.add_file_set(pairs)
    ctx.out.line(f"Added {len(pairs)} file(s) to job.")
    return EXIT_OK


def parse_ranges(text: str) -> list[FileRange]:
    """``offset:length`` pairs, comma separated; the length ``eof`` reads to the end of the file."""
    ranges: list[FileRange] = []
    for part in text.split(","):
        offset, colon, length = part.strip().partition(":")
        if not colon:
            raise BitsError(hresults.E_INVALIDARG, f"{part!r} is not offset:length")
        size = BG_LENGTH_TO_EOF if length.strip().lower() == "eof" else number(length.strip())
        ranges.append(FileRange(initial_offset=number(offset.strip()), length=size))
    return ranges


@command("/addfilewithranges")
def cmd_addfilewithranges(ctx: Context, args: list[str]) -> int:
    need(args, 4)
    job = find_job(ctx, args[0])
    with attempt("add file to job"):
        ranges = parse_ranges(args[3])
        native(job, "add_file_with_ranges")(args[1], args[2], ranges)
    ctx.out.line(f"Added {args[1]} -> {args[2]} to job.")
    return EXIT_OK


@command("/replaceremoteprefix")
def cmd_replaceremoteprefix(ctx: Context, args: list[str]) -> int:
    need(args, 3)
    job = find_job(ctx, args[0])
    with attempt("replace remote prefix"):
        native(job, "replace_remote_prefix")(args[1], args[2])
    ctx.out.line(f"Replaced remote prefix {args[1]} with {args[2]}.")
    return EXIT_OK


@command("/listfiles")
def cmd_listfiles(ctx: Context, args: list[str]) -> int:
    need(args, 1)
    job = find_job(ctx, args[0])
    with attempt("list files"):
        items = _all(job.enum_files())
        for f in items:
            fp = f.get_progress()
            status = "TRANSFERRED" if fp.completed else "WORKING"
            ctx.out.line(
                f"{fp.bytes_transferred} / {size_text(fp.bytes_total)} {status} "
                f"{f.get_remote_name()} -> {f.get_local_name()}"
            )
    ctx.out.line(f"Listed {len(items)} file(s).")
    return EXIT_OK


def _state_command(verb: str, done: str, method: str) -> Handler:
    def run(ctx: Context, args: list[str]) -> int:
        need(args, 1)
        job = find_job(ctx, args[0])
        with attempt(f"{verb} job"):
            result = getattr(job, method)()
        if isinstance(result, int) and result != hresults.S_OK.value:
            entry = hresults.lookup(result)
            ctx.out.line(f"{done} - 0x{result:08x}. {entry.message if entry else ''}".rstrip())
        else:
            ctx.out.line(f"{done}.")
        return EXIT_OK

    return run


COMMANDS["/suspend"] = _state_command("suspend", "Job suspended", "suspend")
COMMANDS["/resume"] = _state_command("resume", "Job resumed", "resume")
COMMANDS["/cancel"] = _state_command("cancel", "Job canceled", "cancel")
COMMANDS["/complete"] = _state_command("complete", "Job completed", "complete")


@command("/takeownership")
def cmd_takeownership(ctx: Context, args: list[str]) -> int:
    need(args, 1)
    job = find_job(ctx, args[0])
    with attempt("take ownership"):
        job.take_ownership()
    ctx.out.line("Ownership taken.")
    return EXIT_OK


@command("/reset")
def cmd_reset(ctx: Context, args: list[str]) -> int:
    """Cancel every job of the caller (``/allusers``: of every user, administrators only). Jobs of
    LocalSystem are left alone (bitsadmin reset page: "cannot cancel LocalSystem jobs")."""
    flags = 0
    if args and args[0].upper() == "/ALLUSERS":
        flags = BG_JOB_ENUM_ALL_USERS
        args = args[1:]
    need(args, 0)
    with attempt("enumerate jobs"):
        jobs = _jobs(ctx.mgr, flags)
    canceled = 0
    system = ctx.svc.local_system.sid
    for job in jobs:
        try:
            job_id = job.get_id()
            if flags and job.get_owner() == system and ctx.account.sid != system:
                continue
            job.cancel()
        except BitsError as exc:
            ctx.out.error(f"Unable to cancel {guid_text(job_id)} - 0x{exc.hresult:08x}. {exc.message}")
            continue
        canceled += 1
        ctx.out.line(f"{guid_text(job_id)} canceled.")
    ctx.out.line(f"{canceled} out of {len(jobs)} jobs canceled.")
    return EXIT_OK if canceled == len(jobs) else EXIT_FAILED


def _list_flags(args: list[str], allowed: set[str]) -> tuple[set[str], list[str]]:
    seen: set[str] = set()
    rest: list[str] = []
    for a in args:
        if a.upper() in allowed:
            seen.add(a.upper())
        else:
            rest.append(a)
    return seen, rest


@command("/list")
def cmd_list(ctx: Context, args: list[str]) -> int:
    seen, rest = _list_flags(args, {"/ALLUSERS", "/VERBOSE"})
    need(rest, 0)
    with attempt("enumerate jobs"):
        jobs = _jobs(ctx.mgr, BG_JOB_ENUM_ALL_USERS if "/ALLUSERS" in seen else 0)
        for job in jobs:
            if "/VERBOSE" in seen:
                for line in info_lines(ctx, job):
                    ctx.out.line(line)
                ctx.out.line()
            else:
                ctx.out.line(list_line(job))
    if "/VERBOSE" not in seen:
        ctx.out.line()
    ctx.out.line(f"Listed {len(jobs)} job(s).")
    return EXIT_OK


@command("/info")
def cmd_info(ctx: Context, args: list[str]) -> int:
    seen, rest = _list_flags(args, {"/VERBOSE"})
    need(rest, 1)
    job = find_job(ctx, rest[0])
    with attempt("get job information"):
        lines = info_lines(ctx, job) if seen else [list_line(job)]
    for line in lines:
        ctx.out.line(line)
    return EXIT_OK


@command("/monitor")
def cmd_monitor(ctx: Context, args: list[str]) -> int:
    """Poll the queue every ``/refresh`` seconds (default 5) until Ctrl+C, or ``--count`` refreshes.
    Each refresh prints the header and one line per job (a console would redraw in place)."""
    flags = 0
    refresh = 5
    i = 0
    while i < len(args):
        a = args[i].upper()
        if a == "/ALLUSERS":
            flags = BG_JOB_ENUM_ALL_USERS
        elif a == "/REFRESH" and i + 1 < len(args):
            i += 1
            try:
                refresh = number(args[i])
            except BitsError:
                raise UsageError(f"/refresh takes a number of seconds, not {args[i]!r}") from None
        else:
            raise UsageError(f"unexpected argument {args[i]!r}")
        i += 1
    shown = 0
    while True:
        with attempt("enumerate jobs"):
            lines = [list_line(job) for job in _jobs(ctx.mgr, flags)]
        ctx.out.line(f"MONITORING BACKGROUND COPY MANAGER({refresh} second refresh)")
        for line in lines:
            ctx.out.line(line)
        shown += 1
        if ctx.opts.count is not None and shown >= ctx.opts.count:
            return EXIT_OK
        ctx.out.stream.flush()
        ctx.sleep(refresh)
        ctx.out.line()


PRIORITIES = {p.name: int(p) for p in JobPriority}


@command("/transfer")
def cmd_transfer(ctx: Context, args: list[str]) -> int:
    """Create, add, resume, show progress; complete on success, cancel on a fatal error, keep going
    through transient ones (bitsadmin transfer page). The simulation is driven by run_until_idle() on
    simulated time, so the outcome never depends on the machine's speed; a progress line is printed at
    every state change of the job."""
    if not args:
        raise UsageError("/transfer needs a job name")
    name, rest = args[0], args[1:]
    kind = JobType.DOWNLOAD
    priority: int = JobPriority.NORMAL
    acl: int | None = None
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(rest):
        a = rest[i].upper()
        if a in ("/DOWNLOAD", "/UPLOAD"):
            kind = JobType.DOWNLOAD if a == "/DOWNLOAD" else JobType.UPLOAD
        elif a in ("/PRIORITY", "/ACLFLAGS") and i + 1 < len(rest):
            i += 1
            with attempt("create job"):  # invalid type or priority: the job is not created
                if a == "/PRIORITY":
                    priority = choice(rest[i], PRIORITIES, "priority")
                else:
                    acl = acl_flags(rest[i])
        elif a.startswith("/"):
            raise UsageError(f"unknown /transfer option {rest[i]!r}")
        elif i + 1 < len(rest):
            pairs.append((rest[i], rest[i + 1]))
            i += 1
        else:
            raise UsageError("remote and local names come in pairs")
        i += 1
    if not pairs:
        raise UsageError("/transfer needs at least one remote and local name")
    with attempt("create job"):
        _, job = ctx.mgr.create_job(name, kind)
    try:
        job.set_priority(priority)
        if acl is not None:
            job.set_file_acl_flags(acl)
        job.add_file_set(pairs)
    except BitsError as exc:
        job.cancel()  # the job is not left behind when its files cannot be added
        raise failure("add file to job", exc) from None
    return _run_transfer(ctx, job)


REPEATS = 3  # /transfer: how many times one progress line is printed while the job makes no progress


def _run_transfer(ctx: Context, job: Job) -> int:
    svc = ctx.svc
    job_id = job.get_id()
    shown: list[JobState] = []
    # A job that keeps failing without progress (a host nobody serves retries for its NoProgressTimeout, 14 days
    # by default) would print thousands of identical lines: each line is printed at most REPEATS times until
    # the bytes move, and one line says how many were left out (docs/bitsadmin.md).
    printed: dict[str, int] = {}
    left_out = 0
    moved: tuple[int, int] | None = None  # the bytes and files of the last line printed

    def flush_left_out() -> None:
        nonlocal left_out
        if left_out:
            ctx.out.line(f"({left_out} more lines like these while the job retried without progress)")
            left_out = 0

    def show() -> None:
        # One line per state the job enters (docs/bitsadmin.md): the bytes are those at the instant of the
        # change. A second look in the same state would show bytes at the wall clock's "now", which depends
        # on the machine's speed, so it prints nothing.
        # (The state is read last: a catch-up inside these reads may itself announce a newer state, which
        # the nested call prints; this one then has nothing new to say.)
        nonlocal left_out, moved
        name = job.get_display_name()
        progress = job.get_progress()
        state = job.get_state()
        if shown and shown[-1] is state:
            return
        shown.append(state)
        line = f"DISPLAY: '{name}' {_progress_line(state, progress)}"
        if moved != (progress.bytes_transferred, progress.files_transferred):
            printed.clear()  # the bytes moved: the repeats so far are over
            moved = (progress.bytes_transferred, progress.files_transferred)
        printed[line] = printed.get(line, 0) + 1
        if printed[line] > REPEATS:
            left_out += 1
            return
        flush_left_out()
        ctx.out.line(line)

    def on_change(event: JobStateChanged) -> None:
        if event.job_id == job_id:
            show()

    unsubscribe = svc.bus.subscribe(JobStateChanged, on_change)
    try:
        with attempt("resume job"):
            job.resume()
        show()
        svc.run_until_idle()
    except KeyboardInterrupt:
        ctx.out.error("Transfer interrupted; the job stays in the queue.")
        return 130
    finally:
        unsubscribe()
    show()
    flush_left_out()
    state = job.get_state()
    if state is JobState.TRANSFERRED:
        with attempt("complete job"):
            job.complete()
        ctx.out.line("Transfer complete.")
        return EXIT_OK
    if state is JobState.ERROR:
        for line in error_lines(job):
            ctx.out.error(line)
        with attempt("cancel job"):
            job.cancel()
        ctx.out.error("Transfer canceled.")
        return EXIT_FAILED
    # Nothing more happens without outside help (the owner logged off, a helper token is needed, another
    # process suspended the job): waiting would never end in an emulator, so the command stops here.
    ctx.out.error(f"The job is {STATE_NAMES[state]} and cannot make progress; it stays in the queue.")
    return EXIT_FAILED


def _progress_line(state: JobState, p: JobProgress) -> str:
    files = f"{p.files_transferred} / {p.files_total}"
    return f"{STATE_NAMES[state]} {files} {p.bytes_transferred} / {size_text(p.bytes_total)}"


# getters ------------------------------------------------------------------------------------------


def getter(switch: str, action: str) -> Callable[[Callable[[Context, Job], str]], Callable[[Context, Job], str]]:
    def register(fn: Callable[[Context, Job], str]) -> Callable[[Context, Job], str]:
        GETTERS[switch] = (action, fn)
        return fn

    return register


getter("/getbytestotal", "get bytes total")(lambda c, j: size_text(j.get_progress().bytes_total))
getter("/getbytestransferred", "get bytes transferred")(lambda c, j: str(j.get_progress().bytes_transferred))
getter("/getfilestotal", "get files total")(lambda c, j: str(j.get_progress().files_total))
getter("/getfilestransferred", "get files transferred")(lambda c, j: str(j.get_progress().files_transferred))
getter("/getcreationtime", "get creation time")(lambda c, j: local_time(j.get_times().creation_time))
getter("/getmodificationtime", "get modification time")(lambda c, j: local_time(j.get_times().modification_time))
getter("/getcompletiontime", "get completion time")(lambda c, j: local_time(j.get_times().transfer_completion_time))
getter("/getstate", "get state")(lambda c, j: STATE_NAMES[j.get_state()])
getter("/gettype", "get type")(lambda c, j: TYPE_NAMES[j.get_type()])
getter("/getpriority", "get priority")(lambda c, j: j.get_priority().name)
getter("/getdisplayname", "get display name")(lambda c, j: j.get_display_name())
getter("/getdescription", "get description")(lambda c, j: j.get_description())
getter("/getowner", "get owner")(lambda c, j: c.owner_name(j.get_owner()))
getter("/geterrorcount", "get error count")(lambda c, j: str(j.get_error_count()))
getter("/getminretrydelay", "get minimum retry delay")(lambda c, j: str(j.get_minimum_retry_delay()))
getter("/getnoprogresstimeout", "get no progress timeout")(lambda c, j: str(j.get_no_progress_timeout()))
getter("/getmaxdownloadtime", "get maximum download time")(lambda c, j: str(j.get_maximum_download_time()))
getter("/getnotifyflags", "get notify flags")(lambda c, j: str(j.get_notify_flags()))
getter("/getnotifyinterface", "get notify interface")(
    lambda c, j: "REGISTERED" if j.get_notify_interface() is not None else "UNREGISTERED"
)
getter("/getnotifycmdline", "get notification command line")(lambda c, j: cmdline_text(*j.get_notify_cmd_line()))
getter("/getproxyusage", "get proxy usage")(lambda c, j: j.get_proxy_settings()[0].name)
getter("/getproxylist", "get proxy list")(lambda c, j: proxy_list_text(j.get_proxy_settings()[1]))
getter("/getproxybypasslist", "get proxy bypass list")(lambda c, j: null_text(j.get_proxy_settings()[2]))
getter("/getpeercachingflags", "get peer caching flags")(lambda c, j: f"0x{j.get_peer_caching_flags():x}")
getter("/getsecurityflags", "get security flags")(lambda c, j: f"0x{j.get_security_flags():x}")
getter("/gethttpmethod", "get HTTP method")(lambda c, j: j.get_http_method())
getter("/getreplyfilename", "get reply file name")(lambda c, j: null_text(j.get_reply_file_name()))
getter("/geterror", "get error")(lambda c, j: "\n".join(error_lines(j)))


@getter("/getaclflags", "get ACL flags")
def get_acl_flags(ctx: Context, job: Job) -> str:
    """The letters in lower case, as the bitsadmin getaclflags page lists the values it returns (o, g, d, s);
    NONE for none (emulator choice: the page is silent)."""
    flags = job.get_file_acl_flags()
    return "".join(letter.lower() for letter, bit in ACL_LETTERS.items() if flags & bit) or "NONE"


@getter("/getcustomheaders", "get custom headers")
def get_custom_headers(ctx: Context, job: Job) -> str:
    headers = job.get_custom_headers()
    return "NULL" if headers is None else "\n".join(h for h in headers.split("\r\n") if h)


@getter("/getclientcertificate", "get client certificate")
def get_client_certificate(ctx: Context, job: Job) -> str:
    location, store, thumb, subject = job.get_client_certificate()
    return "\n".join(
        [
            f"STORE LOCATION: {CertStoreLocation(location).name}",
            f"STORE NAME: {store}",
            f"HASH: {thumb.hex().upper() if thumb is not None else 'NULL'}",
            f"SUBJECT NAME: {null_text(subject)}",
        ]
    )


@getter("/getreplydata", "get reply data")
def get_reply_data(ctx: Context, job: Job) -> str:
    data = job.get_reply_data()
    return "NULL" if data is None else data.hex()


@getter("/getreplyprogress", "get reply progress")
def get_reply_progress(ctx: Context, job: Job) -> str:
    p = job.get_reply_progress()
    return f"{p.bytes_transferred} / {size_text(p.bytes_total)}"


@getter("/gethelpertokenflags", "get helper token flags")
def get_helper_token_flags(ctx: Context, job: Job) -> str:
    options = job.query_interface(IBitsTokenOptions)
    return f"0x{options.get_helper_token_flags():x}"


@getter("/gethelpertokensid", "get helper token SID")
def get_helper_token_sid(ctx: Context, job: Job) -> str:
    options = job.query_interface(IBitsTokenOptions)
    return null_text(options.get_helper_token_sid())


def _file_at(job: Job, index_text: str) -> Any:
    index = number(index_text)
    items = _all(job.enum_files())
    if not 0 <= index < len(items):
        raise BitsError(hresults.E_INVALIDARG, f"the job has no file {index}")
    return items[index]


def _file_getter(switch: str, action: str, fn: Callable[[Any], str]) -> None:
    def run(ctx: Context, args: list[str]) -> int:
        need(args, 2)
        job = find_job(ctx, args[0])
        with attempt(action):
            text = fn(_file_at(job, args[1]))
        ctx.out.value(text)
        return EXIT_OK

    COMMANDS[switch] = run


_file_getter("/gettemporaryname", "get temporary name", lambda f: null_text(f.get_temporary_name()))
_file_getter(
    "/getvalidationstate",
    "get validation state",
    lambda f: "TRUE" if native(f, "get_validation_state")() else "FALSE",
)


def _run_getter(action: str, fn: Callable[[Context, Job], str]) -> Handler:
    def run(ctx: Context, args: list[str]) -> int:
        need(args, 1)
        job = find_job(ctx, args[0])
        with attempt(action):
            text = fn(ctx, job)
        ctx.out.value(text)
        return EXIT_OK

    return run


# setters ------------------------------------------------------------------------------------------


def acl_flags(text: str) -> int:
    flags = 0
    for letter in text.upper():
        if letter not in ACL_LETTERS:
            raise BitsError(hresults.E_INVALIDARG, f"{letter!r} is not one of O, G, D, S")
        flags |= ACL_LETTERS[letter]
    return flags


Setter = Callable[[Context, "Job", list[str]], str]


def setter(*switches: str, action: str, nargs: tuple[int, int | None]) -> Callable[[Setter], Setter]:
    """Register ``/set<x> <job> <args…>``: ``fn`` calls the native setter and returns the line to print."""

    def register(fn: Setter) -> Setter:
        def run(ctx: Context, args: list[str]) -> int:
            low, high = nargs
            if len(args) < 1 + low or (high is not None and len(args) > 1 + high):
                raise UsageError("wrong number of arguments")
            job = find_job(ctx, args[0])
            with attempt(action):
                text = fn(ctx, job, args[1:])
            ctx.out.line(text)
            return EXIT_OK

        for s in switches:
            COMMANDS[s] = run
        return fn

    return register


@dataclass(frozen=True)
class ValueSetter:
    """One ``/set<x> <job> <value>`` switch: parse the value, hand it to the native setter ``method`` (of the
    job, or of the interface ``on`` gets from it), print ``message``: a ``str.format`` template over ``arg``
    (the value as typed), ``upper`` (upper-cased), ``value`` (as parsed) and ``stored`` (what the getter
    ``readback`` reads afterwards, for a setter that adjusts the value it is given)."""

    action: str
    method: str
    parse: Callable[[str], Any]
    message: str
    readback: str | None = None
    on: Callable[[Job], Any] = lambda job: job
    # The value is the rest of the line, its words joined by one space (`/SetDescription myDownloadJob Music
    # Downloads`, the setdescription page's example, sets "Music Downloads")
    rest_of_line: bool = False

    def __call__(self, ctx: Context, job: Job, a: list[str]) -> str:
        typed = " ".join(a) if self.rest_of_line else a[0]
        value = self.parse(typed)
        target = self.on(job)
        getattr(target, self.method)(value)
        stored = getattr(target, self.readback)() if self.readback else None
        return self.message.format(arg=typed, upper=typed.upper(), value=value, stored=stored)


def _as_typed(text: str) -> str:
    return text


def _priority(text: str) -> int:
    return choice(text, PRIORITIES, "priority")


def _token_options(job: Job) -> Any:
    return job.query_interface(IBitsTokenOptions)


# Each runs once the job is found, inside "Unable to <action> - …": a value that does not parse fails
# there as E_INVALIDARG, as the native setter's own refusals do.
VALUE_SETTERS: dict[tuple[str, ...], ValueSetter] = {
    ("/setaclflags", "/setaclflag"): ValueSetter(
        "set ACL flags", "set_file_acl_flags", acl_flags, "ACL flags set to {upper}."
    ),
    ("/setdisplayname",): ValueSetter(
        "set display name", "set_display_name", _as_typed, "Display name set to {arg}.", rest_of_line=True
    ),
    ("/setdescription",): ValueSetter(
        "set description", "set_description", _as_typed, "Description set to {arg}.", rest_of_line=True
    ),
    ("/setpriority",): ValueSetter("set priority", "set_priority", _priority, "Priority set to {upper}."),
    ("/setnotifyflags",): ValueSetter(
        "set notify flags", "set_notify_flags", number, "Notification flags set to {value}."
    ),
    # SetMinimumRetryDelay raises a value below the minimum: the line shows what the job keeps.
    ("/setminretrydelay",): ValueSetter(
        "set minimum retry delay",
        "set_minimum_retry_delay",
        number,
        "Minimum retry delay set to {stored}.",
        readback="get_minimum_retry_delay",
    ),
    ("/setnoprogresstimeout",): ValueSetter(
        "set no progress timeout", "set_no_progress_timeout", number, "No progress timeout set to {value}."
    ),
    ("/setmaxdownloadtime",): ValueSetter(
        "set maximum download time", "set_maximum_download_time", number, "Maximum download time set to {value}."
    ),
    ("/setpeercachingflags",): ValueSetter(
        "set peer caching flags", "set_peer_caching_flags", number, "Peer caching flags set to 0x{value:x}."
    ),
    ("/setsecurityflags",): ValueSetter(
        "set security flags", "set_security_flags", number, "Security flags set to 0x{value:x}."
    ),
    ("/sethttpmethod",): ValueSetter("set HTTP method", "set_http_method", _as_typed, "HTTP method set to {arg}."),
    ("/setreplyfilename",): ValueSetter(
        "set reply file name", "set_reply_file_name", optional, "Reply file name set to {arg}."
    ),
    ("/sethelpertokenflags",): ValueSetter(
        "set helper token flags",
        "set_helper_token_flags",
        number,
        "Helper token flags set to 0x{value:x}.",
        on=_token_options,
    ),
}

for _switches, _value_setter in VALUE_SETTERS.items():
    setter(*_switches, action=_value_setter.action, nargs=(1, None) if _value_setter.rest_of_line else (1, 1))(
        _value_setter
    )


@setter("/setcustomheaders", action="set custom headers", nargs=(1, None))
def set_custom_headers(ctx: Context, job: Job, a: list[str]) -> str:
    """Each argument is one header; a single NULL removes them (the API takes CRLF-separated headers)."""
    headers = None if len(a) == 1 and is_null(a[0]) else "\r\n".join(a)
    job.set_custom_headers(headers)
    return "Custom headers removed." if headers is None else f"Custom headers set ({len(a)})."


@setter("/makecustomheaderswriteonly", action="make custom headers write-only", nargs=(0, 0))
def make_headers_write_only(ctx: Context, job: Job, a: list[str]) -> str:
    job.make_custom_headers_write_only()
    return "Custom headers are write-only."


@setter("/setnotifycmdline", action="set notification command line", nargs=(1, None))
def set_notify_cmdline(ctx: Context, job: Job, a: list[str]) -> str:
    """``<program> [program_parameters]``: the parameters are the rest of the command line, as in the
    page's example ``/setnotifycmdline myDownloadJob c:\\winnt\\system32\\notepad.exe notepad c:\\eula.txt``
    (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/bitsadmin-setnotifycmdline).
    Several arguments are joined with one space, an argument holding white space in double quotes
    (emulator choice: how bitsadmin rebuilds the string is undocumented); one NULL stands for none."""
    program = optional(a[0])
    rest = a[1:]
    if len(rest) == 1:
        parameters = optional(rest[0])
    else:
        parameters = " ".join(f'"{t}"' if any(c.isspace() for c in t) else t for t in rest) or None
    job.set_notify_cmd_line(program, parameters)
    return f"Notification command line set to {cmdline_text(program, parameters)}."


PROXY_USAGES = {u.name: int(u) for u in ProxyUsage}


@setter("/setproxysettings", action="set proxy settings", nargs=(1, 3))
def set_proxy_settings(ctx: Context, job: Job, a: list[str]) -> str:
    """OVERRIDE's proxy list is comma-delimited on the command line and space-delimited in the API
    (setproxysettings page); the conversion is undocumented, ours replaces each comma by a space.
    NULL or "" stands for no list (no_list). With OVERRIDE "a proxy and proxy bypass list must follow" (same
    page): a missing one is E_INVALIDARG, as the API answers OVERRIDE without a proxy list."""
    usage = choice(a[0], PROXY_USAGES, "proxy usage")
    if usage == ProxyUsage.OVERRIDE and len(a) < 3:
        raise BitsError(hresults.E_INVALIDARG, 'OVERRIDE needs a proxy list and a bypass list (NULL or "" for none)')
    plist = None if len(a) < 2 or no_list(a[1]) else a[1].replace(",", " ")
    blist = None if len(a) < 3 or no_list(a[2]) else a[2]
    job.set_proxy_settings(usage, plist, blist)
    return f"Proxy usage set to {a[0].upper()}."


TARGETS = {t.name: int(t) for t in AuthTarget}
SCHEMES = {s.name: int(s) for s in AuthScheme}


@setter("/setcredentials", action="set credentials", nargs=(4, 4))
def set_credentials(ctx: Context, job: Job, a: list[str]) -> str:
    target = choice(a[0], TARGETS, "target")
    scheme = choice(a[1], SCHEMES, "scheme")
    job.set_credentials(target, scheme, optional(a[2]), optional(a[3]))
    return "Credentials set."


@setter("/removecredentials", action="remove credentials", nargs=(2, 2))
def remove_credentials(ctx: Context, job: Job, a: list[str]) -> str:
    result = job.remove_credentials(choice(a[0], TARGETS, "target"), choice(a[1], SCHEMES, "scheme"))
    return "Credentials removed." if result == hresults.S_OK.value else "No such credentials."


LOCATIONS = {loc.name: int(loc) for loc in CertStoreLocation}


def store_location(text: str) -> int:
    """A certificate store location as the bitsadmin pages write it: a number 1 (CURRENT_USER) … 8
    (LOCAL_MACHINE_ENTERPRISE) (setclientcertificatebyname page, list and example), the API's name
    ``BG_CERT_STORE_LOCATION_CURRENT_USER`` (setclientcertificatebyid page example) or the short name.
    Anything else, numbers outside 1…8 included, is E_INVALIDARG (emulator choice)."""
    if text.isdigit():
        index = int(text)
        if 1 <= index <= len(CertStoreLocation):
            return int(CertStoreLocation(index - 1))  # the pages count from 1, the enumeration from 0
        raise BitsError(hresults.E_INVALIDARG, f"{text!r} is not a store location (1 to {len(CertStoreLocation)})")
    name = text.upper()
    prefix = "BG_CERT_STORE_LOCATION_"
    return choice(name[len(prefix) :] if name.startswith(prefix) else name, LOCATIONS, "store location")


@setter("/setclientcertificatebyid", action="set client certificate", nargs=(3, 3))
def set_cert_by_id(ctx: Context, job: Job, a: list[str]) -> str:
    try:
        thumb = bytes.fromhex(a[2])
    except ValueError:
        raise BitsError(hresults.E_INVALIDARG, f"{a[2]!r} is not a hexadecimal hash") from None
    job.set_client_certificate_by_id(store_location(a[0]), a[1], thumb)
    return "Client certificate set."


@setter("/setclientcertificatebyname", action="set client certificate", nargs=(3, 3))
def set_cert_by_name(ctx: Context, job: Job, a: list[str]) -> str:
    job.set_client_certificate_by_name(store_location(a[0]), a[1], a[2])
    return "Client certificate set."


@setter("/removeclientcertificate", action="remove client certificate", nargs=(0, 0))
def remove_cert(ctx: Context, job: Job, a: list[str]) -> str:
    result = job.remove_client_certificate()
    return "Client certificate removed." if result == hresults.S_OK.value else "No client certificate was set."


@setter("/setvalidationstate", action="set validation state", nargs=(2, 2))
def set_validation_state(ctx: Context, job: Job, a: list[str]) -> str:
    value = choice(a[1], {"TRUE": 1, "FALSE": 0}, "validation state")
    native(_file_at(job, a[0]), "set_validation_state")(bool(value))
    return f"Validation state set to {a[1].upper()}."


@setter("/sethelpertoken", action="set helper token", nargs=(0, 2))
def set_helper_token(ctx: Context, job: Job, a: list[str]) -> str:
    """The prompt's own token, or ``<user@domain> <password>``: that local account's token, from its
    command-line logon session (the emulator keeps no passwords: any password is accepted)."""
    options = job.query_interface(IBitsTokenOptions)
    if not a:
        options.set_helper_token()
        return "Helper token set."
    if len(a) != 2:
        raise BitsError(hresults.E_INVALIDARG, "give both a user name and a password")
    user = a[0].split("@", 1)[0].split("\\")[-1]
    try:
        account = ctx.svc.account(user)
    except KeyError:
        # LogonUser fails: HRESULT_FROM_WIN32(ERROR_LOGON_FAILURE).
        raise Failed("Unable to set helper token - 0x8007052e. The user name or password is incorrect.") from None
    session = command_line_session(ctx.svc, account)
    with ctx.svc.impersonate(session.token):
        options.set_helper_token()
    return f"Helper token set to {account.qualified_name}."


@command("/util")
def cmd_util(ctx: Context, args: list[str]) -> int:
    # "/util /help … You can also specify /?" (bitsadmin util page).
    if not args or args[0].upper() in ("/HELP", "/?"):
        ctx.out.line("/UTIL /VERSION [/VERBOSE]   the version of the BITS service")
        return EXIT_OK
    if args[0].upper() != "/VERSION":
        raise Failed(f"{args[0]} is not emulated by bits-emulator (only /util /version is).")
    seen, rest = _list_flags(args[1:], {"/VERBOSE"})
    need(rest, 0)
    from .. import __version__

    profile = ctx.svc.profile
    ctx.out.value(".".join(map(str, profile.bits_version)))
    if seen:
        ctx.out.line(f"bits-emulator {__version__}, profile {profile.name} ({profile.windows}, build {profile.build})")
    return EXIT_OK


NOT_EMULATED = {
    "/cache": "peer caching is not emulated",
    "/peers": "peer caching is not emulated",
    "/peercaching": "peer caching is not emulated",
}

USAGE = """\
BITSADMIN (bits-emulator): the Windows BITS administration tool over an emulated queue.

USAGE: BITSADMIN [/RAWRETURN] [/WRAP | /NOWRAP] command
The following commands are available:

/HELP           Prints this help
/?              Prints this help
/UTIL /?        Prints the list of utilities commands
/LIST    [/ALLUSERS] [/VERBOSE]       List the jobs
/MONITOR [/ALLUSERS] [/REFRESH sec]   Monitors the copy manager
/RESET   [/ALLUSERS]                  Deletes all jobs in the manager
/TRANSFER <job name> [type] [/PRIORITY priority] [/ACLFLAGS flags]
          <remote name> <local name> [<remote name> <local name> ...]
/CREATE [type] <display name>   Creates a job (type: /DOWNLOAD, /UPLOAD, /UPLOAD-REPLY)
/INFO <job> [/VERBOSE]          Displays information about the job
/ADDFILE <job> <remote name> <local name>
/ADDFILESET <job> <textfile>
/ADDFILEWITHRANGES <job> <remote name> <local name> <range list>
/REPLACEREMOTEPREFIX <job> <old prefix> <new prefix>
/LISTFILES <job>
/SUSPEND <job>   /RESUME <job>   /CANCEL <job>   /COMPLETE <job>   /TAKEOWNERSHIP <job>
/GETTYPE /GETBYTESTOTAL /GETBYTESTRANSFERRED /GETFILESTOTAL /GETFILESTRANSFERRED
/GETCREATIONTIME /GETMODIFICATIONTIME /GETCOMPLETIONTIME /GETSTATE /GETERROR /GETOWNER
/GETDISPLAYNAME /GETDESCRIPTION /GETPRIORITY /GETNOTIFYFLAGS /GETNOTIFYINTERFACE
/GETMINRETRYDELAY /GETNOPROGRESSTIMEOUT /GETERRORCOUNT /GETPROXYUSAGE /GETPROXYLIST
/GETPROXYBYPASSLIST /GETNOTIFYCMDLINE /GETREPLYFILENAME /GETREPLYPROGRESS /GETREPLYDATA
/GETACLFLAGS /GETHTTPMETHOD /GETSECURITYFLAGS /GETCUSTOMHEADERS /GETCLIENTCERTIFICATE
/GETPEERCACHINGFLAGS /GETMAXDOWNLOADTIME /GETHELPERTOKENFLAGS /GETHELPERTOKENSID   <job>
/GETTEMPORARYNAME /GETVALIDATIONSTATE   <job> <file index>
/SETDISPLAYNAME /SETDESCRIPTION /SETPRIORITY /SETNOTIFYFLAGS /SETMINRETRYDELAY
/SETNOPROGRESSTIMEOUT /SETMAXDOWNLOADTIME /SETPEERCACHINGFLAGS /SETSECURITYFLAGS
/SETHTTPMETHOD /SETREPLYFILENAME /SETACLFLAGS /SETHELPERTOKENFLAGS   <job> <value>
/SETNOTIFYCMDLINE <job> <program name> [program parameters]   (NULL for none)
/SETPROXYSETTINGS <job> <usage> [proxy list] [bypass list]
/SETCREDENTIALS <job> <target> <scheme> <username> <password>
/REMOVECREDENTIALS <job> <target> <scheme>
/SETCUSTOMHEADERS <job> <header> ...   /MAKECUSTOMHEADERSWRITEONLY <job>
/SETCLIENTCERTIFICATEBYID <job> <store location> <store name> <hash>
/SETCLIENTCERTIFICATEBYNAME <job> <store location> <store name> <subject>
/REMOVECLIENTCERTIFICATE <job>   /SETVALIDATIONSTATE <job> <file index> <TRUE|FALSE>
/SETHELPERTOKEN <job> [<user@domain> <password>]
/UTIL /VERSION [/VERBOSE]

Emulator options (anywhere on the line; each has an environment variable):
--store PATH (BITS_EMULATOR_STORE)   --as NAME (BITS_EMULATOR_USER)   --elevated (BITS_EMULATOR_ELEVATED=1)
--profile NAME (BITS_EMULATOR_PROFILE)   --drives DIR (BITS_EMULATOR_DRIVES)
--network FILE (BITS_EMULATOR_NETWORK)   --count N (refreshes of /monitor)

<job> is a display name or a GUID. Details: docs/bitsadmin.md of bits-emulator."""

EXAMPLES = """\
bitsadmin /transfer myDownloadJob /download /priority normal https://downloadsrv/10mb.zip c:\\10mb.zip
bitsadmin /create myDownloadJob
bitsadmin /addfile myDownloadJob https://downloadsrv/10mb.zip c:\\10mb.zip
bitsadmin /resume myDownloadJob
bitsadmin /info myDownloadJob /verbose
bitsadmin /complete myDownloadJob
bitsadmin /list
bitsadmin /reset"""


def _truncates(mode: str, command_name: str) -> bool:
    """/nowrap "Truncates any line of output text extending beyond the right-most edge of the command
    window"; by default every switch but /monitor wraps (bitsadmin nowrap and wrap pages)."""
    return mode == "nowrap" or (mode == "" and command_name == "/monitor")


def _wrap_width(mode: str, command_name: str, env: Mapping[str, str]) -> int | None:
    """The console width that /wrap wraps at and /nowrap truncates at; without a console (output to a
    pipe or file) there is no width, unless COLUMNS (in ``env``, as main() was given it) names one."""
    columns = env.get("COLUMNS")
    if columns and columns.isdigit():
        return int(columns)
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return None


def main(
    argv: list[str] | None = None,
    *,
    stdout: TextIO | None = None,
    env: dict[str, str] | None = None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run one bitsadmin command line and return its exit status.

    ``clock`` (default: the wall clock) and ``sleep`` (used between /monitor refreshes) are injectable
    so tests can drive time themselves; ``env`` defaults to ``os.environ``.
    """
    stream = stdout if stdout is not None else sys.stdout
    args = list(sys.argv[1:] if argv is None else argv)
    opts = Options.from_env(os.environ if env is None else env)
    out = Out(stream)
    try:
        args = split_options(args, opts)
        raw = False
        mode = ""
        while args and args[0].upper() in ("/RAWRETURN", "/WRAP", "/NOWRAP"):
            flag = args.pop(0).upper()
            if flag == "/RAWRETURN":
                raw = True
            else:
                mode = flag[1:].lower()
        if not args or args[0] in ("/?", "-?") or args[0].upper() == "/HELP":
            out.line(USAGE)
            return EXIT_OK if args else EXIT_USAGE
        name = args[0].lower()
        if name == "/examples":
            out.line(EXAMPLES)
            return EXIT_OK
        if name in NOT_EMULATED:
            raise Failed(f"{args[0]} is not emulated by bits-emulator ({NOT_EMULATED[name]}).")
        handler = COMMANDS.get(name)
        if handler is None and name in GETTERS:
            handler = _run_getter(*GETTERS[name])
        if handler is None:
            raise UsageError("Invalid command")  # what bitsadmin prints before its usage
        width = None if raw else _wrap_width(mode, name, os.environ if env is None else env)
        out = Out(stream, raw=raw, width=width, truncate=_truncates(mode, name))
        with open_context(opts, out, clock=clock, sleep=sleep) as ctx:
            return handler(ctx, args[1:])
    except UsageError as exc:
        out.error(f"{exc}\n")
        out.error(USAGE)
        return EXIT_USAGE
    except Failed as exc:
        out.error(exc.text)
        return exc.status
    except KeyboardInterrupt:
        # Ctrl+C is how /monitor (and a /transfer that waits) is meant to end: no traceback, the
        # conventional status of a process stopped by SIGINT.
        return 130


def run() -> int:
    """The ``bitsadmin`` console script."""
    from ..cli_support import guard_closed_pipe

    return guard_closed_pipe(main)


# --------------------------------------------------------------------------------------------------
# bits-emulator subcommands that share this module: list, info, logoff
# --------------------------------------------------------------------------------------------------


@contextmanager
def _inspect(opts: Options, out: Out) -> Iterator[Context]:
    """A look at the whole store: as LocalSystem, which may read every user's jobs."""
    with open_service(opts) as svc:
        adopt_logged_on_sessions(svc)
        session = svc.logon(svc.local_system)
        mgr = svc.connect(session.token, blanket=CLI_BLANKET)
        yield Context(svc, svc.local_system, session, session.token, mgr, out, opts)


def inspect_list(opts: Options, stream: TextIO) -> int:
    out = Out(stream)
    try:
        with _inspect(opts, out) as ctx:
            jobs = _jobs(ctx.mgr, BG_JOB_ENUM_ALL_USERS)
            for job in jobs:
                out.line(f"{list_line(job)} {ctx.owner_name(job.get_owner())}")
            out.line()
            out.line(f"Listed {len(jobs)} job(s).")
        return EXIT_OK
    except Failed as exc:
        out.error(exc.text)
        return exc.status


def inspect_info(opts: Options, ident: str, stream: TextIO) -> int:
    out = Out(stream)
    try:
        with _inspect(opts, out) as ctx:
            job = find_job(ctx, ident)
            for line in info_lines(ctx, job):
                out.line(line)
        return EXIT_OK
    except Failed as exc:
        out.error(exc.text)
        return exc.status


def logoff(opts: Options, stream: TextIO, *, clock: Clock | None = None) -> int:
    out = Out(stream)
    try:
        with open_service(opts, clock) as svc:
            name = opts.user or default_user()
            try:
                account = svc.account(name)
            except KeyError:
                raise Failed(f"bits-emulator: no account named {name!r} in this store", EXIT_FAILED) from None
            if account.is_service:
                raise Failed(f"bits-emulator: {account.name} is a service account and is always logged on")
            session = end_command_line_session(svc, account)
            if session is None:
                raise Failed(f"bits-emulator: {account.qualified_name} has no command-line logon session")
            out.line(f"Logged off {account.qualified_name} (logon session 0x{session.id:x}).")
        return EXIT_OK
    except Failed as exc:
        out.error(exc.text)
        return exc.status


SUBCOMMANDS = ("bitsadmin", "list", "info", "logoff")


def add_subcommands(sub: Any) -> None:
    """Register ``bits-emulator bitsadmin|list|info|logoff`` on the bits-emulator parser."""
    sub.add_parser("bitsadmin", help="run a bitsadmin command line (bits-emulator bitsadmin /?)", add_help=False)
    for name, text in (
        ("list", "list every job of a store, with its owner"),
        ("info", "show every detail of one job of a store (bitsadmin /info /verbose)"),
        ("logoff", "log an account's command-line session off (its helper tokens are purged)"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--store", type=Path, help=f"the store (default: ${ENV_STORE} or the per-user one)")
        if name == "info":
            p.add_argument("job", help="display name or GUID")
        if name == "logoff":
            p.add_argument("--as", dest="user", help=f"the account (default: ${ENV_USER} or the OS user)")


def run_subcommand(ns: Any) -> int:
    opts = Options.from_env(os.environ)
    if ns.store is not None:
        opts.store = ns.store
    if getattr(ns, "user", None):
        opts.user = ns.user
    if ns.command == "list":
        return inspect_list(opts, sys.stdout)
    if ns.command == "info":
        return inspect_info(opts, ns.job, sys.stdout)
    return logoff(opts, sys.stdout)
