"""The SQLite store: WAL, synchronous=FULL, versioned schema, private files.

`synchronous=FULL` in WAL mode fsyncs the log on every commit, so when `hold()`
returns the message survives a power cut: only then does the helpdesk hear 250.
Release is a claim (conditional update) before delivery and a second update
after the relay accepted, so two reviewers cannot both deliver one message.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.latency import Pending, RecordResults, ReplyFacts, ReplyLatency, measure
from gateway.store.base import (
    AuditEntry,
    Conflict,
    HeldMessage,
    HeldRow,
    NotFound,
    ReplyRow,
    StoreError,
)
from gateway.threads import CustomerMessage, ThreadKeys

CLAIM_STALE_SECONDS = 600  # a release that crashed mid-way can be retried after this

MIGRATIONS: tuple[str, ...] = (
    # 1: held messages and their audit trail
    """
    CREATE TABLE held (
        id TEXT PRIMARY KEY,
        received_at REAL NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt_tos TEXT NOT NULL,
        content BLOB NOT NULL,
        subject TEXT NOT NULL,
        message_id TEXT,
        thread_key TEXT,
        policy TEXT,
        findings TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('held', 'released', 'rejected')),
        status_at REAL NOT NULL,
        claimed_by TEXT,
        claimed_at REAL
    );
    CREATE INDEX held_status ON held (status, received_at);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        held_id TEXT NOT NULL REFERENCES held (id) ON DELETE CASCADE,
        at REAL NOT NULL,
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
        received_at REAL NOT NULL,
        sender TEXT NOT NULL,
        ticket TEXT,
        text TEXT NOT NULL,
        answered_at REAL
    );
    CREATE INDEX customer_message_thread ON customer_message (thread_id, received_at);
    CREATE INDEX customer_message_ticket ON customer_message (ticket);
    CREATE TABLE reply (
        message_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        relayed_at REAL NOT NULL,
        agent TEXT NOT NULL,
        policy TEXT,
        ticket TEXT,
        customer_message_id TEXT,
        latency_seconds REAL,
        business_seconds REAL,
        first_reply INTEGER NOT NULL,
        source TEXT,
        sla_seconds REAL NOT NULL,
        sla_breached INTEGER,
        follow_up INTEGER NOT NULL
    );
    CREATE INDEX reply_thread ON reply (thread_id, relayed_at);
    CREATE INDEX reply_ticket ON reply (ticket);
    CREATE INDEX reply_relayed ON reply (relayed_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _explain(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "unable to open" in text or "readonly" in text or "permission" in text.lower():
        return StoreError(
            f"cannot write the store {path} ({text}); check that the gateway's user owns it "
            "and its directory"
        )
    if "not a database" in text or "malformed" in text:
        return StoreError(f"the store {path} is damaged or not a gateway store ({text})")
    return StoreError(f"store {path}: {text}")


class SqliteStore:
    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._create_private(path)
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise _explain(path, exc) from exc
        except PermissionError as exc:
            raise StoreError(
                f"cannot create the store {path} ({exc.strerror}); check the directory's owner"
            ) from exc

    @staticmethod
    def _create_private(path: Path) -> None:
        """Directory 0700 and file 0600 when the gateway creates them (mail is private)."""
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} has schema {version}, newer than this gateway "
                f"({SCHEMA_VERSION}); upgrade the gateway"
            )
        for number in range(version, SCHEMA_VERSION):
            with self._transaction() as db:  # each step commits with its version, or not at all
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def _transaction(
        self, *, reading: bool = False, durable: bool = True
    ) -> Iterator[sqlite3.Connection]:
        """One transaction under the connection lock.

        `reading`: a deferred transaction that takes no write lock. `durable=False`:
        the commit is not fsynced (`synchronous=NORMAL`: it survives a crash of the
        gateway, not a power cut), for thread and latency records, which are
        statistics: a held message is always written with `durable=True`.
        """
        with self._lock:
            try:
                if not durable:
                    self._db.execute("PRAGMA synchronous=NORMAL")
                try:
                    self._db.execute("BEGIN" if reading else "BEGIN IMMEDIATE")
                    try:
                        yield self._db
                    except BaseException:
                        self._db.execute("ROLLBACK")
                        raise
                    self._db.execute("COMMIT")
                finally:
                    if not durable:
                        self._db.execute("PRAGMA synchronous=FULL")
            except sqlite3.Error as exc:
                raise _explain(self.path, exc) from exc

    def _audit(
        self, db: sqlite3.Connection, held_id: str, who: str, action: str, note: str
    ) -> None:
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

    def _row_to_message(self, row: Any, audit: list[Any]) -> HeldMessage:
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

    _SELECT_ONE = (
        "SELECT id, received_at, mail_from, rcpt_tos, content, subject, message_id,"
        " thread_key, policy, findings, status FROM held WHERE id = ?"
    )
    _SELECT_MANY = (
        "SELECT id, received_at, mail_from, rcpt_tos, content, subject, message_id,"
        " thread_key, policy, findings, status FROM held"
        " WHERE (? IS NULL OR status = ?) AND (? IS NULL OR received_at < ?)"
        " ORDER BY received_at"
    )

    def get(self, held_id: str) -> HeldMessage:
        with self._transaction() as db:
            row = db.execute(self._SELECT_ONE, (held_id,)).fetchone()
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
        cutoff = None if older_than is None else time.time() - older_than
        with self._transaction() as db:
            rows = db.execute(self._SELECT_MANY, (status, status, cutoff, cutoff)).fetchall()
        messages = [self._row_to_message(row, []) for row in rows]
        if reason is not None:
            messages = [m for m in messages if reason in m.reasons]
        return messages

    def _state_conflict(self, db: sqlite3.Connection, held_id: str, action: str) -> StoreError:
        row = db.execute("SELECT status, claimed_by FROM held WHERE id = ?", (held_id,)).fetchone()
        if row is None:
            return NotFound(f"no held message with id {held_id!r}")
        status, claimed_by = row
        if status != "held":
            return Conflict(f"{held_id} was already {status}; it cannot be {action}")
        return Conflict(f"{held_id} is being released by {claimed_by} right now")

    def claim_for_release(self, held_id: str, who: str) -> HeldMessage:
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
    def _thread_of(db: sqlite3.Connection, keys: ThreadKeys) -> str | None:
        """The thread a message joins: Message-ID chain first, then the ticket number."""
        for ref in (keys.message_id, *keys.parents):
            row = db.execute("SELECT thread_id FROM thread_ref WHERE message_id = ?", (ref,))
            found = row.fetchone()
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

    def _join(self, db: sqlite3.Connection, keys: ThreadKeys) -> str:
        thread_id = self._thread_of(db, keys) or (
            keys.parents[-1] if keys.parents else keys.message_id
        )
        db.executemany(
            "INSERT OR IGNORE INTO thread_ref (message_id, thread_id) VALUES (?, ?)",
            [(ref, thread_id) for ref in (keys.message_id, *keys.parents)],
        )
        return thread_id

    def _customer(self, db: sqlite3.Connection, message: CustomerMessage) -> str:
        thread_id = self._join(db, message.keys)
        db.execute(
            "INSERT OR IGNORE INTO customer_message (message_id, thread_id, received_at,"
            " sender, ticket, text) VALUES (?, ?, ?, ?, ?, ?)",
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

    def _reply(self, db: sqlite3.Connection, facts: ReplyFacts) -> ReplyLatency | None:
        known = self._thread_of(db, facts.keys)
        if known is None and not facts.keys.parents:
            return None  # agent-started (or forwarded) mail, or an unknown ticket
        thread_id = self._join(db, facts.keys)
        if db.execute(
            "SELECT 1 FROM reply WHERE message_id = ?", (facts.keys.message_id,)
        ).fetchone():
            return None  # the same reply relayed again (a retry): measured once
        customers = db.execute(
            "SELECT message_id, received_at FROM customer_message WHERE thread_id = ?"
            " AND received_at <= ? ORDER BY received_at",
            (thread_id, facts.relayed_at.timestamp()),
        ).fetchall()
        pending = db.execute(
            "SELECT message_id, received_at FROM customer_message WHERE thread_id = ?"
            " AND answered_at IS NULL AND received_at <= ? ORDER BY received_at LIMIT 1",
            (thread_id, facts.relayed_at.timestamp()),
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
        db.execute(
            "INSERT INTO reply (message_id, thread_id, relayed_at, agent, policy, ticket,"
            " customer_message_id, latency_seconds, business_seconds, first_reply, source,"
            " sla_seconds, sla_breached, follow_up) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (
                latency.message_id,
                thread_id,
                facts.relayed_at.timestamp(),
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
        )
        db.execute(
            "UPDATE customer_message SET answered_at = ? WHERE thread_id = ?"
            " AND answered_at IS NULL AND received_at <= ?",
            (facts.relayed_at.timestamp(), thread_id, facts.relayed_at.timestamp()),
        )
        return latency

    def record(self, items: Sequence[CustomerMessage | ReplyFacts]) -> RecordResults:
        """Record customer messages and replies in arrival order, in one transaction.

        One commit for a batch: the mail flow queues records and writes them together,
        so a busy gateway pays one transaction per batch, not one per message.
        """
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

    def replies_since(self, since: float | None) -> tuple[ReplyRow, ...]:
        with self._transaction(reading=True) as db:
            rows = db.execute(
                "SELECT relayed_at, agent, policy, latency_seconds, business_seconds, first_reply,"
                " sla_breached, follow_up FROM reply WHERE ? IS NULL OR relayed_at >= ?"
                " ORDER BY relayed_at",
                (since, since),
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
        with self._transaction(reading=True) as db:
            rows = db.execute(
                "SELECT received_at, status, status_at, policy FROM held"
                " WHERE ? IS NULL OR received_at >= ? ORDER BY received_at",
                (since, since),
            ).fetchall()
        return tuple(HeldRow(r[0], r[1], r[2], r[3]) for r in rows)

    def probe(self) -> str:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    held = self._db.execute(
                        "SELECT count(*) FROM held WHERE status = 'held'"
                    ).fetchone()[0]
                finally:
                    self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise _explain(self.path, exc) from exc
        return f"{self.path} writable, schema {SCHEMA_VERSION}, {held} held"

    def close(self) -> None:
        self._db.close()
