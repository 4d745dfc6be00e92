"""What the reply-quality checks add per message: the decision with and without them.

Baseline and subject are measured in the same run: the same messages through
`evaluate` with the greeting and answer checks off, then on (hold). Three
inputs: the 5 KB reply of decision_bench.py, every reply of the labelled
corpus (tests/corpus/quality), and the corpus again with the stem and word
caches emptied before every message (the cost for a vocabulary seen for the
first time). Medians of repeated rounds.

    python bench/answer_bench.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from decision_bench import make_message  # bench/: scripts run from bench/

from gateway.answer import matching, text
from gateway.message import MessageView
from gateway.policy.engine import evaluate
from gateway.policy.loader import NamedPolicy, PolicySet
from gateway.policy.schema import Policy

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "quality"
SENDER = "agent@acme.example"


def policy_set(action: str) -> PolicySet:
    checks = {
        "greeting": {"action": action},
        "answer": {"action": action},
        "noreply_sender": {"action": "off"},
        "noreply_phrase": {"action": "off"},
        "from_header": {"action": "off"},
    }
    policy = Policy.model_validate({"match": {"senders": ["*"]}, "checks": checks})
    return PolicySet(CORPUS, (NamedPolicy("bench.toml", policy),))


def empty_caches() -> None:
    text.fold.cache_clear()
    text.stem.cache_clear()
    matching._synonym_index.cache_clear()  # private on purpose: the cold case is the point


def per_message_ms(
    messages: list[bytes], policies: PolicySet, repeat: int, before: Callable[[], None]
) -> float:
    """Median over rounds of the mean milliseconds per message (parse + view + decision)."""
    rounds = []
    for _ in range(repeat):
        spent = 0.0
        for raw in messages:
            before()
            started = time.perf_counter()
            evaluate(MessageView(raw), SENDER, policies)
            spent += time.perf_counter() - started
        rounds.append(spent / len(messages) * 1000)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    off, on = policy_set("off"), policy_set("hold")
    corpus = [
        p.read_bytes() for p in sorted(CORPUS.rglob("*.eml")) if not p.name.endswith(".inbound.eml")
    ]
    five_kb = [make_message(5_000)] * 50

    def nothing() -> None:
        return None

    cases = (
        ("5 KB reply (warm caches)", five_kb, nothing),
        (f"corpus, {len(corpus)} replies (warm)", corpus, nothing),
        (f"corpus, {len(corpus)} replies (cold caches)", corpus, empty_caches),
    )
    print(f"{'input':<38}{'checks off':>12}{'checks on':>12}{'added':>10}  (ms/message)")
    for label, messages, before in cases:
        baseline = per_message_ms(messages, off, args.repeat, before)
        checked = per_message_ms(messages, on, args.repeat, before)
        print(f"{label:<38}{baseline:>12.3f}{checked:>12.3f}{checked - baseline:>10.3f}")


if __name__ == "__main__":
    main()
