"""What speaks for each customer question having been answered: the inputs of the answer model.

Whole-reply word coverage (`LexicalMatcher`) cannot tell "the reply talks about
the same thing" from "the reply answers this question". In a partial reply the
skipped question shares the thread's words with the answered ones, and a
"Yes," or a date written for another question counts for it too; on replies it
was not tuned on, that left a third of the partial replies looking answered. A
reader instead looks for the sentence that answers each question. The
evidence here does the same: the best single sentence for the question, the
best sentence that is about this question more than about any other, the words
only this question has, and an answer cue (a date, "Yes", an amount) only where
the question's own words are. How much each counts is fitted on the labelled
corpus (`bench/fit_answer_model.py`), not set by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from gateway.answer.matching import (
    Context,
    ReplyTerms,
    Thread,
    covered,
    cue,
    weighted_tokens,
)
from gateway.answer.substance import analyse
from gateway.answer.text import content_words, fold, stem

_INLINE_ANSWER_WORDS = 2  # "Yes." alone is an answer only with the question's words; see below


class Evidence(NamedTuple):
    """One question's evidence; every field is a number the model weighs."""

    coverage: float  # the lexical coverage by the whole reply (LexicalMatcher's score)
    untouched: float  # 1.0 when the reply takes up nothing of the question
    best_sentence: float  # the highest coverage by one reply sentence
    own_sentence: float  # the same, among sentences about this question more than any other
    distinctive: float  # share of the words no other question has that the reply takes up
    local_cue: float  # the answer cue, found in sentences that take up the question's words
    questions: float  # how many questions the customer asked
    reply_words: float  # log(1 + content words of the reply)
    question_words: float  # content words of the question itself
    request: float  # 1.0 for a request ("Please send ...") rather than a question
    own_words: float  # share of the question's own words (not the thread's) the reply takes up
    position: float  # 0 for the customer's first question .. 1 for the last
    inline: float  # answered between quotes: 1 text under the question, -1 none, 0 no such layout


def evidence(
    questions: Sequence[str],
    reply_sentences: Sequence[str],
    language: str,
    context: Context,
) -> list[Evidence]:
    """The evidence for every question, computed against the reply once per sentence."""
    thread = Thread.of(context, language)
    whole = ReplyTerms.of(reply_sentences, language)
    each = [ReplyTerms.of([sentence], language) for sentence in reply_sentences]
    folded = [fold(question) for question in questions]
    weights = [weighted_tokens(question, thread, language) for question in questions]
    own = [list(dict.fromkeys(content_words(question, language))) for question in questions]
    stems = [{stem(token, language) for token in tokens} for tokens in own]
    full_weight = [[token for token, weight in w.items() if weight == 1.0] for w in weights]
    grid = [
        [covered(w, f, terms, language) for terms in each]
        for w, f in zip(weights, folded, strict=True)
    ]
    best_per_sentence = [max(column) for column in zip(*grid, strict=True)] if grid else []
    reply_words = math.log1p(len(content_words("\n".join(reply_sentences), language)))
    found: list[Evidence] = []
    for index, question in enumerate(questions):
        coverage = covered(weights[index], folded[index], whole, language)
        row = grid[index]
        own_sentence = max(
            (
                score
                for score, best in zip(row, best_per_sentence, strict=True)
                if score > 0 and score >= best
            ),
            default=0.0,
        )
        others = set().union(*(s for i, s in enumerate(stems) if i != index))
        distinct = [token for token in own[index] if stem(token, language) not in others]
        taken = [
            terms for terms in each if any(terms.takes_up(token, language) for token in own[index])
        ]
        found.append(
            Evidence(
                coverage=coverage,
                untouched=float(coverage == 0),
                best_sentence=max(row, default=0.0),
                own_sentence=own_sentence,
                distinctive=_share(whole, distinct, language),
                local_cue=cue(folded[index], ReplyTerms.merge(taken)) if taken else 0.0,
                questions=float(len(questions)),
                reply_words=reply_words,
                question_words=float(len(own[index])),
                request=float(not question.rstrip().endswith("?")),
                position=index / max(1, len(questions) - 1),
                inline=_inline(question, context.inline),
                own_words=_share(whole, full_weight[index], language),
            )
        )
    return found


def _share(reply: ReplyTerms, tokens: Sequence[str], language: str) -> float:
    """Share of `tokens` the reply takes up; 0 when there are none."""
    if not tokens:
        return 0.0
    return sum(reply.takes_up(token, language) for token in tokens) / len(tokens)


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _inline(question: str, inline: Sequence[tuple[str, str]]) -> float:
    """1.0 when the agent wrote something right under the quoted question, -1.0 when the
    reply answers between quotes but left this one with nothing (or only a closing) under
    it, else 0.0."""
    wanted = _flat(question)
    under = [answer for passage, answer in inline if wanted and wanted in _flat(passage)]
    if not under:
        return 0.0
    return 1.0 if any(_says_something(answer) for answer in under) else -1.0


def _says_something(answer: str) -> bool:
    """Text under a quoted question that is more than a closing ("Thanks, / ACME Support")."""
    return analyse(answer).informative_word_count >= _INLINE_ANSWER_WORDS
