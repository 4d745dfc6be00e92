"""All cores: msg/s of `gateway serve --workers 1` and `--workers 2` against a bare proxy.

The load must not eat the cores the gateway is meant to use, so both ends are
Postfix's C tools: smtp-source sends (each message on a new connection, 32 at
once), smtp-sink receives. The bare pass-through proxy (one Python process)
is the baseline measured in the same run; runs alternate the three so machine
noise hits all alike; the report gives medians and the 1 -> 2 worker speed-up.

    python bench/workers_bench.py [--runs 5] [--messages 3000] [--sessions 32] [--size 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/postfix.py

from proxy_bench import (
    HERE,
    add_policies_option,
    free_port,
    policy_directory,
    start,
    start_smtp_sink,
    stop,
    wait_port,
)
from timing import alternating_rates, print_medians

from tests.postfix import smtp_source

KINDS = ("bare", "workers1", "workers2")


def argv_for(kind: str, port: int, sink_port: int, args: argparse.Namespace) -> list[str]:
    if kind == "bare":
        return [sys.executable, str(HERE / "bare_proxy.py"), str(port), str(sink_port)]
    return [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--relay",
        f"smtp://127.0.0.1:{sink_port}",
        "--policies",
        str(args.policies),
        "--store",
        f"sqlite:///{args.workdir}/{kind}.db",
        "--workers",
        kind.removeprefix("workers"),
    ]


async def measure(kind: str, sink_port: int, args: argparse.Namespace) -> float:
    port = free_port()
    process = await start(argv_for(kind, port, sink_port, args), args.workdir)
    try:
        await wait_port(port)
        await smtp_source(port, messages=args.warmup, sessions=args.sessions, size=args.size)
        seconds = await smtp_source(
            port, messages=args.messages, sessions=args.sessions, size=args.size
        )
        return args.messages / seconds
    finally:
        await stop(process)


async def main(args: argparse.Namespace) -> None:
    args.policies = policy_directory(args.policies)
    args.workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-workers-"))
    sink, sink_port = await start_smtp_sink(args.workdir)
    print(
        f"# {args.messages} messages x {args.size} B, {args.sessions} smtp-source sessions, "
        f"new connection per message, relay = smtp-sink, {args.runs} runs, "
        f"policies: {args.policies}"
    )
    try:
        rates = await alternating_rates(
            KINDS, args.runs, lambda kind, _run: measure(kind, sink_port, args)
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
