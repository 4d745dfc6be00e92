"""A parsed view of one message: who sent it, its thread keys, and what the agent wrote.

Headers are parsed eagerly and cheaply (every message needs the sender to pick a
policy); the text body is parsed with mail-parser only when a check asks for it,
so messages whose policy runs no text check never pay for MIME decoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from functools import cached_property

import mailparser

from gateway.html_text import html_to_text
from gateway.reply import ReplyParts, split_reply
from gateway.smtp.content import first_header, parse_headers

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_ENCODED_OR_HTML = re.compile(
    rb"content-transfer-encoding:\s*(?:base64|quoted-printable)|content-type:\s*text/html",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    address: str

    @property
    def local_part(self) -> str:
        return self.address.rpartition("@")[0] if "@" in self.address else self.address

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else f"<{self.address}>"


def _undo_surrogates(value: str) -> str:
    """Raw 8-bit header bytes (kept as surrogates by the parser) read as UTF-8, else Latin-1."""
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_text(value: object) -> str:
    """RFC 2047 encoded words decoded, 8-bit headers read as UTF-8; never raises."""
    if value is None:
        return ""
    text = _undo_surrogates(str(value))
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError, AssertionError, HeaderParseError):
        return text  # e.g. "=?utf-8?b?not base64!?=": shown as written (found by hypothesis)


def raw_headers(headers: Message, name: str) -> list[str]:
    """Every value of a header as sent (compat32 would turn 8-bit bytes into U+FFFD)."""
    wanted = name.lower()
    return [str(value) for key, value in headers.raw_items() if key.lower() == wanted]


def _addresses(headers: Message, name: str) -> tuple[Address, ...]:
    values = [_undo_surrogates(value) for value in raw_headers(headers, name)]
    return tuple(
        Address(decode_text(display).strip(), address.strip())
        for display, address in getaddresses(values)
        if address.strip()
    )


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", "replace")


def _text_parts(message: Message) -> tuple[list[str], list[str]]:
    """(text/plain bodies, text/html bodies); attachments and attached messages skipped."""
    plain: list[str] = []
    html: list[str] = []

    def visit(part: Message) -> None:
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            return  # a forwarded or attached message is not the agent's text
        if part.is_multipart():
            for child in part.get_payload():
                if isinstance(child, Message):
                    visit(child)
            return
        disposition = str(part.get("Content-Disposition", "")).split(";", 1)[0].strip().lower()
        if disposition == "attachment":
            return
        if content_type == "text/plain":
            plain.append(_decoded(part))
        elif content_type == "text/html":
            html.append(_decoded(part))

    visit(message)
    return plain, html


class MessageView:
    """Read-only view of one message's bytes."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    @cached_property
    def headers(self) -> Message:
        """Parsed on first use: a gateway with no matching policy never needs it."""
        return parse_headers(self.raw)

    @cached_property
    def from_addresses(self) -> tuple[Address, ...]:
        return _addresses(self.headers, "From")

    @cached_property
    def sender(self) -> tuple[Address, ...]:
        return _addresses(self.headers, "Sender")

    @cached_property
    def reply_to(self) -> tuple[Address, ...]:
        return _addresses(self.headers, "Reply-To")

    @cached_property
    def to(self) -> tuple[Address, ...]:
        return _addresses(self.headers, "To") + _addresses(self.headers, "Cc")

    @cached_property
    def subject(self) -> str:
        subjects = raw_headers(self.headers, "Subject")
        return " ".join(decode_text(subjects[0]).split()) if subjects else ""

    @cached_property
    def message_id(self) -> str | None:
        # A regex over the header block: every message logs its Message-ID, and this
        # must not cost a full header parse when no policy looks at the message.
        found = _MESSAGE_ID.findall(first_header(self.raw, "Message-ID") or "")
        return found[0] if found else None

    @cached_property
    def sent_at(self) -> datetime | None:
        """The Date header as an aware time; None when missing or unreadable."""
        value = str(self.headers.get("Date", "") or "")
        try:
            parsed = parsedate_to_datetime(value) if value else None
        except (TypeError, ValueError, IndexError):
            return None
        return parsed if parsed is not None and parsed.tzinfo is not None else None

    @cached_property
    def auto_submitted(self) -> bool:
        """RFC 3834: an Auto-Submitted value other than "no" marks an automatic message."""
        value = str(self.headers.get("Auto-Submitted", "")).split(";")[0].strip().lower()
        return value not in {"", "no"}

    @cached_property
    def in_reply_to(self) -> tuple[str, ...]:
        return tuple(_MESSAGE_ID.findall(str(self.headers.get("In-Reply-To", ""))))

    @cached_property
    def references(self) -> tuple[str, ...]:
        return tuple(_MESSAGE_ID.findall(str(self.headers.get("References", ""))))

    def ticket(self, pattern: re.Pattern[str] | None) -> str | None:
        """The ticket number a policy's ticket_pattern (one group) finds in the subject."""
        if pattern is None:
            return None
        match = pattern.search(self.subject)
        return match.group(1) if match else None

    @property
    def text_is_parsed(self) -> bool:
        """Whether the body was already decoded (then screening the raw bytes saves nothing)."""
        return "reply" in self.__dict__

    def may_say_any(self, phrases: tuple[str, ...]) -> bool:
        """False only when none of the (lower-case) phrases can be in the text at all.

        A screen before the full MIME parse: when the message is plain UTF-8/ASCII with
        no base64, quoted-printable or HTML part, its bytes are its text, so a phrase
        absent from the bytes (case and line breaks aside) is absent from the text.
        Otherwise the answer is True and the caller parses properly.
        """
        if _ENCODED_OR_HTML.search(self.raw):
            return True
        try:
            text = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
        flat = " ".join(text.lower().replace("\u2019", "'").split())
        return any(phrase in flat for phrase in phrases)

    @property
    def cheap_text(self) -> str:
        """The text when it costs nothing extra: parsed already, or a plain 8-bit body as is.

        Used where an approximation of the text is enough (the quote attribution's date)
        and most messages are plain: MIME parsing happens only for encoded or HTML mail.
        """
        if self.text_is_parsed or _ENCODED_OR_HTML.search(self.raw):
            return self.text
        return self.raw.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")

    @cached_property
    def _mail(self) -> mailparser.MailParser | None:
        try:
            return mailparser.parse_from_bytes(self.raw)
        except Exception:
            return None

    @cached_property
    def text(self) -> str:
        """The message text: its text/plain parts, else its HTML rendered as text.

        The standard library's parser (which mail-parser itself wraps) walks the MIME
        tree for the text parts only: a quarter of mail-parser's cost per message, which
        decodes every attachment too. mail-parser still reports the defects of a
        message (`gateway check`), where its thoroughness is the point.
        """
        try:
            message = BytesParser(policy=compat32).parsebytes(self.raw)
            plain, html = _text_parts(message)
        except Exception:
            return self.raw.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")
        if plain:
            return "\n".join(plain)
        return "\n".join(html_to_text(part) for part in html)

    @cached_property
    def reply(self) -> ReplyParts:
        names = [part for to in self.to for part in (to.name, to.local_part) if part]
        return split_reply(self.text, names)

    @cached_property
    def defects(self) -> tuple[str, ...]:
        mail = self._mail
        if mail is None:
            return ("unparseable MIME structure",)
        found: list[str] = []
        for entry in mail.defects:
            for messages in entry.values():
                found.extend(str(message) for message in messages)
        return tuple(found)
