"""WordLlama (static multilingual token embeddings, no PyTorch) as a question matcher.

    python -m venv /tmp/wlvenv && /tmp/wlvenv/bin/pip install wordllama
    ln -s tokenizers /tmp/wlvenv/lib/python3.11/site-packages/wordllama/tokenizer
    python bench/wordllama_matcher.py --site /tmp/wlvenv/lib/python3.11/site-packages

The only multilingual embedding found on PyPI that ships its weights and needs
no PyTorch (README, "Reply-quality checks"). wordllama 0.4 ships its tokenizer
file under `tokenizers/` but looks for it under `tokenizer/` and otherwise
downloads it from Hugging Face, hence the symlink. Prints the question-level
ROC AUC (as bench/answer_matchers.py defines it) of the lexical matcher,
WordLlama alone, and mixes of the two, on the tuning and held-out sets. It lives
in bench/ because it lost: the gateway offers no setting for it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import answer_matchers  # noqa: E402

from gateway.answer.matching import LexicalMatcher  # noqa: E402


class WordLlamaMatcher:
    """Best cosine similarity of the question to any reply sentence, clipped to 0..1."""

    def __init__(self) -> None:
        self._model: Any = importlib.import_module("wordllama").WordLlama.load(
            disable_download=True
        )

    def scores(
        self, questions: Sequence[str], reply_sentences: Sequence[str], language: str, context: Any
    ) -> list[float]:
        if not questions:
            return []
        if not reply_sentences:
            return [0.0] * len(questions)
        asked = self._model.embed(list(questions), norm=True)
        said = self._model.embed(list(reply_sentences), norm=True)
        return [min(1.0, max(0.0, float(v))) for v in (asked @ said.T).max(axis=1)]


class MixedMatcher:
    """(1 - weight) x lexical + weight x WordLlama."""

    def __init__(self, embedding: WordLlamaMatcher, weight: float) -> None:
        self._lexical = LexicalMatcher()
        self._embedding = embedding
        self._weight = weight

    def scores(
        self, questions: Sequence[str], reply_sentences: Sequence[str], language: str, context: Any
    ) -> list[float]:
        lexical = self._lexical.scores(questions, reply_sentences, language, context)
        embedded = self._embedding.scores(questions, reply_sentences, language, context)
        w = self._weight
        return [(1 - w) * a + w * b for a, b in zip(lexical, embedded, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", help="site-packages of a venv with wordllama installed")
    args = parser.parse_args()
    if args.site:
        sys.path.append(args.site)
    embedding = WordLlamaMatcher()
    matchers: list[tuple[str, Any]] = [
        ("lexical", LexicalMatcher()),
        ("wordllama", embedding),
        ("mixed 0.3", MixedMatcher(embedding, 0.3)),
        ("mixed 0.5", MixedMatcher(embedding, 0.5)),
    ]
    sets = answer_matchers.load_sets(set())
    for name, matcher in matchers:
        cached = answer_matchers.CachingMatcher(matcher)
        for which, prepared in sets.items():
            q = answer_matchers.question_level(prepared, cached)
            print(
                f"{name:10s} {which:8s} question AUC {q.auc:.3f} (en {q.auc_en:.3f},"
                f" other languages {q.auc_other:.3f}; {q.open_n} open vs {q.answered_n} answered)"
            )


if __name__ == "__main__":
    main()
