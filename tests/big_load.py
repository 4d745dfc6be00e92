"""Big-message load for tests/test_big_messages.py and bench/big_messages.py.

The EHLO probe runs in a process of its own (`python -m tests.big_load PORT`): measured
from the senders' event loop, it timed aiosmtplib formatting 25 MB messages as much
as the gateway.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent


def big_message(size: int) -> bytes:
    line = b"x" * 76 + b"\r\n"
    head = b"From: ana@acme.test\r\nTo: maria@customer.test\r\nSubject: big attachment\r\n\r\n"
    return head + line * (size // len(line))


async def send_until_accepted(port: int, body: bytes) -> int:
    """One message, retried after a 4xx as an MTA would (452 while the memory budget is
    full); returns how many times it was deferred."""
    deferrals = 0
    while True:
        try:
            await aiosmtplib.send(
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
        else:
            return deferrals


async def start_probe(port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.big_load",
        str(port),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


async def probe_latencies(process: asyncio.subprocess.Process) -> list[float]:
    """Stop the probe; its EHLO latencies in seconds, sorted."""
    process.terminate()
    output, _ = await process.communicate()
    return sorted(float(line) for line in output.split())


def peak_rss(pid: int) -> int:
    """A process's peak resident memory (VmHWM) in bytes."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line.split()[1] for line in status if line.startswith("VmHWM"))) * 1024


def probe(port: int) -> None:
    """Connect, read the greeting, EHLO, QUIT every 0.2 s; print each latency, until SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            replies = sock.makefile("rb")
            replies.readline()  # 220 greeting
            sock.sendall(b"EHLO probe.test\r\n")
            while replies.readline()[3:4] != b" ":  # up to the last 250 line
                pass
            print(f"{time.monotonic() - started:.4f}", flush=True)
            sock.sendall(b"QUIT\r\n")
        time.sleep(0.2)


if __name__ == "__main__":
    probe(int(sys.argv[1]))
