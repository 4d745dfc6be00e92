"""`gateway milter` over real loopback sockets, driven by an MTA-side client (milter_client.py).

What Postfix does with these answers is tested against a real Postfix in
tests/test_milter_postfix.py; here each answer is checked exactly, including the
faults Postfix never makes (broken packets, a message past the limit).
"""

from __future__ import annotations

import asyncio
import struct
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from structlog.testing import capture_logs

from gateway.config import load_settings
from gateway.dkim_sign import generate_key
from gateway.milter import protocol
from gateway.milter.server import MilterGateway
from tests.milter_client import ACME_POLICY, MilterClient, apply_edits
from tests.process import GatewayProcess, only_worker, run_cli
from tests.support import Sink, scrape

REPLY = (
    b"From: Acme Support <noreply@acme.example>\r\n"
    b"To: Maria <maria@customer.test>\r\n"
    b"Subject: Re: refund\r\n"
    b"Message-ID: <r1@acme.example>\r\n"
    b"In-Reply-To: <c1@customer.test>\r\n"
    b"References: <c1@customer.test>\r\n"
    b"\r\n"
    b"Hi Maria,\r\n\r\nyour refund was issued today; it reaches your card in 3 days.\r\n\r\n"
    b"Best,\r\nJo\r\n"
)
NO_GREETING = REPLY.replace(b"Hi Maria,\r\n\r\n", b"")


@pytest.fixture
def key_record(tmp_path: Path) -> tuple[Path, str]:
    key_path = tmp_path / "acme.example.gw1.pem"
    key = generate_key("rsa", key_path)
    return key_path, key.dns_record()


async def start_milter(
    tmp_path: Path, key_path: Path, *, extra: str = "", **overrides: Any
) -> MilterGateway:
    """An in-process `gateway milter` on a free port with the ACME policy (+ `extra`)."""
    policies = tmp_path / "policies"
    policies.mkdir(exist_ok=True)
    (policies / "10-acme.toml").write_text(ACME_POLICY.format(key=key_path) + extra)
    values = {
        "milter_listen": "inet:127.0.0.1:0",
        "policies": str(policies),
        "store": f"sqlite:///{tmp_path / 'gateway.db'}",
        "shutdown_grace": 2.0,
        **overrides,
    }
    gateway = MilterGateway(load_settings(None, values))
    await gateway.start()
    return gateway


@pytest.fixture
async def milter(tmp_path: Path, key_record: tuple[Path, str]) -> AsyncIterator[MilterGateway]:
    gateway = await start_milter(tmp_path, key_record[0])
    yield gateway
    await gateway.drain_and_close()


async def client_for(gateway: MilterGateway, **kwargs: Any) -> MilterClient:
    _, host, port = gateway.address.split(":")
    return await MilterClient.connect(host, int(port), **kwargs)


async def test_negotiates_silence_until_the_end_of_the_message(milter: MilterGateway) -> None:
    """Header, body and RCPT events get no answer (fewer round trips); MAIL and the end do."""
    client = await client_for(milter)
    assert client.steps & protocol.NO_REPLY_HEADER
    assert client.steps & protocol.NO_REPLY_BODY
    assert client.steps & protocol.HEADER_LEADING_SPACE
    assert client.steps & protocol.NO_HELO
    await client.close()


async def test_noreply_sender_rewritten_and_signed_through_edits(
    milter: MilterGateway, key_record: tuple[Path, str]
) -> None:
    """CHGFROM + CHGHEADER From + INSHEADER DKIM-Signature: the edited message verifies."""
    client = await client_for(milter)
    await client.envelope("noreply@acme.example", "maria@customer.test")
    with capture_logs() as logs:
        result = await client.message(REPLY)
    assert result.verdict == protocol.CONTINUE
    assert [edit.command for edit in result.edits] == [
        protocol.CHANGE_FROM,
        protocol.CHANGE_HEADER,
        protocol.INSERT_HEADER,
    ]
    mail_from, edited = apply_edits(REPLY, "noreply@acme.example", result)
    assert mail_from == "support@acme.example"
    assert b"From: Acme Support <support@acme.example>\r\n" in edited
    assert edited.startswith(b"DKIM-Signature:")
    record = key_record[1].encode()
    assert dkim.verify(edited, dnsfunc=lambda name, timeout=5: record)
    line = next(entry for entry in logs if entry["event"] == "message")
    assert line["action"] == "relay"
    assert line["relay"] == "milter"
    assert line["postfix_queue_id"] == "ABC123"
    assert line["dkim"].startswith("d=acme.example s=gw1")
    assert [r["field"] for r in line["rewrites"]] == ["MAIL FROM", "From"]
    await client.close()


async def test_folded_headers_and_broken_signature_edits(
    milter: MilterGateway, key_record: tuple[Path, str]
) -> None:
    """A folded From is rewritten in place; a signature the rewrite broke is deleted."""
    raw = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=acme.example; s=old; h=from:subject;\r\n"
        b"\tbh=AAAA; b=BBBB\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=esp.test; s=esp; h=subject;\r\n\tbh=CC; b=DD\r\n"
        + REPLY.replace(
            b"From: Acme Support <noreply@acme.example>\r\n",
            b"From: Acme Support\r\n <noreply@acme.example>\r\n",
        )
    )
    client = await client_for(milter)
    await client.envelope("agent@acme.example", "maria@customer.test")
    result = await client.message(raw)
    assert result.verdict == protocol.CONTINUE
    deleted = [e for e in result.of(protocol.CHANGE_HEADER) if e.data.endswith(b"\0\0")]
    assert len(deleted) == 1  # the acme.example signature; the ESP's (subject only) stays
    _, edited = apply_edits(raw, "agent@acme.example", result)
    assert b"s=old" not in edited
    assert b"s=esp" in edited
    assert b"From: Acme Support\r\n <support@acme.example>\r\n" in edited
    record = key_record[1].encode()
    assert dkim.verify(edited, dnsfunc=lambda name, timeout=5: record)
    await client.close()


async def test_missing_greeting_is_stored_for_review_and_discarded(
    milter: MilterGateway,
) -> None:
    """hold (store mode): committed to the hold store, then DISCARD (Postfix says 250)."""
    client = await client_for(milter)
    await client.envelope("agent@acme.example", "maria@customer.test")
    result = await client.message(NO_GREETING)
    assert result.verdict == protocol.DISCARD
    assert result.edits == []
    (held,) = milter.store.list()
    assert held.mail_from == "agent@acme.example"
    assert held.rcpt_tos == ("maria@customer.test",)
    assert "missing_greeting" in held.reasons
    assert b"your refund was issued today" in held.content
    await client.close()


async def test_quarantine_mode_edits_then_quarantines(
    tmp_path: Path, key_record: tuple[Path, str]
) -> None:
    """hold (quarantine mode): the rewrite and signature are applied, then QUARANTINE, so
    `postsuper -H` releases a message ready to leave."""
    gateway = await start_milter(tmp_path, key_record[0], milter_hold="quarantine")
    try:
        client = await client_for(gateway)
        await client.envelope("noreply@acme.example", "maria@customer.test")
        result = await client.message(NO_GREETING)
        assert result.verdict == protocol.CONTINUE
        (quarantine,) = result.of(protocol.QUARANTINE)
        assert b"missing_greeting" in quarantine.data
        assert result.of(protocol.CHANGE_FROM)
        assert result.of(protocol.INSERT_HEADER)
        assert gateway.store.list() == []
        await client.close()
    finally:
        await gateway.drain_and_close()


async def test_rejected_reply_gets_the_reason(milter: MilterGateway) -> None:
    client = await client_for(milter)
    await client.envelope("agent@acme.example", "maria@customer.test")
    text = REPLY.replace(b"Best,", b"Please do not reply to this message.\r\n\r\nBest,")
    result = await client.message(text)
    assert result.verdict == protocol.REPLY_CODE
    assert result.reply.startswith("550 5.7.1 ")
    assert "[10-acme.toml]" in result.reply
    await client.close()


async def test_signing_off_leaves_the_signature_to_another_milter(
    tmp_path: Path, key_record: tuple[Path, str]
) -> None:
    gateway = await start_milter(tmp_path, key_record[0], milter_dkim="off")
    try:
        client = await client_for(gateway)
        await client.envelope("noreply@acme.example", "maria@customer.test")
        result = await client.message(REPLY)
        assert result.verdict == protocol.CONTINUE
        assert result.of(protocol.CHANGE_FROM)
        assert result.of(protocol.INSERT_HEADER) == []
        await client.close()
    finally:
        await gateway.drain_and_close()


async def test_unreadable_key_is_a_tempfail_not_an_unsigned_message(
    tmp_path: Path, key_record: tuple[Path, str]
) -> None:
    gateway = await start_milter(tmp_path, key_record[0])
    key_record[0].write_text("not a key")
    try:
        client = await client_for(gateway)
        await client.envelope("agent@acme.example", "maria@customer.test")
        result = await client.message(REPLY)
        assert result.verdict == protocol.REPLY_CODE
        assert result.reply.startswith("451 4.7.0 DKIM signing failed")
        await client.close()
    finally:
        await gateway.drain_and_close()


async def test_message_over_the_limit_is_552_and_not_buffered(
    tmp_path: Path, key_record: tuple[Path, str]
) -> None:
    gateway = await start_milter(tmp_path, key_record[0], max_message_size=100_000)
    try:
        client = await client_for(gateway)
        await client.envelope("agent@acme.example", "maria@customer.test")
        big = REPLY + b"x" * 998 + b"\r\n" * 300
        result = await client.message(big + (b"y" * 998 + b"\r\n") * 200)
        assert result.verdict == protocol.REPLY_CODE
        assert result.reply.startswith("552 5.3.4")
        # the connection goes on: the next message is judged normally
        await client.envelope("agent@acme.example", "maria@customer.test")
        assert (await client.message(REPLY)).verdict == protocol.CONTINUE
        await client.close()
    finally:
        await gateway.drain_and_close()


async def test_abort_then_next_message_on_the_same_connection(milter: MilterGateway) -> None:
    """Postfix sends ABORT on RSET or a failed transaction; the next message starts clean."""
    client = await client_for(milter)
    await client.envelope("agent@acme.example", "maria@customer.test")
    await client.command(protocol.HEADER, b"Subject\0 half a message\0", protocol.NO_REPLY_HEADER)
    client.send(protocol.ABORT)
    await client.envelope("agent@acme.example", "maria@customer.test")
    result = await client.message(NO_GREETING)
    assert result.verdict == protocol.DISCARD
    (held,) = milter.store.list()
    assert b"half a message" not in held.content
    await client.close()


@pytest.mark.parametrize(
    "garbage",
    [
        struct.pack("!I", 0),  # a packet without a command
        struct.pack("!I", 64 * 1024 * 1024) + b"B",  # a length far past any chunk
        protocol.encode(b"Z", b"what"),  # an unknown command
        protocol.encode(protocol.END_OF_BODY),  # end of a message never started
    ],
)
async def test_protocol_faults_close_the_connection_not_the_milter(
    milter: MilterGateway, garbage: bytes
) -> None:
    client = await client_for(milter)
    with capture_logs() as logs:
        client.writer.write(garbage)
        assert await asyncio.wait_for(client.reader.read(), 5) == b""
    assert any(entry["event"] == "milter_protocol_error" for entry in logs)
    fresh = await client_for(milter)
    await fresh.envelope("agent@acme.example", "maria@customer.test")
    assert (await fresh.message(REPLY)).verdict == protocol.CONTINUE
    await fresh.close()


async def test_customer_mail_starts_the_clock_and_the_reply_stops_it(
    milter: MilterGateway,
) -> None:
    """Mail to a helpdesk address from outside is the customer's (recorded, not judged);
    the agent's reply through the same milter gets `reply_latency` with source inbound."""
    customer = (
        b"From: Maria <maria@customer.test>\r\nTo: support@acme.example\r\n"
        b"Subject: refund\r\nMessage-ID: <c1@customer.test>\r\n\r\n"
        b"Hello, where is my refund?\r\n"
    )
    client = await client_for(milter)
    await client.envelope("maria@customer.test", "support@acme.example")
    assert (await client.message(customer)).verdict == protocol.CONTINUE
    await milter.threads.flush()
    with capture_logs() as logs:
        await client.envelope("agent@acme.example", "maria@customer.test")
        assert (await client.message(REPLY)).verdict == protocol.CONTINUE
        await milter.threads.flush()
    latency = next(entry for entry in logs if entry["event"] == "reply_latency")
    assert latency["source"] == "inbound"
    assert latency["customer_message_id"] == "<c1@customer.test>"
    assert latency["first_reply"] is True
    await client.close()


async def test_mail_during_shutdown_is_451_and_message_in_flight_finishes(
    tmp_path: Path, key_record: tuple[Path, str]
) -> None:
    gateway = await start_milter(tmp_path, key_record[0])
    busy = await client_for(gateway)
    await busy.envelope("agent@acme.example", "maria@customer.test")
    late = await client_for(gateway)
    drain = asyncio.create_task(gateway.drain_and_close())
    await asyncio.sleep(0.2)
    late.send(protocol.MAIL, b"<agent@acme.example>\0")
    answer = await late.receive()
    assert answer.command == protocol.REPLY_CODE
    assert answer.data.startswith(b"451 4.3.2")
    assert (await busy.message(REPLY)).verdict == protocol.CONTINUE
    await drain


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--listen", "tcp:1.2.3.4"], "--listen: 'tcp:1.2.3.4' is not inet:HOST:PORT or unix"),
        (["--listen", "unix:relative.sock"], "is not inet:HOST:PORT or unix:/ABSOLUTE/PATH"),
        (["--hold", "bounce"], "Invalid value for '--hold'"),
    ],
)
async def test_bad_flags_are_one_sentence_and_exit_2(
    tmp_path: Path, flags: list[str], expected: str
) -> None:
    (tmp_path / "policies").mkdir()
    status, _out, err = await run_cli("milter", *flags, cwd=tmp_path)
    assert status == 2
    assert expected in err
    assert "Traceback" not in err


async def test_metrics_count_milter_messages(tmp_path: Path, key_record: tuple[Path, str]) -> None:
    """With `metrics`, the milter's messages are counted under leg "milter"."""
    gateway = await start_milter(tmp_path, key_record[0], metrics="127.0.0.1:0")
    try:
        client = await client_for(gateway)
        await client.envelope("noreply@acme.example", "maria@customer.test")
        assert (await client.message(REPLY)).verdict == protocol.CONTINUE
        await client.envelope("agent@acme.example", "maria@customer.test")
        assert (await client.message(NO_GREETING)).verdict == protocol.DISCARD
        await client.close()
        text = await asyncio.to_thread(scrape, gateway.metrics_address)
    finally:
        await gateway.drain_and_close()
    assert 'gateway_messages_total{action="relay",leg="milter",outcome="accepted"} 1.0' in text
    assert 'gateway_messages_total{action="hold",leg="milter",outcome="accepted"} 1.0' in text
    assert 'gateway_sender_rewrites_total{field="MAIL FROM"} 1.0' in text
    assert "gateway_held_messages 1.0" in text


async def test_health_checks_the_milter_listener(
    tmp_path: Path, key_record: tuple[Path, str]
) -> None:
    """`gateway health --milter`: the listener negotiates (exit 0); gone: one FAIL line, 1."""
    gateway = await start_milter(tmp_path, key_record[0])
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'milter_listen = "{gateway.address}"\npolicies = "{tmp_path / "policies"}"\n'
        f'store = "sqlite:///{tmp_path / "gateway.db"}"\n'
    )
    try:
        status, out, _ = await run_cli("health", "--milter", "--config", str(config))
        assert status == 0, out
        assert f"ok   milter {gateway.address}: protocol 6, actions 0x71" in out
    finally:
        await gateway.drain_and_close()
    status, out, err = await run_cli("health", "--milter", "--config", str(config))
    assert status == 1
    assert f"FAIL milter {gateway.address}: no negotiation" in out
    assert "Traceback" not in out + err


@pytest.mark.parametrize("family", ["inet", "unix"])
async def test_two_milter_workers_share_one_socket(
    tmp_path: Path, key_record: tuple[Path, str], family: str
) -> None:
    """`gateway milter --workers 2`: each process takes connections on the one socket
    (shown one at a time, the other stopped); SIGTERM stops both (exit 0) and a unix
    socket file is removed at the end."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "10-acme.toml").write_text(ACME_POLICY.format(key=key_record[0]))
    path = Path(tempfile.mkdtemp(prefix="gw-milter-")) / "milter.sock"
    listen = "inet:127.0.0.1:0" if family == "inet" else f"unix:{path}"
    gateway = await GatewayProcess.start(
        "--listen", listen, "--store", f"sqlite:///{tmp_path / 'g.db'}", "--workers", "2",
        cwd=tmp_path, command="milter",
    )  # fmt: skip
    try:
        pids = (await gateway.wait_for_event("workers_started"))["pids"]

        async def one_connection() -> None:
            if family == "inet":
                _, host, port = gateway.milter.split(":")
                client = await MilterClient.connect(host, int(port))
            else:
                reader, writer = await asyncio.open_unix_connection(str(path))
                client = await MilterClient.negotiated(reader, writer)
            for _ in range(3):
                await client.envelope("noreply@acme.example", "maria@customer.test")
                assert (await client.message(REPLY)).verdict == protocol.CONTINUE
            await client.close()

        def messages_since(start: int) -> list[dict[str, Any]]:
            return [e for e in gateway.events[start:] if e["event"] == "message"]

        served: list[set[int]] = []
        for pid in pids:
            with only_worker(pids, pid):
                start = len(gateway.events)
                await asyncio.wait_for(asyncio.gather(*(one_connection() for _ in range(4))), 20)
                while len(messages_since(start)) < 12:
                    assert await gateway.next_event() is not None
                served.append({e["worker"] for e in messages_since(start)})
        assert sorted(served, key=min) == [{0}, {1}], served
        assert await gateway.stop() == 0
    finally:
        gateway.kill()
    assert not path.exists()


async def test_held_reply_notice_goes_to_the_agent_through_the_relay(
    tmp_path: Path, key_record: tuple[Path, str], sink: Sink
) -> None:
    """[hold] notify_sender in milter mode: after the DISCARD, the agent gets the note
    through `relay` (the re-injection path), as with the proxy."""
    gateway = await start_milter(
        tmp_path, key_record[0], extra="[hold]\nnotify_sender = true\n", relay=sink.url
    )
    try:
        client = await client_for(gateway)
        await client.envelope("ana@acme.example", "maria@customer.test")
        assert (await client.message(NO_GREETING)).verdict == protocol.DISCARD
        await client.close()
        (held,) = gateway.store.list()
        await asyncio.wait_for(sink.handler.arrived.wait(), 5)
    finally:
        await gateway.drain_and_close()
    (notice,) = sink.messages
    assert notice.mail_from in {"", "<>"}
    assert notice.rcpt_tos == ["ana@acme.example"]
    assert b"Auto-Submitted: auto-generated" in notice.content
    assert b"Subject: Held for review: Re: refund" in notice.content
    assert held.id.encode() in notice.content
