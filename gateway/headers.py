"""Header fields as raw bytes: edit one field, leave every other byte as it was.

The email package re-folds and re-encodes what it serialises, which would
break signatures and change mail the gateway has no business changing. The
few edits the gateway makes (sender addresses, stale DKIM signatures, a new
signature) work on the raw header block instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RawField:
    """One header field with its continuation lines, CRLFs included."""

    raw: bytes

    @property
    def name(self) -> str:
        return self.raw.split(b":", 1)[0].strip().decode("ascii", "replace").lower()

    @property
    def value(self) -> str:
        """The value after the colon, unfolded, 8-bit bytes kept as surrogates."""
        value = self.raw.split(b":", 1)[1] if b":" in self.raw else b""
        return value.decode("utf-8", "surrogateescape").replace("\r\n", "").strip()


def split_message(content: bytes) -> tuple[list[RawField], bytes]:
    """(header fields, the rest from the blank line on) of a CRLF message."""
    end = content.find(b"\r\n\r\n")
    if end < 0:
        head, rest = content, b""
    else:
        head, rest = content[: end + 2], content[end + 2 :]
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return [RawField(field) for field in fields], rest


def join_message(fields: list[RawField], rest: bytes) -> bytes:
    return b"".join(field.raw for field in fields) + rest
