"""Not an open relay: only allowed networks, or AUTH after STARTTLS, may send."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiosmtplib
import pytest
import trustme

from gateway.app import Gateway
from gateway.smtp.auth import hash_password
from tests.smtp_client import RawClient, session
from tests.support import Sink, port_of, start_gateway

MESSAGE = b"From: agent@acme.test\r\nSubject: hi\r\n\r\nHello,\r\nbody\r\n"


async def test_client_outside_allowed_clients_is_refused(
    sink: Sink, gateways: list[Gateway]
) -> None:
    """A client from 127.0.0.2 gets 554 5.7.1 when only 127.0.0.1/32 is allowed."""
    gateway = await start_gateway(relay=sink.url, allowed_clients=["127.0.0.1/32"])
    gateways.append(gateway)
    client = await RawClient.connect(port_of(gateway), source="127.0.0.2")
    assert (await client.reply()).startswith("554 5.7.1")
    assert await client.closed()
    allowed = await session(port_of(gateway), source="127.0.0.1")
    assert (await allowed.command("MAIL FROM:<agent@acme.test>")).startswith("250")
    await allowed.close()
    assert sink.messages == []


async def test_default_allows_only_loopback(sink: Sink, gateways: list[Gateway]) -> None:
    """With no allowed_clients configured, loopback may send (127.0.0.0/8 and ::1)."""
    gateway = await start_gateway(relay=sink.url)
    gateways.append(gateway)
    assert gateway.settings.allows("127.0.0.2")
    assert gateway.settings.allows("::1")
    assert not gateway.settings.allows("192.0.2.10")
    client = await session(port_of(gateway), source="127.0.0.2")
    assert (await client.command("MAIL FROM:<agent@acme.test>")).startswith("250")
    await client.close()


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    path.write_text(f"# helpdesk login\nhelpdesk:{hash_password('s3cret-pass')}\n")
    return path


@pytest.fixture
async def auth_gateway(
    sink: Sink,
    gateways: list[Gateway],
    users_file: Path,
    server_cert_files: tuple[Path, Path, Path],
) -> Gateway:
    cert, key, _ = server_cert_files
    gateway = await start_gateway(
        relay=sink.url,
        allowed_clients=["127.0.0.1/32"],
        tls={"cert": str(cert), "key": str(key)},
        auth={"users_file": str(users_file)},
    )
    gateways.append(gateway)
    return gateway


async def test_auth_not_offered_before_starttls(auth_gateway: Gateway) -> None:
    """EHLO in plaintext offers STARTTLS but not AUTH; AUTH in plaintext is refused."""
    client = await RawClient.connect(port_of(auth_gateway), source="127.0.0.2")
    await client.reply()
    ehlo = await client.command("EHLO helpdesk.test")
    assert "STARTTLS" in ehlo
    assert "AUTH" not in ehlo
    reply = await client.command("AUTH PLAIN AGhlbHBkZXNrAHMzY3JldC1wYXNz")
    assert reply.startswith("538 5.7.11")
    await client.close()


async def test_unauthenticated_outside_client_cannot_send(auth_gateway: Gateway) -> None:
    """Outside allowed_clients and not authenticated: MAIL FROM gets 554 5.7.1."""
    client = await session(port_of(auth_gateway), source="127.0.0.2")
    assert (await client.command("MAIL FROM:<agent@acme.test>")).startswith("554 5.7.1")
    await client.close()


def _tls_client(gateway: Gateway, ca: trustme.CA, source: str) -> aiosmtplib.SMTP:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=port_of(gateway),
        start_tls=True,
        tls_context=context,
        source_address=(source, 0),
    )


async def test_bad_password_is_refused(auth_gateway: Gateway, ca: trustme.CA) -> None:
    """Wrong password after STARTTLS: 535, and still no relaying."""
    client = _tls_client(auth_gateway, ca, "127.0.0.2")
    await client.connect()
    await client.ehlo()
    assert "auth" in client.esmtp_extensions
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await client.login("helpdesk", "wrong")
    assert refused.value.code == 535
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as sender_refused:
        await client.mail("agent@acme.test")
    assert sender_refused.value.code == 554
    client.close()


async def test_authenticated_outside_client_may_send(
    auth_gateway: Gateway, sink: Sink, ca: trustme.CA
) -> None:
    """AUTH PLAIN after STARTTLS with the right password relays from outside the networks."""
    client = _tls_client(auth_gateway, ca, "127.0.0.2")
    await client.connect()
    await client.ehlo()
    await client.login("helpdesk", "s3cret-pass")
    errors, response = await client.sendmail("agent@acme.test", ["maria@customer.test"], MESSAGE)
    assert errors == {}
    assert "SINK1" in response
    await client.quit()
    assert len(sink.messages) == 1


@pytest.mark.parametrize(
    ("address", "relayed_as"),
    [
        # percent hack: the gateway never routes on it; the relay sees one literal recipient
        ("user%customer.test@acme.test", "user%customer.test@acme.test"),
        # source route: ignored as RFC 5321 (appendix C) asks; only the mailbox is forwarded
        ("@relay.test:user@customer.test", "user@customer.test"),
    ],
)
async def test_routing_tricks_are_not_interpreted(
    sink: Sink, gateway: Gateway, address: str, relayed_as: str
) -> None:
    """Odd routing syntax reaches the relay as exactly one plain recipient."""
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    assert (await client.command(f"RCPT TO:<{address}>")).startswith("250")
    await client.command("DATA")
    await client.send(MESSAGE + b".\r\n")
    assert (await client.reply()).startswith("250")
    await client.close()
    assert [m.rcpt_tos for m in sink.messages] == [[relayed_as]]


async def test_commands_pipelined_with_starttls_are_not_run_after_tls(
    auth_gateway: Gateway, sink: Sink, ca: trustme.CA
) -> None:
    """STARTTLS injection (CVE-2024-34083 class): plaintext commands sent in the same packet
    as STARTTLS are discarded; after the handshake only what came encrypted counts."""
    client = await RawClient.connect(port_of(auth_gateway))
    await client.reply()
    await client.command("EHLO helpdesk.test")
    injected = (
        b"STARTTLS\r\nMAIL FROM:<ceo@acme.test>\r\nRCPT TO:<victim@customer.test>\r\n"
        b"DATA\r\nSubject: injected\r\n\r\nwire money\r\n.\r\n"
    )
    await client.send(injected)
    assert (await client.reply()).startswith("220")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    await client.writer.start_tls(context, server_hostname="127.0.0.1")
    ehlo = await client.command("EHLO helpdesk.test")
    assert ehlo.startswith("250-"), ehlo  # the answer to our EHLO, not to an injected command
    assert (await client.command("MAIL FROM:<agent@acme.test>")).startswith("250")
    assert (await client.command("QUIT")).startswith("221")
    await asyncio.sleep(0.2)
    assert sink.messages == []
