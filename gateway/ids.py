"""Short ids a person can copy from a log line into a command."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32: no i, l, o, u


def new_queue_id() -> str:
    """12 characters: 40 bits of milliseconds (sorts by time) + 20 random bits."""
    value = ((int(time.time() * 1000) & (2**40 - 1)) << 20) | secrets.randbits(20)
    chars = []
    for _ in range(12):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))
