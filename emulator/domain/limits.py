"""String limits and defaults (docs/reference/limits.md). Lengths are UTF-16 code units."""

from __future__ import annotations

from typing import Final

MAX_DISPLAY_NAME: Final = 256
MAX_DESCRIPTION: Final = 1024
MAX_REMOTE_NAME: Final = 2200
MAX_PATH: Final = 260
MAX_NOTIFY_PARAMETERS: Final = 4000
MAX_PROXY_LIST: Final = 32767  # the first bitsmsg.h text (today's says 32,000): docs/reference/readings.md#proxy-list
MAX_CUSTOM_HEADERS: Final = 16384  # including the NUL
MAX_USER_NAME: Final = 300
MAX_PASSWORD: Final = 65535
MAX_CERT_STORE_NAME: Final = 255  # a certificate store name, 256 with the NUL (SetClientCertificateByID)
MAX_CERT_SUBJECT: Final = 255  # a certificate subject name (SetClientCertificateByName)
MIN_RETRY_DELAY: Final = 5
MAX_REPLY_DATA: Final = 1024 * 1024

DEFAULT_RETRY_DELAY: Final = 600
DEFAULT_NO_PROGRESS_TIMEOUT: Final = 1_209_600
DEFAULT_MAX_DOWNLOAD_TIME: Final = 7_776_000
DEFAULT_NOTIFY_FLAGS: Final = 0x3
JOB_INACTIVITY_TIMEOUT: Final = 90 * 24 * 3600


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Windows' limits are stated in."""
    # The usual case, answered without a look at each character (str.isascii, not text.isascii: a
    # non-string is still a TypeError, as len() made it, not an AttributeError).
    if str.isascii(text):
        return len(text)
    # A character above U+FFFF is a surrogate pair (2 units); a lone surrogate is 1 unit, as in Windows.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
