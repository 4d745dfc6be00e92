"""`gateway milter`: the listener Postfix's smtpd_milters points at, and its lifecycle.

Shutdown follows the proxy's manners: on SIGTERM a message already past MAIL
gets its answer, new MAIL commands are told 451 (Postfix keeps the mail and the
client retries), idle connections are closed (Postfix then applies
milter_default_action, which the README sets to tempfail), then the store closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from gateway.config import Settings, parse_milter_listen
from gateway.milter import protocol
from gateway.milter.handler import MilterHandler
from gateway.milter.session import MilterSession
from gateway.service import Service
from gateway.smtp.relay import make_relay
from gateway.workers import bind_listener, listening

log = structlog.get_logger()

DRAIN_POLL_SECONDS = 0.05
UNIX_SOCKET_MODE = 0o660  # Postfix's user joins the gateway's group (README)


def _quick_ack(writer: asyncio.StreamWriter) -> Callable[[], None]:
    """A function that re-arms TCP_QUICKACK (Linux) on a TCP connection; a no-op otherwise.

    Postfix writes several small packets that get no answer (macros, then MAIL; header
    after header) with Nagle's algorithm on, so each next packet waits for our ACK of
    the previous one, and Linux delays that ACK by up to 40 ms. Measured: 315 msg/s
    through Postfix over TCP vs 535 over a unix socket, before this. The kernel leaves
    quick-ack mode by itself, hence re-armed after every packet read.
    """
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "TCP_QUICKACK", None)
    if sock is None or option is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return lambda: None

    def rearm() -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)

    return rearm


def bind_milter_socket(address: tuple[str, int] | Path) -> socket.socket:
    """The listening socket for `milter_listen`, bound once (by the supervisor with
    --workers, which keeps it for replacements). A socket file left by a killed gateway
    is replaced; any other file at that path is an error."""
    if not isinstance(address, Path):
        return bind_listener(*address)
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(address.lstat().st_mode):
            raise OSError(f"{address} exists and is not a socket")
        address.unlink()
    listener = listening(socket.AF_UNIX, str(address))
    try:
        os.chmod(address, UNIX_SOCKET_MODE)
    except OSError:
        listener.close()
        raise
    return listener


class MilterGateway(Service):
    stopping_status = "finishing messages in flight"

    def __init__(
        self,
        settings: Settings,
        *,
        policy_poll_seconds: float = 1.0,
        sock: socket.socket | None = None,
        heartbeat: Callable[[], bool] | None = None,
    ) -> None:
        """`sock`: the listening socket a supervisor bound (--workers; it also removes a
        unix socket file at the end); `heartbeat`: as for `gateway serve` workers."""
        super().__init__(settings, policy_poll_seconds=policy_poll_seconds, heartbeat=heartbeat)
        self._sock = sock
        self.listen = parse_milter_listen(settings.milter_listen)
        holder = self.policies
        self.handler = MilterHandler(
            store=self.store,
            threads=self.threads,
            hold_mode=settings.milter_hold,
            dkim_mode=settings.milter_dkim,
            relay=make_relay(settings.relay, local_hostname=self.hostname),
            hostname=self.hostname,
            policies=lambda: holder.current,
            metrics=self.metrics,
        )
        self.server: asyncio.Server | None = None
        self.address = settings.milter_listen  # in Postfix's spelling, port 0 resolved at start
        self.sessions: dict[MilterSession, asyncio.StreamWriter] = {}
        self._draining = False

    async def start(self) -> None:
        sock = self._sock or bind_milter_socket(self.listen)
        if sock.family == socket.AF_UNIX:
            self.server = await asyncio.start_unix_server(self._serve, sock=sock)
        else:
            self.server = await asyncio.start_server(self._serve, sock=sock)
            bound_host, bound_port = sock.getsockname()[:2]
            self.address = f"inet:{bound_host}:{bound_port}"
        self._start_shared()
        log.info(
            "milter_started",
            listen=self.address,
            policies=[named.name for named in self.policies.current.policies],
            hold=self.handler.hold_mode,
            dkim=self.handler.dkim_mode,
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.sessions) >= self.settings.max_connections:
            log.warning("milter_connection_refused", limit=self.settings.max_connections)
            writer.close()
            return
        session = MilterSession(
            self.handler.end_of_message,
            lambda: self.policies.current,
            max_message_size=self.settings.max_message_size,
            draining=lambda: self._draining,
        )
        self.sessions[session] = writer
        try:
            await self._converse(session, reader, writer)
        finally:
            del self.sessions[session]
            writer.close()

    async def _converse(
        self, session: MilterSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Packets in, answers out, until the MTA quits; protocol faults end the connection."""
        quick_ack = _quick_ack(writer)
        try:
            while True:
                async with asyncio.timeout(self.settings.idle_timeout):
                    packet = await protocol.read_packet(reader)
                if packet is None:
                    return
                quick_ack()
                answers = await session.handle(packet)
                if answers is None:
                    return
                if answers:
                    writer.writelines(answers)
                    await writer.drain()
        except protocol.ProtocolError as exc:
            log.warning("milter_protocol_error", error=str(exc), client=session.client)
        except TimeoutError:
            log.info("milter_idle_timeout", seconds=self.settings.idle_timeout)
        except (ConnectionError, OSError) as exc:
            if session.in_message:
                log.info("milter_connection_lost", error=str(exc))

    async def drain_and_close(self) -> None:
        """Let messages in flight get their answer (up to shutdown_grace), then close."""
        started = time.monotonic()
        self._draining = True
        if self.server is not None:
            self.server.close()
        deadline = started + self.settings.shutdown_grace
        while time.monotonic() < deadline:
            if not any(session.in_message for session in self.sessions):
                break
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        cut_off = sum(1 for session in self.sessions if session.in_message)
        for writer in list(self.sessions.values()):
            writer.close()  # the reading side ends; the session's task finishes by itself
        if self.server is not None:
            await self.server.wait_closed()
        await self._tasks.cancel()
        await self.handler.background.wait()
        await self.handler.relay.close()
        await self._close_shared()
        if isinstance(self.listen, Path) and self._sock is None:
            with contextlib.suppress(OSError):
                self.listen.unlink()
        log.info(
            "gateway_stopped",
            drain_seconds=round(time.monotonic() - started, 3),
            transactions_cut_off=cut_off,
        )

    def ready_status(self) -> str:
        return f"milter listening: {self.address}"
