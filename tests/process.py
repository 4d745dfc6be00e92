"""Run the real `gateway` command as a child process and read its JSON log lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class GatewayProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self.stderr = ""
        self.ports: dict[str, int] = {}
        self.milter = ""  # `gateway milter`: the address Postfix should connect to

    @classmethod
    async def start(cls, *args: str, cwd: Path, command: str = "serve") -> GatewayProcess:
        """Start `gateway COMMAND ARGS` in `cwd` and wait until every leg listens.

        The default policy directory is ./policies; unless a test names one, it gets an
        empty one in its own `cwd` (no policy: every message relayed unchanged).
        """
        if "--policies" not in args:
            (cwd / "policies").mkdir(exist_ok=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            command,
            *args,
            cwd=cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # kill() takes the workers of --workers N along
        )
        running = cls(process)
        while True:
            event = await running.next_event(within=20)
            if event is None:
                raise RuntimeError(f"gateway exited before listening: {running.stderr}")
            if event["event"] == "milter_started":
                running.milter = event["listen"]
                return running
            if event["event"] == "gateway_started":
                running.ports[event["leg"]] = int(event["listen"].rsplit(":", 1)[1])
                if event["leg"] == "outbound" and "--inbound-listen" not in args:
                    return running
                if event["leg"] == "inbound":
                    return running

    async def next_event(self, within: float = 10) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), within)
        if not line:
            assert self.process.stderr is not None
            self.stderr = (await self.process.stderr.read()).decode()
            return None
        event: dict[str, Any] = json.loads(line)
        self.events.append(event)
        return event

    async def wait_for_event(self, name: str, within: float = 10) -> dict[str, Any]:
        for event in self.events:
            if event["event"] == name:
                return event
        while True:
            event = await self.next_event(within)
            if event is None:
                raise RuntimeError(f"gateway exited without {name}: {self.stderr}")
            if event["event"] == name:
                return event

    async def stop(self, within: float = 30) -> int:
        """SIGTERM, read the remaining log lines, return the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        while await self.next_event(within) is not None:
            pass
        return await asyncio.wait_for(self.process.wait(), within)

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def only_worker(pids: list[int], running: int) -> Iterator[None]:
    """SIGSTOP every worker in `pids` but `running`, SIGCONT them again on exit.

    Which of several idle workers the kernel wakes for a new connection on a shared
    socket is its choice (with EPOLLEXCLUSIVE usually the same one while it keeps
    up), so "both workers served" cannot be shown by sending mail and hoping. A
    stopped worker is not waiting in epoll_wait, so the kernel must hand every new
    connection to the one left running: if that one did not accept on the shared
    socket, the clients would hang and the test fail.
    """
    stopped = [pid for pid in pids if pid != running]
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


async def run_cli(
    *args: str, cwd: Path | None = None, stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run `gateway ARGS` to completion: (status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
