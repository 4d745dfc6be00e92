"""Twenty 25 MB messages at once: memory stays bounded and other clients are served.

The gateway runs as `gateway serve` (its own process, so its memory is measured
alone) relaying to Postfix's smtp-sink; the senders retry a 4xx as an MTA does
(452 while the memory budget is full); an EHLO probe in a third process
(tests/ehlo_probe.py) times new clients meanwhile. `bench/big_messages.py` prints
the same figures for the README.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiosmtplib
import pytest

from tests.postfix import smtp_sink
from tests.process import GatewayProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
BUDGET = 256 * MIB  # max_bytes_in_flight, the default
MESSAGES = 20
LINE = b"x" * 76 + b"\r\n"
BODY = b"From: ana@acme.test\r\nTo: maria@customer.test\r\nSubject: big attachment\r\n\r\n" + (
    LINE * (25_000_000 // len(LINE))
)


async def send_until_accepted(port: int) -> int:
    """One message, retried after a 4xx; returns the number of deferrals."""
    deferrals = 0
    while True:
        try:
            await aiosmtplib.send(
                BODY,
                sender="ana@acme.test",
                recipients=["maria@customer.test"],
                hostname="127.0.0.1",
                port=port,
                start_tls=False,
                timeout=300,
            )
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise
            deferrals += 1
            await asyncio.sleep(0.5)
        else:
            return deferrals


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line.split()[1] for line in status if line.startswith("VmHWM"))) * 1024


async def test_twenty_25_mb_messages_bounded_memory_and_ehlo_within_a_second(
    tmp_path: Path, processes: list[GatewayProcess]
) -> None:
    async with smtp_sink() as sink_port:
        gateway = await GatewayProcess.start(
            "--listen", "127.0.0.1:0", "--relay", f"smtp://127.0.0.1:{sink_port}", cwd=tmp_path
        )
        processes.append(gateway)
        port = gateway.ports["outbound"]
        probe = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.ehlo_probe",
            str(port),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        started = time.monotonic()
        try:
            deferrals = await asyncio.wait_for(
                asyncio.gather(*(send_until_accepted(port) for _ in range(MESSAGES))), 600
            )
        finally:
            probe.terminate()
            output, _ = await probe.communicate()
        elapsed = time.monotonic() - started
        peak = peak_rss(gateway.process.pid)
    latencies = sorted(float(line) for line in output.split())
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
