"""Lexical vs embedding question matcher for the missing_answer check, on the labelled corpus.

    python bench/answer_matchers.py [--runs 5] [--holdout FOLDER ...]

For each matcher and each set (dev, holdout):
(a) a threshold sweep: missing_answer precision / recall / accuracy, and the
    false-hold rate of the answer check on correct replies (greeting and answer
    both labelled fine);
(b) question level: ROC AUC of the score separating questions labelled open
    (in `unanswered`) from the other questions of the same replies, over replies
    that reach the matcher and are not labelled empty / no_content / canned /
    auto_reply;
(c) cost: median milliseconds per message of the answer judgement (warm model),
    median over --runs runs (0 skips timing).

The judgement mirrors `MissingAnswer.run` in gateway/policy/checks.py and calls
gateway.answer.judge.judge directly with the matcher and threshold. The
embedding part is skipped (one line says so) when torch or the model package
cannot be imported, so this also runs in the gateway's own venv.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from embedding_matcher import EmbeddingMatcher  # noqa: E402
from quality_eval import (  # noqa: E402
    Case,
    Outcome,
    _same_question,
    eval_policy,
    evaluate_cases,
    load_cases,
    scores,
)

from gateway.answer.judge import AnswerSettings, Verdict, judge  # noqa: E402

# The matchers are compared on the question decision itself, so open questions hold here.
EVAL_POLICY = eval_policy("hold")
from gateway.answer.matching import LexicalMatcher  # noqa: E402
from gateway.message import MessageView  # noqa: E402

LEXICAL_SWEEP = [round(0.05 * i, 2) for i in range(1, 13)]  # 0.05 .. 0.60
EMBEDDING_SWEEP = [round(0.2 + 0.05 * i, 2) for i in range(13)]  # 0.20 .. 0.80
MAX_FALSE_HOLD = 0.03
_AUTO_SUBMITTED_NO = {"", "no"}
NOT_MATCHED_KINDS = {"empty", "no_content", "canned", "auto_reply"}
_JUDGE_PARAMS = set(inspect.signature(judge).parameters)


@dataclass(frozen=True)
class Prepared:
    """One case parsed once: the inputs MissingAnswer.run hands to judge."""

    case: Case
    new_text: str
    quoted: str
    subject: str
    auto_submitted: bool
    inline: tuple[tuple[str, str], ...] = ()


def prepare(case: Case) -> Prepared:
    raw = case.path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    view = MessageView(raw)
    auto = str(view.headers.get("Auto-Submitted", "")).split(";")[0].strip().lower()
    reply = view.reply
    return Prepared(
        case,
        reply.new_text,
        reply.quoted,
        view.subject,
        auto not in _AUTO_SUBMITTED_NO,
        reply.inline,
    )


def _thread_kwargs(p: Prepared) -> dict[str, Any]:
    """What the thread store gives judge, under whichever name judge currently takes it."""
    kwargs: dict[str, Any] = {}
    if "customer_text" in _JUDGE_PARAMS:
        kwargs["customer_text"] = getattr(p.case, "customer_text", None)
    if "recorded_questions" in _JUDGE_PARAMS:
        kwargs["recorded_questions"] = getattr(p.case, "recorded_questions", None)
    if "subject_line" in _JUDGE_PARAMS:
        kwargs["subject_line"] = p.subject
    if "inline" in _JUDGE_PARAMS:
        kwargs["inline"] = p.inline
    return kwargs


def settings_for(threshold: float) -> AnswerSettings:
    answer, greeting = EVAL_POLICY.checks.answer, EVAL_POLICY.checks.greeting
    return AnswerSettings(
        min_words=answer.min_words,
        question_coverage=threshold,
        canned_phrases=tuple(answer.canned_phrases),
        greeting_words=tuple(greeting.words),
    )


def run_judge(p: Prepared, matcher: Any, threshold: float) -> Verdict:
    return judge(
        p.new_text,
        p.quoted,
        settings_for(threshold),
        auto_submitted=p.auto_submitted,
        matcher=matcher,
        **_thread_kwargs(p),
    )


class CachingMatcher:
    """Remembers scores so a sweep judges every case at every threshold for one model pass."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.cache: dict[Any, list[float]] = {}

    def scores(
        self, questions: Sequence[str], reply_sentences: Sequence[str], language: str, *rest: Any
    ) -> list[float]:
        key = (tuple(questions), tuple(reply_sentences), language, repr(rest))
        if key not in self.cache:
            self.cache[key] = self.inner.scores(questions, reply_sentences, language, *rest)
        return self.cache[key]


@dataclass(frozen=True)
class Row:
    threshold: float
    held: int
    positives: int
    precision: float
    recall: float
    accuracy: float
    false_holds: int
    correct: int

    @property
    def fhr(self) -> float:
        return self.false_holds / self.correct if self.correct else 0.0


def sweep(prepared: list[Prepared], matcher: Any, thresholds: list[float]) -> list[Row]:
    cached = CachingMatcher(matcher)
    rows = []
    for threshold in thresholds:
        outcomes = []
        for p in prepared:
            verdict = run_judge(p, cached, threshold)
            named = list(verdict.unanswered)
            outcomes.append(Outcome(p.case, False, not verdict.answered, named))
        s = scores(outcomes, "answer")
        correct = [o for o in outcomes if o.case.correct]
        rows.append(
            Row(
                threshold,
                s.true_pos + s.false_pos,
                s.positives,
                s.precision,
                s.recall,
                s.accuracy,
                sum(o.answer_held for o in correct),
                len(correct),
            )
        )
    return rows


def render_sweep(title: str, rows: list[Row]) -> str:
    lines = [
        title,
        f"  {'thr':>5}{'held/should':>13}{'prec':>8}{'recall':>8}{'acc':>8}{'false holds':>14}",
    ]
    for r in rows:
        lines.append(
            f"  {r.threshold:>5.2f}{f'{r.held}/{r.positives}':>13}{r.precision:>8.1%}"
            f"{r.recall:>8.1%}{r.accuracy:>8.1%}{f'{r.false_holds}/{r.correct}':>9}"
            f" {r.fhr:>4.1%}"
        )
    return "\n".join(lines)


def best(rows: list[Row]) -> Row | None:
    allowed = [r for r in rows if r.fhr <= MAX_FALSE_HOLD]
    if not allowed:
        return None
    return max(allowed, key=lambda r: (r.accuracy, r.recall, -r.threshold))


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """P(score of an answered question > score of an open one); ties count half."""
    if not positives or not negatives:
        return float("nan")
    wins = 0.0
    for neg in negatives:
        for pos in positives:
            wins += 1.0 if neg > pos else 0.5 if neg == pos else 0.0
    return wins / (len(positives) * len(negatives))


@dataclass(frozen=True)
class QuestionLevel:
    auc: float
    open_n: int
    answered_n: int
    auc_en: float
    auc_other: float
    labelled_not_extracted: int


def question_level(prepared: list[Prepared], matcher: Any) -> QuestionLevel:
    """Open = a question matching a labelled `unanswered` entry; answered = the rest."""
    groups: dict[str, tuple[list[float], list[float]]] = {
        "all": ([], []),
        "en": ([], []),
        "other": ([], []),
    }
    missed = 0
    for p in prepared:
        labels = p.case.labels
        if labels.get("kind") in NOT_MATCHED_KINDS:
            continue
        verdict = run_judge(p, matcher, 0.0)
        if not verdict.coverage:
            continue
        expected = list(labels.get("unanswered", []))
        missed += sum(
            1 for e in expected if not any(_same_question(e, q) for q in verdict.questions)
        )
        lang = "en" if labels.get("language") == "en" else "other"
        for question, score in verdict.coverage.items():
            is_open = any(_same_question(e, question) for e in expected)
            for key in ("all", lang):
                groups[key][0 if is_open else 1].append(score)
    opens, answered = groups["all"]
    return QuestionLevel(
        roc_auc(opens, answered),
        len(opens),
        len(answered),
        roc_auc(*groups["en"]),
        roc_auc(*groups["other"]),
        missed,
    )


@dataclass(frozen=True)
class Cost:
    median_ms: float
    median_ms_matched: float
    p90_ms: float


def cost(prepared: list[Prepared], matcher: Any, threshold: float, runs: int) -> Cost:
    """Per message: median over runs; then median (and p90) over messages."""
    for p in prepared:  # warm-up: model, caches, regexes
        run_judge(p, matcher, threshold)
    samples: list[list[float]] = [[] for _ in prepared]
    matched = [bool(run_judge(p, matcher, threshold).coverage) for p in prepared]
    for _ in range(runs):
        for i, p in enumerate(prepared):
            start = time.perf_counter()
            run_judge(p, matcher, threshold)
            samples[i].append((time.perf_counter() - start) * 1000)
    per_message = [statistics.median(s) for s in samples]
    reached = [m for m, ok in zip(per_message, matched, strict=True) if ok]
    return Cost(
        statistics.median(per_message),
        statistics.median(reached) if reached else float("nan"),
        statistics.quantiles(per_message, n=10)[-1],
    )


def load_embedding() -> tuple[Any, float] | str:
    """The embedding matcher with its model loaded, and the load time; or why not."""
    try:
        matcher = EmbeddingMatcher()
        start = time.perf_counter()
        matcher.load()
        return matcher, time.perf_counter() - start
    except Exception as error:  # ImportError, missing weights, ...
        return f"{type(error).__name__}: {error}"


def git_state() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"commit {git('log', '-1', '--format=%h')}, working tree {'dirty' if dirty else 'clean'}"


def load_sets(held_out: set[str]) -> dict[str, list[Prepared]]:
    """dev and holdout as quality_eval splits them, plus folders named held out; none empty."""
    sets: dict[str, list[Prepared]] = {"dev": [], "holdout": []}
    for case in load_cases("all"):
        folder = case.path.parent.name
        which = "holdout" if folder.startswith("holdout") or folder in held_out else "dev"
        sets[which].append(prepare(case))
    for which in [w for w, prepared in sets.items() if not prepared]:
        print(f"{which} set is empty in the corpus now; skipped")
        del sets[which]
    for which, prepared in sets.items():
        folders = sorted({p.case.path.parent.name for p in prepared})
        report, _ = evaluate_cases([p.case for p in prepared])
        a = report.answer
        print(
            f"{which}: {len(prepared)} replies in {', '.join(folders)}; bench/quality_eval.py"
            f" missing_answer (policy default): {a.true_pos + a.false_pos}/{a.positives} held,"
            f" P {a.precision:.1%}, R {a.recall:.1%}, acc {a.accuracy:.1%}"
        )
    return sets


def choose(name: str, rows: dict[str, list[Row]]) -> tuple[Row | None, str]:
    """The best dev threshold and a summary line with the holdout numbers at it."""
    chosen = best(rows["dev"])
    if chosen is None:
        return None, f"{name}: no threshold keeps dev false holds <= {MAX_FALSE_HOLD:.0%}"
    line = (
        f"{name}: best dev threshold {chosen.threshold:.2f} (acc {chosen.accuracy:.1%},"
        f" P {chosen.precision:.1%}, R {chosen.recall:.1%}, FHR {chosen.fhr:.1%})"
    )
    if "holdout" in rows:
        hold = next(r for r in rows["holdout"] if r.threshold == chosen.threshold)
        line += (
            f"; holdout at it: acc {hold.accuracy:.1%}, P {hold.precision:.1%},"
            f" R {hold.recall:.1%}, FHR {hold.fhr:.1%}"
        )
    return chosen, line


def evaluate_matcher(
    name: str,
    matcher: Any,
    thresholds: list[float],
    sets: dict[str, list[Prepared]],
    runs: int,
) -> list[str]:
    """Print the sweeps; return the summary lines (best threshold, AUC, cost)."""
    cached = CachingMatcher(matcher)
    rows = {which: sweep(prepared, cached, thresholds) for which, prepared in sets.items()}
    for which, prepared in sets.items():
        print()
        print(render_sweep(f"{name} / {which} ({len(prepared)} replies)", rows[which]))
    chosen, line = choose(name, rows)
    summary = [line]
    for which, prepared in sets.items():
        q = question_level(prepared, cached)
        summary.append(
            f"{name} / {which}: question AUC {q.auc:.3f} ({q.open_n} open vs"
            f" {q.answered_n} answered; en {q.auc_en:.3f}, other languages"
            f" {q.auc_other:.3f}); labelled open questions not extracted:"
            f" {q.labelled_not_extracted}"
        )
    if runs:
        threshold = chosen.threshold if chosen else thresholds[len(thresholds) // 2]
        for which, prepared in sets.items():
            c = cost(prepared, matcher, threshold, runs)
            summary.append(
                f"{name} / {which}: median {c.median_ms:.2f} ms/message (p90"
                f" {c.p90_ms:.2f}; reaching the matcher {c.median_ms_matched:.2f})"
            )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timing runs per message (0: none)")
    parser.add_argument(
        "--holdout",
        action="append",
        default=[],
        metavar="FOLDER",
        help="also count this corpus folder as held out (e.g. a former holdout/ since renamed)",
    )
    args = parser.parse_args()

    print(f"{git_state()}; lexical numbers are for the matcher as it is at this run")
    sets = load_sets(set(args.holdout))
    matchers: list[tuple[str, Any, list[float]]] = [("lexical", LexicalMatcher(), LEXICAL_SWEEP)]
    loaded = load_embedding()
    if isinstance(loaded, str):
        print(f"embedding matcher skipped (not importable here): {loaded}")
    else:
        embedding, load_seconds = loaded
        print(f"embedding model load (once, cold): {load_seconds:.2f} s")
        matchers.append(("embedding", embedding, EMBEDDING_SWEEP))

    summary: list[str] = []
    for name, matcher, thresholds in matchers:
        summary.extend(evaluate_matcher(name, matcher, thresholds, sets, args.runs))
    print()
    print("summary")
    for line in summary:
        print(f"  {line}")


if __name__ == "__main__":
    main()
