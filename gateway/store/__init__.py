"""Durable storage: held messages and their audit trail (threads follow later)."""

from __future__ import annotations

from pathlib import Path

from gateway.store.base import HeldMessage, Store, StoreError
from gateway.store.sqlite import SqliteStore

__all__ = ["HeldMessage", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """The store a URL names; PostgreSQL arrives with the scale-out work."""
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
    raise StoreError(f"store {url!r} is not supported by this version; use sqlite:///PATH")
