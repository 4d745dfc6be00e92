"""Real Postfix tools around the gateway: smtp-sink as a faulty relay, smtp-source and swaks
as helpdesks. These are the tools mail admins use themselves to test a mail path."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest

from gateway.app import Gateway
from tests.postfix import smtp_sink, smtp_source
from tests.process import GatewayProcess
from tests.smtp_client import session
from tests.support import Sink, port_of, require_tool, start_gateway

MESSAGE = b"From: agent@acme.test\r\nSubject: Re: help\r\n\r\nHello,\r\nhere you go.\r\n"


async def one_transaction(port: int) -> dict[str, str]:
    client = await session(port)
    replies = {"MAIL": await client.command("MAIL FROM:<agent@acme.test>")}
    if replies["MAIL"].startswith("250"):
        replies["RCPT"] = await client.command("RCPT TO:<maria@customer.test>")
        if replies["RCPT"].startswith("250"):
            await client.command("DATA")
            await client.send(MESSAGE + b".\r\n")
            replies["END"] = await client.reply()
    await client.close()
    return replies


@pytest.mark.parametrize(
    ("flags", "step", "expected"),
    [
        ((), "END", "250 2.0.0"),
        (("-Q", "."), "END", "451 4.4.0"),  # 421 and hang up after the data
        (("-q", "."), "END", "451 4.4.2"),  # hang up without a reply after the data
        (("-r", "."), "END", "451 4.4.0"),  # soft reject of the data
        (("-f", "."), "END", "500 5.3.0"),  # hard reject of the data: passed through
        (("-f", "RCPT"), "RCPT", "500 5.3.0"),  # hard reject of the recipient
        (("-r", "RCPT"), "RCPT", "451 4.4.0"),  # soft reject of the recipient
        (("-r", "MAIL"), "MAIL", "451 4.4.0"),
        (("-Q", "MAIL"), "MAIL", "451 4.4.0"),
        (("-q", "MAIL"), "MAIL", "451 4.4.2"),
        (("-Q", "CONNECT"), "MAIL", "451 4.4.1"),  # relay says 421 in its greeting
        (("-w", "5"), "END", "451 4.4.1"),  # relay stalls past the 1 s relay timeout
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
)
async def test_smtp_sink_faults_give_honest_answers(
    gateways: list[Gateway], flags: tuple[str, ...], step: str, expected: str
) -> None:
    """Every relay fault smtp-sink can produce reaches the helpdesk as 451 or the relay's 5xx."""
    async with smtp_sink(*flags) as port:
        gateway = await start_gateway(relay=f"smtp://127.0.0.1:{port}?timeout=1")
        gateways.append(gateway)
        replies = await one_transaction(port_of(gateway))
    assert replies[step].startswith(expected), replies
    if not expected.startswith("250"):
        assert not replies.get("END", "").startswith("250")


async def test_smtp_source_load_arrives_complete(sink: Sink, gateway: Gateway) -> None:
    """smtp-source: 200 messages over 8 sessions, every one reaches the relay exactly once."""
    await smtp_source(
        port_of(gateway), messages=200, sessions=8, size=5000, sender="agent@acme.test", within=120
    )
    assert len(sink.messages) == 200
    assert all(len(m.content) >= 5000 for m in sink.messages)


async def test_swaks_through_cli_gateway_to_smtp_sink(
    tmp_path: Path, processes: list[GatewayProcess]
) -> None:
    """swaks -> `gateway serve` -> Postfix smtp-sink: the message is in smtp-sink's dump."""
    swaks = require_tool("swaks")
    # smtp-sink drops to user nobody, who cannot enter pytest's private tmp_path
    dump = Path(tempfile.mkdtemp(prefix="gateway-smtp-sink-"))
    dump.chmod(0o777)
    async with smtp_sink(dump_dir=dump) as port:
        gateway = await GatewayProcess.start(
            "--listen", "127.0.0.1:0", "--relay", f"smtp://127.0.0.1:{port}", cwd=tmp_path
        )
        processes.append(gateway)
        process = await asyncio.create_subprocess_exec(
            swaks,
            "--server",
            f"127.0.0.1:{gateway.ports['outbound']}",
            "--from",
            "agent@acme.test",
            "--to",
            "maria@customer.test",
            "--header",
            "Subject: swaks test",
            "--body",
            "Hello Maria,\nyes.",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, out.decode()
        assert "250 2.0.0 Ok: relayed" in out.decode()
        assert await gateway.stop() == 0
    dumped = [path.read_bytes() for path in dump.iterdir()]
    shutil.rmtree(dump)
    assert len(dumped) == 1
    assert b"Subject: swaks test" in dumped[0]
