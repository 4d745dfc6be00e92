"""What the customer asked: questions and requests in the customer's own text.

The customer's text is their newest message only: the quoted history an agent
reply carries often holds older agent messages too (nested quotes, older
Outlook blocks), whose questions are not the customer's. Questions are
sentences ending in "?" (Spanish "¿...?" too), imperative requests ("Please
tell me how to ...", "Könnten Sie mir ...") and the items of a numbered or
bulleted list of asks.
"""

from __future__ import annotations

import re

from gateway.answer.lexicon import REQUEST_OPENERS
from gateway.answer.text import fold, sentences, without_connective
from gateway.reply import STAMP, split_reply

_HEADER_LINE = re.compile(
    r"^\s*\**(?:from|von|de|van|da|fra|sent|gesendet|envoy[ée]|enviad[oa]|verzonden|inviato|"
    r"date|datum|data|to|an|[àa]|para|aan|cc|subject|betreff|objet|asunto|onderwerp|oggetto|"
    r"assunto)\s*:\**",
    re.IGNORECASE,
)
_REQUEST = re.compile("|".join(REQUEST_OPENERS))
_RULE = re.compile(r"^\s*(?:[-=_\u2014]{8,}|-{2,}[^-]{0,60}-{2,})\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+(?P<item>.+)$")
_LEAD_IN = re.compile(r"[:?]\s*$")
_MAX_QUESTIONS = 12
# Small talk is not a question to answer: "How are you?", "Oi, tudo bem?", "Ça va ?".
_SOCIAL = re.compile(
    r"^(?:(?:hi|hello|hey|hallo|hola|oi|ola|ciao|salut|bonjour|hoi)\W+(?:\w+\W+)?)?"
    r"(?:how are (?:you|things)|how's it going|hope you(?:'re| are) (?:well|ok)|wie geht'?s|"
    r"wie geht es (?:ihnen|dir)|ca va|comment allez-vous|que tal|como estas|como esta usted|"
    r"tudo bem|tudo bom|como vai|hoe gaat het(?: met (?:u|je|jou))?|alles goed|come stai|"
    r"come sta|come va|tutto bene)\W*$"
)


def customer_message(quoted: str) -> str:
    """The customer's newest message from an agent reply's quoted history.

    Drops a leading Outlook header block (From:/Sent:/To:/Subject:), then keeps
    what the customer wrote above their own quoted history and signature.
    """
    lines = quoted.splitlines()
    index = 0
    while index < len(lines) and (
        not lines[index].strip() or _HEADER_LINE.match(lines[index]) or _RULE.match(lines[index])
    ):
        index += 1
    lines = lines[index:]
    return split_reply("\n".join(lines[_author_stamp_end(lines) :])).new_text


def _author_stamp_end(lines: list[str]) -> int:
    """Index after a helpdesk history entry's "Name" / "23 Nov 2026, 09:14" lines, else 0."""
    seen = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        seen += 1
        if seen > 2 or len(line.split()) > 12 or line.rstrip().endswith("?"):
            return 0
        if STAMP.search(line):
            return index + 1
    return 0


# Asking for a reply is not a question a reply could leave open: "Please get back to me
# soon.", "Merci de me répondre vite.", "Bitte antworten Sie mir bald."
_ASKS_FOR_A_REPLY = re.compile(
    r"\b(?:reply|respond|answer|get back to|write back|hear from you|"
    r"antworten|antwort|ruckmeldung|melden sie sich|repondre|reponse|revenir vers|"
    r"responder|respuesta|contestar|responda|resposta|retorno|antwoord|reageren|"
    r"rispondere|risposta|rispondermi|rispondetemi)\b"
    r".{0,40}$"
)
_ABOUT_THE_MATTER = 6  # content words beyond the asking: then it asks for something else too


def _is_request(sentence: str) -> bool:
    folded = fold(sentence)
    if not (_REQUEST.match(folded) or _REQUEST.match(without_connective(folded))):
        return False
    return not (_ASKS_FOR_A_REPLY.search(folded) and len(folded.split()) <= _ABOUT_THE_MATTER + 2)


def _list_asks(text: str) -> list[str]:
    """Items of a list introduced by a line ending in ':' or '?' ("I have three questions:")."""
    asks: list[str] = []
    lines = [line for line in text.splitlines() if line.strip()]
    in_list = False
    for index, line in enumerate(lines):
        item = _LIST_ITEM.match(line)
        if item:
            starts = index > 0 and bool(_LEAD_IN.search(lines[index - 1])) and not in_list
            in_list = in_list or starts
            if in_list:
                asks.append(" ".join(item.group("item").split()))
        else:
            in_list = False
    return asks


def questions(text: str) -> list[str]:
    """The customer's questions and requests, verbatim, in order, without repeats."""
    found: list[str] = []
    for sentence in sentences(text):
        bare = _LIST_ITEM.match(sentence)
        candidate = bare.group("item") if bare else sentence
        asks = candidate.rstrip().endswith(("?", "?)")) or candidate.lstrip().startswith("\u00bf")
        # "Could you please:" introduces the asks that follow; it is not one itself
        request = not candidate.rstrip().endswith(":") and _is_request(candidate)
        if (asks or request) and not _SOCIAL.match(fold(candidate)):
            opening = candidate.find("\u00bf")  # "Hola, ¿...?": the question starts at the "¿"
            found.append(candidate[opening if opening > 0 else 0 :].strip())
    for ask in _list_asks(text):
        if not any(ask in known or known in ask for known in found):
            found.append(ask)
    return list(dict.fromkeys(found))[:_MAX_QUESTIONS]
