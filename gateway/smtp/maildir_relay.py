"""A relay that delivers into a local Maildir: for trying the gateway without a real relay.

The file is written to ``tmp/``, fsynced, renamed into ``new/`` and the directory
fsynced, so a ``250`` from this relay means the bytes survive a power cut, the
same promise a real relay makes. The envelope is kept in two leading header
lines (``X-Envelope-From``, ``X-Envelope-To``); everything after them is exactly
what an SMTP relay would have received.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from pathlib import Path

from gateway.smtp.replies import Reply, one_line

_counter = itertools.count()


class MaildirRelay:
    leaves_machine = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"maildir:{path}"
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)

    async def begin(self) -> MaildirTransaction:
        return MaildirTransaction(self)

    async def close(self) -> None:
        return None

    def deliver(self, sender: str, recipients: list[str], content: bytes) -> str:
        """Write one message durably; returns the file name (blocking: run it in a thread)."""
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(_counter)}.{socket.gethostname()}"
        envelope = (
            f"X-Envelope-From: <{one_line(sender)}>\r\n"
            f"X-Envelope-To: {', '.join(f'<{one_line(r)}>' for r in recipients)}\r\n"
        ).encode("utf-8", "surrogateescape")
        tmp_path = self.path / "tmp" / name
        with open(tmp_path, "wb") as handle:
            handle.write(envelope)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp_path, self.path / "new" / name)
        directory = os.open(self.path / "new", os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return name


class MaildirTransaction:
    """Accepts every recipient: a mailbox on disk has no one to refuse them."""

    def __init__(self, relay: MaildirRelay) -> None:
        self._relay = relay
        self._recipients: list[str] = []

    async def mail(self, sender: str, options: list[str]) -> Reply:
        return Reply(250, "2.1.0 Ok")

    async def rcpt(self, recipient: str, options: list[str]) -> Reply:
        self._recipients.append(recipient)
        return Reply(250, "2.1.5 Ok")

    async def send(self, sender: str, content: bytes) -> Reply:
        try:
            name = await asyncio.to_thread(
                self._relay.deliver, sender, list(self._recipients), content
            )
        except OSError as exc:
            return Reply(451, f"4.3.0 Could not write to the outbox maildir ({exc.strerror})")
        return Reply(250, f"2.0.0 Ok: stored in maildir as {name}")

    async def abort(self) -> None:
        self._recipients.clear()
