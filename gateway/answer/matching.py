"""Is one customer question addressed by the reply? Lexical coverage with stems and synonyms.

Coverage is the weighted share of the question's content words that the reply
takes up: the same stem ("refunded" ~ "refund"), a shared long prefix
("Canada" ~ "Canadian"), or a word of the same concept group ("money back" ~
"refund"). Two readings make it hold up on real mail:

- words the whole thread is about (the subject, the customer's other
  sentences) weigh half: in "When does the sofa arrive? Can the team take the
  old sofa away?" a reply about the sofa's delivery must not count for the
  second question just because it says "sofa";
- a short question borrows the words of the sentence before it ("My bill is
  312 euro. Why is it so high?"), as a reader does.

The kind of question adds one cue: a yes/no question is taken up by a sentence
that opens with "Yes"/"Unfortunately"/"No problem"..., a "when" question by a
date or duration, a "how much" question by an amount.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from gateway.answer.lexicon import SYNONYMS, YES_NO
from gateway.answer.text import content_words, fold, sentences, stem, without_connective, words

_PREFIX = 6
_COMPOUNDING = frozenset({"de", "nl"})
_COMPOUND_PART = 4
_TOPIC_WEIGHT = 0.5
_BORROWED_WEIGHT = 0.5
_SHORT_QUESTION = 4
_YES_NO_QUESTION = re.compile(
    r"^(?:[\u00bf\s]*)(?:can|could|may|is|are|am|do|does|did|will|would|should|have|has|shall|"
    r"kann|kannst|konnen|konnte|konnten|ist|sind|gibt|habe|haben|hat|wird|werden|darf|durfen|"
    r"est-ce|puis-je|peut-on|pouvez|pourriez|pourrais|est-il|y a-t-il|avez-vous|"
    r"puedo|puede|pueden|podria|podrian|es|esta|hay|tiene|tienen|se puede|"
    r"kan|kunt|kun|mag|is|zijn|heeft|hebben|wordt|zou|"
    r"posso|puo|possiamo|potete|potrei|potreste|e|c'e|avete|ha|"
    r"pode|podem|poderia|poderiam|tem|existe|ha|e possivel)\b"
)
_OPENER = r"^\W*(?:(?:and|also|so|but|und|et|y|e|en|ed|mas|pero|ma|maar|aber)\s+)?"
_WHEN_QUESTION = re.compile(
    _OPENER
    + r"(?:when|what time|wann|quand|cuando|wanneer|quando|hasta cuando|a partir de cuando)\b"
    r"|\b(?:how long|by when|until when|wie lange|bis wann|ab wann|combien de temps|d'ici quand|"
    r"cuanto tiempo|hoe lang|vanaf wanneer|quanto tempo|entro quando|ate quando|"
    r"delivery time|lieferzeit|delai|plazo|levertijd|tempi|prazo)\b"
)
_HOW_MUCH_QUESTION = re.compile(
    r"\b(?:how much|cost\w*|price\w*|fees?|charged|wie ?viel|kost\w*|preis\w*|gebuhr\w*|combien|"
    r"prix|frais|"
    r"cout\w*|tarif\w*|cuanto|cuesta\w*|costar\w*|precio\w*|hoeveel|prijs\w*|quanto|"
    r"cost[ao]\w*|prezz\w*|custa\w*|custo\w*|preco\w*)\b"
)
_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"januar|februar|marz|juni|juli|oktober|dezember|janvier|fevrier|mars|avril|mai|juin|"
    r"juillet|aout|septembre|octobre|novembre|decembre|enero|febrero|marzo|abril|mayo|junio|"
    r"julio|agosto|septiembre|octubre|noviembre|diciembre|januari|februari|maart|mei|augustus|"
    r"gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|janeiro|"
    r"fevereiro|marco|maio|junho|julho|setembro|outubro|novembro|dezembro"
)
_TIME_ANSWER = re.compile(
    r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4})?\b|\b\d+\s*(?:-|to|bis|a|tot)?"
    r"\s*\d*\s*(?:working |business |werk|jours? ouvr|dias? u|giorni )?"
    r"(?:minutes?|min|hours?|hrs?|h|days?|weeks?|months?|tage?n?|stunden?|wochen?|monate?n?|"
    r"jours?|heures?|semaines?|mois|dias?|horas?|semanas?|meses|dagen|uur|weken|maanden|giorni|"
    r"ore|settimane|mesi)\b|"
    rf"\b(?:{_MONTHS})\b|"
    r"\b(?:today|tomorrow|tonight|this (?:morning|afternoon|evening|week)|next week|shortly|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|heute|morgen|ubermorgen|montag|"
    r"dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|aujourd'hui|demain|ce matin|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|hoy|manana|esta manana|lunes|martes|"
    r"miercoles|jueves|viernes|sabado|domingo|vandaag|morgen|vanochtend|maandag|dinsdag|woensdag|"
    r"donderdag|vrijdag|zaterdag|zondag|oggi|domani|stamattina|lunedi|martedi|mercoledi|giovedi|"
    r"venerdi|sabato|domenica|hoje|amanha|segunda|terca|quarta|quinta|sexta)\b"
)
_AMOUNT_ANSWER = re.compile(
    r"[$\u20ac\u00a3]\s?\d|\d\s?[$\u20ac\u00a3]|\d\s?(?:eur|euro|euros|usd|gbp|chf|brl|pounds?|"
    r"dollars?|reais)\b|\b(?:free|gratis|kostenlos|gratuit|gratuito|gratuita|no charge|"
    r"sin coste|sem custo|senza costi|geen kosten|keine kosten|sans frais)\b|"
    # nothing to pay is an amount too: "you won't be charged", "rien ne vous sera facturé"
    r"\b(?:no|without|free of) (?:charge|cost|fee)s?\b|\b(?:not|n't|never) be (?:charged|billed)|"
    r"\b(?:aucun frais|rien ne vous (?:sera|est) factur|ne (?:sera|seront) pas factur|"
    r"kostenfrei|keine (?:gebuhren|zusatzkosten)|nichts berechnet|nicht berechnet|"
    r"sin (?:costo|cargo)|no se (?:le |te )?(?:cobrara|cobra)|sem (?:cobranca|encargos)|"
    r"nao (?:sera|vai ser) cobrad|senza (?:spese|addebit)|nessun (?:costo|addebito)|"
    r"non (?:le |ti )?(?:verra|sara) addebitat|kosteloos|niets (?:in rekening|betalen))"
)
_HOW_QUESTION = re.compile(
    r"\b(?:how (?:do|can|should|would) (?:i|we)|how to|wie (?:kann|konnen|muss|mache|gehe)|"
    r"comment (?:puis|pouvons|faire|dois)|como (?:puedo|hago|podemos|posso|faco|devo)|"
    r"hoe (?:kan|moet|doe)|come (?:posso|faccio|possiamo|devo)|"
    # "what can I do (to fix it)?" asks for steps as much as "how do I fix it?"
    r"what (?:can|could|should|do) (?:i|we) do|"
    r"was (?:kann|konnte|soll|sollte|konnen|sollen) (?:ich|wir) (?:tun|machen)|"
    r"que (?:puis-je|dois-je|pouvons-nous|devons-nous) faire|qu'est-ce que (?:je|nous) "
    r"(?:peux|dois|pouvons|devons) faire|que (?:puedo|debo|podemos|debemos) hacer|"
    r"wat (?:kan|moet|kunnen|moeten) (?:ik|we|wij) doen|"
    r"cosa (?:posso|devo|possiamo|dobbiamo) fare|o que (?:posso|devo|podemos|devemos) fazer)\b"
)
# "Why ...?" is answered by a reason: "because", "weil", "parce que", "omdat", ...
_WHY_QUESTION = re.compile(
    r"\b(?:why|how come|warum|wieso|weshalb|weswegen|pourquoi|waarom|perche|come mai)\b|"
    r"^\W*(?:(?:y|e|pero|mas)\s+)?(?:por que|porque)\b"
)
_REASON_ANSWER = re.compile(
    r"\b(?:because|due to|the reason|caused by|as a result|that's why|this is why|"
    r"weil|wegen|aufgrund|der grund|deshalb|daher|liegt daran|lag daran|parce qu|en raison d|"
    r"a cause d|du fait|est du a|se debe a|deve-se a|dipende da|ligt aan|komt door|"
    r"c'est pourquoi|porque|debido a|ya que|por eso|puesto que|a causa de|omdat|doordat|"
    r"vanwege|daarom|de oorzaak|perche|poiche|dovuto a|a causa d|per via d|devido a|"
    r"por causa d|ja que|por isso|o motivo|il motivo|el motivo|la raison)"
)
_STATUS_QUESTION = re.compile(
    r"\b(?:where is|status|what happened|wo (?:ist|bleibt)|stand|ou en est|ou est|estado|"
    r"donde esta|waar is|stand van zaken|dov'e|a che punto|stato|onde esta|situacao)\b"
)
# A request is taken up by a report that it was done: "I've attached ...", "im Anhang".
_DONE_ANSWER = re.compile(
    r"\b(?:attached|enclosed|i(?:'ve| have) (?:just |now |already )?\w+(?:ed|t|en)|we(?:'ve| have)"
    r" (?:just |now |already )?\w+(?:ed|t|en)|done|anbei|im anhang|angehangt|habe ich|haben wir|"
    r"ci-joint|en piece jointe|je vous (?:ai|envoie|transmets)|nous avons|adjunto|te he|le he|"
    r"hemos|in de bijlage|bijgevoegd|heb ik|hebben we|in allegato|le ho|ti ho|abbiamo|em anexo|"
    r"segue|enviei|ja (?:foi|esta)|fizemos)\b"
)
_ASKS_FOR_ACTION = re.compile(
    r"\b(?:could you|can you|would you|will you|konnten sie|konnen sie|wurden sie|pourriez-vous|"
    r"pouvez-vous|podria|podrian|podeis|puede usted|pueden|kunt u|zou u|kunnen jullie|potete|"
    r"potreste|potrebbe|poderiam|podem|poderia|pode)\b.{0,40}\b(?:send|resend|check|change|update|"
    r"cancel|issue|correct|transfer|forward|schick\w*|send\w*|ander\w*|stornier\w*|envoy\w*|"
    r"renvoy\w*|transmet\w*|modifi\w*|annul\w*|corrig\w*|envi\w*|reenvi\w*|cambi\w*|"
    r"stur\w*|wijzig\w*|mand\w*|invi\w*|inoltr\w*|modific\w*|alter\w*|corrig\w*)"
)
_MENTIONS_TIME = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,2}\s?(?:am|pm|uhr|h)\b")
_STEPS = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])(?:\s|$)")  # "1." may be a sentence of its own


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


_YES_NO_ANSWER = re.compile(
    r"^(?:"
    + "|".join(sorted(YES_NO, key=len, reverse=True))
    + r")\b|^(?:no problem|not a problem|kein problem|aucun (?:souci|probleme)|pas de probleme|"
    r"ningun problema|sin problema|geen probleem|nessun problema|sem problema|nao ha problema)"
)


# "A lease car is no problem", "Das ist kein Problem": a yes inside the sentence.
_NO_PROBLEM = re.compile(
    r"\b(?:is|are|'s) (?:no|not a) problem|\b(?:ist|sind|ware) kein problem|"
    r"\b(?:is|zijn) geen probleem|n'est pas un probleme|ne pose (?:aucun|pas de) probleme|"
    r"\bno es (?:ningun )?problema|\bnao e (?:um )?problema|\bnon e un problema"
)


@dataclass(frozen=True, slots=True)
class Context:
    """What the thread is about: the customer's whole message and the subject line, and
    how the reply is laid out around the quoted questions."""

    customer: str = ""
    subject: str = ""
    # (quoted passage, the agent's text under it) of a reply answered between quotes
    inline: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ReplyTerms:
    """The reply's words prepared once for matching every question against it."""

    stems: frozenset[str]
    prefixes: frozenset[str]
    groups: frozenset[int]
    opens_yes_no: bool
    has_time: bool
    has_amount: bool
    step_lines: int  # numbered or bulleted lines: two or more are steps
    reports_done: bool
    gives_reason: bool
    words: frozenset[str] = frozenset()  # content words, kept for compound matching

    @classmethod
    def of(cls, reply_sentences: Sequence[str], language: str) -> ReplyTerms:
        text = "\n".join(reply_sentences)
        tokens = content_words(text, language)
        index = _synonym_index(language)
        groups: set[int] = set()
        for token in tokens:
            groups |= index.get(token, frozenset()) | index.get(stem(token, language), frozenset())
        folded = fold(text)
        return cls(
            stems=frozenset(stem(token, language) for token in tokens),
            prefixes=frozenset(t[:_PREFIX] for t in tokens if len(t) >= _PREFIX),
            groups=frozenset(groups),
            opens_yes_no=any(_YES_NO_ANSWER.match(fold(s.lstrip(" -*"))) for s in reply_sentences)
            or bool(_NO_PROBLEM.search(folded)),
            has_time=bool(_TIME_ANSWER.search(folded)),
            has_amount=bool(_AMOUNT_ANSWER.search(folded)),
            step_lines=sum(1 for sentence in reply_sentences if _STEPS.match(sentence)),
            reports_done=bool(_DONE_ANSWER.search(folded)),
            gives_reason=bool(_REASON_ANSWER.search(folded)),
            words=frozenset(tokens) if language in _COMPOUNDING else frozenset(),
        )

    @classmethod
    def merge(cls, parts: Sequence[ReplyTerms]) -> ReplyTerms:
        """The terms of several sentences together, from their own terms (no second parse)."""
        return cls(
            stems=frozenset().union(*(p.stems for p in parts)),
            prefixes=frozenset().union(*(p.prefixes for p in parts)),
            groups=frozenset().union(*(p.groups for p in parts)),
            opens_yes_no=any(p.opens_yes_no for p in parts),
            has_time=any(p.has_time for p in parts),
            has_amount=any(p.has_amount for p in parts),
            step_lines=sum(p.step_lines for p in parts),
            reports_done=any(p.reports_done for p in parts),
            gives_reason=any(p.gives_reason for p in parts),
            words=frozenset().union(*(p.words for p in parts)),
        )

    @property
    def has_steps(self) -> bool:
        return self.step_lines >= 2

    def takes_up(self, token: str, language: str) -> bool:
        token_stem = stem(token, language)
        if token_stem in self.stems or (len(token) >= _PREFIX and token[:_PREFIX] in self.prefixes):
            return True
        index = _synonym_index(language)
        groups = index.get(token, frozenset()) | index.get(token_stem, frozenset())
        if groups & self.groups:
            return True
        return language in _COMPOUNDING and _shares_a_compound_part(token, self.words)


def _shares_a_compound_part(token: str, words: frozenset[str]) -> bool:
    """German and Dutch write compounds as one word: "laadpaal" is taken up by "paal",
    "Rechnungsadresse" by "Adresse", and "Adresse" by "Lieferadresse". A part counts
    when it is a whole word of the other side and at least `_COMPOUND_PART` letters."""
    size = len(token)
    for cut in range(_COMPOUND_PART, size - _COMPOUND_PART + 1):
        if token[cut:] in words or token[:cut] in words:
            return True
    if size < _COMPOUND_PART:
        return False
    return any(
        len(word) >= size + _COMPOUND_PART and (word.endswith(token) or word.startswith(token))
        for word in words
    )


@dataclass(frozen=True, slots=True)
class Thread:
    """The customer's message cut into sentences with their words, computed once per reply."""

    sentences: tuple[str, ...]
    words: tuple[tuple[str, ...], ...]
    subject_words: tuple[str, ...]

    @classmethod
    def of(cls, context: Context, language: str) -> Thread:
        split = tuple(sentences(context.customer))
        return cls(
            split,
            tuple(tuple(content_words(sentence, language)) for sentence in split),
            tuple(content_words(context.subject, language)),
        )


def _topic_keys(tokens: Sequence[str], language: str) -> set[str]:
    keys = {stem(token, language) for token in tokens}
    return keys | {token[:_PREFIX] for token in tokens if len(token) >= _PREFIX}


def weighted_tokens(question: str, thread: Thread, language: str) -> dict[str, float]:
    """The question's content words and weights (topic and borrowed words count half)."""
    own = list(dict.fromkeys(content_words(question, language)))
    position = next((i for i, s in enumerate(thread.sentences) if question in s), None)
    topic_tokens = [
        token
        for index, tokens in enumerate(thread.words)
        if index != position and thread.sentences[index] != question
        for token in tokens
    ]
    topic = _topic_keys([*topic_tokens, *thread.subject_words], language)
    weights = {
        token: _TOPIC_WEIGHT if stem(token, language) in topic or token[:_PREFIX] in topic else 1.0
        for token in own
    }
    if len(own) < _SHORT_QUESTION and position:
        for token in thread.words[position - 1]:
            weights.setdefault(token, _BORROWED_WEIGHT)
    return weights


def _coverage(question: str, reply: ReplyTerms, language: str, thread: Thread) -> float:
    """Weighted share (0..1) of the question's content the reply takes up; 1.0 if it has none."""
    return covered(weighted_tokens(question, thread, language), fold(question), reply, language)


def covered(
    weights: dict[str, float], folded_question: str, reply: ReplyTerms, language: str
) -> float:
    """The coverage of one question (its weighted words, see `_weighted_tokens`) by `reply`,
    which may be the whole reply or one of its sentences."""
    if not weights:
        return 1.0
    matched = sum(weight for token, weight in weights.items() if reply.takes_up(token, language))
    return min(1.0, (matched + cue(folded_question, reply)) / sum(weights.values()))


def cue(folded_question: str, reply: ReplyTerms) -> float:
    """One extra matched word when the reply has the kind of answer the question wants."""
    clause = folded_question.rsplit(":", 1)[-1].strip()  # "Già che ci sono: come si ...?"
    bare = without_connective(folded_question)  # "Also, do I need ...?", "Lastly, when ...?"
    forms = (folded_question, without_connective(clause), bare)
    if any(_WHEN_QUESTION.search(text) for text in forms) or _MENTIONS_TIME.search(folded_question):
        return float(reply.has_time)
    if _HOW_MUCH_QUESTION.search(folded_question):
        return float(reply.has_amount)
    if _HOW_QUESTION.search(folded_question):
        return float(reply.has_steps)
    if any(_WHY_QUESTION.search(text) for text in forms):
        return float(reply.gives_reason)
    if _STATUS_QUESTION.search(folded_question):
        return float(reply.has_time)
    if _ASKS_FOR_ACTION.search(folded_question):
        return float(reply.reports_done or reply.opens_yes_no)
    if any(_YES_NO_QUESTION.match(text) for text in (*forms, clause)):
        return float(reply.opens_yes_no)
    if not folded_question.rstrip().endswith("?"):
        return float(reply.reports_done)  # a request ("Please send me ...")
    return 0.0


class QuestionMatcher(Protocol):
    """Scores (0..1) how far the reply's sentences take up each question."""

    def scores(
        self,
        questions: Sequence[str],
        reply_sentences: Sequence[str],
        language: str,
        context: Context,
    ) -> list[float]: ...


class LexicalMatcher:
    """The default: content-word coverage with stems, prefixes, synonyms and answer cues."""

    def scores(
        self,
        questions: Sequence[str],
        reply_sentences: Sequence[str],
        language: str,
        context: Context,
    ) -> list[float]:
        terms = ReplyTerms.of(reply_sentences, language)
        thread = Thread.of(context, language)
        return [_coverage(question, terms, language, thread) for question in questions]
