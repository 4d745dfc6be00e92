"""The aiosmtpd handler: each SMTP step of the helpdesk mirrored onto the relay.

MAIL and RCPT are answered with the relay's own answers (lockstep), DATA with
the relay's answer to the final bytes. Nothing here answers 250 on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

from gateway.dkim_sign import SigningError
from gateway.holding import HoldDesk, held_message
from gateway.ids import new_queue_id
from gateway.judging import judge
from gateway.message import MessageView
from gateway.metrics import Metrics
from gateway.offload import sized_call
from gateway.outcome import count_message, log_message, rejection
from gateway.outgoing import Outgoing, prepare
from gateway.policy.engine import Decision
from gateway.policy.loader import PolicySet
from gateway.rewrite import target_for
from gateway.smtp.content import normalise_line_endings
from gateway.smtp.relay import Relay
from gateway.smtp.replies import (
    AUTH_FIRST,
    HOLD_UNAVAILABLE,
    INTERNAL_ERROR,
    MEMORY_BUSY,
    SHUTTING_DOWN,
    TOO_MANY_RECIPIENTS,
    Reply,
    one_line,
)
from gateway.smtp.server import GatewayEnvelope, GatewaySMTP, declared_size
from gateway.store.base import Store
from gateway.tasks import BackgroundTasks
from gateway.thread_recorder import ThreadRecorder

log = structlog.get_logger()


class RelayHandler:
    """Forwards one listener's transactions to its relay, after the policies had their say.

    `policies` is asked for the current set at MAIL FROM; the transaction keeps that
    set to its end, so a reload never changes a decision half-way. The inbound leg
    passes ``policies=None``: customer mail is never judged, only passed on.
    """

    def __init__(
        self,
        relay: Relay,
        *,
        leg: str,
        max_recipients: int,
        policies: Callable[[], PolicySet] | None = None,
        store: Store | None = None,
        threads: ThreadRecorder | None = None,
        metrics: Metrics | None = None,
        hostname: str = "localhost",
    ) -> None:
        self.relay = relay
        self.threads = threads
        self.metrics = metrics
        self.leg = leg
        self.max_recipients = max_recipients
        self.policies = policies
        self.store = store
        self.hostname = hostname
        self.background = BackgroundTasks()
        self.holds = HoldDesk(store, relay, hostname, self.background) if store else None

    async def _hold(
        self, envelope: GatewayEnvelope, content: bytes, view: MessageView, decision: Decision
    ) -> Reply:
        """Commit the message for review; 250 only once it is on disk, 451 if it cannot be."""
        if self.holds is None:
            return HOLD_UNAVAILABLE
        held = held_message(
            envelope.queue_id or new_queue_id(),
            mail_from=envelope.mail_from or "",
            rcpt_tos=envelope.rcpt_tos,
            content=content,
            view=view,
            decision=decision,
        )
        return await self.holds.hold(held, decision)

    async def handle_MAIL(
        self,
        server: GatewaySMTP,
        session: Any,
        envelope: GatewayEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if server.state.draining:
            server.loop.call_soon(server.close_for_shutdown)
            return str(SHUTTING_DOWN)
        if not server.peer_allowed and not session.authenticated:
            return str(AUTH_FIRST)
        size = declared_size(mail_options)
        if size and not server.state.budget.take(size):
            log.warning("memory_budget_full", declared_size=size, mail_from=address)
            return str(MEMORY_BUSY)
        envelope.reserved = size
        envelope.queue_id = new_queue_id()
        envelope.started = time.monotonic()
        envelope.policies = self.policies() if self.policies else None
        structlog.contextvars.bind_contextvars(
            leg=self.leg, queue_id=envelope.queue_id, client=server.peer_host()
        )
        txn = await self.relay.begin()
        reply = await txn.mail(self._relay_sender(address, envelope.policies), mail_options)
        if not reply.ok:
            await txn.abort()
            server.state.budget.give(envelope.reserved)
            envelope.reserved = 0
            log.info("sender_refused", mail_from=address, reply=str(reply))
            return str(reply)
        envelope.relay_txn = txn
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    @staticmethod
    def _relay_sender(address: str, policies: PolicySet | None) -> str:
        """The envelope sender to open the relay transaction with.

        When the policy chosen by the envelope sender alone rewrites it, the relay gets
        the rewritten sender right away; the final decision (which may pick another
        policy through the From header) replays MAIL/RCPT only when that guess was wrong.
        """
        if policies is None or address in {"", "<>"}:
            return address
        named = policies.select([address])
        target = target_for(address, named.policy) if named is not None else None
        return target or address

    async def handle_RCPT(
        self,
        server: GatewaySMTP,
        session: Any,
        envelope: GatewayEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return str(TOO_MANY_RECIPIENTS)
        txn = envelope.relay_txn
        if txn is None:
            return "503 5.5.1 Send MAIL FROM first"
        reply = await txn.rcpt(address, rcpt_options)
        if not reply.ok:
            log.info("recipient_refused", rcpt_to=address, reply=str(reply))
            return str(reply)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(
        self, server: GatewaySMTP, session: Any, envelope: GatewayEnvelope
    ) -> str:
        txn, envelope.relay_txn = envelope.relay_txn, None
        if txn is None:
            return "503 5.5.1 Send MAIL FROM first"
        raw: bytes = envelope.original_content or b""
        content, fixed_line_endings = normalise_line_endings(raw, envelope.bare_line_endings)
        view = MessageView(content)
        queue_id = envelope.queue_id or new_queue_id()
        decision = await judge(
            view, envelope.mail_from or "", envelope.policies, self.threads, queue_id
        )
        outgoing: Outgoing | None = None
        try:
            if decision.action == "relay":
                outgoing, reply = await self._prepare(content, envelope.mail_from or "", decision)
                if outgoing is not None:
                    reply = await txn.send(outgoing.mail_from, outgoing.content)
            elif decision.action == "reject":
                reply = rejection(decision)
            else:
                reply = await self._hold(envelope, content, view, decision)
        except BaseException:
            await txn.abort()
            raise
        if not reply.ok or decision.action != "relay":
            await txn.abort()
        if reply.ok and decision.action == "relay":
            self._record(view, queue_id, envelope.mail_from or "", decision)
        self._report(envelope, view, decision, outgoing, reply, fixed=fixed_line_endings)
        return str(reply)

    def _report(
        self,
        envelope: GatewayEnvelope,
        view: MessageView,
        decision: Decision,
        outgoing: Outgoing | None,
        reply: Reply,
        *,
        fixed: bool,
    ) -> None:
        """The `message` log line (contract), rewrite events and metrics of one transaction."""
        count_message(self.metrics, self.leg, decision, outgoing, reply)
        log_message(
            view=view,
            decision=decision,
            outgoing=outgoing,
            reply=reply,
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            relay=self.relay.description,
            started=envelope.started,
            bare_line_endings_fixed=fixed,
        )

    def _record(self, view: MessageView, queue_id: str, sender: str, decision: Decision) -> None:
        """After the relay's 250: queue the thread record (written in batches, off the loop)."""
        threads = self.threads
        if threads is None:
            return
        if self.leg == "inbound":
            threads.customer_arrived(view, queue_id, sender)
        else:
            threads.reply_relayed(view, queue_id, sender, decision.named)

    async def _prepare(
        self, content: bytes, mail_from: str, decision: Decision
    ) -> tuple[Outgoing | None, Reply]:
        """Rewrite and sign; big messages in a worker thread so the loop keeps serving."""
        try:
            outgoing = await sized_call(len(content), prepare, content, mail_from, decision)
        except SigningError as exc:
            failure = str(exc)
        else:
            return outgoing, Reply(250, "2.0.0 prepared")
        log.error("dkim_sign_failed", policy=decision.policy, error=failure)
        return None, Reply(
            451, f"4.7.0 DKIM signing failed ({one_line(failure)}); the message was not sent"
        )

    async def handle_exception(self, error: Exception) -> str:
        """Whatever broke, the helpdesk hears a 451 and keeps the message; admins get a line."""
        log.error("smtp_session_error", error=str(error), error_type=type(error).__name__)
        return str(INTERNAL_ERROR)
