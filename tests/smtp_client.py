"""A raw SMTP client over asyncio streams, for conversations aiosmtplib refuses to have
(bare LF, NUL bytes, smuggling payloads) and for reading exact reply lines."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls, port: int, host: str = "127.0.0.1", source: str | None = None
    ) -> RawClient:
        reader, writer = await asyncio.open_connection(
            host, port, local_addr=(source, 0) if source else None
        )
        return cls(reader, writer)

    async def reply(self, within: float = 10.0) -> str:
        """One (possibly multi-line) reply; lines joined by newlines."""
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), within)
            if not line:
                raise ConnectionError("server closed the connection: " + "\n".join(lines))
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return "\n".join(lines)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def command(self, line: bytes | str) -> str:
        raw = line.encode() if isinstance(line, str) else line
        await self.send(raw + b"\r\n")
        return await self.reply()

    async def closed(self, within: float = 5.0) -> bool:
        """True when the server has closed the connection (EOF)."""
        data = await asyncio.wait_for(self.reader.read(), within)
        return data == b"" or self.reader.at_eof()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def session(port: int, source: str | None = None) -> RawClient:
    """Connected, greeted and EHLO'd."""
    client = await RawClient.connect(port, source=source)
    greeting = await client.reply()
    assert greeting.startswith("220"), greeting
    ehlo = await client.command("EHLO helpdesk.test")
    assert ehlo.startswith("250"), ehlo
    return client
