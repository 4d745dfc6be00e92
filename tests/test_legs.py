"""Listeners and relay options beyond the default outbound leg."""

from __future__ import annotations

import aiosmtplib
import pytest

from gateway.app import Gateway
from tests.support import Sink, port_of, send_message, start_gateway, start_sink

MESSAGE = b"From: maria@customer.test\r\nSubject: where is my order?\r\n\r\nHello?\r\n"


async def test_inbound_leg_passes_customer_mail_to_the_helpdesk(
    sink: Sink, gateways: list[Gateway]
) -> None:
    """Mail to inbound_listen goes to inbound_relay unchanged; outbound mail goes to relay."""
    helpdesk_intake = await start_sink()
    gateway = await start_gateway(
        relay=sink.url, inbound_listen="127.0.0.1:0", inbound_relay=helpdesk_intake.url
    )
    gateways.append(gateway)
    await send_message(
        port_of(gateway, "inbound"),
        MESSAGE,
        sender="maria@customer.test",
        recipients=("support@acme.test",),
    )
    assert [m.content for m in helpdesk_intake.messages] == [MESSAGE]
    assert sink.messages == []
    helpdesk_intake.server.close()


async def test_ipv6_listen_and_relay(gateways: list[Gateway]) -> None:
    """[::1]:PORT works for the listener and the relay URL alike."""
    sink = await start_sink(host="::1")
    gateway = await start_gateway(listen="[::1]:0", relay=sink.url)
    gateways.append(gateway)
    await send_message(port_of(gateway), MESSAGE, host="::1")
    assert len(sink.messages) == 1
    sink.server.close()


async def test_relay_auth_from_url(gateways: list[Gateway]) -> None:
    """user:password@ in the relay URL logs in to a relay that requires AUTH."""
    sink = await start_sink(login=("gw", "p@ss word"))
    gateway = await start_gateway(relay=f"smtp://gw:p%40ss%20word@127.0.0.1:{sink.port}")
    gateways.append(gateway)
    await send_message(port_of(gateway), MESSAGE)
    assert len(sink.messages) == 1
    sink.server.close()


async def test_wrong_relay_password_is_451(gateways: list[Gateway]) -> None:
    """A relay that refuses (or stalls on) the gateway's login means 451, never a loss."""
    sink = await start_sink(login=("gw", "right"))
    gateway = await start_gateway(relay=f"smtp://gw:wrong@127.0.0.1:{sink.port}?timeout=2")
    gateways.append(gateway)
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port_of(gateway), start_tls=False)
    await client.connect()
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail("agent@acme.test")
    assert refused.value.code == 451
    assert "4.4.1" in refused.value.message
    client.close()
    assert sink.messages == []
    sink.server.close()
