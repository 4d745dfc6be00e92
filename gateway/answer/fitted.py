"""The default question matcher: the evidence of `evidence.py`, weighed by a fitted model.

A logistic regression, because its weights can be read (README lists them) and
refitted by anyone with the corpus (`bench/fit_answer_model.py`), and it needs
nothing beyond the standard library. Its score is the model's probability that
the question was answered; `question_coverage` in the policy is the threshold
under which a question counts as left open. Two reading rules come first, as
they do for a person: a question the reply takes up nothing of scores 0 (so
`untouched_questions` and `off_topic` keep their plain meaning), and in a reply
written between quotes, the question with the agent's text right under it
scores 1 and the one left with nothing under it 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.answer import answer_model
from gateway.answer.evidence import Evidence, evidence
from gateway.answer.matching import Context


@dataclass(frozen=True, slots=True)
class Model:
    bias: float
    weights: Mapping[str, float]

    def probability(self, found: Evidence) -> float:
        """P(answered) for one question's evidence."""
        z = self.bias + sum(
            self.weights.get(name, 0.0) * value for name, value in found._asdict().items()
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# Decided by rule, not weighed: see FittedMatcher.score. The model is fitted on the
# questions these rules leave open.
RULED = ("untouched", "inline")
FEATURES = tuple(name for name in Evidence._fields if name not in RULED)

SHIPPED = Model(answer_model.BIAS, answer_model.WEIGHTS)
DEFAULT_THRESHOLD = answer_model.THRESHOLD


class FittedMatcher:
    """Scores each question by the model's probability that the reply answers it."""

    def __init__(self, model: Model = SHIPPED) -> None:
        self.model = model

    def scores(
        self,
        questions: Sequence[str],
        reply_sentences: Sequence[str],
        language: str,
        context: Context,
    ) -> list[float]:
        return [
            self.score(found) for found in evidence(questions, reply_sentences, language, context)
        ]

    @staticmethod
    def ruled(found: Evidence) -> float | None:
        """The score a reading rule gives, if one applies."""
        if found.untouched or found.inline < 0:
            return 0.0  # nothing of it in the reply, or skipped between quotes
        if found.inline > 0:
            return 1.0  # the agent wrote its answer right under the quoted question
        return None

    def score(self, found: Evidence) -> float:
        ruled = self.ruled(found)
        return self.model.probability(found) if ruled is None else ruled
