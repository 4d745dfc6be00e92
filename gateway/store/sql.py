"""What every SQL backend shares: the schema steps, the queries, the release states.

The SQLite and PostgreSQL stores differ only in how they connect, open a
transaction, record their schema version and explain their errors; the
queries are written once here, with `?` placeholders and syntax both
engines accept (`INSERT ... ON CONFLICT DO NOTHING`), so a fix to the
thread or release logic cannot reach one backend and miss the other.
"""

from __future__ import annotations

import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway.latency import Pending, RecordResults, ReplyFacts, ReplyLatency, measure
from gateway.store.base import (
    AuditEntry,
    Conflict,
    HeldMessage,
    HeldRow,
    NotFound,
    ReplyRow,
    StoreError,
    TransientStoreError,
)
from gateway.threads import CustomerMessage, ThreadKeys

CLAIM_STALE_SECONDS = 600  # a release that crashed mid-way can be retried after this

# Schema steps, in order; the store's version is how many have run. Column types
# in braces are spelled per engine (see `column_types`), so both engines walk the
# same path: a step added here reaches SQLite and PostgreSQL alike.
MIGRATIONS: tuple[str, ...] = (
    # 1: held messages and their audit trail
    """
    CREATE TABLE held (
        id TEXT PRIMARY KEY,
        received_at {real} NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt_tos TEXT NOT NULL,
        content {blob} NOT NULL,
        subject TEXT NOT NULL,
        message_id TEXT,
        thread_key TEXT,
        policy TEXT,
        findings TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('held', 'released', 'rejected')),
        status_at {real} NOT NULL,
        claimed_by TEXT,
        claimed_at {real}
    );
    CREATE INDEX held_status ON held (status, received_at);
    CREATE TABLE audit (
        seq {serial},
        held_id TEXT NOT NULL REFERENCES held (id) ON DELETE CASCADE,
        at {real} NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        note TEXT NOT NULL
    );
    CREATE INDEX audit_held ON audit (held_id, seq);
    """,
    # 2: threads (customer messages seen inbound, agent replies relayed) and reply latency
    """
    CREATE TABLE thread_ref (
        message_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL
    );
    CREATE TABLE customer_message (
        message_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        received_at {real} NOT NULL,
        sender TEXT NOT NULL,
        ticket TEXT,
        text TEXT NOT NULL,
        answered_at {real}
    );
    CREATE INDEX customer_message_thread ON customer_message (thread_id, received_at);
    CREATE INDEX customer_message_ticket ON customer_message (ticket);
    CREATE TABLE reply (
        message_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        relayed_at {real} NOT NULL,
        agent TEXT NOT NULL,
        policy TEXT,
        ticket TEXT,
        customer_message_id TEXT,
        latency_seconds {real},
        business_seconds {real},
        first_reply INTEGER NOT NULL,
        source TEXT,
        sla_seconds {real} NOT NULL,
        sla_breached INTEGER,
        follow_up INTEGER NOT NULL
    );
    CREATE INDEX reply_thread ON reply (thread_id, relayed_at);
    CREATE INDEX reply_ticket ON reply (ticket);
    CREATE INDEX reply_relayed ON reply (relayed_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
RECORD_ATTEMPTS = 3


def migration_statements(number: int, column_types: dict[str, str]) -> list[str]:
    """Step `number` (0-based) as statements for an engine with these column types."""
    script = MIGRATIONS[number].format(**column_types)
    return [statement for statement in script.split(";") if statement.strip()]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """The part of a DB-API connection the queries use (sqlite3 and an adapter for psycopg)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> Any: ...


class SqlStore(ABC):
    """The Store contract (gateway.store.base.Store) over any engine with a `Database`."""

    description: str  # where the store is, for sentences (never a password)

    @abstractmethod
    def _transaction(
        self, *, reading: bool = False, durable: bool = True
    ) -> AbstractContextManager[Database]:
        """One transaction: committed when the block ends, rolled back when it raises.

        `durable=False` may skip the fsync of the commit (thread and latency records are
        statistics); a held message is always written durably before its 250.
        """

    def _lock_thread(self, db: Database, thread_id: str) -> None:  # noqa: B027 - optional hook
        """Serialise replies of one thread across processes (engines with row-level writers)."""

    @abstractmethod
    def probe(self) -> str: ...

    @abstractmethod
    def close(self) -> None: ...

    # --- held messages ---------------------------------------------------------

    def _audit(self, db: Database, held_id: str, who: str, action: str, note: str) -> None:
        db.execute(
            "INSERT INTO audit (held_id, at, who, action, note) VALUES (?, ?, ?, ?, ?)",
            (held_id, time.time(), who, action, note),
        )

    def hold(self, message: HeldMessage) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO held (id, received_at, mail_from, rcpt_tos, content, subject,"
                " message_id, thread_key, policy, findings, status, status_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'held', ?)",
                (
                    message.id,
                    message.received_at.timestamp(),
                    message.mail_from,
                    json.dumps(list(message.rcpt_tos)),
                    message.content,
                    message.subject,
                    message.message_id,
                    message.thread_key,
                    message.policy,
                    json.dumps(list(message.findings), ensure_ascii=False),
                    message.received_at.timestamp(),
                ),
            )
            self._audit(db, message.id, "gateway", "held", ", ".join(message.reasons))

    @staticmethod
    def _row_to_message(row: Any, audit: list[Any]) -> HeldMessage:
        return HeldMessage(
            id=row[0],
            received_at=datetime.fromtimestamp(row[1], UTC),
            mail_from=row[2],
            rcpt_tos=tuple(json.loads(row[3])),
            content=bytes(row[4]),
            subject=row[5],
            message_id=row[6],
            thread_key=row[7],
            policy=row[8],
            findings=tuple(json.loads(row[9])),
            status=row[10],
            audit=tuple(
                AuditEntry(datetime.fromtimestamp(at, UTC), who, action, note)
                for at, who, action, note in audit
            ),
        )

    _COLUMNS = (
        "SELECT id, received_at, mail_from, rcpt_tos, content, subject, message_id,"
        " thread_key, policy, findings, status FROM held"
    )

    def get(self, held_id: str) -> HeldMessage:
        with self._transaction(reading=True) as db:
            row = db.execute(f"{self._COLUMNS} WHERE id = ?", (held_id,)).fetchone()
            if row is None:
                raise NotFound(f"no held message with id {held_id!r}")
            audit = db.execute(
                "SELECT at, who, action, note FROM audit WHERE held_id = ? ORDER BY seq",
                (held_id,),
            ).fetchall()
        return self._row_to_message(row, audit)

    def list(
        self,
        *,
        status: str | None = None,
        reason: str | None = None,
        older_than: float | None = None,
    ) -> list[HeldMessage]:
        conditions: list[str] = []
        params: list[Any] = []
        if status is not None:
            conditions.append("status = ?")
            params.append(status)
        if older_than is not None:
            conditions.append("received_at < ?")
            params.append(time.time() - older_than)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._transaction(reading=True) as db:
            rows = db.execute(f"{self._COLUMNS}{where} ORDER BY received_at", params).fetchall()
        messages = [self._row_to_message(row, []) for row in rows]
        if reason is not None:
            messages = [m for m in messages if reason in m.reasons]
        return messages

    @staticmethod
    def _state_conflict(db: Database, held_id: str, action: str) -> StoreError:
        row = db.execute("SELECT status, claimed_by FROM held WHERE id = ?", (held_id,)).fetchone()
        if row is None:
            return NotFound(f"no held message with id {held_id!r}")
        status, claimed_by = row
        if status != "held":
            return Conflict(f"{held_id} was already {status}; it cannot be {action}")
        return Conflict(f"{held_id} is being released by {claimed_by} right now")

    def claim_for_release(self, held_id: str, who: str) -> HeldMessage:
        """A conditional update: of two concurrent claims (any processes, any hosts), one wins.

        On PostgreSQL the loser's UPDATE waits for the winner's row lock, then re-reads
        the row and no longer matches; on SQLite the write lock orders them.
        """
        now = time.time()
        with self._transaction() as db:
            claimed = db.execute(
                "UPDATE held SET claimed_by = ?, claimed_at = ? WHERE id = ? AND status = 'held'"
                " AND (claimed_at IS NULL OR claimed_at < ?)",
                (who, now, held_id, now - CLAIM_STALE_SECONDS),
            ).rowcount
            if not claimed:
                raise self._state_conflict(db, held_id, "released")
        return self.get(held_id)

    def finish_release(self, held_id: str, who: str, note: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE held SET status = 'released', status_at = ?, claimed_at = NULL"
                " WHERE id = ? AND status = 'held'",
                (time.time(), held_id),
            )
            self._audit(db, held_id, who, "released", note)

    def abandon_release(self, held_id: str, who: str, reason: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE held SET claimed_by = NULL, claimed_at = NULL WHERE id = ?", (held_id,)
            )
            self._audit(db, held_id, who, "release_failed", reason)

    def reject(self, held_id: str, who: str, note: str) -> HeldMessage:
        now = time.time()
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE held SET status = 'rejected', status_at = ? WHERE id = ?"
                " AND status = 'held' AND (claimed_at IS NULL OR claimed_at < ?)",
                (now, held_id, now - CLAIM_STALE_SECONDS),
            ).rowcount
            if not changed:
                raise self._state_conflict(db, held_id, "rejected")
            self._audit(db, held_id, who, "rejected", note)
        return self.get(held_id)

    def purge(self, older_than: float) -> int:
        with self._transaction() as db:
            return int(
                db.execute(
                    "DELETE FROM held WHERE status IN ('released', 'rejected') AND status_at < ?",
                    (time.time() - older_than,),
                ).rowcount
            )

    # --- threads and latency ---------------------------------------------------

    @staticmethod
    def _thread_of(db: Database, keys: ThreadKeys) -> str | None:
        """The thread a message joins: Message-ID chain first, then the ticket number."""
        for ref in (keys.message_id, *keys.parents):
            found = db.execute(
                "SELECT thread_id FROM thread_ref WHERE message_id = ?", (ref,)
            ).fetchone()
            if found:
                return str(found[0])
        if keys.ticket:
            row = db.execute(
                "SELECT thread_id FROM customer_message WHERE ticket = ? UNION ALL"
                " SELECT thread_id FROM reply WHERE ticket = ? LIMIT 1",
                (keys.ticket, keys.ticket),
            ).fetchone()
            if row:
                return str(row[0])
        return None

    def _join(self, db: Database, keys: ThreadKeys) -> str:
        thread_id = self._thread_of(db, keys) or (
            keys.parents[-1] if keys.parents else keys.message_id
        )
        db.executemany(
            "INSERT INTO thread_ref (message_id, thread_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(ref, thread_id) for ref in (keys.message_id, *keys.parents)],
        )
        return thread_id

    def _customer(self, db: Database, message: CustomerMessage) -> str:
        thread_id = self._join(db, message.keys)
        db.execute(
            "INSERT INTO customer_message (message_id, thread_id, received_at,"
            " sender, ticket, text) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                message.keys.message_id,
                thread_id,
                message.received_at.timestamp(),
                message.sender,
                message.keys.ticket,
                message.text,
            ),
        )
        return thread_id

    def customer_text(self, keys: ThreadKeys) -> str | None:
        with self._transaction(reading=True) as db:
            thread_id = self._thread_of(db, keys)
            if thread_id is None:
                return None
            rows = db.execute(
                "SELECT text FROM customer_message WHERE thread_id = ? AND answered_at IS NULL"
                " ORDER BY received_at",
                (thread_id,),
            ).fetchall()
        return "\n\n".join(str(row[0]) for row in rows) if rows else None

    def _reply(self, db: Database, facts: ReplyFacts) -> ReplyLatency | None:
        known = self._thread_of(db, facts.keys)
        if known is None and not facts.keys.parents:
            return None  # agent-started (or forwarded) mail, or an unknown ticket
        thread_id = self._join(db, facts.keys)
        self._lock_thread(db, thread_id)
        if db.execute(
            "SELECT 1 FROM reply WHERE message_id = ?", (facts.keys.message_id,)
        ).fetchone():
            return None  # the same reply relayed again (a retry): measured once
        relayed_at = facts.relayed_at.timestamp()
        customers = db.execute(
            "SELECT message_id, received_at FROM customer_message WHERE thread_id = ?"
            " AND received_at <= ? ORDER BY received_at",
            (thread_id, relayed_at),
        ).fetchall()
        pending = db.execute(
            "SELECT message_id, received_at FROM customer_message WHERE thread_id = ?"
            " AND answered_at IS NULL AND received_at <= ? ORDER BY received_at LIMIT 1",
            (thread_id, relayed_at),
        ).fetchone()
        earlier = db.execute(
            "SELECT count(*) FROM reply WHERE thread_id = ? AND follow_up = 0", (thread_id,)
        ).fetchone()[0]
        latency = measure(
            facts,
            thread_id,
            Pending(pending[0], datetime.fromtimestamp(pending[1], UTC)) if pending else None,
            bool(customers),
            int(earlier),
        )
        inserted = db.execute(
            "INSERT INTO reply (message_id, thread_id, relayed_at, agent, policy, ticket,"
            " customer_message_id, latency_seconds, business_seconds, first_reply, source,"
            " sla_seconds, sla_breached, follow_up) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                latency.message_id,
                thread_id,
                relayed_at,
                facts.agent,
                facts.policy,
                facts.keys.ticket,
                latency.customer_message_id,
                latency.latency_seconds,
                latency.business_seconds,
                int(latency.first_reply),
                latency.source,
                latency.sla_seconds,
                None if latency.sla_breached is None else int(latency.sla_breached),
                int(latency.follow_up),
            ),
        ).rowcount
        if not inserted:
            return None  # another gateway recorded the same reply a moment ago
        db.execute(
            "UPDATE customer_message SET answered_at = ? WHERE thread_id = ?"
            " AND answered_at IS NULL AND received_at <= ?",
            (relayed_at, thread_id, relayed_at),
        )
        return latency

    def record(self, items: Sequence[CustomerMessage | ReplyFacts]) -> RecordResults:
        """Record customer messages and replies in arrival order, in one transaction.

        One commit for a batch: the mail flow queues records and writes them together,
        so a busy gateway pays one transaction per batch, not one per message.
        """
        for _ in range(RECORD_ATTEMPTS - 1):
            with contextlib.suppress(TransientStoreError):
                return self._record_once(items)
        return self._record_once(items)

    def _record_once(self, items: Sequence[CustomerMessage | ReplyFacts]) -> RecordResults:
        """Two gateways writing one thread can deadlock on PostgreSQL; the batch is retried."""
        results: RecordResults = []
        with self._transaction(durable=False) as db:
            for item in items:
                if isinstance(item, CustomerMessage):
                    results.append(self._customer(db, item))
                else:
                    results.append(self._reply(db, item))
        return results

    def has_customer_messages(self) -> bool:
        with self._transaction(reading=True) as db:
            return db.execute("SELECT 1 FROM customer_message LIMIT 1").fetchone() is not None

    def held_count(self) -> int:
        with self._transaction(reading=True) as db:
            return int(db.execute("SELECT count(*) FROM held WHERE status = 'held'").fetchone()[0])

    @staticmethod
    def _since(column: str, since: float | None) -> tuple[str, tuple[float, ...]]:
        return ("", ()) if since is None else (f" WHERE {column} >= ?", (since,))

    _REPLY_COLUMNS = (
        "SELECT relayed_at, agent, policy, latency_seconds, business_seconds, first_reply,"
        " sla_breached, follow_up FROM reply"
    )

    def replies_since(self, since: float | None) -> tuple[ReplyRow, ...]:
        where, params = self._since("relayed_at", since)
        with self._transaction(reading=True) as db:
            rows = db.execute(
                f"{self._REPLY_COLUMNS}{where} ORDER BY relayed_at", params
            ).fetchall()
        return tuple(
            ReplyRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                bool(r[5]),
                None if r[6] is None else bool(r[6]),
                bool(r[7]),
            )
            for r in rows
        )

    def held_since(self, since: float | None) -> tuple[HeldRow, ...]:
        where, params = self._since("received_at", since)
        with self._transaction(reading=True) as db:
            rows = db.execute(
                f"SELECT received_at, status, status_at, policy FROM held{where}"  # noqa: S608
                " ORDER BY received_at",
                params,
            ).fetchall()
        return tuple(HeldRow(r[0], r[1], r[2], r[3]) for r in rows)
