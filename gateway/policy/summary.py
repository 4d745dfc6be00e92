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
    parts.append(
        "checks " + " ".join(f"{name}={getattr(checks, name).action}" for name in _check_names())
    )
    parts.append(f"sla {_duration(policy.latency.sla)}")
    if policy.latency.ticket_pattern is not None:
        parts.append(f"ticket /{policy.latency.ticket_pattern.pattern}/")
    return f"{named.name}: ok; " + "; ".join(parts)


def _check_names() -> list[str]:
    """Every check section, implemented ones first in the order they run."""
    names = [check.name for check in CHECKS]
    return names + [name for name in ("greeting", "answer") if name not in names]
