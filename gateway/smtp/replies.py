"""SMTP replies as values, and the one place that decides what a helpdesk hears.

Every failure path ends in a `Reply`: a code and one sentence. Keeping the
mapping from relay outcomes to client replies in one module is what makes the
before-queue promise auditable: a relay 4xx, a timeout or a dropped connection
can only ever become a 451, never a 250.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}\b")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """Collapse a (possibly multi-line, possibly hostile) text into one safe reply line."""
    return _CONTROL.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply line: `code` and `text` (the text starts with an enhanced status code)."""

    code: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def __str__(self) -> str:
        return f"{self.code} {one_line(self.text)}"


def relay_refusal(code: int, message: str, stage: str) -> Reply:
    """Translate a non-2xx relay answer into what the helpdesk hears.

    Permanent refusals (5xx) pass through unchanged, so the helpdesk bounces with the
    relay's own reason. Every temporary refusal (including 421) becomes 451 so the
    helpdesk keeps the message and retries.
    """
    relay_text = one_line(message)
    if 500 <= code < 600:
        return Reply(code, relay_text if _ENHANCED.match(relay_text) else f"5.0.0 {relay_text}")
    return Reply(
        451,
        f"4.4.0 Relay temporarily refused the {stage} ({code} {relay_text}); try again later",
    )


def relay_unreachable(reason: str) -> Reply:
    """The relay could not be reached at all (refused, unresolvable, TLS failure)."""
    return Reply(451, f"4.4.1 Relay not reachable ({one_line(reason)}); try again later")


def relay_timeout(stage: str) -> Reply:
    return Reply(451, f"4.4.1 Relay did not answer the {stage} in time; try again later")


def relay_disconnected(stage: str) -> Reply:
    return Reply(451, f"4.4.2 Relay dropped the connection during the {stage}; try again later")


INTERNAL_ERROR = Reply(
    451, "4.3.0 Internal gateway error; the message was not accepted, try again later"
)
SHUTTING_DOWN = Reply(421, "4.3.2 Gateway is shutting down; try again later")
TOO_MANY_CONNECTIONS = Reply(421, "4.7.0 Too many connections to this gateway; try again later")
RELAY_DENIED = Reply(554, "5.7.1 Relay access denied: this client is not allowed to send here")
AUTH_FIRST = Reply(
    554, "5.7.1 Relay access denied: authenticate (AUTH after STARTTLS) before sending"
)
MEMORY_BUSY = Reply(
    452, "4.3.1 The gateway holds as much message data as it may right now; try again later"
)
TOO_MANY_RECIPIENTS = Reply(452, "4.5.3 Too many recipients for one message; send the rest again")
BAD_ADDRESS_CHARS = Reply(501, "5.1.7 Address contains CR, LF or NUL characters")
BARE_LF_IN_COMMAND = Reply(
    501, "5.5.2 Bare LF in an SMTP command; commands must end with CRLF (closing connection)"
)
HOLD_UNAVAILABLE = Reply(
    451,
    "4.7.0 This reply needs review before it may leave, and this gateway has no hold store "
    "yet; it was not sent, try again later",
)
