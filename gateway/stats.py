"""`gateway stats`: how long customers waited and what review did, from the store.

Percentiles are nearest-rank (the value below which the share of replies
lies, taken from the data, never interpolated), so every figure printed is a
real reply's latency. Unknown latencies (`null`) and follow-ups are counted
but not in the percentiles. With business hours in a policy, SLA breaches are
judged on business time, as logged; the latency figures are wall-clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.store.base import HeldRow, ReplyRow

GROUPINGS: dict[str, Callable[[ReplyRow], str]] = {
    "agent": lambda row: row.agent or "(none)",
    "policy": lambda row: row.policy or "(no policy)",
    "day": lambda row: datetime.fromtimestamp(row.relayed_at, UTC).date().isoformat(),
}


def _rank(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(values: Iterable[float | None]) -> dict[str, Any]:
    """count, p50, p90, max (seconds) of the known values."""
    known = [v for v in values if v is not None]
    if not known:
        return {"count": 0, "p50": None, "p90": None, "max": None}
    return {
        "count": len(known),
        "p50": _rank(known, 0.5),
        "p90": _rank(known, 0.9),
        "max": max(known),
    }


def reply_figures(rows: Sequence[ReplyRow]) -> dict[str, Any]:
    answers = [row for row in rows if not row.follow_up]
    return {
        "replies": len(rows),
        "follow_ups": len(rows) - len(answers),
        "first_reply": spread(row.latency_seconds for row in answers if row.first_reply),
        "reply_latency": spread(row.latency_seconds for row in answers),
        "unknown_latency": sum(1 for row in answers if row.latency_seconds is None),
        "sla_breaches": sum(1 for row in answers if row.sla_breached),
    }


def review_figures(rows: Sequence[HeldRow], now: float) -> dict[str, Any]:
    decided = [row for row in rows if row.status != "held"]
    waiting = [row for row in rows if row.status == "held"]
    return {
        "held": len(waiting),
        "released": sum(1 for row in rows if row.status == "released"),
        "rejected": sum(1 for row in rows if row.status == "rejected"),
        "review_wait": spread(row.status_at - row.received_at for row in decided),
        "oldest_waiting": max((now - row.received_at for row in waiting), default=None),
    }


def compute(
    replies: Sequence[ReplyRow],
    held: Sequence[HeldRow],
    *,
    since: float | None,
    by: str | None,
    now: float | None = None,
) -> dict[str, Any]:
    """The whole `gateway stats --json` object."""
    moment = time.time() if now is None else now
    result: dict[str, Any] = {
        "since": None if since is None else datetime.fromtimestamp(since, UTC).isoformat(),
        **reply_figures(replies),
        **review_figures(held, moment),
    }
    if by is not None:
        key = GROUPINGS[by]
        groups: dict[str, list[ReplyRow]] = {}
        for row in replies:
            groups.setdefault(key(row), []).append(row)
        result["by"] = by
        result["groups"] = {name: reply_figures(rows) for name, rows in sorted(groups.items())}
    return result


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _spread_cells(figures: dict[str, Any]) -> str:
    return " / ".join(_duration(figures[k]) for k in ("p50", "p90", "max"))


def render(result: dict[str, Any]) -> str:
    """The human table."""
    window = f"since {result['since']}" if result["since"] else "all time"
    lines = [
        f"replies ({window}): {result['replies']} "
        f"({result['follow_ups']} follow-ups, {result['unknown_latency']} with unknown latency)",
        f"{'':<22}{'count':>7}  p50 / p90 / max",
        f"{'first reply time':<22}{result['first_reply']['count']:>7}  "
        f"{_spread_cells(result['first_reply'])}",
        f"{'reply latency':<22}{result['reply_latency']['count']:>7}  "
        f"{_spread_cells(result['reply_latency'])}",
        f"{'SLA breaches':<22}{result['sla_breaches']:>7}",
        f"review: {result['held']} held, {result['released']} released, "
        f"{result['rejected']} rejected; wait {_spread_cells(result['review_wait'])}"
        + (
            f"; oldest waiting {_duration(result['oldest_waiting'])}"
            if result["oldest_waiting"] is not None
            else ""
        ),
    ]
    if "groups" in result:
        lines.append("")
        lines.append(
            f"{'by ' + result['by']:<28}{'replies':>8}{'breaches':>9}  "
            "first reply p50/p90/max  latency p50/p90/max"
        )
        for name, figures in result["groups"].items():
            first, latency = figures["first_reply"], figures["reply_latency"]
            lines.append(
                f"{name[:27]:<28}{figures['replies']:>8}{figures['sla_breaches']:>9}  "
                f"{_spread_cells(first):<24} {_spread_cells(latency)}"
            )
    return "\n".join(lines)
