"""The bytes of a message as they arrived, made safe to pass on.

aiosmtpd ends DATA only on ``<CRLF>.<CRLF>``, so every smuggling variant
(``<LF>.<LF>``, ``<CR>.<CR>``, ``<LF>.<CRLF>``...) stays inside one message.
Normalising every bare CR and bare LF to CRLF here means the relay receives
one message with clean line endings, and the DKIM signature (computed later
over these exact bytes) survives the relay's own normalisation.
"""

from __future__ import annotations

import functools
import re
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

_LINE_END = re.compile(rb"\r\n|\r|\n")
_HEADER_END = re.compile(rb"\r\n\r\n")


def has_bare_line_endings(data: bytes) -> bool:
    crlf = data.count(b"\r\n")
    return data.count(b"\n") != crlf or data.count(b"\r") != crlf


def normalise_line_endings(data: bytes, bare: bool | None = None) -> tuple[bytes, bool]:
    """Every line ends in CRLF, including the last one; also says whether anything changed.

    `bare`: whether the data has bare CR/LF, when the caller already knows (the DATA
    reader checks it chunk by chunk; counting again costs ~30 ms on 25 MB).
    """
    if bare is None:
        bare = has_bare_line_endings(data)
    clean = _LINE_END.sub(b"\r\n", data) if bare else data
    if not clean.endswith(b"\r\n"):
        clean += b"\r\n"
    return clean, bare


def header_block(data: bytes) -> bytes:
    """The header section, up to and including the blank line (all of it if none)."""
    match = _HEADER_END.search(data)
    return data[: match.end()] if match else data


def parse_headers(data: bytes) -> Message:
    """Headers only, without reading the body (cheap on a 25 MB attachment)."""
    return BytesHeaderParser(policy=compat32).parsebytes(header_block(data))


@functools.cache
def _header_pattern(name: str) -> re.Pattern[bytes]:
    field = re.escape(name.encode())
    return re.compile(rb"^" + field + rb"[ \t]*:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", re.I | re.M)


def first_header(data: bytes, name: str) -> str | None:
    """The first `name:` header as one line of text, unfolded (None when absent).

    A regex over the header block costs microseconds where the email package's
    parser costs a hundred: this runs for every message just to log its Message-ID.
    """
    match = _header_pattern(name).search(header_block(data))
    if match is None:
        return None
    return " ".join(match.group(1).decode("utf-8", "replace").split()) or None
