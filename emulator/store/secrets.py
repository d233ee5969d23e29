"""Passwords given to SetCredentials are kept encrypted, never in clear (issue 11, "no secret lingers").

Windows keeps job credentials encrypted in the BITS state files, not in clear
(https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setcredentials).
The emulation: each store has its own key and the password column holds a Fernet token (AES-128-CBC with
an HMAC-SHA256, from the ``cryptography`` package) instead of the text.

* A file store's key lives in ``<store>.key`` beside it, created on the first password with owner-only
  permissions (0600; broader permissions found on an existing key file are narrowed). Delete both files
  together: a store whose key cannot open its passwords is refused with StoreError.
* An in-memory store's key lives in memory only, for the life of the service.
* In the credentials JSON a sealed password is ``{"fernet": token}``; a plain string (a store written
  before this version) is read as it is and sealed at the next write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .database import StoreError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

_SEALED = "fernet"


class SecretBox:
    """Seals and opens the passwords of one store."""

    def __init__(self, key_file: Path | None) -> None:
        self._key_file = key_file
        self._fernet: Fernet | None = None

    @staticmethod
    def _new(key: bytes | None = None) -> Fernet:
        from cryptography.fernet import Fernet  # imported on first use: most runs never set a password

        return Fernet(key if key is not None else Fernet.generate_key())

    def _cipher(self, create: bool) -> Fernet | None:
        if self._fernet is None:
            if self._key_file is None:
                self._fernet = self._new() if create else None
            elif self._key_file.exists():
                self._fernet = self._new(self._read_key())
            elif create:
                self._fernet = self._new(self._write_key())
        return self._fernet

    def _read_key(self) -> bytes:
        assert self._key_file is not None
        mode = stat.S_IMODE(os.stat(self._key_file).st_mode)
        if mode & 0o077:
            os.chmod(self._key_file, 0o600)
        return self._key_file.read_bytes().strip()

    def _write_key(self) -> bytes:
        assert self._key_file is not None
        from cryptography.fernet import Fernet

        key = Fernet.generate_key()
        fd = os.open(self._key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key

    def seal_credentials(self, creds: Any) -> Any:
        """The credentials column with every password sealed."""
        if not creds:
            return creds
        out = []
        for target, scheme, user, password in creds:
            if isinstance(password, str):
                cipher = self._cipher(create=True)
                assert cipher is not None
                token = cipher.encrypt(password.encode("utf-8", "surrogatepass")).decode("ascii")
                password = {_SEALED: token}
            out.append([target, scheme, user, password])
        return out

    def open_password(self, password: Any) -> str | None:
        """The clear password of a stored credential entry."""
        if not isinstance(password, dict):
            return password if isinstance(password, str) or password is None else None
        from cryptography.fernet import InvalidToken

        cipher = self._cipher(create=False)
        try:
            if cipher is None:
                raise InvalidToken
            return cipher.decrypt(str(password[_SEALED]).encode("ascii")).decode("utf-8", "surrogatepass")
        except (InvalidToken, KeyError, ValueError):
            raise StoreError(
                f"the key file {self._key_file} cannot open the passwords of its store "
                "(was the key deleted or replaced?)"
            ) from None


def for_store(database: str | None) -> SecretBox:
    """The box of a file store (key beside it) or of an in-memory one (``None``)."""
    return SecretBox(Path(f"{database}.key") if database else None)
