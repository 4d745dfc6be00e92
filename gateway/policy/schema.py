"""The policy file schema (contract: DESIGN.md "Policy files").

Strict on purpose: an unknown key is an error, because a typo such as
``acton = "hold"`` would otherwise silently leave a check at its default.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from gateway.answer.judge import DEFAULT_QUESTION_COVERAGE
from gateway.business_hours import BusinessHours

DEFAULT_NOREPLY = ("noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


class Action(StrEnum):
    """What a finding does to the message (reject > hold > relay; log only records)."""

    HOLD = "hold"
    LOG = "log"
    REJECT = "reject"
    OFF = "off"


def parse_duration(value: Any) -> float:
    """'90s', '15m', '24h', '2d', '1w' or a number of seconds -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"{value!r} is not a duration such as 90s, 15m, 24h, 2d or 1w")
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def _glob(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string glob")  # noqa: TRY004 - pydantic wants ValueError
    text = value.strip()
    if not text:
        raise ValueError("an empty glob matches nothing")
    if any(char.isspace() or ord(char) < 32 for char in text):
        raise ValueError(f"glob {value!r} contains whitespace or control characters")
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth:
        raise ValueError(f"glob {value!r} has an unclosed '['")
    return text.lower()


def _sender_glob(value: str) -> str:
    if value != "*" and "@" not in value:
        raise ValueError(f"sender glob {value!r} has no '@' (write '*@{value}' for a domain)")
    return value


def _local_part_glob(value: str) -> str:
    if "@" in value:
        raise ValueError(f"{value!r}: noreply globs match the local part only (no '@')")
    return value


def _address(value: Any) -> str:
    text = str(value).strip()
    if not _ADDRESS.match(text):
        raise ValueError(f"{value!r} is not an email address")
    return text


def _private_key_file(value: Any) -> Path:
    """A key that signs: readable, PEM, RSA >= 2048 bits or Ed25519 (checked at load time)."""
    from gateway.dkim_sign import SigningError, load_signing_key  # noqa: PLC0415 - import cycle

    path = Path(str(value))
    try:
        load_signing_key(path)
    except SigningError as exc:
        raise ValueError(str(exc)) from exc
    return path


def _greeting_word(value: Any) -> str:
    text = " ".join(str(value).split())
    if not text or len(text) > 40 or any(char in text for char in ",:;!"):
        raise ValueError(f"{value!r} is not a greeting word (1-40 characters, no punctuation)")
    return text


def _phrase(value: Any) -> str:
    text = " ".join(str(value).split()).lower()
    if len(text) < 6:
        raise ValueError(f"phrase {value!r} is too short to match safely (6 characters at least)")
    return text


def _ticket_pattern(value: Any) -> re.Pattern[str]:
    try:
        pattern = re.compile(str(value))
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc})") from exc
    if pattern.groups != 1:
        raise ValueError(f"needs exactly one group for the ticket number, has {pattern.groups}")
    return pattern


Glob = Annotated[str, BeforeValidator(_glob)]
SenderGlob = Annotated[Glob, AfterValidator(_sender_glob)]
LocalPartGlob = Annotated[Glob, AfterValidator(_local_part_glob)]
EmailAddress = Annotated[str, BeforeValidator(_address)]
Phrase = Annotated[str, BeforeValidator(_phrase)]
Duration = Annotated[float, BeforeValidator(parse_duration)]
KeyFile = Annotated[Path, BeforeValidator(_private_key_file)]
TicketPattern = Annotated[re.Pattern[str], BeforeValidator(_ticket_pattern)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchSection(_Section):
    senders: list[SenderGlob] = Field(min_length=1)


class RewriteSection(_Section):
    noreply: list[LocalPartGlob] = Field(default=list(DEFAULT_NOREPLY), min_length=1)
    monitored: EmailAddress
    # exact no-reply address -> where it goes instead (e.g. billing-noreply@ -> billing@)
    overrides: dict[str, EmailAddress] = Field(default_factory=dict)

    @field_validator("overrides")
    @classmethod
    def _lower_keys(cls, value: dict[str, str]) -> dict[str, str]:
        checked: dict[str, str] = {}
        for address, target in value.items():
            checked[_address(address).lower()] = target
        return checked


class DkimSection(_Section):
    domain: str = Field(min_length=1)
    selector: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    key: KeyFile


class CheckSection(_Section):
    action: Action


class GreetingCheck(CheckSection):
    action: Action = Action.HOLD
    # The greeting must contain the customer's name (To display name or their sign-off).
    require_name: bool = False
    # Greeting words of your own, added to the built-in ones (e.g. "moin moin", "g'day").
    words: list[Annotated[str, BeforeValidator(_greeting_word)]] = Field(default_factory=list)


class AnswerCheck(CheckSection):
    action: Action = Action.HOLD
    # Fewer words than this beyond greeting, pleasantries, canned text and closing: no answer.
    min_words: int = Field(default=3, ge=1, le=500)
    # A question counts as answered when the answer model's score for it (0..1: how likely
    # the reply answers it, from the words and sentences it takes up) reaches this.
    question_coverage: float = Field(default=DEFAULT_QUESTION_COVERAGE, ge=0.0, le=1.0)
    # Your own canned sentences (helpdesk macros that answer nothing), added to the built-in ones.
    canned_phrases: list[Phrase] = Field(default_factory=list)
    # What a question left open does (kind "unanswered"); never more than `action`.
    open_questions: Action = Action.HOLD
    # What a question the reply takes up nothing of does (no word, synonym or answer cue of
    # it); the stricter of this and `open_questions` applies, never more than `action`. Only
    # matters when `open_questions` is set lower: e.g. log open questions but hold these.
    untouched_questions: Action = Action.HOLD
    # What a reply that takes up none of the customer's questions does (every one untouched:
    # kind "off_topic"); never more than `action`.
    off_topic: Action = Action.HOLD


class NoreplySenderCheck(CheckSection):
    action: Action = Action.LOG


class NoreplyPhraseCheck(CheckSection):
    action: Action = Action.LOG
    phrases: list[Phrase] = Field(default_factory=list)  # added to the built-in phrases


class FromHeaderCheck(CheckSection):
    action: Action = Action.HOLD


class ChecksSection(_Section):
    greeting: GreetingCheck = GreetingCheck()
    answer: AnswerCheck = AnswerCheck()
    noreply_sender: NoreplySenderCheck = NoreplySenderCheck()
    noreply_phrase: NoreplyPhraseCheck = NoreplyPhraseCheck()
    from_header: FromHeaderCheck = FromHeaderCheck()


class LatencySection(_Section):
    sla: Duration = 86400.0
    ticket_pattern: TicketPattern | None = None
    # SLA clocks count only these hours ("Mon-Fri 09:00-17:00") in `timezone`.
    business_hours: str | None = None
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _valid_hours(self) -> LatencySection:
        try:
            self.business  # noqa: B018 - parsing is the validation
        except ValueError as exc:
            raise ValueError(str(exc)) from exc
        return self

    @property
    def business(self) -> BusinessHours | None:
        if self.business_hours is None:
            return None
        return BusinessHours.parse(self.business_hours, self.timezone)


class HoldSection(_Section):
    # Tell the agent (the envelope sender) why their reply waits, so they can fix it fast.
    notify_sender: bool = False


class Policy(_Section):
    match: MatchSection
    rewrite: RewriteSection | None = None
    dkim: DkimSection | None = None
    checks: ChecksSection = ChecksSection()
    latency: LatencySection = LatencySection()
    hold: HoldSection = HoldSection()

    @property
    def noreply_globs(self) -> list[str]:
        return list(self.rewrite.noreply) if self.rewrite else list(DEFAULT_NOREPLY)
