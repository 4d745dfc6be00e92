"""The running gateway: listeners, relays, signals and the graceful drain.

Shutdown follows Postfix's manners: on SIGTERM the listeners keep answering
but say ``421`` to newcomers, transactions already past MAIL FROM run to
their final answer, idle sessions are told ``421`` and closed, then the relay
connections are closed and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.notify import beat_for_supervisor, keep_watchdog_fed, notify, watchdog_interval
from gateway.policy.reload import PolicyHolder, reload_on_signal
from gateway.smtp.auth import Authenticator, load_users
from gateway.smtp.handler import RelayHandler
from gateway.smtp.relay import Relay, RelayTarget, make_relay
from gateway.smtp.server import GatewaySMTP, ListenerState, MemoryBudget
from gateway.store import open_store
from gateway.tasks import BackgroundTasks
from gateway.thread_recorder import ThreadRecorder

log = structlog.get_logger()

DRAIN_POLL_SECONDS = 0.05


@dataclass
class _Listener:
    state: ListenerState
    relay: Relay
    server: asyncio.Server
    handler: RelayHandler

    @property
    def address(self) -> tuple[str, int]:
        sockname = self.server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])


class Gateway:
    def __init__(
        self,
        settings: Settings,
        *,
        policy_poll_seconds: float = 1.0,
        sockets: dict[str, socket.socket] | None = None,
        heartbeat: Callable[[], bool] | None = None,
    ) -> None:
        """`sockets`: listeners bound by a supervisor (--workers); `heartbeat`: called
        every second from the event loop, so the supervisor can tell a live worker; it
        returns False when the supervisor is gone, and the worker drains and stops."""
        self.settings = settings
        self._sockets = sockets or {}
        self._heartbeat = heartbeat
        self.hostname = settings.hostname or socket.gethostname()
        self.listeners: dict[str, _Listener] = {}
        self.policies = PolicyHolder(settings.policies, poll_seconds=policy_poll_seconds)
        self.store = open_store(settings.store)
        self.budget = MemoryBudget(settings.max_bytes_in_flight)  # shared by both legs
        holder = self.policies
        self.metrics = Metrics(self.store.held_count) if settings.metrics else None
        self.threads = ThreadRecorder(self.store, lambda: holder.current, self.metrics)
        self._stop = asyncio.Event()
        self._tasks = BackgroundTasks()
        self._tls_context = self._server_tls_context()
        self._authenticator = (
            Authenticator(load_users(settings.auth.users_file)) if settings.auth else None
        )

    def _server_tls_context(self) -> ssl.SSLContext | None:
        tls = self.settings.tls
        if tls is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls.cert), str(tls.key))
        return context

    def request_reload(self) -> None:
        self._tasks.spawn(reload_on_signal(self.policies))

    async def start(self) -> None:
        settings = self.settings
        await self._open("outbound", settings.listen, settings.relay)
        if settings.inbound_listen is not None:
            inbound_relay = settings.inbound_relay or settings.relay
            await self._open("inbound", settings.inbound_listen, inbound_relay)
        self._tasks.spawn(self.policies.watch())
        if self.metrics is not None and settings.metrics is not None:
            host, port = self.metrics.serve(*settings.metrics)
            self.metrics_address = (host, port)
            log.info("metrics_listening", listen=f"{host}:{port}", path="/metrics")
        log.info(
            "policies_loaded",
            directory=str(self.policies.directory),
            policies=[named.name for named in self.policies.current.policies],
        )
        for leg, listener in self.listeners.items():
            host, port = listener.address
            log.info(
                "gateway_started",
                leg=leg,
                listen=f"{host}:{port}",
                relay=listener.relay.description,
                tls=self._tls_context is not None,
                auth=self._authenticator is not None,
            )
            if not listener.relay.leaves_machine:
                log.warning(
                    "relay_is_maildir",
                    leg=leg,
                    relay=listener.relay.description,
                    detail="nothing leaves this machine: messages are only written to the "
                    'maildir; set relay = "smtp://..." to deliver',
                )

    async def _open(self, leg: str, listen: tuple[str, int], target: RelayTarget) -> None:
        settings = self.settings
        relay = make_relay(target, local_hostname=self.hostname)
        state = ListenerState(
            name=leg,
            client_allowed=settings.allows,
            auth_available=self._authenticator is not None and self._tls_context is not None,
            max_connections=settings.max_connections,
            stress_timeout=settings.stress_idle_timeout,
            budget=self.budget,
            proxy_trusted=settings.trusts_proxy if settings.proxy_protocol else None,
        )
        holder = self.policies
        handler = RelayHandler(
            relay,
            leg=leg,
            max_recipients=settings.max_recipients,
            policies=(lambda: holder.current) if leg == "outbound" else None,
            store=self.store if leg == "outbound" else None,
            threads=self.threads,
            metrics=self.metrics,
            hostname=self.hostname,
        )

        def factory() -> GatewaySMTP:
            return GatewaySMTP(
                handler,
                state=state,
                data_size_limit=settings.max_message_size,
                enable_SMTPUTF8=True,
                hostname=self.hostname,
                ident="helpdesk-gateway",
                tls_context=self._tls_context,
                timeout=settings.idle_timeout,
                authenticator=self._authenticator,
                auth_require_tls=True,
            )

        loop = asyncio.get_running_loop()
        if leg in self._sockets:
            server = await loop.create_server(factory, sock=self._sockets[leg])
        else:
            host, port = listen
            server = await loop.create_server(factory, host=host, port=port, reuse_address=True)
        self.listeners[leg] = _Listener(state, relay, server, handler)

    def request_stop(self, reason: str = "signal") -> None:
        if not self._stop.is_set():
            log.info("gateway_stopping", reason=reason)
            notify("STOPPING=1", "STATUS=draining transactions in flight")
            self._stop.set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def drain_and_close(self) -> None:
        """Finish transactions in flight, then close everything (see module docstring)."""
        started = time.monotonic()
        for listener in self.listeners.values():
            listener.state.draining = True
        deadline = started + self.settings.shutdown_grace
        while time.monotonic() < deadline:
            for listener in self.listeners.values():
                for session in list(listener.state.sessions):
                    if not session.in_transaction():
                        session.close_for_shutdown()
            if not any(lst.state.sessions for lst in self.listeners.values()):
                break
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        cut_off = 0
        for listener in self.listeners.values():
            listener.server.close()
            for session in list(listener.state.sessions):
                cut_off += 1
                session.close_for_shutdown()
        await self._tasks.cancel()
        for listener in self.listeners.values():
            await listener.server.wait_closed()
            await listener.state.background.wait()  # relay aborts under way
            await listener.handler.background.wait()  # hold notices under way
            await listener.relay.close()
        await self.threads.close()  # thread records queued by the sessions above
        if self.metrics is not None:
            self.metrics.close()
        self.store.close()
        log.info(
            "gateway_stopped",
            drain_seconds=round(time.monotonic() - started, 3),
            transactions_cut_off=cut_off,
        )

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT, then drain; the exit status for `gateway serve`.

        Signal handlers go in before the listeners open: a reload or stop that
        arrives the moment the gateway reports it is up must not kill it.
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signal.Signals(signum).name)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        await self.start()
        addresses = ", ".join(
            f"{leg} {host}:{port}"
            for leg, (host, port) in ((leg, lst.address) for leg, lst in self.listeners.items())
        )
        notify("READY=1", f"STATUS=listening: {addresses}", f"MAINPID={os.getpid()}")
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
