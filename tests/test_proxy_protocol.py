"""Behind HAProxy: the PROXY protocol gives allowed_clients the real client address.

A real HAProxy (Debian's package, installed by `make test`) in front of an
in-process gateway, `send-proxy-v2`; clients connect from different loopback
addresses (127.0.0.2 allowed, 127.0.0.3 not), HAProxy itself from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest
import structlog
from structlog.testing import capture_logs

from gateway.app import Gateway
from tests.support import Sink, free_port, port_of, require_tool, start_gateway

MESSAGE = (
    b"From: Ann <ann@acme.test>\r\nTo: maria@customer.test\r\nSubject: hi\r\n\r\n"
    b"Hi Maria,\r\nyes.\r\n"
)


@pytest.fixture
async def proxied_gateway(sink: Sink, gateways: list[Gateway]) -> Gateway:
    gateway = await start_gateway(
        relay=sink.url,
        proxy_protocol=True,
        proxy_trusted=["127.0.0.1/32"],
        allowed_clients=["127.0.0.2/32"],
    )
    gateways.append(gateway)
    return gateway


@pytest.fixture
def haproxy(tmp_path: Path, proxied_gateway: Gateway) -> Iterator[int]:
    """HAProxy on a free port, forwarding to the gateway with a PROXY v2 header."""
    front = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        "global\n    maxconn 100\n"
        "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n"
        "    timeout server 30s\n"
        f"frontend smtp\n    bind 127.0.0.1:{front}\n    default_backend gateways\n"
        "backend gateways\n"
        f"    server gw1 127.0.0.1:{port_of(proxied_gateway)} send-proxy-v2\n"
    )
    process = subprocess.Popen(
        [require_tool("haproxy"), "-db", "-f", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield front
    process.terminate()
    process.wait(10)


async def first_line(reader: asyncio.StreamReader) -> bytes:
    """The first line the gateway says; b"" when it hangs up without a word (a close
    with our unread bytes in its buffer arrives as a reset)."""
    try:
        return await asyncio.wait_for(reader.readline(), 15)
    except ConnectionResetError:
        return b""


async def send_from(source: str, port: int) -> str:
    for _ in range(50):  # HAProxy may still be starting
        try:
            _, reply = await aiosmtplib.send(
                MESSAGE,
                sender="ann@acme.test",
                recipients=["maria@customer.test"],
                hostname="127.0.0.1",
                port=port,
                source_address=(source, 0),
                start_tls=False,
            )
        except aiosmtplib.SMTPConnectResponseError:
            raise  # the gateway answered (through HAProxy)
        except aiosmtplib.SMTPConnectError:
            await asyncio.sleep(0.1)
        else:
            return reply
    raise AssertionError("HAProxy did not start")


async def test_allowed_clients_judge_the_address_haproxy_reports(haproxy: int, sink: Sink) -> None:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        reply = await send_from("127.0.0.2", haproxy)
    assert reply.startswith("2.0.0")
    (logged,) = [e for e in logs if e["event"] == "message"]
    assert logged["client"] == "127.0.0.2"  # not HAProxy's 127.0.0.1
    assert len(sink.messages) == 1

    with pytest.raises(aiosmtplib.SMTPConnectResponseError) as refused:
        await send_from("127.0.0.3", haproxy)
    assert refused.value.code == 554
    assert len(sink.messages) == 1


async def test_only_trusted_balancers_may_speak_proxy(proxied_gateway: Gateway) -> None:
    """Straight to the gateway from 127.0.0.2 (allowed as a client, but not a balancer):
    disconnected before a greeting, whatever header it sends."""
    with capture_logs() as logs:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port_of(proxied_gateway), local_addr=("127.0.0.2", 0)
        )
        writer.write(b"PROXY TCP4 127.0.0.2 127.0.0.1 5000 25\r\nEHLO x\r\n")
        assert await first_line(reader) == b""
        writer.close()
    assert any(e["event"] == "proxy_refused" and e["peer"] == "127.0.0.2" for e in logs)


async def test_a_bare_tcp_check_is_dropped_quietly(proxied_gateway: Gateway) -> None:
    """A health check that connects and hangs up: no error, the gateway serves on."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        for _ in range(3):
            _, writer = await asyncio.open_connection("127.0.0.1", port_of(proxied_gateway))
            writer.close()
            await writer.wait_closed()
        await asyncio.sleep(0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(proxied_gateway))
        writer.write(b"PROXY TCP4 127.0.0.2 127.0.0.1 5000 25\r\n")
        assert (await first_line(reader)).startswith(b"220 ")
        writer.close()
        gc.collect()  # a task that died with an exception reports it when collected
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert errors == []


@pytest.mark.parametrize(
    ("header", "greeted"),
    [
        (b"PROXY TCP4 127.0.0.2 127.0.0.1 5000 25\r\n", True),  # v1 from a trusted peer
        (b"PROXY TCP4 127.0.0.9 127.0.0.1 5000 25\r\n", False),  # a client not allowed: 554
        (b"EHLO no-header\r\n", None),  # no header at all: dropped
        (b"PROXY TCP4 not-an-address\r\n", None),  # broken header: dropped
        (b"PROXY TCP4 127.0.0.2 127.0.0.1 5000 25\r\nEHLO x\r\n", None),  # pregreet
        (  # v2, binary, from 10.0.0.2 (a 0x0a byte: not a bare LF in a command)
            b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x0a\x00\x00\x02\x7f\x00\x00\x01\x13\x88\x00\x19",
            False,
        ),
    ],
)
async def test_headers_from_a_trusted_balancer(
    proxied_gateway: Gateway, header: bytes, greeted: bool | None
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(proxied_gateway))
    writer.write(header)
    first = await first_line(reader)
    writer.close()
    if greeted is None:
        assert first == b""
    elif greeted:
        assert first.startswith(b"220 ")
    else:
        assert first.startswith(b"554 5.7.1")


async def test_proxy_protocol_off_treats_a_header_as_a_bad_command(
    sink: Sink, gateways: list[Gateway]
) -> None:
    gateway = await start_gateway(relay=sink.url)
    gateways.append(gateway)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gateway))
    assert (await reader.readline()).startswith(b"220 ")
    writer.write(b"PROXY TCP4 10.0.0.1 127.0.0.1 5000 25\r\n")
    assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"500 ")
    writer.close()
