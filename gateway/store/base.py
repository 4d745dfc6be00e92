"""The store contract: what any backend (SQLite, PostgreSQL) must do.

Status changes are conditional updates, so "released at most once" and
"rejected never leaves" hold with two reviewers and, later, several gateways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from gateway.latency import RecordResults, ReplyFacts
from gateway.threads import CustomerMessage, ThreadKeys


class StoreError(Exception):
    """The store cannot do what was asked; the message is one sentence for a person."""


class TransientStoreError(StoreError):
    """A conflict between concurrent writers (deadlock, serialisation): retrying may succeed."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    """The message is not in a state that allows the action (already released, ...)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    who: str
    action: str
    note: str


@dataclass(frozen=True, slots=True)
class HeldMessage:
    id: str
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    subject: str
    message_id: str | None
    thread_key: str | None
    policy: str | None
    findings: tuple[dict[str, Any], ...]
    status: str = "held"  # held | released | rejected
    audit: tuple[AuditEntry, ...] = field(default=())

    @property
    def reasons(self) -> list[str]:
        return [str(finding["code"]) for finding in self.findings]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "received_at": self.received_at.isoformat(),
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "subject": self.subject,
            "reasons": self.reasons,
            "message_id": self.message_id,
            "policy": self.policy,
        }


@dataclass(frozen=True, slots=True)
class ReplyRow:
    """One measured reply, as `gateway stats` reads it."""

    relayed_at: float
    agent: str
    policy: str | None
    latency_seconds: float | None
    business_seconds: float | None
    first_reply: bool
    sla_breached: bool | None
    follow_up: bool


@dataclass(frozen=True, slots=True)
class HeldRow:
    """One held message's review outcome, as `gateway stats` reads it."""

    received_at: float
    status: str
    status_at: float
    policy: str | None


class Store(Protocol):
    def hold(self, message: HeldMessage) -> None:
        """Commit durably (fsync) before returning; raises StoreError."""

    def get(self, held_id: str) -> HeldMessage: ...

    def list(
        self,
        *,
        status: str | None = None,
        reason: str | None = None,
        older_than: float | None = None,
    ) -> list[HeldMessage]: ...

    def claim_for_release(self, held_id: str, who: str) -> HeldMessage:
        """Reserve a held message for one release; Conflict if released/rejected/claimed."""

    def finish_release(self, held_id: str, who: str, note: str) -> None: ...

    def abandon_release(self, held_id: str, who: str, reason: str) -> None:
        """The relay refused: the message stays held, the audit says why."""

    def reject(self, held_id: str, who: str, note: str) -> HeldMessage: ...

    def purge(self, older_than: float) -> int:
        """Delete released/rejected messages older than `older_than` seconds; held stay."""

    def customer_text(self, keys: ThreadKeys) -> str | None:
        """What the customer wrote in the thread and nobody answered yet, oldest first."""

    def record(self, items: Sequence[CustomerMessage | ReplyFacts]) -> RecordResults:
        """Record, in order and in one transaction: a customer message yields its thread id;
        a reply its latency, or None for agent-started mail or a repeat."""

    def has_customer_messages(self) -> bool:
        """Whether any inbound customer message was ever recorded in this store."""

    def held_count(self) -> int:
        """Messages waiting for review (the metrics gauge)."""

    def replies_since(self, since: float | None) -> tuple[ReplyRow, ...]:
        """Measured replies relayed at or after `since` (epoch seconds; None: all)."""

    def held_since(self, since: float | None) -> tuple[HeldRow, ...]:
        """Held messages received at or after `since`, with their status."""

    def probe(self) -> str:
        """Prove the store takes writes (nothing is kept); a sentence about it, or StoreError."""

    def close(self) -> None: ...
