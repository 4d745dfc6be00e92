"""The mail flow's side of threads: record customer messages, measure replies, log latency.

Recording never decides delivery: it runs after the relay accepted the message,
and a store failure here is logged (`thread_record_failed`) while the helpdesk
still gets the relay's 250. A lost latency figure is better than a lost mail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from gateway.attribution import quoted_time
from gateway.latency import ReplyFacts, ReplyLatency
from gateway.message import MessageView
from gateway.metrics import Metrics
from gateway.policy.loader import NamedPolicy, PolicySet
from gateway.policy.schema import LatencySection
from gateway.store.base import Store, StoreError
from gateway.threads import CustomerMessage, ThreadKeys, keys_of

log = structlog.get_logger()
_NO_POLICY = LatencySection()


class ThreadRecorder:
    """Joins messages to threads in the store; one per gateway (or per CLI release)."""

    def __init__(
        self, store: Store, policies: Callable[[], PolicySet], metrics: Metrics | None = None
    ) -> None:
        self.store = store
        self.policies = policies
        self.metrics = metrics
        # Without any recorded customer message (no inbound leg anywhere on this store),
        # the answer check's lookup would always come back empty: skip it.
        self.customers_known = store.has_customer_messages()

    def _patterns(self, first: NamedPolicy | None = None) -> list[re.Pattern[str]]:
        """Ticket patterns: the message's own policy first, then every policy's in name order."""
        named = [first] if first else []
        named.extend(self.policies().policies)
        patterns = [n.policy.latency.ticket_pattern for n in named]
        return list(dict.fromkeys(p for p in patterns if p is not None))

    def keys(
        self, view: MessageView, queue_id: str, named: NamedPolicy | None = None
    ) -> ThreadKeys:
        return keys_of(view, queue_id, self._patterns(named))

    def lookup_keys(
        self, view: MessageView, queue_id: str, policies: PolicySet, mail_from: str
    ) -> ThreadKeys | None:
        """Keys to look the customer's text up with, or None when no check would read it.

        Cheap and on the loop: the store is asked only for replies (a parent or a
        ticket) under a policy whose answer check runs, once customers were recorded.
        """
        if not self.customers_known or not policies.policies:
            return None
        candidates = [mail_from, *(a.address for a in view.from_addresses)]
        named = policies.select([c for c in candidates if c and c != "<>"])
        if named is None or named.policy.checks.answer.action == "off":
            return None
        keys = self.keys(view, queue_id, named)
        return keys if keys.parents or keys.ticket else None

    def customer_text(self, keys: ThreadKeys) -> str | None:
        """The thread's unanswered customer text, for the answer check; None if unknown."""
        try:
            return self.store.customer_text(keys)
        except StoreError as exc:
            failure = str(exc)
        log.warning("thread_lookup_failed", error=failure)
        return None

    def customer_arrived(self, view: MessageView, queue_id: str, sender: str) -> None:
        keys = self.keys(view, queue_id)
        message = CustomerMessage(keys, datetime.now(UTC), sender, view.reply.new_text)
        self.customers_known = True
        try:
            thread_id = self.store.record_customer(message)
        except StoreError as exc:
            thread_id, failure = None, str(exc)  # logged below: one line, no traceback
        if thread_id is None:
            log.error(
                "thread_record_failed", leg="inbound", message_id=keys.message_id, error=failure
            )
            return
        log.info(
            "customer_message", message_id=keys.message_id, thread_id=thread_id, ticket=keys.ticket
        )

    def reply_keys(
        self, view: MessageView, queue_id: str, named: NamedPolicy | None
    ) -> ThreadKeys | None:
        """The thread keys of a reply worth measuring; None for agent-started and auto mail.

        Cheap (headers only), so the caller can skip the store round trip for mail
        that is not a reply at all.
        """
        auto = str(view.headers.get("Auto-Submitted", "")).split(";")[0].strip().lower()
        if auto not in {"", "no"}:
            return None  # auto-replies neither answer nor stop the clock
        keys = self.keys(view, queue_id, named)
        if not keys.parents and keys.ticket is None:
            return None  # agent-started mail: no thread to answer
        return keys

    def reply_relayed(
        self,
        view: MessageView,
        queue_id: str,
        agent: str,
        named: NamedPolicy | None,
        relayed_at: datetime | None = None,
    ) -> ReplyLatency | None:
        """Measure a reply the relay accepted and log `reply_latency`."""
        keys = self.reply_keys(view, queue_id, named)
        if keys is None:
            return None
        latency_policy = named.policy.latency if named else _NO_POLICY
        facts = ReplyFacts(
            keys=keys,
            relayed_at=relayed_at or datetime.now(UTC),
            agent=agent,
            policy=named.name if named else None,
            sla_seconds=latency_policy.sla,
            business=latency_policy.business,
            quoted_at=quoted_time(view.cheap_text, view.sent_at),
        )
        failure = ""
        try:
            latency = self.store.record_reply(facts)
        except StoreError as exc:
            latency, failure = None, str(exc)
        if failure:
            log.error(
                "thread_record_failed", leg="outbound", message_id=keys.message_id, error=failure
            )
            return None
        if latency is not None:
            log.info("reply_latency", agent=agent, policy=facts.policy, **latency.as_event())
            if self.metrics is not None:
                self.metrics.reply(latency)
        return latency
