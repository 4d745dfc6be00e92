"""The verdict on one reply: answered, or why not (empty, no content, canned, questions open).

Order matters and mirrors how a reviewer reads: no text at all; nothing said
beyond greeting, pleasantries and closing; only an acknowledgement or
auto-reply; then, when the customer's questions are known, which of them the
reply leaves open. A complaint without questions needs only a substantive
reply, not a specific match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gateway.answer.matching import ReplyTerms, coverage
from gateway.answer.questions import customer_text, questions
from gateway.answer.substance import analyse
from gateway.answer.text import detect_language

Kind = Literal["answered", "empty", "no_content", "canned", "auto_reply", "unanswered"]

DEFAULT_MIN_WORDS = 5
DEFAULT_QUESTION_COVERAGE = 0.25


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    min_words: int = DEFAULT_MIN_WORDS
    question_coverage: float = DEFAULT_QUESTION_COVERAGE
    canned_phrases: tuple[str, ...] = ()
    greeting_words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    questions: tuple[str, ...] = ()
    unanswered: tuple[str, ...] = ()
    canned: tuple[str, ...] = ()
    question_source: Literal["inbound", "quoted", "none"] = "none"
    coverage: dict[str, float] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.kind == "answered"


def judge(
    new_text: str,
    quoted: str,
    settings: AnswerSettings = AnswerSettings(),
    *,
    recorded_questions: Sequence[str] | None = None,
    auto_submitted: bool = False,
) -> Verdict:
    """Judge the agent's new text against the customer's questions.

    `recorded_questions` come from the thread store (the inbound leg saw the
    customer's message); without them the questions are read from the quoted
    history.
    """
    if recorded_questions is not None:
        asked, source = tuple(recorded_questions), "inbound"
    else:
        asked = tuple(questions(customer_text(quoted))) if quoted.strip() else ()
        source = "quoted" if asked else "none"
    source_kind: Literal["inbound", "quoted", "none"] = source  # type: ignore[assignment]

    if not new_text.strip():
        return Verdict("empty", asked, asked, question_source=source_kind)
    substance = analyse(new_text, settings.greeting_words, settings.canned_phrases)
    if auto_submitted:
        return Verdict("auto_reply", asked, asked, substance.canned, source_kind)
    if substance.word_count < settings.min_words:
        kind: Kind = "canned" if substance.canned else "no_content"
        return Verdict(kind, asked, asked, substance.canned, source_kind)
    if not asked:
        return Verdict("answered", question_source=source_kind)

    language = detect_language(f"{new_text}\n{' '.join(asked)}")
    terms = ReplyTerms.of(substance.substantive, language)
    scores = {question: round(coverage(question, terms, language), 2) for question in asked}
    open_questions = tuple(q for q in asked if scores[q] < settings.question_coverage)
    if not open_questions:
        return Verdict("answered", asked, (), substance.canned, source_kind, scores)
    kind = "canned" if substance.canned and len(open_questions) == len(asked) else "unanswered"
    return Verdict(kind, asked, open_questions, substance.canned, source_kind, scores)


def recorded(texts: Iterable[str]) -> tuple[str, ...]:
    """Questions of customer messages as the inbound leg records them."""
    found: list[str] = []
    for text in texts:
        found.extend(questions(text))
    return tuple(dict.fromkeys(found))
