"""Checks look at a message and report findings; they never change or route it.

Each check is a small unit with a name (its ``[checks.<name>]`` section), the
reason code it reports and a one-line description (shown by ``gateway policy
check``). The decision is made elsewhere (engine.py), from all findings
together, so a reviewer always sees every reason, not just the first.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.message import MessageView
from gateway.policy.schema import Action, Policy


@dataclass(frozen=True, slots=True)
class Finding:
    """A reason code, the sentence a reviewer reads, the action, and supporting details."""

    code: str
    detail: str
    action: Action
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "detail": self.detail,
            "action": str(self.action),
            **({"details": self.details} if self.details else {}),
        }


@dataclass(frozen=True, slots=True)
class Subject:
    """What a check looks at: the envelope sender and the parsed message."""

    mail_from: str
    view: MessageView


class Check(Protocol):
    name: str
    code: str
    description: str

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]: ...


def _is_noreply(address: str, globs: list[str]) -> bool:
    local = address.rpartition("@")[0].lower() if "@" in address else address.lower()
    return any(fnmatch.fnmatchcase(local, glob) for glob in globs)


class NoreplySender:
    """Customers must be able to answer a real person: a no-reply sender defeats that.

    Looks at the envelope sender and the From, Sender and Reply-To headers. The
    finding names every address concerned and, when the policy has a
    ``[rewrite] monitored`` address, where customers' replies should go instead.
    """

    name = "noreply_sender"
    code = "noreply_sender"
    description = "envelope sender, From, Sender or Reply-To is a no-reply address"

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]:
        globs = policy.noreply_globs
        view = subject.view
        places: list[tuple[str, str]] = []
        if subject.mail_from not in {"", "<>"} and _is_noreply(subject.mail_from, globs):
            places.append(("MAIL FROM", subject.mail_from))
        for header, addresses in (
            ("From", view.from_addresses),
            ("Sender", view.sender),
            ("Reply-To", view.reply_to),
        ):
            places.extend(
                (header, address.address)
                for address in addresses
                if _is_noreply(address.address, globs)
            )
        if not places:
            return []
        where = ", ".join(f"{header} <{address}>" for header, address in places)
        monitored = policy.rewrite.monitored if policy.rewrite else None
        advice = (
            f"; replies should go to {monitored}"
            if monitored
            else "; set [rewrite] monitored to give customers an address that is read"
        )
        return [
            Finding(
                self.code,
                f"Sent from a no-reply address ({where}), so the customer cannot answer{advice}",
                action,
                {
                    "addresses": [{"field": h, "address": a} for h, a in places],
                    **({"monitored": monitored} if monitored else {}),
                },
            )
        ]


CHECKS: tuple[Check, ...] = (NoreplySender(),)
