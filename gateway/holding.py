"""Putting a message on hold: the store commit both fronts answer on.

The SMTP proxy answers 250 and the milter DISCARDs only after `hold` returned a
success, i.e. after the message is committed to the store; a store that cannot
take it turns into a 451 for the sender, so the message stays with the sender.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from gateway.hold_notice import send_notice
from gateway.message import MessageView
from gateway.policy.engine import Decision
from gateway.smtp.relay import Relay
from gateway.smtp.replies import Reply
from gateway.store.base import HeldMessage, Store, StoreError
from gateway.tasks import BackgroundTasks

log = structlog.get_logger()

HOLD_FAILED = Reply(451, "4.3.0 The message needs review but could not be stored; try again later")


def held_message(
    queue_id: str,
    *,
    mail_from: str,
    rcpt_tos: list[str],
    content: bytes,
    view: MessageView,
    decision: Decision,
) -> HeldMessage:
    return HeldMessage(
        id=queue_id,
        received_at=datetime.now(UTC),
        mail_from=mail_from,
        rcpt_tos=tuple(rcpt_tos),
        content=content,
        subject=view.subject,
        message_id=view.message_id,
        thread_key=(view.references or view.in_reply_to or (None,))[0],
        policy=decision.policy,
        findings=tuple(finding.as_json() for finding in decision.findings),
    )


async def hold(store: Store, held: HeldMessage) -> Reply:
    """Commit `held` (off the loop); 250 once it is stored, 451 when it cannot be."""
    failure: str | None = None
    try:
        await asyncio.to_thread(store.hold, held)
    except StoreError as exc:
        failure = str(exc)
    if failure is not None:
        log.error("hold_store_failed", error=failure)
        return HOLD_FAILED
    log.info("message_held", id=held.id, reasons=held.reasons, policy=held.policy)
    return Reply(250, f"2.0.0 held for review {held.id}")


class HoldDesk:
    """The hold step of both fronts: commit, answer, then (when the policy says so) tell
    the agent, after the answer; a notice that fails is logged, never retried into a loop."""

    def __init__(
        self, store: Store, relay: Relay, hostname: str, background: BackgroundTasks
    ) -> None:
        self.store = store
        self.relay = relay
        self.hostname = hostname
        self.background = background

    async def hold(self, held: HeldMessage, decision: Decision) -> Reply:
        reply = await hold(self.store, held)
        named = decision.named
        if reply.ok and named is not None and named.policy.hold.notify_sender and held.mail_from:
            self.background.spawn(self._notify(held))
        return reply

    async def _notify(self, held: HeldMessage) -> None:
        reply = await send_notice(held, self.relay, self.hostname)
        log.info("hold_notice", id=held.id, to=held.mail_from, reply=str(reply))
