"""Durable storage: held messages and their audit trail (threads follow later)."""

from __future__ import annotations

from pathlib import Path

from gateway.store.base import HeldMessage, Store, StoreError
from gateway.store.sqlite import SqliteStore

__all__ = ["HeldMessage", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """The store a URL names; PostgreSQL arrives with the scale-out work."""
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url.removeprefix("sqlite:///")))
    raise StoreError(f"store {url!r} is not supported by this version; use sqlite:///PATH")
