"""The verdict on one reply: answered, or why not (empty, no content, canned, questions open).

Order matters and mirrors how a reviewer reads: no text at all; nothing said
beyond greeting, pleasantries and closing; only an acknowledgement or
auto-reply; then, when the customer's questions are known, which of them the
reply leaves open. A complaint without questions needs only a substantive
reply, not a specific match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from gateway.answer.fitted import DEFAULT_THRESHOLD, FittedMatcher
from gateway.answer.matching import Context, QuestionMatcher
from gateway.answer.questions import customer_message, questions
from gateway.answer.substance import analyse
from gateway.answer.text import detect_language

Kind = Literal["answered", "empty", "no_content", "canned", "auto_reply", "off_topic", "unanswered"]

DEFAULT_MIN_WORDS = 3
DEFAULT_QUESTION_COVERAGE = DEFAULT_THRESHOLD  # fitted with the weights (bench/fit_answer_model.py)
# With an acknowledgement template in the reply, this many words of other text are needed
# before the reply counts as more than the template.
CANNED_RESIDUAL_WORDS = 15


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

    @property
    def untouched(self) -> tuple[str, ...]:
        """Open questions the reply takes up nothing of (no word, synonym or answer cue)."""
        return untouched(self.unanswered, self.coverage)


def untouched(questions: tuple[str, ...], coverage: dict[str, float]) -> tuple[str, ...]:
    """The questions whose coverage is 0: not one word, synonym or answer cue taken up."""
    return tuple(q for q in questions if coverage.get(q) == 0)


def judge(
    new_text: str,
    quoted: str,
    settings: AnswerSettings = AnswerSettings(),
    *,
    customer_text: str | None = None,
    subject_line: str = "",
    auto_submitted: bool = False,
    matcher: QuestionMatcher | None = None,
    inline: Sequence[tuple[str, str]] = (),
) -> Verdict:
    """Judge the agent's new text against the customer's questions.

    `customer_text` is the customer's message from the thread store (the inbound
    leg saw it); without it the customer's text is read from the quoted history.
    `inline` is the reply's answers between quotes (`ReplyParts.inline`).
    """
    source_kind: Literal["inbound", "quoted", "none"]
    if customer_text is not None:
        customer, source_kind = customer_text, "inbound"
    else:
        customer, source_kind = (customer_message(quoted) if quoted.strip() else ""), "quoted"
    asked = tuple(questions(customer))
    if not asked:
        source_kind = "none"

    if not new_text.strip():
        return Verdict("empty", asked, asked, question_source=source_kind)
    substance = analyse(new_text, settings.greeting_words, settings.canned_phrases)
    if auto_submitted or substance.automated:
        return Verdict("auto_reply", asked, asked, substance.canned, source_kind)
    if substance.canned and substance.word_count < CANNED_RESIDUAL_WORDS:
        return Verdict("canned", asked, asked, substance.canned, source_kind)
    if substance.informative_word_count < settings.min_words:
        return Verdict("no_content", asked, asked, substance.canned, source_kind)
    if not asked:
        return Verdict("answered", question_source=source_kind)

    language = detect_language(f"{new_text}\n{customer}")
    context = Context(customer, subject_line, tuple(inline))
    found = (matcher or FittedMatcher()).scores(asked, substance.substantive, language, context)
    scores = {question: round(score, 2) for question, score in zip(asked, found, strict=True)}
    open_questions = tuple(q for q in asked if scores[q] < settings.question_coverage)
    if not open_questions:
        return Verdict("answered", asked, (), substance.canned, source_kind, scores)
    kind: Kind = "unanswered"
    if substance.canned and len(open_questions) == len(asked):
        kind = "canned"
    elif len(untouched(asked, scores)) == len(asked):
        kind = "off_topic"  # says something, but nothing of what was asked
    return Verdict(kind, asked, open_questions, substance.canned, source_kind, scores)
