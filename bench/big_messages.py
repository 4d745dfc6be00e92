"""20 concurrent 25 MB messages: the gateway's peak RSS, and EHLO latency meanwhile.

    python bench/big_messages.py [--messages 20] [--size 25000000]

The gateway runs as `gateway serve` relaying to Postfix's smtp-sink; a probe
client connects and sends EHLO every 0.2 s while the big messages flow, and
the gateway's VmHWM (peak resident memory) is read from /proc at the end.

The probe runs in a process of its own (tests/ehlo_probe.py, a blocking socket
client): in the senders' process it measured the senders' own event loop,
which aiosmtplib keeps busy formatting 25 MB messages, as much as the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.process import GatewayProcess  # noqa: E402
from tests.support import free_port  # noqa: E402


def big_message(size: int) -> bytes:
    line = b"x" * 76 + b"\r\n"
    head = b"From: ana@acme.test\r\nTo: maria@customer.test\r\nSubject: big attachment\r\n\r\n"
    return head + line * (size // len(line))


async def run(messages: int, size: int, workdir: Path) -> None:
    sink_port = free_port()
    sink = subprocess.Popen(
        ["smtp-sink", "-u", "nobody", f"127.0.0.1:{sink_port}", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(0.3)
    store = f"sqlite:///{workdir / 'g.db'}"
    relay = f"smtp://127.0.0.1:{sink_port}"
    gateway = await GatewayProcess.start(
        "--listen", "127.0.0.1:0", "--relay", relay, "--store", store, cwd=workdir
    )

    async def drain() -> None:
        while await gateway.next_event(within=600) is not None:
            pass

    reader = asyncio.create_task(drain())
    port = gateway.ports["outbound"]
    body = big_message(size)
    prober = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.ehlo_probe",
        str(port),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    deferrals = 0

    async def send_until_accepted() -> tuple[object, str]:
        """As an MTA does: a 4xx (452 when the gateway's memory budget is full) is retried."""
        nonlocal deferrals
        while True:
            try:
                return await aiosmtplib.send(
                    body,
                    sender="ana@acme.test",
                    recipients=["maria@customer.test"],
                    hostname="127.0.0.1",
                    port=port,
                    start_tls=False,
                    timeout=600,
                )
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code >= 500:
                    raise
                deferrals += 1
                await asyncio.sleep(0.5)

    started = time.monotonic()
    results = await asyncio.gather(
        *(send_until_accepted() for _ in range(messages)), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    prober.terminate()
    output, _ = await prober.communicate()
    latencies = [float(line) for line in output.split()]
    status = Path(f"/proc/{gateway.process.pid}/status").read_text().splitlines()
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    gateway.kill()
    await reader
    sink.kill()
    accepted = sum(1 for result in results if not isinstance(result, BaseException))
    latencies.sort()
    print(
        f"{messages} x {len(body)} B in {elapsed:.1f} s, {accepted} accepted "
        f"({deferrals} deferrals: 452 while the memory budget was full); "
        f"gateway peak RSS {int(peak) / 1024:.0f} MiB "
        f"({int(peak) * 1024 / (messages * len(body)):.2f}x the bytes in flight); "
        f"EHLO latency p50 {latencies[len(latencies) // 2]:.3f} s, max {latencies[-1]:.3f} s "
        f"over {len(latencies)} probes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--size", type=int, default=25_000_000)
    args = parser.parse_args()
    workdir = Path("/tmp/gateway-big-messages")
    workdir.mkdir(exist_ok=True)
    (workdir / "policies").mkdir(exist_ok=True)
    asyncio.run(run(args.messages, args.size, workdir))


if __name__ == "__main__":
    main()
