"""The default question matcher: the evidence of `evidence.py`, weighed by a fitted model.

A logistic regression, because its weights can be read (README lists them) and
refitted by anyone with the corpus (`bench/fit_answer_model.py`), and it needs
nothing beyond the standard library. Its score is the model's probability that
the question was answered; `question_coverage` in the policy is the threshold
under which a question counts as left open. A question the reply takes up
nothing of scores 0, whatever the model says, so `untouched_questions` and
`off_topic` keep their plain meaning.
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
            0.0 if found.untouched else self.model.probability(found)
            for found in evidence(questions, reply_sentences, language, context)
        ]
