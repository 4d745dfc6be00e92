"""The `message` log line (contract), its `sender_rewritten` companions and the metrics,
for both fronts.

One function, so a transaction through the SMTP proxy and one through the milter
are logged with the same fields and the same meanings.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from gateway.message import MessageView
from gateway.metrics import Metrics
from gateway.outgoing import Outgoing
from gateway.policy.engine import Decision
from gateway.policy.schema import Action
from gateway.smtp.replies import Reply, one_line

log = structlog.get_logger()


def rejection(decision: Decision) -> Reply:
    """The 550 a rejected message gets: the finding's sentence and the policy file."""
    finding = decision.first(Action.REJECT)
    reason = finding.detail if finding else "refused by policy"
    return Reply(550, f"5.7.1 {one_line(reason)} [{decision.policy}]")


def outcome_of(reply: Reply) -> str:
    if reply.ok:
        return "accepted"
    return "tempfail" if reply.temporary else "refused"


def count_message(
    metrics: Metrics | None,
    leg: str,
    decision: Decision,
    outgoing: Outgoing | None,
    reply: Reply,
) -> None:
    """The same transaction in the Prometheus counters (no-op without an endpoint)."""
    if metrics is None:
        return
    if outgoing is not None and reply.ok:
        for change in outgoing.rewrites:
            metrics.rewrite(change.field)
    findings = [finding.as_json() for finding in decision.findings]
    metrics.message(leg, decision.action, outcome_of(reply), findings)


def log_message(
    *,
    view: MessageView,
    decision: Decision,
    outgoing: Outgoing | None,
    reply: Reply,
    mail_from: str | None,
    rcpt_tos: list[str],
    relay: str,
    started: float,
    **extra: Any,
) -> None:
    if outgoing is not None and reply.ok:
        for change in outgoing.rewrites:
            log.info(
                "sender_rewritten", field=change.field, before=change.before, after=change.after
            )
    log.info(
        "message",
        action=decision.action,
        reasons=decision.reasons,
        policy=decision.policy,
        findings=[finding.as_json() for finding in decision.findings],
        rewrites=[change.as_json() for change in outgoing.rewrites] if outgoing else [],
        dkim=outgoing.signature if outgoing else None,
        dkim_removed=outgoing.removed_signatures if outgoing else 0,
        mail_from=mail_from,
        rcpt_tos=rcpt_tos,
        message_id=view.message_id,
        size=len(view.raw),
        outcome=outcome_of(reply),
        reply=str(reply),
        relay=relay,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        **extra,
    )
