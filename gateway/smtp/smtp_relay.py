"""SMTP relay client: pooled aiosmtplib connections, driven in lockstep with the helpdesk.

A connection is taken from the pool at MAIL FROM and stays with that one
transaction until the relay has answered the data (or the transaction is
abandoned), then goes back to the pool for the next one. Reusing connections
saves the TCP, TLS and EHLO round trips that would otherwise dominate small
support replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

import aiosmtplib
from aiosmtplib.errors import (
    SMTPDataError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import SMTPStatus

from gateway.smtp.content import has_bare_line_endings
from gateway.smtp.relay import SmtpTarget
from gateway.smtp.replies import (
    Reply,
    one_line,
    relay_disconnected,
    relay_refusal,
    relay_timeout,
    relay_unreachable,
)

# aiosmtplib normalises line endings and dot-quotes the whole message with two regular
# expressions on the event loop (~0.2 s for 25 MB, during which no other client is
# served). Above this size the gateway formats DATA itself: content that is already
# clean CRLF (every message the gateway relays is, see content.py) needs one
# `bytes.replace` (~10 ms for 25 MB); anything else goes through aiosmtplib's own
# functions in 1 MB slices, the loop serving others between them.
_FORMAT_OFF_LOOP_FROM = 128 * 1024
_SLICE = 1024 * 1024


async def _wire_format(content: bytes) -> list[bytes]:
    """Exactly what aiosmtplib's DATA sends: CRLF line ends, leading dots doubled, '.'."""
    if content.endswith(b"\r\n") and not has_bare_line_endings(content):
        stuffed = content.replace(b"\r\n.", b"\r\n..")
        return [b"." + stuffed if stuffed.startswith(b".") else stuffed, b".\r\n"]
    pieces: list[bytes] = []
    start = 0
    while start < len(content) or not pieces:  # an empty message is one empty slice
        # slices end after a line feed, so no CRLF pair and no line start is cut in two
        cut = content.find(b"\n", start + _SLICE)
        end = len(content) if cut < 0 else cut + 1
        pieces.append(PERIOD_REGEX.sub(b"..", normalize_message_line_endings(content[start:end])))
        start = end
        await asyncio.sleep(0)
    pieces.append(b".\r\n")
    return pieces


async def _data_formatted_off_loop(smtp: aiosmtplib.SMTP, content: bytes) -> SMTPResponse:
    """DATA for a big message: formatted slice by slice, then written in one piece.

    Uses aiosmtplib's public command and response calls; the connection is never shared
    during a transaction (one helpdesk transaction holds it), so nothing interleaves.
    """
    wire = await _wire_format(content)
    start = await smtp.execute_command(b"DATA")
    if start.code != SMTPStatus.start_input:
        raise SMTPDataError(start.code, start.message)
    protocol = smtp.protocol
    if protocol is None:
        raise SMTPServerDisconnected("relay connection closed before the message was sent")
    for piece in wire:
        protocol.write(piece)
    response = await protocol.read_response(timeout=smtp.timeout)
    if response.code != SMTPStatus.completed:
        raise SMTPDataError(response.code, response.message)
    return response


IDLE_TTL_SECONDS = 10.0  # an idle connection older than this is closed, not reused
# Idle connections kept per process. Fewer than the helpdesk's concurrent sessions means
# one connection closed and another opened for nearly every message (64 sessions with 32
# kept: 11 % fewer msg/s). The cap stays at the smtpd processes a default Postfix relay
# runs (default_process_limit = 100), and idle ones expire after IDLE_TTL_SECONDS anyway.
MAX_IDLE_CONNECTIONS = 100
REUSE_LIMIT = 100  # messages per connection, like Postfix's smtp_connection_reuse_count_limit
ABORT_TIMEOUT = 5.0
SERVICE_CLOSING = 421


@dataclass(slots=True)
class _Connection:
    smtp: aiosmtplib.SMTP
    idle_since: float = field(default_factory=time.monotonic)
    uses: int = 0

    @property
    def reused(self) -> bool:
        return self.uses > 0


class SmtpRelay:
    leaves_machine = True

    def __init__(self, target: SmtpTarget, *, local_hostname: str) -> None:
        self.target = target
        self.description = str(target)
        self._local_hostname = local_hostname
        self._idle: list[_Connection] = []
        self._tls_context = self._make_tls_context() if target.security != "plain" else None
        self.connections_opened = 0

    def _make_tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            cafile=str(self.target.cafile) if self.target.cafile else None
        )
        if not self.target.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def begin(self) -> SmtpTransaction:
        return SmtpTransaction(self)

    async def acquire(self) -> _Connection:
        """An idle live connection if there is one, else a new one (raises on failure)."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if (
                conn.smtp.is_connected
                and now - conn.idle_since < IDLE_TTL_SECONDS
                and conn.uses < REUSE_LIMIT
            ):
                return conn
            await self.discard(conn)
        return await self._connect()

    async def _connect(self) -> _Connection:
        target = self.target
        smtp = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            use_tls=target.security == "tls",
            start_tls=target.security == "starttls",
            tls_context=self._tls_context,
            timeout=target.timeout,
            local_hostname=self._local_hostname,
        )
        try:
            await smtp.connect()
            if smtp.last_ehlo_response is None:
                await smtp.ehlo()
            if target.username is not None:
                await smtp.login(target.username, target.password or "")
        except BaseException:
            smtp.close()
            raise
        self.connections_opened += 1
        return _Connection(smtp)

    def release(self, conn: _Connection) -> None:
        """Return a connection that is between transactions back to the pool."""
        conn.uses += 1
        conn.idle_since = time.monotonic()
        if conn.smtp.is_connected and len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(conn)
        else:
            conn.smtp.close()

    async def discard(self, conn: _Connection) -> None:
        conn.smtp.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(SMTPException, OSError, asyncio.TimeoutError):
                await conn.smtp.quit(timeout=ABORT_TIMEOUT)
            conn.smtp.close()


def _forwardable_options(options: list[str], smtp: aiosmtplib.SMTP) -> list[str] | Reply:
    """Keep the MAIL parameters the relay understands; SMTPUTF8 it lacks is a refusal."""
    kept: list[str] = []
    for option in options:
        keyword = option.split("=", 1)[0].upper()
        relay_supports = smtp.supports_extension("8bitmime" if keyword == "BODY" else keyword)
        if keyword == "SMTPUTF8" and not relay_supports:
            return Reply(553, "5.6.7 The relay does not accept SMTPUTF8 (internationalised) mail")
        if keyword in {"BODY", "SIZE", "SMTPUTF8"} and relay_supports:
            kept.append(option)
    return kept


class SmtpTransaction:
    """One relay transaction, mirrored step by step from the helpdesk's session."""

    def __init__(self, relay: SmtpRelay) -> None:
        self._relay = relay
        self._conn: _Connection | None = None
        self._sender: str | None = None
        self._mail_options: list[str] = []
        self._accepted: list[tuple[str, list[str]]] = []

    async def mail(self, sender: str, options: list[str]) -> Reply:
        # A pooled connection may have been closed by the relay while idle; that is
        # only discovered on use, so a failure on a reused connection gets one retry.
        for _attempt in range(2):
            try:
                conn = await self._relay.acquire()
            except SMTPTimeoutError:
                return relay_timeout("connection")
            except (SMTPException, OSError) as exc:
                return relay_unreachable(str(exc) or type(exc).__name__)
            reply = await self._mail_on(conn, sender, options)
            if reply is not None:
                return reply
            if not conn.reused:
                return relay_disconnected("sender")
        return relay_disconnected("sender")

    async def _mail_on(self, conn: _Connection, sender: str, options: list[str]) -> Reply | None:
        """MAIL FROM on one connection; None means the connection died and may be retried."""
        forward = _forwardable_options(options, conn.smtp)
        if isinstance(forward, Reply):
            self._relay.release(conn)
            return forward
        try:
            null_or_sender = "" if sender == "<>" else sender  # aiosmtplib writes "" as <>
            response = await conn.smtp.mail(null_or_sender, options=forward, encoding="utf-8")
        except SMTPResponseException as exc:
            self._finish_with(conn, exc.code)
            return relay_refusal(exc.code, exc.message, "sender")
        except SMTPTimeoutError:
            await self._relay.discard(conn)
            return relay_timeout("sender")
        except (SMTPServerDisconnected, OSError):
            await self._relay.discard(conn)
            return None
        self._conn, self._sender, self._mail_options = conn, sender, list(options)
        return Reply(250, f"2.1.0 Ok ({one_line(response.message)})")

    def _finish_with(self, conn: _Connection, code: int) -> None:
        """After a refusal the connection is reusable unless the relay is closing it."""
        if code == SERVICE_CLOSING:
            conn.smtp.close()
        else:
            self._relay.release(conn)

    async def rcpt(self, recipient: str, options: list[str]) -> Reply:
        conn = self._conn
        if conn is None or not conn.smtp.is_connected:
            self._conn = None
            return relay_disconnected("recipient")
        try:
            response = await conn.smtp.rcpt(recipient, encoding="utf-8")
        except SMTPResponseException as exc:
            if exc.code == SERVICE_CLOSING:
                await self._drop_connection()
            return relay_refusal(exc.code, exc.message, "recipient")
        except SMTPTimeoutError:
            await self._drop_connection()
            return relay_timeout("recipient")
        except (SMTPServerDisconnected, OSError):
            await self._drop_connection()
            return relay_disconnected("recipient")
        self._accepted.append((recipient, options))
        return Reply(250, f"2.1.5 Ok ({one_line(response.message)})")

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            await self._relay.discard(self._conn)
            self._conn = None

    async def _reopen(self, sender: str) -> Reply | None:
        """Start the transaction again (new sender, or the old connection died).

        Every recipient the helpdesk was told is accepted must be accepted again;
        if the relay now refuses one, nobody gets the message and the helpdesk hears
        451, so it retries the whole message instead of one recipient silently missing it.
        """
        await self.abort(keep_recipients=True)
        mail_reply = await self.mail(sender, self._mail_options)
        if not mail_reply.ok:
            return Reply(451, f"4.4.0 Relay refused the sender on retry ({mail_reply})")
        accepted, self._accepted = self._accepted, []
        for recipient, options in accepted:
            reply = await self.rcpt(recipient, options)
            if not reply.ok:
                await self.abort()
                return Reply(451, f"4.4.0 Relay refused <{recipient}> on retry ({reply})")
        return None

    async def send(self, sender: str, content: bytes) -> Reply:
        if not self._accepted:
            return Reply(554, "5.5.1 No valid recipients")
        conn = self._conn
        if conn is None or not conn.smtp.is_connected or sender != self._sender:
            failure = await self._reopen(sender)
            if failure is not None:
                return failure
            conn = self._conn
            if conn is None:  # _reopen succeeded, so it holds a connection
                return relay_disconnected("message")
        self._conn = None
        try:
            if len(content) > _FORMAT_OFF_LOOP_FROM:
                response = await _data_formatted_off_loop(conn.smtp, content)
            else:
                response = await conn.smtp.data(content)
        except SMTPResponseException as exc:
            self._finish_with(conn, exc.code)
            return relay_refusal(exc.code, exc.message, "message")
        except SMTPTimeoutError:
            await self._relay.discard(conn)
            return relay_timeout("message")
        except (SMTPServerDisconnected, OSError):
            await self._relay.discard(conn)
            return relay_disconnected("message")
        self._relay.release(conn)
        return Reply(250, f"2.0.0 Ok: relayed ({one_line(response.message)})")

    async def abort(self, *, keep_recipients: bool = False) -> None:
        """RSET and return the connection to the pool (LIFO, so a retry gets it back)."""
        conn, self._conn = self._conn, None
        if not keep_recipients:
            self._accepted = []
        if conn is None:
            return
        try:
            await conn.smtp.rset(timeout=ABORT_TIMEOUT)
        except (TimeoutError, SMTPException, OSError):
            await self._relay.discard(conn)
            return
        self._relay.release(conn)
