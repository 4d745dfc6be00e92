"""Message content taken off the wire in chunks, before aiosmtpd's line reader sees it.

aiosmtpd reads DATA one line at a time (a coroutine step per line, a list of
line objects, a final pass to undo dot-stuffing), all on the event loop: with
twenty 25 MB messages arriving, a new client's EHLO waited up to 2.8 s. Here
each TCP chunk is scanned with C-level byte searches as it arrives
(`SMTP.data_received`), so the loop serves others between chunks and a 25 MB
message costs a few passes of `bytes.find`/`split`/`replace`, done chunk by chunk
while it arrives (dot-unstuffing, the bare-CR/LF check), not in one go at its end.

The rules are aiosmtpd's own, byte for byte (its tests and ours hold both to
them): lines end at CRLF only (a bare LF or CR is content, so no smuggled end
of data), the end is a line that is exactly ``.`` (``\\r\\n.\\r\\n``, or ``.\\r\\n``
first), a line of more than 1001 bytes with its CRLF is too long, a message
past the size limit is too big (both answered only after the end, RFC 5321
4.2.5, and no longer stored), and one leading dot is removed from every line.
"""

from __future__ import annotations

import enum

LINE_LIMIT = 1001  # aiosmtpd's line_length_limit, CRLF included
_END = b"\r\n.\r\n"


class DataState(enum.Enum):
    NOMINAL = "nominal"
    TOO_MUCH = "too much"  # past data_size_limit
    TOO_LONG = "too long"  # a line over LINE_LIMIT


class DataCapture:
    """The content of one DATA command, fed with whatever bytes arrive."""

    def __init__(self, size_limit: int | None) -> None:
        self.size_limit = size_limit
        self.state = DataState.NOMINAL
        self.size = 0  # bytes of content lines, CRLFs included, terminator excluded
        self._body = bytearray()
        self._partial = b""  # bytes after the last CRLF: an unfinished line
        self._partial_is_whole = True  # False once a long partial line was cut short
        self.bare_line_endings = False  # a CR or LF not part of a CRLF, inside some line

    def feed(self, data: bytes) -> bytes | None:
        """Take bytes; once the end-of-data line is in, the bytes after it (maybe b"")."""
        work = self._partial + data
        end = self._find_end(work)
        if end is None:
            last = work.rfind(b"\r\n")
            complete_to = last + 2 if last >= 0 else 0
        else:
            complete_to = end
        if complete_to > 0:
            self._take_lines(work[:complete_to])
            self._partial_is_whole = True
        rest = work[complete_to:]
        if end is not None:
            self._partial = b""
            return rest[3:]  # after ".\r\n"
        self._keep_partial(rest)
        return None

    def _find_end(self, work: bytes) -> int | None:
        """Where the end-of-data line starts in `work`, if it is there."""
        if self._partial_is_whole and work.startswith(b".\r\n"):
            return 0
        found = work.find(_END)
        return None if found < 0 else found + 2

    def _take_lines(self, lines: bytes) -> None:
        if not lines:
            return
        before = self.size
        self.size += len(lines)
        if self.state is not DataState.NOMINAL:
            return
        parts = lines.split(b"\r\n")[:-1]
        too_much = bool(self.size_limit) and self.size > (self.size_limit or 0)
        if not too_much and max(map(len, parts)) + 2 <= LINE_LIMIT:
            crlf = len(parts)  # each block starts at a line start and ends with CRLF
            if lines.count(b"\n") != crlf or lines.count(b"\r") != crlf:
                self.bare_line_endings = True
            # dot-unstuffing (RFC 5321 4.5.2) block by block, so the end costs nothing
            if lines.startswith(b"."):
                lines = lines[1:]
            self._body += lines.replace(b"\r\n.", b"\r\n")
            return
        self.state = self._first_problem(parts, before)
        self._body = bytearray()

    def _first_problem(self, parts: list[bytes], size: int) -> DataState:
        """Which refusal aiosmtpd would have hit first, line by line (once per message).

        A line whose text alone is over the limit fails while it is read, before it
        is counted; a shorter over-long one is counted first, then measured.
        """
        for part in parts:
            length = len(part) + 2
            if length > LINE_LIMIT + 2:
                return DataState.TOO_LONG
            size += length
            if self.size_limit and size > self.size_limit:
                return DataState.TOO_MUCH
            if length > LINE_LIMIT:
                return DataState.TOO_LONG
        return DataState.NOMINAL

    def _keep_partial(self, rest: bytes) -> None:
        """An unfinished line stays for the next chunk; one whose text is already over the
        limit (it fails while being read) is cut short, keeping its last byte: it may be
        the CR of the CRLF that ends it."""
        if len(rest) > LINE_LIMIT + 1:
            if self.state is DataState.NOMINAL:
                self.state = DataState.TOO_LONG
                self._body = bytearray()
            self.size += len(rest) - 1
            self._partial = rest[-1:]
            self._partial_is_whole = False
        else:
            self._partial = rest

    def content(self) -> bytes:
        """The message, one leading dot already removed from each line."""
        body = bytes(self._body)
        self._body = bytearray()
        return body
