"""What the agent actually said: the reply's sentences minus greeting, closing and filler.

A reply can be long and still answer nothing: greeting, "Thank you for
contacting us.", "We have received your request and will get back to you.",
"Best regards, Ana". This module sorts the agent's new text into the
substantive sentences, the canned ones (acknowledgements, hand-offs,
auto-replies) and the pleasantries, so the judge can tell an answer from a
template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.answer.lexicon import AUTOMATED, CANNED, CLOSINGS, PLEASANTRIES, SOCIAL_WORDS
from gateway.answer.text import fold, is_stopword, sentences, words
from gateway.greeting import find_greeting

_PLEASANTRY = re.compile("|".join(f"(?:{p})" for p in PLEASANTRIES))
_CANNED = re.compile("|".join(f"(?:{p})" for p in CANNED))
_AUTOMATED = re.compile("|".join(f"(?:{p})" for p in AUTOMATED))
_CLOSING = re.compile(
    r"^(?:" + "|".join(re.escape(c) for c in sorted(CLOSINGS, key=len, reverse=True)) + r")"
    r"(?:\s+(?:and\s+)?(?:from|de|aus|from the|van|da)\s+\S.*)?\s*[,.!\u2014-]*\s*$"
)
_SEPARATOR = re.compile(r"[,:;!\u2014\u2013]|\s-\s")
_SIGNATURE_LINE_WORDS = 8
_SIGNATURE_LINES = 8
# The canned patterns are unanchored and many, so searching them costs ~30 us a sentence.
# Every canned phrase contains a word that starts with one of its patterns' longer
# literal words ("received", "automati", "weiterge", ...); a dictionary lookup per word
# (~2 us a sentence) decides whether the full search is needed. Words common in any
# answer ("will", "your", ...) are left out of the screen.
_COMMON = frozenset(
    re.findall(
        r"\w+",
        "will your have this that from been please dans pour votre vous nous ihre wird sera "
        "esta este para voor onze deze zijn sono essere",
    )
)
_SCREEN: dict[str, tuple[str, ...]] = {}
for _word in {w for pattern in CANNED for w in re.findall(r"[a-z]{4,}", pattern)} - _COMMON:
    _SCREEN[_word[:4]] = (*_SCREEN.get(_word[:4], ()), _word)
_WORDS = re.compile(r"[a-z]{4,}")
_SOCIAL = tuple(sorted({prefix for prefixes in SOCIAL_WORDS.values() for prefix in prefixes}))
_LETTERS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_NOT_SOCIAL_MARK = re.compile(r"\d|@|://|www\.")


def _is_social(sentence: str) -> bool:
    """Only social vocabulary besides function words: no digit, address or link, and every
    other word starts like a word of thanks, wishes, apology or contact (any language)."""
    if _NOT_SOCIAL_MARK.search(sentence):
        return False
    folded = fold(sentence).replace("\u2019", "'")
    found = [w for w in _LETTERS.findall(folded.replace("'", " ")) if not is_stopword(w, "")]
    return bool(found) and all(word.startswith(_SOCIAL) for word in found)


def _may_be_canned(folded: str) -> bool:
    return any(
        word.startswith(candidates)
        for word in _WORDS.findall(folded)
        if (candidates := _SCREEN.get(word[:4]))
    )


@dataclass(frozen=True, slots=True)
class Substance:
    """The agent's new text sorted sentence by sentence."""

    substantive: tuple[str, ...]
    canned: tuple[str, ...]
    pleasantries: tuple[str, ...]
    automated: bool = False  # the text says it was sent by a machine
    social: tuple[str, ...] = ()  # substantive sentences of social vocabulary only

    @property
    def word_count(self) -> int:
        return sum(len(words(sentence)) for sentence in self.substantive)

    @property
    def informative_word_count(self) -> int:
        """Words of the substantive sentences that say more than thanks and wishes."""
        return sum(len(words(s)) for s in self.substantive if s not in self.social)

    @property
    def text(self) -> str:
        return "\n".join(self.substantive)


def _without_greeting(lines: list[str], extra_words: Iterable[str]) -> list[str]:
    """The first line without its salutation ("Hi Jo, yes you can ..." keeps "yes you can ...")."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return lines
    line = lines[first].strip()
    if not find_greeting(line, extra_words).found:
        return lines
    separator = _SEPARATOR.search(line)
    rest = line[separator.end() :].strip() if separator else ""
    if len(rest.split()) < 2:
        return lines[first + 1 :]
    return [rest, *lines[first + 1 :]]


def _is_closing(line: str) -> bool:
    return bool(_CLOSING.match(fold(line.strip())))


def _is_sign_off(line: str) -> bool:
    """A closing line: a known closing, or social words ending in a comma ("Warm wishes,",
    "Très belle journée à vous,", "Un très bon week-end à vous,")."""
    return _is_closing(line) or (line.rstrip().endswith(",") and _is_social(line))


def _without_closing(lines: list[str]) -> list[str]:
    """Cut at the closing line ("Best regards,") when only a signature-like tail follows it."""
    for index, line in enumerate(lines):
        if not _is_sign_off(line):
            continue
        tail = [rest for rest in lines[index + 1 :] if rest.strip()]
        if len(tail) <= _SIGNATURE_LINES and all(
            len(rest.split()) <= _SIGNATURE_LINE_WORDS for rest in tail
        ):
            return lines[:index]
    return lines


_SENTENCE_FINAL = re.compile(r"[.!?:;)\]]\s*$")
_SIGNATURE_TAIL_WORDS = 6


def _without_signature_tail(lines: list[str]) -> list[str]:
    """Drop trailing short lines without sentence punctuation ("ACME Customer Support")."""
    end = len(lines)
    while end > 0:
        line = lines[end - 1].strip()
        if line and (_SENTENCE_FINAL.search(line) or len(line.split()) > _SIGNATURE_TAIL_WORDS):
            break
        end -= 1
    return lines[:end]


def _is_canned(sentence: str, extra: Iterable[str]) -> bool:
    folded = fold(sentence)
    if _may_be_canned(folded) and _CANNED.search(folded):
        return True
    return any(phrase in folded for phrase in extra)


def analyse(
    new_text: str, greeting_words: Iterable[str] = (), canned: Iterable[str] = ()
) -> Substance:
    """Sort the agent's new text into substantive, canned and pleasant sentences."""
    extra_canned = tuple(fold(phrase) for phrase in canned)
    lines = _without_closing(_without_greeting(new_text.splitlines(), greeting_words))
    lines = _without_signature_tail(lines)
    substantive: list[str] = []
    canned_found: list[str] = []
    pleasant: list[str] = []
    for sentence in sentences("\n".join(lines)):
        if _is_canned(sentence, extra_canned):
            canned_found.append(sentence)
        elif _PLEASANTRY.search(fold(sentence)) or _is_closing(sentence):
            pleasant.append(sentence)
        else:
            substantive.append(sentence)
    folded = fold(new_text)
    automated = "automat" in folded and _AUTOMATED.search(folded) is not None
    social = tuple(sentence for sentence in substantive if _is_social(sentence))
    return Substance(tuple(substantive), tuple(canned_found), tuple(pleasant), automated, social)
