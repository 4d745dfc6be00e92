"""What joins a message to its thread: its Message-ID, its parents, its ticket number.

Helpdesks tag threads differently (Zammad "[Ticket#1234567]", osTicket
"[#123]", RT "[rt #123]"), and some break the Message-ID chain, so a ticket
number found by a policy's `[latency] ticket_pattern` joins what the chain does
not. A message without a Message-ID gets a synthetic one from its queue id, so
it can still be recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gateway.message import MessageView


@dataclass(frozen=True, slots=True)
class ThreadKeys:
    message_id: str
    parents: tuple[str, ...]  # In-Reply-To first, then References newest to oldest
    ticket: str | None


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    """A customer's message as the inbound leg records it."""

    keys: ThreadKeys
    received_at: datetime
    sender: str
    text: str  # the customer's new text (quotes and signature split off)


def keys_of(view: MessageView, queue_id: str, patterns: Iterable[re.Pattern[str]]) -> ThreadKeys:
    parents = list(view.in_reply_to)
    parents.extend(ref for ref in reversed(view.references) if ref not in parents)
    ticket = next((t for t in (view.ticket(p) for p in patterns) if t), None)
    own = view.message_id or f"<{queue_id}@gateway.invalid>"
    return ThreadKeys(own, tuple(p for p in parents if p != own), ticket)
