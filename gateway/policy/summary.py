"""One line per policy for `gateway policy check`: what an admin needs to confirm at a glance."""

from __future__ import annotations

from gateway.policy.checks import CHECKS
from gateway.policy.loader import NamedPolicy


def _duration(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def summarise(named: NamedPolicy) -> str:
    policy = named.policy
    parts = [f"senders {', '.join(policy.match.senders)}"]
    if policy.rewrite:
        parts.append(
            f"no-reply ({', '.join(policy.rewrite.noreply)}) -> {policy.rewrite.monitored}"
        )
    if policy.dkim:
        parts.append(f"dkim {policy.dkim.domain}/{policy.dkim.selector}")
    checks = policy.checks
    running = [check.name for check in CHECKS]
    parts.append("checks " + " ".join(f"{n}={getattr(checks, n).action}" for n in running))
    parts.append(f"sla {_duration(policy.latency.sla)}")
    if policy.latency.ticket_pattern is not None:
        parts.append(f"ticket /{policy.latency.ticket_pattern.pattern}/")
    return f"{named.name}: ok; " + "; ".join(parts)
