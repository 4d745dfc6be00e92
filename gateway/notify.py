"""systemd's notify protocol (sd_notify): READY, RELOADING, STOPPING, WATCHDOG, STATUS.

A datagram to $NOTIFY_SOCKET is all it takes, so no library is needed. Outside
systemd (no NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable


def notify(*states: str) -> bool:
    """Send state lines like "READY=1"; True when a supervisor was told."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall("\n".join(states).encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of WatchdogSec= when the watchdog is meant for this process, else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None


async def keep_watchdog_fed(interval: float) -> None:
    """Ping from the event loop itself: a stuck loop stops the pings and systemd restarts us."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


HEARTBEAT_SECONDS = 1.0


async def beat_for_supervisor(heartbeat: Callable[[], bool], orphaned: Callable[[], None]) -> None:
    """A worker's beat to its supervisor, sent from the event loop itself (a stuck loop goes
    quiet); `heartbeat` says False once the supervisor is gone, and `orphaned` is called."""
    while True:
        if not heartbeat():
            orphaned()
            return
        await asyncio.sleep(HEARTBEAT_SECONDS)
