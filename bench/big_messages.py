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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.big_load import (  # noqa: E402
    big_message,
    peak_rss,
    probe_latencies,
    send_until_accepted,
    start_probe,
)
from tests.process import GatewayProcess  # noqa: E402
from tests.support import free_port  # noqa: E402


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
    prober = await start_probe(port)
    started = time.monotonic()
    results = await asyncio.gather(
        *(send_until_accepted(port, body) for _ in range(messages)), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    latencies = await probe_latencies(prober)
    deferrals = sum(result for result in results if isinstance(result, int))
    peak = peak_rss(gateway.process.pid) // 1024
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
