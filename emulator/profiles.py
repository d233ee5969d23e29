"""Windows profiles: which BITS version a Windows release ships, its helper-token rule set and quotas.

Facts: docs/reference/interfaces.md#versions (versions), docs/reference/limits.md#quotas (group-policy
defaults), docs/reference/security.md (LEGACY = BITS 4.0 up to Windows 10 1511, V1607 = build 14393 and later).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from .constants import AnyInterface


class HelperTokenRules(Enum):
    """The two IBitsTokenOptions rule sets (docs/reference/security.md#sethelpertoken)."""

    LEGACY = "pre-1607"
    V1607 = "post-1607"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    windows: str
    build: int
    bits_version: tuple[int, int]
    helper_rules: HelperTokenRules
    max_jobs_per_user: int = 60
    max_jobs_per_machine: int = 300
    max_files_per_job: int = 200
    max_ranges_per_file: int = 500

    @property
    def quotas_enforced(self) -> bool:
        """Job, file and range quotas arrived with BITS 3.0 (docs/reference/limits.md#quotas)."""
        return self.bits_version >= (3, 0)

    @property
    def helper_identity_reads_proxy(self) -> bool:
        """From 1809 the IE proxy settings are read with the network helper identity (security.md#usage-flags)."""
        return self.build >= 17763

    @property
    def remote_powershell_logon(self) -> bool:
        """From Windows 10 1607 (build 14393) a remote PowerShell session counts as logged on: jobs it
        creates run while a session of the account exists (docs/reference/security.md#logon)."""
        return self.build >= 14393

    def has(self, interface: AnyInterface) -> bool:
        return interface.bits_version <= self.bits_version


PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        Profile("vista", "Windows Vista SP2", 6002, (3, 0), HelperTokenRules.LEGACY),
        Profile("win7", "Windows 7", 7601, (4, 0), HelperTokenRules.LEGACY),
        Profile("win8.1", "Windows 8.1", 9600, (5, 0), HelperTokenRules.LEGACY),
        Profile("win10-1511", "Windows 10 version 1511", 10586, (5, 0), HelperTokenRules.LEGACY),
        Profile("win10-1607", "Windows 10 version 1607", 14393, (5, 0), HelperTokenRules.V1607),
        Profile("win10-1809", "Windows 10 version 1809", 17763, (10, 2), HelperTokenRules.V1607),
        Profile("win11", "Windows 11", 22000, (10, 3), HelperTokenRules.V1607),
    )
}
ALIASES: Final[dict[str, str]] = {"pre-1607": "win10-1511", "post-1607": "win11"}


def resolve_profile(name: str | Profile) -> Profile:
    if isinstance(name, Profile):
        return name
    if not isinstance(name, str):
        raise TypeError(f"profile must be a str or Profile, not {type(name).__name__}")
    key = ALIASES.get(name, name)
    try:
        return PROFILES[key]
    except KeyError:
        valid = ", ".join([*PROFILES, *ALIASES])
        raise ValueError(f"unknown profile {name!r}; valid profiles: {valid}") from None
