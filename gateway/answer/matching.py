"""Is one customer question addressed by the reply? Lexical coverage with stems and synonyms.

Coverage is the share of the question's content words that the reply takes up:
the same stem ("refunded" ~ "refund"), a shared long prefix ("Canada" ~
"Canadian"), or a word of the same concept group ("money back" ~ "refund").
The kind of question adds one cue: a yes/no question is taken up by a
sentence that opens with "Yes"/"Unfortunately"/"Leider"..., a "when"
question by a date or duration, a "how much" question by an amount.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from gateway.answer.lexicon import SYNONYMS, YES_NO
from gateway.answer.text import content_words, fold, stem, words

_PREFIX = 5
_YES_NO_QUESTION = re.compile(
    r"^(?:[\u00bf\s]*)(?:can|could|may|is|are|am|do|does|did|will|would|should|have|has|shall|"
    r"kann|kannst|konnen|konnte|konnten|ist|sind|gibt|habe|haben|hat|wird|werden|darf|durfen|"
    r"est-ce|puis-je|peut-on|pouvez|pourriez|pourrais|est-il|y a-t-il|avez-vous|"
    r"puedo|puede|pueden|podria|podrian|es|esta|hay|tiene|tienen|se puede|"
    r"kan|kunt|kun|mag|is|zijn|heeft|hebben|wordt|zou|"
    r"posso|puo|possiamo|potete|potrei|potreste|e|c'e|avete|ha|"
    r"pode|podem|poderia|poderiam|tem|existe|ha|e possivel)\b"
)
_WHEN_QUESTION = re.compile(
    r"\b(?:when|how long|what time|by when|wann|wie lange|bis wann|quand|combien de temps|"
    r"cuando|cuanto tiempo|hasta cuando|wanneer|hoe lang|quando|quanto tempo|entro quando)\b"
)
_HOW_MUCH_QUESTION = re.compile(
    r"\b(?:how much|what does .{0,30} cost|wie viel|wieviel|was kostet|combien|cuanto|"
    r"hoeveel|wat kost|quanto)\b"
)
_TIME_ANSWER = re.compile(
    r"\d|\b(?:today|tomorrow|tonight|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"week|weeks|days?|hours?|month|months|minutes|heute|morgen|woche|wochen|tage|tagen|"
    r"stunden|montag|dienstag|mittwoch|donnerstag|freitag|aujourd'hui|demain|semaine|jours|"
    r"heures|lundi|mardi|mercredi|jeudi|vendredi|hoy|manana|semana|dias|horas|lunes|martes|"
    r"miercoles|jueves|viernes|vandaag|morgen|weken|dagen|uur|maandag|dinsdag|woensdag|"
    r"donderdag|vrijdag|oggi|domani|settimana|giorni|ore|lunedi|martedi|mercoledi|giovedi|"
    r"venerdi|hoje|amanha|semanas|segunda|terca|quarta|quinta|sexta)\b"
)
_AMOUNT_ANSWER = re.compile(r"\d|[$\u20ac\u00a3]|\b(?:free|gratis|kostenlos|gratuit|gratuito)\b")


@cache
def _synonym_index(language: str) -> dict[str, frozenset[int]]:
    """Word or stem -> the concept groups it belongs to, for one stemming language."""
    index: dict[str, set[int]] = {}
    for group, members in enumerate(SYNONYMS):
        for member in members:
            for token in words(member):
                index.setdefault(token, set()).add(group)
                index.setdefault(stem(token, language), set()).add(group)
    return {key: frozenset(groups) for key, groups in index.items()}


@dataclass(frozen=True, slots=True)
class ReplyTerms:
    """The reply's words prepared once for matching every question against it."""

    stems: frozenset[str]
    prefixes: frozenset[str]
    groups: frozenset[int]
    opens_yes_no: bool
    has_time: bool
    has_amount: bool

    @classmethod
    def of(cls, sentences: Sequence[str], language: str) -> ReplyTerms:
        text = "\n".join(sentences)
        tokens = content_words(text, language)
        stems = frozenset(stem(token, language) for token in tokens)
        index = _synonym_index(language)
        groups: set[int] = set()
        for token in tokens:
            groups |= index.get(token, frozenset()) | index.get(stem(token, language), frozenset())
        folded = fold(text)
        openers = {next(iter(words(sentence)), "") for sentence in sentences}
        return cls(
            stems=stems,
            prefixes=frozenset(t[:_PREFIX] for t in tokens if len(t) >= _PREFIX),
            groups=frozenset(groups),
            opens_yes_no=bool(openers & YES_NO),
            has_time=bool(_TIME_ANSWER.search(folded)),
            has_amount=bool(_AMOUNT_ANSWER.search(folded)),
        )


def coverage(question: str, reply: ReplyTerms, language: str) -> float:
    """Share (0..1) of the question's content the reply takes up; 1.0 if it has none."""
    tokens = list(dict.fromkeys(content_words(question, language)))
    folded = fold(question)
    cue = _cue(folded, reply)
    if not tokens:
        return 1.0
    index = _synonym_index(language)
    matched = 0
    for token in tokens:
        token_stem = stem(token, language)
        groups = index.get(token, frozenset()) | index.get(token_stem, frozenset())
        if (
            token_stem in reply.stems
            or (len(token) >= _PREFIX and token[:_PREFIX] in reply.prefixes)
            or groups & reply.groups
        ):
            matched += 1
    return min(1.0, (matched + cue) / len(tokens))


def _cue(folded_question: str, reply: ReplyTerms) -> int:
    """One extra matched word when the reply has the kind of answer the question wants."""
    if _WHEN_QUESTION.search(folded_question):
        return int(reply.has_time)
    if _HOW_MUCH_QUESTION.search(folded_question):
        return int(reply.has_amount)
    if _YES_NO_QUESTION.match(folded_question):
        return int(reply.opens_yes_no)
    return 0
