"""Short ids a person can copy from a log line into a command."""

from __future__ import annotations

import base64
import secrets
import time

# RFC 4648 base32 re-spelled in Crockford's alphabet (no i, l, o, u), lower case, so that
# ids sort by time as text and cannot be misread.
_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = b"0123456789abcdefghjkmnpqrstvwxyz"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, _CROCKFORD)


def new_queue_id() -> str:
    """12 characters: 40 bits of milliseconds (sorts by time) + 20 random bits."""
    value = ((int(time.time() * 1000) & (2**40 - 1)) << 20) | secrets.randbits(20)
    encoded = base64.b32encode((value << 4).to_bytes(8, "big"))[:12]
    return encoded.translate(_TO_CROCKFORD).decode("ascii")
