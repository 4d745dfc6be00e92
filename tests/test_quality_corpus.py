"""The reply-quality targets, measured on the labelled corpus (bench/quality_eval.py)."""

from __future__ import annotations

import re

import pytest

from bench.quality_eval import Report, evaluate_cases, load_cases, render
from gateway.message import MessageView

KEYS = {"language", "style", "greeting", "answered", "kind", "unanswered", "note"}


@pytest.fixture(scope="module")
def tuning() -> Report:
    report, _ = evaluate_cases(load_cases("dev"))
    print(render("tuning set", report))  # shown with pytest -s
    return report


def test_corpus_is_large_and_labelled() -> None:
    """At least 200 replies in 7 languages, every label file complete."""
    cases = load_cases("all")
    assert len(cases) >= 200
    assert {case.labels["language"] for case in cases} == {"en", "de", "fr", "es", "nl", "it", "pt"}
    for case in cases:
        assert set(case.labels) == KEYS, case.name


def _flat(text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text).replace(">", " ").split())


def test_labelled_open_questions_occur_in_the_customer_text() -> None:
    """Each expected open question is verbatim in the quoted or recorded customer text."""
    for case in load_cases("all"):
        view = MessageView(case.path.read_bytes())
        haystack = _flat(f"{view.text}\n{case.customer_text or ''}")
        for question in case.labels["unanswered"]:
            assert _flat(question) in haystack, (case.name, question)


def test_greeting_accuracy_target(tuning: Report) -> None:
    """missing_greeting: accuracy >= 98 %."""
    assert tuning.greeting.accuracy >= 0.98


def test_answer_accuracy_target(tuning: Report) -> None:
    """missing_answer: accuracy >= 92 %."""
    assert tuning.answer.accuracy >= 0.92


def test_false_holds_target(tuning: Report) -> None:
    """Correct replies (greeting and answer fine) held by either check: <= 3 %."""
    assert tuning.false_hold_rate <= 0.03
