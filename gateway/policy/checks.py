"""Checks look at a message and report findings; they never change or route it.

Each check is a small unit with a name (its ``[checks.<name>]`` section), the
reason code it reports and a one-line description (shown by ``gateway policy
check``). The decision is made elsewhere (engine.py), from all findings
together, so a reviewer always sees every reason, not just the first.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.answer.judge import AnswerSettings, Verdict, judge
from gateway.greeting import find_greeting, names_in
from gateway.message import MessageView
from gateway.policy.schema import Action, AnswerCheck, Policy


@dataclass(frozen=True, slots=True)
class Finding:
    """A reason code, the sentence a reviewer reads, the action, and supporting details."""

    code: str
    detail: str
    action: Action
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "detail": self.detail,
            "action": str(self.action),
            **({"details": self.details} if self.details else {}),
        }


@dataclass(frozen=True, slots=True)
class Subject:
    """What a check looks at: the envelope sender, the parsed message, and its thread.

    `customer_text` is the customer's newest message in the thread as the inbound leg
    recorded it (None when the gateway never saw it; the answer check then reads the
    customer's questions from the quoted history).
    """

    mail_from: str
    view: MessageView
    customer_text: str | None = None


class Check(Protocol):
    name: str
    code: str
    description: str

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]: ...


def _is_noreply(address: str, globs: list[str]) -> bool:
    local = address.rpartition("@")[0].lower() if "@" in address else address.lower()
    return any(fnmatch.fnmatchcase(local, glob) for glob in globs)


class NoreplySender:
    """Customers must be able to answer a real person: a no-reply sender defeats that.

    Looks at the envelope sender and the From, Sender and Reply-To headers. The
    finding names every address concerned and, when the policy has a
    ``[rewrite] monitored`` address, where customers' replies should go instead.
    """

    name = "noreply_sender"
    code = "noreply_sender"
    description = "envelope sender, From, Sender or Reply-To is a no-reply address"

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]:
        globs = policy.noreply_globs
        view = subject.view
        places: list[tuple[str, str]] = []
        if subject.mail_from not in {"", "<>"} and _is_noreply(subject.mail_from, globs):
            places.append(("MAIL FROM", subject.mail_from))
        for header, addresses in (
            ("From", view.from_addresses),
            ("Sender", view.sender),
            ("Reply-To", view.reply_to),
        ):
            places.extend(
                (header, address.address)
                for address in addresses
                if _is_noreply(address.address, globs)
            )
        if not places:
            return []
        where = ", ".join(f"{header} <{address}>" for header, address in places)
        monitored = policy.rewrite.monitored if policy.rewrite else None
        advice = (
            f"; replies should go to {monitored}"
            if monitored
            else "; set [rewrite] monitored to give customers an address that is read"
        )
        return [
            Finding(
                self.code,
                f"Sent from a no-reply address ({where}), so the customer cannot answer{advice}",
                action,
                {
                    "addresses": [{"field": h, "address": a} for h, a in places],
                    **({"monitored": monitored} if monitored else {}),
                },
            )
        ]


BUILTIN_NOREPLY_PHRASES = (
    # English
    "please do not reply to this message",
    "please do not reply to this email",
    "please do not reply to this e-mail",
    "do not reply to this email",
    "please don't reply to this",
    "this mailbox is not monitored",
    "this email address is not monitored",
    "this inbox is not monitored",
    "replies to this message are not monitored",
    "replies to this email are not read",
    "this is an unmonitored mailbox",
    "sent from a notification-only address",
    # German
    "bitte antworten sie nicht auf diese",
    "bitte nicht auf diese e-mail antworten",
    "dieses postfach wird nicht überwacht",
    "antworten auf diese e-mail werden nicht gelesen",
    # French
    "merci de ne pas répondre à ce",
    "veuillez ne pas répondre à ce",
    "ne pas répondre à cet e-mail",
    "cette adresse n'est pas surveillée",
    # Spanish
    "por favor no responda a este",
    "por favor, no responda a este",
    "no responda a este correo",
    "este buzón no está supervisado",
    # Dutch
    "gelieve niet te antwoorden op",
    "antwoord niet op deze e-mail",
    "deze mailbox wordt niet gelezen",
    # Italian
    "si prega di non rispondere a questa",
    "non rispondere a questo messaggio",
    "questa casella non è monitorata",
    # Portuguese
    "por favor, não responda a este",
    "por favor não responda a este",
    "não responda a esta mensagem",
    "esta caixa de correio não é monitorada",
)


def _normalise(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").lower().split())


class NoreplyPhrase:
    """Telling the customer not to answer is the no-reply sender problem in words.

    Looks at what the agent's message says (new text and signature, not the quoted
    history): built-in phrases in seven languages plus the policy's own `phrases`.
    """

    name = "noreply_phrase"
    code = "noreply_phrase"
    description = "the reply tells the customer not to reply"

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]:
        phrases = (*BUILTIN_NOREPLY_PHRASES, *policy.checks.noreply_phrase.phrases)
        if not subject.view.text_is_parsed and not subject.view.may_say_any(phrases):
            return []  # cheap screen: most replies never say it, so skip the MIME parse
        reply = subject.view.reply
        text = _normalise(f"{reply.new_text}\n{reply.signature}")
        found = [phrase for phrase in phrases if phrase in text]
        if not found:
            return []
        return [
            Finding(
                self.code,
                f'The reply tells the customer not to answer ("{found[0]}")',
                action,
                {"phrases": found},
            )
        ]


class FromHeader:
    """Exactly one author: with none or several, there is no sender to keep or rewrite.

    The gateway never guesses which From is meant; such a message waits for a person.
    """

    name = "from_header"
    code = "multiple_from"
    description = "the message has no From address, or several"

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]:
        addresses = subject.view.from_addresses
        if not addresses:
            return [
                Finding(
                    "missing_from",
                    "The message has no From address; the gateway will not guess who sent it",
                    action,
                )
            ]
        if len(addresses) > 1:
            listed = ", ".join(f"<{a.address}>" for a in addresses)
            return [
                Finding(
                    "multiple_from",
                    f"The message has {len(addresses)} From addresses "
                    f"({listed}); the gateway will not guess which one is the sender",
                    action,
                    {"addresses": [a.address for a in addresses]},
                )
            ]
        return []


_SIGN_OFF_WORD = re.compile(r"^[^\W\d_][\w'\u2019-]*$")


def expected_names(view: MessageView) -> list[str]:
    """The customer's name as the agent should write it: To display names and sign-off."""
    names: list[str] = []
    for address in view.to:
        tokens = [t for t in address.name.replace(",", " ").split() if len(t) > 1 and "@" not in t]
        names.extend(tokens[:1] + tokens[-1:])
    quoted = [line.strip() for line in view.reply.quoted.splitlines() if line.strip()]
    if quoted:
        words = quoted[-1].rstrip(".!").split()
        if 1 <= len(words) <= 3 and all(_SIGN_OFF_WORD.match(w) for w in words):
            names.append(words[0])
    return list(dict.fromkeys(names))


class MissingGreeting:
    """Every reply opens with a greeting addressed to the reader.

    Judged on the first line of the agent's new text only: a greeting in the quoted
    customer message or in the middle of the reply does not count. With
    `require_name`, the greeting must also name the customer, and the finding says
    which name was expected.
    """

    name = "greeting"
    code = "missing_greeting"
    description = "the reply does not open with a greeting (optionally: naming the customer)"

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]:
        settings = policy.checks.greeting
        text = subject.view.reply.new_text
        greeting = find_greeting(text, settings.words)
        if not text.strip():
            return [
                Finding(
                    self.code,
                    "The reply has no text of its own, so no greeting",
                    action,
                    {"first_line": ""},
                )
            ]
        if not greeting.found:
            return [
                Finding(
                    self.code,
                    f'The reply does not open with a greeting; it starts "{_clip(greeting.line)}"',
                    action,
                    {"first_line": greeting.line},
                )
            ]
        if settings.require_name:
            names = expected_names(subject.view)
            if names and not names_in(greeting.line, names):
                return [
                    Finding(
                        self.code,
                        f'The greeting "{_clip(greeting.line)}" does not name '
                        f"the customer (expected {' or '.join(names)})",
                        action,
                        {"first_line": greeting.line, "expected_names": names},
                    )
                ]
        return []


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _quoted_list(items: tuple[str, ...]) -> str:
    return "; ".join(f'"{_clip(item, 120)}"' for item in items)


def _answer_sentence(verdict: Verdict) -> str:
    """The sentence a reviewer reads: what is missing, naming the open questions verbatim."""
    asked = (
        f"; the customer asked: {_quoted_list(verdict.unanswered)}" if verdict.unanswered else ""
    )
    if verdict.kind == "empty":
        return f"The reply has no text of its own, only the quoted history{asked}"
    if verdict.kind == "no_content":
        return f"The reply says nothing beyond greeting, pleasantries and closing{asked}"
    if verdict.kind == "auto_reply":
        return f"The reply is an automatic response (Auto-Submitted) and answers nothing{asked}"
    if verdict.kind == "canned":
        template = f' ("{_clip(verdict.canned[0], 80)}")' if verdict.canned else ""
        return f"The reply is a canned acknowledgement{template} and answers nothing{asked}"
    if verdict.kind == "off_topic":
        named = _quoted_list(verdict.unanswered)
        return f"The reply takes up none of what the customer asked: {named}"
    count = len(verdict.unanswered)
    if count == 1 and len(verdict.questions) == 1:
        return (
            f"The reply does not answer the customer's question: {_quoted_list(verdict.unanswered)}"
        )
    return (
        f"The reply leaves {count} of the customer's {len(verdict.questions)} questions "
        f"unanswered: {_quoted_list(verdict.unanswered)}"
    )


_SEVERITY = {Action.OFF: 0, Action.LOG: 1, Action.HOLD: 2, Action.REJECT: 3}


def _kind_setting(verdict: Verdict, settings: AnswerCheck) -> Action | None:
    """The policy's own setting for this kind of finding, if it has one (`action` caps it):
    `off_topic`; for open questions the stricter of `open_questions` and, when one is
    untouched, `untouched_questions`."""
    if verdict.kind == "off_topic":
        return Action(settings.off_topic)
    if verdict.kind != "unanswered":
        return None
    wanted = Action(settings.open_questions)
    if verdict.untouched:
        wanted = max(wanted, Action(settings.untouched_questions), key=_SEVERITY.__getitem__)
    return wanted


class MissingAnswer:
    """Every reply answers what the customer asked; an acknowledgement is not an answer.

    Holds replies that are empty (only quoted history), say nothing beyond
    greeting and closing, are canned acknowledgements or auto-replies, or leave
    one of the customer's questions open. The questions come from the thread's
    inbound record when the gateway saw the customer's message, else from the
    quoted history; each open question is named verbatim.
    """

    name = "answer"
    code = "missing_answer"
    description = "the reply does not answer the customer (empty, canned, or questions left open)"

    def run(self, subject: Subject, policy: Policy, action: Action) -> list[Finding]:
        settings = policy.checks.answer
        reply = subject.view.reply
        verdict = judge(
            reply.new_text,
            reply.quoted,
            AnswerSettings(
                min_words=settings.min_words,
                question_coverage=settings.question_coverage,
                canned_phrases=tuple(settings.canned_phrases),
                greeting_words=tuple(policy.checks.greeting.words),
            ),
            customer_text=subject.customer_text,
            subject_line=subject.view.subject,
            auto_submitted=subject.view.auto_submitted,
            inline=reply.inline,
        )
        if verdict.answered:
            return []
        wanted = _kind_setting(verdict, settings)
        if wanted is not None:
            action = min(action, wanted, key=_SEVERITY.__getitem__)
            if action is Action.OFF:
                return []
        details: dict[str, Any] = {
            "kind": verdict.kind,
            "unanswered": list(verdict.unanswered),
            "questions": list(verdict.questions),
            "question_source": verdict.question_source,
        }
        if verdict.coverage:
            details["coverage"] = verdict.coverage
            details["untouched"] = list(verdict.untouched)
        if verdict.canned:
            details["canned"] = list(verdict.canned)
        return [Finding(self.code, _answer_sentence(verdict), action, details)]


# Header checks first, then the text checks; the greeting check parses the body, after
# which the phrase check reads the parsed text instead of screening the raw bytes.
CHECKS: tuple[Check, ...] = (
    FromHeader(),
    NoreplySender(),
    MissingGreeting(),
    MissingAnswer(),
    NoreplyPhrase(),
)
