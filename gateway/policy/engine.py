"""From a message to a decision: pick the policy, run its checks, decide.

Decision order (contract): reject > hold > relay. ``log`` findings are
recorded in the decision and the log line but never change where the mail goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gateway.message import MessageView
from gateway.policy.checks import CHECKS, Check, Finding, Subject
from gateway.policy.loader import NamedPolicy, PolicySet
from gateway.policy.schema import Action
from gateway.rewrite import Rewrite, plan_rewrites

Verdict = Literal["relay", "hold", "reject"]


@dataclass(frozen=True, slots=True)
class Decision:
    action: Verdict
    policy: str | None
    findings: tuple[Finding, ...]
    named: NamedPolicy | None = None
    rewrites: tuple[Rewrite, ...] = ()

    @property
    def reasons(self) -> list[str]:
        return [finding.code for finding in self.findings]

    def first(self, action: Action) -> Finding | None:
        return next((f for f in self.findings if f.action == action), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "policy": self.policy,
            "reasons": self.reasons,
            "findings": [finding.as_json() for finding in self.findings],
            "rewrites": [change.as_json() for change in self.rewrites],
        }


def _action_for(check: Check, named: NamedPolicy) -> Action:
    section = getattr(named.policy.checks, check.name)
    return Action(section.action)


def decide(findings: list[Finding]) -> Verdict:
    actions = {finding.action for finding in findings}
    if Action.REJECT in actions:
        return "reject"
    if Action.HOLD in actions:
        return "hold"
    return "relay"


def select_policy(view: MessageView, mail_from: str, policies: PolicySet) -> NamedPolicy | None:
    """The policy for a message: the first whose [match] fits the envelope sender or From."""
    candidates = [mail_from, *(address.address for address in view.from_addresses)]
    return policies.select([c for c in candidates if c and c != "<>"])


def evaluate(
    view: MessageView,
    mail_from: str,
    policies: PolicySet,
    customer_text: str | None = None,
) -> Decision:
    """The whole judgement of one message under one policy set.

    `customer_text`: the customer's newest message in this thread as the inbound leg
    recorded it, when it saw it (see Subject).
    """
    if not policies.policies:
        return Decision("relay", None, ())
    named = select_policy(view, mail_from, policies)
    if named is None:
        return Decision("relay", None, ())
    subject = Subject(mail_from, view, customer_text)
    findings: list[Finding] = []
    for check in CHECKS:
        action = _action_for(check, named)
        if action is Action.OFF:
            continue
        findings.extend(check.run(subject, named.policy, action))
    verdict = decide(findings)
    rewrites = plan_rewrites(view, mail_from, named.policy) if verdict == "relay" else []
    return Decision(verdict, named.name, tuple(findings), named, tuple(rewrites))
