"""When did the customer write? The date in a reply's quote attribution.

When the gateway never saw the customer's message (no inbound leg, or a thread
older than the gateway), the reply itself often says when it was written:
"On Mon, 23 Nov 2026 at 09:14, Maria <...> wrote:", Outlook's "Sent: Monday,
November 23, 2026 9:14 AM", and their German, French, Spanish, Dutch, Italian
and Portuguese forms. Mail clients write that time in the agent's local time
without a zone, so the zone of the reply's own Date header is assumed (the
same machine wrote both); without one, UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from gateway.answer.text import fold_text

_MONTHS = {
    # en
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    # de
    "januar": 1, "februar": 2, "marz": 3, "mrz": 3, "mai": 5, "juni": 6, "juli": 7,
    "okt": 10, "oktober": 10, "dez": 12, "dezember": 12,
    # fr
    "janv": 1, "janvier": 1, "fevr": 2, "fevrier": 2, "mars": 3, "avr": 4, "avril": 4,
    "juin": 6, "juil": 7, "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10,
    "novembre": 11, "decembre": 12,
    # es
    "ene": 1, "enero": 1, "febrero": 2, "marzo": 3, "abr": 4, "abril": 4, "mayo": 5,
    "junio": 6, "julio": 7, "ago": 8, "agosto": 8, "septiembre": 9, "setiembre": 9,
    "octubre": 10, "noviembre": 11, "dic": 12, "diciembre": 12,
    # nl
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8, "okt.": 10,
    # it
    "gen": 1, "gennaio": 1, "febbraio": 2, "aprile": 4, "mag": 5, "maggio": 5, "giu": 6,
    "giugno": 6, "lug": 7, "luglio": 7, "settembre": 9, "set": 9, "ott": 10, "ottobre": 10,
    "dicembre": 12,
    # pt
    "janeiro": 1, "fev": 2, "fevereiro": 2, "marco": 3, "maio": 5, "junho": 6, "julho": 7,
    "setembro": 9, "out": 10, "outubro": 10, "novembro": 11, "dez.": 12, "dezembro": 12,
}  # fmt: skip
for _name, _number in list(_MONTHS.items()):
    _MONTHS.setdefault(_name.rstrip("."), _number)
for _english in ("january", "february", "march", "april", "june", "july", "august"):
    _MONTHS[_english] = _MONTHS[_english[:3]]
_MONTHS.update({"september": 9, "october": 10, "november": 11, "december": 12})

_MONTH = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
# "23 Nov 2026", "23. November 2026", "23 de noviembre de 2026", "23 nov. 2026"
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?P<day>\d{{1,2}})\.?\s+(?:de\s+)?(?P<month>{_MONTH})\.?,?\s+(?:de\s+)?(?P<year>\d{{4}})\b"
)
# "November 23, 2026", "Nov 23, 2026"
_MONTH_DAY_YEAR = re.compile(
    rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}})\b"
)
# "23.11.2026", "23/11/2026", "2026-11-23", "23/11/26"
_NUMERIC = re.compile(
    r"\b(?:(?P<year1>\d{4})-(?P<month1>\d{1,2})-(?P<day1>\d{1,2})|"
    r"(?P<day>\d{1,2})[./](?P<month>\d{1,2})[./](?P<year>\d{4}|\d{2}))\b"
)
_TIME = re.compile(
    r"\b(?P<hour>\d{1,2})[:h.](?P<minute>\d{2})(?::\d{2})?\s*(?P<ampm>[ap]\.?\s?m\.?)?(?!\d)"
)


def _date_in(text: str) -> tuple[int, int, int] | None:
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        match = pattern.search(text)
        if match:
            return int(match["year"]), _MONTHS[match["month"]], int(match["day"])
    match = _NUMERIC.search(text)
    if match is None:
        return None
    if match["year1"]:
        return int(match["year1"]), int(match["month1"]), int(match["day1"])
    first, second, year = int(match["day"]), int(match["month"]), int(match["year"])
    year += 2000 if year < 100 else 0
    if second > 12 >= first:
        first, second = second, first  # "11/23/2026": only month-first reads; else day first
    return year, second, first


def _time_in(text: str) -> tuple[int, int] | None:
    match = _TIME.search(text)
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    ampm = (match["ampm"] or "").replace(".", "").replace(" ", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return hour, minute


def _parse(folded: str, zone: tzinfo) -> datetime | None:
    day = _date_in(folded)
    clock = _time_in(_NUMERIC.sub(" ", folded))  # "23.11.2026" is a date, not 23:11
    if day is None or clock is None:
        return None
    try:
        return datetime(*day, *clock, tzinfo=zone)
    except ValueError:
        return None


_WROTE = re.compile(
    r"\b(?:wrote|schrieb|a ecrit|escribio|escreveu|schreef|geschreven|ha scritto)\b"
)
_SENT = re.compile(
    r"^[ \t*]*(?:sent|date|gesendet|datum|envoye|enviado|enviada|fecha|verzonden|inviato|data)"
    r"[ \t]*:\**[ \t]*",
    re.MULTILINE,
)
_WROTE_WORDS = (
    "wrote",
    "schrieb",
    "a ecrit",
    "escribio",
    "escreveu",
    "schreef",
    "geschreven",
    "scritto",
)
_SENT_WORDS = (
    "sent",
    "date",
    "gesendet",
    "datum",
    "envoye",
    "enviad",
    "fecha",
    "verzonden",
    "inviato",
    "data",
)
_FROM = re.compile(r"^[ \t*]*(?:from|von|de|van|da)[ \t]*:", re.MULTILINE)


def _line_at(text: str, start: int, end: int) -> str:
    """The whole line (or lines) around text[start:end]."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return text[first : len(text) if last < 0 else last]


def quoted_time(text: str, reply_date: datetime | None = None) -> datetime | None:
    """The time of the newest quoted message, from its attribution or Outlook header block.

    Two regular-expression passes over the folded text find the candidate lines, so
    a long reply costs no per-line Python work.
    """
    zone: tzinfo = reply_date.tzinfo if reply_date and reply_date.tzinfo else UTC
    folded = fold_text(text.replace("\r\n", "\n"))
    candidates: list[tuple[int, str]] = []
    wrote = any(word in folded for word in _WROTE_WORDS)  # substring tests: C speed
    sent = ":" in folded and any(word in folded for word in _SENT_WORDS)
    for match in _WROTE.finditer(folded) if wrote else ():
        line = _line_at(folded, match.start(), match.end())
        if not _TIME.search(_NUMERIC.sub(" ", line)):
            # Gmail wraps long attributions: the date may sit on the line before.
            first = folded.rfind("\n", 0, match.start())
            line = _line_at(folded, max(0, first - 1), match.end()).replace("\n", " ")
        candidates.append((match.start(), line))
    for match in _SENT.finditer(folded) if sent else ():
        before = folded[max(0, match.start() - 400) : match.start()]
        if _FROM.search(before):  # Outlook's block: From: a few lines above Sent:
            candidates.append((match.start(), _line_at(folded, match.end(), match.end())))
    for _, line in sorted(candidates):
        found = _parse(line, zone)
        if found:
            return found
    return None
