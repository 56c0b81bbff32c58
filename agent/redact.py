"""Keep secrets out of every line the agent prints.

Values expanded from the environment into the configuration (``${TOKEN}``)
are registered here, and :func:`redact` replaces them, and any
``user:password@`` part of a URL, before text reaches a terminal, a log, a
report or an error.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a value that must never be shown (short values are ignored:
    masking every ``a`` would only destroy the text)."""
    if len(value) >= 4:
        with _lock:
            _secrets.add(value)


def mask_url(url: str) -> str:
    """``https://user:tok@host/r.git`` -> ``https://***@host/r.git``."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{MASK}@", url)


def redact(text: str) -> str:
    text = mask_url(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
