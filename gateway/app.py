"""The running gateway: listeners, relays, signals and the graceful drain.

Shutdown follows Postfix's manners: on SIGTERM the listeners keep answering
but say ``421`` to newcomers, transactions already past MAIL FROM run to
their final answer, idle sessions are told ``421`` and closed, then the relay
connections are closed and the process exits 0.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from gateway.config import Settings
from gateway.service import Service
from gateway.smtp.auth import Authenticator, load_users
from gateway.smtp.handler import RelayHandler
from gateway.smtp.relay import Relay, RelayTarget, make_relay
from gateway.smtp.server import GatewaySMTP, ListenerState, MemoryBudget

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


class Gateway(Service):
    def __init__(
        self,
        settings: Settings,
        *,
        policy_poll_seconds: float = 1.0,
        sockets: dict[str, socket.socket] | None = None,
        heartbeat: Callable[[], bool] | None = None,
    ) -> None:
        """`sockets`: listeners bound by a supervisor (--workers); `heartbeat`: see Service."""
        super().__init__(settings, policy_poll_seconds=policy_poll_seconds, heartbeat=heartbeat)
        self._sockets = sockets or {}
        self.listeners: dict[str, _Listener] = {}
        self.budget = MemoryBudget(settings.max_bytes_in_flight)  # shared by both legs
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

    async def start(self) -> None:
        settings = self.settings
        await self._open("outbound", settings.listen, settings.relay)
        if settings.inbound_listen is not None:
            inbound_relay = settings.inbound_relay or settings.relay
            await self._open("inbound", settings.inbound_listen, inbound_relay)
        self._start_shared()
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
        await self._close_shared()  # thread records queued by the sessions above, store
        log.info(
            "gateway_stopped",
            drain_seconds=round(time.monotonic() - started, 3),
            transactions_cut_off=cut_off,
        )

    def ready_status(self) -> str:
        addresses = ", ".join(
            f"{leg} {host}:{port}"
            for leg, (host, port) in ((leg, lst.address) for leg, lst in self.listeners.items())
        )
        return f"listening: {addresses}"
