"""Does the reply open with a greeting addressed to the reader?

Only the first line of the agent's new text counts (quoted history and the
signature are already split off): "Hi Maria,", "Hello,", "Hey Sam —", "Dear
Mr. O'Neill,", "Good morning Ana,", "Hi there,", "Hi Jo, yes you can ..." and
their German, French, Spanish, Dutch, Italian and Portuguese forms. A greeting
word must open the line and be followed, within a few words, by a separator
(comma, colon, exclamation mark, dash) or the end of the line, so "Hi" in the
middle of a sentence or "Thanks for reaching out." never count. A line that
is only a name and a comma ("Maria,") is also a salutation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.answer.lexicon import CLOSINGS

GREETING_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "hi",
        "hello",
        "hey",
        "hiya",
        "howdy",
        "dear",
        "greetings",
        "good morning",
        "good afternoon",
        "good evening",
        "good day",
        "morning",
        "afternoon",
        "evening",
    ),
    "de": (
        "hallo",
        "hi",
        "hey",
        "liebe",
        "lieber",
        "liebes",
        "sehr geehrte",
        "sehr geehrter",
        "sehr geehrtes",
        "guten morgen",
        "guten tag",
        "guten abend",
        "moin",
        "servus",
        "grüß gott",
        "grüezi",
        "grüss gott",
    ),
    "fr": (
        "bonjour",
        "bonsoir",
        "salut",
        "coucou",
        "cher",
        "chère",
        "chers",
        "chères",
        "madame",
        "monsieur",
    ),
    "es": (
        "hola",
        "buenos días",
        "buenos dias",
        "buenas tardes",
        "buenas noches",
        "buenas",
        "estimado",
        "estimada",
        "estimados",
        "estimadas",
        "querido",
        "querida",
        "apreciado",
        "apreciada",
    ),
    "nl": (
        "hallo",
        "hoi",
        "hey",
        "beste",
        "geachte",
        "goedemorgen",
        "goedemiddag",
        "goedenavond",
        "dag",
    ),
    "it": (
        "ciao",
        "salve",
        "buongiorno",
        "buonasera",
        "gentile",
        "gentilissimo",
        "gentilissima",
        "gentili",
        "spettabile",
        "spett.le",
        "egregio",
        "egregia",
        "caro",
        "cara",
        "cari",
        "care",
    ),
    "pt": (
        "olá",
        "ola",
        "oi",
        "bom dia",
        "boa tarde",
        "boa noite",
        "prezado",
        "prezada",
        "prezados",
        "prezadas",
        "exmo",
        "exma",
        "exmos",
        "exmas",
        "caro",
        "cara",
        "querido",
        "querida",
    ),
}
# Words that also start ordinary sentences ("Evening slots are full, ...", "Dag en
# nacht ..."): they count only when the separator follows within two words.
_AMBIGUOUS = frozenset(
    {
        "morning",
        "afternoon",
        "evening",
        "dag",
        "cara",
        "caro",
        "cari",
        "care",
        "cher",
        "chere",
        "madame",
        "monsieur",
        "buenas",
        "gentili",
    }
)
_SEPARATOR = r"[,:;!\u2014\u2013]|\s-\s|\s-$"
# After an ambiguous word, a title makes it a salutation: "Caro Sr. Pedro Nunes,".
_TITLE = re.compile(
    r"^\s*(?:sr|sra|srta|sres|dr|dra|dott|dottssa|sig|sig\.ra|prof|mr|mrs|ms|m|mme|mlle|herr|"
    r"frau|heer|mevrouw|dhr|mevr|don|dona|dona|eng|ing|avv)\b\.?",
    re.IGNORECASE,
)
_MAX_WORDS_BEFORE_SEPARATOR = 5
_PARTICLES = frozenset(
    [
        "de",
        "da",
        "do",
        "dos",
        "das",
        "del",
        "della",
        "di",
        "van",
        "von",
        "der",
        "den",
        "la",
        "le",
        "du",
        "y",
        "e",
        "ter",
        "te",
    ]
)
_ABBREVIATION = re.compile(r"\w{1,4}\.")
_CLOSINGS = frozenset(CLOSINGS)
_NAME_ONLY = re.compile(r"^[^\W\d_][\w'\u2019.-]*(?:\s+[^\W\d_][\w'\u2019.-]*){0,2}\s*,\s*$")


@dataclass(frozen=True, slots=True)
class Greeting:
    line: str  # the opening line as written
    found: bool


def _fold(text: str) -> str:
    """Lower case without accents, so 'Lucía' matches 'Lucia' and 'Olá' matches 'ola'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted({_fold(word) for word in words}, key=len, reverse=True)
    joined = "|".join(r"\s+".join(map(re.escape, w.split())) for w in alternatives)
    return re.compile(rf"^(?P<word>{joined})(?![\w'\u2019])(?P<rest>.*)$")


_BUILTIN = _pattern(word for words in GREETING_WORDS.values() for word in words)


def opening_line(new_text: str) -> str:
    return next((line.strip() for line in new_text.splitlines() if line.strip()), "")


def _words_before(text: str) -> int:
    """Words of a salutation before its separator, not counting name particles ("do",
    "van"), abbreviations ("D.", "Sr.") or punctuation: "Exma. Senhora D. Maria do Carmo
    Figueiredo," names one person."""
    return sum(
        1
        for word in text.split()
        if word not in _PARTICLES and not _ABBREVIATION.fullmatch(word) and re.search(r"\w", word)
    )


def find_greeting(new_text: str, extra_words: Iterable[str] = ()) -> Greeting:
    line = opening_line(new_text)
    folded = _fold(line).lstrip("\u00a1\u00bf \"'\u201c\u00ab")  # "¡Hola Marta!"
    extra = tuple(extra_words)
    patterns = (_BUILTIN, _pattern(extra)) if extra else (_BUILTIN,)
    for pattern in patterns:
        match = pattern.match(folded)
        if match is None:
            continue
        rest = match.group("rest")
        if not rest.strip():
            return Greeting(line, True)
        separator = re.search(_SEPARATOR, rest)
        before = rest[: separator.start()] if separator else rest
        ambiguous = match.group("word") in _AMBIGUOUS and not _TITLE.match(rest)
        limit = 2 if ambiguous else _MAX_WORDS_BEFORE_SEPARATOR
        if separator and _words_before(before) <= limit:
            return Greeting(line, True)
        if not separator and not re.search(r"[.?]", rest) and len(rest.split()) <= 2:
            return Greeting(line, True)  # "Hello Maria" with no punctuation at all
    is_closing = folded.rstrip(" ,.!") in _CLOSINGS  # "Met vriendelijke groet," is no salutation
    return Greeting(line, bool(_NAME_ONLY.match(line)) and not is_closing)


def names_in(line: str, names: Iterable[str]) -> list[str]:
    """The expected names that the line contains (accent- and case-insensitive, whole words)."""
    folded = _fold(line)
    return [name for name in names if re.search(rf"(?<!\w){re.escape(_fold(name))}(?!\w)", folded)]
