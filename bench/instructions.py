"""Instructions per message under callgrind: the noise-free companion to proxy_bench.py.

On a noisy 2-core machine msg/s moves by 10-20 % between runs. Valgrind's
callgrind counts the instructions a process executes, which repeats to within
a fraction of a percent. Each proxy runs twice under callgrind (N and 3N
messages); the difference divided by 2N is the cost of one message without
start-up. The ratio gateway/bare is the CPU price of the gateway's own work.

    python bench/instructions.py [--messages 100] [--concurrency 16] [--size 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from proxy_bench import (
    add_policies_option,
    free_port,
    load,
    policy_directory,
    proxy_args,
    start,
    start_smtp_sink,
    stop,
    wait_port,
)


async def instructions(
    kind: str, messages: int, sink_port: int, args: argparse.Namespace, workdir: Path
) -> int:
    port = free_port()
    out = workdir / f"callgrind.{kind}.{messages}"
    proxy = proxy_args(kind, port, sink_port, args.policies)
    process = await start(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, *proxy],
        workdir,
    )
    try:
        await wait_port(port, within=300)
        result = await load(port, messages, args.concurrency, args.size)
        if result.failures:
            raise RuntimeError(f"{kind}: {result.failures} messages failed")
    finally:
        process.send_signal(signal.SIGTERM)
        await stop(process)
    match = re.search(r"^summary: (\d+)", out.read_text(), re.M)
    if match is None:
        raise RuntimeError(f"no callgrind summary in {out}")
    return int(match.group(1))


async def main(args: argparse.Namespace) -> None:
    args.policies = policy_directory(args.policies)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found (Debian package valgrind)")
    workdir = Path(tempfile.mkdtemp(prefix="gateway-instr-"))
    sink, sink_port = await start_smtp_sink(workdir)
    per_message: dict[str, float] = {}
    try:
        for kind in ("bare", "gateway"):
            small = await instructions(kind, args.messages, sink_port, args, workdir)
            large = await instructions(kind, 3 * args.messages, sink_port, args, workdir)
            per_message[kind] = (large - small) / (2 * args.messages)
            print(f"{kind:8s} {per_message[kind] / 1e6:6.2f} M instructions/message", flush=True)
    finally:
        await stop(sink)
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"ratio gateway/bare (instructions per message): "
        f"{per_message['gateway'] / per_message['bare']:.3f}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=5000)
    add_policies_option(parser)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
