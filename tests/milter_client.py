"""The MTA side of the milter protocol, for tests that need a fault Postfix would never make.

End-to-end behaviour is tested with a real Postfix (tests/test_milter_postfix.py); this
client drives the gateway where a test needs exact control: a broken packet, a
message past the size limit, an abort in the middle, several messages on one connection.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field

from gateway.milter import protocol

# The policy both milter test modules judge with: rewrite, sign, hold a missing greeting,
# reject a "do not reply" phrase; the answer check is off (no customer text to match).
ACME_POLICY = """
[match]
senders = ["*@acme.example"]
[rewrite]
monitored = "support@acme.example"
[dkim]
domain = "acme.example"
selector = "gw1"
key = "{key}"
[checks.greeting]
action = "hold"
[checks.answer]
action = "off"
[checks.noreply_phrase]
action = "reject"
"""

ALL_ACTIONS = 0x1FF
ALL_STEPS = 0x1FFFFF
FINAL = {
    protocol.ACCEPT,
    protocol.CONTINUE,
    protocol.DISCARD,
    protocol.TEMPFAIL,
    protocol.REPLY_CODE,
    b"r",  # reject
}


@dataclass
class EndOfMessage:
    """What the milter answered at the end of a message: edits, then the final packet."""

    edits: list[protocol.Packet] = field(default_factory=list)
    final: protocol.Packet | None = None

    @property
    def verdict(self) -> bytes:
        assert self.final is not None
        return self.final.command

    @property
    def reply(self) -> str:
        assert self.final is not None
        assert self.final.command == protocol.REPLY_CODE
        return self.final.data.rstrip(b"\0").decode()

    def of(self, command: bytes) -> list[protocol.Packet]:
        return [edit for edit in self.edits if edit.command == command]


class MilterClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.steps = 0

    @classmethod
    async def connect(cls, host: str, port: int, *, steps: int = ALL_STEPS) -> MilterClient:
        reader, writer = await asyncio.open_connection(host, port)
        return await cls.negotiated(reader, writer, steps=steps)

    @classmethod
    async def negotiated(
        cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, steps: int = ALL_STEPS
    ) -> MilterClient:
        """Option negotiation on an open connection (TCP or unix socket), as Postfix does."""
        client = cls(reader, writer)
        client.send(protocol.OPTION_NEGOTIATION, struct.pack("!III", 6, ALL_ACTIONS, steps))
        answer = await client.receive()
        assert answer.command == protocol.OPTION_NEGOTIATION
        _, _, client.steps = struct.unpack("!III", answer.data[:12])
        return client

    def send(self, command: bytes, data: bytes = b"") -> None:
        self.writer.write(protocol.encode(command, data))

    async def receive(self, within: float = 10) -> protocol.Packet:
        packet = await asyncio.wait_for(protocol.read_packet(self.reader), within)
        assert packet is not None, "the milter closed the connection"
        return packet

    async def command(self, command: bytes, data: bytes, silent_step: int = 0) -> bytes | None:
        """Send one event; its answer's command, or None when the negotiation made it silent."""
        self.send(command, data)
        if silent_step and self.steps & silent_step:
            return None
        return (await self.receive()).command

    async def envelope(self, mail_from: str, *rcpt_tos: str) -> None:
        self.send(protocol.MACRO, b"C" + b"j\0mx.test\0")
        await self.command(
            protocol.CONNECT,
            b"client.test\0" + b"4" + struct.pack("!H", 4711) + b"127.0.0.1\0",
            protocol.NO_REPLY_CONNECT,
        )
        self.send(protocol.MACRO, b"M" + b"i\0ABC123\0")
        assert await self.command(protocol.MAIL, f"<{mail_from}>\0".encode()) == protocol.CONTINUE
        for rcpt in rcpt_tos:
            await self.command(protocol.RCPT, f"<{rcpt}>\0".encode(), protocol.NO_REPLY_RCPT)

    async def message(self, raw: bytes, *, chunk: int = 65535) -> EndOfMessage:
        """Headers and body of `raw` (CRLF) the way Postfix sends them, then the end."""
        head, _, body = raw.partition(b"\r\n\r\n")
        fields: list[bytes] = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1] += b"\n" + line
            else:
                fields.append(line)
        leading = bool(self.steps & protocol.HEADER_LEADING_SPACE)
        for item in fields:
            name, _, value = item.partition(b":")
            if not leading and value.startswith(b" "):
                value = value[1:]
            await self.command(
                protocol.HEADER, name + b"\0" + value + b"\0", protocol.NO_REPLY_HEADER
            )
        await self.command(protocol.END_OF_HEADERS, b"", protocol.NO_REPLY_END_OF_HEADERS)
        for start in range(0, len(body), chunk):
            await self.command(protocol.BODY, body[start : start + chunk], protocol.NO_REPLY_BODY)
        return await self.end()

    async def end(self, within: float = 20) -> EndOfMessage:
        self.send(protocol.END_OF_BODY)
        result = EndOfMessage()
        while True:
            packet = await self.receive(within)
            if packet.command in FINAL:
                result.final = packet
                return result
            result.edits.append(packet)

    async def close(self) -> None:
        self.send(protocol.QUIT)
        self.writer.close()
        await self.writer.wait_closed()


def apply_edits(raw: bytes, mail_from: str, result: EndOfMessage) -> tuple[str, bytes]:
    """The message as an MTA would write it after `result`'s edits (index rules of Postfix)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\r\n" + line
        else:
            name, _, value = line.partition(b":")
            fields.append([name, value])
    for edit in result.edits:
        if edit.command == protocol.CHANGE_FROM:
            mail_from = protocol.unbracket(protocol.strings(edit.data)[0])
        elif edit.command == protocol.CHANGE_HEADER:
            (index,) = struct.unpack("!I", edit.data[:4])
            name, value = protocol.strings(edit.data[4:]) + [b""] * (
                2 - len(protocol.strings(edit.data[4:]))
            )
            same = [f for f in fields if f[0].lower() == name.lower()]
            target = same[index - 1]
            if value:
                target[1] = value.replace(b"\n", b"\r\n")
            else:
                fields.remove(target)
        elif edit.command == protocol.INSERT_HEADER:
            (index,) = struct.unpack("!I", edit.data[:4])
            name, value = protocol.strings(edit.data[4:])
            fields.insert(index, [name, value.replace(b"\n", b"\r\n")])
    text = b"".join(name + b":" + value + b"\r\n" for name, value in fields)
    return mail_from, text + b"\r\n" + body
