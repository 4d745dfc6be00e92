"""The milter's cost inside Postfix: msg/s of Postfix with `gateway milter` vs Postfix alone.

Both runs use the same private Postfix (tests/postfix.py), smtp-source as the
client (a new connection per message) and smtp-sink as the next hop; the only
difference is `smtpd_milters`. smtp-source finishes when Postfix has answered
every DATA, which with a milter is after the milter's end-of-message answer, so
the rate includes the judgement. Runs alternate; the report gives medians.

    python bench/milter_bench.py [--runs 5] [--messages 2000] [--sessions 16]
                                 [--socket inet|unix] [--workers N] [--policies DIR]
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

from proxy_bench import add_policies_option, free_port, policy_directory, start_smtp_sink, stop
from timing import alternating_rates, print_medians

from tests.postfix import Postfix, smtp_source

KINDS = ("postfix", "postfix+milter")


async def start_milter(args: argparse.Namespace, listen: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "milter",
        "--listen",
        listen,
        "--policies",
        str(args.policies),
        "--store",
        f"sqlite:///{args.workdir}/milter.db",
        "--workers",
        str(args.workers),
        cwd=args.workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if process.stdout is None:
        raise RuntimeError("no pipe from gateway milter")
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    if b"milter_started" not in line:
        raise RuntimeError(f"gateway milter did not start: {line!r}")
    asyncio.get_running_loop().create_task(process.stdout.read())  # keep the pipe drained
    return process


async def measure(kind: str, run: int, sink_port: int, args: argparse.Namespace) -> float:
    milter = None
    listen = f"inet:127.0.0.1:{free_port()}"
    if args.socket == "unix":
        listen = f"unix:{args.workdir}/milter-{run}.sock"
    if kind == "postfix+milter":
        milter = await start_milter(args, listen)
        if args.socket == "unix":  # Postfix's user is not in root's group here
            Path(listen.removeprefix("unix:")).chmod(0o666)
    postfix = Postfix(
        args.workdir / f"postfix-{run}-{kind}",
        smtpd_port=free_port(),
        relay_port=sink_port,
        milter=listen if milter else None,
    )
    await postfix.start()
    try:
        port = postfix.smtpd_port
        await smtp_source(port, messages=args.warmup, sessions=args.sessions, size=args.size)
        seconds = await smtp_source(
            port, messages=args.messages, sessions=args.sessions, size=args.size
        )
        return args.messages / seconds
    finally:
        await postfix.stop()
        if milter is not None:
            await stop(milter)


async def main(args: argparse.Namespace) -> None:
    args.policies = policy_directory(args.policies)
    args.workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-milter-"))
    args.workdir.chmod(0o755)  # Postfix's own user walks into its directory
    sink, sink_port = await start_smtp_sink(args.workdir)
    print(
        f"# {args.messages} messages x {args.size} B, {args.sessions} smtp-source sessions, "
        f"Postfix -> smtp-sink, milter on {args.socket} with {args.workers} worker(s), "
        f"{args.runs} runs, "
        f"policies: {args.policies}"
    )
    try:
        rates = await alternating_rates(
            KINDS, args.runs, lambda kind, run: measure(kind, run, sink_port, args)
        )
    finally:
        await stop(sink)
        shutil.rmtree(args.workdir, ignore_errors=True)
    print_medians(rates, "postfix", "Postfix alone")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--socket", choices=("inet", "unix"), default="inet")
    parser.add_argument("--workers", type=int, default=1, help="gateway milter --workers")
    add_policies_option(parser)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
