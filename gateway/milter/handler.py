"""The end of a message in the milter: the proxy's decision, told as milter actions.

relay  -> CHGFROM + CHGHEADER edits of the rewrite, INSHEADER of the DKIM signature, CONTINUE
hold   -> `store`: committed to the hold store, then DISCARD (451 when it cannot be stored);
          `quarantine`: the same edits, then QUARANTINE into Postfix's hold queue
reject -> 550 with the finding's sentence

A message no policy judges but addressed to a helpdesk address is a customer's:
it is recorded for the thread clock, as the proxy's inbound leg would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import structlog

from gateway.dkim_sign import Signer, SigningError
from gateway.holding import HoldDesk, held_message
from gateway.judging import judge
from gateway.message import MessageView
from gateway.metrics import Metrics
from gateway.milter import protocol
from gateway.milter.edits import header_edits, signature_insert
from gateway.milter.session import MilterMessage
from gateway.offload import sized_call
from gateway.outcome import count_message, log_message, rejection
from gateway.outgoing import Outgoing, describe, rewrite, signer_for
from gateway.policy.engine import Decision
from gateway.policy.loader import PolicySet
from gateway.release import approved
from gateway.smtp.relay import Relay
from gateway.smtp.replies import Reply, one_line
from gateway.store.base import Store
from gateway.tasks import BackgroundTasks
from gateway.thread_recorder import ThreadRecorder

log = structlog.get_logger()

HoldMode = Literal["store", "quarantine"]
DkimMode = Literal["sign", "off"]

ACCEPTED = Reply(250, "2.0.0 accepted by the gateway milter")
TOO_BIG = Reply(552, "5.3.4 Message too big for the gateway")
_CONTINUE = protocol.encode(protocol.CONTINUE)
_DISCARD = protocol.encode(protocol.DISCARD)


def _answer(reply: Reply) -> bytes:
    return protocol.reply_code(reply.code, one_line(reply.text))


class MilterHandler:
    def __init__(
        self,
        *,
        store: Store,
        threads: ThreadRecorder,
        hold_mode: HoldMode,
        dkim_mode: DkimMode,
        relay: Relay,
        hostname: str,
        policies: Callable[[], PolicySet],
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.threads = threads
        self.hold_mode = hold_mode
        self.dkim_mode = dkim_mode
        self.relay = relay
        self.hostname = hostname
        self.policies = policies
        self.background = BackgroundTasks()
        self.holds = HoldDesk(store, relay, hostname, self.background)

    async def end_of_message(self, message: MilterMessage, macros: dict[str, str]) -> list[bytes]:
        """Every packet for the end of `message`, the final answer last."""
        structlog.contextvars.bind_contextvars(leg="milter", queue_id=message.queue_id)
        try:
            return await self._judge(message, macros.get("i"))
        finally:
            structlog.contextvars.unbind_contextvars("leg", "queue_id")

    async def _judge(self, message: MilterMessage, postfix_queue_id: str | None) -> list[bytes]:
        if message.too_big:
            log.warning("message_too_big", size=message.size, limit=message.max_size)
            return [_answer(TOO_BIG)]
        content = message.content
        view = MessageView(content)
        policies = message.policies or self.policies()
        decision = await judge(view, message.mail_from, policies, self.threads, message.queue_id)
        outgoing: Outgoing | None = None
        if decision.action == "reject":
            reply = rejection(decision)
            packets = [_answer(reply)]
        elif decision.action == "hold" and self.hold_mode == "store":
            reply = await self._hold(message, content, view, decision)
            packets = [_DISCARD if reply.ok else _answer(reply)]
        else:  # relay, or hold into the MTA's quarantine: made ready to leave on release
            ready = decision
            if decision.action == "hold":
                ready = approved(decision, view, message.mail_from)
            outgoing, edits, reply = await self._edits(message, content, ready)
            if decision.action == "hold" and reply.ok:
                reason = f"held for review: {', '.join(decision.reasons)} [{decision.policy}]"
                edits.append(protocol.quarantine(reason))
                reply = Reply(250, f"2.0.0 {reason}; in the MTA's hold queue")
                log.info("message_quarantined", reasons=decision.reasons, policy=decision.policy)
            packets = [*edits, _CONTINUE] if reply.ok else [_answer(reply)]
        if reply.ok and decision.action == "relay":
            self._record(view, message, decision, policies)
        count_message(self.metrics, "milter", decision, outgoing, reply)
        log_message(
            view=view,
            decision=decision,
            outgoing=outgoing,
            reply=reply,
            mail_from=message.mail_from,
            rcpt_tos=message.rcpt_tos,
            relay="milter",
            started=message.started,
            postfix_queue_id=postfix_queue_id,
        )
        return packets

    async def _edits(
        self, message: MilterMessage, content: bytes, decision: Decision
    ) -> tuple[Outgoing | None, list[bytes], Reply]:
        """The rewrite and signature as edit requests; a 451 when the signature fails."""
        if decision.named is None:
            return None, [], ACCEPTED
        try:
            outgoing = await sized_call(len(content), rewrite, content, message.mail_from, decision)
            signer = signer_for(decision) if self.dkim_mode == "sign" else None
            field = (
                await sized_call(len(content), signer.signature_field, outgoing.content)
                if signer
                else None
            )
        except SigningError as exc:
            failure = str(exc)
        else:
            return self._as_edits(message, content, outgoing, signer, field)
        log.error("dkim_sign_failed", policy=decision.policy, error=failure)
        return (
            None,
            [],
            Reply(451, f"4.7.0 DKIM signing failed ({failure}); the message was not sent"),
        )

    @staticmethod
    def _as_edits(
        message: MilterMessage,
        content: bytes,
        outgoing: Outgoing,
        signer: Signer | None,
        field: bytes | None,
    ) -> tuple[Outgoing, list[bytes], Reply]:
        space = message.leading_space
        edits = []
        if outgoing.mail_from != message.mail_from:
            edits.append(protocol.change_from(outgoing.mail_from))
        edits.extend(header_edits(content, outgoing.content, leading_space=space))
        if field is not None and signer is not None:
            edits.append(signature_insert(field, leading_space=space))
            outgoing = Outgoing(
                outgoing.mail_from,
                field + outgoing.content,
                outgoing.rewrites,
                outgoing.removed_signatures,
                describe(signer),
            )
        return outgoing, edits, ACCEPTED

    async def _hold(
        self, message: MilterMessage, content: bytes, view: MessageView, decision: Decision
    ) -> Reply:
        held = held_message(
            message.queue_id,
            mail_from=message.mail_from,
            rcpt_tos=message.rcpt_tos,
            content=content,
            view=view,
            decision=decision,
        )
        return await self.holds.hold(held, decision)

    def _record(
        self, view: MessageView, message: MilterMessage, decision: Decision, policies: PolicySet
    ) -> None:
        """A judged reply stops its thread's clock; a customer's mail to the helpdesk starts it."""
        if decision.named is not None:
            self.threads.reply_relayed(view, message.queue_id, message.mail_from, decision.named)
        elif policies.select(message.rcpt_tos) is not None:
            self.threads.customer_arrived(view, message.queue_id, message.mail_from)
