"""Connection load: the limit holds, idle connections cannot lock the helpdesk out."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.app import Gateway
from tests.smtp_client import RawClient
from tests.support import Sink, port_of, start_gateway


async def idle_clients(port: int, count: int) -> list[RawClient]:
    """`count` connections that read the greeting and then say nothing."""

    async def one() -> RawClient:
        client = await RawClient.connect(port)
        assert (await client.reply(within=30)).startswith("220")
        return client

    clients: list[RawClient] = []
    for start in range(0, count, 100):  # in waves, as a flood of real clients arrives
        clients.extend(
            await asyncio.gather(*(one() for _ in range(start, min(count, start + 100))))
        )
    return clients


@pytest.mark.slow
async def test_thousand_idle_connections_then_new_clients_are_served(
    sink: Sink, gateways: list[Gateway]
) -> None:
    """1,000 idle connections (the limit): the next client gets 421 4.7.0 at once; under
    stress the idle ones are cut after stress_idle_timeout, and a new client's EHLO is
    answered within 1 s."""
    gateway = await start_gateway(
        relay=sink.url, max_connections=1000, stress_idle_timeout=2.0, idle_timeout=300
    )
    gateways.append(gateway)
    port = port_of(gateway)
    idle = await idle_clients(port, 1000)
    refused = await RawClient.connect(port)
    assert (await refused.reply(within=5)).startswith("421 4.7.0")
    assert await refused.closed()
    await asyncio.sleep(2.5)  # the stress timeout cuts the idle sessions
    cut = 0
    for client in idle:
        line = await asyncio.wait_for(client.reader.read(200), 5)
        cut += line.startswith(b"421 4.4.2")
        await client.close()
    assert cut == 1000
    fresh = await RawClient.connect(port)
    assert (await fresh.reply(within=5)).startswith("220")
    started = time.monotonic()
    assert (await fresh.command("EHLO helpdesk.test")).startswith("250")
    assert time.monotonic() - started < 1.0
    await fresh.close()


async def test_below_stress_the_normal_idle_timeout_applies(
    sink: Sink, gateways: list[Gateway]
) -> None:
    """Few connections: nobody is cut early, the idle timeout stays the configured one."""
    gateway = await start_gateway(
        relay=sink.url, max_connections=100, stress_idle_timeout=0.5, idle_timeout=300
    )
    gateways.append(gateway)
    idle = await idle_clients(port_of(gateway), 10)
    await asyncio.sleep(1.0)
    for client in idle:
        assert (await client.command("NOOP")).startswith("250")
        await client.close()
