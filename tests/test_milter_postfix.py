"""`gateway milter` inside a real Postfix: smtp-source/swaks -> Postfix smtpd (milter) -> smtp-sink.

Each test runs its own Postfix (tests/postfix.py: own config and queue in tmp_path,
`milter_default_action = tempfail`, a second smtpd without milters for releases), the
real `gateway milter` command, and Postfix's smtp-sink writing each delivered message
to a file. What arrives there is what a customer's mail server would get.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import dkim
import pytest

from gateway.dkim_sign import generate_key
from tests.milter_client import ACME_POLICY
from tests.postfix import Postfix, smtp_sink, smtp_source
from tests.process import GatewayProcess, run_cli
from tests.support import free_port, require_tool

pytestmark = pytest.mark.slow


REPLY = (
    "From: Acme Support <noreply@acme.example>\r\n"
    "To: Maria <maria@customer.test>\r\n"
    "Subject: Re: refund\r\n"
    "Message-ID: <r1@acme.example>\r\n"
    "\r\n"
    "Hi Maria,\r\n\r\nyour refund was issued today; it reaches your card in 3 days.\r\n\r\n"
    "Best,\r\nJo\r\n"
)


@dataclass
class MailPath:
    """The whole path of one test: gateway milter, Postfix, smtp-sink and their files."""

    directory: Path
    config: Path
    dns_record: bytes
    dump: Path
    postfix: Postfix
    gateway: GatewayProcess

    def delivered(self) -> list[tuple[str, bytes]]:
        """(envelope sender, message with CRLF) of each message smtp-sink received.

        smtp-sink writes its envelope as leading X- lines and every line with a bare LF.
        """
        result = []
        for path in sorted(self.dump.iterdir()):
            lines = path.read_bytes().split(b"\n")
            envelope = [line for line in lines[:5] if line.startswith(b"X-")]
            sender = next(line for line in envelope if line.startswith(b"X-Mail-Args:"))
            address = sender.split(b":", 1)[1].split()[0].decode().strip("<>")
            result.append((address, b"\r\n".join(lines[len(envelope) :])))
        return result

    async def wait_delivered(self, count: int, within: float = 15) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            delivered = self.delivered()
            if len(delivered) >= count:
                return delivered
            await asyncio.sleep(0.1)
        raise AssertionError(f"{count} message(s) expected at smtp-sink, got {self.delivered()}")

    def verifies(self, message: bytes) -> bool:
        record = self.dns_record
        return bool(dkim.verify(message, dnsfunc=lambda name, timeout=5: record))


async def swaks(port: int, sender: str, data: str, *extra: str) -> tuple[int, str]:
    binary = require_tool("swaks")
    process = await asyncio.create_subprocess_exec(
        binary,
        "--server",
        f"127.0.0.1:{port}",
        "--from",
        sender,
        "--to",
        "maria@customer.test",
        "--data",
        data,
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


@pytest.fixture
async def mail_path(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[MailPath]:
    hold_mode = getattr(request, "param", "store")
    key_path = tmp_path / "acme.example.gw1.pem"
    record = generate_key("rsa", key_path).dns_record().encode()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "10-acme.toml").write_text(ACME_POLICY.format(key=key_path))
    reinject = free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'store = "sqlite:///{tmp_path}/gateway.db"\n'
        f'policies = "{tmp_path}/policies"\n'
        f'relay = "smtp://127.0.0.1:{reinject}"\n'
        'milter_listen = "inet:127.0.0.1:0"\n'
        f'milter_hold = "{hold_mode}"\n'
    )
    dump = Path(tempfile.mkdtemp(prefix="gateway-milter-sink-"))
    dump.chmod(0o777)  # smtp-sink runs as nobody
    gateway = await GatewayProcess.start("--config", str(config), cwd=tmp_path, command="milter")
    try:
        async with smtp_sink(dump_dir=dump) as sink_port:
            postfix = Postfix(
                tmp_path / "postfix",
                smtpd_port=free_port(),
                relay_port=sink_port,
                milter=gateway.milter,
                reinject_port=reinject,
            )
            await postfix.start()
            try:
                yield MailPath(tmp_path, config, record, dump, postfix, gateway)
            finally:
                await postfix.stop()
    finally:
        gateway.kill()
        await gateway.process.wait()
        shutil.rmtree(dump)


async def test_noreply_sender_arrives_rewritten_and_dkim_valid(mail_path: MailPath) -> None:
    status, out = await swaks(mail_path.postfix.smtpd_port, "noreply@acme.example", REPLY)
    assert status == 0, out
    ((sender, message),) = await mail_path.wait_delivered(1)
    assert sender == "support@acme.example"
    assert b"From: Acme Support <support@acme.example>" in message
    assert b"noreply@acme.example" not in message
    # the signature sits above Postfix's own Received (INSHEADER at the top)
    assert message.index(b"DKIM-Signature:") < message.index(b"by postfix.test (Postfix)")
    assert mail_path.verifies(message)
    event = await mail_path.gateway.wait_for_event("message")
    assert event["action"] == "relay"
    assert event["postfix_queue_id"]
    assert event["queue_id"]
    assert event["leg"] == "milter"
    assert mail_path.postfix.problems() == []


async def test_reply_without_greeting_is_held_then_released(mail_path: MailPath) -> None:
    """smtp-source's messages (no greeting) get 250 from Postfix, wait in the gateway's
    store instead of leaving, and arrive signed once a reviewer releases them."""
    await smtp_source(mail_path.postfix.smtpd_port, messages=3, sessions=2, within=60)
    await asyncio.sleep(1.5)  # a queue run: anything that was going to leave has left
    assert mail_path.delivered() == []
    status, out, err_text = await run_cli(
        "held", "list", "--json", "--config", str(mail_path.config)
    )
    assert status == 0, err_text
    held = json.loads(out)
    assert len(held) == 3
    assert all("missing_greeting" in item["reasons"] for item in held)
    first = held[0]["id"]
    status, out, err_text = await run_cli(
        "held", "release", first, "--config", str(mail_path.config), "--by", "lead"
    )
    assert status == 0, err_text
    ((sender, message),) = await mail_path.wait_delivered(1)
    assert sender == "agent@acme.example"
    assert mail_path.verifies(message)
    assert "discard" in mail_path.postfix.log()  # Postfix logged the DISCARD of the held ones
    assert mail_path.postfix.problems() == []


@pytest.mark.parametrize("mail_path", ["quarantine"], indirect=True)
async def test_quarantine_mode_uses_postfix_hold_queue(mail_path: MailPath) -> None:
    """milter_hold = quarantine: the reply waits in Postfix's hold queue, already rewritten
    and signed, and `postsuper -H` lets it go."""
    data = REPLY.replace("Hi Maria,\r\n\r\n", "")
    status, out = await swaks(mail_path.postfix.smtpd_port, "noreply@acme.example", data)
    assert status == 0, out
    await asyncio.sleep(1.5)
    assert mail_path.delivered() == []
    (queue_id,) = mail_path.postfix.queue_ids("hold")
    await mail_path.postfix.release_hold(queue_id)
    ((sender, message),) = await mail_path.wait_delivered(1)
    assert sender == "support@acme.example"
    assert mail_path.verifies(message)


async def test_rejected_reply_gets_the_reason(mail_path: MailPath) -> None:
    data = REPLY.replace("Best,", "Please do not reply to this message.\r\n\r\nBest,")
    status, out = await swaks(mail_path.postfix.smtpd_port, "agent@acme.example", data)
    assert status != 0
    assert "550 5.7.1" in out
    assert "[10-acme.toml]" in out
    await asyncio.sleep(1)
    assert mail_path.delivered() == []


async def test_milter_down_means_postfix_tempfails(mail_path: MailPath) -> None:
    """milter_default_action = tempfail: with the gateway gone nothing unchecked passes."""
    assert await mail_path.gateway.stop() == 0
    status, out = await swaks(mail_path.postfix.smtpd_port, "noreply@acme.example", REPLY)
    assert status != 0
    assert "451 4.7.1" in out
    await asyncio.sleep(1)
    assert mail_path.delivered() == []
