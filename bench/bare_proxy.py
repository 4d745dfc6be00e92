"""The baseline: a bare pass-through SMTP proxy (aiosmtpd front + pooled aiosmtplib).

Nothing else: no lockstep RCPT, no limits beyond aiosmtpd's, no logging. It is
what the gateway is measured against, so the ratio shows what the gateway's
own work costs.

    python bench/bare_proxy.py LISTEN_PORT RELAY_PORT
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP


class PooledRelay:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[aiosmtplib.SMTP] = []

    async def send(self, sender: str, recipients: list[str], content: bytes) -> str:
        client = self.idle.pop() if self.idle else None
        if client is None or not client.is_connected:
            client = aiosmtplib.SMTP(
                hostname="127.0.0.1", port=self.port, start_tls=False, local_hostname="bare"
            )
            await client.connect()
        try:
            _errors, response = await client.sendmail(sender, recipients, content)
        except aiosmtplib.SMTPException as exc:
            client.close()
            return f"451 4.4.0 {exc}"
        self.idle.append(client)
        return f"250 2.0.0 {response}"


class Handler:
    def __init__(self, relay: PooledRelay) -> None:
        self.relay = relay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self.relay.send(
            envelope.mail_from, envelope.rcpt_tos, envelope.original_content
        )


async def main(listen_port: int, relay_port: int) -> None:
    handler = Handler(PooledRelay(relay_port))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bare", enable_SMTPUTF8=True), "127.0.0.1", listen_port
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
