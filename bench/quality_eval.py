"""Precision and recall of the reply-quality checks on the labelled corpus.

    python bench/quality_eval.py [--set dev|holdout|all] [--errors]

Every case in tests/corpus/quality/ runs through the real decision path
(MessageView -> policy -> checks) with greeting and answer checks on `hold`.
"Positive" means "should be held": a reply labelled without greeting, or
labelled as not answering. The false-hold rate counts correct replies
(greeting and answer both fine) that either check would hold. A finding that
is only logged is not a hold: with the default `open_questions = "log"`, a
question the reply seems to leave open is reported, not held; `--open-questions
hold` scores the stricter setting.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.message import MessageView  # noqa: E402
from gateway.policy.engine import evaluate  # noqa: E402
from gateway.policy.loader import NamedPolicy, PolicySet  # noqa: E402
from gateway.policy.schema import Action, Policy  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "quality"


def eval_policy(open_questions: str | None = None) -> Policy:
    """Greeting and answer checks on `hold`, nothing else; open questions as given, else the
    policy default."""
    answer = {"action": "hold"} | ({"open_questions": open_questions} if open_questions else {})
    return Policy.model_validate(
        {
            "match": {"senders": ["*"]},
            "checks": {
                "greeting": {"action": "hold"},
                "answer": answer,
                "noreply_sender": {"action": "off"},
                "noreply_phrase": {"action": "off"},
                "from_header": {"action": "off"},
            },
        }
    )


@dataclass(frozen=True)
class Case:
    path: Path
    labels: dict[str, Any]
    customer_text: str | None

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"

    @property
    def correct(self) -> bool:
        return bool(self.labels["greeting"]) and bool(self.labels["answered"])


@dataclass
class Outcome:
    case: Case
    greeting_held: bool
    answer_held: bool
    named: list[str] = field(default_factory=list)  # open questions the check named
    detail: str = ""


def load_cases(which: str = "all") -> list[Case]:
    cases: list[Case] = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        is_holdout = folder.name.startswith("holdout")
        if (which == "dev" and is_holdout) or (which == "holdout" and not is_holdout):
            continue
        for eml in sorted(folder.glob("*.eml")):
            if eml.name.endswith(".inbound.eml"):
                continue
            labels = tomllib.loads(eml.with_suffix(".toml").read_text(encoding="utf-8"))
            inbound = eml.with_name(eml.stem + ".inbound.eml")
            customer = None
            if inbound.exists():
                customer = MessageView(inbound.read_bytes()).reply.new_text
            cases.append(Case(eml, labels, customer))
    return cases


def run_case(case: Case, policies: PolicySet) -> Outcome:
    view = MessageView(case.path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    mail_from = view.from_addresses[0].address if view.from_addresses else "agent@example.test"
    decision = evaluate(view, mail_from, policies, case.customer_text)
    held = {f.code: f for f in decision.findings if f.action in {Action.HOLD, Action.REJECT}}
    answer = next((f for f in decision.findings if f.code == "missing_answer"), None)
    named = list(answer.details.get("unanswered", [])) if answer else []
    detail = " | ".join(f"{f.detail} [{f.action}]" for f in decision.findings)
    return Outcome(case, "missing_greeting" in held, "missing_answer" in held, named, detail)


def _same_question(expected: str, named: str) -> bool:
    a, b = " ".join(expected.split()).lower(), " ".join(named.split()).lower()
    return a in b or b in a


@dataclass(frozen=True)
class Scores:
    cases: int
    positives: int
    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        held = self.true_pos + self.false_pos
        return self.true_pos / held if held else 1.0

    @property
    def recall(self) -> float:
        return self.true_pos / self.positives if self.positives else 1.0

    @property
    def accuracy(self) -> float:
        return (self.cases - self.false_pos - self.false_neg) / self.cases if self.cases else 1.0


def scores(outcomes: list[Outcome], check: str) -> Scores:
    label = "greeting" if check == "greeting" else "answered"
    tp = fp = fn = positives = 0
    for outcome in outcomes:
        should_hold = not outcome.case.labels[label]
        held = outcome.greeting_held if check == "greeting" else outcome.answer_held
        positives += should_hold
        tp += held and should_hold
        fp += held and not should_hold
        fn += should_hold and not held
    return Scores(len(outcomes), positives, tp, fp, fn)


@dataclass(frozen=True)
class Report:
    greeting: Scores
    answer: Scores
    correct_replies: int
    false_holds: int
    questions_expected: int
    questions_named: int

    @property
    def false_hold_rate(self) -> float:
        return self.false_holds / self.correct_replies if self.correct_replies else 0.0


def evaluate_cases(
    cases: list[Case], open_questions: str | None = None
) -> tuple[Report, list[Outcome]]:
    """Score the cases with the default policy, or with `open_questions` set as given."""
    policies = PolicySet(CORPUS, (NamedPolicy("eval.toml", eval_policy(open_questions)),))
    outcomes = [run_case(case, policies) for case in cases]
    correct = [o for o in outcomes if o.case.correct]
    expected = named = 0
    for outcome in outcomes:
        for question in outcome.case.labels.get("unanswered", []):
            expected += 1
            named += any(_same_question(question, n) for n in outcome.named)
    report = Report(
        scores(outcomes, "greeting"),
        scores(outcomes, "answer"),
        len(correct),
        sum(1 for o in correct if o.greeting_held or o.answer_held),
        expected,
        named,
    )
    return report, outcomes


def render(title: str, report: Report) -> str:
    lines = [
        f"{title}: {report.greeting.cases} replies",
        f"{'check':<18}{'held/should':>12}{'precision':>11}{'recall':>9}{'accuracy':>10}",
    ]
    for name, s in (("missing_greeting", report.greeting), ("missing_answer", report.answer)):
        lines.append(
            f"{name:<18}{f'{s.true_pos + s.false_pos}/{s.positives}':>12}"
            f"{s.precision:>11.1%}{s.recall:>9.1%}{s.accuracy:>10.1%}"
        )
    lines.append(
        f"false holds on correct replies: {report.false_holds}/{report.correct_replies}"
        f" = {report.false_hold_rate:.1%}"
    )
    if report.questions_expected:
        share = report.questions_named / report.questions_expected
        lines.append(
            f"labelled open questions named verbatim: {report.questions_named}/"
            f"{report.questions_expected} = {share:.1%}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("dev", "holdout", "all", "each"), default="each")
    parser.add_argument("--errors", action="store_true", help="list every wrong decision")
    parser.add_argument(
        "--open-questions",
        choices=("log", "hold"),
        default=None,
        help="[checks.answer] open_questions: log or hold (default: the policy default, hold)",
    )
    args = parser.parse_args()
    sets = ("dev", "holdout", "all") if args.set == "each" else (args.set,)
    setting = args.open_questions or "policy default"
    print(f"[checks.answer] open_questions: {setting}\n")
    for which in sets:
        report, outcomes = evaluate_cases(load_cases(which), args.open_questions)
        print(render(which, report))
        print()
        if args.errors and which != "all":
            for o in outcomes:
                labels = o.case.labels
                g_wrong = o.greeting_held == bool(labels["greeting"])
                a_wrong = o.answer_held == bool(labels["answered"])
                if g_wrong or a_wrong:
                    print(
                        f"  {o.case.name} [{labels.get('kind')}]"
                        f"{' GREETING' if g_wrong else ''}{' ANSWER' if a_wrong else ''}:"
                        f" {o.detail or 'relayed'}"
                    )
                    if labels.get("unanswered"):
                        print(f"      expected open: {labels['unanswered']}")
            print()


if __name__ == "__main__":
    main()
