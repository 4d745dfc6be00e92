"""The SQLite store: WAL, synchronous=FULL, versioned schema, private files.

`synchronous=FULL` in WAL mode fsyncs the log on every commit, so when `hold()`
returns the message survives a power cut: only then does the helpdesk hear 250.
Release is a claim (conditional update) before delivery and a second update
after the relay accepted, so two reviewers cannot both deliver one message.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.store.base import StoreError
from gateway.store.sql import SCHEMA_VERSION, SqlStore, migration_statements

COLUMN_TYPES = {"real": "REAL", "blob": "BLOB", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"}


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


class SqliteStore(SqlStore):
    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.description = str(path)
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
                for statement in migration_statements(number, COLUMN_TYPES):
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
