"""Sentences, words, language and stems: the text handling the answer check shares.

Stemming (Snowball, through PyStemmer's C implementation when installed)
lets "refunded" meet "refund" and "livraison" meet "livrer"; folding
(lower case, no accents) lets "reçu" meet "recu". Stems are cached because a
support mail repeats its vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

import snowballstemmer

from gateway.answer.lexicon import STEMMER_NAMES, STOPWORDS

_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
# Sentence ends: . ! ? (and runs of them) before space, or a line break; a list item
# or a blank line always starts a new sentence.
_SENTENCE_END = re.compile(
    r"(?<=[.!?\u2026])[\"'\u201d\u00bb)]*\s+(?=[^\s])|\n\s*\n|\n(?=\s*(?:[-*\u2022]|\d{1,2}[.)])\s)"
)
_ABBREVIATION = re.compile(  # searched in the last 8 characters of a sentence
    r"(?:\b(?:mr|mrs|ms|dr|sr|sra|st|no|nr|vs|etc|e\.g|i\.e|z\.b|bzw|ca|approx|incl|sig|"
    r"dott|prof|ing|art|tel|p\.ex|ex|av|sras|srs|sgra|dhr|mevr|mw)\.)$",
    re.IGNORECASE,
)


_COMBINING = re.compile("[\u0300-\u036f]")


@lru_cache(maxsize=16384)  # bounded: a daemon sees endless distinct sentences
def fold(text: str) -> str:
    """Lower case without accents; typographic apostrophes made plain."""
    return fold_text(text)


def fold_text(text: str) -> str:
    """`fold` for long text (not cached: every message is different)."""
    lowered = text.casefold().replace("\u2019", "'")
    if lowered.isascii():
        return lowered
    return _COMBINING.sub("", unicodedata.normalize("NFKD", lowered))


def sentences(text: str) -> list[str]:
    """Sentences and list items, whitespace collapsed; abbreviations do not end a sentence."""
    pieces: list[str] = []
    for chunk in _SENTENCE_END.split(text):
        flat = " ".join(chunk.split())
        if not flat:
            continue
        if pieces and _ABBREVIATION.search(pieces[-1][-8:]):
            pieces[-1] = f"{pieces[-1]} {flat}"
        else:
            pieces.append(flat)
    return pieces


def words(text: str) -> list[str]:
    """Folded words (letters and digits, inner apostrophes and hyphens kept)."""
    return _WORD.findall(fold_text(text))


_FOLDED_STOPWORDS = {lang: frozenset(fold(w) for w in ws) for lang, ws in STOPWORDS.items()}
_ALL_STOPWORDS = frozenset().union(*_FOLDED_STOPWORDS.values())


def detect_language(text: str, default: str = "en") -> str:
    """The language whose function words occur most often in the text (7 candidates).

    Good enough to pick a stemmer: support mail is long enough, and a wrong guess
    only costs some stem matches, never a crash.
    """
    tokens = words(text[:4000])
    best, best_hits = default, 0
    for language, stop in _FOLDED_STOPWORDS.items():
        hits = sum(1 for token in tokens if token in stop)
        if hits > best_hits:
            best, best_hits = language, hits
    return best


@cache
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(STEMMER_NAMES.get(language, "english"))


@lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    return str(_stemmer(language).stemWord(word))


def is_stopword(word: str, language: str) -> bool:
    return word in _FOLDED_STOPWORDS.get(language, _ALL_STOPWORDS) or len(word) < 2


def content_words(text: str, language: str) -> list[str]:
    """Folded words that carry topic: no function words, no one-letter words."""
    return [w for w in words(text) if not is_stopword(w, language) and not w.isdigit()]


# "Also please send me ...", "And can I ...", "Und bitte ...": a connective in front of a
# question or request does not change what kind of ask it is.
_CONNECTIVE = re.compile(
    r"^\W*(?:also|and|so|but|then|und|auch|aber|et|aussi|mais|y|tambien|pero|e|tambem|mas|"
    r"en|ook|maar|ed|anche|ma|inoltre|"
    # "Lastly, when ...?", "Außerdem: ...", "Enfin, ...", "Por último, ¿...?"
    r"lastly|finally|additionally|besides|plus|one last thing|by the way|btw|"
    r"ausserdem|zudem|zuletzt|schliesslich|ubrigens|enfin|finalement|par ailleurs|de plus|"
    r"ademas|por ultimo|finalmente|por cierto|verder|tot slot|ten slotte|trouwens|"
    r"infine|per finire|tra l'altro|alem disso|por fim|alias)\b[,:]?\s+"
)


def without_connective(folded: str) -> str:
    """`folded` (fold()ed text) without one leading connective word."""
    return _CONNECTIVE.sub("", folded, count=1)
