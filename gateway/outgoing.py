"""The steps after the decision, in order: rewrite senders, drop broken signatures, sign.

Signing comes last, over the exact bytes handed to the relay, so nothing the
gateway does can invalidate its own signature. A message whose policy asks
for a signature and cannot get one is not sent (the caller answers 451).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def prepare(content: bytes, mail_from: str, decision: Decision) -> Outgoing:
    """The envelope sender and bytes to relay; raises SigningError when signing fails."""
    if decision.named is None:
        return Outgoing(mail_from, content)
    policy = decision.named.policy
    plan = list(decision.rewrites)
    sender = next((r.after for r in plan if r.field == "MAIL FROM"), mail_from)
    content = apply_header_rewrites(content, plan)
    content, removed = _drop_broken_signatures(content, plan)
    signature = None
    if policy.dkim is not None:
        key = load_signing_key(policy.dkim.key)
        signer = Signer(policy.dkim.domain, policy.dkim.selector, key)
        content = signer.sign(content)
        signature = f"d={policy.dkim.domain} s={policy.dkim.selector} a={key.algorithm.decode()}"
    return Outgoing(sender, content, tuple(plan), removed, signature)
