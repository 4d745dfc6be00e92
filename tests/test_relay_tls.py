"""Relay URLs with TLS: smtps:// (implicit) and smtp+starttls:// verify the relay's certificate."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiosmtplib
import pytest
import trustme

from gateway.app import Gateway
from tests.support import port_of, send_message, start_gateway, start_sink

MESSAGE = b"From: agent@acme.test\r\nSubject: tls\r\n\r\nHello,\r\nsecure.\r\n"


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


async def test_smtps_relay(
    ca: trustme.CA, server_cert_files: tuple[Path, Path, Path], gateways: list[Gateway]
) -> None:
    """smtps:// talks implicit TLS and trusts the given cafile."""
    sink = await start_sink(_server_context(ca), implicit_tls=True, scheme="smtps")
    gateway = await start_gateway(relay=f"{sink.url}?cafile={server_cert_files[2]}")
    gateways.append(gateway)
    assert "SINK1" in await send_message(port_of(gateway), MESSAGE)
    assert len(sink.messages) == 1
    sink.server.close()


async def test_starttls_relay(
    ca: trustme.CA, server_cert_files: tuple[Path, Path, Path], gateways: list[Gateway]
) -> None:
    """smtp+starttls:// upgrades before MAIL FROM (the sink refuses mail without TLS)."""
    sink = await start_sink(_server_context(ca), scheme="smtp+starttls")
    gateway = await start_gateway(relay=f"{sink.url}?cafile={server_cert_files[2]}")
    gateways.append(gateway)
    assert "SINK1" in await send_message(port_of(gateway), MESSAGE)
    sink.server.close()


async def test_untrusted_relay_certificate_is_451(gateways: list[Gateway]) -> None:
    """A relay whose certificate does not verify is never used: 451 4.4.1, nothing sent."""
    untrusted = trustme.CA()
    sink = await start_sink(_server_context(untrusted), implicit_tls=True, scheme="smtps")
    gateway = await start_gateway(relay=sink.url)
    gateways.append(gateway)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await send_message(port_of(gateway), MESSAGE)
    assert refused.value.code == 451
    assert "4.4.1" in refused.value.message
    assert sink.messages == []
    sink.server.close()
