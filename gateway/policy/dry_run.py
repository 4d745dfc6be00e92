"""`gateway check MESSAGE.eml`: the decision the gateway would make, without sending anything."""

from __future__ import annotations

from typing import Any

from gateway.message import MessageView
from gateway.policy.engine import evaluate
from gateway.policy.loader import PolicySet
from gateway.smtp.content import normalise_line_endings


def dry_run(raw: bytes, policies: PolicySet, mail_from: str | None) -> dict[str, Any]:
    """The JSON object of `check --json` (contract: action, reasons, findings, rewrites)."""
    content, _ = normalise_line_endings(raw)
    view = MessageView(content)
    sender = (
        mail_from
        if mail_from is not None
        else (view.from_addresses[0].address if view.from_addresses else "")
    )
    decision = evaluate(view, sender, policies)
    return {
        **decision.as_json(),
        "mail_from": sender,
        "message_id": view.message_id,
        "subject": view.subject,
        "defects": list(view.defects),
    }


def render_text(result: dict[str, Any]) -> str:
    policy = result["policy"] or "none (no [match] fits: relayed unchanged)"
    lines = [
        f"decision: {result['action']}",
        f"policy:   {policy}",
        f"sender:   {result['mail_from'] or '<>'}",
        f"subject:  {result['subject']}",
    ]
    if result["findings"]:
        lines.append("findings:")
        lines.extend(
            f"  - {finding['code']} ({finding['action']}): {finding['detail']}"
            for finding in result["findings"]
        )
    else:
        lines.append("findings: none")
    if result["defects"]:
        lines.append("message defects (parsed anyway):")
        lines.extend(f"  - {defect}" for defect in result["defects"])
    return "\n".join(lines)
