"""All cores: msg/s of `gateway serve --workers 1` and `--workers 2` against a bare proxy.

The load must not eat the cores the gateway is meant to use, so both ends are
Postfix's C tools: smtp-source sends (each message on a new connection, 32 at
once), smtp-sink receives. The bare pass-through proxy (one Python process)
is the baseline measured in the same run; runs alternate the three so machine
noise hits all alike; the report gives medians and the 1 -> 2 worker speed-up.

It also prints how busy the whole machine was during each kind's runs (from
/proc/stat: cores' worth of CPU in use, and the share the hypervisor stole).
That bounds what a second worker can gain here: if the one-worker runs already
keep B of the C usable cores busy (gateway, smtp-source, smtp-sink, kernel),
two workers can at best reach C / B times the one-worker rate, whatever the
gateway does; on a 2-core host B is well above 1 because the load tools share
the cores.

    python bench/workers_bench.py [--runs 5] [--messages 3000] [--sessions 32] [--size 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/postfix.py

from proxy_bench import (
    add_policies_option,
    free_port,
    policy_directory,
    proxy_args,
    start,
    start_smtp_sink,
    stop,
    wait_port,
)
from timing import alternating_rates, print_medians

from tests.postfix import smtp_source

KINDS = ("bare", "workers1", "workers2")


def argv_for(kind: str, port: int, sink_port: int, args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, *proxy_args(kind, port, sink_port, args.policies)]
    if kind == "bare":
        return argv
    return [
        *argv,
        "--store",
        f"sqlite:///{args.workdir}/{kind}.db",
        "--workers",
        kind.removeprefix("workers"),
    ]


def cpu_jiffies() -> tuple[int, int, int]:
    """Whole-machine (busy, stolen, total) clock ticks so far, from /proc/stat's cpu line."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, steal, sum(fields[:8])


def cores_in_use(before: tuple[int, int, int], after: tuple[int, int, int]) -> tuple[float, float]:
    """(busy, stolen) between two cpu_jiffies() readings, in cores' worth."""
    busy, stolen, total = (b - a for a, b in zip(before, after, strict=True))
    cores = os.cpu_count() or 1
    return cores * busy / total, cores * stolen / total


async def measure(
    kind: str, sink_port: int, args: argparse.Namespace, load: dict[str, list[tuple[float, float]]]
) -> float:
    port = free_port()
    process = await start(argv_for(kind, port, sink_port, args), args.workdir)
    try:
        await wait_port(port)
        await smtp_source(port, messages=args.warmup, sessions=args.sessions, size=args.size)
        before = cpu_jiffies()
        seconds = await smtp_source(
            port, messages=args.messages, sessions=args.sessions, size=args.size
        )
        load.setdefault(kind, []).append(cores_in_use(before, cpu_jiffies()))
        return args.messages / seconds
    finally:
        await stop(process)


def print_ceiling(load: dict[str, list[tuple[float, float]]]) -> None:
    """Median busy and stolen cores per kind, and the speed-up two workers could reach at most."""
    cores = os.cpu_count() or 1
    for kind, samples in load.items():
        busy = statistics.median(b for b, _ in samples)
        stolen = statistics.median(s for _, s in samples)
        print(f"cpu    {kind:8s} {busy:.2f} of {cores} cores busy, {stolen:.2f} stolen (medians)")
    busy_one = statistics.median(b for b, _ in load["workers1"])
    stolen_one = statistics.median(s for _, s in load["workers1"])
    print(
        f"ceiling for 1 -> 2 workers on this host: {(cores - stolen_one) / busy_one:.2f} "
        "(usable cores / cores busy with one worker)"
    )


async def main(args: argparse.Namespace) -> None:
    args.policies = policy_directory(args.policies)
    args.workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-workers-"))
    sink, sink_port = await start_smtp_sink(args.workdir)
    print(
        f"# {args.messages} messages x {args.size} B, {args.sessions} smtp-source sessions, "
        f"new connection per message, relay = smtp-sink, {args.runs} runs, "
        f"policies: {args.policies}"
    )
    load: dict[str, list[tuple[float, float]]] = {}
    try:
        rates = await alternating_rates(
            KINDS, args.runs, lambda kind, _run: measure(kind, sink_port, args, load)
        )
    finally:
        await stop(sink)
        shutil.rmtree(args.workdir, ignore_errors=True)
    median = print_medians(rates, "bare", "bare")
    speedups = [two / one for one, two in zip(rates["workers1"], rates["workers2"], strict=True)]
    print(
        f"speed-up 1 -> 2 workers: {median['workers2'] / median['workers1']:.2f} (medians), "
        f"per run {', '.join(f'{s:.2f}' for s in speedups)}"
    )
    print_ceiling(load)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--size", type=int, default=5000)
    add_policies_option(parser)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
