"""The note an agent gets when their reply is held (`[hold] notify_sender = true`).

Sent like a delivery status notification: null envelope sender, so it can
never trigger another notice or bounce loop, and `Auto-Submitted:
auto-generated` (RFC 3834) so helpdesks do not open a ticket for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from gateway.smtp.relay import Relay
from gateway.smtp.replies import Reply
from gateway.store.base import HeldMessage


def build_notice(held: HeldMessage, hostname: str) -> bytes:
    notice = EmailMessage(policy=SMTP)
    notice["From"] = f"helpdesk-gateway <postmaster@{hostname}>"
    notice["To"] = held.mail_from
    notice["Subject"] = f"Held for review: {held.subject or '(no subject)'}"
    notice["Date"] = format_datetime(datetime.now(UTC))
    notice["Message-ID"] = make_msgid(domain=hostname)
    notice["Auto-Submitted"] = "auto-generated"
    if held.message_id:
        notice["In-Reply-To"] = held.message_id
    reasons = "\n".join(f"- {finding['detail']}" for finding in held.findings)
    notice.set_content(
        f"Your reply to {', '.join(held.rcpt_tos)} was not sent yet: a reviewer will look\n"
        f"at it first.\n\nWhy:\n{reasons}\n\n"
        f"If you fix it, send the corrected reply; a reviewer can also release this one\n"
        f"(held message id {held.id}).\n"
    )
    return notice.as_bytes()


async def send_notice(held: HeldMessage, relay: Relay, hostname: str) -> Reply:
    """One notice through the relay; the relay's answer comes back (never raises)."""
    txn = await relay.begin()
    try:
        reply = await txn.mail("<>", [])
        if reply.ok:
            reply = await txn.rcpt(held.mail_from, [])
        if reply.ok:
            reply = await txn.send("<>", build_notice(held, hostname))
        return reply
    finally:
        await txn.abort()
