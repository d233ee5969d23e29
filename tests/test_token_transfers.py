"""Helper tokens with bytes flowing: scenarios T30–T33, T49–T51 of docs/reference/security.md#scenarios, A9, and
the usage flags of docs/reference/security.md#usage-flags (BG_TOKEN_LOCAL_FILE for the temporary file, BG_TOKEN_NETWORK
for challenges)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import (
    AccessToken,
    AuthScheme,
    AuthTarget,
    BitsService,
    Blanket,
    Cloaking,
    ErrorContext,
    IBitsTokenOptions,
    ImpersonationLevel,
    Job,
    JobState,
    JobType,
    LogonSession,
    ManualClock,
    TokenFlags,
    TokenOptions,
)

S = JobState
BG_E_TOKEN_REQUIRED = 0x80200056
IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
URL = "https://intranet.example/payload.bin"


@pytest.fixture(params=["pre-1607", "post-1607"])
def svc(request: pytest.FixtureRequest) -> Iterator[BitsService]:
    with BitsService(request.param, clock=ManualClock()) as service:
        yield service


def service_owner(svc: BitsService) -> AccessToken:
    """LocalSystem before 1607 (T04), NetworkService from 1607 (T10)."""
    legacy = svc.profile.helper_rules.value == "pre-1607"
    return svc.logon(svc.local_system if legacy else svc.network_service).token


def job_for(svc: BitsService, owner: AccessToken, dest: Path) -> tuple[Job, TokenOptions]:
    _, job = svc.connect(owner, blanket=IMP).create_job("job", JobType.DOWNLOAD)
    job.add_file(URL, str(dest))
    return job, job.query_interface(IBitsTokenOptions)


def set_helper(svc: BitsService, opts: TokenOptions, helper: LogonSession) -> None:
    with svc.impersonate(helper.token):
        opts.set_helper_token()


@pytest.fixture
def user(svc: BitsService) -> LogonSession:
    return svc.logon(svc.add_user("hU"))


def transferring_job(svc: BitsService, user: LogonSession, tmp_path: Path, flags: int) -> tuple[Job, TokenOptions]:
    svc.network.register(URL, b"p" * 1000, rate=100)
    job, opts = job_for(svc, service_owner(svc), tmp_path / "payload.bin")
    set_helper(svc, opts, user)
    opts.set_helper_token_flags(flags)
    job.resume()
    svc.advance(2)
    assert job.get_state() is S.TRANSFERRING
    return job, opts


def test_T30_helper_logoff_while_transferring(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    job, opts = transferring_job(svc, user, tmp_path, TokenFlags.NETWORK)
    svc.logoff(user)
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error()[1] == BG_E_TOKEN_REQUIRED
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 2
    svc.advance(60)
    assert job.get_progress().bytes_transferred == 200  # nothing moves without the token


def test_T31_new_session_new_token_resume(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    job, opts = transferring_job(svc, user, tmp_path, TokenFlags.NETWORK)
    svc.logoff(user)
    again = svc.logon(svc.account("hU"))
    set_helper(svc, opts, again)
    job.resume()
    assert job.get_state() is S.TRANSFERRING
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (tmp_path / "payload.bin").read_bytes() == b"p" * 1000


def test_clear_while_transferring_fails_the_next_step_with_token_required(
    svc: BitsService, user: LogonSession, tmp_path: Path
) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-clearhelpertoken
    discards the token and keeps the flags; a job whose flags still ask for it cannot take its next step
    (https://learn.microsoft.com/en-us/windows/win32/bits/helper-tokens-for-bits-transfer-jobs: ERROR with
    BG_E_TOKEN_REQUIRED). Emulator choice (docs/helper-tokens.md#lifetime): a running job's next write is
    now, so it fails at the Clear, keeping the bytes that arrived; recovery as documented."""
    job, opts = transferring_job(svc, user, tmp_path, TokenFlags.LOCAL_FILE)
    assert job.get_progress().bytes_transferred == 200
    opts.clear_helper_token()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_TOKEN_REQUIRED)
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 1
    svc.advance(60)
    assert job.get_state() is S.ERROR
    assert job.get_progress().bytes_transferred == 200  # nothing moves without the token
    set_helper(svc, opts, user)
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert job.complete() == 0
    assert (tmp_path / "payload.bin").read_bytes() == b"p" * 1000


def test_clear_of_a_waiting_job_fails_when_it_next_starts(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    """Same pages: a job not running now meets BG_E_TOKEN_REQUIRED at its next start (as after a restart, T34)."""
    svc.network.register(URL, b"p" * 1000, rate=100)
    job, opts = job_for(svc, service_owner(svc), tmp_path / "payload.bin")
    set_helper(svc, opts, user)
    opts.set_helper_token_flags(TokenFlags.LOCAL_FILE)
    opts.clear_helper_token()
    assert job.get_state() is S.SUSPENDED
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_TOKEN_REQUIRED)


def test_clear_of_a_transferred_job_leaves_it_transferred(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    """Helper tokens page: the job fails only "if the transfer is not complete" (T33); Complete then renames
    the whole file (emulator choice: Complete does not ask for the token)."""
    job, opts = transferring_job(svc, user, tmp_path, TokenFlags.LOCAL_FILE)
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    opts.clear_helper_token()
    assert job.get_state() is S.TRANSFERRED
    assert job.complete() == 0
    assert (tmp_path / "payload.bin").read_bytes() == b"p" * 1000


def test_clear_with_no_flags_keeps_transferring_as_the_owner(
    svc: BitsService, user: LogonSession, tmp_path: Path
) -> None:
    """SetHelperTokenFlags page: with no flags everything is done in the owner's context, so the token is
    not needed and Clear does not stop the transfer."""
    job, opts = transferring_job(svc, user, tmp_path, 0)
    opts.clear_helper_token()
    assert job.get_state() is S.TRANSFERRING
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_T32_clear_flags_resume_with_owner_context(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    job, opts = transferring_job(svc, user, tmp_path, TokenFlags.NETWORK)
    svc.logoff(user)
    opts.set_helper_token_flags(0)
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED


def test_T33_transferred_job_only_loses_its_token(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    """T33 (docs/reference/security.md#t33), both rule sets: a TRANSFERRED job whose helper's session logs off
    stays TRANSFERRED, loses the token (GetHelperTokenSid NULL), gets no error; the job goes to ERROR only "if
    the transfer is not complete"
    (https://learn.microsoft.com/en-us/windows/win32/bits/helper-tokens-for-bits-transfer-jobs,
    https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertoken)."""
    job, opts = transferring_job(svc, user, tmp_path, TokenFlags.NETWORK)
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    errors = job.get_error_count()
    svc.logoff(user)
    assert job.get_state() is S.TRANSFERRED
    assert job.get_error_count() == errors
    assert opts.get_helper_token_sid() is None
    assert opts.get_helper_token_flags() == 2
    assert job.complete() == 0
    assert (tmp_path / "payload.bin").read_bytes() == b"p" * 1000


def test_A9_suspended_job_fails_when_resumed_without_its_token(
    svc: BitsService, user: LogonSession, tmp_path: Path
) -> None:
    svc.network.register(URL, b"p")
    job, opts = job_for(svc, service_owner(svc), tmp_path / "payload.bin")
    set_helper(svc, opts, user)
    opts.set_helper_token_flags(TokenFlags.LOCAL_FILE)
    svc.logoff(user)
    assert job.get_state() is S.SUSPENDED
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_QUEUE_MANAGER, BG_E_TOKEN_REQUIRED)


# BG_TOKEN_LOCAL_FILE: the temporary file is created as the helper (security.md#usage-flags) -------------


def test_local_file_flag_writes_where_only_the_helper_may(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    svc.network.register(URL, b"secret")
    private = tmp_path / "private"
    private.mkdir()
    svc.filesystem.restrict(private, writers=[user.token.user_sid])

    job, opts = job_for(svc, service_owner(svc), private / "a.bin")
    job.resume()
    assert job.get_state() is S.ERROR  # the owner may not write there
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, 0x80070005)
    assert list(private.iterdir()) == []

    job, opts = job_for(svc, service_owner(svc), private / "b.bin")
    set_helper(svc, opts, user)
    job.resume()
    assert job.get_state() is S.ERROR  # a token without the flag is not used for local files
    opts.set_helper_token_flags(TokenFlags.LOCAL_FILE)
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (private / "b.bin").read_bytes() == b"secret"


UP = "https://intranet.example/upload"


def upload_reply_job(svc: BitsService, source: Path, reply: Path | None) -> tuple[Job, TokenOptions]:
    from emulator import IBackgroundCopyJob2

    _, job = svc.connect(service_owner(svc), blanket=IMP).create_job("up", JobType.UPLOAD_REPLY)
    job.add_file(UP, str(source))
    if reply is not None:
        job.query_interface(IBackgroundCopyJob2).set_reply_file_name(str(reply))
    return job, job.query_interface(IBitsTokenOptions)


@pytest.mark.parametrize("named", [True, False])
def test_local_file_flag_covers_the_reply_file(
    svc: BitsService, user: LogonSession, tmp_path: Path, named: bool
) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags:
    BG_TOKEN_LOCAL_FILE covers creating and renaming the reply file of an upload-reply job; without it the owner
    creates it, and where the owner may not write the job fails as a download does: ERROR, LOCAL_FILE,
    E_ACCESSDENIED, nothing sent, nothing written. ``named``: SetReplyFileName, else the generated name next
    to the upload file (setreplyfilename page)."""
    resource = svc.network.register(UP, upload=True, reply=b"REPLY")
    private = tmp_path / "private"
    private.mkdir()
    svc.filesystem.restrict(private, writers=[user.token.user_sid])
    source = (tmp_path if named else private) / "up.txt"
    source.write_bytes(b"data")

    job, opts = upload_reply_job(svc, source, private / "reply.txt" if named else None)
    job.resume()
    assert job.get_state() is S.ERROR  # the owner may not create the reply file there
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, 0x80070005)
    assert resource.received is None
    assert sorted(p.name for p in private.iterdir()) == ([] if named else ["up.txt"])

    set_helper(svc, opts, user)
    job.resume()
    assert job.get_state() is S.ERROR  # a token without the flag is not used for local files
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, 0x80070005)
    opts.set_helper_token_flags(TokenFlags.LOCAL_FILE)
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is S.TRANSFERRED
    assert resource.received == b"data"
    assert job.complete() == 0
    replies = [p for p in private.iterdir() if p.name != "up.txt"]
    assert [p.read_bytes() for p in replies] == [b"REPLY"]


# BG_TOKEN_NETWORK: implicit credentials answer NTLM challenges as the helper (T50, T51) -----------------


def ntlm_job(svc: BitsService, user: LogonSession, tmp_path: Path) -> tuple[Job, TokenOptions]:
    svc.network.register(URL, b"auth", auth="ntlm", authorized_sids={user.token.user_sid})
    job, opts = job_for(svc, service_owner(svc), tmp_path / "a.bin")
    set_helper(svc, opts, user)
    opts.set_helper_token_flags(TokenFlags.NETWORK)
    return job, opts


def test_T50_no_implicit_credentials_without_set_credentials(
    svc: BitsService, user: LogonSession, tmp_path: Path
) -> None:
    """T50 (docs/reference/security.md#t50), both rule sets: a service job with BG_TOKEN_NETWORK and helper hU,
    an NTLM challenge and no SetCredentials(NULL, NULL): implicit credentials are used "only if" the
    application called SetCredentials with NULL user name and password
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags,
    https://learn.microsoft.com/en-us/windows/win32/bits/authentication), so the challenge fails the job:
    ERROR, BG_E_HTTP_ERROR_401 (the code is inferred from
    https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setcredentials).
    The row's owner is NetworkService; before 1607 a NetworkService job cannot take a helper token (T05), so
    that rule set runs the same story on a LocalSystem job (``service_owner``)."""
    job, _ = ntlm_job(svc, user, tmp_path)
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.REMOTE_FILE, 0x80190191)  # BG_E_HTTP_ERROR_401


def test_T51_implicit_credentials_are_the_helpers(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    """T51 (docs/reference/security.md#t51), both rule sets: as T50 with SetCredentials(SERVER, NTLM, NULL, NULL):
    hU's implicit credentials answer the challenge (the server accepts only hU) and the job is TRANSFERRED
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags,
    https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setcredentials).
    Owner as in T50 (LocalSystem before 1607)."""
    job, _ = ntlm_job(svc, user, tmp_path)
    job.set_credentials(AuthTarget.SERVER, AuthScheme.NTLM, None, None)
    job.resume()
    assert job.get_state() is S.TRANSFERRED


@pytest.mark.parametrize("server_credentials", [False, True], ids=["proxy's serve the server", "server's win"])
def test_implicit_proxy_credentials_serve_the_server_unless_it_has_its_own(
    svc: BitsService, user: LogonSession, tmp_path: Path, server_credentials: bool
) -> None:
    """Authentication page (https://learn.microsoft.com/en-us/windows/win32/bits/authentication): "If you specify
    implicit credentials for a proxy, BITS will also use the implicit credentials for server authentication
    unless you specify explicit server credentials". SetCredentials(PROXY, NTLM, NULL, NULL) alone: the helper's
    implicit credentials answer the server's NTLM challenge (TRANSFERRED); with explicit BASIC server
    credentials beside them, the server's challenge gets those, which NTLM cannot use: BG_E_HTTP_ERROR_401."""
    job, _ = ntlm_job(svc, user, tmp_path)
    job.set_credentials(AuthTarget.PROXY, AuthScheme.NTLM, None, None)
    if server_credentials:
        job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "someone", "secret")
    job.resume()
    if server_credentials:
        assert job.get_state() is S.ERROR
        assert job.get_error().get_error()[1] == 0x80190191
    else:
        assert job.get_state() is S.TRANSFERRED


def test_T51_without_the_network_flag_the_owner_answers(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    job, opts = ntlm_job(svc, user, tmp_path)
    opts.set_helper_token_flags(TokenFlags.LOCAL_FILE)
    job.set_credentials(AuthTarget.SERVER, AuthScheme.NTLM, None, None)
    job.resume()
    assert job.get_state() is S.ERROR  # the owner (a service) is not authorized
    assert job.get_error().get_error()[1] == 0x80190191


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
@pytest.mark.parametrize(
    ("account", "state", "error"),
    [
        ("local_system", S.TRANSFERRED, None),
        ("network_service", S.TRANSFERRED, None),
        ("local_service", S.ERROR, (ErrorContext.REMOTE_FILE, 0x80190191)),  # BG_E_HTTP_ERROR_401
    ],
)
def test_service_accounts_without_helper_machine_account_or_anonymous(
    svc: BitsService, tmp_path: Path, auth: str, account: str, state: JobState, error: object
) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/bits/service-accounts-and-bits: without a helper token
    LocalSystem and NetworkService authenticate with the machine account (modelled by their own SIDs) and
    LocalService anonymously, so its implicit credentials answer no challenge — even a server that would
    accept S-1-5-19 (SetCredentials page: a rejected challenge fails the job with BG_E_HTTP_ERROR_401)."""
    owner = svc.logon(getattr(svc, account)).token
    svc.network.register(URL, b"auth", auth=auth, authorized_sids={owner.user_sid})
    job, _ = job_for(svc, owner, tmp_path / "a.bin")
    scheme = AuthScheme.NTLM if auth == "ntlm" else AuthScheme.NEGOTIATE
    job.set_credentials(AuthTarget.SERVER, scheme, None, None)
    job.resume()
    assert job.get_state() is state
    if error is not None:
        assert job.get_error().get_error() == error


def test_local_service_job_answers_with_its_network_helper(tmp_path: Path) -> None:
    """From 1607 a LocalService job may take a non-administrator helper (SetHelperToken page); with
    BG_TOKEN_NETWORK the helper's implicit credentials answer the challenge (SetHelperTokenFlags page)."""
    svc = BitsService("post-1607", clock=ManualClock())
    with svc:
        helper = svc.logon(svc.add_user("helper"))
        svc.network.register(URL, b"auth", auth="ntlm", authorized_sids={helper.token.user_sid})
        job, opts = job_for(svc, svc.logon(svc.local_service).token, tmp_path / "a.bin")
        set_helper(svc, opts, helper)
        opts.set_helper_token_flags(TokenFlags.NETWORK)
        job.set_credentials(AuthTarget.SERVER, AuthScheme.NTLM, None, None)
        job.resume()
        assert job.get_state() is S.TRANSFERRED


def test_T52_basic_without_user_is_invalidarg(svc: BitsService, tmp_path: Path) -> None:
    from emulator import BitsError

    job, _ = job_for(svc, service_owner(svc), tmp_path / "a.bin")
    with pytest.raises(BitsError) as e:
        job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, None, None)
    assert e.value.hresult == 0x80070057


def test_basic_credentials(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register(URL, b"basic", auth="basic", users={"alice": "s3cret"})
    job, _ = job_for(svc, service_owner(svc), tmp_path / "a.bin")
    job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "alice", "wrong")
    job.resume()
    assert job.get_error().get_error()[1] == 0x80190191
    job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "alice", "s3cret")  # replaces the pair
    job.resume()
    assert job.get_state() is S.TRANSFERRED
    assert job.remove_credentials(AuthTarget.SERVER, AuthScheme.BASIC) == 0
    assert job.remove_credentials(AuthTarget.SERVER, AuthScheme.BASIC) == 1  # S_FALSE


# T49: client certificate and BG_TOKEN_NETWORK -----------------------------------------------------------


def test_T49_client_certificate_with_network_helper(svc: BitsService, user: LogonSession, tmp_path: Path) -> None:
    """T49 (docs/reference/security.md#t49), both rule sets: a client certificate, BG_TOKEN_NETWORK and a server
    asking for the certificate: a job not owned by LocalSystem fails, ERROR with 0x80072F9A
    (ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY); owned by LocalSystem it transfers
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags).
    The row's owner is alice; before 1607 alice's job can take no helper token nor flags (T01, T07), so that
    rule set uses an elevated administrator's job; alice's own job is test_T49_v1607_alice_job."""
    svc.network.register(URL, b"tls", client_certificate=True)
    owner = svc.logon(svc.network_service).token if svc.profile.helper_rules.value == "post-1607" else None
    if owner is None:
        bob = svc.logon(svc.add_user("bob", admin=True))
        owner = bob.elevated_token  # an administrator-owned job, not LocalSystem (LEGACY rules)
    job, opts = job_for(svc, owner, tmp_path / "a.bin")
    job.set_client_certificate_by_name(1, "MY", "CN=client")
    set_helper(svc, opts, user)
    opts.set_helper_token_flags(TokenFlags.NETWORK)
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error()[1] == 0x80072F9A  # ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY

    system_job, system_opts = job_for(svc, svc.logon(svc.local_system).token, tmp_path / "b.bin")
    system_job.set_client_certificate_by_name(1, "MY", "CN=client")
    set_helper(svc, system_opts, user)
    system_opts.set_helper_token_flags(TokenFlags.NETWORK)
    system_job.resume()
    assert system_job.get_state() is S.TRANSFERRED


def test_T49_v1607_alice_job(tmp_path: Path) -> None:
    """T49 as the row states it, from 1607 (where a standard owner may set a non-administrator helper):
    alice's job, client certificate, flags BG_TOKEN_NETWORK, helper hU → ERROR, 0x80072F9A
    (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags)."""
    with BitsService("post-1607", clock=ManualClock()) as svc:
        helper = svc.logon(svc.add_user("hU"))
        alice = svc.logon(svc.add_user("alice"))
        svc.network.register(URL, b"tls", client_certificate=True)
        job, opts = job_for(svc, alice.token, tmp_path / "a.bin")
        job.set_client_certificate_by_name(1, "MY", "CN=client")
        set_helper(svc, opts, helper)
        opts.set_helper_token_flags(TokenFlags.NETWORK)
        job.resume()
        assert job.get_state() is S.ERROR
        assert job.get_error().get_error()[1] == 0x80072F9A  # ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY
        assert job.get_owner() == alice.token.user_sid


def test_server_asking_for_a_certificate_the_job_lacks(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register(URL, b"tls", client_certificate=True)
    job, _ = job_for(svc, service_owner(svc), tmp_path / "a.bin")
    job.resume()
    assert job.get_error().get_error()[1] == 0x80072F0C  # ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED
