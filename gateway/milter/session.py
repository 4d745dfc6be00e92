"""One MTA connection: negotiate, collect the envelope and message, answer at its end.

Postfix opens one milter connection per SMTP session and sends every message of
that session over it. Until the end of a message nothing is decided (the
decision needs the From header and the text), so the session only collects and
answers nothing that the negotiation let it skip.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from gateway.ids import new_queue_id
from gateway.milter import protocol
from gateway.policy.loader import PolicySet

log = structlog.get_logger()


@dataclass
class MilterMessage:
    """One transaction as the MTA reported it, headers as received (no Received of its own)."""

    mail_from: str
    policies: PolicySet | None
    max_size: int
    leading_space: bool
    queue_id: str = field(default_factory=new_queue_id)
    started: float = field(default_factory=time.monotonic)
    rcpt_tos: list[str] = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    size: int = 0
    too_big: bool = False

    def _count(self, size: int) -> bool:
        """Whether there is room for `size` more bytes; past the limit nothing more is kept."""
        self.size += size
        if self.size > self.max_size and not self.too_big:
            self.too_big = True
            self.headers.clear()
            self.body = bytearray()
        return not self.too_big

    def add_header(self, name: bytes, value: bytes) -> None:
        if self._count(len(name) + len(value) + 4):
            self.headers.append((name, value))

    def add_body(self, chunk: bytes) -> None:
        if self._count(len(chunk)):
            self.body += chunk

    @property
    def content(self) -> bytes:
        """The message as CRLF bytes: multi-line values come with bare LF folds."""
        separator = b":" if self.leading_space else b": "
        head = b"".join(
            name + separator + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
            for name, value in self.headers
        )
        return head + b"\r\n" + bytes(self.body)


EndOfMessage = Callable[[MilterMessage, dict[str, str]], Awaitable[list[bytes]]]

# The no-reply step that lets each event go unanswered, when the MTA agreed to it.
_SILENT_WHEN = {
    protocol.CONNECT: protocol.NO_REPLY_CONNECT,
    protocol.RCPT: protocol.NO_REPLY_RCPT,
    protocol.HEADER: protocol.NO_REPLY_HEADER,
    protocol.END_OF_HEADERS: protocol.NO_REPLY_END_OF_HEADERS,
    protocol.BODY: protocol.NO_REPLY_BODY,
}
_CONTINUE = protocol.encode(protocol.CONTINUE)


class MilterSession:
    """The protocol state of one connection; `handle` returns the packets to send back."""

    def __init__(
        self,
        end_of_message: EndOfMessage,
        policies: Callable[[], PolicySet],
        *,
        max_message_size: int,
        draining: Callable[[], bool],
    ) -> None:
        self._end_of_message = end_of_message
        self._policies = policies
        self._max_size = max_message_size
        self._draining = draining
        self.steps = 0
        self.macros: dict[str, str] = {}
        self.client = "unknown"
        self.message: MilterMessage | None = None

    @property
    def in_message(self) -> bool:
        return self.message is not None

    def _answer(self, command: bytes) -> list[bytes]:
        silent = _SILENT_WHEN.get(command, 0)
        return [] if silent and self.steps & silent else [_CONTINUE]

    async def handle(self, packet: protocol.Packet) -> list[bytes] | None:
        """Packets to send for `packet`; None when the MTA said goodbye."""
        command, data = packet.command, packet.data
        if command == protocol.OPTION_NEGOTIATION:
            offered = protocol.parse_negotiation(data)
            reply = protocol.negotiation_reply(offered)
            self.steps = protocol.WANTED_STEPS & offered.steps
            return [reply]
        if command == protocol.MACRO:
            self.macros.update(protocol.parse_macros(data))
            return []
        if command == protocol.CONNECT:
            _, self.client = protocol.parse_connect(data)
            return self._answer(command)
        if command == protocol.MAIL:
            return self._mail(data)
        if command == protocol.END_OF_BODY:
            return await self._end(data)
        if command in (protocol.ABORT, protocol.QUIT_NEW_CONNECTION):
            self.message = None
            if command == protocol.QUIT_NEW_CONNECTION:
                self.macros.clear()
            return []
        if command == protocol.QUIT:
            return None
        return self._collect(command, data)

    def _mail(self, data: bytes) -> list[bytes]:
        if self._draining():
            self.message = None
            return [protocol.reply_code(451, "4.3.2 The mail filter is restarting; try again")]
        args = protocol.strings(data)
        self.message = MilterMessage(
            mail_from=protocol.unbracket(args[0]) if args else "",
            policies=self._policies(),
            max_size=self._max_size,
            leading_space=bool(self.steps & protocol.HEADER_LEADING_SPACE),
        )
        return [_CONTINUE]

    def _collect(self, command: bytes, data: bytes) -> list[bytes]:
        message = self.message
        if command == protocol.RCPT:
            if message is not None:
                args = protocol.strings(data)
                message.rcpt_tos.append(protocol.unbracket(args[0]) if args else "")
        elif command == protocol.HEADER:
            if message is not None:
                message.add_header(*protocol.parse_header(data))
        elif command == protocol.BODY:
            if message is not None:
                message.add_body(data)
        elif command not in (
            protocol.END_OF_HEADERS,
            protocol.HELO,
            protocol.DATA,
            protocol.UNKNOWN,
        ):
            raise protocol.ProtocolError(f"unknown milter command {command!r}")
        return self._answer(command)

    async def _end(self, data: bytes) -> list[bytes]:
        message, self.message = self.message, None
        if message is None:
            raise protocol.ProtocolError("end of message without MAIL")
        message.add_body(data)  # libmilter allows the last chunk inside the end packet
        return await self._end_of_message(message, dict(self.macros))
