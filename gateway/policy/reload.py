"""Live policy reload: on SIGHUP and when files change, all or nothing.

A changed directory is reloaded only after its files have stopped changing for
one poll interval, so an editor's half-written save is not read mid-write; a
set with any error is refused as a whole and the last good set stays in force
(rspamd-style maps, Postfix's ``postfix reload``). Transactions hold the set
they started with, so a reload never changes a decision half-way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from gateway.notify import notify
from gateway.policy.loader import PolicyError, PolicySet, fingerprint, load_policies

log = structlog.get_logger()

DEFAULT_POLL_SECONDS = 1.0


class PolicyHolder:
    def __init__(self, directory: Path, *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        self.directory = directory
        self.poll_seconds = poll_seconds
        self.current: PolicySet = load_policies(directory)  # raises PolicyError at start
        self._refused: tuple[tuple[str, int, int], ...] | None = None
        self._lock = asyncio.Lock()

    async def reload(self, trigger: str) -> bool:
        """Load the directory again; True when the new set took effect."""
        async with self._lock:
            try:
                candidate = await asyncio.to_thread(load_policies, self.directory)
            except PolicyError as exc:
                problems = exc.problems
            else:
                self.current = candidate
                self._refused = None
                log.info(
                    "policy_reloaded",
                    trigger=trigger,
                    directory=str(self.directory),
                    policies=[named.name for named in candidate.policies],
                )
                return True
            self._refused = await asyncio.to_thread(fingerprint, self.directory)
        for problem in problems:
            log.error(
                "policy_reload_failed",
                trigger=trigger,
                file=problem.file,
                key=problem.key,
                problem=problem.problem,
                detail="the previous policies stay in force",
            )
        return False

    async def watch(self) -> None:
        """Poll file names, sizes and mtimes; reload once a change has settled."""
        previous = self.current.fingerprint
        while True:
            await asyncio.sleep(self.poll_seconds)
            now = await asyncio.to_thread(fingerprint, self.directory)
            settled = now == previous
            previous = now
            if not settled or now in (self.current.fingerprint, self._refused):
                continue
            await self.reload("file change")


async def reload_on_signal(holder: PolicyHolder) -> None:
    """SIGHUP: reload, telling systemd (RELOADING=1, then READY=1 with the outcome)."""
    notify("RELOADING=1", "STATUS=reloading policies")
    ok = await holder.reload("SIGHUP")
    status = "policies reloaded" if ok else "policy reload failed, previous policies in force"
    notify("READY=1", f"STATUS={status}")
