"""Releasing a held message: the same rewrite and a fresh DKIM signature, then the relay.

The message is marked released only after the relay accepted it; any refusal
leaves it held with the reason in its audit trail.
"""

from __future__ import annotations

from gateway.dkim_sign import SigningError
from gateway.message import MessageView
from gateway.outgoing import Outgoing, prepare
from gateway.policy.engine import Decision, evaluate
from gateway.policy.loader import PolicySet
from gateway.rewrite import plan_rewrites
from gateway.smtp.relay import Relay
from gateway.smtp.replies import Reply
from gateway.store.base import HeldMessage


def approved(decision: Decision, view: MessageView, mail_from: str) -> Decision:
    """A held message let go: the reviewer overrides the hold, not the rewrite or signing."""
    named = decision.named
    rewrites = tuple(plan_rewrites(view, mail_from, named.policy)) if named else ()
    return Decision("relay", decision.policy, decision.findings, named, rewrites)


def outgoing_for_release(held: HeldMessage, policies: PolicySet) -> Outgoing:
    """What leaves: the same rewrite and a fresh signature as for a message never held."""
    view = MessageView(held.content)
    decision = evaluate(view, held.mail_from, policies)
    return prepare(held.content, held.mail_from, approved(decision, view, held.mail_from))


async def deliver(
    held: HeldMessage, relay: Relay, policies: PolicySet
) -> tuple[Reply, Outgoing | None]:
    """Send one held message through `relay`; the relay's final answer comes back."""
    try:
        outgoing = outgoing_for_release(held, policies)
    except SigningError as exc:
        return Reply(451, f"4.7.0 DKIM signing failed ({exc})"), None
    txn = await relay.begin()
    try:
        reply = await txn.mail(outgoing.mail_from, [])
        if not reply.ok:
            return reply, outgoing
        for recipient in held.rcpt_tos:
            reply = await txn.rcpt(recipient, [])
            if not reply.ok:
                return Reply(reply.code, f"{reply.text} (recipient <{recipient}>)"), outgoing
        reply = await txn.send(outgoing.mail_from, outgoing.content)
        return reply, outgoing
    finally:
        await txn.abort()
        await relay.close()
