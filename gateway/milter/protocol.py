"""The Sendmail milter protocol, version 6 as Postfix speaks it: packets in, packets out.

Written here rather than taken from a library (see README "Running as a milter"):
pymilter wraps Sendmail's C libmilter with a thread per connection and needs a C
toolchain and libmilter headers to install; purepythonmilter (0.0.1, alpha) has
no UNIX sockets and cannot carry state from the envelope to the end of the
message. The protocol itself is small: a 4-byte length, a command byte, NUL-
separated strings. This module only encodes and decodes; `session.py` decides.

Reference: Postfix's src/milter/milter8.c and Sendmail's include/libmilter/mfdef.h.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

VERSION = 6

# Commands, MTA -> milter
ABORT = b"A"
BODY = b"B"
CONNECT = b"C"
MACRO = b"D"
END_OF_BODY = b"E"
HELO = b"H"
QUIT_NEW_CONNECTION = b"K"
HEADER = b"L"
MAIL = b"M"
END_OF_HEADERS = b"N"
OPTION_NEGOTIATION = b"O"
QUIT = b"Q"
RCPT = b"R"
DATA = b"T"
UNKNOWN = b"U"

# Replies, milter -> MTA
ACCEPT = b"a"
CONTINUE = b"c"
DISCARD = b"d"
CHANGE_FROM = b"e"
INSERT_HEADER = b"i"
CHANGE_HEADER = b"m"
QUARANTINE = b"q"
TEMPFAIL = b"t"
REPLY_CODE = b"y"

# Actions the milter may take (SMFIF_*)
ADD_HEADERS = 0x01
CHANGE_HEADERS = 0x10
MAY_QUARANTINE = 0x20
MAY_CHANGE_FROM = 0x40
ACTIONS = ADD_HEADERS | CHANGE_HEADERS | MAY_QUARANTINE | MAY_CHANGE_FROM

# Protocol steps (SMFIP_*): events we do not want, events we never answer
NO_HELO = 0x02
NO_UNKNOWN = 0x100
NO_DATA = 0x200
NO_REPLY_HEADER = 0x80
NO_REPLY_CONNECT = 0x1000
NO_REPLY_RCPT = 0x8000
NO_REPLY_END_OF_HEADERS = 0x40000
NO_REPLY_BODY = 0x80000
HEADER_LEADING_SPACE = 0x100000
# Everything up to the end of the message is only collected: the decision needs the
# whole message, so answering each header or body chunk would only add round trips.
WANTED_STEPS = (
    NO_HELO
    | NO_UNKNOWN
    | NO_DATA
    | NO_REPLY_CONNECT
    | NO_REPLY_RCPT
    | NO_REPLY_HEADER
    | NO_REPLY_END_OF_HEADERS
    | NO_REPLY_BODY
    | HEADER_LEADING_SPACE
)
# Postfix sends body chunks of at most 65535 bytes; one header can be long, not this long.
MAX_PACKET = 1024 * 1024


class ProtocolError(Exception):
    """The MTA sent something this protocol does not allow; the connection is closed."""


@dataclass(frozen=True, slots=True)
class Packet:
    command: bytes
    data: bytes


async def read_packet(reader: asyncio.StreamReader) -> Packet | None:
    """The next packet, or None when the MTA closed the connection between packets."""
    try:
        header = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolError("connection closed inside a packet length") from exc
        return None
    (length,) = struct.unpack("!I", header)
    if not 1 <= length <= MAX_PACKET:
        raise ProtocolError(f"packet length {length} outside 1..{MAX_PACKET}")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("connection closed inside a packet") from exc
    return Packet(body[:1], body[1:])


def encode(command: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(data) + 1) + command + data


def strings(data: bytes) -> list[bytes]:
    """NUL-terminated strings, in order (a missing final NUL is tolerated)."""
    if data.endswith(b"\0"):
        data = data[:-1]
    return data.split(b"\0") if data else []


def _cstring(value: bytes) -> bytes:
    if b"\0" in value:
        raise ValueError("a milter string cannot contain NUL")
    return value + b"\0"


@dataclass(frozen=True, slots=True)
class Negotiation:
    version: int
    actions: int
    steps: int


def parse_negotiation(data: bytes) -> Negotiation:
    if len(data) < 12:
        raise ProtocolError(f"option negotiation of {len(data)} bytes (12 expected)")
    version, actions, steps = struct.unpack("!III", data[:12])
    return Negotiation(version, actions, steps)


def negotiation_reply(offered: Negotiation) -> bytes:
    """Ask for what we need within what the MTA offers; refuse an MTA that cannot do it."""
    if offered.version < 2:
        raise ProtocolError(f"milter protocol version {offered.version}; 6 is needed")
    missing = ACTIONS & ~offered.actions
    if missing:
        raise ProtocolError(
            f"the MTA does not allow the actions 0x{missing:x} (header edits, quarantine, "
            "sender change); Postfix >= 2.6 with milter_protocol = 6 does"
        )
    steps = WANTED_STEPS & offered.steps
    data = struct.pack("!III", min(offered.version, VERSION), ACTIONS, steps)
    return encode(OPTION_NEGOTIATION, data)


def parse_macros(data: bytes) -> dict[str, str]:
    """A macro packet: the stage byte, then name/value pairs ('i', '{auth_authen}', ...)."""
    items = strings(data[1:])
    return {
        items[i].decode("utf-8", "replace").strip("{}"): items[i + 1].decode("utf-8", "replace")
        for i in range(0, len(items) - 1, 2)
    }


def parse_connect(data: bytes) -> tuple[str, str]:
    """(client host name, client address) of a CONNECT packet."""
    name, _, rest = data.partition(b"\0")
    family = rest[:1]
    if family in (b"4", b"6") and len(rest) >= 3:
        address = rest[3:].rstrip(b"\0")
    elif family == b"L":
        address = rest[3:].rstrip(b"\0") or b"local"
    else:
        address = b"unknown"
    return name.decode("utf-8", "replace"), address.decode("utf-8", "replace")


def unbracket(address: bytes) -> str:
    """The address of a MAIL/RCPT argument: ``<a@b>`` -> ``a@b``, ``<>`` -> ``""``."""
    text = address.decode("utf-8", "surrogateescape").strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    return text


def parse_header(data: bytes) -> tuple[bytes, bytes]:
    items = strings(data)
    if not items:
        raise ProtocolError("empty header packet")
    return items[0], items[1] if len(items) > 1 else b""


# --- replies -------------------------------------------------------------------------


def reply_code(code: int, text: str) -> bytes:
    """A final SMTP answer of our own wording; '%' is doubled because Postfix un-doubles it."""
    line = f"{code} {text}".replace("%", "%%")
    return encode(REPLY_CODE, _cstring(line.encode("utf-8", "replace")))


def change_from(address: str) -> bytes:
    return encode(CHANGE_FROM, _cstring(f"<{address}>".encode("utf-8", "surrogateescape")))


def change_header(name: bytes, occurrence: int, value: bytes) -> bytes:
    """Replace the `occurrence`-th (1-based) header called `name`; an empty value deletes it."""
    return encode(CHANGE_HEADER, struct.pack("!I", occurrence) + _cstring(name) + _cstring(value))


def insert_header(index: int, name: bytes, value: bytes) -> bytes:
    """Insert a header at `index` (0: the top of the message, above Postfix's Received)."""
    return encode(INSERT_HEADER, struct.pack("!I", index) + _cstring(name) + _cstring(value))


def quarantine(reason: str) -> bytes:
    return encode(QUARANTINE, _cstring(reason.encode("utf-8", "replace")))
