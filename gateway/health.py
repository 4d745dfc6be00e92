"""`gateway health`: is this gateway able to take mail right now? One line per part.

Checks what an admin or a monitoring system needs after a deploy or a reload:
each listener answers EHLO (with `--milter`: the milter listener negotiates the
milter protocol, as Postfix's first packet would), the store takes writes, the
policies load.
"""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import aiosmtplib

from gateway.config import Settings, parse_milter_listen
from gateway.milter import protocol
from gateway.policy.loader import PolicyError, load_policies
from gateway.store import open_store
from gateway.store.base import StoreError

EHLO_TIMEOUT = 5.0


async def _listener(name: str, host: str, port: int) -> tuple[bool, str]:
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - mapping, not binding
    client = aiosmtplib.SMTP(
        hostname=target,
        port=port,
        start_tls=False,
        timeout=EHLO_TIMEOUT,
        local_hostname="gateway-health",
    )
    try:
        await client.connect()
        response = await client.ehlo()
        await client.quit()
    except (aiosmtplib.SMTPException, OSError) as exc:
        return False, f"listener {name} {host}:{port}: no EHLO answer ({exc})"
    first = response.message.splitlines()[0] if response.message else ""
    return True, f"listener {name} {host}:{port}: {response.code} {first}"


async def _milter(spec: str) -> tuple[bool, str]:
    """Open the milter socket and negotiate as Postfix does; then say goodbye."""
    address = parse_milter_listen(spec)
    offered = struct.pack("!III", protocol.VERSION, 0x1FF, 0x1FFFFF)  # all Postfix offers
    try:
        async with asyncio.timeout(EHLO_TIMEOUT):
            if isinstance(address, Path):
                reader, writer = await asyncio.open_unix_connection(str(address))
            else:
                reader, writer = await asyncio.open_connection(*address)
            writer.write(protocol.encode(protocol.OPTION_NEGOTIATION, offered))
            answer = await protocol.read_packet(reader)
            writer.write(protocol.encode(protocol.QUIT))
            writer.close()
    except (OSError, TimeoutError, protocol.ProtocolError) as exc:
        return False, f"milter {spec}: no negotiation ({exc or type(exc).__name__})"
    if answer is None or answer.command != protocol.OPTION_NEGOTIATION:
        return False, f"milter {spec}: did not answer the option negotiation"
    agreed = protocol.parse_negotiation(answer.data)
    return True, f"milter {spec}: protocol {agreed.version}, actions 0x{agreed.actions:x}"


def _store(settings: Settings) -> tuple[bool, str]:
    try:
        store = open_store(settings.store)
        try:
            return True, f"store: {store.probe()}"
        finally:
            store.close()
    except StoreError as exc:
        return False, f"store: {exc}"


def _policies(settings: Settings) -> tuple[bool, str]:
    try:
        loaded = load_policies(settings.policies)
    except PolicyError as exc:
        return (
            False,
            f"policies {settings.policies}: {len(exc.problems)} problem(s), first: "
            + str(exc.problems[0]),
        )
    names = ", ".join(named.name for named in loaded.policies) or "none"
    return True, f"policies {settings.policies}: ok ({names})"


async def check(settings: Settings, *, milter: bool = False) -> list[tuple[bool, str]]:
    """`milter`: the deployment runs `gateway milter`, so its listener is checked instead
    of the SMTP listeners."""
    if milter:
        results = [await _milter(settings.milter_listen)]
    else:
        results = [await _listener("outbound", *settings.listen)]
        if settings.inbound_listen is not None:
            results.append(await _listener("inbound", *settings.inbound_listen))
    results.append(await asyncio.to_thread(_store, settings))
    results.append(await asyncio.to_thread(_policies, settings))
    return results
