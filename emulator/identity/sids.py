"""Security identifiers: the well-known ones BITS cares about and realistic machine-local user SIDs."""

from __future__ import annotations

import functools
import random
from typing import Final

LOCAL_SYSTEM: Final = "S-1-5-18"
LOCAL_SERVICE: Final = "S-1-5-19"
NETWORK_SERVICE: Final = "S-1-5-20"
ADMINISTRATORS: Final = "S-1-5-32-544"
USERS: Final = "S-1-5-32-545"
EVERYONE: Final = "S-1-1-0"
AUTHENTICATED_USERS: Final = "S-1-5-11"
INTERACTIVE: Final = "S-1-5-4"
SERVICE: Final = "S-1-5-6"
RESTRICTED_CODE: Final = "S-1-5-12"

SERVICE_ACCOUNT_SIDS: Final = frozenset({LOCAL_SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE})


@functools.lru_cache(maxsize=64)  # a pure function of the seed, asked at every service start
def machine_subauthorities(seed: int = 0) -> str:
    """The three sub-authorities of a machine's ``S-1-5-21-<machine>-<rid>`` SIDs.

    They come from a seeded generator so a service's SIDs are repeatable from run to run; RIDs are
    handed out from 1001 like a fresh Windows install (the directory keeps the next one in the store).
    """
    rng = random.Random(seed)
    return "-".join(str(rng.randrange(10**9, 2**32)) for _ in range(3))
