"""The mail flow's side of threads: record customer messages, measure replies, log latency.

Recording never decides delivery: it runs after the relay accepted the message,
and a store failure here is logged (`thread_record_failed`) while the helpdesk
still gets the relay's 250. A lost latency figure is better than a lost mail.

The SMTP handler only queues what it saw (cheap: header fields, the time);
one writer task commits the queue in batches in a worker thread and then logs
`customer_message` / `reply_latency`, so a busy gateway pays one store
transaction and one thread hop per batch instead of per message. Shutdown
drains the queue.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog

from gateway.attribution import quoted_time
from gateway.latency import RecordResults, ReplyFacts, ReplyLatency
from gateway.message import MessageView
from gateway.metrics import Metrics
from gateway.policy.engine import select_policy
from gateway.policy.loader import NamedPolicy, PolicySet
from gateway.policy.schema import LatencySection
from gateway.store.base import Store, StoreError
from gateway.threads import CustomerMessage, ThreadKeys, keys_of

log = structlog.get_logger()
_NO_POLICY = LatencySection()
_BATCH = 200  # records per store transaction at most


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
        self._queue: asyncio.Queue[CustomerMessage | ReplyFacts] | None = None
        self._writer: asyncio.Task[None] | None = None

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
        named = select_policy(view, mail_from, policies)
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

    def reply_keys(
        self, view: MessageView, queue_id: str, named: NamedPolicy | None
    ) -> ThreadKeys | None:
        """The thread keys of a reply worth measuring; None for agent-started and auto mail.

        Cheap (headers only), so the caller can skip the store round trip for mail
        that is not a reply at all.
        """
        if view.auto_submitted:
            return None  # auto-replies neither answer nor stop the clock
        keys = self.keys(view, queue_id, named)
        if not keys.parents and keys.ticket is None:
            return None  # agent-started mail: no thread to answer
        return keys

    def customer_arrived(self, view: MessageView, queue_id: str, sender: str) -> None:
        """Queue a customer message the helpdesk's intake accepted (inbound leg)."""
        self.customers_known = True
        keys = self.keys(view, queue_id)
        self._put(CustomerMessage(keys, datetime.now(UTC), sender, view.reply.new_text))

    def reply_facts(
        self,
        view: MessageView,
        queue_id: str,
        agent: str,
        named: NamedPolicy | None,
        relayed_at: datetime | None = None,
    ) -> ReplyFacts | None:
        """What a relayed reply contributes to its thread; None when it is not a reply."""
        keys = self.reply_keys(view, queue_id, named)
        if keys is None:
            return None
        latency_policy = named.policy.latency if named else _NO_POLICY
        return ReplyFacts(
            keys=keys,
            relayed_at=relayed_at or datetime.now(UTC),
            agent=agent,
            policy=named.name if named else None,
            sla_seconds=latency_policy.sla,
            business=latency_policy.business,
            quoted_at=quoted_time(view.cheap_text, view.sent_at),
        )

    def reply_relayed(
        self, view: MessageView, queue_id: str, agent: str, named: NamedPolicy | None
    ) -> None:
        """Queue a reply the relay accepted (outbound leg)."""
        facts = self.reply_facts(view, queue_id, agent, named)
        if facts is not None:
            self._put(facts)

    def reply_released(
        self, view: MessageView, queue_id: str, agent: str, named: NamedPolicy | None
    ) -> ReplyLatency | None:
        """A held reply delivered by `gateway held release`: recorded at once (no writer)."""
        facts = self.reply_facts(view, queue_id, agent, named)
        if facts is None:
            return None
        (latency,) = self._write([facts])
        return latency if isinstance(latency, ReplyLatency) else None

    # --- the writer ----------------------------------------------------------

    def _put(self, item: CustomerMessage | ReplyFacts) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._writer = asyncio.get_running_loop().create_task(self._drain_forever())
        self._queue.put_nowait(item)

    async def _drain_forever(self) -> None:
        queue = self._queue
        assert queue is not None  # noqa: S101 - created together with this task
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < _BATCH:
                batch.append(queue.get_nowait())
            try:
                await asyncio.to_thread(self._write, batch)
            finally:
                for _ in batch:
                    queue.task_done()

    async def flush(self) -> None:
        """Wait until everything queued is written (shutdown, tests)."""
        if self._queue is not None:
            await self._queue.join()

    async def close(self) -> None:
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None

    def _write(self, items: Sequence[CustomerMessage | ReplyFacts]) -> RecordResults:
        try:
            results = self.store.record(items)
        except StoreError as exc:
            failure = str(exc)
        else:
            self._report(items, results)
            return results
        for item in items:
            leg = "inbound" if isinstance(item, CustomerMessage) else "outbound"
            log.error(
                "thread_record_failed", leg=leg, message_id=item.keys.message_id, error=failure
            )
        return [None] * len(items)

    def _report(
        self,
        items: Sequence[CustomerMessage | ReplyFacts],
        results: Sequence[str | ReplyLatency | None],
    ) -> None:
        for item, result in zip(items, results, strict=True):
            if isinstance(item, CustomerMessage):
                log.info(
                    "customer_message",
                    message_id=item.keys.message_id,
                    thread_id=result,
                    ticket=item.keys.ticket,
                )
            elif isinstance(result, ReplyLatency):
                log.info("reply_latency", agent=item.agent, policy=item.policy, **result.as_event())
                if self.metrics is not None:
                    self.metrics.reply(result)
