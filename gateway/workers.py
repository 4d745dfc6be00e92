"""`gateway serve --workers N`: N gateway processes on one pre-bound socket per leg.

One Python process uses one core; a mail host has several. The supervisor
(this module, the main process) binds the listening sockets, then forks N
workers that all accept on them: the kernel hands each new connection to
whichever worker accepts first, so a busy worker takes fewer. A shared socket
rather than SO_REUSEPORT, because with SO_REUSEPORT connections waiting in a
dying worker's own accept queue are reset; here they stay in the one queue
and the other workers take them (Postfix's master shares sockets the same way).

The supervisor does not run an event loop or touch the store; it only
- forwards SIGTERM/SIGINT (drain and stop) and SIGHUP (reload policies) to
  every worker;
- restarts a worker that died, unless it keeps dying at start-up (then it
  stops the others and exits 1, so systemd's restart logic takes over);
- speaks to systemd for all: READY once every worker listens, WATCHDOG only
  while every worker's event loop still sends its heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import structlog

from gateway.config import Settings
from gateway.notify import notify, watchdog_interval

log = structlog.get_logger()

CRASH_LOOP_SECONDS = 5.0  # a worker that dies this soon after its start counts as a crash
CRASH_LOOP_LIMIT = 5  # ... this many times in a row: give up
POLL_SECONDS = 0.2
LISTEN_BACKLOG = 1024

# What a worker runs: (index, sockets by leg, heartbeat) -> exit status. The heartbeat
# returns False once the supervisor is gone (killed outright): the worker then stops.
WorkerMain = Callable[[int, dict[str, socket.socket], Callable[[], bool]], int]


def listening(
    family: socket.AddressFamily, address: Any, options: tuple[tuple[int, int, int], ...] = ()
) -> socket.socket:
    """A non-blocking listening stream socket on `address`, closed again if a step fails
    (raises OSError like the event loop would)."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        for level, name, value in options:
            listener.setsockopt(level, name, value)
        listener.bind(address)
        listener.listen(LISTEN_BACKLOG)
        listener.setblocking(False)
    except OSError:
        listener.close()
        raise
    return listener


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket the workers inherit."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    options = [(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)]
    if family == socket.AF_INET6:
        options.append((socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1))
    return listening(family, address, tuple(options))


def bind_listeners(settings: Settings) -> dict[str, socket.socket]:
    sockets = {"outbound": bind_listener(*settings.listen)}
    if settings.inbound_listen is not None:
        sockets["inbound"] = bind_listener(*settings.inbound_listen)
    return sockets


def worker_settings(settings: Settings, index: int) -> Settings:
    """Per-worker settings: the metrics endpoint moves up one port per worker."""
    if settings.metrics is None or settings.metrics[1] == 0:
        return settings
    host, port = settings.metrics
    return settings.model_copy(update={"metrics": (host, port + index)})


@dataclass
class _Worker:
    index: int
    pid: int
    started: float
    ready: bool = False
    last_beat: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(self, count: int, sockets: dict[str, socket.socket], main: WorkerMain) -> None:
        self.count = count
        self.sockets = sockets
        self.main = main
        self.workers: dict[int, _Worker] = {}  # by pid
        self.stopping = False
        self.failed = False
        self.crashes: dict[int, int] = {}  # consecutive early deaths, by worker index
        self._beats_r, self._beats_w = os.pipe()
        os.set_blocking(self._beats_r, False)
        self._announced = False

    # --- signals ---------------------------------------------------------------

    def _forward(self, signum: int) -> None:
        for worker in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):  # already gone; reaped by the loop
                os.kill(worker.pid, signum)

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("gateway_stopping", reason=signal.Signals(signum).name, workers=self.count)
            notify("STOPPING=1", "STATUS=draining transactions in flight")
        self.stopping = True
        self._forward(signal.SIGTERM)

    def _on_reload(self, _signum: int, _frame: FrameType | None) -> None:
        log.info("workers_reloading", workers=len(self.workers))
        self._forward(signal.SIGHUP)

    # --- workers ---------------------------------------------------------------

    def _spawn(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                os.close(self._beats_r)
                os.set_blocking(self._beats_w, False)
                for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(signum, signal.SIG_DFL)
                for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
                    os.environ.pop(name, None)  # the supervisor speaks to systemd
                structlog.contextvars.bind_contextvars(worker=index)
                beat = bytes([index])  # workers <= 64: one byte names a worker
                supervisor = os.getppid()
                status = self.main(
                    index, self.sockets, lambda: _write_beat(self._beats_w, beat, supervisor)
                )
            except BaseException as exc:
                log.error(  # noqa: TRY400 - one line for the admin, not a traceback
                    "worker_failed", worker=index, error=f"{type(exc).__name__}: {exc}"
                )
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        self.workers[pid] = _Worker(index, pid, time.monotonic())

    def _reap(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                self.failed |= code != 0
                continue
            early = time.monotonic() - worker.started < CRASH_LOOP_SECONDS
            self.crashes[worker.index] = self.crashes.get(worker.index, 0) + 1 if early else 0
            if self.crashes[worker.index] >= CRASH_LOOP_LIMIT:
                log.error(
                    "worker_crash_loop",
                    worker=worker.index,
                    exit_status=code,
                    detail=f"died {CRASH_LOOP_LIMIT} times within {CRASH_LOOP_SECONDS:g} s "
                    "of starting; stopping the gateway",
                )
                self.failed = True
                self._on_stop(signal.SIGTERM, None)
                continue
            log.warning("worker_exited", worker=worker.index, pid=pid, exit_status=code)
            self._spawn(worker.index)

    def _read_beats(self) -> None:
        try:
            data = os.read(self._beats_r, 4096)
        except BlockingIOError:
            return
        now = time.monotonic()
        beating = set(data)
        for worker in self.workers.values():
            if worker.index in beating:
                worker.ready = True
                worker.last_beat = now

    def _talk_to_systemd(self, watchdog: float | None, last_ping: float) -> float:
        workers = list(self.workers.values())
        everyone_ready = len(workers) == self.count and all(w.ready for w in workers)
        if everyone_ready and not self._announced:
            self._announced = True
            log.info("workers_started", workers=self.count, pids=sorted(self.workers))
            notify("READY=1", f"STATUS={self.count} workers listening", f"MAINPID={os.getpid()}")
        now = time.monotonic()
        if watchdog is None or now - last_ping < watchdog:
            return last_ping
        fresh = all(now - w.last_beat < 2 * watchdog for w in workers)
        if everyone_ready and fresh:
            notify("WATCHDOG=1")
            return now
        return last_ping

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        for index in range(self.count):
            self._spawn(index)  # the supervisor keeps the sockets (for restarts), never accepts
        watchdog = watchdog_interval()
        last_ping = 0.0
        while self.workers:
            select.select([self._beats_r], [], [], POLL_SECONDS)
            self._read_beats()
            self._reap()
            if not self.stopping:
                last_ping = self._talk_to_systemd(watchdog, last_ping)
        log.info("workers_stopped", workers=self.count, failed=self.failed)
        return 1 if self.failed else 0


def _write_beat(fd: int, beat: bytes, supervisor: int) -> bool:
    """One beat to the supervisor; False when it is gone (this worker was re-parented)."""
    if os.getppid() != supervisor:
        return False
    try:
        os.write(fd, beat)
    except BlockingIOError:
        return True  # the supervisor is behind; the next beat tells
    except BrokenPipeError:
        return False
    return True


class ExclusiveAcceptSelector(selectors.EpollSelector):
    """asyncio's epoll selector, with the shared listening sockets added EPOLLEXCLUSIVE.

    Without it every idle worker wakes for every new connection and all but one
    find nothing to accept (the thundering herd: wasted CPU on a busy host). With
    it the kernel wakes one worker that sleeps in epoll_wait, so an idle worker
    takes the connection and a busy one is left alone (nginx does the same).
    """

    def __init__(self, exclusive: set[int]) -> None:
        super().__init__()
        self._exclusive = exclusive

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = self._fileobj_lookup(fileobj)  # type: ignore[attr-defined]
        if fd not in self._exclusive or events != selectors.EVENT_READ:
            return super().register(fileobj, events, data)
        key = selectors._BaseSelectorImpl.register(self, fileobj, events, data)
        try:
            self._selector.register(fd, select.EPOLLIN | select.EPOLLEXCLUSIVE)  # type: ignore[attr-defined]
        except BaseException:
            selectors._BaseSelectorImpl.unregister(self, fileobj)
            raise
        return key


class _App(Protocol):
    """What a worker runs: `Gateway` (`gateway serve`) or `MilterGateway`."""

    async def run(self) -> int: ...


AppFactory = Callable[[int, dict[str, socket.socket], Callable[[], bool]], _App]


def _supervise_apps(count: int, sockets: dict[str, socket.socket], make: AppFactory) -> int:
    def run_worker(
        index: int, listeners: dict[str, socket.socket], beat: Callable[[], bool]
    ) -> int:
        app = make(index, listeners, beat)
        selector = ExclusiveAcceptSelector({listener.fileno() for listener in listeners.values()})
        with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(selector)) as runner:
            return runner.run(app.run())

    return Supervisor(count, sockets, run_worker).run()


def supervise(settings: Settings, sockets: dict[str, socket.socket]) -> int:
    """Run `settings.workers` gateways on `sockets` until SIGTERM; the exit status."""
    from gateway.app import Gateway  # noqa: PLC0415 - imported before the fork, once

    def make(index: int, listeners: dict[str, socket.socket], beat: Callable[[], bool]) -> _App:
        return Gateway(worker_settings(settings, index), sockets=listeners, heartbeat=beat)

    return _supervise_apps(settings.workers, sockets, make)


def supervise_milter(settings: Settings, sock: socket.socket) -> int:
    """`gateway milter --workers N`: N milter processes accepting on one socket."""
    from gateway.milter.server import MilterGateway  # noqa: PLC0415 - before the fork, once

    def make(index: int, listeners: dict[str, socket.socket], beat: Callable[[], bool]) -> _App:
        settings_i = worker_settings(settings, index)
        return MilterGateway(settings_i, sock=listeners["milter"], heartbeat=beat)

    try:
        return _supervise_apps(settings.workers, {"milter": sock}, make)
    finally:
        if sock.family == socket.AF_UNIX:
            with contextlib.suppress(OSError):
                os.unlink(sock.getsockname())
