"""The bytes of a message as they arrived, made safe to pass on.

aiosmtpd ends DATA only on ``<CRLF>.<CRLF>``, so every smuggling variant
(``<LF>.<LF>``, ``<CR>.<CR>``, ``<LF>.<CRLF>``...) stays inside one message.
Normalising every bare CR and bare LF to CRLF here means the relay receives
one message with clean line endings, and the DKIM signature (computed later
over these exact bytes) survives the relay's own normalisation.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

_LINE_END = re.compile(rb"\r\n|\r|\n")
_HEADER_END = re.compile(rb"\r\n\r\n")


def has_bare_line_endings(data: bytes) -> bool:
    crlf = data.count(b"\r\n")
    return data.count(b"\n") != crlf or data.count(b"\r") != crlf


def normalise_line_endings(data: bytes) -> bytes:
    """Every line ends in CRLF, including the last one."""
    clean = _LINE_END.sub(b"\r\n", data) if has_bare_line_endings(data) else data
    if not clean.endswith(b"\r\n"):
        clean += b"\r\n"
    return clean


def parse_headers(data: bytes) -> Message:
    """Headers only, without reading the body (cheap on a 25 MB attachment)."""
    match = _HEADER_END.search(data)
    head = data[: match.end()] if match else data
    return BytesHeaderParser(policy=compat32).parsebytes(head)


def header_text(message: Message, name: str) -> str | None:
    """A header as one trimmed line of text (None when absent)."""
    value = message.get(name)
    if value is None:
        return None
    return " ".join(str(value).split())
