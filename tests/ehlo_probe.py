"""An EHLO probe in a process of its own: `python -m tests.ehlo_probe PORT`.

Connect, read the greeting, EHLO, QUIT every 0.2 s, print each latency in seconds,
until SIGTERM. It must not share a process with the load: measured from the
senders' event loop, it timed aiosmtplib formatting 25 MB messages as much as
the gateway.
"""

from __future__ import annotations

import signal
import socket
import sys
import time


def probe(port: int) -> None:
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
