"""Identifiers: ULIDs, so ids sort by creation time, and opaque random secrets."""

from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(at_ms: int | None = None) -> str:
    """A 26-character Crockford base32 ULID (48-bit millisecond time + 80 random bits)."""
    millis = int(time.time() * 1000) if at_ms is None else at_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def secret_token(nbytes: int = 24) -> str:
    """A URL-safe secret that also fits Telegram's ``secret_token`` alphabet (A-Z a-z 0-9 _ -)."""
    return secrets.token_urlsafe(nbytes)
