"""How long the customer waited for this reply (contract: DESIGN.md, `reply_latency`).

Helpdesk SLA semantics: a reply's latency runs from the earliest customer
message in its thread that no reply has answered yet to the moment the gateway
relays the reply. The customer's time comes from the inbound leg (`source:
inbound`); when the gateway never saw any customer message of the thread, from
the reply's quote attribution (`source: quoted`); otherwise it is unknown
(`latency_seconds: null`).

Threads, as the store joins them (gateway/store):

- by Message-ID chain first (In-Reply-To, then References newest to oldest),
  then by the ticket number a policy's `[latency] ticket_pattern` finds in the
  subject; a message matching neither starts a thread named after its oldest
  reference (or its own Message-ID);
- several customers in one thread (a colleague in Cc replying too): every
  customer message joins the thread, and a reply answers all of them; the
  earliest unanswered one sets the latency;
- replies to replies (a second agent message with no new customer message in
  between): logged with `latency_seconds: null` and `follow_up: true`, never
  as a first reply;
- forwarded mail and other agent-started mail (no known parent, no ticket):
  not a reply, no `reply_latency` event; a thread the agent started has no
  first reply time;
- auto-replies (`Auto-Submitted` other than `no`) neither answer nor stop the
  clock: they are not recorded as replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gateway.business_hours import BusinessHours
from gateway.threads import ThreadKeys

Source = Literal["inbound", "quoted"]
# What recording a batch returns, item by item: a customer message's thread id, a
# reply's latency, or None (not a reply, or a repeat).
RecordResults = list["str | ReplyLatency | None"]


@dataclass(frozen=True, slots=True)
class Pending:
    """The earliest customer message of the thread that no reply has answered yet."""

    message_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReplyLatency:
    """One `reply_latency` event (and one row of the store's reply table)."""

    message_id: str
    thread_id: str
    customer_message_id: str | None
    latency_seconds: float | None
    business_seconds: float | None
    first_reply: bool
    source: Source | None
    sla_seconds: float
    sla_breached: bool | None
    follow_up: bool = False

    def as_event(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "thread_id": self.thread_id,
            "customer_message_id": self.customer_message_id,
            "latency_seconds": self.latency_seconds,
            "business_seconds": self.business_seconds,
            "first_reply": self.first_reply,
            "source": self.source,
            "sla_seconds": self.sla_seconds,
            "sla_breached": self.sla_breached,
            "follow_up": self.follow_up,
        }


@dataclass(frozen=True, slots=True)
class ReplyFacts:
    """What the gateway knows about an outgoing reply when it is relayed (or released)."""

    keys: ThreadKeys
    relayed_at: datetime
    agent: str
    policy: str | None
    sla_seconds: float
    business: BusinessHours | None
    quoted_at: datetime | None  # from the quote attribution, for threads never seen inbound


def measure(
    facts: ReplyFacts,
    thread_id: str,
    pending: Pending | None,
    customer_seen: bool,
    earlier_replies: int,
) -> ReplyLatency:
    """The latency of one reply, given what the thread store knows about its thread."""
    customer_id: str | None = None
    started: datetime | None = None
    source: Source | None = None
    if pending is not None:
        customer_id, started, source = pending.message_id, pending.at, "inbound"
    elif not customer_seen and facts.quoted_at is not None:
        started, source = facts.quoted_at, "quoted"
    follow_up = customer_seen and pending is None
    wall = None if started is None else (facts.relayed_at - started).total_seconds()
    if wall is not None and wall < 0:
        wall, source = None, None  # a quote dated after the reply: a wrong clock, not a wait
    business = None
    if wall is not None and started is not None and facts.business is not None:
        business = facts.business.seconds_between(started, facts.relayed_at)
    counted = business if business is not None else wall
    return ReplyLatency(
        message_id=facts.keys.message_id,
        thread_id=thread_id,
        customer_message_id=customer_id,
        latency_seconds=None if wall is None else round(wall, 3),
        business_seconds=None if business is None else round(business, 3),
        first_reply=earlier_replies == 0
        and not follow_up
        and (customer_seen or source is not None),
        source=source,
        sla_seconds=facts.sla_seconds,
        sla_breached=None if counted is None else counted > facts.sla_seconds,
        follow_up=follow_up,
    )
