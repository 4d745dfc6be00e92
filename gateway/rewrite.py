"""No-reply senders -> the monitored address, in the envelope and in each header concerned.

Only the address changes: display names (encoded or not), other addresses in
the same header, header order and every other byte stay as they were.
Matching is on the local part, case-insensitive, ignoring a ``+tag``
(``noreply+4711@`` is still a no-reply address).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from gateway.headers import RawField, join_message, split_message
from gateway.message import MessageView
from gateway.policy.schema import Policy

REWRITTEN_HEADERS = ("from", "sender", "reply-to")
_HEADER_LABEL = {"from": "From", "sender": "Sender", "reply-to": "Reply-To"}


@dataclass(frozen=True, slots=True)
class Rewrite:
    field: str  # "MAIL FROM", "From", "Sender" or "Reply-To"
    before: str
    after: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "from": self.before, "to": self.after}


def is_noreply(address: str, globs: list[str]) -> bool:
    local = address.rpartition("@")[0] if "@" in address else address
    local = local.split("+", 1)[0].lower()
    return any(fnmatch.fnmatchcase(local, glob) for glob in globs)


def target_for(address: str, policy: Policy) -> str | None:
    """Where a no-reply address should be rewritten to, or None if it stays."""
    rewrite = policy.rewrite
    if rewrite is None:
        return None
    override = rewrite.overrides.get(address.lower())
    if override is not None:
        return override
    if not is_noreply(address, list(rewrite.noreply)):
        return None
    return None if address.lower() == rewrite.monitored.lower() else rewrite.monitored


def plan_rewrites(view: MessageView, mail_from: str, policy: Policy) -> list[Rewrite]:
    """Every address to change, in the order envelope, From, Sender, Reply-To."""
    plan: list[Rewrite] = []
    if mail_from not in {"", "<>"}:
        target = target_for(mail_from, policy)
        if target:
            plan.append(Rewrite("MAIL FROM", mail_from, target))
    for field, addresses in (
        ("From", view.from_addresses),
        ("Sender", view.sender),
        ("Reply-To", view.reply_to),
    ):
        for address in addresses:
            target = target_for(address.address, policy)
            if target:
                plan.append(Rewrite(field, address.address, target))
    return plan


def _replace_address(value: str, before: str, after: str) -> str:
    pattern = re.compile(r"(^|[<\s,:])" + re.escape(before) + r"(?=[>\s,;]|$)", re.IGNORECASE)
    return pattern.sub(lambda match: match.group(1) + after, value)


def _rewrite_field(field: RawField, changes: list[Rewrite]) -> RawField:
    name, _, value = field.raw.partition(b":")
    text = value.decode("utf-8", "surrogateescape")
    for change in changes:
        text = _replace_address(text, change.before, change.after)
    return RawField(name + b":" + text.encode("utf-8", "surrogateescape"))


def apply_header_rewrites(content: bytes, plan: list[Rewrite]) -> bytes:
    """The message with the planned header rewrites made (the envelope is the caller's)."""
    by_header: dict[str, list[Rewrite]] = {}
    for change in plan:
        if change.field != "MAIL FROM":
            by_header.setdefault(change.field.lower(), []).append(change)
    if not by_header:
        return content
    fields, rest = split_message(content)
    edited = [
        _rewrite_field(field, by_header[field.name]) if field.name in by_header else field
        for field in fields
    ]
    return join_message(edited, rest)


def rewritten_header_names(plan: list[Rewrite]) -> set[str]:
    return {change.field.lower() for change in plan if change.field != "MAIL FROM"}


def old_domains(plan: list[Rewrite]) -> set[str]:
    """Domains of header addresses that were replaced (an envelope change breaks no signature)."""
    return {
        change.before.rpartition("@")[2].lower()
        for change in plan
        if change.field != "MAIL FROM" and "@" in change.before
    }


def header_label(name: str) -> str:
    return _HEADER_LABEL.get(name, name)
