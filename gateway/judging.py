"""The decision both fronts take on a message, with its I/O kept off the event loop.

The customer's recorded text is read from the store (in a worker thread, and only
when the answer check would use it); a big message is judged in a worker thread
(MIME parsing grows with size). The SMTP handler and the milter call this one
function, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio

from gateway.message import MessageView
from gateway.offload import sized_call
from gateway.policy.engine import Decision, evaluate
from gateway.policy.loader import PolicySet
from gateway.thread_recorder import ThreadRecorder


async def judge(
    view: MessageView,
    mail_from: str,
    policies: PolicySet | None,
    threads: ThreadRecorder | None,
    queue_id: str,
) -> Decision:
    """`policies` None (the inbound leg): relayed unjudged."""
    if policies is None:
        return Decision("relay", None, ())
    customer_text = None
    keys = threads.lookup_keys(view, queue_id, policies, mail_from) if threads else None
    if threads is not None and keys is not None:
        customer_text = await asyncio.to_thread(threads.customer_text, keys)
    return await sized_call(len(view.raw), evaluate, view, mail_from, policies, customer_text)
