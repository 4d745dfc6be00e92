"""Bad input gets a defined answer: size, recipients, control characters, idle clients."""

from __future__ import annotations

import asyncio

import pytest

from gateway.app import Gateway
from gateway.smtp.content import has_bare_line_endings
from tests.smtp_client import RawClient, session
from tests.support import Sink, port_of, start_gateway

HEADERS = b"From: agent@acme.test\r\nSubject: hi\r\n\r\n"


@pytest.fixture
async def small_gateway(sink: Sink, gateways: list[Gateway]) -> Gateway:
    gateway = await start_gateway(
        relay=sink.url, max_message_size=2000, max_recipients=2, idle_timeout=0.5
    )
    gateways.append(gateway)
    return gateway


async def test_size_is_advertised_and_enforced_at_mail(small_gateway: Gateway) -> None:
    """EHLO advertises SIZE; a declared SIZE above it gets 552 5.3.4 at MAIL FROM."""
    client = await RawClient.connect(port_of(small_gateway))
    await client.reply()
    assert "SIZE 2000" in await client.command("EHLO helpdesk.test")
    reply = await client.command("MAIL FROM:<agent@acme.test> SIZE=5000")
    assert reply.startswith("552 5.3.4")
    await client.close()


async def test_oversize_data_is_refused_and_not_relayed(small_gateway: Gateway, sink: Sink) -> None:
    """A message bigger than max_message_size gets 552 5.3.4 after DATA, and nothing leaves."""
    client = await session(port_of(small_gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    await client.command("DATA")
    await client.send(HEADERS + b"x" * 70 + b"\r\n" + (b"y" * 70 + b"\r\n") * 60 + b".\r\n")
    assert (await client.reply()).startswith("552 5.3.4")
    # the session stays usable and the relay transaction was abandoned, not delivered
    assert (await client.command("NOOP")).startswith("250")
    await client.close()
    await asyncio.sleep(0.1)
    assert sink.messages == []


async def test_too_many_recipients(small_gateway: Gateway, sink: Sink) -> None:
    """Beyond max_recipients: 452 4.5.3, and the accepted ones still get the message."""
    client = await session(port_of(small_gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    assert (await client.command("RCPT TO:<a@customer.test>")).startswith("250")
    assert (await client.command("RCPT TO:<b@customer.test>")).startswith("250")
    assert (await client.command("RCPT TO:<c@customer.test>")).startswith("452 4.5.3")
    await client.command("DATA")
    await client.send(HEADERS + b"Hello,\r\n.\r\n")
    assert (await client.reply()).startswith("250")
    await client.close()
    assert sink.messages[0].rcpt_tos == ["a@customer.test", "b@customer.test"]


@pytest.mark.parametrize(
    "command",
    [
        b"MAIL FROM:<agent\r@acme.test>",
        b"MAIL FROM:<agent\x00@acme.test>",
        b"MAIL FROM:<agent@acme.test\r>",
    ],
)
async def test_control_characters_in_sender(gateway: Gateway, command: bytes) -> None:
    """CR or NUL inside MAIL FROM is answered 501 5.1.7."""
    client = await session(port_of(gateway))
    assert (await client.command(command)).startswith("501 5.1.7")
    await client.close()


@pytest.mark.parametrize(
    "command", [b"RCPT TO:<maria\r@customer.test>", b"RCPT TO:<maria\x00@customer.test>"]
)
async def test_control_characters_in_recipient(gateway: Gateway, command: bytes) -> None:
    """CR or NUL inside RCPT TO is answered 501 5.1.7."""
    client = await session(port_of(gateway))
    assert (await client.command("MAIL FROM:<agent@acme.test>")).startswith("250")
    assert (await client.command(command)).startswith("501 5.1.7")
    await client.close()


async def test_bare_lf_inside_address_never_yields_a_sender(gateway: Gateway, sink: Sink) -> None:
    """A bare LF in a command gets 501 and a hang-up: no half-address becomes a sender."""
    client = await session(port_of(gateway))
    await client.send(b"MAIL FROM:<agent\nevil@acme.test>\r\n")
    assert (await client.reply()).startswith("501 5.5.2")
    assert await client.closed()


async def test_null_sender_is_relayed(gateway: Gateway, sink: Sink) -> None:
    """MAIL FROM:<> (auto-replies, RFC 3834) is relayed with a null sender."""
    client = await session(port_of(gateway))
    assert (await client.command("MAIL FROM:<>")).startswith("250")
    assert (await client.command("RCPT TO:<maria@customer.test>")).startswith("250")
    await client.command("DATA")
    await client.send(HEADERS + b"Auto-reply\r\n.\r\n")
    assert (await client.reply()).startswith("250")
    await client.close()
    assert sink.messages[0].mail_from in {"", "<>"}


async def test_idle_client_is_disconnected(small_gateway: Gateway) -> None:
    """A client that says nothing for idle_timeout gets 421 4.4.2 and is disconnected."""
    client = await session(port_of(small_gateway))
    reply = await client.reply(within=3)
    assert reply.startswith("421 4.4.2")
    assert await client.closed()


async def test_stalled_data_is_cut_off_and_not_relayed(small_gateway: Gateway, sink: Sink) -> None:
    """A client that stops mid-DATA is cut off; the half message never reaches the relay."""
    client = await session(port_of(small_gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    await client.command("DATA")
    await client.send(HEADERS + b"half a message")
    assert (await client.reply(within=3)).startswith("421")
    await asyncio.sleep(0.1)
    assert sink.messages == []


async def test_long_line_gets_a_clear_refusal(gateway: Gateway, sink: Sink) -> None:
    """A line over 1000 bytes is refused with 554 5.6.0 and advice, not mangled or relayed."""
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    await client.command("DATA")
    await client.send(HEADERS + b"z" * 5000 + b"\r\n.\r\n")
    reply = await client.reply()
    assert reply.startswith("554 5.6.0")
    await client.close()
    assert sink.messages == []


async def test_unknown_command_gets_enhanced_code(gateway: Gateway) -> None:
    """aiosmtpd's terse replies are rewritten with enhanced status codes."""
    client = await session(port_of(gateway))
    assert (await client.command("DATA")).startswith("503 5.5.1")
    assert (await client.command("RCPT TO:<a@b.test>")).startswith("503 5.5.1")
    await client.close()


async def test_eight_bit_and_utf8_content_survive(gateway: Gateway, sink: Sink) -> None:
    """8-bit bodies and SMTPUTF8 addresses pass through byte for byte."""
    body = "Hola Lucía,\r\n¿todo bien?\r\n".encode()
    client = await session(port_of(gateway))
    assert (await client.command("MAIL FROM:<agente@acme.test> BODY=8BITMIME SMTPUTF8")).startswith(
        "250"
    )
    assert (await client.command("RCPT TO:<lucía@cliente.test>".encode())).startswith("250")
    await client.command("DATA")
    await client.send(HEADERS + body + b".\r\n")
    assert (await client.reply()).startswith("250")
    await client.close()
    assert sink.messages[0].content == HEADERS + body
    assert sink.messages[0].rcpt_tos == ["lucía@cliente.test"]
    assert not has_bare_line_endings(sink.messages[0].content)


async def test_big_message_read_fairly_arrives_intact(gateway: Gateway, sink: Sink) -> None:
    """A 3 MB message declared with SIZE (read with the yielding reader): byte-exact at the
    relay, dot-stuffed lines included."""
    lines = [b"line %d of a big attachment" % n for n in range(40000)]
    lines[100] = b".a line that starts with a dot"
    body = b"From: a@acme.test\r\nSubject: big\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
    assert len(body) > 1_000_000
    client = await session(port_of(gateway))
    reply = await client.command(f"MAIL FROM:<a@acme.test> SIZE={len(body)}")
    assert reply.startswith("250")
    assert (await client.command("RCPT TO:<b@customer.test>")).startswith("250")
    assert (await client.command("DATA")).startswith("354")
    stuffed = body.replace(b"\r\n.", b"\r\n..")
    await client.send(stuffed + b".\r\n")
    assert (await client.reply()).startswith("250")
    await client.close()
    assert sink.messages[0].content == body


async def test_memory_budget_defers_big_transactions_beyond_it(
    sink: Sink, gateways: list[Gateway]
) -> None:
    """Declared sizes beyond max_bytes_in_flight get 452 4.3.1 at MAIL; the budget comes back
    after DATA, after RSET and when a client goes away, so later transactions pass."""
    gateway = await start_gateway(relay=sink.url, max_bytes_in_flight=3_000_000)
    gateways.append(gateway)
    port = port_of(gateway)
    first, second = await session(port), await session(port)
    assert (await first.command("MAIL FROM:<a@acme.test> SIZE=2000000")).startswith("250")
    deferred = await second.command("MAIL FROM:<a@acme.test> SIZE=2000000")
    assert deferred.startswith("452 4.3.1"), deferred
    assert (await second.command("MAIL FROM:<a@acme.test> SIZE=900000")).startswith("250")
    assert (await second.command("RSET")).startswith("250")  # gives its 900 kB back
    assert (await first.command("RCPT TO:<b@customer.test>")).startswith("250")
    assert (await first.command("DATA")).startswith("354")
    assert (await first.command(b"Subject: x\r\n\r\nsmall after all\r\n.")).startswith("250")
    assert (await second.command("MAIL FROM:<a@acme.test> SIZE=2000000")).startswith("250")
    await second.close()  # goes away holding 2 MB: the budget gets it back
    await asyncio.sleep(0.1)
    third = await session(port)
    assert (await third.command("MAIL FROM:<a@acme.test> SIZE=2900000")).startswith("250")
    await third.close()
    await first.close()
    assert gateway.budget.available <= gateway.budget.total
