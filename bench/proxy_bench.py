"""Throughput and latency: the gateway against a bare pass-through proxy, same run, same load.

Both proxies relay to Postfix's smtp-sink (C, nearly free of CPU, so it does
not steal a core from the proxy under test). The load is a light asyncio SMTP
client: CONCURRENCY connections, each message on a new connection as most
helpdesks send, MESSAGE_SIZE bytes each. Runs alternate bare / gateway so
machine noise hits both; the report gives medians over the runs.

    python bench/proxy_bench.py [--runs 5] [--messages 2000] [--concurrency 16] [--size 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_message(size: int, number: int) -> bytes:
    head = (
        f"From: ACME <noreply@acme.example>\r\nTo: maria@customer.test\r\n"
        f"Subject: Re: [#{number}] your order\r\nMessage-ID: <bench-{number}@acme.example>\r\n"
        f"\r\nHi Maria,\r\n\r\n"
    ).encode()
    line = b"Your order has shipped and will arrive on Thursday. " * 1 + b"\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


async def wait_port(port: int, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listens on {port}")


async def expect(reader: asyncio.StreamReader, code: bytes) -> None:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            if not line.startswith(code):
                raise RuntimeError(line.decode(errors="replace").strip())
            return


async def send_one(port: int, message: bytes) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await expect(reader, b"220")
        writer.write(b"EHLO bench.test\r\n")
        await expect(reader, b"250")
        writer.write(b"MAIL FROM:<noreply@acme.example>\r\n")
        await expect(reader, b"250")
        writer.write(b"RCPT TO:<maria@customer.test>\r\n")
        await expect(reader, b"250")
        writer.write(b"DATA\r\n")
        await expect(reader, b"354")
        writer.write(message + b".\r\n")
        await expect(reader, b"250")
        writer.write(b"QUIT\r\n")
        await expect(reader, b"221")
    finally:
        writer.close()
    return time.perf_counter() - started


@dataclass
class Result:
    rate: float
    p50_ms: float
    p99_ms: float
    failures: int
    cpu_us: float = 0.0  # proxy process CPU (user + system) per message


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), robust to machine noise."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


REPLIES = False  # --replies: every message answers a customer message (In-Reply-To)


def numbered(body: bytes, number: int) -> bytes:
    """With --replies, a unique Message-ID and a parent, so the thread store does real work."""
    if not REPLIES:
        return body
    return body.replace(
        b"Message-ID: <bench-",
        f"In-Reply-To: <customer-{number}@customer.test>\r\nMessage-ID: <r{number}-".encode(),
        1,
    )


async def load(port: int, messages: int, concurrency: int, size: int) -> Result:
    bodies = [make_message(size, n) for n in range(16)]
    latencies: list[float] = []
    failures = 0
    counter = iter(range(messages))

    async def worker() -> None:
        nonlocal failures
        for number in counter:
            try:
                body = numbered(bodies[number % len(bodies)], number)
                latencies.append(await send_one(port, body))
            except (OSError, RuntimeError, ConnectionError):
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Result(
        rate=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
        failures=failures,
    )


async def start(argv: Sequence[str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


def proxy_args(kind: str, port: int, sink_port: int, policies: Path) -> list[str]:
    """What follows the interpreter to run the bare proxy (`kind` "bare") or `gateway
    serve` on `port`, relaying to `sink_port`; the benches add their own options."""
    if kind == "bare":
        return [str(HERE / "bare_proxy.py"), str(port), str(sink_port)]
    return [
        "-m",
        "gateway",
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--relay",
        f"smtp://127.0.0.1:{sink_port}",
        "--policies",
        str(policies),
    ]


async def measure(kind: str, sink_port: int, args: argparse.Namespace, workdir: Path) -> Result:
    port = free_port()
    process = await start(
        [sys.executable, *proxy_args(kind, port, sink_port, args.policies)], workdir
    )
    try:
        await wait_port(port)
        await load(port, args.warmup, args.concurrency, args.size)
        cpu_before = cpu_seconds(process.pid)
        result = await load(port, args.messages, args.concurrency, args.size)
        result.cpu_us = (cpu_seconds(process.pid) - cpu_before) / args.messages * 1e6
        return result
    finally:
        await stop(process)


def signing_policies(key_type: str) -> Path:
    """A policy that rewrites noreply@acme.example and signs with a fresh key."""
    from gateway.dkim_sign import generate_key  # noqa: PLC0415 - only for --signing

    directory = Path(tempfile.mkdtemp(prefix="gateway-bench-signing-"))
    key = directory / "key.pem"
    generate_key(key_type, key)
    (directory / "10-bench.toml").write_text(
        '[match]\nsenders = ["*@acme.example"]\n[rewrite]\nmonitored = "support@acme.example"\n'
        f'[dkim]\ndomain = "acme.example"\nselector = "gw1"\nkey = "{key}"\n'
    )
    return directory


def policy_directory(path: Path) -> Path:
    """An absolute, existing policy directory (the gateway runs in a temporary workdir)."""
    resolved = path.resolve()
    resolved.mkdir(parents=True, exist_ok=True)
    return resolved


async def start_smtp_sink(workdir: Path) -> tuple[asyncio.subprocess.Process, int]:
    """Postfix's smtp-sink on a free loopback port: the relay both proxies deliver to."""
    smtp_sink = shutil.which("smtp-sink")
    if smtp_sink is None:
        raise SystemExit("smtp-sink not found: install Debian's postfix package (make test does)")
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = await start([smtp_sink, *user, f"127.0.0.1:{port}", "256"], workdir)
    await wait_port(port)
    return sink, port


async def main(args: argparse.Namespace) -> None:
    if args.signing != "none":
        args.policies = signing_policies(args.signing)
    args.policies = policy_directory(args.policies)
    workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    sink, sink_port = await start_smtp_sink(workdir)
    results: dict[str, list[Result]] = {"bare": [], "gateway": []}
    print(
        f"# {args.messages} messages x {args.size} B, {args.concurrency} connections, "
        f"new connection per message, relay = Postfix smtp-sink, {args.runs} runs, "
        f"gateway policies: {args.policies}"
    )
    try:
        for run in range(1, args.runs + 1):
            for kind in ("bare", "gateway"):
                result = await measure(kind, sink_port, args, workdir)
                results[kind].append(result)
                print(
                    f"run {run} {kind:8s} {result.rate:8.1f} msg/s  p50 {result.p50_ms:6.1f} ms"
                    f"  p99 {result.p99_ms:6.1f} ms  cpu {result.cpu_us:6.0f} us/msg"
                    f"  failures {result.failures}",
                    flush=True,
                )
    finally:
        await stop(sink)
        shutil.rmtree(workdir, ignore_errors=True)
    summary = {
        kind: (
            statistics.median(r.rate for r in runs),
            statistics.median(r.p50_ms for r in runs),
            statistics.median(r.p99_ms for r in runs),
            statistics.median(r.cpu_us for r in runs),
        )
        for kind, runs in results.items()
    }
    for kind, (rate, p50, p99, cpu) in summary.items():
        print(
            f"median {kind:8s} {rate:8.1f} msg/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  cpu {cpu:6.0f} us/msg"
        )
    ratios = [g.rate / b.rate for g, b in zip(results["gateway"], results["bare"], strict=True)]
    print(
        f"ratio gateway/bare: {summary['gateway'][0] / summary['bare'][0]:.2f} (medians), "
        f"per-run {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"cpu per message gateway/bare: {summary['gateway'][3] / summary['bare'][3]:.2f}"
    )


def add_policies_option(parser: argparse.ArgumentParser) -> None:
    """--policies for every bench that starts the gateway (default: an empty directory)."""
    parser.add_argument(
        "--policies",
        type=Path,
        default=Path(tempfile.gettempdir()) / "gateway-bench-no-policies",
        help="policy directory for the gateway (default: none)",
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=5000)
    add_policies_option(parser)
    parser.add_argument(
        "--signing",
        choices=["none", "rsa", "ed25519"],
        default="none",
        help="rewrite noreply@ senders and DKIM-sign with this key type (overrides --policies)",
    )
    parser.add_argument(
        "--replies",
        action="store_true",
        help="messages carry In-Reply-To and unique Message-IDs (thread store on the path)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    REPLIES = arguments.replies
    asyncio.run(main(arguments))
