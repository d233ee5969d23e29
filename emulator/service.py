"""BitsService: the composition root that wires clock, store, identity, queue, scheduler and faces.

No module-level state: two services in one process are fully isolated (docs/design.md#service).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from . import hresults
from .backend import Backend
from .clock import Clock, ManualClock, SimTime, SystemClock
from .com import args
from .com.views import ComViews
from .domain.policy import GroupPolicy
from .domain.records import JobRecord
from .domain.tokens import DEFAULT_CHOICES, Choices
from .events import EventBus, ServiceStarted, ServiceStopping
from .fresh import open_fresh
from .helper_tokens import HelperTokens
from .history import History
from .hresults import BitsError
from .identity.accounts import LOCAL_SERVICE, LOCAL_SYSTEM, NETWORK_SERVICE, Account
from .identity.callers import DEFAULT_BLANKET, Blanket, Proxy, validate_blanket
from .identity.directory import Directory
from .identity.sessions import LogonSession, LogonType
from .identity.tokens import AccessToken, IntegrityLevel
from .profiles import Profile, resolve_profile
from .queue import JobQueue
from .store import guard
from .store.database import StoreHold, store_url
from .store.repository import MACHINE_CONDITIONS, JobStore
from .transfer import inplace
from .transfer.certificates import ServerCertificates
from .transfer.localfs import LocalFileSystem
from .transfer.network import FakeNetwork
from .transfer.notifications import Notifier
from .transfer.scheduler import Scheduler

if TYPE_CHECKING:
    from .com.manager import Manager

DEFAULT_USER = "User"


class BitsService:
    """An emulated BITS service with its own job store, accounts, logon sessions and clock.

    ``database=None`` keeps the job store in memory; a path or ``sqlite:///`` URL gives a persistent
    store whose schema the Alembic revisions create or upgrade at start. ``root`` is where the sandbox's
    drives live (``root/drives``); without it, ``<store>.drives`` beside a file store (kept with it), or a
    temporary directory removed at close for an in-memory store. ``group_policy``
    puts BITS group policies in force as the service starts, before a reopened store's jobs move.
    """

    # Opening a file store that holds jobs is a service start: no helper token survives it (SHT). The
    # command line attaches to its one long-running service instead (compat/cli_service.py): a subclass
    # turns this off and takes the store's state back in _attached().
    _restarts_on_open = True

    def __init__(
        self,
        profile: str | Profile = "post-1607",
        database: str | Path | URL | None = None,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        helper_token_choices: Choices | None = None,
        root: str | Path | None = None,
        group_policy: GroupPolicy | None = None,
    ) -> None:
        self.profile = resolve_profile(profile)
        if group_policy is not None and not isinstance(group_policy, GroupPolicy):
            raise TypeError(f"group_policy must be a GroupPolicy, not {type(group_policy).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        if clock is not None and not callable(getattr(clock, "time", None)):
            raise TypeError(f"clock must have a time() method (SystemClock, ManualClock), not {clock!r}")
        if guard.is_memory(database):
            database = None  # ":memory:" means memory, not a file of that name
        if helper_token_choices is not None and not isinstance(helper_token_choices, Choices):
            raise TypeError("helper_token_choices must be an emulator.HelperTokenChoices")
        self.helper_token_choices = helper_token_choices or DEFAULT_CHOICES
        if database is not None and not isinstance(database, (str, Path, URL)):
            raise TypeError("database must be None, a path or an SQLAlchemy URL")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.sim = SimTime(self.clock)  # the simulation's now, in integer nanoseconds
        self.lock = threading.RLock()
        self.bus = EventBus()
        self._thread_token: ContextVar[AccessToken | None] = ContextVar(
            f"bits-thread-token-{id(self)}", default=None
        )
        self._closed = False
        self._hold: StoreHold | None = None  # a file store's hold (store/database.py), for the service's life
        if database is None:
            # A copy of the fresh machine of this seed: its settings and default user already written.
            fresh = open_fresh(seed, DEFAULT_USER)
            self.store = JobStore(fresh.conn, preset=fresh.preset)
            accounts = list(fresh.accounts)
            records: list[JobRecord] = []
        else:
            conn, engine, self._hold = _file(database, restart=self._restarts_on_open)
            self.store = JobStore(conn, engine)
            rows, records = self.store.load()
            accounts = [(a.sid, a.name, a.kind, a.admin) for a in rows]
        self.directory = Directory(
            self.store,
            self.bus,
            self.sim.time,
            seed,
            remote_powershell_runs_jobs=self.profile.remote_powershell_logon,
        )
        self.directory.load(accounts)
        self.queue = JobQueue(self.store, self.sim, self.bus)
        self.queue.load(records)
        if self._hold is not None and self._hold.restarted:
            # A BITS service start (this service is the store's first opener): HIGH_PERFORMANCE jobs saved no
            # progress, so their unfinished files start again from byte 0 (transfer/inplace.py).
            with self.queue.batch():
                inplace.lose_unsaved_progress(self.queue, records)
        # No helper token survives a service start: the store's opener cleared them under its exclusive
        # hold, before anyone could attach (store/guard.py), so the records loaded here hold none.
        self.helper_tokens = HelperTokens(self.queue, self.store, self.directory, self.bus, self.sim)
        # The sandbox's drives live under root/drives when a root is given; a file store's next to it, kept as
        # the store is (its unfinished jobs' temporaries wait there for the next open; bitsadmin uses the same
        # folder); an in-memory store's in a temporary directory made on first use and removed at close().
        if root is not None:
            drives: Path | None = Path(root) / "drives"
        elif database is not None:
            drives = store_drives(Path(store_url(database).database or ""))
        else:
            drives = None
        self.filesystem = LocalFileSystem(drives)
        self.network = FakeNetwork(self.sim.time, self.bus, self.lock)
        views = ComViews()  # bound to the service layer once that is built (below)
        self.notifications = Notifier(self.bus, self.sim, views)
        self.scheduler = Scheduler(
            queue=self.queue,
            sim=self.sim,
            bus=self.bus,
            presence=self.directory,
            tokens=self.helper_tokens,
            filesystem=self.filesystem,
            network=self.network,
            notifier=self.notifications,
            certificates=ServerCertificates(self.bus, views),
            bits_version=self.profile.bits_version,
        )
        # The service layer the COM facade talks to (com/ objects hold it, never the service).
        self.backend = Backend(
            lock=self.lock,
            profile=self.profile,
            queue=self.queue,
            scheduler=self.scheduler,
            filesystem=self.filesystem,
            helper_tokens=self.helper_tokens,
            helper_token_choices=self.helper_token_choices,
            bus=self.bus,
            thread_token=self._thread_token.get,
        )
        views.bind(self.backend)
        # A group policy another service sharing the file store sets reaches the service layer too (its quotas).
        self.scheduler.policy_adopted = self.backend.set_group_policy
        if self.store.shared:
            # The machine's conditions (network cost, connectivity, group policy) are the file store's, shared by
            # every service that opens it (docs/ARCHITECTURE.md#machine): in force before any of its jobs moves, so
            # a job stored held stays held. A policy given here wins over the stored one (and replaces it, below).
            self.scheduler.adopt_machine(
                ("cost_state", "connected") if group_policy is not None else MACHINE_CONDITIONS, starting=True
            )
        if group_policy is not None:
            # The machine's policies are in force as the service starts (BITS reads them from the registry), before
            # any job of a file store moves: a job stored blocked stays blocked, none connects under no policy first.
            self._apply_group_policy(group_policy)
        # (the network's strictness read through the network, not the service: nothing the service builds
        # points back at it, so a closed service is freed by reference counting; see close())
        network = self.network
        self.history = History(self.bus, self.queue.jobs, self.profile.name, lambda: network.strict)
        self._attached()
        try:
            user = self.directory.account(DEFAULT_USER)
        except KeyError:
            try:
                user = self.directory.add_user(DEFAULT_USER)
            except ValueError:  # another service sharing the store created it a moment ago
                user = self.directory.account(DEFAULT_USER)
        self.current_session = self.directory.logon(user)
        self.backend.current_session = self.current_session
        self.bus.publish(ServiceStarted(self.clock.time(), self.profile.name))

    # accounts and logons (control plane) ---------------------------------------------------------

    @property
    def local_system(self) -> Account:
        return LOCAL_SYSTEM

    @property
    def local_service(self) -> Account:
        return LOCAL_SERVICE

    @property
    def network_service(self) -> Account:
        return NETWORK_SERVICE

    def add_user(self, name: str, *, admin: bool = False) -> Account:
        if not isinstance(name, str) or not isinstance(admin, bool):
            raise TypeError("add_user() takes a str name and a bool admin")
        with self.lock:
            return self.directory.add_user(name, admin=admin)

    def account(self, name_or_sid: str) -> Account:
        if not isinstance(name_or_sid, str):
            raise TypeError(f"account() takes a name or SID str, not {type(name_or_sid).__name__}")
        return self.directory.account(name_or_sid)

    def logon(
        self,
        account: Account,
        *,
        logon_type: LogonType = LogonType.INTERACTIVE,
        remote_powershell: bool = False,
    ) -> LogonSession:
        """A new logon session of ``account``. ``remote_powershell=True`` (with ``LogonType.NETWORK``)
        is a remote PowerShell session: from Windows 10 1607 it counts as logged on for BITS, before
        1607 it does not (docs/reference/security.md#logon)."""
        if not isinstance(account, Account):
            raise TypeError(f"logon() takes an Account, not {type(account).__name__}")
        args.integer(logon_type, "logon_type")
        if not isinstance(remote_powershell, bool):
            raise TypeError(f"remote_powershell must be a bool, not {type(remote_powershell).__name__}")
        with self.lock:
            self.scheduler.catch_up()
            return self.directory.logon(account, logon_type, remote_powershell=remote_powershell)

    def logoff(self, session: LogonSession) -> None:
        if not isinstance(session, LogonSession):
            raise TypeError(f"logoff() takes a LogonSession, not {type(session).__name__}")
        with self.lock:
            self.scheduler.catch_up()
            self.directory.logoff(session)

    # COM servers (the machine's registry) ----------------------------------------------------------

    def register_com_server(self, clsid: uuid.UUID | str, factory: Callable[[], object]) -> None:
        """Register an out-of-process COM server for ``clsid``: a job whose notification CLSID
        (IBackgroundCopyJob5 property NOTIFICATION_CLSID) names it gets a new callback object from
        ``factory()`` when it has no callback object or its object disconnected (docs/transfers.md#clsid).
        Registering again replaces the factory."""
        key = args.guid(clsid, "clsid")
        if not callable(factory):
            raise TypeError(f"factory must be callable, not {type(factory).__name__}")
        with self.lock:
            self.notifications.servers[key] = factory

    def unregister_com_server(self, clsid: uuid.UUID | str) -> None:
        """Remove the server: activating ``clsid`` fails from now on (REGDB_E_CLASSNOTREG)."""
        key = args.guid(clsid, "clsid")
        with self.lock:
            self.notifications.servers.pop(key, None)

    # callers ------------------------------------------------------------------------------------

    def connect(self, token: AccessToken | None = None, *, blanket: Blanket | None = None) -> Manager:
        """The manager as seen by a client process running with ``token`` (CoCreateInstance).

        ``blanket`` is the process-wide default every new interface pointer starts with, as set by
        CoInitializeSecurity; without it COM uses IDENTIFY and no cloaking (CSD, LIL).
        """
        from .com.manager import Manager

        if token is None:
            token = self.current_session.token
        if not isinstance(token, AccessToken):
            raise TypeError(f"token must be an AccessToken, not {type(token).__name__}")
        if token.integrity < IntegrityLevel.MEDIUM:
            # Vista+: a low-integrity process (protected-mode IE, ActiveX) cannot create the manager
            # (https://learn.microsoft.com/en-us/windows/win32/api/bits/nn-bits-ibackgroundcopymanager).
            raise BitsError(hresults.E_ACCESSDENIED, "a low-integrity process cannot create the BITS manager")
        default = validate_blanket(blanket, DEFAULT_BLANKET) if blanket is not None else DEFAULT_BLANKET
        return Manager(self.backend, Proxy(token, default))

    @contextmanager
    def impersonate(self, token: AccessToken) -> Iterator[AccessToken]:
        """The calling thread impersonates ``token`` (ImpersonateLoggedOnUser … RevertToSelf)."""
        if not isinstance(token, AccessToken):
            raise TypeError(f"impersonate() takes an AccessToken, not {type(token).__name__}")
        reset = self._thread_token.set(token)
        try:
            yield token
        finally:
            self._thread_token.reset(reset)

    @property
    def thread_token(self) -> AccessToken | None:
        return self._thread_token.get()

    # group policy -------------------------------------------------------------------------------

    @property
    def group_policy(self) -> GroupPolicy:
        """The BITS group policies in force (README#group-policy); by default nothing is configured. Like the
        machine's registry they outlive ``restart()``; a file store keeps them for every service that shares it
        (docs/ARCHITECTURE.md#machine)."""
        return self.backend.group_policy

    @group_policy.setter
    def group_policy(self, policy: GroupPolicy) -> None:
        """Configure the group policies, effective at once: the simulation first catches up under the old
        ones (docs/reference/readings.md#policy-change)."""
        if not isinstance(policy, GroupPolicy):
            raise TypeError(f"group_policy must be a GroupPolicy, not {type(policy).__name__}")
        with self.lock:
            self.scheduler.catch_up()
            self._apply_group_policy(policy)

    def _apply_group_policy(self, policy: GroupPolicy) -> None:
        """The quotas and new jobs' MaxDownloadTime (service layer), the timers and the bandwidth window
        (scheduler) follow ``policy`` from now on."""
        self.backend.set_group_policy(policy)
        self.scheduler.set_policy(policy)

    # time and scheduling ------------------------------------------------------------------------

    def advance(self, seconds: float | Fraction) -> None:
        """Move a ManualClock forward and catch the simulation up."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs a ManualClock; with freezegun move time with the freezer")
        args.seconds(seconds)  # TypeError; ValueError for NaN, inf, negative — before anything moves
        with self.lock:
            # Up to the clock as it reads now first: a ManualClock.set() since the last call is seen as the
            # clock change it is (set back: the timers keep what remained), not merged with the time advanced.
            self.scheduler.catch_up()
            self.clock.advance(seconds)
            self.scheduler.catch_up()
            self.scheduler.sync_all()

    def run_until_idle(self, max_seconds: float = 365 * 86400.0) -> None:
        args.seconds(max_seconds, "max_seconds")
        with self.lock:
            self.scheduler.run_until_idle(max_seconds)
            self.scheduler.sync_all()

    # lifecycle ----------------------------------------------------------------------------------

    def restart(self) -> None:
        """Restart the BITS service: jobs and flags persist, helper tokens do not (SHT, T34), nor the progress
        of a HIGH_PERFORMANCE job's unfinished files (transfer/inplace.py)."""
        with self.lock:
            self.bus.publish(ServiceStopping(self.clock.time()))
            self.scheduler.catch_up()
            self.helper_tokens.discard_all()
            self.scheduler.restarted()
            self.bus.publish(ServiceStarted(self.clock.time(), self.profile.name))

    def _attached(self) -> None:
        """Hook of a service that attaches to a running one's store (``_restarts_on_open`` off): called once
        everything is built, before any logon lets a job run."""

    def close(self) -> None:
        with self.lock:
            if self._closed:
                return
            self._closed = True
            self.backend.closed = True  # every pointer of the service now answers RPC_S_SERVER_UNAVAILABLE
            self.bus.publish(ServiceStopping(self.clock.time()))
            self.store.conn.close()
            self.scheduler.policy_adopted = None  # (the one reference from the scheduler up to the service layer)
            # Nothing left behind: the drive root the service made, and the temporaries of jobs that
            # die with an in-memory store (a file store's jobs keep theirs for the next open).
            self.filesystem.close(self.queue.all_jobs() if self.store.engine is None else ())
            if self.store.engine is not None:
                self.store.engine.dispose()
            if self._hold is not None:
                self._hold.close()  # the last service to let go: the next opener starts BITS afresh
            # No event after close (the store is gone): the subscriptions go, and with them the last
            # reference cycles among the service's parts, so the service is freed as soon as the caller
            # drops it, without leaving work for the garbage collector (tests/test_service_lifecycle.py).
            self.bus.close()

    def __enter__(self) -> BitsService:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
        if exc_type is None:
            self.network.check()  # strict mode: requests to unregistered hosts fail the block

    def __repr__(self) -> str:
        return f"<BitsService profile={self.profile.name} jobs={len(self.queue.jobs)}>"


def store_drives(store: Path) -> Path:
    """Where a file store's Windows drives live when no ``root`` is given: ``<store>.drives`` beside it
    (``C:\\x`` is ``<store>.drives/C/x``), for the Python API and the command line alike."""
    return store.with_name(store.name + ".drives")


def _file(db: str | Path | URL, *, restart: bool) -> tuple[sqlite3.Connection, Engine, StoreHold]:
    return guard.open_file_store(db, restart=restart)  # StoreError naming the path
