"""The steps after the decision, in order: rewrite senders, drop broken signatures, sign.

Signing comes last, over the exact bytes handed to the relay, so nothing the
gateway does can invalidate its own signature. A message whose policy asks
for a signature and cannot get one is not sent (the caller answers 451).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.dkim_sign import Signer, is_broken_by, load_signing_key
from gateway.headers import join_message, split_message
from gateway.policy.engine import Decision
from gateway.rewrite import Rewrite, apply_header_rewrites, old_domains, rewritten_header_names


@dataclass(frozen=True, slots=True)
class Outgoing:
    mail_from: str
    content: bytes
    rewrites: tuple[Rewrite, ...] = ()
    removed_signatures: int = 0
    signature: str | None = None  # "d=DOMAIN s=SELECTOR a=ALGORITHM" when signed


def _drop_broken_signatures(content: bytes, plan: list[Rewrite]) -> tuple[bytes, int]:
    headers = rewritten_header_names(plan)
    domains = old_domains(plan)
    if not headers and not domains:
        return content, 0
    fields, rest = split_message(content)
    kept = [field for field in fields if not is_broken_by(field, headers, domains)]
    return join_message(kept, rest), len(fields) - len(kept)


def rewrite(content: bytes, mail_from: str, decision: Decision) -> Outgoing:
    """The rewritten envelope sender and bytes, stale signatures dropped, not yet signed."""
    plan = list(decision.rewrites)
    sender = next((r.after for r in plan if r.field == "MAIL FROM"), mail_from)
    content = apply_header_rewrites(content, plan)
    content, removed = _drop_broken_signatures(content, plan)
    return Outgoing(sender, content, tuple(plan), removed)


def signer_for(decision: Decision) -> Signer | None:
    """The policy's signer (key read once per file version); raises SigningError."""
    if decision.named is None or decision.named.policy.dkim is None:
        return None
    dkim = decision.named.policy.dkim
    return Signer(dkim.domain, dkim.selector, load_signing_key(dkim.key))


def describe(signer: Signer) -> str:
    """The `dkim` field of the `message` log line."""
    return f"d={signer.domain} s={signer.selector} a={signer.key.algorithm.decode()}"


def prepare(content: bytes, mail_from: str, decision: Decision) -> Outgoing:
    """The envelope sender and bytes to relay; raises SigningError when signing fails."""
    if decision.named is None:
        return Outgoing(mail_from, content)
    outgoing = rewrite(content, mail_from, decision)
    signer = signer_for(decision)
    if signer is None:
        return outgoing
    return replace(outgoing, content=signer.sign(outgoing.content), signature=describe(signer))
