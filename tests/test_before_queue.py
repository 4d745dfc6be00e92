"""Before-queue semantics: the helpdesk hears 250 only when the relay accepted the message."""

from __future__ import annotations

import asyncio

import pytest

from gateway.app import Gateway
from gateway.smtp.content import has_bare_line_endings
from tests.smtp_client import session
from tests.support import Sink, free_port, port_of, send_message, start_gateway

MESSAGE = (
    b"From: Agent <agent@acme.test>\r\nTo: maria@customer.test\r\n"
    b"Subject: Re: refund\r\nMessage-ID: <r1@acme.test>\r\n\r\n"
    b"Hi Maria,\r\n\r\nyour refund was issued today.\r\n"
)


async def transaction(
    port: int, rcpts: list[str], data: bytes = MESSAGE, sender: str = "agent@acme.test"
) -> dict[str, str]:
    """Run one transaction and return each step's reply."""
    client = await session(port)
    replies = {"MAIL": await client.command(f"MAIL FROM:<{sender}>")}
    for rcpt in rcpts:
        replies[rcpt] = await client.command(f"RCPT TO:<{rcpt}>")
    if any(reply.startswith("250") for key, reply in replies.items() if key != "MAIL"):
        replies["DATA"] = await client.command("DATA")
        if replies["DATA"].startswith("354"):
            await client.send(data + b".\r\n")
            replies["END"] = await client.reply()
    await client.close()
    return replies


async def test_relays_exact_message_and_passes_relay_answer(sink: Sink, gateway: Gateway) -> None:
    """A clean message reaches the relay byte for byte and the relay's queue id comes back."""
    replies = await transaction(port_of(gateway), ["maria@customer.test"])
    assert replies["END"].startswith("250 2.0.0")
    assert "SINK1" in replies["END"]
    assert len(sink.messages) == 1
    assert sink.messages[0].content == MESSAGE
    assert sink.messages[0].mail_from == "agent@acme.test"
    assert sink.messages[0].rcpt_tos == ["maria@customer.test"]


async def test_250_only_after_relay_accepts(sink: Sink, gateway: Gateway) -> None:
    """While the relay is still deciding, the helpdesk has no answer yet."""
    sink.behaviour.data_delay = 0.6
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    await client.command("DATA")
    await client.send(MESSAGE + b".\r\n")
    with pytest.raises(TimeoutError):
        await client.reply(within=0.3)
    assert sink.messages == []
    final = await client.reply(within=5)
    assert final.startswith("250")
    assert len(sink.messages) == 1
    await client.close()


@pytest.mark.parametrize(
    ("relay_reply", "expected"),
    [
        ("451 4.3.0 Sink: try later", "451 4.4.0"),
        ("452 4.3.1 Sink: out of space", "451 4.4.0"),
        ("421 4.3.2 Sink: closing", "451 4.4.0"),
        ("550 5.7.1 Sink: content rejected", "550 5.7.1 Sink: content rejected"),
        ("554 Sink: no enhanced code", "554 5.0.0 Sink: no enhanced code"),
    ],
)
async def test_relay_refusal_at_data(
    sink: Sink, gateway: Gateway, relay_reply: str, expected: str
) -> None:
    """Relay 4xx/421 after DATA becomes 451; a relay 5xx passes through unchanged."""
    sink.behaviour.data_reply = relay_reply
    replies = await transaction(port_of(gateway), ["maria@customer.test"])
    assert replies["END"].startswith(expected), replies["END"]
    assert sink.messages == []


async def test_relay_5xx_for_sender_passes_through(sink: Sink, gateway: Gateway) -> None:
    """A sender the relay refuses is refused to the helpdesk with the relay's reason."""
    sink.behaviour.mail_reply = "553 5.7.1 Sink: sender not owned"
    replies = await transaction(port_of(gateway), [])
    assert replies["MAIL"] == "553 5.7.1 Sink: sender not owned"


async def test_refused_recipient_reaches_helpdesk(sink: Sink, gateway: Gateway) -> None:
    """RCPT in lockstep: the relay's 550 for one recipient is the helpdesk's 550; others get it."""
    sink.behaviour.rcpt_replies = {"gone@customer.test": "550 5.1.1 Sink: no such user"}
    replies = await transaction(
        port_of(gateway), ["maria@customer.test", "gone@customer.test", "ana@customer.test"]
    )
    assert replies["gone@customer.test"] == "550 5.1.1 Sink: no such user"
    assert replies["maria@customer.test"].startswith("250")
    assert replies["END"].startswith("250")
    assert sink.messages[0].rcpt_tos == ["maria@customer.test", "ana@customer.test"]


async def test_temporary_recipient_refusal_is_451(sink: Sink, gateway: Gateway) -> None:
    """A relay 450 for a recipient becomes 451 4.4.x so the helpdesk retries that recipient."""
    sink.behaviour.rcpt_replies = {"busy@customer.test": "450 4.2.1 Sink: mailbox busy"}
    replies = await transaction(port_of(gateway), ["busy@customer.test"])
    assert replies["busy@customer.test"].startswith("451 4.4.0")
    assert "450 4.2.1 Sink: mailbox busy" in replies["busy@customer.test"]
    assert "DATA" not in replies


async def test_relay_drops_connection_after_data(sink: Sink, gateway: Gateway) -> None:
    """A relay that hangs up before answering the data means 451, never 250."""
    sink.behaviour.drop_on_data = True
    replies = await transaction(port_of(gateway), ["maria@customer.test"])
    assert replies["END"].startswith("451 4.4.2")


async def test_relay_stall_past_timeout(sink: Sink, gateways: list[Gateway]) -> None:
    """A relay that does not answer within the relay timeout means 451 4.4.1."""
    gateway = await start_gateway(relay=f"{sink.url}?timeout=0.5")
    gateways.append(gateway)
    sink.behaviour.data_delay = 3
    replies = await transaction(port_of(gateway), ["maria@customer.test"])
    assert replies["END"].startswith("451 4.4.1")


async def test_relay_refuses_connection(gateways: list[Gateway]) -> None:
    """No relay listening: MAIL FROM gets 451 4.4.1, with the reason, and nothing is accepted."""
    gateway = await start_gateway(relay=f"smtp://127.0.0.1:{free_port()}?timeout=2")
    gateways.append(gateway)
    replies = await transaction(port_of(gateway), ["maria@customer.test"])
    assert replies["MAIL"].startswith("451 4.4.1 Relay not reachable")


async def test_relay_recovers_after_outage(sink: Sink, gateway: Gateway) -> None:
    """After a relay refusal the next transaction works normally (no poisoned pool)."""
    sink.behaviour.data_reply = "421 4.3.2 Sink: closing"
    first = await transaction(port_of(gateway), ["maria@customer.test"])
    assert first["END"].startswith("451")
    sink.behaviour.data_reply = None
    second = await transaction(port_of(gateway), ["maria@customer.test"])
    assert second["END"].startswith("250")
    assert len(sink.messages) == 1


async def test_relay_connection_lost_between_rcpt_and_data(sink: Sink, gateway: Gateway) -> None:
    """The relay hangs up mid-transaction: the gateway replays on a new connection, once."""
    sink.behaviour.drop_after_rcpt = 1
    client = await session(port_of(gateway))
    assert (await client.command("MAIL FROM:<agent@acme.test>")).startswith("250")
    assert (await client.command("RCPT TO:<maria@customer.test>")).startswith("250")
    await asyncio.sleep(0.3)  # the sink closes its side meanwhile
    assert (await client.command("DATA")).startswith("354")
    await client.send(MESSAGE + b".\r\n")
    assert (await client.reply()).startswith("250")
    await client.close()
    assert len(sink.messages) == 1
    assert sink.messages[0].rcpt_tos == ["maria@customer.test"]


async def test_relay_connections_are_reused(sink: Sink, gateway: Gateway) -> None:
    """Consecutive messages, even from separate helpdesk connections, share one relay connection."""
    for _ in range(3):
        replies = await transaction(port_of(gateway), ["maria@customer.test"])
        assert replies["END"].startswith("250")
    assert len(sink.messages) == 3
    assert sink.handler.connections == 1
    assert gateway.listeners["outbound"].relay.connections_opened == 1  # type: ignore[attr-defined]


async def test_a_burst_of_concurrent_messages_keeps_its_relay_connections(
    sink: Sink, gateway: Gateway
) -> None:
    """48 helpdesk sessions at once need 48 relay connections; all of them go back to the
    pool, so the next burst of 48 opens none (a pool capped below the burst would close
    the surplus and reconnect for nearly every message under steady load)."""
    sink.behaviour.data_delay = 0.3  # keeps all 48 transactions in flight together

    async def burst() -> None:
        replies = await asyncio.gather(
            *(transaction(port_of(gateway), ["maria@customer.test"]) for _ in range(48))
        )
        assert all(reply["END"].startswith("250") for reply in replies)

    await burst()
    assert sink.handler.connections == 48
    await burst()
    assert sink.handler.connections == 48
    assert len(sink.messages) == 96


async def test_changed_sender_is_replayed_on_the_relay(sink: Sink, gateway: Gateway) -> None:
    """When the final sender differs from MAIL FROM (a rewrite), the relay sees the new one."""
    relay = gateway.listeners["outbound"].relay
    txn = await relay.begin()
    assert (await txn.mail("noreply@acme.test", [])).ok
    assert (await txn.rcpt("maria@customer.test", [])).ok
    reply = await txn.send("support@acme.test", MESSAGE)
    assert reply.ok, reply
    assert sink.messages[0].mail_from == "support@acme.test"
    assert sink.messages[0].rcpt_tos == ["maria@customer.test"]


async def test_aiosmtplib_client_end_to_end(sink: Sink, gateway: Gateway) -> None:
    """A stock client library sends through the gateway with no surprises."""
    response = await send_message(port_of(gateway), MESSAGE)
    assert "SINK1" in response
    assert not has_bare_line_endings(sink.messages[0].content)
