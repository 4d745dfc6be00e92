"""The listening side: aiosmtpd's SMTP protocol, hardened for a gateway.

aiosmtpd does the protocol; this subclass adds what a mail admin expects of
a gateway: refusal of clients outside ``allowed_clients`` at connect time,
enhanced status codes and sentences instead of aiosmtpd's terse defaults,
no CR/LF/NUL in envelope addresses, and a graceful drain on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from aiosmtpd.proxy_protocol import get_proxy
from aiosmtpd.smtp import MISSING, SMTP, Envelope, syntax

from gateway.smtp.data_capture import DataCapture, DataState
from gateway.smtp.replies import (
    BAD_ADDRESS_CHARS,
    BARE_LF_IN_COMMAND,
    RELAY_DENIED,
    SHUTTING_DOWN,
    TOO_MANY_CONNECTIONS,
)
from gateway.tasks import BackgroundTasks

if TYPE_CHECKING:
    from gateway.policy.loader import PolicySet
    from gateway.smtp.relay import RelayTransaction

log = structlog.get_logger()


class GatewayEnvelope(Envelope):
    """aiosmtpd's envelope plus the relay transaction mirrored alongside it."""

    def __init__(self) -> None:
        super().__init__()
        self.queue_id: str | None = None
        self.relay_txn: RelayTransaction | None = None
        self.policies: PolicySet | None = None
        self.started: float = time.monotonic()
        self.reserved = 0  # bytes of the memory budget this transaction holds
        # Found while DATA came in (data_capture.py); None when not known.
        self.bare_line_endings: bool | None = None


class MemoryBudget:
    """Bytes of message data the gateway may hold at once, across all sessions.

    aiosmtpd keeps each message whole in memory (and copies follow), so twenty 25 MB
    transfers would cost ~1.5 GB. A transaction reserves the SIZE its client declared
    at MAIL FROM; when that does not fit, the client hears `452 4.3.1` and retries
    later, as it would with a full Postfix queue. Clients that declare no SIZE are not
    counted (RFC 1870 makes SIZE optional).
    """

    __slots__ = ("available", "total")

    def __init__(self, total: int) -> None:
        self.total = total
        self.available = total

    def take(self, size: int) -> bool:
        if size > self.available:
            return False
        self.available -= size
        return True

    def give(self, size: int) -> None:
        self.available = min(self.total, self.available + size)


@dataclass
class ListenerState:
    """What all sessions of one listener share: the drain flag and the live sessions."""

    name: str
    client_allowed: Callable[[str], bool]
    auth_available: bool
    draining: bool = False
    max_connections: int = 1000
    stress_timeout: float = 10.0
    budget: MemoryBudget = field(default_factory=lambda: MemoryBudget(256 * 1024 * 1024))
    # Set when the listener sits behind a load balancer speaking the PROXY protocol:
    # whether a TCP peer may send the header (see `GatewaySMTP._read_proxy_header`).
    proxy_trusted: Callable[[str], bool] | None = None
    sessions: set[GatewaySMTP] = field(default_factory=set)
    background: BackgroundTasks = field(default_factory=BackgroundTasks)


@functools.cache
def _translations(max_size: int) -> dict[str, str]:
    too_big = f"552 5.3.4 Message too big for this gateway (limit {max_size} bytes)"
    return {
        "552 Error: Too much mail data": too_big,
        "552 Error: message size exceeds fixed maximum message size": too_big,
        "500 Line too long (see RFC5321 4.5.3.1.6)": (
            "554 5.6.0 Message has a line longer than 1000 bytes (RFC 5321 4.5.3.1.6); "
            "encode it as quoted-printable or base64"
        ),
        "500 Error: bad syntax": "500 5.5.2 Syntax error",
        "500 Command line too long": "500 5.5.2 Command line too long",
        "503 Error: send HELO first": "503 5.5.1 Send HELO or EHLO first",
        "503 Error: need MAIL command": "503 5.5.1 Send MAIL FROM first",
        "503 Error: need RCPT command": "503 5.5.1 Send RCPT TO first",
        "503 Error: nested MAIL command": "503 5.5.1 MAIL FROM already given",
        "553 5.1.3 Error: malformed address": "553 5.1.3 Malformed address",
        "554 Command refused due to lack of security": "554 5.7.0 TLS handshake failed",
        "530 5.7.0 Authentication required": "530 5.7.0 Authentication required",
        "250 OK": "250 2.0.0 Ok",
        "221 Bye": "221 2.0.0 Bye",
    }


def declared_size(mail_options: Iterable[str]) -> int:
    """The SIZE= a client declared at MAIL FROM (RFC 1870), 0 if none."""
    for option in mail_options:
        name, _, value = str(option).partition("=")
        if name.upper() == "SIZE" and value.isdigit():
            return int(value)
    return 0


PROXY_HEADER_TIMEOUT = 10.0  # seconds for the load balancer's PROXY header


class GatewaySMTP(SMTP):
    def __init__(self, handler: Any, *, state: ListenerState, **kwargs: Any) -> None:
        # Plain attributes, not properties: aiosmtpd's __init__ runs inspect.getmembers()
        # on every new connection, which would evaluate each property once more.
        self.peer_allowed = False
        self.over_limit = False
        self.awaiting_proxy_header = False
        super().__init__(handler, **kwargs)
        self.state = state
        self._replies = _translations(kwargs.get("data_size_limit") or 0)
        self._receiving_data = False
        self._last_byte_was_cr = False
        self._capture: tuple[DataCapture, asyncio.Future[None]] | None = None

    # --- bare LF in commands -----------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Refuse commands ended by a bare LF before aiosmtpd parses them.

        aiosmtpd splits command lines at LF, so ``MAIL FROM:<a\nb@x>`` would be read
        as the sender ``<a``. Like Postfix's ``smtpd_forbid_bare_newline``, a bare LF
        outside DATA gets a 501 and the connection is closed, so no half-address is
        ever taken as an envelope address. (Message content is normalised elsewhere.)
        """
        if self._capture is not None:
            data = self._capture_content(*self._capture, data)
            if not data:
                return
        if (
            not self._receiving_data
            and not self.awaiting_proxy_header  # binary v2 headers hold LF bytes
            and self._has_bare_lf(data)
        ):
            with contextlib.suppress(Exception):
                self._writer.write(f"{BARE_LF_IN_COMMAND}\r\n".encode())
            self._close()
            return
        if data:
            self._last_byte_was_cr = data.endswith(b"\r")
        super().data_received(data)

    def _has_bare_lf(self, data: bytes) -> bool:
        if data.startswith(b"\n") and not self._last_byte_was_cr:
            return True
        return data.count(b"\n") != data.count(b"\r\n") + (1 if data.startswith(b"\n") else 0)

    def _capture_content(
        self, capture: DataCapture, done: asyncio.Future[None], data: bytes
    ) -> bytes:
        """Message bytes go to the capture; what follows the end of data is returned."""
        after = capture.feed(data)
        if after is None:
            return b""
        self._capture = None
        self._receiving_data = False
        self._last_byte_was_cr = False  # the end-of-data line ended in CRLF
        if not done.done():
            done.set_result(None)
        return after

    def _buffered_bytes(self) -> bytes:
        """Bytes the client sent before our 354 (it should not have): content, as aiosmtpd
        would read them. StreamReader has no public way to take its buffer."""
        buffer = getattr(self._reader, "_buffer", None)
        if not isinstance(buffer, bytearray):
            return b""
        taken = bytes(buffer)
        buffer.clear()
        return taken

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA with the content captured in chunks (see data_capture.py)."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        if self.envelope is None or not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        capture = DataCapture(self.data_size_limit)
        done: asyncio.Future[None] = self.loop.create_future()
        self._capture = (capture, done)
        self._receiving_data = True
        early = self._buffered_bytes()
        if early:  # before anything that arrives while the 354 is written, to keep order
            self.data_received(early)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            await done
        finally:
            self._capture = None
            self._receiving_data = False
        if capture.state is DataState.TOO_LONG:
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            self._set_post_data_state()
            return
        if capture.state is DataState.TOO_MUCH:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        content = capture.content()
        if isinstance(self.envelope, GatewayEnvelope):
            self.envelope.bare_line_endings = capture.bare_line_endings
        self.envelope.original_content = content
        self.envelope.content = (
            content.decode("utf-8", errors="surrogateescape") if self._decode_data else content
        )
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    def _declared_size(self) -> int:
        return declared_size(getattr(self.envelope, "mail_options", ()))

    # --- session bookkeeping -------------------------------------------------

    def in_transaction(self) -> bool:
        envelope = self.envelope
        return envelope is not None and bool(envelope.mail_from)

    def _create_envelope(self) -> GatewayEnvelope:
        return GatewayEnvelope()

    def _set_post_data_state(self) -> None:
        """A new envelope replaces the old one: give up any relay transaction it held."""
        old = getattr(self, "envelope", None)
        super()._set_post_data_state()  # type: ignore[no-untyped-call]
        if isinstance(old, GatewayEnvelope) and old.reserved:
            self.state.budget.give(old.reserved)
            old.reserved = 0
        if isinstance(old, GatewayEnvelope) and old.relay_txn is not None:
            txn, old.relay_txn = old.relay_txn, None
            self.state.background.spawn(txn.abort())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.awaiting_proxy_header = self.state.proxy_trusted is not None
        self.over_limit = len(self.state.sessions) >= self.state.max_connections
        if self.over_limit:
            return  # answered 421 by _handle_client, never counted
        self.state.sessions.add(self)
        if len(self.state.sessions) * 5 >= self.state.max_connections * 4:
            self._under_stress()

    def _under_stress(self) -> None:
        """80 % of the connection limit in use: idle sessions get the short stress timeout.

        aiosmtpd keeps the idle timeout in `_timeout_duration` and re-arms it on every
        line; shortening it here (and re-arming idle sessions now) is its whole API.
        """
        for session in self.state.sessions:
            if session._timeout_duration > self.state.stress_timeout:
                session._timeout_duration = self.state.stress_timeout
                if not session.in_transaction():
                    session._reset_timeout()

    def connection_lost(self, error: Exception | None) -> None:
        self.state.sessions.discard(self)
        super().connection_lost(error)
        self._set_post_data_state()

    # --- admission -------------------------------------------------------------

    def tcp_peer_host(self) -> str:
        peer = self.session.peer if self.session is not None else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else ""

    def peer_host(self) -> str:
        """The client's address: the one a trusted PROXY header names, else the TCP peer."""
        proxy = self.session.proxy_data if self.session is not None else None
        if proxy is not None and proxy.src_addr is not None:
            return str(proxy.src_addr)
        return self.tcp_peer_host()

    async def _read_proxy_header(self, trusted: Callable[[str], bool]) -> bool:
        """The PROXY header (v1 or v2, parsed by aiosmtpd) before anything else.

        A peer that is not one of our load balancers, a missing or broken header, or
        bytes following the header before the greeting: disconnected without a reply
        (what follows is not SMTP the client meant, and a reply could be read by the
        balancer as the client's). A `LOCAL` header (the balancer's own health check)
        leaves the balancer as the client.
        """
        session = self.session
        peer = self.tcp_peer_host()
        if session is None or not trusted(peer):
            log.warning("proxy_refused", peer=peer, detail="not in proxy_trusted")
            self._close()
            return False
        self._reset_timeout(PROXY_HEADER_TIMEOUT)
        data = await get_proxy(self._reader)  # a peer hanging up first: aiosmtpd cancels us
        self.awaiting_proxy_header = False
        if not data or not data.valid:
            log.warning("proxy_header_invalid", peer=peer, error=getattr(data, "error", ""))
            self._close()
            return False
        if self._reader._buffer:  # type: ignore[attr-defined]  # StreamReader's own buffer
            # Bytes after the header before our greeting: a client talking before it
            # may (postscreen's "pregreet"), and bytes that skipped the bare-LF check.
            log.warning("proxy_pregreet", peer=peer, client=str(data.src_addr))
            self._close()
            return False
        session.proxy_data = data
        self._reset_timeout()
        return True

    async def _handle_client(self) -> None:
        trusted = self.state.proxy_trusted
        if trusted is not None and not await self._read_proxy_header(trusted):
            return
        self.peer_allowed = self.state.client_allowed(self.peer_host())
        if self.over_limit:
            await self.push(str(TOO_MANY_CONNECTIONS))
            self._close()
            return
        if self.state.draining:
            await self.push(str(SHUTTING_DOWN))
            self._close()
            return
        if not self.peer_allowed and not self.state.auth_available:
            await self.push(str(RELAY_DENIED))
            self._close()
            return
        await super()._handle_client()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _timeout_cb(self) -> None:
        """Idle or stalled client: say why before hanging up, as Postfix does."""
        with contextlib.suppress(Exception):
            self._writer.write(b"421 4.4.2 Idle timeout exceeded, closing connection\r\n")
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    def close_for_shutdown(self) -> None:
        """Tell an idle session we are going and hang up (RFC 5321 421)."""
        if self.transport is None:
            return
        with contextlib.suppress(Exception):
            self._writer.write(f"{SHUTTING_DOWN}\r\n".encode())
        self._close()

    # --- replies and arguments -------------------------------------------------

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            if status.startswith("250-AUTH") and not self.state.auth_available:
                return  # aiosmtpd would offer AUTH that can only fail
            status = self._replies.get(status, status)
        await super().push(status)

    async def _refuse_control_characters(self, arg: str | None) -> bool:
        if arg is not None and any(char in arg for char in "\r\n\x00"):
            await self.push(str(BAD_ADDRESS_CHARS))
            return True
        return False

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self._refuse_control_characters(arg):
            return
        await super().smtp_MAIL(arg)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self._refuse_control_characters(arg):
            return
        await super().smtp_RCPT(arg)
