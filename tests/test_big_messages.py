"""Twenty 25 MB messages at once: memory stays bounded and other clients are served.

The gateway runs as `gateway serve` (its own process, so its memory is measured
alone) relaying to Postfix's smtp-sink; the senders retry a 4xx as an MTA does
(452 while the memory budget is full); an EHLO probe in a third process
(tests/big_load.py) times new clients meanwhile. `bench/big_messages.py` prints
the same figures for the README.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.big_load import big_message, peak_rss, probe_latencies, send_until_accepted, start_probe
from tests.postfix import smtp_sink
from tests.process import GatewayProcess

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
BUDGET = 256 * MIB  # max_bytes_in_flight, the default
MESSAGES = 20


async def test_twenty_25_mb_messages_bounded_memory_and_ehlo_within_a_second(
    tmp_path: Path, processes: list[GatewayProcess]
) -> None:
    async with smtp_sink() as sink_port:
        gateway = await GatewayProcess.start(
            "--listen", "127.0.0.1:0", "--relay", f"smtp://127.0.0.1:{sink_port}", cwd=tmp_path
        )
        processes.append(gateway)
        port = gateway.ports["outbound"]
        body = big_message(25_000_000)
        probe = await start_probe(port)
        started = time.monotonic()
        try:
            deferrals = await asyncio.wait_for(
                asyncio.gather(*(send_until_accepted(port, body) for _ in range(MESSAGES))), 600
            )
        finally:
            latencies = await probe_latencies(probe)
        elapsed = time.monotonic() - started
        peak = peak_rss(gateway.process.pid)
    report = (
        f"{MESSAGES} x 25 MB in {elapsed:.1f} s, {sum(deferrals)} deferrals, peak RSS "
        f"{peak / MIB:.0f} MiB, EHLO p50 {latencies[len(latencies) // 2]:.3f} s "
        f"max {latencies[-1]:.3f} s over {len(latencies)} probes"
    )
    print(report)
    assert len(latencies) >= 5, report
    assert latencies[-1] < 1.0, report
    # Bounded by the budget, not by the load: at most two copies of what the budget lets
    # in, plus the interpreter (~100 MiB). All 20 messages at once would be 477 MiB of
    # content alone, and aiosmtpd's line list used to take ~3x that.
    assert peak < 2 * BUDGET + 128 * MIB, report
