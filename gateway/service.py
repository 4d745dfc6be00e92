"""What `gateway serve` and `gateway milter` share around their listeners.

Both hold the same parts (policies with live reload, the store, the thread
recorder, the metrics endpoint) and live the same life under systemd: signal
handlers before the listeners open, READY once they listen, WATCHDOG from the
event loop, a heartbeat to the supervisor with --workers, STOPPING and a drain
on SIGTERM. A subclass opens its listeners (`start`) and drains them
(`drain_and_close`); the rest is here, once.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from collections.abc import Callable

import structlog

from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.notify import beat_for_supervisor, keep_watchdog_fed, notify, watchdog_interval
from gateway.policy.reload import PolicyHolder, reload_on_signal
from gateway.store import open_store
from gateway.tasks import BackgroundTasks
from gateway.thread_recorder import ThreadRecorder

log = structlog.get_logger()


class Service:
    stopping_status = "draining transactions in flight"  # systemd's STATUS while draining

    def __init__(
        self,
        settings: Settings,
        *,
        policy_poll_seconds: float,
        heartbeat: Callable[[], bool] | None,
    ) -> None:
        """`heartbeat`: called every second from the event loop, so a supervisor can tell
        a live worker; it returns False when the supervisor is gone, and the worker drains
        and stops."""
        self.settings = settings
        self.hostname = settings.hostname or socket.gethostname()
        self.policies = PolicyHolder(settings.policies, poll_seconds=policy_poll_seconds)
        self.store = open_store(settings.store)
        self.metrics = Metrics(self.store.held_count) if settings.metrics else None
        holder = self.policies
        self.threads = ThreadRecorder(self.store, lambda: holder.current, self.metrics)
        self.metrics_address: tuple[str, int] | None = None
        self._heartbeat = heartbeat
        self._stop = asyncio.Event()
        self._tasks = BackgroundTasks()

    async def start(self) -> None:
        raise NotImplementedError

    async def drain_and_close(self) -> None:
        raise NotImplementedError

    def ready_status(self) -> str:
        """systemd's STATUS once the listeners accept."""
        raise NotImplementedError

    def _start_shared(self) -> None:
        """After the listeners opened: the policy watcher and the metrics endpoint."""
        self._tasks.spawn(self.policies.watch())
        if self.metrics is not None and self.settings.metrics is not None:
            host, port = self.metrics.serve(*self.settings.metrics)
            self.metrics_address = (host, port)
            log.info("metrics_listening", listen=f"{host}:{port}", path="/metrics")

    async def _close_shared(self) -> None:
        """After the listeners drained: the thread records they queued, then the rest."""
        await self.threads.close()
        if self.metrics is not None:
            self.metrics.close()
        self.store.close()

    def request_stop(self, reason: str = "signal") -> None:
        if not self._stop.is_set():
            log.info("gateway_stopping", reason=reason)
            notify("STOPPING=1", f"STATUS={self.stopping_status}")
            self._stop.set()

    def request_reload(self) -> None:
        self._tasks.spawn(reload_on_signal(self.policies))

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT, then drain; the exit status of the command.

        Signal handlers go in before the listeners open: a reload or stop that
        arrives the moment the gateway reports it is up must not kill it.
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signal.Signals(signum).name)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        await self.start()
        notify("READY=1", f"STATUS={self.ready_status()}", f"MAINPID={os.getpid()}")
        interval = watchdog_interval()
        if interval is not None:
            self._tasks.spawn(keep_watchdog_fed(interval))
        if self._heartbeat is not None:
            self._tasks.spawn(
                beat_for_supervisor(self._heartbeat, lambda: self.request_stop("supervisor gone"))
            )
        # Everything built at start-up (settings, policies, imported modules) lives as
        # long as the process: keep it out of the cyclic GC's scans (about 1% of CPU
        # per message, measured in instructions with callgrind).
        gc.collect()
        gc.freeze()
        await self.wait_stopped()
        await self.drain_and_close()
        return 0
