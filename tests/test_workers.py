"""`gateway serve --workers N`: one port, N processes, signals reach all, a dead one is replaced.

The real CLI as a child process, real SMTP to an in-process sink; which worker
served a message is read from its `message` log line (`worker` field).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import aiosmtplib

from tests.process import GatewayProcess, only_worker, run_cli
from tests.support import Sink, send_message

MESSAGE = (
    b"From: Ann <ann@acme.test>\r\nTo: maria@customer.test\r\nSubject: hello\r\n\r\n"
    b"Hi Maria,\r\nyes.\r\n"
)


def two_workers(tmp_path: Path, sink: Sink) -> tuple[str, ...]:
    """`gateway serve` flags: two workers relaying to `sink`, a store in `tmp_path`."""
    return (
        "--listen",
        "127.0.0.1:0",
        "--relay",
        sink.url,
        "--store",
        f"sqlite:///{tmp_path / 'gateway.db'}",
        "--workers",
        "2",
    )


async def start_workers(tmp_path: Path, sink: Sink) -> GatewayProcess:
    gateway = await GatewayProcess.start(*two_workers(tmp_path, sink), cwd=tmp_path)
    await gateway.wait_for_event("workers_started")
    return gateway


async def events_until(gateway: GatewayProcess, done: Any, within: float = 10) -> None:
    """Read log lines until `done(events)` holds."""
    while not done(gateway.events):
        if await gateway.next_event(within) is None:
            raise RuntimeError(f"gateway exited: {gateway.stderr}")


def named(gateway: GatewayProcess, event: str) -> list[dict[str, Any]]:
    return [e for e in gateway.events if e["event"] == event]


async def test_two_workers_share_one_port_and_every_signal(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    gateway = await start_workers(tmp_path, sink)
    processes.append(gateway)
    started = named(gateway, "workers_started")[0]
    assert len(started["pids"]) == 2
    port = gateway.ports["outbound"]

    # Each worker alone (the other SIGSTOPped) must take the connections on the shared
    # port: 4 clients at once, a connection per message.
    async def client(messages: int) -> None:
        for _ in range(messages):
            assert (await send_message(port, MESSAGE)).startswith("2.0.0")

    served: list[Counter[int]] = []
    for pid in started["pids"]:
        with only_worker(started["pids"], pid):
            before = len(named(gateway, "message"))
            await asyncio.wait_for(asyncio.gather(*(client(3) for _ in range(4))), 20)
            await events_until(
                gateway, lambda events, before=before: len(named(gateway, "message")) == before + 12
            )
            served.append(Counter(event["worker"] for event in named(gateway, "message")[before:]))
    assert sorted(served, key=min) == [Counter({0: 12}), Counter({1: 12})], served
    assert len(sink.messages) == 24

    # Both running: 10 clients at once still all get through.
    await asyncio.gather(*(client(6) for _ in range(10)))
    assert len(sink.messages) == 84

    gateway.process.send_signal(signal.SIGHUP)
    await events_until(gateway, lambda events: len(named(gateway, "policy_reloaded")) == 2)
    assert {e["worker"] for e in named(gateway, "policy_reloaded")} == {0, 1}

    assert await gateway.stop() == 0
    assert {e["worker"] for e in named(gateway, "gateway_stopped")} == {0, 1}
    assert named(gateway, "workers_stopped")[0]["failed"] is False
    for pid in started["pids"]:
        assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text()


async def test_a_killed_worker_is_replaced_and_no_message_is_lost(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    gateway = await start_workers(tmp_path, sink)
    processes.append(gateway)
    victim = named(gateway, "workers_started")[0]["pids"][0]
    port = gateway.ports["outbound"]

    retried = 0

    async def send_all(first: int, count: int) -> None:
        """A client that retries when its connection is lost, as an MTA does."""
        nonlocal retried
        for number in range(first, first + count):
            message = MESSAGE.replace(b"Subject:", f"Message-ID: <{number}@t>\r\nSubject:".encode())
            while True:
                try:
                    reply = await send_message(port, message)
                    break
                except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError):
                    retried += 1
            assert reply.startswith("2.0.0")

    sending = asyncio.create_task(send_all(0, 30))
    await asyncio.sleep(0.2)
    os.kill(victim, signal.SIGKILL)
    await sending
    await events_until(gateway, lambda events: bool(named(gateway, "worker_exited")))
    exited = named(gateway, "worker_exited")[0]
    assert exited["pid"] == victim
    assert exited["exit_status"] == -signal.SIGKILL
    await events_until(gateway, lambda events: len(named(gateway, "gateway_started")) == 3)
    await send_all(30, 10)
    arrived = {m.message_id for m in sink.messages}
    assert arrived == {f"<{n}@t>" for n in range(40)}
    assert len(sink.messages) - 40 <= retried  # a duplicate only where a 250 was cut off
    assert await gateway.stop() == 0


async def test_a_worker_that_cannot_start_stops_the_gateway(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    """Worker 1's metrics port (base + 1) is taken: it dies at every start; the supervisor
    gives up after a few tries, stops worker 0 and exits 1 instead of looping forever."""
    with socket.socket() as taken, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
        probe.close()
        taken.bind(("127.0.0.1", base + 1))
        taken.listen()
        (tmp_path / "policies").mkdir()
        status, out, err = await run_cli(
            "serve", *two_workers(tmp_path, sink), "--metrics", f"127.0.0.1:{base}", cwd=tmp_path
        )
    assert status == 1
    assert "Traceback" not in out + err
    assert '"event": "worker_crash_loop"' in out
    assert '"event": "worker_failed"' in out
    assert "Address already in use" in out


async def test_workers_stop_when_the_supervisor_is_killed(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    """kill -9 of the supervisor alone (no systemd to clean up): the workers notice
    within a heartbeat, drain and exit instead of serving on unsupervised."""
    gateway = await start_workers(tmp_path, sink)
    processes.append(gateway)
    pids = named(gateway, "workers_started")[0]["pids"]
    os.kill(gateway.process.pid, signal.SIGKILL)
    await events_until(gateway, lambda events: len(named(gateway, "gateway_stopped")) == 2)
    assert {e["reason"] for e in named(gateway, "gateway_stopping")} == {"supervisor gone"}
    for _ in range(50):
        if not any(os.path.exists(f"/proc/{pid}") for pid in pids):
            break
        await asyncio.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
