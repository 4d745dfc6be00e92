"""Durable storage: held messages, audit trail, threads; SQLite or PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path

from gateway.store.base import HeldMessage, Store, StoreError
from gateway.store.sqlite import SqliteStore

__all__ = ["HeldMessage", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """The store a URL names (psycopg is imported only for PostgreSQL URLs)."""
    if url.startswith("sqlite:///"):
        path, _, query = url.removeprefix("sqlite:///").partition("?")
        options = dict(part.partition("=")[::2] for part in query.split("&") if part)
        try:
            busy_timeout = float(options.pop("timeout", "10"))
        except ValueError as exc:
            raise StoreError(f"store URL {url!r}: timeout must be a number of seconds") from exc
        if options:
            raise StoreError(f"store URL {url!r}: unknown option(s) {', '.join(options)}")
        return SqliteStore(Path(path), busy_timeout=busy_timeout)
    if url.startswith(("postgresql://", "postgres://")):
        from gateway.store.postgres import PostgresStore  # noqa: PLC0415

        return PostgresStore(url)
    raise StoreError(
        f"store {url.split(':', 1)[0]}:... is not supported; use sqlite:///PATH or postgresql://..."
    )
